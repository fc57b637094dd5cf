//! What erasure needs stored: the audit records, the leads it scrubs and the keys it
//! releases.

use crate::lead::funnel::FunnelStep;
use crate::lead::ports::Saved;
use crate::lead::ports::StoreError;
use crate::lead::{Lead, Stage, Touchpoint};
use crate::privacy::erasure::ErasureRecord;
use crate::qualify::customer::Customer;
use std::future::Future;

/// What erasing one lead writes. The adapter may write the touches and notes first, one
/// by one (each is idempotent), and must write the lead and the submission record's
/// delete last, together: the scrubbed lead marks the lead done.
#[derive(Debug, Clone)]
pub struct LeadErasure {
    /// The scrubbed lead, saved if the stored version is still `expected_version`
    /// (remembering the funnel steps below as counted).
    pub lead: Lead,
    pub expected_version: u64,
    /// Funnel steps the scrubbed lead had not counted yet, written with it.
    pub funnel: Vec<FunnelStep>,
    /// Scrubbed copies replacing the stored touches.
    pub touches: Vec<Touchpoint>,
    /// Owner changes whose `note` is dropped.
    pub owner_change_ids: Vec<String>,
    /// Follow-ups whose `note` and `bant` are dropped.
    pub follow_up_ids: Vec<String>,
    /// The idempotency record deleted, if it still names this lead.
    pub submission_id: Option<String>,
    /// The lead's hand-off to the CRM with its contact scrubbed, written over the stored
    /// one (its deliveries kept).
    pub handoff: Option<crate::handoff::convert::Handoff>,
    /// The customer the lead's conversion created, without the person (their phones off
    /// its contact phones, and their name if it was named after them), and the phones
    /// whose customer keys go with them.
    pub customer: Option<(Customer, Vec<String>)>,
}

/// Contact values a full read of the leads looks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadScan {
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub wechats: Vec<String>,
}

impl LeadScan {
    /// Whether the scan wants the lead: its contact holds one of the values, or it is
    /// invalid (an invalid lead claims no dedup key, so no key leads to it).
    pub fn wants(&self, lead: &Lead) -> bool {
        let holds = |list: &[String], value: &Option<String>| value.as_ref().is_some_and(|v| list.contains(v));
        lead.stage == Stage::Invalid
            || holds(&self.phones, &lead.contact.phone)
            || holds(&self.emails, &lead.contact.email)
            || holds(&self.wechats, &lead.contact.wechat)
    }
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
}
