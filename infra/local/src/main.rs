//! `local-stack`: the whole system on one machine, no AWS account.
//!
//! ```text
//! local-stack up         emulator + tables/queues from the template + cargo lambda watch
//!                        + gateway (:3000) + SQS/schedule runner + demo page (:8080)
//! local-stack provision  only create the template's resources on a running emulator
//! local-stack peek       print the leads table and queue depths of the running stack
//! local-stack redrive Q  move the messages of dead-letter queue Q back to its source queue
//! local-stack token [--user ID | --role R... [--sub ID]] [--ttl SECONDS]
//!                        print a dev JWT for the API: a demo user of seed.json with
//!                        their roles, or any roles (default: --role admin --sub admin)
//! local-stack seed       (re)load the demo org (infra/local/seed.json) into the running stack
//! ```
//! Ports come from LEADFLOW_GATEWAY_PORT, LEADFLOW_DEMO_PORT, LEADFLOW_EMULATOR_PORT and
//! LEADFLOW_LAMBDA_PORT (defaults 3000, 8080, 4566, 9000).

use local_stack::gateway::Gateway;
use local_stack::invoke::Invoker;
use local_stack::moto::{repo_root, MotoServer};
use local_stack::provision::{provision, sdk_config, Provisioned};
use local_stack::runner;
use local_stack::seed;
use local_stack::template::Template;
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Ports {
    gateway: u16,
    demo: u16,
    emulator: u16,
    lambda: u16,
}

fn port(var: &str, default: u16) -> Result<u16, Error> {
    match std::env::var(var) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{var}={v:?} is not a port number").into()),
        Err(_) => Ok(default),
    }
}

impl Ports {
    fn from_env() -> Result<Self, Error> {
        Ok(Self {
            gateway: port("LEADFLOW_GATEWAY_PORT", 3000)?,
            demo: port("LEADFLOW_DEMO_PORT", 8080)?,
            emulator: port("LEADFLOW_EMULATOR_PORT", 4566)?,
            lambda: port("LEADFLOW_LAMBDA_PORT", 9000)?,
        })
    }
}

/// Where a running stack keeps its state, one directory per gateway port: two stacks of
/// one checkout (`make dev` beside `make e2e`) must not share the functions' environment.
fn state_dir() -> PathBuf {
    let gateway = Ports::from_env().map_or(3000, |p| p.gateway);
    repo_root().join(".local").join(gateway.to_string())
}

fn wait_for_port(port: u16, within: Duration) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

fn ensure_free(port: u16, var: &str) -> Result<(), Error> {
    if TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_millis(200)).is_ok() {
        return Err(format!("port {port} is in use (another `make dev`?); stop it or set {var}").into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().with_target(false).compact().init();
    match std::env::args().nth(1).as_deref() {
        Some("up") | None => up().await,
        Some("provision") => {
            let endpoint = std::env::args()
                .nth(2)
                .unwrap_or_else(|| "http://127.0.0.1:4566".into());
            let provisioned = provision(&Template::load(&Template::path())?, &endpoint).await?;
            println!("{provisioned:#?}");
            Ok(())
        }
        Some("peek") => peek().await,
        Some("redrive") => {
            let dlq = std::env::args()
                .nth(2)
                .ok_or("usage: local-stack redrive <DLQ logical id, e.g. ReadyDLQ>")?;
            redrive(&dlq).await
        }
        Some("token") => {
            println!("{}", token(std::env::args().skip(2).collect())?);
            Ok(())
        }
        Some("seed") => {
            let (endpoint, table) = running_stack()?;
            let demo = format!("http://127.0.0.1:{}", Ports::from_env()?.demo);
            seed::apply(&seed::load(&demo)?, &store(&endpoint, &table)).await?;
            println!("seeded the demo org from {}", seed::path().display());
            Ok(())
        }
        Some("history") => {
            let leads: usize = match std::env::args().nth(2) {
                Some(n) => n.parse().map_err(|_| "usage: local-stack history [LEADS, default 5000]")?,
                None => 5_000,
            };
            let (endpoint, table) = running_stack()?;
            history(&store(&endpoint, &table), leads).await
        }
        Some("rollups") => {
            let arg = |n: usize, default: usize| match std::env::args().nth(n) {
                Some(v) => v.parse().map_err(|_| "usage: local-stack rollups [CAMPAIGNS, default 500] [DAYS, default 365]"),
                None => Ok(default),
            };
            let (campaigns, days) = (arg(2, 500)?, arg(3, 365)?);
            let (endpoint, table) = running_stack()?;
            let client = aws_sdk_dynamodb::Client::new(&sdk_config(&endpoint));
            let started = Instant::now();
            let items = local_stack::rollups::seed(&client, &store(&endpoint, &table), &table, campaigns, days).await?;
            println!(
                "wrote {items} items ({campaigns} campaigns x {days} days of funnel, u_shaped and cost rows from {}) in {:.0?}",
                local_stack::rollups::first_day(),
                started.elapsed()
            );
            Ok(())
        }
        Some("spike") => {
            let options = spike_options(std::env::args().skip(2).collect())?;
            let (endpoint, table) = running_stack()?;
            let gateway = format!("http://127.0.0.1:{}", Ports::from_env()?.gateway);
            if local_stack::spike::run(&gateway, &store(&endpoint, &table), options).await? {
                Ok(())
            } else {
                Err("spike: some accepted leads did not reach a final state, or requests failed".into())
            }
        }
        Some(other) => Err(format!(
            "unknown command {other:?}; use up | provision [ENDPOINT] | peek | redrive DLQ | token | seed | spike | history [LEADS] | rollups [CAMPAIGNS] [DAYS]"
        )
        .into()),
    }
}

async fn up() -> Result<(), Error> {
    let ports = Ports::from_env()?;
    for (p, var) in [
        (ports.gateway, "LEADFLOW_GATEWAY_PORT"),
        (ports.demo, "LEADFLOW_DEMO_PORT"),
        (ports.emulator, "LEADFLOW_EMULATOR_PORT"),
        (ports.lambda, "LEADFLOW_LAMBDA_PORT"),
    ] {
        ensure_free(p, var)?;
    }
    let template = Template::load(&Template::path())?;
    let emulator = MotoServer::start(Some(ports.emulator), true)?;
    let provisioned = provision(&template, &emulator.endpoint()).await?;

    // One environment for all functions: `cargo lambda watch` runs them in one process tree.
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for function in &template.functions {
        env.extend(provisioned.function_env(function)?);
    }
    env.insert(
        "ALLOWED_ORIGINS".into(),
        format!("http://127.0.0.1:{0},http://localhost:{0}", ports.demo),
    );
    // In the cloud the API trusts the Cognito user pool; locally a shared secret signs
    // the tokens `local-stack token` mints.
    env.insert("JWT_ISSUER".into(), LOCAL_ISSUER.into());
    env.insert("JWT_SECRET".into(), jwt_secret());
    env.remove("JWT_AUDIENCE");
    let admin_token = token(Vec::new())?;
    let table = provisioned
        .tables
        .values()
        .next()
        .cloned()
        .ok_or("the template defines no table")?;
    if std::env::var("LEADFLOW_SEED").as_deref() != Ok("0") {
        let demo = format!("http://127.0.0.1:{}", ports.demo);
        seed::apply(&seed::load(&demo)?, &store(&provisioned.endpoint, &table)).await?;
    }
    std::fs::create_dir_all(state_dir())?;
    let env_file = state_dir().join("functions.env");
    std::fs::write(
        &env_file,
        env.iter().map(|(k, v)| format!("{k}={v}\n")).collect::<String>(),
    )?;
    std::fs::write(
        state_dir().join("stack.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "endpoint": provisioned.endpoint,
            "tables": provisioned.tables,
            "queues": provisioned.queue_urls,
        }))?,
    )?;

    let venv_bin = repo_root().join(".venv/bin");
    let path = format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut watch = tokio::process::Command::new("cargo");
    // `cargo run` gave this process CARGO_MANIFEST_DIR, CARGO_PKG_* and friends. Passed on,
    // they change the fingerprints of cargo lambda's own `cargo run --bin NAME`, which would
    // then rebuild dependencies on the first request instead of reusing `make dev`'s build.
    for (key, _) in std::env::vars() {
        let per_package = key == "CARGO"
            || key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || matches!(
                key.as_str(),
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
            );
        if per_package {
            watch.env_remove(&key);
        }
    }
    let mut watch = watch
        .args([
            "lambda",
            "watch",
            "--quiet",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
        ])
        .arg(ports.lambda.to_string())
        .arg("--env-file")
        .arg(&env_file)
        .current_dir(repo_root())
        .env("PATH", path)
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("could not start `cargo lambda watch` (run `make setup`): {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !wait_for_port(ports.lambda, Duration::from_millis(500)) {
        // It exits at once when it cannot bind its port; say so instead of waiting a minute.
        if let Some(status) = watch.try_wait()? {
            return Err(format!(
                "cargo lambda watch exited ({status}) before listening on port {}; \
                 is the port taken? Set LEADFLOW_LAMBDA_PORT to another",
                ports.lambda
            )
            .into());
        }
        if Instant::now() >= deadline {
            return Err("cargo lambda watch did not start listening within 60 s".into());
        }
    }

    let invoker = Invoker::new(format!("http://127.0.0.1:{}", ports.lambda));
    let gateway = Gateway::new(&template, invoker.clone());
    let gateway_url = format!("http://127.0.0.1:{}", ports.gateway);
    let routes: Vec<String> = gateway
        .routes()
        .iter()
        .map(|r| format!("{} {} -> {}", r.method, r.path, r.function))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    let served = gateway.clone();
    tasks.spawn(async move {
        served
            .serve(SocketAddr::from(([127, 0, 0, 1], ports.gateway)))
            .await
            .map_err(|e| format!("gateway: {e}"))
    });
    let demo_gateway = gateway_url.clone();
    let console = console(&format!("http://127.0.0.1:{}", ports.demo))?;
    let in_process = gateway.clone();
    tasks.spawn(async move {
        local_stack::demo::serve(
            SocketAddr::from(([127, 0, 0, 1], ports.demo)),
            demo_gateway,
            in_process,
            console,
        )
        .await
        .map_err(|e| format!("demo: {e}"))
    });
    let mut deliveries = Vec::new();
    for function in &template.functions {
        for mapping in &function.sqs {
            deliveries.push(format!(
                "{} -> {} (batch {})",
                mapping.queue, function.binary, mapping.batch_size
            ));
            tasks.spawn(
                runner::run_sqs_mapping(invoker.clone(), provisioned.clone(), function.clone(), mapping.clone())
                    .map_ok(),
            );
        }
        for mapping in &function.streams {
            deliveries.push(format!(
                "{} stream -> {} (batch {})",
                mapping.table, function.binary, mapping.batch_size
            ));
            tasks.spawn(
                local_stack::stream::run_stream_mapping(
                    invoker.clone(),
                    provisioned.clone(),
                    function.clone(),
                    mapping.clone(),
                )
                .map_ok(),
            );
        }
        for schedule in &function.schedules {
            deliveries.push(format!(
                "{} -> {} ({})",
                schedule.name, function.binary, schedule.expression
            ));
            let firing = runner::Firing::new(schedule, &provisioned.bindings)?;
            tasks.spawn(runner::run_schedule(invoker.clone(), function.clone(), schedule.clone(), firing).map_ok());
        }
    }

    println!(
        "\nleadflow local stack is up\n\
         \n  API gateway      {gateway_url}   (POST {gateway_url}/v1/leads)\
         \n  demo page        http://127.0.0.1:{demo}/\
         \n  AWS emulator     {endpoint}   (dashboard: {endpoint}/moto-api/)\
         \n  functions        http://127.0.0.1:{lambda}   (cargo lambda watch; compiles on first call)\
         \n  demo org         infra/local/seed.json (reps, pools, routing; LEADFLOW_SEED=0 skips it)\
         \n  admin token      {admin_token}\
         \n                   (others: cargo run -q -p local-stack -- token --user mkt-sun;\
         \n                   demo users are the reps and the staff of infra/local/seed.json)\
         \n\n  routes:\n    {routes}\n  deliveries:\n    {deliveries}\
         \n\n  inspect: cargo run -q -p local-stack -- peek\n  stop:    Ctrl-C\n",
        demo = ports.demo,
        endpoint = provisioned.endpoint,
        lambda = ports.lambda,
        routes = routes.join("\n    "),
        deliveries = deliveries.join("\n    "),
    );

    let outcome = tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = terminate() => Ok(()),
        Some(done) = tasks.join_next() => match done {
            Ok(Err(e)) => Err(e.into()),
            _ => Ok(()),
        },
        status = watch.wait() => Err(format!("cargo lambda watch exited: {status:?}").into()),
    };
    println!("\nstopping…");
    tasks.abort_all();
    if let Some(pid) = watch.id() {
        // Ctrl-C for cargo lambda watch's whole group (it ignores SIGTERM and stops its
        // function processes on SIGINT); SIGKILL if it is still there after 10 s.
        let group = format!("-{pid}");
        let _ = std::process::Command::new("kill").args(["-INT", "--", &group]).status();
        if tokio::time::timeout(Duration::from_secs(10), watch.wait())
            .await
            .is_err()
        {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &group])
                .status();
            let _ = watch.wait().await;
        }
    }
    drop(emulator);
    outcome
}

async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

trait MapOk {
    fn map_ok(self) -> impl std::future::Future<Output = Result<(), String>> + Send;
}

impl<F: std::future::Future<Output = ()> + Send> MapOk for F {
    async fn map_ok(self) -> Result<(), String> {
        self.await;
        Ok(())
    }
}

const LOCAL_ISSUER: &str = "leadflow-local";

/// The local signing secret: fixed so tokens survive restarts, overridable.
fn jwt_secret() -> String {
    std::env::var("LEADFLOW_JWT_SECRET").unwrap_or_else(|_| "leadflow-local-dev-secret-not-for-production".into())
}

/// `token [--user ID | --role R... [--sub ID]] [--ttl SECONDS]`: a dev JWT signed with the
/// local secret, for a demo user of `seed.json` (their roles) or for any roles.
fn token(args: Vec<String>) -> Result<String, Error> {
    let mut roles = Vec::new();
    let mut sub = None;
    let mut user = None;
    let mut ttl: i64 = 12 * 3600;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--role" => roles.push(
                serde_json::from_value::<domain::assign::actions::Role>(serde_json::Value::String(value.clone()))
                    .map_err(|_| {
                        format!(
                            "unknown role {value:?}: rep | manager | admin | finance | marketing | integration | exporter"
                        )
                    })?,
            ),
            "--sub" => sub = Some(value),
            "--user" => user = Some(value),
            "--ttl" => {
                ttl = value
                    .parse()
                    .map_err(|_| format!("--ttl {value:?} is not a number of seconds"))?
            }
            other => return Err(format!("unknown option {other:?}; use --user, --role, --sub, --ttl").into()),
        }
    }
    if let Some(user) = user {
        if !roles.is_empty() || sub.is_some() {
            return Err("--user takes the demo user's own roles: leave out --role and --sub".into());
        }
        let seed = seed::load("http://127.0.0.1")?;
        roles = seed.roles_of(&user).ok_or_else(|| {
            let staff: Vec<&str> = seed.staff.iter().map(|s| s.id.as_str()).collect();
            format!(
                "no demo user {user:?} in {}: a rep, or one of {}",
                seed::path().display(),
                staff.join(", ")
            )
        })?;
        sub = Some(user);
    }
    if roles.is_empty() {
        roles.push(domain::assign::actions::Role::Admin);
    }
    let sub = sub.unwrap_or_else(|| "admin".into());
    Ok(api::auth::mint_hs256(&jwt_secret(), LOCAL_ISSUER, &sub, &roles, ttl))
}

/// The console's local half: its built files and a dev sign-in offering every demo user.
fn console(demo_url: &str) -> Result<local_stack::demo::Console, Error> {
    let seed = seed::load(demo_url)?;
    let reps = seed.reps.iter().map(|r| local_stack::demo::DevUser {
        id: r.id.clone(),
        name: r.name.clone(),
        roles: vec![domain::assign::actions::Role::Rep],
    });
    let staff = seed.staff.iter().map(|s| local_stack::demo::DevUser {
        id: s.id.clone(),
        name: s.name.clone(),
        roles: s.roles.clone(),
    });
    let secret = jwt_secret();
    Ok(local_stack::demo::Console {
        dist: repo_root().join("web/dist"),
        users: staff.chain(reps).collect(),
        mint: std::sync::Arc::new(move |sub, roles| {
            api::auth::mint_hs256(&secret, LOCAL_ISSUER, sub, roles, 12 * 3600)
        }),
    })
}

/// `spike [--rate N] [--seconds M] [--settle S]`: defaults 20 leads/s for 30 s, 300 s to settle.
fn spike_options(args: Vec<String>) -> Result<local_stack::spike::Options, Error> {
    let mut options = local_stack::spike::Options {
        rate: 20,
        seconds: 30,
        settle_seconds: 300,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number: u32 = value
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{flag} {value:?} is not a positive number"))?;
        match flag.as_str() {
            "--rate" => options.rate = number,
            "--seconds" => options.seconds = number,
            "--settle" => options.settle_seconds = u64::from(number),
            other => return Err(format!("unknown option {other:?}; use --rate, --seconds, --settle").into()),
        }
    }
    Ok(options)
}

fn store(endpoint: &str, table: &str) -> leadflow_aws::DynamoStore {
    leadflow_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk_config(endpoint)), table)
}

/// What the running stack provisioned (from `.local/<gateway port>/stack.json`).
fn running_provisioned() -> Result<Provisioned, Error> {
    let text = std::fs::read_to_string(state_dir().join("stack.json")).map_err(|_| {
        format!(
            "no running stack found ({}): start one with `make dev` (with the same LEADFLOW_GATEWAY_PORT)",
            state_dir().join("stack.json").display()
        )
    })?;
    let stack: serde_json::Value = serde_json::from_str(&text)?;
    Ok(Provisioned {
        endpoint: stack["endpoint"].as_str().unwrap_or_default().to_string(),
        tables: serde_json::from_value(stack["tables"].clone())?,
        queue_urls: serde_json::from_value(stack["queues"].clone())?,
        ..Provisioned::default()
    })
}

/// The running stack's emulator endpoint and table.
fn running_stack() -> Result<(String, String), Error> {
    let provisioned = running_provisioned()?;
    let table = provisioned
        .tables
        .values()
        .next()
        .ok_or("no table in .local/stack.json")?
        .clone();
    Ok((provisioned.endpoint, table))
}

/// Moves the messages of dead-letter queue `dlq` (a logical id from the template) back to
/// the queue whose redrive policy names it.
async fn redrive(dlq: &str) -> Result<(), Error> {
    let provisioned = running_provisioned()?;
    let urls = &provisioned.queue_urls;
    let template = Template::load(&Template::path())?;
    let source = template
        .queues
        .iter()
        .find(|q| q.redrive.as_ref().is_some_and(|(target, _)| target == dlq))
        .ok_or_else(|| format!("no queue dead-letters into {dlq:?}"))?;
    let (Some(from), Some(to)) = (urls.get(dlq), urls.get(&source.logical_id)) else {
        return Err(format!("{dlq} or {} is not provisioned in the running stack", source.logical_id).into());
    };
    let sqs = aws_sdk_sqs::Client::new(&sdk_config(&provisioned.endpoint));
    let moved = local_stack::redrive::redrive(&sqs, from, to).await?;
    println!("moved {moved} messages from {dlq} back to {}", source.logical_id);
    Ok(())
}

/// A synthetic history of finished leads (converted or lost, created over the last
/// two years) for the predictive model to learn from: `POST /v1/models/train` next.
async fn history(store: &leadflow_aws::DynamoStore, leads: usize) -> Result<(), Error> {
    use domain::lead::ports::LeadStore;
    let now = chrono::Utc::now();
    let mut converted = 0;
    for lead in domain::predict::synthetic::finished_leads(2026, leads, now) {
        converted += usize::from(lead.stage == domain::lead::Stage::Converted);
        store
            .create_lead(&domain::lead::ports::NewLead::new(lead.clone(), None))
            .await?;
    }
    println!("wrote {leads} finished leads ({converted} converted); train with POST /v1/models/train");
    Ok(())
}

async fn peek() -> Result<(), Error> {
    let provisioned = running_provisioned()?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk_config(&provisioned.endpoint));
    for table in provisioned.tables.values() {
        let items = dynamo.scan().table_name(table).send().await?.items.unwrap_or_default();
        println!("table {table}: {} items", items.len());
        for item in items {
            let get = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let stage = get("stage");
            let extra = if stage.is_empty() { get("kind") } else { stage };
            println!("  {:<34} {:<48} {}", get("pk"), get("sk"), extra);
        }
    }
    for (queue, depth) in runner::queue_depths(&provisioned).await {
        println!("queue {queue}: {depth} messages waiting");
    }
    Ok(())
}
