//! What predictive scoring needs stored: trained models and which pair is in service.

use crate::lead::ports::{Page, PageRequest, StoreError};
use crate::lead::Lead;
use crate::predict::modeling::InService;
use crate::predict::Model;
use chrono::NaiveDate;
use std::future::Future;

/// Predictive models: every trained version, which ones are in service, and the
/// scored leads of each creation month (what training and the arms report read). The
/// in-service choice is saved as a versioned document
/// ([`crate::lead::ports::ConfigHistory`]).
pub trait ModelStore: Send + Sync {
    fn save_model(&self, model: &Model) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn model(&self, version: u32) -> impl Future<Output = Result<Option<Model>, StoreError>> + Send;
    /// A page of stored versions, oldest first (keyed `V#000001`, as stored).
    fn models(&self, page: PageRequest<'_>) -> impl Future<Output = Result<Page<Model>, StoreError>> + Send;
    fn latest_model(&self) -> impl Future<Output = Result<Option<Model>, StoreError>> + Send;
    fn in_service(&self) -> impl Future<Output = Result<Option<InService>, StoreError>> + Send;
    /// [`ModelStore::in_service`] for scoring, where a minute-old answer will do (an
    /// adapter may cache it; a promotion reaches every scorer within that minute).
    fn in_service_for_scoring(&self) -> impl Future<Output = Result<Option<InService>, StoreError>> + Send {
        self.in_service()
    }
    /// The scored leads created in the month starting `month` (see [`crate::predict::modeling::in_cohort`]).
    fn cohort(&self, month: NaiveDate) -> impl Future<Output = Result<Vec<Lead>, StoreError>> + Send;
}
