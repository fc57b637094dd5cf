//! Rollup rows: the pre-added numbers reports and exports read, so their cost follows
//! the rows in range and not the leads behind them.
//!
//! A row is one series (the lead funnel, or one attribution model) on one report day for
//! one marketing source (channel, campaign, keyword), holding named integer fields
//! (`leads`, `mql`, `order_cents`, …). Writers only ever add deltas to rows; see
//! [`crate::attribution::credit`] for how a conversion's deltas are applied exactly once.

use crate::lead::funnel::{FunnelStep, SourceKey, FUNNEL};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One row of one series, or a delta to add to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupRow {
    pub series: String,
    pub day: NaiveDate,
    pub source: SourceKey,
    pub fields: BTreeMap<String, i64>,
}

impl RollupRow {
    pub fn new(series: &str, day: NaiveDate, source: SourceKey) -> Self {
        Self {
            series: series.to_string(),
            day,
            source,
            fields: BTreeMap::new(),
        }
    }
    pub fn with(mut self, field: &str, value: i64) -> Self {
        *self.fields.entry(field.to_string()).or_default() += value;
        self
    }
    pub fn get(&self, field: &str) -> i64 {
        self.fields.get(field).copied().unwrap_or(0)
    }
    /// The same counts on the row of the month holding this row's day (dated the 1st).
    pub fn in_month(&self) -> Self {
        Self {
            day: month_start(self.day),
            ..self.clone()
        }
    }
    fn identity(&self) -> (String, NaiveDate, SourceKey) {
        (self.series.clone(), self.day, self.source.clone())
    }
}

/// The first day of `day`'s month.
pub fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("every month has a first day")
}

/// Adds up rows with the same series, day and source; drops zero fields and empty rows.
/// The result is sorted, so the same input always gives the same rows in the same order.
pub fn merge(rows: impl IntoIterator<Item = RollupRow>) -> Vec<RollupRow> {
    let mut sums: BTreeMap<(String, NaiveDate, SourceKey), BTreeMap<String, i64>> = BTreeMap::new();
    for row in rows {
        let fields = sums.entry(row.identity()).or_default();
        for (name, value) in row.fields {
            *fields.entry(name).or_default() += value;
        }
    }
    sums.into_iter()
        .filter_map(|((series, day, source), mut fields)| {
            fields.retain(|_, v| *v != 0);
            (!fields.is_empty()).then_some(RollupRow {
                series,
                day,
                source,
                fields,
            })
        })
        .collect()
}

/// What must be added to rows holding `before` so they hold `after`.
pub fn delta(after: &[RollupRow], before: &[RollupRow]) -> Vec<RollupRow> {
    let negated = before.iter().cloned().map(|mut row| {
        row.fields.values_mut().for_each(|v| *v = -*v);
        row
    });
    merge(after.iter().cloned().chain(negated))
}

/// The row a funnel step adds to.
impl FunnelStep {
    pub fn row(&self) -> RollupRow {
        RollupRow {
            series: FUNNEL.to_string(),
            day: self.day,
            source: self.source.clone(),
            fields: self.fields.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::funnel::report_day;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn src(channel: &str) -> SourceKey {
        SourceKey {
            channel: channel.into(),
            ..SourceKey::default()
        }
    }

    #[test]
    fn merge_adds_alike_rows_and_drops_zeros() {
        let rows = merge([
            RollupRow::new("linear", day("2026-03-01"), src("baidu")).with("order_cents", 100),
            RollupRow::new("linear", day("2026-03-01"), src("baidu")).with("order_cents", 50),
            RollupRow::new("linear", day("2026-03-01"), src("wechat")).with("order_cents", 0),
        ]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get("order_cents"), 150);
    }

    #[test]
    fn delta_moves_rows_from_before_to_after() {
        let before = vec![RollupRow::new("linear", day("2026-03-01"), src("baidu")).with("order_cents", 1000)];
        let after = vec![
            RollupRow::new("linear", day("2026-03-02"), src("baidu")).with("order_cents", 800),
            RollupRow::new("linear", day("2026-03-01"), src("baidu")).with("order_cents", 200),
        ];
        let d = delta(&after, &before);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].get("order_cents"), -800);
        assert_eq!(d[1].get("order_cents"), 800);
        // Applying the delta to `before` gives `after`.
        assert_eq!(merge(before.into_iter().chain(d)), merge(after));
    }

    #[test]
    fn report_days_are_beijing_days() {
        let late_evening_utc = "2026-03-01T17:30:00Z".parse().unwrap();
        assert_eq!(report_day(late_evening_utc), day("2026-03-02"));
    }
}
