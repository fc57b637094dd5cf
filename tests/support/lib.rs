//! Test support: a moto emulator per test, provisioned from `infra/template.yaml`,
//! helpers to build real API Gateway v2 events for the HTTP handlers, and a stand-in for
//! the Lambda Runtime API to run a handler through the real runtime loop
//! ([`runtime_api`]).

/// The signing secret and issuer of the api [`Stack::api`] builds.
pub const API_SECRET: &str = "leadflow-test-secret";
pub const API_ISSUER: &str = "leadflow-test";

/// A ten-minute token the api [`Stack::api`] builds accepts.
pub fn api_token(subject: &str, roles: &[domain::assign::actions::Role]) -> String {
    api::auth::mint_hs256(API_SECRET, API_ISSUER, subject, roles, 600)
}

pub mod faults;
pub mod invariants;
pub mod meter;
pub mod runtime_api;
pub mod spec;

use aws_sdk_dynamodb::types::AttributeValue;
use local_stack::moto::MotoServer;
use local_stack::provision::{provision, sdk_config, Provisioned};
use local_stack::template::Template;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Whether a benchmark without a harness runs small: `cargo bench` passes `--bench`, and
/// `cargo test --bench` (CI's smoke run) does not; `--quick` asks for it either way.
pub fn quick_bench() -> bool {
    let args: Vec<String> = std::env::args().collect();
    !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--quick")
}

/// How long, at least, a delivered batch's messages stay hidden while it is handled (see
/// [`Stack::deliver_leaving`]): generous, so a slow batch on a loaded machine is not
/// handed out again before it finishes.
pub const IN_FLIGHT_VISIBILITY: i32 = 20;

/// What one delivered batch came to (see [`Stack::deliver_leaving`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct Delivered {
    pub received: usize,
    pub failed: usize,
    /// Processed but not deleted: each comes back.
    pub left: usize,
}

impl std::ops::AddAssign for Delivered {
    fn add_assign(&mut self, other: Self) {
        self.received += other.received;
        self.failed += other.failed;
        self.left += other.left;
    }
}

pub struct Stack {
    moto: MotoServer,
    pub provisioned: Provisioned,
    /// The harness's own clients (see [`harness_clients`]): what tests read, seed, receive
    /// and delete with, and what [`Stack::store`] and [`Stack::bus`] wrap.
    pub dynamo: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// How far [`Stack::fold_rollups`] has read the table's stream.
    folded_to: tokio::sync::Mutex<local_stack::stream::Position>,
}

/// How the harness retries its own calls on the emulator: as a patient consumer does, a
/// 5xx, a throttle or a cut connection is retried (standard mode: exponential back-off
/// with jitter from 100 ms, at most 5 s apart, 10 attempts: about 20 s in all) before a
/// test gives up. moto answers an occasional 500 under concurrent load (a Werkzeug page),
/// and a test must not fail on what a real consumer rides out.
pub fn harness_retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(10)
        .with_initial_backoff(std::time::Duration::from_millis(100))
        .with_max_backoff(std::time::Duration::from_secs(5))
}

/// The harness's DynamoDB and SQS clients on `endpoint`: [`harness_retry_config`], and a
/// retry partition of their own with no retry quota. By default every client of a
/// service in a process shares one token bucket (its "dynamodb" or "sqs" partition): under
/// the fault tests, the functions' clients behind the fault proxy would drain it and the
/// harness's next 500 would not be retried at all (and the harness's retries would spend
/// the quota the fault tests measure). The functions' clients (`adapters_via` a fault
/// proxy's config) keep their own settings and the default partition.
pub fn harness_clients(endpoint: &str) -> (aws_sdk_dynamodb::Client, aws_sdk_sqs::Client) {
    let config = sdk_config(endpoint)
        .into_builder()
        .retry_config(harness_retry_config())
        .build();
    let dynamo = aws_sdk_dynamodb::config::Builder::from(&config)
        .retry_partition(
            aws_sdk_dynamodb::config::retry::RetryPartition::custom("leadflow-tests-harness-dynamodb")
                .token_bucket(aws_sdk_dynamodb::config::retry::TokenBucket::unlimited())
                .build(),
        )
        .build();
    let sqs = aws_sdk_sqs::config::Builder::from(&config)
        .retry_partition(
            aws_sdk_sqs::config::retry::RetryPartition::custom("leadflow-tests-harness-sqs")
                .token_bucket(aws_sdk_sqs::config::retry::TokenBucket::unlimited())
                .build(),
        )
        .build();
    (
        aws_sdk_dynamodb::Client::from_conf(dynamo),
        aws_sdk_sqs::Client::from_conf(sqs),
    )
}

/// The project's crates, logged at debug level in tests (everything else at info, as in
/// production).
const CAPTURE_FILTER: &str = "info,domain=debug,leadflow_aws=debug,intake=debug,dedup_score=debug,assign=debug,\
api=debug,sla_sweep=debug,attribution=debug,import=debug,train=debug,local_stack=debug,leadflow_tests=debug";

/// `target/test-logs`: every test process writes its log lines there (`pii_logs` scans them).
pub fn test_logs_dir() -> std::path::PathBuf {
    // A test binary runs from `<target>/<profile>/deps/`.
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(std::path::Path::to_path_buf))
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("test-logs")
}

/// Installs, once per process, the functions' JSON log format at debug level for the
/// project's crates, writing to `target/test-logs/<test binary>-<pid>.log`. Returns that
/// file, or `None` when the process already has a subscriber (a benchmark counting log
/// bytes) or the file cannot be made. [`Stack::start`] calls it.
pub fn capture_logs() -> Option<&'static std::path::Path> {
    static CAPTURED: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let dir = test_logs_dir();
            std::fs::create_dir_all(&dir).ok()?;
            let exe = std::env::current_exe().ok()?;
            let name = exe.file_stem()?.to_string_lossy().into_owned();
            let path = dir.join(format!("{name}-{}.log", std::process::id()));
            let file = std::fs::File::create(&path).ok()?;
            let filter = tracing_subscriber::EnvFilter::new(CAPTURE_FILTER);
            leadflow_aws::telemetry::try_init_filtered(std::sync::Mutex::new(file), filter).then_some(path)
        })
        .as_deref()
}

impl Stack {
    /// A fresh emulator with the template's tables and queues. Captures this process's
    /// logs (see [`capture_logs`]).
    pub async fn start() -> Self {
        capture_logs();
        let moto = MotoServer::start(None, true).expect("moto starts (run `make setup` first)");
        let template = Template::load(&Template::path()).expect("template parses");
        let provisioned = provision(&template, &moto.endpoint())
            .await
            .expect("template provisions");
        let (dynamo, sqs) = harness_clients(&moto.endpoint());
        Self {
            moto,
            provisioned,
            dynamo,
            sqs,
            folded_to: tokio::sync::Mutex::new(local_stack::stream::Position::TrimHorizon),
        }
    }

    /// The emulator's endpoint (for a proxy in front of it).
    pub fn endpoint(&self) -> String {
        self.moto.endpoint()
    }

    /// The functions' adapters on clients built from `config` (a fault proxy's, say).
    pub fn adapters_via(&self, config: &aws_config::SdkConfig) -> (leadflow_aws::DynamoStore, leadflow_aws::SqsBus) {
        let store = leadflow_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(config), self.table());
        let bus = self.every_queue(leadflow_aws::SqsBus::new(aws_sdk_sqs::Client::new(config)));
        (store, bus)
    }

    pub fn table(&self) -> &str {
        &self.provisioned.tables["LeadsTable"]
    }

    pub fn queue(&self, logical_id: &str) -> &str {
        self.provisioned.queue_url(logical_id)
    }

    /// The functions' adapters on clients that report every call to `meter`.
    pub fn metered(&self, meter: &meter::Meter) -> (leadflow_aws::DynamoStore, leadflow_aws::SqsBus) {
        let dynamo =
            aws_sdk_dynamodb::Client::from_conf(self.dynamo.config().to_builder().interceptor(meter.clone()).build());
        let sqs = aws_sdk_sqs::Client::from_conf(self.sqs.config().to_builder().interceptor(meter.clone()).build());
        let bus = self.every_queue(leadflow_aws::SqsBus::new(sqs));
        (leadflow_aws::DynamoStore::new(dynamo, self.table()), bus)
    }

    pub fn store(&self) -> leadflow_aws::DynamoStore {
        leadflow_aws::DynamoStore::new(self.dynamo.clone(), self.table())
    }

    pub fn bus(&self) -> leadflow_aws::SqsBus {
        leadflow_aws::SqsBus::new(self.sqs.clone())
            .with_queue(domain::lead::messages::Topic::Capture, self.queue("CaptureQueue"))
    }

    /// Receives (and deletes) everything currently on a queue, as JSON.
    pub async fn drain(&self, logical_id: &str) -> Vec<Value> {
        self.drain_raw(logical_id)
            .await
            .iter()
            .map(|body| serde_json::from_str(body).expect("message is JSON"))
            .collect()
    }

    /// Receives (and deletes) everything currently on a queue, bodies as sent.
    pub async fn drain_raw(&self, logical_id: &str) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(self.queue(logical_id))
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap_or_else(|e| panic!("drain {logical_id}: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)));
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                out.push(m.body().unwrap_or_default().to_string());
                self.delete(logical_id, &m).await;
            }
        }
    }

    /// Whether the message's receipt deleted it: `true` when the delete succeeded (also
    /// when it is a retry of a delete that was applied but whose answer was lost: SQS, and
    /// moto, answer a repeated delete of a deleted message with success), `false` when the
    /// receipt no longer deletes it (the message was received again meanwhile, or moved to
    /// its DLQ). Any other error, once the SDK's retries are spent, fails the test.
    async fn try_delete(&self, logical_id: &str, message: &aws_sdk_sqs::types::Message) -> bool {
        use aws_sdk_sqs::error::ProvideErrorMetadata;
        let deleted = self
            .sqs
            .delete_message()
            .queue_url(self.queue(logical_id))
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .send()
            .await;
        match deleted {
            Ok(_) => true,
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_receipt_handle_is_invalid()
                        || s.code()
                            .is_some_and(|c| c.contains("ReceiptHandleIsInvalid") || c.contains("InvalidIdFormat"))
                }) =>
            {
                false
            }
            Err(e) => panic!(
                "delete from {logical_id}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            ),
        }
    }

    /// Deletes a drained message. A receipt that no longer deletes it means the message is
    /// already gone from the queue (deleted, or dead-lettered), which is what a drain
    /// wants: not an error.
    async fn delete(&self, logical_id: &str, message: &aws_sdk_sqs::types::Message) {
        if !self.try_delete(logical_id, message).await {
            tracing::debug!(queue = logical_id, "drained message was already gone");
        }
    }

    /// Writes `items` straight into the table, 25 per batch, retrying what the emulator
    /// leaves unprocessed (benchmark seeding; live code writes through the adapters).
    pub async fn put_items(&self, items: Vec<HashMap<String, AttributeValue>>) {
        local_stack::bulk::put_items(&self.dynamo, self.table(), items)
            .await
            .unwrap_or_else(|e| panic!("batch write: {e}"));
    }

    /// Every item of the table (all pages: a scan page stops at 1 MB).
    pub async fn items(&self) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut pages = self.dynamo.scan().table_name(self.table()).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.unwrap_or_else(|e| panic!("scan: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)));
            items.extend(page.items.unwrap_or_default());
        }
        items
    }

    pub async fn items_with_pk_prefix(&self, prefix: &str) -> Vec<HashMap<String, AttributeValue>> {
        self.items()
            .await
            .into_iter()
            .filter(|i| {
                i.get("pk")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|pk| pk.starts_with(prefix))
            })
            .collect()
    }
}

/// Waits until something accepts connections on `127.0.0.1:port` (a server just spawned
/// binds in its own task: a fixed sleep is a race on a loaded machine). Fails after 30 s.
pub async fn wait_until_listening(port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing listening on 127.0.0.1:{port} after 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A rep on duty at any hour, with no caps and no webhook: tests change what they need.
pub fn rep(id: &str) -> domain::assign::routing::Rep {
    domain::assign::routing::Rep {
        id: id.into(),
        name: id.into(),
        team: "north".into(),
        department: "sales".into(),
        tier: domain::assign::routing::Tier::Regular,
        weight: 1,
        holding_cap: None,
        daily_cap: None,
        working_hours: None,
        out_of_office: Vec::new(),
        webhook: None,
        active: true,
    }
}

/// Routing to one round-robin pool, the default: `reps` saved as [`rep`] makes them,
/// `members` of them in the pool `pool`.
pub async fn one_pool(store: &leadflow_aws::DynamoStore, reps: &[&str], pool: &str, members: &[&str]) {
    use domain::assign::ports::RoutingStore;
    for id in reps {
        store.put_rep(&rep(id)).await.unwrap();
    }
    let pool = domain::assign::routing::Pool {
        id: pool.into(),
        name: pool.into(),
        strategy: domain::assign::routing::Strategy::RoundRobin,
        members: members.iter().map(|m| m.to_string()).collect(),
        daily_cap: None,
        daily_claim_cap: None,
        webhook: None,
    };
    store.put_pool(&pool).await.unwrap();
    let routing = domain::assign::routing::RoutingConfig {
        version: 1,
        default_pool: pool.id,
        ..domain::assign::routing::RoutingConfig::default()
    };
    store.save_routing(&routing).await.unwrap();
}

/// The scheduler's event at `at` (the sweep reads its time as "now"), as EventBridge
/// Scheduler sends it with the template's `Input`.
pub fn tick(at: chrono::DateTime<chrono::Utc>) -> aws_lambda_events::eventbridge::EventBridgeEvent<Value> {
    serde_json::from_value(serde_json::json!({
        "version": "0", "id": "tick", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": at, "region": "us-east-1", "resources": [], "detail": {}
    }))
    .expect("a scheduled event")
}

/// An HTTP API (payload 2.0) event, as API Gateway sends it to the function. A query
/// string in `path` (`/v1/reports?from=…`) becomes the event's query parameters.
pub fn http_event(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Value {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut event: Value =
        serde_json::from_str(include_str!("../fixtures/apigw-post-lead.json")).expect("fixture is JSON");
    let header_map: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
        .collect();
    event["routeKey"] = json!(format!("{method} {path}"));
    event["rawPath"] = json!(path);
    event["headers"] = Value::Object(header_map);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    event["requestContext"]["routeKey"] = json!(format!("{method} {path}"));
    event["body"] = json!(body);
    event["rawQueryString"] = json!(query);
    // Decoded, as API Gateway passes them.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("a query string");
    let params: serde_json::Map<String, Value> = pairs.into_iter().map(|(k, v)| (k, json!(v))).collect();
    event["queryStringParameters"] = Value::Object(params);
    event
}

pub fn request(event: &Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string()).expect("event parses as an HTTP request")
}

/// Status, headers and JSON body (Null when empty) of a handler response.
pub struct Answer {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The fields an error answer names, in order (panics when it names none: a test
    /// asking for them expects an error body).
    pub fn fields(&self) -> Vec<&str> {
        self.body["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("no fields in {}", self.body))
            .iter()
            .map(|f| f["field"].as_str().expect("a field name"))
            .collect()
    }
}

pub fn answer(response: lambda_http::Response<lambda_http::Body>) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes: &[u8] = response.body().as_ref();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(bytes)))
    };
    Answer { status, headers, body }
}

/// A stand-in for `cargo lambda watch`'s Invoke API: answers each invocation with
/// `respond(function, event)` and records every event it was sent.
pub struct FakeFunctions {
    pub url: String,
    pub calls: std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeFunctions {
    pub async fn start<F>(respond: F) -> Self
    where
        F: Fn(&str, &Value) -> (u16, Value) + Send + Sync + 'static,
    {
        use http_body_util::BodyExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let calls: std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>> = Default::default();
        let respond = std::sync::Arc::new(respond);
        let recorded = calls.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let respond = respond.clone();
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let respond = respond.clone();
                        let recorded = recorded.clone();
                        async move {
                            let function = req.uri().path().split('/').nth(3).unwrap_or_default().to_string();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            recorded.lock().unwrap().push((function.clone(), event.clone()));
                            let (status, answer) = respond(&function, &event);
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .body(http_body_util::Full::new(hyper::body::Bytes::from(answer.to_string())))
                                    .expect("response"),
                            )
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Self { url, calls, task }
    }

    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

impl Drop for FakeFunctions {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stack {
    /// The intake function as its main wires it, on this stack: default submission rules
    /// and origins, rate limits off (tests that exercise those build their own).
    pub fn intake(
        &self,
    ) -> intake::Intake<leadflow_aws::DynamoStore, leadflow_aws::SqsBus, domain::lead::ports::SystemClock> {
        self.intake_at(domain::lead::ports::SystemClock)
    }

    /// [`Stack::intake`] on `clock` (a fixed one: leads created when the test says).
    pub fn intake_at<C: domain::lead::ports::Clock>(
        &self,
        clock: C,
    ) -> intake::Intake<leadflow_aws::DynamoStore, leadflow_aws::SqsBus, C> {
        intake::Intake {
            store: self.store(),
            bus: self.full_bus(),
            clock,
            rules: domain::capture::submission::SubmissionRules::default(),
            origins: intake::http::AllowedOrigins::default(),
            limits: domain::capture::ratelimit::RateLimits::off(),
        }
    }

    /// Delivers the capture queue to dedup-score, then the ready queue to assign, until
    /// both are empty: what the two consumers make of everything posted, at `at`.
    pub async fn settle(&self, at: chrono::DateTime<chrono::Utc>) {
        let score = dedup_score::DedupScore {
            store: self.store(),
            bus: self.full_bus(),
        };
        while self.deliver("CaptureQueue", |e| score.handle(e, at)).await.0 > 0 {}
        let assign = assign::Assign {
            store: self.store(),
            bus: self.full_bus(),
            notifier: domain::memory::RecordingNotifier::default(),
        };
        while self.deliver("ReadyQueue", |e| assign.handle(e, at)).await.0 > 0 {}
        self.fold_rollups().await;
    }

    /// The rollup function's stream mapping as the template declares it: the stream it
    /// reads, its filter, its batch size.
    pub fn rollup_mapping(&self) -> (local_stack::stream::StreamReader, local_stack::stream::Filter, usize) {
        let template = Template::load(&Template::path()).expect("template parses");
        let mapping = template
            .functions
            .iter()
            .find(|f| f.binary == attribution::rollup::ROLLUP_FUNCTION)
            .and_then(|f| f.streams.first().cloned())
            .expect("the template maps the table's stream to the rollup function");
        let reader =
            local_stack::stream::StreamReader::of(&self.provisioned, &mapping.table).expect("the table has a stream");
        let filter = local_stack::stream::Filter::new(&mapping.filters).expect("the filter parses");
        (reader, filter, mapping.batch_size as usize)
    }

    /// The stream's records from `position` on that the rollup mapping passes, in its
    /// batches, each as the event Lambda delivers; and the last record read.
    pub async fn step_events(
        &self,
        position: local_stack::stream::Position,
    ) -> (Vec<aws_lambda_events::dynamodb::Event>, Option<String>) {
        let (reader, filter, batch_size) = self.rollup_mapping();
        let (mut events, mut position, mut last) = (Vec::new(), position, None);
        loop {
            let records = reader.read(&position, batch_size).await.expect("the stream reads");
            let Some(end) = records.last().and_then(local_stack::stream::sequence_number) else {
                return (events, last);
            };
            last = Some(end.to_string());
            position = local_stack::stream::Position::After(end.to_string());
            let passed: Vec<Value> = records.into_iter().filter(|r| filter.passes(r)).collect();
            if !passed.is_empty() {
                events.push(serde_json::from_value(reader.event(&passed)).expect("a stream event"));
            }
        }
    }

    /// Delivers the stream's new step records to the rollup function (in process, on
    /// [`Stack::store`]), as `make dev`'s stream mapping does in the background. Returns
    /// how many records were delivered.
    pub async fn fold_rollups(&self) -> usize {
        let rollups = attribution::rollup::Rollups { store: self.store() };
        self.fold_rollups_with(&rollups).await.1
    }

    /// [`Stack::fold_rollups`] with the function given: (batches, records) delivered.
    pub async fn fold_rollups_with<S: domain::attribution::fold::FoldStore>(
        &self,
        rollups: &attribution::rollup::Rollups<S>,
    ) -> (usize, usize) {
        let mut folded_to = self.folded_to.lock().await;
        let (events, last) = self.step_events(folded_to.clone()).await;
        let (batches, mut records) = (events.len(), 0);
        for event in events {
            records += event.records.len();
            let answer = rollups.handle(event).await;
            assert!(answer.batch_item_failures.is_empty(), "the fold failed: {answer:?}");
        }
        if let Some(last) = last {
            *folded_to = local_stack::stream::Position::After(last);
        }
        (batches, records)
    }

    /// The api function as its `main` wires it (its queues), with a test verifier
    /// ([`API_SECRET`], [`API_ISSUER`]: [`api_token`] mints what it accepts) and `clock`.
    pub fn api<C: domain::lead::ports::Clock>(
        &self,
        clock: C,
    ) -> api::Api<leadflow_aws::DynamoStore, leadflow_aws::SqsBus, C> {
        api::Api {
            store: self.store(),
            bus: self.api_bus(),
            clock,
            verifier: api::auth::Verifier::hs256(API_SECRET, API_ISSUER),
        }
    }

    /// A bus wired as the api's `main` wires it: the topics of [`api::QUEUES`], each to
    /// the URL the template gives its environment variable (as the local stack's api
    /// function reads it).
    pub fn api_bus(&self) -> leadflow_aws::SqsBus {
        self.function_bus("ApiFunction", &api::QUEUES)
    }

    /// The bus as dedup-score's `main` wires it (`dedup_score::QUEUES`).
    pub fn dedup_bus(&self) -> leadflow_aws::SqsBus {
        self.function_bus("DedupScoreFunction", &dedup_score::QUEUES)
    }

    /// The bus as a function's `main` wires `queues`, from the URLs the template sets in
    /// that function's environment.
    fn function_bus(&self, function: &str, queues: &[(domain::lead::messages::Topic, &str)]) -> leadflow_aws::SqsBus {
        let template = Template::load(&Template::path()).expect("template parses");
        let resource = template
            .function(function)
            .unwrap_or_else(|| panic!("the template has {function}"));
        let env = self
            .provisioned
            .function_env(resource)
            .unwrap_or_else(|_| panic!("{function}'s environment resolves"));
        queues
            .iter()
            .fold(leadflow_aws::SqsBus::new(self.sqs.clone()), |bus, (topic, var)| {
                let url = env
                    .get(*var)
                    .unwrap_or_else(|| panic!("the template sets {var} for {function}"));
                bus.with_queue(*topic, url.clone())
            })
    }

    /// The bus with every queue (for the functions whose sends are not under test).
    pub fn full_bus(&self) -> leadflow_aws::SqsBus {
        self.every_queue(leadflow_aws::SqsBus::new(self.sqs.clone()))
    }

    /// `bus` with every topic wired to its queue, as the template wires the functions.
    fn every_queue(&self, bus: leadflow_aws::SqsBus) -> leadflow_aws::SqsBus {
        bus.with_queue(domain::lead::messages::Topic::Capture, self.queue("CaptureQueue"))
            .with_queue(domain::lead::messages::Topic::Ready, self.queue("ReadyQueue"))
            .with_queue(
                domain::lead::messages::Topic::Conversions,
                self.queue("ConversionsQueue"),
            )
            .with_queue(domain::lead::messages::Topic::Import, self.queue("ImportQueue"))
            .with_queue(domain::lead::messages::Topic::Models, self.queue("ModelQueue"))
    }

    /// Receives one batch from a queue as Lambda's event source mapping would and hands it
    /// to `handle`; deletes what succeeded, leaves failures to reappear. Returns
    /// (received, failed).
    pub async fn deliver<F, Fut>(&self, logical_id: &str, handle: F) -> (usize, usize)
    where
        F: FnOnce(aws_lambda_events::sqs::SqsEvent) -> Fut,
        Fut: std::future::Future<Output = aws_lambda_events::sqs::SqsBatchResponse>,
    {
        self.deliver_with_visibility(logical_id, None, handle).await
    }

    /// As [`Stack::deliver`], with failures reappearing after `visibility` seconds instead
    /// of the queue's timeout (to test retries without waiting a minute each).
    pub async fn deliver_with_visibility<F, Fut>(
        &self,
        logical_id: &str,
        visibility: Option<i32>,
        handle: F,
    ) -> (usize, usize)
    where
        F: FnOnce(aws_lambda_events::sqs::SqsEvent) -> Fut,
        Fut: std::future::Future<Output = aws_lambda_events::sqs::SqsBatchResponse>,
    {
        let batch = self.deliver_leaving(logical_id, visibility, || false, handle).await;
        assert_eq!(batch.left, 0, "every processed message was deleted");
        (batch.received, batch.failed)
    }

    /// One batch as the event source mapping delivers it, except that a successful
    /// message is left undeleted (to come back: a duplicate delivery) whenever `leave`
    /// says so, or when its receipt no longer deletes it (the batch outlived its
    /// visibility and the message was received again meanwhile).
    pub async fn deliver_leaving<F, Fut>(
        &self,
        logical_id: &str,
        visibility: Option<i32>,
        mut leave: impl FnMut() -> bool,
        handle: F,
    ) -> Delivered
    where
        F: FnOnce(aws_lambda_events::sqs::SqsEvent) -> Fut,
        Fut: std::future::Future<Output = aws_lambda_events::sqs::SqsBatchResponse>,
    {
        let got = self
            .sqs
            .receive_message()
            .queue_url(self.queue(logical_id))
            // While the batch is being handled its messages stay hidden for long enough
            // (a short `visibility` would expire under load and hand the same messages to
            // a concurrent consumer mid-batch); `visibility` applies from when it is done.
            .set_visibility_timeout(visibility.map(|v| v.max(IN_FLIGHT_VISIBILITY)))
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "receive from {logical_id}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                )
            });
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return Delivered::default();
        }
        let arn = format!("arn:aws:sqs:us-east-1:123456789012:{logical_id}");
        let event = serde_json::from_value(local_stack::runner::sqs_event(&messages, &arn)).expect("valid SQS event");
        let response = handle(event).await;
        let failed: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        let mut left = 0;
        for m in &messages {
            if failed.iter().any(|id| Some(id.as_str()) == m.message_id()) {
                self.reappear_after(logical_id, m, visibility).await;
                continue;
            }
            if leave() {
                left += 1;
                self.reappear_after(logical_id, m, visibility).await;
            } else if !self.try_delete(logical_id, m).await {
                left += 1;
            }
        }
        Delivered {
            received: messages.len(),
            failed: failed.len(),
            left,
        }
    }

    /// A message the delivery did not delete comes back `visibility` seconds from now (as
    /// asked of [`Stack::deliver_with_visibility`]), not [`IN_FLIGHT_VISIBILITY`] after it
    /// was received. A receipt that no longer works (the message is gone) changes nothing.
    async fn reappear_after(&self, logical_id: &str, message: &aws_sdk_sqs::types::Message, visibility: Option<i32>) {
        let Some(visibility) = visibility.filter(|v| *v < IN_FLIGHT_VISIBILITY) else {
            return;
        };
        let _ = self
            .sqs
            .change_message_visibility()
            .queue_url(self.queue(logical_id))
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .visibility_timeout(visibility)
            .send()
            .await;
    }

    pub async fn lead(&self, id: &str) -> domain::Lead {
        use domain::lead::ports::LeadStore;
        self.store()
            .get_lead(&domain::LeadId::parse(id).expect("lead id"))
            .await
            .expect("read")
            .expect("lead exists")
    }

    pub async fn all_leads(&self) -> Vec<domain::Lead> {
        self.items_with_pk_prefix("LEAD#")
            .await
            .into_iter()
            .filter(|i| i.get("sk").and_then(|v| v.as_s().ok()).is_some_and(|sk| sk == "LEAD"))
            .map(|i| leadflow_aws::item::lead_from_item(i).expect("lead item"))
            .collect()
    }
}
