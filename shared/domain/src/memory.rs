//! In-memory adapters for fast unit tests of domain logic. Integration tests use the
//! real DynamoDB/SQS adapters against an emulator; these are never the only proof.

use crate::dedup::{CustomerMatch, Holder, KeyKind, MatchKey};
use crate::lead::{Lead, LeadId, Stage, Touchpoint};
use crate::messages::Envelope;
use crate::ports::{
    BusError, CreateOutcome, Customer, DedupCommit, DedupStore, LeadStore, MessageBus, RulesStore, Saved, StoreError,
    TouchStore,
};
use crate::rules::Rules;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

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
}

impl InMemoryStore {
    pub fn lead_count(&self) -> usize {
        self.state.lock().unwrap().leads.len()
    }
    pub fn leads(&self) -> Vec<Lead> {
        self.state.lock().unwrap().leads.values().cloned().collect()
    }
}

impl LeadStore for InMemoryStore {
    async fn create_lead(&self, lead: &Lead, first_touch: Option<&Touchpoint>) -> Result<CreateOutcome, StoreError> {
        let mut state = self.state.lock().unwrap();
        if let Some(sid) = &lead.submission_id {
            if let Some(existing) = state.submissions.get(sid) {
                return Ok(CreateOutcome::DuplicateSubmission(existing.clone()));
            }
            state.submissions.insert(sid.clone(), lead.id.clone());
        }
        state.leads.insert(lead.id.clone(), lead.clone());
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
            .filter(|l| l.stage == Stage::Received && l.created_at < cutoff)
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

impl RulesStore for InMemoryStore {
    async fn rules(&self) -> Result<Rules, StoreError> {
        Ok(self.state.lock().unwrap().rules.clone().unwrap_or_default())
    }

    async fn save_rules(&self, rules: &Rules) -> Result<Saved, StoreError> {
        let mut state = self.state.lock().unwrap();
        let current = state.rules.as_ref().map_or(0, |r| r.version);
        if rules.version != current + 1 {
            return Ok(Saved::Conflict);
        }
        state.rules = Some(rules.clone());
        Ok(Saved::Saved)
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
        for claim in &commit.claims {
            if let Some((holder, since)) = state.keys.get(&claim.key) {
                let expired = commit.window_start.is_some_and(|w| *since < w);
                if *holder != claim.lead_id && !expired {
                    return Ok(Saved::Conflict);
                }
            }
        }
        for (lead, _) in &commit.leads {
            state.leads.insert(lead.id.clone(), lead.clone());
        }
        for claim in &commit.claims {
            state
                .keys
                .insert(claim.key.clone(), (claim.lead_id.clone(), claim.since));
        }
        if let Some((block, core, lead)) = &commit.company_block {
            state
                .blocks
                .entry(block.clone())
                .or_default()
                .entry(core.clone())
                .or_insert_with(|| lead.clone());
        }
        if let Some((source, repeat)) = &commit.repeat_link {
            state.repeats.entry(source.clone()).or_default().insert(repeat.clone());
        }
        Ok(Saved::Saved)
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
