//! In-memory adapters for fast unit tests of domain logic. Integration tests use the
//! real DynamoDB/SQS adapters against an emulator; these are never the only proof.

use crate::assign::notify::Webhook;
use crate::attribution::conversion::Conversion;
use crate::capture::hooks::HookSource;
use crate::import::mapping::Mapping;
use crate::import::{ChunkResult, ImportJob, Tally};
use crate::lead::funnel::FunnelStep;
use crate::lead::messages::Envelope;
use crate::lead::ports::NewLead;
use crate::lead::ports::{Page, PageRequest};
use crate::lead::{Lead, LeadId, Stage, Touchpoint};
use crate::predict::modeling::InService;
use crate::predict::Model;
use crate::qualify::rules::Rules;
use crate::{
    assign::ports::FollowUp, assign::ports::LeadChange, assign::ports::Notifier, assign::ports::NotifyError,
    assign::ports::OwnerChange, assign::ports::PoolTake, assign::ports::RepCounters, assign::ports::RoutingStore,
    follow_up::ports::PoolNumbers, follow_up::ports::SlaStore, follow_up::ports::Violation, lead::ports::BusError,
    lead::ports::CreateOutcome, lead::ports::LeadStore, lead::ports::MessageBus, lead::ports::Saved,
    lead::ports::StoreError, lead::ports::TouchStore, qualify::customer::Customer, qualify::ports::DecisionRecords,
    qualify::ports::DedupCommit, qualify::ports::DedupStore, qualify::ports::KeyClaim, qualify::ports::RulesStore,
};
use crate::{
    assign::routing::DailyCount, assign::routing::Pool, assign::routing::PoolState, assign::routing::Rep,
    assign::routing::RoutingConfig,
};
use crate::{attribution::campaign::Campaign, attribution::campaign::CostDay};
use crate::{
    attribution::credit::AttributionConfig, attribution::credit::ChunkOutcome, attribution::credit::ConversionState,
};
use crate::{attribution::ports::ConversionStore, attribution::ports::ReportStore, attribution::ports::RowsRead};
use crate::{attribution::rollup::RollupRow, lead::funnel::report_day, lead::funnel::SourceKey};
use crate::{capture::ports::HookStore, import::ports::ImportStore, predict::ports::ModelStore};
use crate::{lead::ports::ConfigHistory, lead::versioned::ConfigId, lead::versioned::ConfigKind};
use crate::{lead::versioned::ConfigVersion, lead::versioned::Versioned};
use crate::{
    qualify::dedup::blocking_key, qualify::dedup::CustomerMatch, qualify::dedup::Holder, qualify::dedup::KeyKind,
    qualify::dedup::MatchKey,
};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// A page of a map keyed as the DynamoDB adapter keys the same items (by id or name).
fn keyed_page<T: Clone>(map: &BTreeMap<String, T>, page: PageRequest<'_>) -> Page<T> {
    Page::of_sorted(map.iter().map(|(k, v)| (k.clone(), v.clone())), page, true)
}

/// Times in keys, as the DynamoDB adapter writes them (RFC 3339 in milliseconds).
fn millis(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    leads: BTreeMap<LeadId, Lead>,
    touchpoints: BTreeMap<LeadId, Vec<Touchpoint>>,
    submissions: HashMap<String, LeadId>,
    redrives: HashMap<LeadId, u32>,
    keys: HashMap<MatchKey, (LeadId, DateTime<Utc>)>,
    customers: Vec<Customer>,
    blocks: BTreeMap<String, BTreeMap<String, LeadId>>,
    repeats: BTreeMap<LeadId, BTreeSet<LeadId>>,
    anonymous: BTreeMap<String, Vec<Touchpoint>>,
    rules: Option<Rules>,
    routing: Option<RoutingConfig>,
    pools: BTreeMap<String, Pool>,
    pool_counters: BTreeMap<String, PoolCounters>,
    reps: BTreeMap<String, (Rep, RepCounters)>,
    owner_changes: BTreeMap<LeadId, Vec<OwnerChange>>,
    follow_ups: BTreeMap<LeadId, Vec<FollowUp>>,
    notices: BTreeSet<String>,
    sla: Option<crate::follow_up::sla::SlaConfig>,
    violations: BTreeMap<String, Violation>,
    pool_numbers: BTreeMap<(String, NaiveDate), PoolNumbers>,
    attribution: Option<AttributionConfig>,
    conversions: BTreeMap<String, ConversionState>,
    revisions: BTreeMap<(String, u64), Conversion>,
    plans: BTreeMap<(String, u64), Vec<RollupRow>>,
    chunks_done: BTreeSet<(String, u64, usize)>,
    rollups: BTreeMap<(String, NaiveDate, SourceKey), BTreeMap<String, i64>>,
    funnel_steps: Vec<FunnelStep>,
    campaigns: BTreeMap<String, Campaign>,
    costs: BTreeMap<(NaiveDate, String), CostDay>,
    imports: BTreeMap<String, ImportJob>,
    chunk_results: BTreeMap<(String, u64), ChunkResult>,
    tallies: BTreeMap<String, Tally>,
    mappings: BTreeMap<String, Mapping>,
    hook_sources: BTreeMap<String, HookSource>,
    models: BTreeMap<u32, Model>,
    in_service: Option<InService>,
    push_claims: BTreeSet<(String, String)>,
    erasures: BTreeMap<String, crate::privacy::erasure::ErasureRecord>,
    erasure_key: Option<Vec<u8>>,
    /// Every kept version of each configuration document.
    config_versions: BTreeMap<ConfigId, BTreeMap<u64, ConfigVersion>>,
    jobs: BTreeMap<String, crate::roster::job::Job>,
    job_outcomes: BTreeMap<(String, LeadId), String>,
    handoffs: BTreeMap<LeadId, crate::handoff::convert::Handoff>,
    webhooks: Option<crate::handoff::outbound::OutboundWebhooks>,
}

impl State {
    /// The stored version of a configuration document (0: none saved).
    fn config_version_in_use(&self, config: &ConfigId) -> u64 {
        let name = config.name.as_deref().unwrap_or_default();
        match config.kind {
            ConfigKind::Rules => self.rules.as_ref().map_or(0, |r| r.version.into()),
            ConfigKind::Routing => self.routing.as_ref().map_or(0, |r| r.version),
            ConfigKind::Sla => self.sla.as_ref().map_or(0, |c| c.version),
            ConfigKind::Attribution => self.attribution.as_ref().map_or(0, |c| c.version),
            ConfigKind::Hooks => self.hook_sources.get(name).map_or(0, |h| h.version),
            ConfigKind::ImportMappings => self.mappings.get(name).map_or(0, |m| m.version),
            ConfigKind::Models => self.in_service.as_ref().map_or(0, |s| s.revision),
            ConfigKind::Webhooks => self.webhooks.as_ref().map_or(0, |w| w.version),
        }
    }

    /// Puts `current` in use as the document `config` names.
    fn use_config(&mut self, config: &ConfigId, current: &serde_json::Value) -> Result<(), StoreError> {
        fn read<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, StoreError> {
            serde_json::from_value(value.clone()).map_err(|e| StoreError::Corrupt(e.to_string()))
        }
        let name = config.name.clone().unwrap_or_default();
        match config.kind {
            ConfigKind::Rules => self.rules = Some(read(current)?),
            ConfigKind::Routing => self.routing = Some(read(current)?),
            ConfigKind::Sla => self.sla = Some(read(current)?),
            ConfigKind::Attribution => self.attribution = Some(read(current)?),
            ConfigKind::Hooks => {
                self.hook_sources.insert(name, read(current)?);
            }
            ConfigKind::ImportMappings => {
                self.mappings.insert(name, read(current)?);
            }
            ConfigKind::Models => self.in_service = Some(read(current)?),
            ConfigKind::Webhooks => self.webhooks = Some(read(current)?),
        }
        Ok(())
    }

    fn save_config_version(
        &mut self,
        config: &ConfigId,
        current: &serde_json::Value,
        version: &ConfigVersion,
    ) -> Result<Saved, StoreError> {
        if self.config_version_in_use(config) + 1 != version.version {
            return Ok(Saved::Conflict);
        }
        self.use_config(config, current)?;
        self.config_versions
            .entry(config.clone())
            .or_default()
            .insert(version.version, version.clone());
        Ok(Saved::Saved)
    }
}

impl InMemoryStore {
    /// A typed save without an author (seeds, tests), kept in the history as well.
    fn save_unattributed<T: Versioned + serde::Serialize>(
        &self,
        kind: ConfigKind,
        document: &T,
    ) -> Result<Saved, StoreError> {
        let current = serde_json::to_value(document).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let version = ConfigVersion::unattributed(document.version(), document.kept());
        self.state
            .lock()
            .unwrap()
            .save_config_version(&ConfigId::of(kind), &current, &version)
    }
}

impl ConfigHistory for InMemoryStore {
    async fn save_config_version(
        &self,
        config: &ConfigId,
        current: &serde_json::Value,
        version: &ConfigVersion,
    ) -> Result<Saved, StoreError> {
        self.state.lock().unwrap().save_config_version(config, current, version)
    }

    async fn config_versions(
        &self,
        config: &ConfigId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ConfigVersion>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .config_versions
            .get(config)
            .map(|kept| {
                kept.range(..before.unwrap_or(u64::MAX))
                    .rev()
                    .take(limit)
                    .map(|(_, v)| v.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn config_version(&self, config: &ConfigId, version: u64) -> Result<Option<ConfigVersion>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .config_versions
            .get(config)
            .and_then(|kept| kept.get(&version))
            .cloned())
    }
}

impl State {
    /// Whether a job mark may be written: the job exists and has no outcome for the lead.
    fn job_mark_free(&self, mark: &crate::assign::ports::JobMark) -> bool {
        self.jobs.contains_key(&mark.job_id)
            && !self
                .job_outcomes
                .contains_key(&(mark.job_id.clone(), mark.lead_id.clone()))
    }

    fn write_job_mark(&mut self, mark: &crate::assign::ports::JobMark) {
        self.job_outcomes
            .insert((mark.job_id.clone(), mark.lead_id.clone()), mark.outcome.clone());
        if let Some(job) = self.jobs.get_mut(&mark.job_id) {
            *job.counters.entry(mark.outcome.clone()).or_default() += 1;
        }
    }
}

impl crate::roster::ports::JobStore for InMemoryStore {
    async fn create_job(
        &self,
        spec: &crate::roster::job::JobSpec,
        progress: &crate::roster::job::Progress,
    ) -> Result<(), StoreError> {
        let job = crate::roster::job::Job {
            spec: spec.clone(),
            progress: progress.clone(),
            counters: BTreeMap::new(),
        };
        self.state.lock().unwrap().jobs.entry(spec.id.clone()).or_insert(job);
        Ok(())
    }

    async fn job(&self, id: &str) -> Result<Option<crate::roster::job::Job>, StoreError> {
        Ok(self.state.lock().unwrap().jobs.get(id).cloned())
    }

    async fn save_progress(
        &self,
        id: &str,
        expected: &crate::roster::job::Progress,
        next: &crate::roster::job::Progress,
    ) -> Result<Saved, StoreError> {
        let mut state = self.state.lock().unwrap();
        match state.jobs.get_mut(id) {
            Some(job) if job.progress.chunk == expected.chunk && job.progress.status == expected.status => {
                job.progress = next.clone();
                Ok(Saved::Saved)
            }
            _ => Ok(Saved::Conflict),
        }
    }

    async fn record_outcome(&self, mark: &crate::assign::ports::JobMark) -> Result<bool, StoreError> {
        let mut state = self.state.lock().unwrap();
        if !state.job_mark_free(mark) {
            return Ok(false);
        }
        state.write_job_mark(mark);
        Ok(true)
    }

    async fn has_outcome(&self, job_id: &str, lead: &LeadId) -> Result<bool, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .job_outcomes
            .contains_key(&(job_id.to_string(), lead.clone())))
    }
}

impl State {
    /// Every lead write: the lead as the domain decided it, and the funnel steps its
    /// commit says the write adds (the DynamoDB adapter writes them in the lead's
    /// transaction).
    fn write_lead(&mut self, lead: &Lead, steps: &[FunnelStep]) {
        self.leads.insert(lead.id.clone(), lead.clone());
        self.count_steps(steps);
    }

    /// The claim's condition ([`KeyClaim`]): the key is free, the claimant's or the
    /// lead it takes over from, or held from before the window.
    fn may_claim(&self, claim: &KeyClaim, window_start: Option<DateTime<Utc>>) -> bool {
        self.keys.get(&claim.key).is_none_or(|(holder, since)| {
            *holder == claim.lead_id
                || claim.taking_over.as_ref() == Some(holder)
                || window_start.is_some_and(|w| *since < w)
        })
    }

    fn count_steps(&mut self, steps: &[FunnelStep]) {
        for step in steps {
            self.add_row(&step.row());
        }
        self.funnel_steps.extend(steps.iter().cloned());
    }

    fn add_row(&mut self, row: &RollupRow) {
        let fields = self
            .rollups
            .entry((row.series.clone(), row.day, row.source.clone()))
            .or_default();
        for (name, value) in &row.fields {
            *fields.entry(name.clone()).or_default() += value;
        }
    }
}

#[derive(Default, Clone)]
struct PoolCounters {
    served: BTreeMap<String, u64>,
    last_rep: Option<String>,
    assigned: DailyCount,
    claimed: DailyCount,
}

fn bump(count: &mut DailyCount, day: NaiveDate) {
    count.count = count.on(day) + 1;
    count.day = Some(day);
}

impl InMemoryStore {
    pub fn lead_count(&self) -> usize {
        self.state.lock().unwrap().leads.len()
    }
    pub fn leads(&self) -> Vec<Lead> {
        self.state.lock().unwrap().leads.values().cloned().collect()
    }
    /// Puts a lead as it is (history for tests), bypassing every rule.
    pub fn insert_lead(&self, lead: Lead) {
        self.state.lock().unwrap().leads.insert(lead.id.clone(), lead);
    }
    /// What an attempt killed after its first write leaves: a submission record naming a
    /// lead that was never written.
    pub fn leave_unfinished_submission(&self, submission_id: &str, lead: &LeadId) {
        let mut state = self.state.lock().unwrap();
        state.submissions.insert(submission_id.to_string(), lead.clone());
    }
}

impl LeadStore for InMemoryStore {
    async fn create_lead(&self, new: &NewLead) -> Result<CreateOutcome, StoreError> {
        let (lead, first_touch) = (&new.lead, new.first_touch.as_ref());
        let mut state = self.state.lock().unwrap();
        if let Some(sid) = &lead.submission_id {
            match state.submissions.get(sid) {
                Some(existing) if *existing != lead.id => {
                    let existing = existing.clone();
                    return Ok(if state.leads.contains_key(&existing) {
                        CreateOutcome::DuplicateSubmission(existing)
                    } else {
                        CreateOutcome::Unfinished(existing)
                    });
                }
                _ => {
                    state.submissions.insert(sid.clone(), lead.id.clone());
                }
            }
        }
        if state.leads.contains_key(&lead.id) {
            return Ok(CreateOutcome::DuplicateSubmission(lead.id.clone()));
        }
        state.write_lead(lead, &new.funnel);
        if let Some(touch) = first_touch {
            state
                .touchpoints
                .entry(lead.id.clone())
                .or_default()
                .push(touch.clone());
        }
        Ok(CreateOutcome::Created)
    }

    async fn lead_for_submission(&self, submission_id: &str) -> Result<Option<LeadId>, StoreError> {
        Ok(self.state.lock().unwrap().submissions.get(submission_id).cloned())
    }

    async fn get_lead(&self, id: &LeadId) -> Result<Option<Lead>, StoreError> {
        Ok(self.state.lock().unwrap().leads.get(id).cloned())
    }

    async fn touchpoints(&self, id: &LeadId) -> Result<Vec<Touchpoint>, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .touchpoints
            .get(id)
            .cloned()
            .unwrap_or_default())
    }

    async fn stuck_in_received(
        &self,
        cutoff: DateTime<Utc>,
        max_redrives: u32,
        limit: usize,
    ) -> Result<Vec<LeadId>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .leads
            .values()
            .filter(|l| l.stage == Stage::Received && l.updated_at < cutoff)
            .filter(|l| state.redrives.get(&l.id).copied().unwrap_or(0) < max_redrives)
            .take(limit)
            .map(|l| l.id.clone())
            .collect())
    }

    async fn record_redrive(&self, id: &LeadId) -> Result<(), StoreError> {
        *self.state.lock().unwrap().redrives.entry(id.clone()).or_default() += 1;
        Ok(())
    }
}

impl crate::workspace::ports::LeadIndex for InMemoryStore {
    async fn list_entries(
        &self,
        partition: &crate::workspace::index::Partition,
        order: crate::workspace::index::Order,
        ascending: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<crate::workspace::ports::Entry>, StoreError> {
        use crate::workspace::index::{listed_in, position};
        let state = self.state.lock().unwrap();
        let mut entries: Vec<crate::workspace::ports::Entry> = state
            .leads
            .values()
            .filter(|lead| partition.keeps(order) && listed_in(lead, partition))
            .filter_map(|lead| {
                position(lead, order).map(|position| crate::workspace::ports::Entry {
                    position,
                    lead: lead.id.clone(),
                })
            })
            .filter(|e| {
                after.is_none_or(|a| {
                    if ascending {
                        e.position.as_str() > a
                    } else {
                        e.position.as_str() < a
                    }
                })
            })
            .collect();
        entries.sort_by(|a, b| a.position.cmp(&b.position));
        if !ascending {
            entries.reverse();
        }
        entries.truncate(limit);
        Ok(entries)
    }

    async fn leads_by_id(&self, ids: &[LeadId]) -> Result<Vec<Lead>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(ids.iter().filter_map(|id| state.leads.get(id).cloned()).collect())
    }
}

impl ImportStore for InMemoryStore {
    async fn create_import(&self, job: &ImportJob) -> Result<(), StoreError> {
        self.state.lock().unwrap().imports.insert(job.id.clone(), job.clone());
        Ok(())
    }
    async fn import_job(&self, id: &str) -> Result<Option<ImportJob>, StoreError> {
        Ok(self.state.lock().unwrap().imports.get(id).cloned())
    }
    async fn imports(&self, page: PageRequest<'_>) -> Result<Page<ImportJob>, StoreError> {
        let state = self.state.lock().unwrap();
        let newest_first = state.imports.iter().rev().map(|(id, job)| (id.clone(), job.clone()));
        Ok(Page::of_sorted(newest_first, page, false))
    }
    async fn put_chunk_result(&self, import_id: &str, result: &ChunkResult) -> Result<bool, StoreError> {
        let mut state = self.state.lock().unwrap();
        let key = (import_id.to_string(), result.chunk);
        if state.chunk_results.contains_key(&key) {
            return Ok(false);
        }
        state.chunk_results.insert(key, result.clone());
        Ok(true)
    }
    async fn import_results(&self, import_id: &str) -> Result<(Vec<ChunkResult>, Tally), StoreError> {
        let state = self.state.lock().unwrap();
        let chunks = state
            .chunk_results
            .iter()
            .filter(|((id, _), _)| id == import_id)
            .map(|(_, r)| r.clone())
            .collect();
        Ok((chunks, state.tallies.get(import_id).copied().unwrap_or_default()))
    }
    async fn mapping(&self, name: &str) -> Result<Option<Mapping>, StoreError> {
        Ok(self.state.lock().unwrap().mappings.get(name).cloned())
    }
    async fn mappings(&self, page: PageRequest<'_>) -> Result<Page<Mapping>, StoreError> {
        Ok(keyed_page(&self.state.lock().unwrap().mappings, page))
    }
}

impl ModelStore for InMemoryStore {
    async fn save_model(&self, model: &Model) -> Result<(), StoreError> {
        self.state.lock().unwrap().models.insert(model.version, model.clone());
        Ok(())
    }
    async fn model(&self, version: u32) -> Result<Option<Model>, StoreError> {
        Ok(self.state.lock().unwrap().models.get(&version).cloned())
    }
    async fn models(&self, page: PageRequest<'_>) -> Result<Page<Model>, StoreError> {
        let state = self.state.lock().unwrap();
        // Keyed as the DynamoDB adapter stores them.
        let keyed = state.models.iter().map(|(v, m)| (format!("V#{v:06}"), m.clone()));
        Ok(Page::of_sorted(keyed, page, true))
    }
    async fn latest_model(&self) -> Result<Option<Model>, StoreError> {
        Ok(self.state.lock().unwrap().models.values().next_back().cloned())
    }
    async fn in_service(&self) -> Result<Option<InService>, StoreError> {
        Ok(self.state.lock().unwrap().in_service.clone())
    }
    async fn cohort(&self, month: NaiveDate) -> Result<Vec<Lead>, StoreError> {
        let state = self.state.lock().unwrap();
        let same_month = |lead: &Lead| {
            let created = lead.created_at.date_naive();
            created.year() == month.year() && created.month() == month.month()
        };
        Ok(state
            .leads
            .values()
            .filter(|lead| same_month(lead) && crate::predict::modeling::in_cohort(lead))
            .cloned()
            .collect())
    }
}

impl HookStore for InMemoryStore {
    async fn hook_source(&self, name: &str) -> Result<Option<HookSource>, StoreError> {
        Ok(self.state.lock().unwrap().hook_sources.get(name).cloned())
    }
    async fn hook_sources(&self, page: PageRequest<'_>) -> Result<Page<HookSource>, StoreError> {
        Ok(keyed_page(&self.state.lock().unwrap().hook_sources, page))
    }
    async fn claim_push(&self, source: &str, signature: &str, _expires_at: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut state = self.state.lock().unwrap();
        Ok(state.push_claims.insert((source.to_string(), signature.to_string())))
    }
    async fn release_push(&self, source: &str, signature: &str) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        state.push_claims.remove(&(source.to_string(), signature.to_string()));
        Ok(())
    }
}

impl RulesStore for InMemoryStore {
    async fn rules(&self) -> Result<Rules, StoreError> {
        Ok(self.state.lock().unwrap().rules.clone().unwrap_or_default())
    }

    async fn save_rules(&self, rules: &Rules) -> Result<Saved, StoreError> {
        self.save_unattributed(ConfigKind::Rules, rules)
    }
}

impl DedupStore for InMemoryStore {
    async fn key_holders(&self, keys: &[MatchKey]) -> Result<Vec<Holder>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(keys
            .iter()
            .filter_map(|k| {
                state.keys.get(k).map(|(lead_id, since)| Holder {
                    key: k.clone(),
                    lead_id: lead_id.clone(),
                    since: *since,
                })
            })
            .collect())
    }

    async fn customer_match(
        &self,
        phone: Option<&str>,
        company_core: Option<&str>,
    ) -> Result<Option<CustomerMatch>, StoreError> {
        let state = self.state.lock().unwrap();
        let by_company = company_core.and_then(|core| state.customers.iter().find(|c| c.company_core == core));
        let found = by_company.map(|c| (c, KeyKind::Company)).or_else(|| {
            phone.and_then(|p| {
                state
                    .customers
                    .iter()
                    .find(|c| c.contact_phones.iter().any(|cp| cp == p))
                    .map(|c| (c, KeyKind::Phone))
            })
        });
        Ok(found.map(|(c, via)| CustomerMatch {
            customer_id: c.id.clone(),
            owner: c.owner.clone(),
            via,
        }))
    }

    async fn put_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        state.customers.retain(|c| c.id != customer.id);
        state.customers.push(customer.clone());
        Ok(())
    }

    async fn customer_block(&self, block: &str) -> Result<Vec<String>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .customers
            .iter()
            .map(|c| c.company_core.clone())
            .filter(|core| blocking_key(core) == block)
            .collect())
    }

    async fn company_block(&self, block: &str) -> Result<Vec<(String, LeadId)>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .blocks
            .get(block)
            .map(|m| m.iter().map(|(c, l)| (c.clone(), l.clone())).collect())
            .unwrap_or_default())
    }

    async fn commit(&self, commit: &DedupCommit) -> Result<Saved, StoreError> {
        let mut state = self.state.lock().unwrap();
        // Check every condition first: all or nothing, like a DynamoDB transaction.
        for (lead, expected) in &commit.leads {
            if state.leads.get(&lead.id).map(|l| l.version) != Some(*expected) {
                return Ok(Saved::Conflict);
            }
        }
        if !commit
            .claims
            .iter()
            .all(|claim| state.may_claim(claim, commit.window_start))
        {
            return Ok(Saved::Conflict);
        }
        for (lead, _) in &commit.leads {
            state.leads.insert(lead.id.clone(), lead.clone());
        }
        for claim in &commit.claims {
            state
                .keys
                .insert(claim.key.clone(), (claim.lead_id.clone(), claim.since));
        }
        if let Some(t) = &commit.import_tally {
            state.tallies.entry(t.import_id.clone()).or_default().add(t.outcome, 1);
        }
        Ok(Saved::Saved)
    }

    async fn record(&self, records: &DecisionRecords) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        for step in &records.funnel {
            // Keyed as the table keys them: by day, lead and step.
            let stored = |s: &FunnelStep| s.day == step.day && s.lead_id == step.lead_id && s.step == step.step;
            if !state.funnel_steps.iter().any(stored) {
                state.count_steps(std::slice::from_ref(step));
            }
        }
        if let Some((source, repeat)) = &records.repeat_link {
            state.repeats.entry(source.clone()).or_default().insert(repeat.clone());
        }
        Ok(())
    }

    async fn record_again(&self, records: &DecisionRecords) -> Result<(), StoreError> {
        // One layout only here.
        self.record(records).await
    }

    async fn register_company(&self, block: &str, core: &str, lead: &LeadId) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        state
            .blocks
            .entry(block.to_string())
            .or_default()
            .entry(core.to_string())
            .or_insert_with(|| lead.clone());
        Ok(())
    }

    async fn unregister_company(&self, block: &str, core: &str, lead: &LeadId) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        if let Some(cores) = state.blocks.get_mut(block) {
            if cores.get(core) == Some(lead) {
                cores.remove(core);
            }
        }
        Ok(())
    }

    async fn claim_key(&self, claim: &KeyClaim, window_start: DateTime<Utc>) -> Result<Saved, StoreError> {
        let mut state = self.state.lock().unwrap();
        if !state.may_claim(claim, Some(window_start)) {
            return Ok(Saved::Conflict);
        }
        state
            .keys
            .insert(claim.key.clone(), (claim.lead_id.clone(), claim.since));
        Ok(Saved::Saved)
    }

    async fn release_keys(&self, keys: &[(MatchKey, LeadId)]) -> Result<usize, StoreError> {
        let mut state = self.state.lock().unwrap();
        let mut released = 0;
        for (key, lead) in keys {
            if state.keys.get(key).is_some_and(|(holder, _)| holder == lead) {
                state.keys.remove(key);
                released += 1;
            }
        }
        Ok(released)
    }

    async fn repeats_of(&self, source: &LeadId) -> Result<Vec<LeadId>, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .repeats
            .get(source)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default())
    }
}

impl TouchStore for InMemoryStore {
    async fn put_touch(&self, touch: &Touchpoint) -> Result<bool, StoreError> {
        let mut state = self.state.lock().unwrap();
        let list = match (&touch.lead_id, &touch.anon_key) {
            (Some(lead), _) => state.touchpoints.entry(lead.clone()).or_default(),
            (None, Some(key)) => state.anonymous.entry(key.clone()).or_default(),
            (None, None) => return Err(StoreError::Corrupt("touch has neither lead nor anonymous key".into())),
        };
        if list.iter().any(|t| t.id == touch.id) {
            return Ok(false);
        }
        list.push(touch.clone());
        Ok(true)
    }

    async fn anonymous_touches(&self, anon_key: &str) -> Result<Vec<Touchpoint>, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .anonymous
            .get(anon_key)
            .cloned()
            .unwrap_or_default())
    }

    async fn adopt_touches(&self, lead: &LeadId, touches: &[Touchpoint]) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        for touch in touches {
            if let Some(key) = &touch.anon_key {
                if let Some(list) = state.anonymous.get_mut(key) {
                    list.retain(|t| t.id != touch.id);
                }
            }
            let mut adopted = touch.clone();
            adopted.lead_id = Some(lead.clone());
            let list = state.touchpoints.entry(lead.clone()).or_default();
            if !list.iter().any(|t| t.id == adopted.id) {
                list.push(adopted);
            }
        }
        Ok(())
    }
}

impl crate::privacy::ports::ErasureStore for InMemoryStore {
    async fn erasure_key(&self) -> Result<Vec<u8>, StoreError> {
        let mut state = self.state.lock().unwrap();
        Ok(state
            .erasure_key
            .get_or_insert_with(crate::privacy::erasure::new_key)
            .clone())
    }

    async fn erasure(&self, id: &str) -> Result<Option<crate::privacy::erasure::ErasureRecord>, StoreError> {
        Ok(self.state.lock().unwrap().erasures.get(id).cloned())
    }

    async fn claim_erasure(
        &self,
        record: &crate::privacy::erasure::ErasureRecord,
    ) -> Result<Option<crate::privacy::erasure::ErasureRecord>, StoreError> {
        let mut state = self.state.lock().unwrap();
        if let Some(stored) = state.erasures.get(&record.id) {
            return Ok(Some(stored.clone()));
        }
        state.erasures.insert(record.id.clone(), record.clone());
        Ok(None)
    }

    async fn complete_erasure(&self, record: &crate::privacy::erasure::ErasureRecord) -> Result<Saved, StoreError> {
        let mut state = self.state.lock().unwrap();
        match state.erasures.get(&record.id) {
            Some(stored) if stored.status == crate::privacy::erasure::ErasureStatus::Running => {
                state.erasures.insert(record.id.clone(), record.clone());
                Ok(Saved::Saved)
            }
            _ => Ok(Saved::Conflict),
        }
    }

    async fn scan_leads(&self, scan: &crate::privacy::ports::LeadScan) -> Result<Vec<Lead>, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .leads
            .values()
            .filter(|l| scan.wants(l))
            .cloned()
            .collect())
    }

    async fn erase_lead(&self, erasure: &crate::privacy::ports::LeadErasure) -> Result<Saved, StoreError> {
        let mut state = self.state.lock().unwrap();
        let id = &erasure.lead.id;
        for touch in &erasure.touches {
            if let Some(stored) = state
                .touchpoints
                .get_mut(id)
                .and_then(|list| list.iter_mut().find(|t| t.id == touch.id))
            {
                *stored = touch.clone();
            }
        }
        for change in state.owner_changes.get_mut(id).into_iter().flatten() {
            if erasure.owner_change_ids.contains(&change.id) {
                change.note = None;
            }
        }
        for follow_up in state.follow_ups.get_mut(id).into_iter().flatten() {
            if erasure.follow_up_ids.contains(&follow_up.id) {
                follow_up.note = None;
                follow_up.bant = Default::default();
            }
        }
        if let Some((customer, _)) = &erasure.customer {
            if let Some(stored) = state.customers.iter_mut().find(|c| c.id == customer.id) {
                *stored = customer.clone();
            }
        }
        if let Some(scrubbed) = &erasure.handoff {
            if let Some(stored) = state.handoffs.get_mut(id) {
                let delivered_to = std::mem::take(&mut stored.delivered_to);
                *stored = crate::handoff::convert::Handoff {
                    delivered_to,
                    ..scrubbed.clone()
                };
            }
        }
        if state.leads.get(id).map(|l| l.version) != Some(erasure.expected_version) {
            return Ok(Saved::Conflict);
        }
        if let Some(sid) = &erasure.submission_id {
            if state.submissions.get(sid) == Some(id) {
                state.submissions.remove(sid);
            }
        }
        state.write_lead(&erasure.lead, &erasure.funnel);
        Ok(Saved::Saved)
    }
}

/// Records published envelopes; can be told to fail, to test the outbox path.
#[derive(Default)]
pub struct InMemoryBus {
    sent: Mutex<Vec<Envelope>>,
    failing: AtomicBool,
}

impl InMemoryBus {
    pub fn sent(&self) -> Vec<Envelope> {
        self.sent.lock().unwrap().clone()
    }
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl MessageBus for InMemoryBus {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(BusError::Unavailable("injected failure".into()));
        }
        self.sent.lock().unwrap().push(envelope.clone());
        Ok(())
    }
}

impl InMemoryStore {
    /// Test helper: a rep's counters as stored.
    pub fn rep_counters(&self, id: &str) -> Option<RepCounters> {
        self.state.lock().unwrap().reps.get(id).map(|(_, c)| *c)
    }
}

impl RoutingStore for InMemoryStore {
    async fn routing(&self) -> Result<RoutingConfig, StoreError> {
        Ok(self.state.lock().unwrap().routing.clone().unwrap_or_default())
    }

    async fn save_routing(&self, config: &RoutingConfig) -> Result<Saved, StoreError> {
        self.save_unattributed(ConfigKind::Routing, config)
    }

    async fn pool(&self, id: &str) -> Result<Option<Pool>, StoreError> {
        Ok(self.state.lock().unwrap().pools.get(id).cloned())
    }

    async fn pools(&self) -> Result<Vec<Pool>, StoreError> {
        Ok(self.state.lock().unwrap().pools.values().cloned().collect())
    }

    async fn pools_page(&self, page: PageRequest<'_>) -> Result<Page<Pool>, StoreError> {
        Ok(keyed_page(&self.state.lock().unwrap().pools, page))
    }

    async fn put_pool(&self, pool: &Pool) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        if let Some(counters) = state.pool_counters.get_mut(&pool.id) {
            counters.served.retain(|m, _| pool.members.contains(m));
        }
        state.pools.insert(pool.id.clone(), pool.clone());
        Ok(())
    }

    async fn delete_pool(&self, id: &str) -> Result<bool, StoreError> {
        let mut state = self.state.lock().unwrap();
        state.pool_counters.remove(id);
        Ok(state.pools.remove(id).is_some())
    }

    async fn pool_state(&self, id: &str, day: NaiveDate) -> Result<PoolState, StoreError> {
        let state = self.state.lock().unwrap();
        let counters = state.pool_counters.get(id).cloned().unwrap_or_default();
        Ok(PoolState {
            assigned: counters.served,
            last_rep: counters.last_rep,
            assigned_today: counters.assigned.on(day),
            claimed_today: counters.claimed.on(day),
        })
    }

    async fn rep(&self, id: &str) -> Result<Option<(Rep, RepCounters)>, StoreError> {
        Ok(self.state.lock().unwrap().reps.get(id).cloned())
    }

    async fn reps(&self, ids: &[String]) -> Result<Vec<(Rep, RepCounters)>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(ids.iter().filter_map(|id| state.reps.get(id).cloned()).collect())
    }

    async fn all_reps(&self) -> Result<Vec<(Rep, RepCounters)>, StoreError> {
        Ok(self.state.lock().unwrap().reps.values().cloned().collect())
    }

    async fn reps_page(&self, page: PageRequest<'_>) -> Result<Page<(Rep, RepCounters)>, StoreError> {
        Ok(keyed_page(&self.state.lock().unwrap().reps, page))
    }

    async fn put_rep(&self, rep: &Rep) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        let counters = state.reps.get(&rep.id).map(|(_, c)| *c).unwrap_or_default();
        state.reps.insert(rep.id.clone(), (rep.clone(), counters));
        Ok(())
    }

    async fn delete_rep(&self, id: &str) -> Result<Option<Saved>, StoreError> {
        let mut state = self.state.lock().unwrap();
        match state.reps.get(id) {
            None => Ok(None),
            Some((_, c)) if c.active_leads > 0 => Ok(Some(Saved::Conflict)),
            Some(_) => {
                state.reps.remove(id);
                Ok(Some(Saved::Saved))
            }
        }
    }

    async fn commit_change(&self, change: &LeadChange) -> Result<Saved, StoreError> {
        change.counted_stat()?;
        let mut state = self.state.lock().unwrap();
        let day = change.day;
        if state.leads.get(&change.lead.id).map(|l| l.version) != Some(change.expected_version) {
            return Ok(Saved::Conflict);
        }
        if let Some(charge) = &change.charge {
            let Some((_, counters)) = state.reps.get(&charge.rep) else {
                return Ok(Saved::Conflict);
            };
            let over_daily =
                charge.counts_today && charge.daily_cap.is_some_and(|cap| counters.received.on(day) >= cap);
            if counters.active_leads >= charge.holding_cap || over_daily {
                return Ok(Saved::Conflict);
            }
        }
        if let Some(v) = &change.violation {
            if state.violations.contains_key(&v.id) {
                return Ok(Saved::Conflict);
            }
        }
        if let (Some(rep), Some(floor)) = (&change.release, change.release_floor) {
            if state.reps.get(rep).is_none_or(|(_, c)| c.active_leads <= floor) {
                return Ok(Saved::Conflict);
            }
        }
        if let Some(mark) = &change.job {
            if !state.job_mark_free(mark) {
                return Ok(Saved::Conflict);
            }
        }
        if let Some(take) = &change.pool_take {
            let (pool, cap, claimed) = match take {
                PoolTake::Assigned { pool, daily_cap, .. } => (pool, daily_cap, false),
                PoolTake::Claimed { pool, daily_claim_cap } => (pool, daily_claim_cap, true),
            };
            let counters = state.pool_counters.get(pool).cloned().unwrap_or_default();
            let today = if claimed { counters.claimed } else { counters.assigned }.on(day);
            if cap.is_some_and(|cap| today >= cap) {
                return Ok(Saved::Conflict);
            }
        }
        if let Some(charge) = &change.charge {
            let counters = &mut state.reps.get_mut(&charge.rep).expect("checked above").1;
            counters.active_leads += 1;
            if charge.counts_today {
                bump(&mut counters.received, day);
            }
        }
        if let Some(rep) = &change.release {
            if let Some((_, counters)) = state.reps.get_mut(rep) {
                counters.active_leads = counters.active_leads.saturating_sub(1);
            }
        }
        match &change.pool_take {
            Some(PoolTake::Assigned {
                pool,
                rep,
                levelled_from,
                ..
            }) => {
                let counters = state.pool_counters.entry(pool.clone()).or_default();
                *counters.served.entry(rep.clone()).or_insert(*levelled_from) += 1;
                counters.last_rep = Some(rep.clone());
                bump(&mut counters.assigned, day);
            }
            Some(PoolTake::Claimed { pool, .. }) => {
                bump(&mut state.pool_counters.entry(pool.clone()).or_default().claimed, day);
            }
            None => {}
        }
        if let Some(record) = &change.owner_change {
            state
                .owner_changes
                .entry(change.lead.id.clone())
                .or_default()
                .push(record.clone());
        }
        if let Some(v) = &change.violation {
            state.violations.insert(v.id.clone(), v.clone());
        }
        if let Some(mark) = &change.job {
            state.write_job_mark(mark);
        }
        if let Some(stat) = &change.stat {
            let numbers = state.pool_numbers.entry((stat.pool.clone(), stat.day)).or_default();
            if stat.recycled {
                numbers.recycled += 1;
            } else {
                numbers.handed_out += 1;
            }
        }
        if let Some(record) = &change.follow_up {
            state
                .follow_ups
                .entry(change.lead.id.clone())
                .or_default()
                .push(record.clone());
        }
        state.write_lead(&change.lead, &change.funnel);
        Ok(Saved::Saved)
    }

    async fn waiting_in_pool(&self, pool: &str, page: PageRequest<'_>) -> Result<Page<LeadId>, StoreError> {
        let state = self.state.lock().unwrap();
        let mut waiting: Vec<(String, LeadId)> = state
            .leads
            .values()
            .filter(|l| l.waiting_in_pool() == Some(pool))
            .map(|l| {
                let since = l.waiting_since.unwrap_or(l.updated_at);
                (format!("{}#{}", millis(since), l.id), l.id.clone())
            })
            .collect();
        waiting.sort();
        Ok(Page::of_sorted(waiting, page, true))
    }

    async fn owner_changes(&self, lead: &LeadId) -> Result<Vec<OwnerChange>, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .owner_changes
            .get(lead)
            .cloned()
            .unwrap_or_default())
    }

    async fn follow_ups(&self, lead: &LeadId) -> Result<Vec<FollowUp>, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .follow_ups
            .get(lead)
            .cloned()
            .unwrap_or_default())
    }

    async fn reserve_notice(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.state.lock().unwrap().notices.insert(key.to_string()))
    }

    async fn release_notice(&self, key: &str) -> Result<(), StoreError> {
        self.state.lock().unwrap().notices.remove(key);
        Ok(())
    }
}

impl InMemoryStore {
    /// Test helper: every violation recorded.
    pub fn all_violations(&self) -> Vec<Violation> {
        self.state.lock().unwrap().violations.values().cloned().collect()
    }
}

impl SlaStore for InMemoryStore {
    async fn sla_config(&self) -> Result<crate::follow_up::sla::SlaConfig, StoreError> {
        Ok(self.state.lock().unwrap().sla.clone().unwrap_or_default())
    }

    async fn save_sla_config(&self, config: &crate::follow_up::sla::SlaConfig) -> Result<Saved, StoreError> {
        self.save_unattributed(ConfigKind::Sla, config)
    }

    async fn due_leads(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<crate::follow_up::ports::DueLeads, StoreError> {
        let state = self.state.lock().unwrap();
        // As the index would: only entries due by now are read, oldest first.
        let mut due: Vec<(DateTime<Utc>, LeadId)> = state
            .leads
            .values()
            .filter_map(|l| l.sla_next_check.filter(|at| *at <= now).map(|at| (at, l.id.clone())))
            .collect();
        due.sort();
        let more = due.len() > limit;
        due.truncate(limit);
        Ok(crate::follow_up::ports::DueLeads {
            entries_read: due.len() + usize::from(more),
            leads: due.into_iter().map(|(_, id)| id).collect(),
            more,
        })
    }

    async fn violations(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Violation>, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .violations
            .values()
            .filter(|v| v.due_at >= from && v.due_at < to)
            .cloned()
            .collect())
    }

    async fn violations_page(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        page: PageRequest<'_>,
    ) -> Result<Page<Violation>, StoreError> {
        let state = self.state.lock().unwrap();
        let mut due: Vec<(String, Violation)> = state
            .violations
            .values()
            .filter(|v| v.due_at >= from && v.due_at < to)
            .map(|v| (format!("{}#{}", millis(v.due_at), v.id), v.clone()))
            .collect();
        due.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Page::of_sorted(due, page, true))
    }

    async fn pool_numbers(&self, from: NaiveDate, to: NaiveDate) -> Result<BTreeMap<String, PoolNumbers>, StoreError> {
        let state = self.state.lock().unwrap();
        let mut out: BTreeMap<String, PoolNumbers> = BTreeMap::new();
        for ((pool, day), numbers) in &state.pool_numbers {
            if *day >= from && *day <= to {
                let total = out.entry(pool.clone()).or_default();
                total.handed_out += numbers.handed_out;
                total.recycled += numbers.recycled;
            }
        }
        Ok(out)
    }
}

impl InMemoryStore {
    /// The rows of one series on one day (tests check rollups against hand sums).
    pub fn rollup_rows(&self, series: &str) -> Vec<RollupRow> {
        let state = self.state.lock().unwrap();
        state
            .rollups
            .iter()
            .filter(|((s, _, _), _)| s == series)
            .map(|((series, day, source), fields)| RollupRow {
                series: series.clone(),
                day: *day,
                source: source.clone(),
                fields: fields.clone(),
            })
            .collect()
    }
}

impl ConversionStore for InMemoryStore {
    async fn attribution_config(&self) -> Result<AttributionConfig, StoreError> {
        Ok(self.state.lock().unwrap().attribution.clone().unwrap_or_default())
    }
    async fn save_attribution_config(&self, config: &AttributionConfig) -> Result<Saved, StoreError> {
        self.save_unattributed(ConfigKind::Attribution, config)
    }
    async fn conversion(&self, external_id: &str) -> Result<Option<ConversionState>, StoreError> {
        Ok(self.state.lock().unwrap().conversions.get(external_id).cloned())
    }
    async fn conversion_revision(&self, external_id: &str, revision: u64) -> Result<Option<Conversion>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state.revisions.get(&(external_id.to_string(), revision)).cloned())
    }
    async fn record_conversion(&self, conversion: &Conversion) -> Result<Saved, StoreError> {
        let mut state = self.state.lock().unwrap();
        let id = conversion.external_id.clone();
        let stored = state.conversions.get(&id).map_or(0, |c| c.current.revision);
        if stored + 1 != conversion.revision {
            return Ok(Saved::Conflict);
        }
        let applied = state.conversions.get(&id).map_or(0, |c| c.applied);
        state.conversions.insert(
            id.clone(),
            ConversionState {
                current: conversion.clone(),
                applied,
            },
        );
        state.revisions.insert((id, conversion.revision), conversion.clone());
        Ok(Saved::Saved)
    }
    async fn lead_conversions(&self, lead: &LeadId) -> Result<Vec<Conversion>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .conversions
            .values()
            .filter(|c| &c.current.lead_id == lead)
            .map(|c| c.current.clone())
            .collect())
    }
    async fn conversions_on(&self, day: NaiveDate) -> Result<Vec<ConversionState>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .conversions
            .values()
            .filter(|c| report_day(c.current.occurred_at) == day)
            .cloned()
            .collect())
    }
    async fn plan(&self, external_id: &str, revision: u64) -> Result<Option<Vec<RollupRow>>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state.plans.get(&(external_id.to_string(), revision)).cloned())
    }
    async fn save_plan(
        &self,
        external_id: &str,
        revision: u64,
        rows: &[RollupRow],
    ) -> Result<Vec<RollupRow>, StoreError> {
        let mut state = self.state.lock().unwrap();
        Ok(state
            .plans
            .entry((external_id.to_string(), revision))
            .or_insert_with(|| rows.to_vec())
            .clone())
    }
    async fn apply_chunk(
        &self,
        external_id: &str,
        revision: u64,
        chunk: usize,
        rows: &[RollupRow],
    ) -> Result<ChunkOutcome, StoreError> {
        let mut state = self.state.lock().unwrap();
        if state.chunks_done.contains(&(external_id.to_string(), revision, chunk)) {
            return Ok(ChunkOutcome::AlreadyApplied);
        }
        if state.conversions.get(external_id).map(|c| c.applied) != Some(revision - 1) {
            return Ok(ChunkOutcome::OutOfTurn);
        }
        rows.iter().for_each(|row| state.add_row(row));
        state.chunks_done.insert((external_id.to_string(), revision, chunk));
        Ok(ChunkOutcome::Applied)
    }
    async fn mark_applied(&self, external_id: &str, revision: u64) -> Result<Saved, StoreError> {
        let mut state = self.state.lock().unwrap();
        match state.conversions.get_mut(external_id) {
            Some(c) if c.applied + 1 == revision => {
                c.applied = revision;
                Ok(Saved::Saved)
            }
            _ => Ok(Saved::Conflict),
        }
    }
}

impl ReportStore for InMemoryStore {
    async fn campaign(&self, id: &str) -> Result<Option<Campaign>, StoreError> {
        Ok(self.state.lock().unwrap().campaigns.get(id).cloned())
    }
    async fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        Ok(self.state.lock().unwrap().campaigns.values().cloned().collect())
    }
    async fn campaigns_page(&self, page: PageRequest<'_>) -> Result<Page<Campaign>, StoreError> {
        Ok(keyed_page(&self.state.lock().unwrap().campaigns, page))
    }
    async fn put_campaign(&self, campaign: &Campaign) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        state.campaigns.insert(campaign.id.clone(), campaign.clone());
        Ok(())
    }
    async fn put_cost_day(&self, cost: &CostDay) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        state.costs.insert((cost.day, cost.campaign_id.clone()), cost.clone());
        Ok(())
    }
    async fn costs(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<CostDay>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .costs
            .values()
            .filter(|c| c.day >= from && c.day <= to)
            .cloned()
            .collect())
    }
    async fn rollups(&self, series: &str, from: NaiveDate, to: NaiveDate) -> Result<RowsRead, StoreError> {
        let rows: Vec<RollupRow> = self
            .rollup_rows(series)
            .into_iter()
            .filter(|r| r.day >= from && r.day <= to)
            .collect();
        Ok(RowsRead {
            items_read: rows.len(),
            rows,
        })
    }
    async fn funnel_steps(&self, day: NaiveDate) -> Result<Vec<FunnelStep>, StoreError> {
        let state = self.state.lock().unwrap();
        Ok(state.funnel_steps.iter().filter(|s| s.day == day).cloned().collect())
    }
    async fn owner_changes_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<OwnerChange>, StoreError> {
        let state = self.state.lock().unwrap();
        let mut changes: Vec<OwnerChange> = state
            .owner_changes
            .values()
            .flatten()
            .filter(|c| c.at >= from && c.at < to)
            .cloned()
            .collect();
        OwnerChange::sort_in_time_order(&mut changes);
        Ok(changes)
    }
}

/// Records webhook sends; can be told to fail.
#[derive(Default)]
pub struct RecordingNotifier {
    sent: Mutex<Vec<(String, serde_json::Value)>>,
    failing: AtomicBool,
}

impl RecordingNotifier {
    pub fn sent(&self) -> Vec<(String, serde_json::Value)> {
        self.sent.lock().unwrap().clone()
    }
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl Notifier for RecordingNotifier {
    async fn send(&self, hook: &Webhook, body: &serde_json::Value) -> Result<(), NotifyError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(NotifyError::Failed("recording notifier set to fail".into()));
        }
        self.sent.lock().unwrap().push((hook.url.clone(), body.clone()));
        Ok(())
    }
}

impl crate::handoff::ports::WebhookPoster for RecordingNotifier {
    async fn post(
        &self,
        url: &str,
        _headers: &[(&'static str, String)],
        body: &[u8],
    ) -> Result<(), crate::handoff::ports::PostError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(crate::handoff::ports::PostError::Status(503));
        }
        let body = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
        self.sent.lock().unwrap().push((url.to_string(), body));
        Ok(())
    }
}

impl crate::handoff::ports::HandoffStore for InMemoryStore {
    async fn create_handoff(&self, handoff: &crate::handoff::convert::Handoff) -> Result<Saved, StoreError> {
        let mut state = self.state.lock().unwrap();
        if state.handoffs.contains_key(&handoff.lead_id) {
            return Ok(Saved::Conflict);
        }
        state.handoffs.insert(handoff.lead_id.clone(), handoff.clone());
        Ok(Saved::Saved)
    }
    async fn handoff(&self, lead: &LeadId) -> Result<Option<crate::handoff::convert::Handoff>, StoreError> {
        Ok(self.state.lock().unwrap().handoffs.get(lead).cloned())
    }
    async fn mark_delivered(&self, lead: &LeadId, subscription: &str) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        if let Some(h) = state.handoffs.get_mut(lead) {
            if !h.delivered_to.iter().any(|s| s == subscription) {
                h.delivered_to.push(subscription.to_string());
            }
        }
        Ok(())
    }
    async fn customer(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .customers
            .iter()
            .find(|c| c.id == id)
            .cloned())
    }
    async fn outbound_webhooks(&self) -> Result<crate::handoff::outbound::OutboundWebhooks, StoreError> {
        Ok(self.state.lock().unwrap().webhooks.clone().unwrap_or_default())
    }
}

/// Rate-limit counters in memory; can be told to fail, to test that limits fail open.
#[derive(Default)]
pub struct InMemoryCounters {
    counts: Mutex<HashMap<String, u64>>,
    failing: AtomicBool,
}

impl InMemoryCounters {
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
    /// How many counters exist.
    pub fn len(&self) -> usize {
        self.counts.lock().unwrap().len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl crate::capture::ports::RateCounters for InMemoryCounters {
    async fn increment(&self, key: &str, _expires_at: DateTime<Utc>) -> Result<u64, StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected failure".into()));
        }
        let mut counts = self.counts.lock().unwrap();
        let count = counts.entry(key.to_string()).or_default();
        *count += 1;
        Ok(*count)
    }
}
