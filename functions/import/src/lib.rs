//! Consumer of the import queue. Thin: decode each `import.chunk`, capture its rows
//! (`domain::import::run::process_chunk`), report failures per message so only a failing
//! chunk is retried (alone), then dead-lettered. A chunk's rows count in `LeadsCaptured`
//! and `LeadsInvalid` when its counts are recorded, so a redelivered chunk adds nothing.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use domain::capture::submission::SubmissionRules;
use domain::import::run::{process_chunk, ChunkError, ChunkRun};
use domain::lead::messages::Message;
use domain::{
    assign::ports::RoutingStore, import::ports::ImportStore, lead::ports::LeadStore, lead::ports::MessageBus,
};
use leadflow_aws::batch::{envelope, for_each_message, UnreadableMessage};
use leadflow_aws::metrics::{self, Business};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MessageError {
    #[error(transparent)]
    Unreadable(#[from] UnreadableMessage),
    #[error("{0} messages do not belong on the import queue")]
    WrongQueue(&'static str),
    #[error(transparent)]
    Chunk(#[from] ChunkError),
}

/// What the log says about a chunk: counts only (its rows carry personal data).
#[derive(Debug)]
#[allow(dead_code)] // read through Debug by the log line
pub struct ChunkSummary {
    import_id: String,
    chunk: u64,
    rows: u64,
    captured: u64,
    invalid: u64,
    unchanged: u64,
}

/// This function's name in its metrics (its binary's name).
pub const FUNCTION: &str = "import";

pub struct Import<S, B> {
    pub store: S,
    pub bus: B,
    pub rules: SubmissionRules,
}

impl<S: LeadStore + ImportStore + RoutingStore, B: MessageBus> Import<S, B> {
    pub async fn handle(&self, event: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        metrics::invoked(FUNCTION);
        for_each_message(FUNCTION, event, |record| {
            Box::pin(async move { self.process(&record, now).await })
        })
        .await
    }

    async fn process(&self, record: &SqsMessage, now: DateTime<Utc>) -> Result<ChunkSummary, MessageError> {
        let (import_id, chunk, rows) = match envelope(record)?.message {
            Message::ImportChunk { import_id, chunk, rows } => (import_id, chunk, rows),
            other => return Err(MessageError::WrongQueue(other.type_name())),
        };
        let ChunkRun { result, first } =
            process_chunk(&self.store, &self.bus, &import_id, chunk, &rows, &self.rules, now).await?;
        if first {
            metrics::count_all(&[
                (Business::LeadsCaptured, result.captured),
                (Business::LeadsInvalid, result.invalid),
            ]);
        }
        Ok(ChunkSummary {
            import_id,
            chunk,
            rows: result.rows,
            captured: result.captured,
            invalid: result.invalid,
            unchanged: result.unchanged,
        })
    }
}
