//! Nightly reconciliation: recomputes a day's rollup rows from the raw records (funnel
//! step records, and the stored plans of the conversions of that day) and reports every
//! field that differs from the incrementally maintained rows.
//!
//! Read-only: drift is reported (and alarmed on), not overwritten, because a blind
//! repair would race with increments still arriving. Conversions whose latest revision
//! is not applied yet are counted as pending: their rows are in flight, not drifted.

use crate::{attribution::ports::ConversionStore, attribution::ports::ReportStore, lead::ports::StoreError};
use crate::{
    attribution::rollup::delta, attribution::rollup::merge, attribution::rollup::RollupRow, lead::funnel::FUNNEL,
};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    pub day: NaiveDate,
    /// Rows recomputed from raw records.
    pub rows_expected: usize,
    /// Rows found in the rollups.
    pub rows_found: usize,
    /// Conversions of the day with a revision still being applied.
    pub pending_conversions: usize,
    /// Found minus expected, per row and field (empty when everything adds up).
    pub drift: Vec<RollupRow>,
}

pub async fn reconcile_day<S: ConversionStore + ReportStore>(
    store: &S,
    day: NaiveDate,
) -> Result<Reconciliation, StoreError> {
    let mut expected: Vec<RollupRow> = store.funnel_steps(day).await?.iter().map(|s| s.row()).collect();
    let mut pending = 0;
    for state in store.conversions_on(day).await? {
        if state.applied != state.current.revision {
            pending += 1;
            continue;
        }
        if let Some(plan) = store.plan(&state.current.external_id, state.applied).await? {
            expected.extend(plan.into_iter().filter(|row| row.day == day));
        }
    }
    let expected = merge(expected);
    let config = store.attribution_config().await?;
    let series: BTreeSet<String> = std::iter::once(FUNNEL.to_string())
        .chain(config.models.keys().cloned())
        .chain(expected.iter().map(|r| r.series.clone()))
        .collect();
    let mut found = Vec::new();
    for name in &series {
        found.extend(store.rollups(name, day, day).await?.rows);
    }
    let found = merge(found);
    Ok(Reconciliation {
        day,
        rows_expected: expected.len(),
        rows_found: found.len(),
        pending_conversions: pending,
        drift: delta(&found, &expected),
    })
}
