//! What qualification needs stored: the rules, the dedup keys and customers, and the
//! commit that records one decision (the leads, the keys a repeat hands to its source,
//! an import's tally). A new lead claims its keys one by one before that commit
//! ([`DedupStore::claim_key`]), and the decision's funnel step records and repeat link
//! follow it ([`DedupStore::record`]); why, in `pipeline.rs`.

use crate::lead::funnel::{self, FunnelStep};
use crate::lead::ports::Saved;
use crate::lead::ports::StoreError;
use crate::lead::{Lead, LeadId, Stage};
use crate::qualify::customer::Customer;
use crate::qualify::dedup::CustomerMatch;
use crate::qualify::dedup::Holder;
use crate::qualify::dedup::MatchKey;
use crate::qualify::rules::Rules;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// Rules are read per batch; saving expects the version that was read.
pub trait RulesStore: Send + Sync {
    /// The current rules, or the defaults (version 0) if none were ever saved.
    fn rules(&self) -> impl Future<Output = Result<Rules, StoreError>> + Send;
    /// Saves `rules` as version `rules.version`, if the stored version is `rules.version - 1`.
    fn save_rules(&self, rules: &Rules) -> impl Future<Output = Result<Saved, StoreError>> + Send;
}

/// A dedup key pointed at a lead, valid while `since` is inside the window.
///
/// A claim succeeds when the key is free, held by `lead_id` already, held by
/// `taking_over`, or held by a lead created before the window's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    pub key: MatchKey,
    pub lead_id: LeadId,
    pub since: DateTime<Utc>,
    /// The lead whose hold this claim may replace: a repeat handing the keys it claimed,
    /// before it knew it was one, to its source.
    pub taking_over: Option<LeadId>,
}

/// The writes of one dedup decision that must land together, applied all-or-nothing:
/// the claims succeed as [`KeyClaim`] says, and a lead write succeeds when its stored
/// version is `expected_version`. What the decision adds beside them is in `records`.
#[derive(Debug, Clone, Default)]
pub struct DedupCommit {
    /// (lead as stored, expected version): each remembering its funnel steps as counted.
    pub leads: Vec<(Lead, u64)>,
    pub claims: Vec<KeyClaim>,
    pub window_start: Option<DateTime<Utc>>,
    /// An imported lead's outcome, added to its import's tally with the decision.
    pub import_tally: Option<ImportTally>,
    /// Written after the commit ([`DedupStore::record`]).
    pub records: DecisionRecords,
}

impl DedupCommit {
    /// Writes `leads` (each expecting its version), followed by the records of the funnel
    /// steps they count, and nothing else yet: the decision's other writes are set on the
    /// result.
    pub fn of(leads: Vec<(Lead, u64)>) -> Self {
        let mut commit = Self::default();
        for (lead, expected_version) in leads {
            let (lead, steps) = funnel::count(lead);
            commit.leads.push((lead, expected_version));
            commit.records.funnel.extend(steps);
        }
        commit
    }
}

/// What a decision adds beside its commit: the records of the funnel steps its leads now
/// count, and a repeat's link under its source. Each is written after the commit, only
/// if it is not stored yet, so none needs the commit's transaction (which bills every
/// item twice): a run that stops between the two leaves the lead's message to come
/// again, and the redelivery, finding the lead decided, writes them from the stored leads
/// ([`DecisionRecords::of_decided`]). A lead decided by another lead's run is sent a
/// message of its own first, so it has one to come again too.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionRecords {
    pub funnel: Vec<FunnelStep>,
    /// (source, repeat): lists the repeat under its source.
    pub repeat_link: Option<(LeadId, LeadId)>,
}

/// The funnel steps a qualification decision can count: what a redelivery writes again.
/// (`sql` is only ever a rep's step, written in that change's own transaction.)
const QUALIFICATION_STEPS: [&str; 4] = ["lead", "mql", "invalid", "repeat"];

impl DecisionRecords {
    /// Every record a qualification decision that made `lead` what it is may have added:
    /// the steps it counts of those qualification counts, its link if it is a repeat,
    /// and, for a repeat, what the merge counted on its `source`.
    pub fn of_decided(lead: &Lead, source: Option<&Lead>) -> Self {
        let steps = |lead: &Lead| {
            funnel::recorded(lead)
                .into_iter()
                .filter(|s| QUALIFICATION_STEPS.contains(&s.step.as_str()))
                .collect::<Vec<_>>()
        };
        let mut funnel = steps(lead);
        funnel.extend(source.map(steps).unwrap_or_default());
        let repeat_of = lead.dedup.as_ref().and_then(|d| d.repeat_of.clone());
        Self {
            funnel,
            repeat_link: repeat_of
                .filter(|_| lead.stage == Stage::Merged)
                .map(|source| (source, lead.id.clone())),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.funnel.is_empty() && self.repeat_link.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportTally {
    pub import_id: String,
    /// The lead decided on (spreads the tally over shards).
    pub lead_id: LeadId,
    pub outcome: PipelineOutcome,
}

pub trait DedupStore: Send + Sync {
    /// Who holds each of `keys` (any age; the caller applies the window).
    fn key_holders(&self, keys: &[MatchKey]) -> impl Future<Output = Result<Vec<Holder>, StoreError>> + Send;
    /// The customer whose company core is exactly `company_core`, else the one with the
    /// contact phone `phone`.
    fn customer_match(
        &self,
        phone: Option<&str>,
        company_core: Option<&str>,
    ) -> impl Future<Output = Result<Option<CustomerMatch>, StoreError>> + Send;
    /// Stores a customer with its company and phone keys, and registers its company core
    /// under its blocking key for typo matching.
    fn put_customer(&self, customer: &Customer) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Customers' company cores registered under a blocking key, for typo matching (the
    /// customer of the core chosen is then read with `customer_match`).
    fn customer_block(&self, block: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Company cores registered under a blocking key, for fuzzy matching.
    fn company_block(&self, block: &str) -> impl Future<Output = Result<Vec<(String, LeadId)>, StoreError>> + Send;
    /// Registers `lead`'s company core under its blocking key for fuzzy matching (writing
    /// it again is harmless).
    fn register_company(
        &self,
        block: &str,
        core: &str,
        lead: &LeadId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Takes `lead`'s core out of its block, if the entry still names `lead`.
    fn unregister_company(
        &self,
        block: &str,
        core: &str,
        lead: &LeadId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Claims one key on its own, with a single conditional write: `Ok(Saved::Conflict)`
    /// when another lead inside the window holds it.
    fn claim_key(
        &self,
        claim: &KeyClaim,
        window_start: DateTime<Utc>,
    ) -> impl Future<Output = Result<Saved, StoreError>> + Send;
    /// Deletes each key item still held by the lead named with it; how many it deleted.
    fn release_keys(&self, keys: &[(MatchKey, LeadId)]) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// `Ok(Saved::Conflict)` when a condition failed: nothing was written. Leaves
    /// `commit.records` to [`DedupStore::record`] (`qualify::pipeline::commit_decision`
    /// does both).
    fn commit(&self, commit: &DedupCommit) -> impl Future<Output = Result<Saved, StoreError>> + Send;
    /// Writes each of `records` that is not stored yet, one by one; one already stored is
    /// left as it is (so writing them again adds nothing to the funnel).
    fn record(&self, records: &DecisionRecords) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// [`DedupStore::record`] for a redelivery, whose records may be older than the
    /// present layout: a step record stored where an earlier release kept it counts as
    /// stored too.
    fn record_again(&self, records: &DecisionRecords) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn repeats_of(&self, source: &LeadId) -> impl Future<Output = Result<Vec<LeadId>, StoreError>> + Send;
}

/// What dedup-score made of an imported lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineOutcome {
    New,
    Repeat,
    Junk,
}

impl PipelineOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineOutcome::New => "new",
            PipelineOutcome::Repeat => "repeat",
            PipelineOutcome::Junk => "junk",
        }
    }
}
