//! What one lead costs in AWS requests and capacity units, from intake to assignment, and
//! the same for a repeat, a tracked event and a conversion. The functions run in-process
//! against the emulator on clients carrying [`Meter`], which counts every DynamoDB and SQS
//! call as AWS bills it; log bytes are counted from the functions' own JSON logger. The
//! counts are then priced at us-east-1 list prices, with the arithmetic printed.
//!
//! `cargo bench -p leadflow-tests --bench cost_per_lead` (`cargo test --bench cost_per_lead`: 3 of each, as CI runs it)

use api::auth::{mint_hs256, Verifier};
use api::Api;
use assign::Assign;
use attribution::Attribution;
use chrono::{DateTime, Utc};
use dedup_score::DedupScore;
use domain::assign::actions::Role;
use domain::capture::submission::SubmissionRules;
use domain::lead::ports::FixedClock;
use domain::memory::RecordingNotifier;
use intake::http::AllowedOrigins;
use intake::Intake;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::meter::{Meter, Tally};
use leadflow_tests::{answer, http_event, request, Stack};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const SECRET: &str = "cost-bench-secret";
const ISSUER: &str = "leadflow-bench";
/// Monday 10:00 in Beijing: the demo org is at work, leads are assigned at once.
const NOW: &str = "2026-11-23T02:00:00Z";

/// us-east-1 list prices (USD), November 2026.
mod price {
    /// Lambda on arm64, per GB-second and per request.
    pub const LAMBDA_GB_S: f64 = 0.000_013_333_4;
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// HTTP API, per request (first 300 million a month).
    pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
    /// SQS standard queue, per request (64 KB chunk), after the free million.
    pub const SQS_REQUEST: f64 = 0.40 / 1e6;
    /// DynamoDB on-demand, per write and per read request unit.
    pub const WRU: f64 = 0.625 / 1e6;
    pub const RRU: f64 = 0.125 / 1e6;
    /// CloudWatch Logs ingestion, per GB.
    pub const LOG_GB: f64 = 0.50;
}

/// Assumptions that are not counts (stated beside the result).
mod assume {
    /// Memory of every function in the template.
    pub const MEMORY_GB: f64 = 0.25;
    /// Average in-region round trip of one DynamoDB or SQS request, and the handler's own
    /// time per invocation (CPU is microseconds: see the domain benchmarks).
    pub const ROUND_TRIP_MS: f64 = 8.0;
    pub const HANDLER_MS: f64 = 2.0;
    /// Lambda's START, END and REPORT lines per invocation.
    pub const PLATFORM_LOG_BYTES: usize = 350;
}

#[derive(Clone, Default)]
struct LogBytes(Arc<AtomicUsize>);

impl Write for LogBytes {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len(), Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Functions {
    intake: Intake<DynamoStore, SqsBus, FixedClock>,
    dedup: DedupScore<DynamoStore, SqsBus>,
    assign: Assign<DynamoStore, SqsBus, RecordingNotifier>,
    api: Api<DynamoStore, SqsBus, FixedClock>,
    attribution: Attribution<DynamoStore>,
    rollups: attribution::rollup::Rollups<DynamoStore>,
}

/// One measured flow: what its calls and invocations were.
struct Flow {
    name: &'static str,
    n: usize,
    tally: Tally,
    /// Lambda invocations by function (HTTP requests count one each).
    invocations: Vec<(&'static str, usize)>,
    http_requests: usize,
    /// SQS batches handed to consumers: each is one ReceiveMessage and one
    /// DeleteMessageBatch by Lambda's event source mapping.
    consumer_batches: usize,
    log_bytes: usize,
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn lead_body(i: usize) -> Value {
    json!({
        "name": format!("客户{i}"), "phone": format!("1391234{i:04}"),
        "email": format!("buyer{i}@example{i}.com"), "company": format!("杭州测试{i}号科技有限公司"),
        "title": "销售副总裁", "industry": "软件", "province": "浙江", "company_size": "500-999",
        "product": "CRM", "message": "想了解线索管理方案", "channel": "web_form",
        "campaign_id": "2026-q4-launch", "utm_source": "baidu", "utm_medium": "cpc",
        "utm_campaign": "crm-brand", "utm_term": "crm 软件", "landing_page": "https://www.example.com/demo",
        "consent": true,
    })
}

impl Functions {
    fn new(stack: &Stack, meter: &Meter) -> Self {
        let (store, bus) = stack.metered(meter);
        let now = t(NOW);
        Self {
            intake: Intake {
                store: store.clone(),
                bus: bus.clone(),
                clock: FixedClock(now),
                rules: SubmissionRules::default(),
                origins: AllowedOrigins::default(),
                limits: domain::capture::ratelimit::RateLimits::off(),
            },
            dedup: DedupScore {
                store: store.clone(),
                bus: bus.clone(),
            },
            assign: Assign {
                store: store.clone(),
                bus: bus.clone(),
                notifier: RecordingNotifier::default(),
            },
            api: Api {
                store: store.clone(),
                bus,
                clock: FixedClock(now),
                verifier: Verifier::hs256(SECRET, ISSUER),
            },
            attribution: Attribution { store: store.clone() },
            rollups: attribution::rollup::Rollups { store },
        }
    }

    async fn post(&self, path: &str, body: &Value) -> u16 {
        let event = http_event("POST", path, &[("content-type", "application/json")], &body.to_string());
        answer(self.intake.handle(request(&event)).await).status
    }

    async fn post_conversion(&self, body: &Value) -> u16 {
        let auth = format!(
            "Bearer {}",
            mint_hs256(SECRET, ISSUER, "crm", &[Role::Integration], 600)
        );
        let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
        let event = http_event("POST", "/v1/conversions", &headers, &body.to_string());
        answer(self.api.handle(request(&event)).await).status
    }

    /// Hands every queued message to its consumer until the queues are empty, then the
    /// table's new step records to the rollup fold (one batch: Lambda's mapping waits up
    /// to 5 s to fill one); returns the batches per consumer, the fold's last.
    async fn settle(&self, stack: &Stack) -> [usize; 4] {
        let now = t(NOW);
        let mut batches = [0; 4];
        loop {
            let got = [
                stack.deliver("CaptureQueue", |e| self.dedup.handle(e, now)).await,
                stack.deliver("ReadyQueue", |e| self.assign.handle(e, now)).await,
                stack.deliver("ConversionsQueue", |e| self.attribution.handle(e)).await,
            ];
            for (i, (received, failed)) in got.iter().enumerate() {
                assert_eq!(*failed, 0, "no message fails in the cost run");
                batches[i] += usize::from(*received > 0);
            }
            if got.iter().all(|(received, _)| *received == 0) {
                batches[3] = stack.fold_rollups_with(&self.rollups).await.0;
                return batches;
            }
        }
    }
}

/// What a measured flow runs against.
struct Bench<'a> {
    stack: &'a Stack,
    meter: &'a Meter,
    logs: &'a LogBytes,
    functions: &'a Functions,
}

impl Bench<'_> {
    /// Runs `send` (the flow's HTTP requests; it returns how many it made and to which
    /// function), lets the consumers finish, and returns what it all cost.
    async fn measure<F, Fut>(&self, name: &'static str, n: usize, send: F) -> Flow
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = (usize, &'static str)>,
    {
        let Self {
            stack,
            meter,
            logs,
            functions,
        } = self;
        meter.take(&[]);
        let logs_before = logs.0.load(Ordering::Relaxed);
        let (http_requests, http_function) = send().await;
        let [dedup, assign, attribution, rollup] = functions.settle(stack).await;
        let log_bytes = logs.0.load(Ordering::Relaxed) - logs_before;
        let tally = meter.take(&stack.items().await);
        Flow {
            name,
            n,
            tally,
            invocations: vec![
                (http_function, http_requests),
                ("dedup-score", dedup),
                ("assign", assign),
                ("attribution", attribution),
                ("rollup", rollup),
            ],
            http_requests,
            // Stream batches cost no SQS requests (Lambda reads DynamoDB streams free).
            consumer_batches: dedup + assign + attribution,
            log_bytes,
        }
    }
}

struct Cost {
    lambda: f64,
    http: f64,
    sqs: f64,
    dynamo: f64,
    logs: f64,
}

impl Cost {
    fn per_thousand(flow: &Flow) -> Self {
        let per = 1000.0 / flow.n as f64;
        let invocations: usize = flow.invocations.iter().map(|(_, n)| n).sum();
        let requests = f64::from(flow.tally.dynamodb_requests()) + f64::from(flow.tally.sqs_requests);
        // Requests run one after another inside a handler.
        let billed_ms = requests * assume::ROUND_TRIP_MS + invocations as f64 * assume::HANDLER_MS;
        let gb_s = billed_ms / 1000.0 * assume::MEMORY_GB;
        let sqs_requests = f64::from(flow.tally.sqs_requests) + 2.0 * flow.consumer_batches as f64;
        let log_bytes = flow.log_bytes + invocations * assume::PLATFORM_LOG_BYTES;
        Self {
            lambda: per * (gb_s * price::LAMBDA_GB_S + invocations as f64 * price::LAMBDA_REQUEST),
            http: per * flow.http_requests as f64 * price::HTTP_API_REQUEST,
            sqs: per * sqs_requests * price::SQS_REQUEST,
            dynamo: per * (flow.tally.write_units * price::WRU + flow.tally.read_units * price::RRU),
            logs: per * log_bytes as f64 / 1e9 * price::LOG_GB,
        }
    }

    fn total(&self) -> f64 {
        self.lambda + self.http + self.sqs + self.dynamo + self.logs
    }
}

fn report(flows: &[Flow]) {
    println!("\n## Requests and units per item (averages over the run)\n");
    println!("| flow | n | DynamoDB requests | of which | RRU | WRU | SQS requests (sends) | consumer batches | invocations | log bytes |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for f in flows {
        let n = f.n as f64;
        let ops: Vec<String> = f
            .tally
            .calls
            .iter()
            .filter(|(op, _)| op.starts_with("dynamodb:"))
            .map(|(op, c)| format!("{} {:.1}", op.trim_start_matches("dynamodb:"), f64::from(*c) / n))
            .collect();
        let invocations: Vec<String> = f
            .invocations
            .iter()
            .filter(|(_, c)| *c > 0)
            .map(|(name, c)| format!("{name} {:.2}", *c as f64 / n))
            .collect();
        println!(
            "| {} | {} | {:.1} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {} | {:.0} |",
            f.name,
            f.n,
            f64::from(f.tally.dynamodb_requests()) / n,
            ops.join(", "),
            f.tally.read_units / n,
            f.tally.write_units / n,
            f64::from(f.tally.sqs_requests) / n,
            f.consumer_batches as f64 / n,
            invocations.join(", "),
            f.log_bytes as f64 / n,
        );
    }
    println!("\n## Where the write units go (per item of the flow)\n");
    println!("| flow | item kinds (pk/sk prefix: WRU) |");
    println!("|---|---|");
    for f in flows {
        let kinds: Vec<String> = f
            .tally
            .writes_by_kind
            .iter()
            .map(|(kind, wru)| format!("{kind}: {:.1}", wru / f.n as f64))
            .collect();
        println!("| {} | {} |", f.name, kinds.join(", "));
    }
    println!("\n## Cost per 1,000 (USD, us-east-1 list prices)\n");
    println!("| flow | Lambda | HTTP API | SQS | DynamoDB | Logs | total |");
    println!("|---|---|---|---|---|---|---|");
    for f in flows {
        let c = Cost::per_thousand(f);
        println!(
            "| {} | {:.5} | {:.5} | {:.5} | {:.5} | {:.5} | **{:.4}** |",
            f.name,
            c.lambda,
            c.http,
            c.sqs,
            c.dynamo,
            c.logs,
            c.total()
        );
    }
    let per_million = |usd: f64| usd * 1e6;
    println!(
        "\nPrices: Lambda arm64 ${:.10}/GB-s + ${:.2}/million requests; HTTP API ${:.2}/million; \
         SQS ${:.2}/million requests (64 KB chunks); DynamoDB on demand ${:.3}/million WRU, \
         ${:.3}/million RRU; logs ${:.2}/GB ingested.",
        price::LAMBDA_GB_S,
        per_million(price::LAMBDA_REQUEST),
        per_million(price::HTTP_API_REQUEST),
        per_million(price::SQS_REQUEST),
        per_million(price::WRU),
        per_million(price::RRU),
        price::LOG_GB
    );
    println!(
        "Assumed: {} GB functions; billed time = {} ms per DynamoDB/SQS request + {} ms per \
         invocation; SQS consumers cost one ReceiveMessage + one DeleteMessageBatch per batch; \
         {} bytes of platform log lines per invocation.",
        assume::MEMORY_GB,
        assume::ROUND_TRIP_MS,
        assume::HANDLER_MS,
        assume::PLATFORM_LOG_BYTES
    );
}

fn main() {
    let quick = leadflow_tests::quick_bench();
    let n = if quick { 3 } else { 20 };
    let logs = LogBytes::default();
    leadflow_aws::telemetry::init_with(Mutex::new(logs.clone()));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let stack = Stack::start().await;
        local_stack::seed::apply(
            &local_stack::seed::load("http://127.0.0.1:9").expect("seed"),
            &stack.store(),
        )
        .await
        .expect("seed applies");
        let meter = Meter::default();
        let functions = Functions::new(&stack, &meter);
        // Warm: the day's counters, rollup rows and pool state exist, as in steady use.
        assert_eq!(functions.post("/v1/leads", &lead_body(9999)).await, 202);
        functions.settle(&stack).await;

        let bench = Bench {
            stack: &stack,
            meter: &meter,
            logs: &logs,
            functions: &functions,
        };
        let mut flows = Vec::new();
        flows.push(
            bench
                .measure("new lead → scored → assigned", n, || async {
                    for i in 0..n {
                        assert_eq!(functions.post("/v1/leads", &lead_body(i)).await, 202);
                    }
                    (n, "intake")
                })
                .await,
        );
        let leads = stack.all_leads().await;
        let owned = leads.iter().filter(|l| l.owner.is_some()).count();
        assert_eq!(owned, n + 1, "every lead reached an owner");

        flows.push(
            bench
                .measure("repeat submission (same phone)", n, || async {
                    for i in 0..n {
                        let mut body = lead_body(i);
                        body["message"] = json!("再次咨询");
                        assert_eq!(functions.post("/v1/leads", &body).await, 202);
                    }
                    (n, "intake")
                })
                .await,
        );
        flows.push(
            bench
                .measure("tracked event (known phone)", n, || async {
                    for i in 0..n {
                        let body = json!({"event": "whitepaper_download", "phone": format!("1391234{i:04}"),
                                      "event_id": format!("wp-{i}")});
                        assert_eq!(functions.post("/v1/events", &body).await, 202);
                    }
                    (n, "intake")
                })
                .await,
        );
        flows.push(
            bench
                .measure("conversion (order)", n, || async {
                    for i in 0..n {
                        let body = json!({"phone": format!("1391234{i:04}"), "kind": "order", "amount": "12000.00",
                                      "currency": "CNY", "occurred_at": NOW, "external_id": format!("order-{i}")});
                        assert_eq!(functions.post_conversion(&body).await, 201);
                    }
                    (n, "api")
                })
                .await,
        );
        report(&flows);
    });
}
