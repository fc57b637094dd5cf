//! The ports every area shares: the clock, the lead store, the message bus, the history
//! of versioned configuration, and the errors and outcomes of a store write. Adapters
//! live elsewhere (`leadflow-aws` for DynamoDB/SQS, [`crate::memory`] for unit tests).

use crate::lead::funnel::{self, FunnelStep};
use crate::lead::messages::Envelope;
use crate::lead::versioned::{ConfigId, ConfigVersion};
use crate::lead::{Lead, LeadId, Touchpoint};
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
    /// The lead's `submission_id` names a lead that was never written: an earlier attempt
    /// at the same submission was killed between its writes. Build the lead again under
    /// that id and create it ([`create_once`] does).
    Unfinished(LeadId),
}

/// How [`create_once`] ended.
#[derive(Debug)]
pub enum Creation {
    /// The lead as stored (under the earlier attempt's id if one was unfinished).
    Created(Box<Lead>),
    /// The submission id had been used: the earlier lead.
    Duplicate(LeadId),
}

/// Creates the lead `build` makes for a new id; if its submission id names an earlier
/// attempt that was never finished, builds it again under that attempt's id and finishes
/// it, so a retried submission ends as one lead whatever point the first attempt reached.
pub async fn create_once<S: LeadStore>(
    store: &S,
    now: DateTime<Utc>,
    build: impl Fn(LeadId) -> NewLead,
) -> Result<Creation, StoreError> {
    let mut id = LeadId::generate(now);
    // Twice at most: the second attempt already claims the earlier id.
    for _ in 0..2 {
        let new = build(id.clone());
        match store.create_lead(&new).await? {
            CreateOutcome::Created => return Ok(Creation::Created(Box::new(new.lead))),
            CreateOutcome::DuplicateSubmission(existing) => return Ok(Creation::Duplicate(existing)),
            CreateOutcome::Unfinished(earlier) => id = earlier,
        }
    }
    Err(StoreError::Unavailable(format!(
        "submission record and lead {id} disagree after finishing it"
    )))
}

/// Everything creating one lead writes: the lead, its first touchpoint, and the funnel
/// steps it already counts (a lead kept as invalid at capture counts at once).
#[derive(Debug, Clone)]
pub struct NewLead {
    /// The lead as stored: remembering the funnel steps below as counted.
    pub lead: Lead,
    pub first_touch: Option<Touchpoint>,
    pub funnel: Vec<FunnelStep>,
}

impl NewLead {
    pub fn new(lead: Lead, first_touch: Option<Touchpoint>) -> Self {
        let (lead, funnel) = funnel::count(lead);
        Self {
            lead,
            first_touch,
            funnel,
        }
    }
}

pub trait LeadStore: Send + Sync {
    /// Writes the lead, its first touchpoint, its funnel steps and (when the lead has a
    /// `submission_id`) the idempotency record. Not all or nothing: an attempt killed
    /// part-way is finished by the next attempt at the same submission
    /// ([`CreateOutcome::Unfinished`]); the lead, written last, is the commit point, and
    /// its funnel steps are written only with it.
    fn create_lead(&self, new: &NewLead) -> impl Future<Output = Result<CreateOutcome, StoreError>> + Send;

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

/// Where a page of a list starts and how long it may be: the items after the one whose
/// key is `after` (none: from the first), at most `limit` of them. A key is a position,
/// not an item: one that names no stored item still starts the page where it would sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest<'a> {
    pub after: Option<&'a str>,
    pub limit: usize,
}

impl<'a> PageRequest<'a> {
    pub fn first(limit: usize) -> Self {
        Self { after: None, limit }
    }
}

/// One page of a list in its store's key order, and `next`: the key of its last item when
/// more items follow (`None` on the last page, so a client never asks for an empty one).
/// Keys must be unique within the list, so nothing is skipped or repeated between pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }

    /// The page `request` names out of `entries`, (key, item) pairs in list order (ascending
    /// keys, or descending when `ascending` is false): what the in-memory adapter serves,
    /// with the semantics of the DynamoDB one.
    pub fn of_sorted(
        entries: impl IntoIterator<Item = (String, T)>,
        request: PageRequest<'_>,
        ascending: bool,
    ) -> Self {
        let after_start = |key: &str| match request.after {
            None => true,
            Some(after) if ascending => key > after,
            Some(after) => key < after,
        };
        let mut rest = entries.into_iter().filter(|(key, _)| after_start(key));
        let mut items = Vec::new();
        let mut last = None;
        for (key, item) in rest.by_ref().take(request.limit) {
            items.push(item);
            last = Some(key);
        }
        let next = if rest.next().is_some() { last } else { None };
        Self { items, next }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Saved,
    /// Someone saved in between: nothing was written; read again and retry.
    Conflict,
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

/// Every version of every versioned configuration document ([`crate::lead::versioned`]),
/// with who saved it and when.
pub trait ConfigHistory: Send + Sync {
    /// Saves `current` as the document in use and `version` in its history, both or
    /// neither, if the document's stored version is still `version.version - 1` (none
    /// stored, for version 1); `Saved::Conflict` otherwise.
    fn save_config_version(
        &self,
        config: &ConfigId,
        current: &serde_json::Value,
        version: &ConfigVersion,
    ) -> impl Future<Output = Result<Saved, StoreError>> + Send;
    /// The kept versions older than `before` (from the newest, without), newest first,
    /// at most `limit`.
    fn config_versions(
        &self,
        config: &ConfigId,
        before: Option<u64>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ConfigVersion>, StoreError>> + Send;
    fn config_version(
        &self,
        config: &ConfigId,
        version: u64,
    ) -> impl Future<Output = Result<Option<ConfigVersion>, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryStore;
    use chrono::TimeZone;

    fn build(now: DateTime<Utc>) -> impl Fn(LeadId) -> NewLead {
        move |id| {
            let mut lead = Lead::new(id, "web_form", now);
            lead.submission_id = Some("form-1".into());
            NewLead::new(lead, None)
        }
    }

    #[tokio::test]
    async fn a_submission_whose_first_attempt_was_killed_is_finished_under_the_recorded_id() {
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 2, 0, 0).unwrap();
        let store = InMemoryStore::default();
        let earlier = LeadId::generate(now);
        store.leave_unfinished_submission("form-1", &earlier);

        let Creation::Created(lead) = create_once(&store, now, build(now)).await.unwrap() else {
            panic!("the retry creates the lead");
        };
        assert_eq!(lead.id, earlier, "under the id the submission record names");
        assert_eq!(store.lead_count(), 1);

        // Once finished, the submission is a duplicate like any other.
        let again = create_once(&store, now, build(now)).await.unwrap();
        assert!(matches!(again, Creation::Duplicate(id) if id == earlier));
        assert_eq!(store.lead_count(), 1);
    }
}
