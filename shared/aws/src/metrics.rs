//! Business and health counts as CloudWatch Embedded Metric Format (EMF) lines.
//!
//! A JSON line on stdout with an `_aws` member becomes a metric when CloudWatch Logs
//! ingests it: no `PutMetricData` call on the request path, no extra latency or
//! permission, and each number sits in the log group beside the lines that explain it.
//! The template's dashboard (`leadflow-<stage>`) and alarms read these names, so they
//! are a contract: do not rename them (docs/src/observability.md lists what each means).
//!
//! The handlers and the batch loop count what the domain's typed outcomes say happened
//! (a duplicate delivery the domain reports as already done counts nothing); the domain
//! and the store adapters know nothing of metrics. `METRICS_NAMESPACE` names the
//! namespace (the template sets `leadflow/<stage>`); unset, nothing is written, so local
//! runs and tests stay quiet. A test reads what a handler counted by running it inside
//! [`Recorder::scope`] of an in-memory recorder.

use serde_json::{json, Map, Value};
use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// The environment variable naming the namespace; unset or blank: no metrics.
pub const NAMESPACE_VAR: &str = "METRICS_NAMESPACE";

/// The dimension of the per-function counts: the function's short binary name.
pub const FUNCTION_DIMENSION: &str = "Function";

/// Stack-wide counts of what happened to leads. No dimensions: one series each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Business {
    /// A new submission stored and sent into the pipeline: a form post or signed push
    /// (intake), or an import row. Repeats of a known submission do not count.
    LeadsCaptured,
    /// A lead kept as invalid: at capture (the honeypot filled, a push or import row that
    /// failed validation) or by dedup-score's cleaning (blacklists, junk).
    LeadsInvalid,
    /// assign gave a lead to a rep (routed, or a preset owner confirmed).
    LeadsAssigned,
    /// assign left a lead waiting in a pool (no one eligible yet); once per wait.
    LeadsPooled,
    /// sla-sweep sent a reminder before a deadline.
    SlaReminders,
    /// sla-sweep found a deadline missed and recorded the violation.
    SlaBreaches,
}

impl Business {
    pub const fn name(self) -> &'static str {
        match self {
            Business::LeadsCaptured => "LeadsCaptured",
            Business::LeadsInvalid => "LeadsInvalid",
            Business::LeadsAssigned => "LeadsAssigned",
            Business::LeadsPooled => "LeadsPooled",
            Business::SlaReminders => "SlaReminders",
            Business::SlaBreaches => "SlaBreaches",
        }
    }
}

/// Counts per function, with the dimension [`FUNCTION_DIMENSION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// 1 on the first invocation a process handles.
    ColdStarts,
    /// A queue message that failed on its last delivery: SQS moves it to the DLQ.
    MessagesDeadLettered,
}

impl Health {
    pub const fn name(self) -> &'static str {
        match self {
            Health::ColdStarts => "ColdStarts",
            Health::MessagesDeadLettered => "MessagesDeadLettered",
        }
    }
}

/// Stack-wide levels: each line is the value now, not an amount to add (alarms read
/// their minimum over a period).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// sla-sweep: days of official holiday data left in the calendar in use that runs out
    /// first (0 once one has run out). Not written when no calendar in use has any.
    CalendarDaysCovered,
}

impl Level {
    pub const fn name(self) -> &'static str {
        match self {
            Level::CalendarDaysCovered => "CalendarDaysCovered",
        }
    }
}

/// Writes the current value of a stack-wide level.
pub fn level(metric: Level, value: u64) {
    current().write(None, &[(metric.name(), value)]);
}

/// Adds `value` to a stack-wide count.
pub fn count(metric: Business, value: u64) {
    count_all(&[(metric, value)]);
}

/// Several stack-wide counts in one line (zeros included: a sweep's zero says it ran).
pub fn count_all(values: &[(Business, u64)]) {
    let values: Vec<(&str, u64)> = values.iter().map(|(m, v)| (m.name(), *v)).collect();
    current().write(None, &values);
}

/// Adds `value` to `function`'s count of `metric`.
pub fn count_for(function: &'static str, metric: Health, value: u64) {
    current().write(Some(function), &[(metric.name(), value)]);
}

/// Marks an invocation of `function`: the first one the process handles counts a cold
/// start. Each handler calls it first thing.
pub fn invoked(function: &'static str) {
    let recorder = current();
    if !recorder.0.invoked.swap(true, Ordering::Relaxed) {
        recorder.write(Some(function), &[(Health::ColdStarts.name(), 1)]);
    }
}

/// The EMF document for `values` at `timestamp_ms`: in `namespace`, with no dimension or
/// with `Function = function`, every value a `Count`.
fn document(namespace: &str, timestamp_ms: i64, function: Option<&str>, values: &[(&str, u64)]) -> Value {
    let dimensions: Vec<&str> = function.map(|_| FUNCTION_DIMENSION).into_iter().collect();
    let metrics: Vec<Value> = values
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [dimensions], "Metrics": metrics}],
        }),
    );
    if let Some(function) = function {
        doc.insert(FUNCTION_DIMENSION.into(), json!(function));
    }
    for (name, value) in values {
        doc.insert((*name).into(), json!(value));
    }
    Value::Object(doc)
}

/// Where metric lines go, and whether the process has been invoked yet.
#[derive(Clone)]
pub struct Recorder(Arc<Inner>);

struct Inner {
    /// `None`: write nothing.
    namespace: Option<String>,
    sink: Sink,
    invoked: AtomicBool,
}

enum Sink {
    Stdout,
    Memory(Mutex<Vec<String>>),
}

/// The process's recorder, from its environment.
static PROCESS: LazyLock<Recorder> = LazyLock::new(Recorder::from_env);

tokio::task_local! {
    /// A recorder in place of the process's for one future ([`Recorder::scope`]).
    static SCOPED: Recorder;
}

fn current() -> Recorder {
    SCOPED.try_with(Recorder::clone).unwrap_or_else(|_| PROCESS.clone())
}

impl Recorder {
    /// Stdout under `METRICS_NAMESPACE`, or nothing when it is unset.
    pub fn from_env() -> Self {
        let namespace = std::env::var(NAMESPACE_VAR).ok().filter(|n| !n.trim().is_empty());
        Self::new(namespace, Sink::Stdout)
    }

    /// Keeps its lines for [`Recorder::lines`] (tests).
    pub fn in_memory(namespace: &str) -> Self {
        Self::new(Some(namespace.to_string()), Sink::Memory(Mutex::default()))
    }

    fn new(namespace: Option<String>, sink: Sink) -> Self {
        Self(Arc::new(Inner {
            namespace,
            sink,
            invoked: AtomicBool::new(false),
        }))
    }

    /// Runs `future` with this recorder in place of the process's: what it counts (and
    /// its first invocation) is this recorder's. Nothing the future spawns is included.
    pub async fn scope<F: Future>(&self, future: F) -> F::Output {
        SCOPED.scope(self.clone(), future).await
    }

    /// The documents written so far, parsed.
    pub fn lines(&self) -> Vec<Value> {
        match &self.0.sink {
            Sink::Memory(lines) => lines
                .lock()
                .expect("metric lines")
                .iter()
                .map(|l| serde_json::from_str(l).expect("a metric line is JSON"))
                .collect(),
            Sink::Stdout => Vec::new(),
        }
    }

    /// The sum of `metric` over the documents written so far, whatever their dimensions.
    pub fn total(&self, metric: &str) -> u64 {
        self.lines().iter().filter_map(|doc| doc[metric].as_u64()).sum()
    }

    /// A metric must never fail the work it counts: a line that cannot be written is lost.
    fn write(&self, function: Option<&str>, values: &[(&str, u64)]) {
        let Some(namespace) = &self.0.namespace else {
            return;
        };
        let doc = document(namespace, chrono::Utc::now().timestamp_millis(), function, values);
        let line = doc.to_string();
        match &self.0.sink {
            Sink::Stdout => {
                // One write of the whole line: a log line is never interleaved with it.
                let _ = std::io::stdout().lock().write_all(format!("{line}\n").as_bytes());
            }
            Sink::Memory(lines) => lines.lock().expect("metric lines").push(line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_wide_count_has_no_dimensions() {
        let doc = document("leadflow/prod", 1_763_953_200_000, None, &[("LeadsCaptured", 1)]);
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_763_953_200_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "leadflow/prod",
                        "Dimensions": [[]],
                        "Metrics": [{"Name": "LeadsCaptured", "Unit": "Count"}],
                    }],
                },
                "LeadsCaptured": 1,
            })
        );
    }

    #[test]
    fn a_function_count_names_its_function() {
        let doc = document("leadflow/prod", 5, Some("dedup-score"), &[("MessagesDeadLettered", 2)]);
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 5,
                    "CloudWatchMetrics": [{
                        "Namespace": "leadflow/prod",
                        "Dimensions": [["Function"]],
                        "Metrics": [{"Name": "MessagesDeadLettered", "Unit": "Count"}],
                    }],
                },
                "Function": "dedup-score",
                "MessagesDeadLettered": 2,
            })
        );
    }

    #[test]
    fn several_counts_share_one_line() {
        let doc = document("n", 5, None, &[("SlaReminders", 3), ("SlaBreaches", 0)]);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "SlaReminders", "Unit": "Count"}, {"Name": "SlaBreaches", "Unit": "Count"}])
        );
        assert_eq!(
            (doc["SlaReminders"].as_u64(), doc["SlaBreaches"].as_u64()),
            (Some(3), Some(0))
        );
    }

    #[tokio::test]
    async fn counts_inside_a_scope_go_to_its_recorder_with_a_timestamp() {
        let recorder = Recorder::in_memory("leadflow/test");
        let before = chrono::Utc::now().timestamp_millis();
        recorder
            .scope(async {
                count(Business::LeadsAssigned, 1);
                count_for("assign", Health::MessagesDeadLettered, 1);
            })
            .await;
        let lines = recorder.lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0]["LeadsAssigned"], 1);
        assert_eq!(lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "leadflow/test");
        assert!(lines[0]["_aws"]["Timestamp"].as_i64().unwrap() >= before);
        assert_eq!(lines[1]["Function"], "assign");
        // Outside the scope, the process's recorder (no namespace in tests) writes nothing.
        count(Business::LeadsAssigned, 1);
        assert_eq!(recorder.total("LeadsAssigned"), 1);
    }

    #[tokio::test]
    async fn only_the_first_invocation_is_a_cold_start() {
        let recorder = Recorder::in_memory("leadflow/test");
        recorder
            .scope(async {
                invoked("api");
                invoked("api");
            })
            .await;
        recorder.scope(async { invoked("api") }).await;
        let lines = recorder.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(
            (lines[0]["Function"].as_str(), lines[0]["ColdStarts"].as_u64()),
            (Some("api"), Some(1))
        );
    }

    #[test]
    fn without_a_namespace_nothing_is_written() {
        let quiet = Recorder::new(None, Sink::Memory(Mutex::default()));
        quiet.write(None, &[("LeadsCaptured", 1)]);
        assert!(quiet.lines().is_empty());
    }
}
