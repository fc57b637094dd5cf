//! Consumer of the ready queue. Thin: decode each message and hand it to the domain's
//! assignment ([`domain::assign::auto`]): `lead.ready` routes a lead; `lead.assigned`,
//! `lead.returned`, `lead.woke`, `sla.reminder` and `sla.breached` send webhook notices. Failures are reported per message
//! (partial batch response): the message is retried, then dead-lettered, and the rest
//! of the batch completes. Every step is idempotent under redelivery, and so are the
//! counts: a lead handed to a rep counts in `LeadsAssigned`, one left waiting in a pool
//! in `LeadsPooled`, and a redelivery (`AlreadyOwned`, `StillWaiting`) in neither.
//!
//! `lead.converted` delivers a converted lead's hand-off to the outbound webhooks
//! ([`domain::handoff::deliver`]): a receiver that fails makes the message fail, so it is
//! retried and, after its last try, dead-lettered; receivers that had it are skipped.
//!
//! `job.chunk` runs one chunk of a roster job ([`domain::roster::run::run_chunk`]: a
//! transfer of a rep's leads, a recycle down to a lowered cap); a chunk that fails on its
//! last delivery marks its job `failed` (resumable) before SQS dead-letters the message.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use domain::lead::messages::Message;
use domain::{
    assign::auto::assign_lead, assign::auto::notify_assigned, assign::auto::notify_breached,
    assign::auto::notify_reminder, assign::auto::notify_returned, assign::auto::notify_woke, assign::auto::AssignError,
    assign::auto::Assigned,
};
use domain::{
    assign::ports::Notifier, assign::ports::RoutingStore, follow_up::ports::SlaStore, lead::ports::LeadStore,
    lead::ports::MessageBus, roster::ports::JobStore, workspace::ports::LeadIndex,
};
use domain::{
    handoff::deliver::deliver_converted, handoff::deliver::DeliverError, handoff::ports::HandoffStore,
    handoff::ports::WebhookPoster,
};
use domain::{roster::run::fail, roster::run::run_chunk, roster::run::JobError};
use leadflow_aws::batch::{envelope, for_each_message, is_last_delivery, UnreadableMessage};
use leadflow_aws::metrics::{self, Business};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MessageError {
    #[error(transparent)]
    Unreadable(#[from] UnreadableMessage),
    #[error("{0} messages do not belong on the ready queue")]
    WrongQueue(&'static str),
    #[error(transparent)]
    Assign(#[from] AssignError),
    #[error(transparent)]
    Job(#[from] JobError),
    #[error(transparent)]
    Deliver(#[from] DeliverError),
}

/// This function's name in its metrics (its binary's name).
pub const FUNCTION: &str = "assign";

pub struct Assign<S, B, N> {
    pub store: S,
    pub bus: B,
    pub notifier: N,
}

impl<S, B, N> Assign<S, B, N>
where
    S: LeadStore + RoutingStore + SlaStore + LeadIndex + JobStore + HandoffStore,
    B: MessageBus,
    N: Notifier + WebhookPoster,
{
    pub async fn handle(&self, event: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        metrics::invoked(FUNCTION);
        // Boxed: the message future is large and deeply nested; boxing keeps the handler's
        // future small.
        for_each_message(FUNCTION, event, |record| {
            Box::pin(async move { self.process(&record, now).await })
        })
        .await
    }

    async fn process(&self, record: &SqsMessage, now: DateTime<Utc>) -> Result<String, MessageError> {
        Ok(match envelope(record)?.message {
            Message::LeadReady { lead_id, .. } => {
                let assigned = assign_lead(&self.store, &self.bus, &lead_id, now).await?;
                count(&assigned);
                format!("{assigned:?}")
            }
            Message::LeadAssigned { lead_id, change_id } => {
                format!(
                    "{:?}",
                    notify_assigned(&self.store, &self.notifier, &lead_id, &change_id).await?
                )
            }
            Message::LeadReturned { lead_id, repeat_id } => {
                format!(
                    "{:?}",
                    notify_returned(&self.store, &self.notifier, &lead_id, &repeat_id).await?
                )
            }
            Message::LeadWoke { lead_id, event_id } => {
                format!(
                    "{:?}",
                    notify_woke(&self.store, &self.notifier, &lead_id, &event_id).await?
                )
            }
            Message::LeadConverted { lead_id } => {
                format!(
                    "{:?}",
                    deliver_converted(&self.store, &self.notifier, &lead_id, now).await?
                )
            }
            Message::SlaReminder { lead_id, clock, due_at } => format!(
                "{:?}",
                notify_reminder(&self.store, &self.notifier, &lead_id, &clock, due_at).await?
            ),
            Message::SlaBreached {
                lead_id,
                violation_id,
                owner,
            } => format!(
                "{:?}",
                notify_breached(&self.store, &self.notifier, &lead_id, &violation_id, &owner).await?
            ),
            Message::JobChunk { job_id, chunk } => match run_chunk(&self.store, &self.bus, &job_id, chunk, now).await {
                Ok(run) => format!("{run:?}"),
                Err(e) => {
                    if is_last_delivery(record) {
                        // SQS dead-letters it next: the job says so, and can be resumed.
                        let reason = format!("chunk {chunk} failed on every delivery: {e}");
                        if let Err(marking) = fail(&self.store, &job_id, &reason, now).await {
                            tracing::error!(job_id, error = %marking, "the job could not be marked failed");
                        }
                    }
                    return Err(e.into());
                }
            },
            other => return Err(MessageError::WrongQueue(other.type_name())),
        })
    }
}

/// What an assignment adds to the business counts.
fn count(assigned: &Assigned) {
    match assigned {
        Assigned::Assigned { .. } | Assigned::Adopted { .. } => metrics::count(Business::LeadsAssigned, 1),
        Assigned::Waiting { .. } => metrics::count(Business::LeadsPooled, 1),
        Assigned::StillWaiting { .. } | Assigned::AlreadyOwned | Assigned::NotRoutable(_) | Assigned::Missing => {}
    }
}
