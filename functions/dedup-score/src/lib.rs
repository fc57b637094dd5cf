//! Consumer of the capture queue. Thin: decode each message, run the domain's
//! qualification, and report failures per message so the rest of the batch completes
//! and a poison message alone is retried and then dead-lettered. A lead the cleaning
//! rules mark invalid counts in `LeadsInvalid` (once: a redelivery is `Unchanged`).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use domain::lead::messages::{Message, Topic};
use domain::lead::ports::MessageBus;
use domain::{
    qualify::pipeline::qualify_captured, qualify::pipeline::qualify_engaged, qualify::pipeline::Qualified,
    qualify::pipeline::QualifyError, qualify::pipeline::QualifyStore,
};
use leadflow_aws::batch::{envelope, for_each_message, UnreadableMessage};
use leadflow_aws::metrics::{self, Business};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MessageError {
    #[error(transparent)]
    Unreadable(#[from] UnreadableMessage),
    #[error("{0} messages do not belong on the capture queue")]
    WrongQueue(&'static str),
    #[error(transparent)]
    Qualify(#[from] QualifyError),
}

/// This function's name in its metrics (its binary's name).
pub const FUNCTION: &str = "dedup-score";

/// The queues dedup-score sends to, each with the environment variable holding its URL:
/// `main` wires exactly these, and the tests wire the same list.
pub const QUEUES: [(Topic, &str); 2] = [
    // A holder decided by another lead's run is sent its own lead.captured first
    // (`domain::qualify::pipeline`).
    (Topic::Capture, "CAPTURE_QUEUE_URL"),
    (Topic::Ready, "READY_QUEUE_URL"),
];

pub struct DedupScore<S, B> {
    pub store: S,
    pub bus: B,
}

impl<S: QualifyStore, B: MessageBus> DedupScore<S, B> {
    pub async fn handle(&self, event: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        metrics::invoked(FUNCTION);
        // Boxed: the message future is large and deeply nested; boxing keeps the handler's
        // future small.
        for_each_message(FUNCTION, event, |record| {
            Box::pin(async move { self.process(&record, now).await })
        })
        .await
    }

    async fn process(&self, record: &SqsMessage, now: DateTime<Utc>) -> Result<Qualified, MessageError> {
        let qualified = match envelope(record)?.message {
            Message::LeadCaptured { lead_id } => qualify_captured(&self.store, &self.bus, &lead_id, now).await?,
            Message::LeadEngaged { lead_id, event_id } => {
                qualify_engaged(&self.store, &self.bus, &lead_id, &event_id, now).await?
            }
            other => return Err(MessageError::WrongQueue(other.type_name())),
        };
        if let Qualified::Invalid { .. } = qualified {
            metrics::count(Business::LeadsInvalid, 1);
        }
        Ok(qualified)
    }
}
