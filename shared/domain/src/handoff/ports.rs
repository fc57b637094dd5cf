//! What the hand-off reads and writes beyond the lead: its own record per converted
//! lead, the outbound webhook subscriptions, a customer by id, and the HTTP post.

use crate::handoff::convert::Handoff;
use crate::handoff::outbound::OutboundWebhooks;
use crate::lead::ports::{Saved, StoreError};
use crate::lead::LeadId;
use crate::qualify::customer::Customer;
use std::future::Future;
use thiserror::Error;

pub trait HandoffStore: Send + Sync {
    /// Stores the hand-off of a converted lead once: `Saved::Conflict` if the lead has
    /// one already (a retry reads and keeps that one).
    fn create_handoff(&self, handoff: &Handoff) -> impl Future<Output = Result<Saved, StoreError>> + Send;
    fn handoff(&self, lead: &LeadId) -> impl Future<Output = Result<Option<Handoff>, StoreError>> + Send;
    /// Adds `subscription` to the hand-off's `delivered_to`, once.
    fn mark_delivered(&self, lead: &LeadId, subscription: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn customer(&self, id: &str) -> impl Future<Output = Result<Option<Customer>, StoreError>> + Send;
    /// The subscriptions in use, or none (version 0).
    fn outbound_webhooks(&self) -> impl Future<Output = Result<OutboundWebhooks, StoreError>> + Send;
}

#[derive(Debug, Error)]
pub enum PostError {
    #[error("the receiver answered {0}")]
    Status(u16),
    #[error("the receiver could not be reached: {0}")]
    Unreachable(String),
}

/// Posts a body with headers to a URL; any answer but 2xx is a failure (retried).
pub trait WebhookPoster: Send + Sync {
    fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &[u8],
    ) -> impl Future<Output = Result<(), PostError>> + Send;
}
