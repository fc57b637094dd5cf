//! In-memory adapters for fast unit tests of domain logic. Integration tests use the
//! real DynamoDB/SQS adapters against an emulator; these are never the only proof.

use crate::lead::{Lead, LeadId, Stage, Touchpoint};
use crate::messages::Envelope;
use crate::ports::{BusError, CreateOutcome, LeadStore, MessageBus, StoreError};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
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
}

impl InMemoryStore {
    pub fn lead_count(&self) -> usize {
        self.state.lock().unwrap().leads.len()
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
