//! Narrow ports the domain needs from the outside world. Adapters live elsewhere
//! (`leadflow-aws` for DynamoDB/SQS, [`crate::memory`] for unit tests).

use crate::dedup::{CustomerMatch, Holder, MatchKey};
use crate::lead::{Lead, LeadId, Touchpoint};
use crate::messages::Envelope;
use crate::rules::Rules;
use chrono::{DateTime, Utc};
use std::future::Future;
use thiserror::Error;

/// "Now", injected so schedules and deadlines are testable.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always says the same time (tests, replays).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

#[derive(Debug, Error)]
pub enum StoreError {
    /// Throttling, network, service errors: worth retrying.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// An item that cannot be read back into the model: a bug or a manual edit.
    #[error("stored item is corrupt: {0}")]
    Corrupt(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// The lead's `submission_id` was already used: nothing was written.
    DuplicateSubmission(LeadId),
}

pub trait LeadStore: Send + Sync {
    /// Writes the lead, its first touchpoint and (when the lead has a `submission_id`)
    /// the idempotency record, all or nothing.
    fn create_lead(
        &self,
        lead: &Lead,
        first_touch: Option<&Touchpoint>,
    ) -> impl Future<Output = Result<CreateOutcome, StoreError>> + Send;

    fn lead_for_submission(
        &self,
        submission_id: &str,
    ) -> impl Future<Output = Result<Option<LeadId>, StoreError>> + Send;

    fn get_lead(&self, id: &LeadId) -> impl Future<Output = Result<Option<Lead>, StoreError>> + Send;

    fn touchpoints(&self, id: &LeadId) -> impl Future<Output = Result<Vec<Touchpoint>, StoreError>> + Send;

    /// Leads still `received` that were created before `cutoff` and re-driven fewer than
    /// `max_redrives` times: the outbox of intake's write-then-send. Oldest first.
    fn stuck_in_received(
        &self,
        cutoff: DateTime<Utc>,
        max_redrives: u32,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<LeadId>, StoreError>> + Send;

    fn record_redrive(&self, id: &LeadId) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[derive(Debug, Error)]
pub enum BusError {
    #[error("message bus unavailable: {0}")]
    Unavailable(String),
}

pub trait MessageBus: Send + Sync {
    fn publish(&self, envelope: &Envelope) -> impl Future<Output = Result<(), BusError>> + Send;
}

/// Rules are read per batch; saving expects the version that was read.
pub trait RulesStore: Send + Sync {
    /// The current rules, or the defaults (version 0) if none were ever saved.
    fn rules(&self) -> impl Future<Output = Result<Rules, StoreError>> + Send;
    /// Saves `rules` as version `rules.version`, if the stored version is `rules.version - 1`.
    fn save_rules(&self, rules: &Rules) -> impl Future<Output = Result<Saved, StoreError>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Saved,
    /// Someone saved in between: nothing was written; read again and retry.
    Conflict,
}

/// An existing customer (for ToB matching). Customers come from the CRM side: an admin
/// import now, conversions later.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub company_core: String,
    pub contact_phones: Vec<String>,
    pub owner: Option<String>,
}

/// A dedup key pointed at a lead, valid while `since` is inside the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    pub key: MatchKey,
    pub lead_id: LeadId,
    pub since: DateTime<Utc>,
}

/// All the writes of one dedup decision, applied all-or-nothing. A claim succeeds
/// when the key is free, held by the same lead, or held by a lead older than
/// `window_start`; a lead write succeeds when its stored version is `expected_version`.
#[derive(Debug, Clone, Default)]
pub struct DedupCommit {
    pub leads: Vec<(Lead, u64)>,
    pub claims: Vec<KeyClaim>,
    pub window_start: Option<DateTime<Utc>>,
    /// (blocking key, company core, lead): registers a company for fuzzy matching.
    pub company_block: Option<(String, String, LeadId)>,
    /// (source, repeat): lists the repeat under its source.
    pub repeat_link: Option<(LeadId, LeadId)>,
}

pub trait DedupStore: Send + Sync {
    /// Who holds each of `keys` (any age; the caller applies the window).
    fn key_holders(&self, keys: &[MatchKey]) -> impl Future<Output = Result<Vec<Holder>, StoreError>> + Send;
    fn customer_match(
        &self,
        phone: Option<&str>,
        company_core: Option<&str>,
    ) -> impl Future<Output = Result<Option<CustomerMatch>, StoreError>> + Send;
    fn put_customer(&self, customer: &Customer) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Company cores registered under a blocking key, for fuzzy matching.
    fn company_block(&self, block: &str) -> impl Future<Output = Result<Vec<(String, LeadId)>, StoreError>> + Send;
    /// `Ok(Saved::Conflict)` when a condition failed: nothing was written.
    fn commit(&self, commit: &DedupCommit) -> impl Future<Output = Result<Saved, StoreError>> + Send;
    fn repeats_of(&self, source: &LeadId) -> impl Future<Output = Result<Vec<LeadId>, StoreError>> + Send;
}

/// Behaviour events as touchpoints, including anonymous ones.
pub trait TouchStore: Send + Sync {
    /// Stores the touch under its lead or its `anon_key`; `false` if that id was already stored.
    fn put_touch(&self, touch: &Touchpoint) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn anonymous_touches(&self, anon_key: &str) -> impl Future<Output = Result<Vec<Touchpoint>, StoreError>> + Send;
    /// Moves anonymous touches under `lead` (idempotent: same ids, same place).
    fn adopt_touches(
        &self,
        lead: &LeadId,
        touches: &[Touchpoint],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
