//! A fault-injecting HTTP proxy in front of the emulator. The functions' SDK clients
//! point at it instead of at moto, so every DynamoDB and SQS call they make can be
//! throttled, failed, delayed, or applied with its answer lost (the nastiest case: the
//! write happened, the caller saw an error and retries). Faults happen on the wire, so
//! the SDK's own retries and the adapters' error handling run exactly as in the cloud.
//!
//! Also: an outage (every call cut off, as clients see an emulator restart), a crash
//! switch (after N more writes the proxy holds the answer and tells the test, which
//! then kills the caller mid-batch) and a lost-answer switch (after N more writes the
//! last one's answer is lost, and the caller's SDK sends it again).

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// What happened to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Answered `400 ThrottlingException` without reaching the emulator.
    Throttled,
    /// Answered `500 InternalServerError` without reaching the emulator.
    ServerError,
    /// Forwarded after a pause of up to [`MAX_DELAY`].
    Delayed,
    /// Forwarded and applied; the connection is then cut before the answer.
    LostResponse,
    /// Cut off during an outage.
    Outage,
}

pub const MAX_DELAY: Duration = Duration::from_millis(300);

/// Counts of what the proxy did, by fault and by operation.
#[derive(Debug, Clone, Default)]
pub struct FaultCounts {
    pub calls: u64,
    pub forwarded: u64,
    pub faults: BTreeMap<String, u64>,
    pub by_operation: BTreeMap<String, u64>,
}

impl FaultCounts {
    pub fn faulted(&self) -> u64 {
        self.faults.values().sum()
    }

    /// Faults that kept a call from succeeding (delays only slow it down).
    pub fn failed(&self) -> u64 {
        self.faults
            .iter()
            .filter(|(k, _)| k.as_str() != "Delayed")
            .map(|(_, n)| n)
            .sum()
    }
}

struct Crash {
    writes_left: u64,
    fired: Arc<Notify>,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    /// Share of calls that get a fault, 0.0..=1.0.
    rate: Mutex<f64>,
    rng: Mutex<StdRng>,
    outage: AtomicBool,
    calls: AtomicU64,
    forwarded: AtomicU64,
    faults: Mutex<BTreeMap<String, u64>>,
    by_operation: Mutex<BTreeMap<String, u64>>,
    crash: Mutex<Option<Crash>>,
    /// Forwarded writes left before one whose answer is lost (`lose_answer_after`).
    lose: Mutex<Option<u64>>,
}

pub struct FaultProxy {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

/// `DynamoDB_20120810.PutItem` -> `PutItem`; SQS's JSON protocol names it the same way.
fn operation(req: &hyper::Request<Incoming>) -> String {
    req.headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("other")
        .to_string()
}

fn is_write(operation: &str) -> bool {
    ["Put", "Update", "Delete", "TransactWrite", "BatchWrite", "SendMessage"]
        .iter()
        .any(|w| operation.starts_with(w))
}

fn error_response(status: u16, error_type: &str) -> hyper::Response<Full<Bytes>> {
    let body = serde_json::json!({ "__type": error_type, "message": "injected by the fault proxy" });
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-query-error", format!("{error_type};Sender"))
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response")
}

/// The connection is cut: hyper closes it without an answer when the service errs.
#[derive(Debug)]
struct Cut;

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection cut by the fault proxy")
    }
}

impl std::error::Error for Cut {}

impl Shared {
    fn count(&self, fault: Fault) {
        *self.faults.lock().unwrap().entry(format!("{fault:?}")).or_default() += 1;
    }

    fn draw(&self) -> Option<Fault> {
        let rate = *self.rate.lock().unwrap();
        let mut rng = self.rng.lock().unwrap();
        if !rng.random_bool(rate.clamp(0.0, 1.0)) {
            return None;
        }
        // Weighted toward the faults that fail a call: 30 % throttles, 25 % server
        // errors, 25 % lost answers, 20 % delays.
        Some(match rng.random_range(0..100) {
            0..30 => Fault::Throttled,
            30..55 => Fault::ServerError,
            55..80 => Fault::LostResponse,
            _ => Fault::Delayed,
        })
    }

    fn delay(&self) -> Duration {
        let millis = self.rng.lock().unwrap().random_range(10..MAX_DELAY.as_millis() as u64);
        Duration::from_millis(millis)
    }

    async fn forward(&self, req: hyper::Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, Cut> {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map_err(|_| Cut)?.to_bytes();
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut outgoing = self
            .client
            .request(parts.method.clone(), format!("{}{path}", self.upstream))
            .body(body);
        for (name, value) in &parts.headers {
            if !matches!(
                name.as_str(),
                "host" | "content-length" | "connection" | "transfer-encoding"
            ) {
                outgoing = outgoing.header(name, value);
            }
        }
        let answer = outgoing.send().await.map_err(|_| Cut)?;
        self.forwarded.fetch_add(1, Ordering::Relaxed);
        let mut response = hyper::Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            if !matches!(name.as_str(), "content-length" | "connection" | "transfer-encoding") {
                response = response.header(name, value);
            }
        }
        let bytes = answer.bytes().await.map_err(|_| Cut)?;
        Ok(response.body(Full::new(bytes)).expect("copied response"))
    }

    /// Counts a forwarded write against an armed crash; true when this write is the
    /// last one the doomed caller makes.
    fn crash_due(&self, write: bool) -> Option<Arc<Notify>> {
        let mut crash = self.crash.lock().unwrap();
        let armed = crash.as_mut().filter(|_| write)?;
        armed.writes_left = armed.writes_left.saturating_sub(1);
        if armed.writes_left > 0 {
            return None;
        }
        crash.take().map(|c| c.fired)
    }

    /// Counts a forwarded write against an armed lost answer; true when this write's
    /// answer is the one to lose.
    fn loss_due(&self, write: bool) -> bool {
        let mut lose = self.lose.lock().unwrap();
        let Some(left) = lose.as_mut().filter(|_| write) else {
            return false;
        };
        *left = left.saturating_sub(1);
        if *left > 0 {
            return false;
        }
        lose.take();
        true
    }

    async fn handle(&self, req: hyper::Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, Cut> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let operation = operation(&req);
        *self.by_operation.lock().unwrap().entry(operation.clone()).or_default() += 1;
        if self.outage.load(Ordering::SeqCst) {
            self.count(Fault::Outage);
            return Err(Cut);
        }
        let fault = self.draw();
        if let Some(fault) = fault {
            self.count(fault);
        }
        match fault {
            Some(Fault::Throttled) => return Ok(error_response(400, "ThrottlingException")),
            Some(Fault::ServerError) => return Ok(error_response(500, "InternalServerError")),
            Some(Fault::Delayed) => tokio::time::sleep(self.delay()).await,
            _ => {}
        }
        let answer = self.forward(req).await?;
        if let Some(fired) = self.crash_due(is_write(&operation)) {
            // The write is applied; its caller dies before hearing so.
            fired.notify_one();
            tokio::time::sleep(Duration::from_secs(30)).await;
            return Err(Cut);
        }
        if self.loss_due(is_write(&operation)) {
            self.count(Fault::LostResponse);
            return Err(Cut);
        }
        if fault == Some(Fault::LostResponse) {
            return Err(Cut);
        }
        Ok(answer)
    }
}

impl FaultProxy {
    /// A proxy to `upstream` (the emulator's endpoint) failing `rate` of the calls, with
    /// a seeded draw so a failing run can be replayed.
    pub async fn start(upstream: &str, rate: f64, seed: u64) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("client"),
            rate: Mutex::new(rate),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            outage: AtomicBool::new(false),
            calls: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            faults: Mutex::default(),
            by_operation: Mutex::default(),
            crash: Mutex::new(None),
            lose: Mutex::new(None),
        });
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let shared = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { shared.handle(req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, shared, task }
    }

    pub fn set_rate(&self, rate: f64) {
        *self.shared.rate.lock().unwrap() = rate;
    }

    /// Cuts every call off until [`FaultProxy::recover`], as an emulator restart looks to
    /// its clients.
    pub fn outage(&self) {
        self.shared.outage.store(true, Ordering::SeqCst);
    }

    pub fn recover(&self) {
        self.shared.outage.store(false, Ordering::SeqCst);
    }

    /// After `writes` more forwarded writes, the last one's answer is held back and the
    /// returned notice fires: the test then kills the caller.
    pub fn crash_after(&self, writes: u64) -> Arc<Notify> {
        let fired = Arc::new(Notify::new());
        *self.shared.crash.lock().unwrap() = Some(Crash {
            writes_left: writes.max(1),
            fired: fired.clone(),
        });
        fired
    }

    /// After `writes` more forwarded writes, the last one is applied and its answer lost
    /// (the connection cut): its caller's SDK sends it again.
    pub fn lose_answer_after(&self, writes: u64) {
        *self.shared.lose.lock().unwrap() = Some(writes.max(1));
    }

    /// Takes back a crash that did not happen (its caller finished first).
    pub fn disarm(&self) {
        self.shared.crash.lock().unwrap().take();
    }

    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            calls: self.shared.calls.load(Ordering::Relaxed),
            forwarded: self.shared.forwarded.load(Ordering::Relaxed),
            faults: self.shared.faults.lock().unwrap().clone(),
            by_operation: self.shared.by_operation.lock().unwrap().clone(),
        }
    }

    /// SDK settings for clients that go through the proxy: the functions' own settings
    /// (standard retry mode, 3 attempts, its retry quota) with a shorter first backoff,
    /// so a test of thousands of faults waits milliseconds where Lambda would wait a
    /// second. What is retried, and how often, is unchanged.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        local_stack::provision::sdk_config(&self.url)
            .into_builder()
            .retry_config(aws_config::retry::RetryConfig::standard().with_initial_backoff(Duration::from_millis(20)))
            .build()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
