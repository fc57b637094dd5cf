//! What assignment needs stored: routing config, pools and reps with their counters,
//! and the commit of one ownership change ([`LeadChange`]) with everything it moves.

use crate::assign::notify::Webhook;
use crate::assign::routing::DailyCount;
use crate::assign::routing::Pool;
use crate::assign::routing::PoolState;
use crate::assign::routing::Rep;
use crate::assign::routing::RoutingConfig;
use crate::follow_up::ports::Violation;
use crate::lead::funnel::{self, FunnelStep};
use crate::lead::ports::Saved;
use crate::lead::ports::{Page, PageRequest, StoreError};
use crate::lead::{Bant, Lead, LeadId, OwnerChangeHow};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;
use thiserror::Error;

/// One owner change, kept under the lead for the audit trail and the reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerChange {
    /// ULID: sorts by time under the lead.
    pub id: String,
    pub lead_id: LeadId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub how: OwnerChangeHow,
    /// Who did it (a user id); `None` for the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

impl OwnerChange {
    /// Puts changes in time order, ties by id: the order reports read them in.
    pub fn sort_in_time_order(changes: &mut [OwnerChange]) {
        changes.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpKind {
    Call,
    Visit,
    Message,
}

/// A logged follow-up: what stops the first-contact clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub id: String,
    pub lead_id: LeadId,
    pub by: String,
    pub kind: FollowUpKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Bant::is_empty")]
    pub bant: Bant,
    pub at: DateTime<Utc>,
}

/// A rep's counters as stored, next to their profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepCounters {
    /// Leads held now (保有量).
    pub active_leads: u32,
    /// Leads received (assigned or claimed) on the stored day.
    pub received: DailyCount,
}

/// A rep taking on a lead: their holding cap and (when `counts_today`) daily cap must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepCharge {
    pub rep: String,
    pub holding_cap: u32,
    pub daily_cap: Option<u32>,
    /// Counts against the rep's daily cap (assignments and claims; not transfers).
    pub counts_today: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolTake {
    /// Routed to `rep`, whose rotation counter becomes `served_after` (levelled newcomers
    /// start from the pool's floor, so the write sets it if absent and adds one otherwise).
    Assigned {
        pool: String,
        rep: String,
        levelled_from: u64,
        daily_cap: Option<u32>,
    },
    Claimed {
        pool: String,
        daily_claim_cap: Option<u32>,
    },
}

/// Everything one lead change writes, all or nothing: the lead (if its stored version is
/// still `expected_version`), the owner-change record, the reps' holding counters and the
/// pool's counters, each under its cap.
#[derive(Debug, Clone)]
pub struct LeadChange {
    /// The lead as stored, remembering the funnel steps below as counted.
    pub lead: Lead,
    pub expected_version: u64,
    /// The funnel steps the change adds (an SQL reached, say), written with the lead.
    pub funnel: Vec<FunnelStep>,
    /// The business day the daily counters count in.
    pub day: NaiveDate,
    pub owner_change: Option<OwnerChange>,
    pub charge: Option<RepCharge>,
    /// A rep who no longer holds the lead.
    pub release: Option<String>,
    pub pool_take: Option<PoolTake>,
    pub follow_up: Option<FollowUp>,
    /// A breach, written once (its id is deterministic per clock run).
    pub violation: Option<Violation>,
    /// What the owner change counts in its pool's numbers: only with an `owner_change`,
    /// on its day (a store counts them where it records the change: [`Self::counted_stat`]).
    pub stat: Option<PoolStat>,
    /// The release holds only while the holder has more active leads than this (a rep
    /// recycled down to their holding cap is never taken below it).
    pub release_floor: Option<u32>,
    /// A bulk job's record that it moved this lead, written only if the job has no
    /// outcome for the lead yet, with the job's count ([`JobMark`]).
    pub job: Option<JobMark>,
}

/// One lead's outcome in a bulk job (a roster change): recorded once per job and lead,
/// and counted under `outcome` in the same write. A second delivery of the job's work
/// finds the record and neither moves nor counts the lead again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobMark {
    pub job_id: String,
    pub lead_id: LeadId,
    /// The job's counter this outcome adds one to (`moved`, `waiting`, `skipped.<reason>`, `failed`).
    pub outcome: String,
    pub at: DateTime<Utc>,
}

/// Per pool and day: leads handed out (assigned or claimed) and leads recycled, for the
/// recycle-rate report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStat {
    pub pool: String,
    pub day: NaiveDate,
    pub recycled: bool,
}

impl PoolStat {
    pub fn handed_out(pool: &str, at: DateTime<Utc>) -> Self {
        Self {
            pool: pool.to_string(),
            day: at.date_naive(),
            recycled: false,
        }
    }
    pub fn recycled(pool: &str, at: DateTime<Utc>) -> Self {
        Self {
            recycled: true,
            ..Self::handed_out(pool, at)
        }
    }
}

impl LeadChange {
    /// Saves `next` over `before` (expecting `before`'s version), and nothing else yet.
    pub fn new(before: &Lead, next: Lead, day: NaiveDate) -> Self {
        let (lead, funnel) = funnel::count(next);
        Self {
            lead,
            expected_version: before.version,
            funnel,
            day,
            owner_change: None,
            charge: None,
            release: None,
            pool_take: None,
            follow_up: None,
            violation: None,
            stat: None,
            release_floor: None,
            job: None,
        }
    }

    /// The owner change the pool numbers count, and the numbers. They are counted with it,
    /// on its own UTC day: `Err` says why a store refuses numbers that are not.
    pub fn counted_stat(&self) -> Result<Option<(&OwnerChange, &PoolStat)>, StoreError> {
        match (&self.stat, &self.owner_change) {
            (None, _) => Ok(None),
            (Some(stat), Some(change)) if stat.day == change.at.date_naive() => Ok(Some((change, stat))),
            (Some(_), Some(_)) => Err(StoreError::Corrupt(
                "a pool's numbers count on the day of the owner change they count".into(),
            )),
            (Some(_), None) => Err(StoreError::Corrupt(
                "a pool's numbers count an owner change, and the change has none".into(),
            )),
        }
    }
}

/// Reps, pools, routing rules and the assignment counters.
pub trait RoutingStore: Send + Sync {
    fn routing(&self) -> impl Future<Output = Result<RoutingConfig, StoreError>> + Send;
    /// Saves as version `config.version` if the stored one is `config.version - 1`.
    fn save_routing(&self, config: &RoutingConfig) -> impl Future<Output = Result<Saved, StoreError>> + Send;

    fn pool(&self, id: &str) -> impl Future<Output = Result<Option<Pool>, StoreError>> + Send;
    fn pools(&self) -> impl Future<Output = Result<Vec<Pool>, StoreError>> + Send;
    /// A page of pools by id.
    fn pools_page(&self, page: PageRequest<'_>) -> impl Future<Output = Result<Page<Pool>, StoreError>> + Send;
    /// Creates or replaces a pool; rotation counters of members who left are dropped, so
    /// one who rejoins is levelled like a newcomer.
    fn put_pool(&self, pool: &Pool) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn delete_pool(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The pool's rotation counters, with daily counters read for `day`.
    fn pool_state(&self, id: &str, day: NaiveDate) -> impl Future<Output = Result<PoolState, StoreError>> + Send;

    fn rep(&self, id: &str) -> impl Future<Output = Result<Option<(Rep, RepCounters)>, StoreError>> + Send;
    /// The reps among `ids` that exist.
    fn reps(&self, ids: &[String]) -> impl Future<Output = Result<Vec<(Rep, RepCounters)>, StoreError>> + Send;
    fn all_reps(&self) -> impl Future<Output = Result<Vec<(Rep, RepCounters)>, StoreError>> + Send;
    /// A page of reps by id.
    fn reps_page(
        &self,
        page: PageRequest<'_>,
    ) -> impl Future<Output = Result<Page<(Rep, RepCounters)>, StoreError>> + Send;
    /// Creates or replaces a rep's profile; their counters are left as they are.
    fn put_rep(&self, rep: &Rep) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes a rep who holds no lead; `Saved::Conflict` if they still hold some.
    fn delete_rep(&self, id: &str) -> impl Future<Output = Result<Option<Saved>, StoreError>> + Send;

    /// `Ok(Saved::Conflict)` when the lead moved on or a cap would be exceeded: nothing
    /// was written; read again and decide again.
    fn commit_change(&self, change: &LeadChange) -> impl Future<Output = Result<Saved, StoreError>> + Send;
    /// A page of the leads waiting in `pool` without an owner, oldest first (keyed
    /// `<waiting since>#<lead id>`).
    fn waiting_in_pool(
        &self,
        pool: &str,
        page: PageRequest<'_>,
    ) -> impl Future<Output = Result<Page<LeadId>, StoreError>> + Send;
    fn owner_changes(&self, lead: &LeadId) -> impl Future<Output = Result<Vec<OwnerChange>, StoreError>> + Send;
    fn follow_ups(&self, lead: &LeadId) -> impl Future<Output = Result<Vec<FollowUp>, StoreError>> + Send;

    /// Reserves the right to send notice `key` once; `false` if it was already reserved.
    fn reserve_notice(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Gives a reservation back after a failed send, so a retry may send it.
    fn release_notice(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[derive(Debug, Error)]
pub enum NotifyError {
    #[error("webhook failed: {0}")]
    Failed(String),
}

/// Outbound webhook delivery.
pub trait Notifier: Send + Sync {
    fn send(&self, hook: &Webhook, body: &serde_json::Value) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(at: &str) -> OwnerChange {
        OwnerChange {
            id: "01JCHANGE".into(),
            lead_id: LeadId::generate(at.parse().unwrap()),
            from: None,
            to: Some("zhang".into()),
            how: OwnerChangeHow::Claimed,
            by: None,
            pool: Some("beijing".into()),
            note: None,
            at: at.parse().unwrap(),
        }
    }

    #[test]
    fn pool_numbers_count_an_owner_change_on_its_day() {
        let now = "2026-04-30T20:00:00Z".parse().unwrap();
        let lead = Lead::new(LeadId::generate(now), "web_form", now);
        let mut commit = LeadChange::new(&lead, lead.clone(), "2026-04-30".parse().unwrap());
        assert!(
            matches!(commit.counted_stat(), Ok(None)),
            "no numbers, nothing to count"
        );
        commit.stat = Some(PoolStat::handed_out("beijing", now));
        assert!(commit.counted_stat().is_err(), "numbers without a change");
        // 04:00 in Beijing on 1 May, but the numbers count UTC days.
        commit.owner_change = Some(change("2026-04-30T20:00:00Z"));
        let (counted, stat) = commit.counted_stat().unwrap().unwrap();
        assert_eq!(
            (counted.id.as_str(), stat.day),
            ("01JCHANGE", "2026-04-30".parse().unwrap())
        );
        commit.owner_change = Some(change("2026-05-01T00:00:00Z"));
        assert!(commit.counted_stat().is_err(), "numbers of another day");
    }
}
