//! What capture needs stored beyond the lead: signed-push sources, touches, and the
//! request counters of the rate limits.

use crate::capture::hooks::HookSource;
use crate::lead::ports::{Page, PageRequest, StoreError};
use chrono::{DateTime, Utc};
use std::future::Future;

/// Signed-push sources and the signatures already used. A source is saved as a
/// versioned document ([`crate::lead::ports::ConfigHistory`]).
pub trait HookStore: Send + Sync {
    fn hook_source(&self, name: &str) -> impl Future<Output = Result<Option<HookSource>, StoreError>> + Send;
    /// A page of sources by name.
    fn hook_sources(&self, page: PageRequest<'_>) -> impl Future<Output = Result<Page<HookSource>, StoreError>> + Send;
    /// Records a push's signature until `expires_at`; `false` if it was recorded already.
    fn claim_push(
        &self,
        source: &str,
        signature: &str,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn release_push(&self, source: &str, signature: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Request counters for [`crate::capture::ratelimit`]: one atomic increment per request.
pub trait RateCounters: Send + Sync {
    /// Adds one to counter `key` (creating it at zero) and returns the new count. The
    /// store may forget the counter after `expires_at`.
    fn increment(&self, key: &str, expires_at: DateTime<Utc>) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
