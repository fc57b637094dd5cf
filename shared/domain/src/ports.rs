//! Narrow ports the domain needs from the outside world. Adapters live elsewhere
//! (`leadflow-aws` for DynamoDB/SQS, [`crate::memory`] for unit tests).

use crate::campaign::{Campaign, CostDay};
use crate::conversion::Conversion;
use crate::dedup::{CustomerMatch, Holder, MatchKey};
use crate::erasure::ErasureRecord;
use crate::funnel::FunnelStep;
use crate::hooks::HookSource;
use crate::import::mapping::Mapping;
use crate::import::{ChunkResult, ImportJob, PipelineOutcome, Tally};
use crate::lead::{Bant, Lead, LeadId, OwnerChangeHow, Touchpoint};
use crate::messages::Envelope;
use crate::modeling::InService;
use crate::notify::Webhook;
use crate::predict::Model;
use crate::rollup::RollupRow;
use crate::routing::{DailyCount, Pool, PoolState, Rep, RoutingConfig};
use crate::rules::Rules;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    /// An imported lead's outcome, added to its import's tally with the decision.
    pub import_tally: Option<ImportTally>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportTally {
    pub import_id: String,
    /// The lead decided on (spreads the tally over shards).
    pub lead_id: LeadId,
    pub outcome: PipelineOutcome,
}

/// Imports: the job, each chunk's result (once), dedup's tally, and saved mappings.
pub trait ImportStore: Send + Sync {
    fn create_import(&self, job: &ImportJob) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn import_job(&self, id: &str) -> impl Future<Output = Result<Option<ImportJob>, StoreError>> + Send;
    /// The most recent imports first.
    fn imports(&self, limit: usize) -> impl Future<Output = Result<Vec<ImportJob>, StoreError>> + Send;
    /// `false` when the chunk's result was already recorded (nothing written).
    fn put_chunk_result(
        &self,
        import_id: &str,
        result: &ChunkResult,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn import_results(
        &self,
        import_id: &str,
    ) -> impl Future<Output = Result<(Vec<ChunkResult>, Tally), StoreError>> + Send;
    fn save_mapping(&self, mapping: &Mapping) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn mapping(&self, name: &str) -> impl Future<Output = Result<Option<Mapping>, StoreError>> + Send;
    fn mappings(&self) -> impl Future<Output = Result<Vec<Mapping>, StoreError>> + Send;
}

/// Predictive models: every trained version, which ones are in service, and the
/// scored leads of each creation month (what training and the arms report read).
pub trait ModelStore: Send + Sync {
    fn save_model(&self, model: &Model) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn model(&self, version: u32) -> impl Future<Output = Result<Option<Model>, StoreError>> + Send;
    /// Every stored version, oldest first.
    fn models(&self) -> impl Future<Output = Result<Vec<Model>, StoreError>> + Send;
    fn latest_model(&self) -> impl Future<Output = Result<Option<Model>, StoreError>> + Send;
    fn in_service(&self) -> impl Future<Output = Result<Option<InService>, StoreError>> + Send;
    /// [`ModelStore::in_service`] for scoring, where a minute-old answer will do (an
    /// adapter may cache it; a promotion reaches every scorer within that minute).
    fn in_service_for_scoring(&self) -> impl Future<Output = Result<Option<InService>, StoreError>> + Send {
        self.in_service()
    }
    /// Saves `next` if the stored revision is still `based_on` (`None`: nothing stored yet).
    fn save_in_service(
        &self,
        next: &InService,
        based_on: Option<u64>,
    ) -> impl Future<Output = Result<Saved, StoreError>> + Send;
    /// The scored leads created in the month starting `month` (see [`crate::modeling::in_cohort`]).
    fn cohort(&self, month: NaiveDate) -> impl Future<Output = Result<Vec<Lead>, StoreError>> + Send;
}

/// Signed-push sources and the signatures already used.
pub trait HookStore: Send + Sync {
    fn hook_source(&self, name: &str) -> impl Future<Output = Result<Option<HookSource>, StoreError>> + Send;
    fn hook_sources(&self) -> impl Future<Output = Result<Vec<HookSource>, StoreError>> + Send;
    fn save_hook_source(&self, source: &HookSource) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records a push's signature until `expires_at`; `false` if it was recorded already.
    fn claim_push(
        &self,
        source: &str,
        signature: &str,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn release_push(&self, source: &str, signature: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
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
    pub lead: Lead,
    pub expected_version: u64,
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
    pub stat: Option<PoolStat>,
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

/// A pool's numbers over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolNumbers {
    pub handed_out: u64,
    pub recycled: u64,
}

/// A missed deadline, with the evidence for performance review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// `<lead>#<clock>#<T millis>`: one per clock run, however many sweeps see it.
    pub id: String,
    pub lead_id: LeadId,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// The node: which clock.
    pub clock: String,
    pub policy: String,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// When the sweep recorded it.
    pub recorded_at: DateTime<Utc>,
    pub action: crate::sla::BreachAction,
    /// What was and was not done: stage, last follow-up, BANT, owner since.
    pub evidence: serde_json::Value,
}

impl LeadChange {
    /// Saves `next` over `before` (expecting `before`'s version), and nothing else yet.
    pub fn new(before: &Lead, next: Lead, day: NaiveDate) -> Self {
        Self {
            lead: next,
            expected_version: before.version,
            day,
            owner_change: None,
            charge: None,
            release: None,
            pool_take: None,
            follow_up: None,
            violation: None,
            stat: None,
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
    /// Creates or replaces a rep's profile; their counters are left as they are.
    fn put_rep(&self, rep: &Rep) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes a rep who holds no lead; `Saved::Conflict` if they still hold some.
    fn delete_rep(&self, id: &str) -> impl Future<Output = Result<Option<Saved>, StoreError>> + Send;

    /// `Ok(Saved::Conflict)` when the lead moved on or a cap would be exceeded: nothing
    /// was written; read again and decide again.
    fn commit_change(&self, change: &LeadChange) -> impl Future<Output = Result<Saved, StoreError>> + Send;
    /// Leads waiting in `pool` without an owner, oldest first, after the cursor.
    fn waiting_in_pool(
        &self,
        pool: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<LeadId>, Option<String>), StoreError>> + Send;
    fn owner_changes(&self, lead: &LeadId) -> impl Future<Output = Result<Vec<OwnerChange>, StoreError>> + Send;
    fn follow_ups(&self, lead: &LeadId) -> impl Future<Output = Result<Vec<FollowUp>, StoreError>> + Send;

    /// Reserves the right to send notice `key` once; `false` if it was already reserved.
    fn reserve_notice(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Gives a reservation back after a failed send, so a retry may send it.
    fn release_notice(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Follow-up deadlines: the policy document, the due index, and the reports.
pub trait SlaStore: Send + Sync {
    /// The current policies and calendars, or the defaults (version 0).
    fn sla_config(&self) -> impl Future<Output = Result<crate::sla::SlaConfig, StoreError>> + Send;
    fn save_sla_config(&self, config: &crate::sla::SlaConfig)
        -> impl Future<Output = Result<Saved, StoreError>> + Send;
    /// Leads whose next SLA check is at or before `now`, at most `limit`, and whether
    /// more are due. Reads only due entries (plus one query per hour bucket).
    fn due_leads(&self, now: DateTime<Utc>, limit: usize) -> impl Future<Output = Result<DueLeads, StoreError>> + Send;
    /// Violations whose deadline fell in `[from, to)`.
    fn violations(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Violation>, StoreError>> + Send;
    /// Per pool: handed out and recycled over the days `[from, to]`.
    fn pool_numbers(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<BTreeMap<String, PoolNumbers>, StoreError>> + Send;
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueLeads {
    pub leads: Vec<LeadId>,
    pub more: bool,
    /// Index entries read to find them (the sweep's cost).
    pub entries_read: usize,
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

/// Conversions, their revisions and plans, and the rollup rows they add to
/// ([`crate::credit`]).
pub trait ConversionStore: Send + Sync {
    /// The current models and window, or the defaults (version 0).
    fn attribution_config(&self) -> impl Future<Output = Result<crate::credit::AttributionConfig, StoreError>> + Send;
    fn save_attribution_config(
        &self,
        config: &crate::credit::AttributionConfig,
    ) -> impl Future<Output = Result<Saved, StoreError>> + Send;

    fn conversion(
        &self,
        external_id: &str,
    ) -> impl Future<Output = Result<Option<crate::credit::ConversionState>, StoreError>> + Send;
    fn conversion_revision(
        &self,
        external_id: &str,
        revision: u64,
    ) -> impl Future<Output = Result<Option<Conversion>, StoreError>> + Send;
    /// Stores `conversion` as the current revision if the stored one is the revision
    /// before it (none, for revision 1); `Saved::Conflict` otherwise.
    fn record_conversion(&self, conversion: &Conversion) -> impl Future<Output = Result<Saved, StoreError>> + Send;
    /// The current revision of each conversion of a lead.
    fn lead_conversions(&self, lead: &LeadId) -> impl Future<Output = Result<Vec<Conversion>, StoreError>> + Send;
    /// Conversions whose current revision happened on report day `day`, with their state.
    fn conversions_on(
        &self,
        day: NaiveDate,
    ) -> impl Future<Output = Result<Vec<crate::credit::ConversionState>, StoreError>> + Send;

    fn plan(
        &self,
        external_id: &str,
        revision: u64,
    ) -> impl Future<Output = Result<Option<Vec<RollupRow>>, StoreError>> + Send;
    /// Stores the plan of a revision unless one is stored; returns the stored one.
    fn save_plan(
        &self,
        external_id: &str,
        revision: u64,
        rows: &[RollupRow],
    ) -> impl Future<Output = Result<Vec<RollupRow>, StoreError>> + Send;
    /// Adds `rows` to the rollups, all or nothing, once per (conversion, revision,
    /// chunk), and only while `revision - 1` is the applied revision.
    fn apply_chunk(
        &self,
        external_id: &str,
        revision: u64,
        chunk: usize,
        rows: &[RollupRow],
    ) -> impl Future<Output = Result<crate::credit::ChunkOutcome, StoreError>> + Send;
    /// Marks `revision` applied if `revision - 1` is; `Saved::Conflict` otherwise.
    fn mark_applied(&self, external_id: &str, revision: u64) -> impl Future<Output = Result<Saved, StoreError>> + Send;
}

/// Rollup rows read for a report, and what reading them cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowsRead {
    pub rows: Vec<RollupRow>,
    /// Items read from the store (the report's cost).
    pub items_read: usize,
}

/// Campaigns, costs and the rows reports read.
pub trait ReportStore: Send + Sync {
    fn campaign(&self, id: &str) -> impl Future<Output = Result<Option<Campaign>, StoreError>> + Send;
    fn campaigns(&self) -> impl Future<Output = Result<Vec<Campaign>, StoreError>> + Send;
    fn put_campaign(&self, campaign: &Campaign) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces the campaign's costs on that day.
    fn put_cost_day(&self, cost: &CostDay) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Cost days in `[from, to]`.
    fn costs(&self, from: NaiveDate, to: NaiveDate) -> impl Future<Output = Result<Vec<CostDay>, StoreError>> + Send;
    /// The rows of one series (`funnel` or a model name) in `[from, to]`.
    fn rollups(
        &self,
        series: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<RowsRead, StoreError>> + Send;
    /// The raw funnel step records of one report day (for reconciliation).
    fn funnel_steps(&self, day: NaiveDate) -> impl Future<Output = Result<Vec<FunnelStep>, StoreError>> + Send;
    /// Owner changes that happened in `[from, to)`.
    fn owner_changes_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<OwnerChange>, StoreError>> + Send;
}

// Data-subject erasure ([`crate::erasure`]): the audit records and the writes that
// remove a person's data.

/// What erasing one lead writes. The adapter may write the touches and notes first, one
/// by one (each is idempotent), and must write the lead and the submission record's
/// delete last, together: the scrubbed lead marks the lead done.
#[derive(Debug, Clone)]
pub struct LeadErasure {
    /// The scrubbed lead, saved if the stored version is still `expected_version`.
    pub lead: Lead,
    pub expected_version: u64,
    /// Scrubbed copies replacing the stored touches.
    pub touches: Vec<Touchpoint>,
    /// Owner changes whose `note` is dropped.
    pub owner_change_ids: Vec<String>,
    /// Follow-ups whose `note` and `bant` are dropped.
    pub follow_up_ids: Vec<String>,
    /// The idempotency record deleted, if it still names this lead.
    pub submission_id: Option<String>,
}

/// Contact values a full read of the leads looks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadScan {
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub wechats: Vec<String>,
}

/// Erasure's own storage; it also reads through [`LeadStore`], [`DedupStore`] and
/// [`RoutingStore`].
pub trait ErasureStore: Send + Sync {
    /// The key of the audit's hashes, made on first use.
    fn erasure_key(&self) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;
    fn erasure(&self, id: &str) -> impl Future<Output = Result<Option<ErasureRecord>, StoreError>> + Send;
    /// Stores the record unless one with its id exists; returns the stored one if it did.
    fn claim_erasure(
        &self,
        record: &ErasureRecord,
    ) -> impl Future<Output = Result<Option<ErasureRecord>, StoreError>> + Send;
    /// Saves the finished record if the stored one is still running; `Conflict` if not.
    fn complete_erasure(&self, record: &ErasureRecord) -> impl Future<Output = Result<Saved, StoreError>> + Send;
    /// Every lead whose contact holds one of the values, and every invalid lead: one read
    /// of all leads (an erasure is rare; its cost grows with the table).
    fn scan_leads(&self, scan: &LeadScan) -> impl Future<Output = Result<Vec<Lead>, StoreError>> + Send;
    /// `Conflict` when the lead changed since it was read: nothing of the lead itself was
    /// written (touches and notes may have been; writing them again is harmless).
    fn erase_lead(&self, erasure: &LeadErasure) -> impl Future<Output = Result<Saved, StoreError>> + Send;
    /// Deletes each key item still held by the lead named with it; how many it deleted.
    fn release_keys(&self, keys: &[(MatchKey, LeadId)]) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Request counters for [`crate::ratelimit`]: one atomic increment per request.
pub trait RateCounters: Send + Sync {
    /// Adds one to counter `key` (creating it at zero) and returns the new count. The
    /// store may forget the counter after `expires_at`.
    fn increment(&self, key: &str, expires_at: DateTime<Utc>) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
