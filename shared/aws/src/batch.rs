//! The loop every SQS consumer runs: process each message, log its outcome, and report
//! the failed ones as partial batch failures, so the rest of the batch completes and only
//! a failing message is retried (then dead-lettered by the queue's redrive policy).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use domain::lead::mask;
use domain::{lead::messages::Envelope, lead::messages::EnvelopeError};
use std::fmt::{Debug, Display};
use std::future::Future;
use thiserror::Error;

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

pub async fn for_each_message<F, Fut, T, E>(event: SqsEvent, mut process: F) -> SqsBatchResponse
where
    F: FnMut(SqsMessage) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    T: Debug,
    E: Display,
{
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let receives = record
            .attributes
            .get("ApproximateReceiveCount")
            .cloned()
            .unwrap_or_default();
        // Outcomes and errors may quote the message (a parse error names the value it
        // could not read): masked, so no contact data reaches the logs.
        match process(record).await {
            Ok(outcome) => {
                let outcome = format!("{outcome:?}");
                tracing::info!(message_id, outcome = %mask::redact(&outcome), "processed")
            }
            Err(e) => {
                let error = e.to_string();
                tracing::error!(message_id, receives, error = %mask::redact(&error), "message failed; it will be retried, then dead-lettered");
                response.add_failure(message_id);
            }
        }
    }
    response
}
