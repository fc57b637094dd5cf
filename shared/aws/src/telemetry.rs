//! Structured JSON logs for CloudWatch. Handlers log ids and outcomes, never contact
//! data; use `domain::lead::mask` where a contact must be hinted at.
//!
//! One JSON object per line, every field at the top level: the event's own fields
//! (`message`, `lead_id`, …: the template's metric filters read `$.message` and `$.more`)
//! and the fields of the spans it happened in. `lambda_runtime` runs each invocation in
//! a span ("Lambda runtime invoke") carrying `requestId` and, with X-Ray tracing on,
//! `xrayTraceId`, so every line logged while an invocation runs names the request it
//! belongs to: Logs Insights can then follow one request (`filter requestId = "…"`).
//! `json-subscriber` does the flattening; see docs/src/observability.md.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Where `lambda_runtime` opens its per-invocation span. Kept at info whatever
/// `RUST_LOG` says: a line without its request id is much harder to place.
const INVOCATION_SPAN_TARGET: &str = "lambda_runtime::layers::trace=info";

pub fn init() {
    init_with(std::io::stdout);
}

/// As [`init`], writing to `writer` (benchmarks count the bytes CloudWatch would ingest).
pub fn init_with<W>(writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    try_init_filtered(writer, filter);
}

/// The same format with a fixed filter (tests capture every crate's debug lines with
/// it); false if a subscriber was already installed.
pub fn try_init_filtered<W>(writer: W, filter: tracing_subscriber::EnvFilter) -> bool
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    subscriber(writer, filter).try_init().is_ok()
}

/// The subscriber [`try_init_filtered`] installs (the tests scope it instead).
fn subscriber<W>(writer: W, filter: tracing_subscriber::EnvFilter) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = filter.add_directive(INVOCATION_SPAN_TARGET.parse().expect("a valid directive"));
    let mut format = json_subscriber::JsonLayer::new(writer);
    format
        .with_timer("timestamp", tracing_subscriber::fmt::time::SystemTime)
        .with_level("level")
        .with_flattened_event()
        // Span fields land beside the event's, so their names must not clash (the line
        // would carry the key twice): the runtime's span gives `requestId`, `xrayTraceId`,
        // `tenantId` and, added by json-subscriber, its name (`"name": "Lambda runtime
        // invoke"`, which also marks a line as logged inside an invocation). No event
        // here uses those names; keep it so.
        .with_top_level_flattened_span_list();
    tracing_subscriber::registry().with(filter).with(format)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::sync::{Arc, Mutex};

    /// Lines written through the subscriber, kept for the test to read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<Value> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                .collect()
        }
    }

    /// Logs with `filter`, as `log` does, and returns the lines.
    fn logged(filter: &str, log: impl FnOnce()) -> Vec<Value> {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = subscriber(move || writer.clone(), tracing_subscriber::EnvFilter::new(filter));
        tracing::subscriber::with_default(subscriber, log);
        out.lines()
    }

    /// The span exactly as `lambda_runtime::layers::trace::request_span` opens it. Its
    /// target is that module's, so the filter treats it as the runtime's.
    macro_rules! invoke_span {
        ($($fields:tt)*) => {
            tracing::info_span!(target: "lambda_runtime::layers::trace", "Lambda runtime invoke", $($fields)*)
        };
    }

    #[test]
    fn a_line_logged_during_an_invocation_carries_its_request_and_trace_ids_at_the_top() {
        let lines = logged("info", || {
            let span = invoke_span!(
                requestId = "8f5e0c1a-request",
                xrayTraceId = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"
            );
            let _entered = span.enter();
            tracing::info!(lead_id = "01M85QXXW0KWPH1TAKK3E8TDMW", more = true, "lead captured");
        });
        let [line] = lines.as_slice() else {
            panic!("one line: {lines:?}")
        };
        assert_eq!(line["requestId"], "8f5e0c1a-request");
        assert_eq!(
            line["xrayTraceId"],
            "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"
        );
        // The event's own fields stay at the top level too, typed.
        assert_eq!(line["message"], "lead captured");
        assert_eq!(line["lead_id"], "01M85QXXW0KWPH1TAKK3E8TDMW");
        assert_eq!(line["more"], true);
        assert_eq!(line["level"], "INFO");
        assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{line}");
        // No nesting: nothing but top-level scalars.
        assert!(
            line.as_object()
                .unwrap()
                .values()
                .all(|v| !v.is_object() && !v.is_array()),
            "{line}"
        );
    }

    #[test]
    fn without_x_ray_the_line_has_the_request_id_only() {
        let lines = logged("info", || {
            let span = invoke_span!(requestId = "no-trace");
            let _entered = span.enter();
            tracing::warn!("processed");
        });
        assert_eq!(lines[0]["requestId"], "no-trace");
        assert!(lines[0].get("xrayTraceId").is_none(), "{}", lines[0]);
    }

    #[test]
    fn lines_outside_an_invocation_have_no_request_id() {
        let lines = logged("info", || tracing::info!("cold start wiring"));
        assert!(lines[0].get("requestId").is_none(), "{}", lines[0]);
        assert_eq!(lines[0]["message"], "cold start wiring");
    }

    #[test]
    fn a_quieter_filter_still_keeps_the_request_id() {
        // `RUST_LOG=warn` must not drop the invocation span (an info span) and with it
        // the id of every warning.
        let lines = logged("warn", || {
            let span = invoke_span!(requestId = "quiet");
            let _entered = span.enter();
            tracing::info!("dropped by the filter");
            tracing::warn!("kept");
        });
        let [line] = lines.as_slice() else {
            panic!("one line: {lines:?}")
        };
        assert_eq!(line["message"], "kept");
        assert_eq!(line["requestId"], "quiet");
    }
}
