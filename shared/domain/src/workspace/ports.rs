//! What listing needs from the store: a page of one list-index partition, and the leads
//! it names in one batch read.

use crate::lead::ports::StoreError;
use crate::lead::{Lead, LeadId};
use crate::workspace::index::{Order, Partition};
use std::future::Future;

/// One index entry: the lead's position in the order, and the lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub position: String,
    pub lead: LeadId,
}

pub trait LeadIndex: Send + Sync {
    /// Up to `limit` entries of `partition` in `order`, strictly after `after` in the
    /// walking direction (ascending or not). The timeline is listed in created order only.
    fn list_entries(
        &self,
        partition: &Partition,
        order: Order,
        ascending: bool,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;

    /// Those of `ids` that exist, in any order (one batch read, not one read per lead).
    fn leads_by_id(&self, ids: &[LeadId]) -> impl Future<Output = Result<Vec<Lead>, StoreError>> + Send;
}
