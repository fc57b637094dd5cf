//! The loop every SQS consumer runs: process each message, log its outcome, and report
//! the failed ones as partial batch failures, so the rest of the batch completes and only
//! a failing message is retried (then dead-lettered by the queue's redrive policy). A
//! message failing on its last delivery is counted (`MessagesDeadLettered`): SQS moves it
//! to the DLQ next, and the count shows which function's messages they were.

use crate::metrics::{self, Health};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use domain::lead::mask;
use domain::{lead::messages::Envelope, lead::messages::EnvelopeError};
use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::LazyLock;
use thiserror::Error;

/// The environment variable with the queues' `maxReceiveCount` (the template sets 5 on
/// every queue's redrive policy, and so does the default).
pub const MAX_RECEIVE_COUNT_VAR: &str = "MAX_RECEIVE_COUNT";
const DEFAULT_MAX_RECEIVE_COUNT: u32 = 5;

/// Deliveries of a message before SQS dead-letters it ([`MAX_RECEIVE_COUNT_VAR`]).
pub fn max_receive_count() -> u32 {
    static MAX: LazyLock<u32> = LazyLock::new(|| {
        std::env::var(MAX_RECEIVE_COUNT_VAR)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_MAX_RECEIVE_COUNT)
    });
    *MAX
}

/// How many times SQS has handed this message out, this delivery included.
fn receive_count(record: &SqsMessage) -> Option<u32> {
    record.attributes.get("ApproximateReceiveCount")?.parse().ok()
}

/// Whether this delivery is the message's last before SQS dead-letters it (a consumer
/// that keeps a job's status marks it failed then).
pub fn is_last_delivery(record: &SqsMessage) -> bool {
    receive_count(record).is_some_and(|n| n >= max_receive_count())
}

/// Why a queue message is not a message at all (it goes to the DLQ after its retries).
#[derive(Debug, Error)]
pub enum UnreadableMessage {
    #[error("message has no body")]
    NoBody,
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

/// The envelope a queue message carries.
pub fn envelope(record: &SqsMessage) -> Result<Envelope, UnreadableMessage> {
    let body = record.body.as_deref().ok_or(UnreadableMessage::NoBody)?;
    Ok(Envelope::from_json(body)?)
}

/// Runs `process` on each message of `function`'s batch (`function`: its short binary
/// name, the `Function` dimension of its metrics).
pub async fn for_each_message<F, Fut, T, E>(function: &'static str, event: SqsEvent, mut process: F) -> SqsBatchResponse
where
    F: FnMut(SqsMessage) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    T: Debug,
    E: Display,
{
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let receives = receive_count(&record);
        // Outcomes and errors may quote the message (a parse error names the value it
        // could not read): masked, so no contact data reaches the logs.
        match process(record).await {
            Ok(outcome) => {
                let outcome = format!("{outcome:?}");
                tracing::info!(message_id, outcome = %mask::redact(&outcome), "processed")
            }
            Err(e) => {
                let error = e.to_string();
                let last_delivery = receives.is_some_and(|n| n >= max_receive_count());
                tracing::error!(message_id, receives, last_delivery, error = %mask::redact(&error), "message failed; it will be retried, then dead-lettered");
                if last_delivery {
                    metrics::count_for(function, Health::MessagesDeadLettered, 1);
                }
                response.add_failure(message_id);
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Recorder;

    /// A message delivered for the `receives`th time.
    fn delivery(id: &str, receives: u32) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = Some(id.into());
        record.body = Some("{}".into());
        record
            .attributes
            .insert("ApproximateReceiveCount".into(), receives.to_string());
        record
    }

    /// Runs a batch whose messages named in `failing` fail; answers the failed ids and
    /// the `MessagesDeadLettered` lines.
    async fn run(records: Vec<SqsMessage>, failing: &[&str]) -> (Vec<String>, Vec<serde_json::Value>) {
        let recorder = Recorder::in_memory("leadflow/test");
        let mut event = SqsEvent::default();
        event.records = records;
        let response = recorder
            .scope(for_each_message("dedup-score", event, |record| async move {
                let id = record.message_id.unwrap_or_default();
                if failing.contains(&id.as_str()) {
                    Err("storage unavailable")
                } else {
                    Ok(id)
                }
            }))
            .await;
        let failed = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        (failed, recorder.lines())
    }

    #[tokio::test]
    async fn a_message_failing_on_its_last_delivery_counts_as_dead_lettered() {
        assert_eq!(max_receive_count(), 5, "the template's maxReceiveCount");
        let records = vec![delivery("fifth", 5), delivery("fourth", 4), delivery("ok-on-fifth", 5)];
        let (failed, lines) = run(records, &["fifth", "fourth"]).await;
        assert_eq!(failed, ["fifth", "fourth"], "both are reported for retry");
        let [line] = lines.as_slice() else {
            panic!("one dead-lettered message: {lines:?}")
        };
        assert_eq!(line["MessagesDeadLettered"], 1);
        assert_eq!(line["Function"], "dedup-score");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Function"]])
        );
    }

    #[tokio::test]
    async fn earlier_failures_and_successes_count_nothing() {
        let records = vec![delivery("first", 1), delivery("fine", 9)];
        let (failed, lines) = run(records, &["first"]).await;
        assert_eq!(failed, ["first"]);
        assert!(lines.is_empty(), "{lines:?}");
    }
}
