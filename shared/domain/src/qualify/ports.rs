//! What qualification needs stored: the rules, the dedup keys and customers, and the
//! commit that records one decision (the lead, the keys a repeat hands to its source,
//! its links and tallies). A new lead claims its keys one by one before that commit
//! ([`DedupStore::claim_key`]); why, in `pipeline.rs`.

use crate::lead::funnel::{self, FunnelStep};
use crate::lead::ports::Saved;
use crate::lead::ports::StoreError;
use crate::lead::{Lead, LeadId};
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

/// All the writes of one dedup decision, applied all-or-nothing: the claims succeed as
/// [`KeyClaim`] says, and a lead write succeeds when its stored version is
/// `expected_version`.
#[derive(Debug, Clone, Default)]
pub struct DedupCommit {
    /// (lead as stored, expected version): each remembering its funnel steps as counted.
    pub leads: Vec<(Lead, u64)>,
    /// The funnel steps the lead writes add, written with them.
    pub funnel: Vec<FunnelStep>,
    pub claims: Vec<KeyClaim>,
    pub window_start: Option<DateTime<Utc>>,
    /// (source, repeat): lists the repeat under its source.
    pub repeat_link: Option<(LeadId, LeadId)>,
    /// An imported lead's outcome, added to its import's tally with the decision.
    pub import_tally: Option<ImportTally>,
}

impl DedupCommit {
    /// Writes `leads` (each expecting its version) and the funnel steps they add, and
    /// nothing else yet: the decision's other writes are set on the result.
    pub fn of(leads: Vec<(Lead, u64)>) -> Self {
        let mut commit = Self::default();
        for (lead, expected_version) in leads {
            let (lead, steps) = funnel::count(lead);
            commit.leads.push((lead, expected_version));
            commit.funnel.extend(steps);
        }
        commit
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
    /// `Ok(Saved::Conflict)` when a condition failed: nothing was written.
    fn commit(&self, commit: &DedupCommit) -> impl Future<Output = Result<Saved, StoreError>> + Send;
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
