//! What follow-up needs stored: the deadline config, the due index, and the
//! violations and pool numbers the reports read.

use crate::lead::ports::Saved;
use crate::lead::ports::StoreError;
use crate::lead::ports::{Page, PageRequest};
use crate::lead::LeadId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;

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
    pub action: crate::follow_up::sla::BreachAction,
    /// What was and was not done: stage, last follow-up, BANT, owner since.
    pub evidence: serde_json::Value,
}

/// Follow-up deadlines: the policy document, the due index, and the reports.
pub trait SlaStore: Send + Sync {
    /// The current policies and calendars, or the defaults (version 0).
    fn sla_config(&self) -> impl Future<Output = Result<crate::follow_up::sla::SlaConfig, StoreError>> + Send;
    fn save_sla_config(
        &self,
        config: &crate::follow_up::sla::SlaConfig,
    ) -> impl Future<Output = Result<Saved, StoreError>> + Send;
    /// Leads whose next SLA check is at or before `now`, at most `limit`, and whether
    /// more are due. Reads only due entries (plus one query per hour bucket).
    fn due_leads(&self, now: DateTime<Utc>, limit: usize) -> impl Future<Output = Result<DueLeads, StoreError>> + Send;
    /// Violations whose deadline fell in `[from, to)`.
    fn violations(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Violation>, StoreError>> + Send;
    /// A page of the violations whose deadline fell in `[from, to)`, by deadline (keyed
    /// `<due at, RFC 3339 in milliseconds>#<violation id>`).
    fn violations_page(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        page: PageRequest<'_>,
    ) -> impl Future<Output = Result<Page<Violation>, StoreError>> + Send;
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
