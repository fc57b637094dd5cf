//! `lead.converted` to each subscribed outbound webhook: the hand-off as JSON, signed
//! ([`crate::handoff::outbound::signed_headers`]), with a delivery id that stays the same
//! on every retry. A subscription is marked delivered on the hand-off after its receiver
//! answered 2xx, so a redelivered message skips it; one that failed makes the message
//! fail, to be retried by the queue and dead-lettered after the last try, while the
//! others are not sent again. At least once, then: a crash between the answer and the
//! mark re-sends, which the delivery id lets the receiver ignore.

use crate::handoff::outbound::{signed_headers, OutboundEvent};
use crate::handoff::ports::{HandoffStore, PostError, WebhookPoster};
use crate::lead::ports::{LeadStore, StoreError};
use crate::lead::LeadId;
use chrono::{DateTime, Utc};
use serde_json::json;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Sent to these subscriptions now (others had it already).
    Sent(Vec<String>),
    /// Every subscription had it already, or there are none.
    Nothing,
    /// The lead has no hand-off (erased since).
    NoHandoff,
}

#[derive(Debug, Error)]
pub enum DeliverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Some receivers failed (the rest were delivered and marked): retry the message.
    #[error("{failed} of the subscriptions failed, first {first}: {error}")]
    Failed {
        failed: usize,
        first: String,
        error: PostError,
    },
}

/// The delivery id of `lead`'s `lead.converted`: the receiver's idempotency key.
pub fn delivery_id(lead: &LeadId) -> String {
    format!("lead.converted:{lead}")
}

pub async fn deliver_converted<S: LeadStore + HandoffStore, P: WebhookPoster>(
    store: &S,
    poster: &P,
    lead_id: &LeadId,
    now: DateTime<Utc>,
) -> Result<Delivered, DeliverError> {
    let Some(handoff) = store.handoff(lead_id).await? else {
        return Ok(Delivered::NoHandoff);
    };
    let subscriptions = store.outbound_webhooks().await?;
    let due: Vec<_> = subscriptions
        .to(OutboundEvent::LeadConverted)
        .filter(|s| !handoff.delivered_to.contains(&s.id))
        .collect();
    if due.is_empty() {
        return Ok(Delivered::Nothing);
    }
    let lead = store.get_lead(lead_id).await?;
    let delivery = delivery_id(lead_id);
    let body = json!({
        "event": OutboundEvent::LeadConverted.as_str(),
        "id": delivery,
        "occurred_at": handoff.converted_at,
        "lead": lead.as_ref().map(|l| json!({
            "id": l.id,
            "stage": l.stage.as_str(),
            "channel": l.source.channel,
            "campaign_id": l.source.campaign_id,
            "utm": l.source.utm,
            "grade": l.score.as_ref().map(|s| s.cell.clone()),
            "created_at": l.created_at,
        })),
        "owner": handoff.owner,
        "converted_by": handoff.converted_by,
        "customer": {"id": handoff.customer_id, "name": handoff.customer_name, "created": handoff.customer_created},
        "contact": handoff.contact,
        "opportunity": handoff.opportunity,
    });
    let bytes = serde_json::to_vec(&body).expect("a JSON value serialises");
    let mut sent = Vec::new();
    let mut failures = Vec::new();
    for subscription in due {
        let headers = signed_headers(subscription, OutboundEvent::LeadConverted, &delivery, &bytes, now);
        match poster.post(&subscription.url, &headers, &bytes).await {
            Ok(()) => {
                store.mark_delivered(lead_id, &subscription.id).await?;
                sent.push(subscription.id.clone());
            }
            Err(error) => failures.push((subscription.id.clone(), error)),
        }
    }
    match failures.len() {
        0 => Ok(Delivered::Sent(sent)),
        failed => {
            let (first, error) = failures.swap_remove(0);
            Err(DeliverError::Failed { failed, first, error })
        }
    }
}
