//! What attribution needs stored: conversions and their credit plans, campaigns and
//! costs, and the rollup rows the reports read.

use crate::assign::ports::OwnerChange;
use crate::attribution::campaign::Campaign;
use crate::attribution::campaign::CostDay;
use crate::attribution::conversion::Conversion;
use crate::attribution::rollup::RollupRow;
use crate::lead::funnel::FunnelStep;
use crate::lead::ports::Saved;
use crate::lead::ports::StoreError;
use crate::lead::ports::{Page, PageRequest};
use crate::lead::LeadId;
use chrono::{DateTime, NaiveDate, Utc};
use std::future::Future;

/// Conversions, their revisions and plans, and the rollup rows they add to
/// ([`crate::attribution::credit`]).
pub trait ConversionStore: Send + Sync {
    /// The current models and window, or the defaults (version 0).
    fn attribution_config(
        &self,
    ) -> impl Future<Output = Result<crate::attribution::credit::AttributionConfig, StoreError>> + Send;
    fn save_attribution_config(
        &self,
        config: &crate::attribution::credit::AttributionConfig,
    ) -> impl Future<Output = Result<Saved, StoreError>> + Send;

    fn conversion(
        &self,
        external_id: &str,
    ) -> impl Future<Output = Result<Option<crate::attribution::credit::ConversionState>, StoreError>> + Send;
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
    ) -> impl Future<Output = Result<Vec<crate::attribution::credit::ConversionState>, StoreError>> + Send;

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
    ) -> impl Future<Output = Result<crate::attribution::credit::ChunkOutcome, StoreError>> + Send;
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
    /// A page of campaigns by id.
    fn campaigns_page(&self, page: PageRequest<'_>) -> impl Future<Output = Result<Page<Campaign>, StoreError>> + Send;
    fn put_campaign(&self, campaign: &Campaign) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces the campaign's costs on that day.
    fn put_cost_day(&self, cost: &CostDay) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Cost days in `[from, to]`.
    fn costs(&self, from: NaiveDate, to: NaiveDate) -> impl Future<Output = Result<Vec<CostDay>, StoreError>> + Send;
    /// Costs in `[from, to]` where a campaign's whole month may come as one cost day,
    /// dated the month's first day (for totals). By default, the days.
    fn costs_by_month(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<CostDay>, StoreError>> + Send {
        self.costs(from, to)
    }
    /// The rows of one series (`funnel` or a model name) in `[from, to]`.
    fn rollups(
        &self,
        series: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<RowsRead, StoreError>> + Send;
    /// The rows of one series in `[from, to]` where a whole month may come as one row,
    /// dated its first day: for totals, and for periods of a month or longer. A year is
    /// then 12 rows per source instead of 365. By default, the day rows.
    fn rollups_by_month(
        &self,
        series: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<RowsRead, StoreError>> + Send {
        self.rollups(series, from, to)
    }
    /// The raw funnel step records of one report day (for reconciliation).
    fn funnel_steps(&self, day: NaiveDate) -> impl Future<Output = Result<Vec<FunnelStep>, StoreError>> + Send;
    /// Owner changes that happened in `[from, to)`, in time order (ties by id).
    fn owner_changes_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<OwnerChange>, StoreError>> + Send;
}
