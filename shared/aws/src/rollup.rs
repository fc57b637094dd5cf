//! Rollup rows as DynamoDB items, shared by the attribution and report adapters, the
//! lead writes that record funnel steps, and the fold that adds those up.
//!
//! Day rows live in month partitions (`ROLLUP#<series>#<yyyy-mm>`, sort key
//! `<day>#<channel>#<campaign>#<keyword>`), so a report over a period reads one query
//! per month and exactly the rows in range. Month rows, where a series has them, live in
//! year partitions (`ROLLUPM#<series>#<yyyy>`, sort key `<yyyy-mm>#<channel>#…`).
//! Counters are attributes `n_<field>` that writers only `ADD` to.

use crate::item::n;
use crate::item::text;
use crate::keys::*;
use crate::{item::conditional_put, item::json, item::s, item::unavailable, item::Item, store::DynamoStore};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{Datelike, Months, NaiveDate};
use domain::attribution::campaign::{CostDay, CostLine};
use domain::attribution::fold::{month_start, FoldStore, Grain, Mark, Sequence};
use domain::lead::funnel::FunnelStep;
use domain::lead::ports::StoreError;
use domain::{attribution::rollup::RollupRow, lead::funnel::SourceKey};
use std::collections::HashMap;

/// Key parts may hold anything a page sends; `#` separates them, so it is escaped.
pub(crate) fn key_part(value: &str) -> String {
    value.replace('%', "%25").replace('#', "%23")
}

fn rollup_key_at(grain: Grain, row: &RollupRow) -> (String, String) {
    let source = format!(
        "{}#{}#{}",
        key_part(&row.source.channel),
        key_part(&row.source.campaign),
        key_part(&row.source.keyword)
    );
    match grain {
        Grain::Day => (rollup_pk(&row.series, row.day), format!("{}#{source}", row.day)),
        Grain::Month => (
            rollup_month_pk(&row.series, row.day),
            format!("{}#{source}", month_of(row.day)),
        ),
    }
}

pub(crate) const FIELD_PREFIX: &str = "n_";

/// `ADD n_orders :v0, n_order_cents :v1` on the row, creating it with its labels.
pub(crate) fn rollup_update(table: &str, row: &RollupRow) -> Result<TransactWriteItem, StoreError> {
    rollup_update_at(table, Grain::Day, row)
}

pub(crate) fn rollup_update_at(table: &str, grain: Grain, row: &RollupRow) -> Result<TransactWriteItem, StoreError> {
    let (pk, sk) = rollup_key_at(grain, row);
    let mut update = Update::builder()
        .table_name(table)
        .key(PK, s(pk))
        .key(SK, s(sk))
        .expression_attribute_values(":series", s(row.series.clone()))
        .expression_attribute_values(":day", s(row.day.to_string()))
        .expression_attribute_values(":channel", s(row.source.channel.clone()))
        .expression_attribute_values(":campaign", s(row.source.campaign.clone()))
        .expression_attribute_values(":keyword", s(row.source.keyword.clone()));
    let mut adds = Vec::new();
    for (i, (field, value)) in row.fields.iter().enumerate() {
        update = update
            .expression_attribute_names(format!("#f{i}"), format!("{FIELD_PREFIX}{field}"))
            .expression_attribute_values(format!(":v{i}"), n(value));
        adds.push(format!("#f{i} :v{i}"));
    }
    let expression = format!(
        "SET series = :series, #day = :day, channel = :channel, campaign = :campaign, keyword = :keyword ADD {}",
        adds.join(", ")
    );
    let update = update
        .expression_attribute_names("#day", "day")
        .update_expression(expression)
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// A rollup row as a whole item (bulk loads and benchmarks; live writers only `ADD`).
pub fn rollup_item(grain: Grain, row: &RollupRow) -> Item {
    let (pk, sk) = rollup_key_at(grain, row);
    let mut item = HashMap::from([
        (PK.to_string(), s(pk)),
        (SK.to_string(), s(sk)),
        ("series".to_string(), s(row.series.clone())),
        ("day".to_string(), s(row.day.to_string())),
        ("channel".to_string(), s(row.source.channel.clone())),
        ("campaign".to_string(), s(row.source.campaign.clone())),
        ("keyword".to_string(), s(row.source.keyword.clone())),
    ]);
    for (field, value) in &row.fields {
        item.insert(format!("{FIELD_PREFIX}{field}"), n(value));
    }
    item
}

/// A campaign's costs on one day, as stored (one item per campaign and day).
pub fn cost_item(cost: &CostDay) -> Result<Item, StoreError> {
    Ok(HashMap::from([
        (PK.to_string(), s(cost_pk(cost.day))),
        (SK.to_string(), s(format!("{}#{}", cost.day, cost.campaign_id))),
        ("doc".to_string(), s(json(cost)?)),
    ]))
}

/// How a cost day's replacement moves its month's rows: per keyword, new minus old.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CostMonthChange {
    pub month: NaiveDate,
    pub campaign: String,
    pub line: CostLine,
}

pub(crate) fn cost_month_changes(before: Option<&CostDay>, after: &CostDay) -> Vec<CostMonthChange> {
    let mut by_keyword: std::collections::BTreeMap<&str, [i64; 3]> = Default::default();
    for (sign, day) in [(-1, before), (1, Some(after))] {
        for line in day.map(|d| d.lines.as_slice()).unwrap_or_default() {
            let sums = by_keyword.entry(line.keyword.as_str()).or_default();
            sums[0] += sign * line.ad_spend_cents;
            sums[1] += sign * line.content_cents;
            sums[2] += sign * line.labour_cents;
        }
    }
    by_keyword
        .into_iter()
        .filter(|(_, sums)| sums.iter().any(|v| *v != 0))
        .map(|(keyword, [ad, content, labour])| CostMonthChange {
            month: month_start(after.day),
            campaign: after.campaign_id.clone(),
            line: CostLine {
                keyword: keyword.to_string(),
                ad_spend_cents: ad,
                content_cents: content,
                labour_cents: labour,
            },
        })
        .collect()
}

fn cost_month_key(month: NaiveDate, campaign: &str, keyword: &str) -> (String, String) {
    let sk = format!("{}#{}#{}", month_of(month), key_part(campaign), key_part(keyword));
    (cost_month_pk(month), sk)
}

/// A month's costs as whole items, one per keyword line (bulk loads and benchmarks; live
/// writers only `ADD`). `month_costs.day` is the month's first day.
pub fn cost_month_items(month_costs: &CostDay) -> Vec<Item> {
    month_costs
        .lines
        .iter()
        .map(|line| {
            let (pk, sk) = cost_month_key(month_costs.day, &month_costs.campaign_id, &line.keyword);
            HashMap::from([
                (PK.to_string(), s(pk)),
                (SK.to_string(), s(sk)),
                ("month".to_string(), s(month_costs.day.to_string())),
                ("campaign".to_string(), s(month_costs.campaign_id.clone())),
                ("keyword".to_string(), s(line.keyword.clone())),
                ("ad_spend_cents".to_string(), n(line.ad_spend_cents)),
                ("content_cents".to_string(), n(line.content_cents)),
                ("labour_cents".to_string(), n(line.labour_cents)),
            ])
        })
        .collect()
}

/// `ADD` a change to its month cost row, creating it with its labels.
pub(crate) fn cost_month_update(table: &str, change: &CostMonthChange) -> Result<TransactWriteItem, StoreError> {
    let (pk, sk) = cost_month_key(change.month, &change.campaign, &change.line.keyword);
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(pk))
        .key(SK, s(sk))
        .update_expression(
            "SET #month = :month, campaign = :campaign, keyword = :keyword ADD ad_spend_cents :ad, content_cents :content, labour_cents :labour",
        )
        .expression_attribute_names("#month", "month")
        .expression_attribute_values(":month", s(change.month.to_string()))
        .expression_attribute_values(":campaign", s(change.campaign.clone()))
        .expression_attribute_values(":keyword", s(change.line.keyword.clone()))
        .expression_attribute_values(":ad", n(change.line.ad_spend_cents))
        .expression_attribute_values(":content", n(change.line.content_cents))
        .expression_attribute_values(":labour", n(change.line.labour_cents))
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// A put in a transaction that replaces `stored` only if it is still what was read
/// (or, with nothing read, only if there is still nothing).
pub(crate) fn put_replacing(table: &str, item: Item, stored: Option<&Item>) -> Result<TransactWriteItem, StoreError> {
    match stored.and_then(|i| i.get(DOC)) {
        None => conditional_put(table, item, "attribute_not_exists(pk)", Vec::new()),
        Some(doc) => conditional_put(table, item, "doc = :read", vec![(":read", doc.clone())]),
    }
}

pub(crate) fn rollup_row(item: &Item) -> RollupRow {
    let field = |name: &str| text(item, name).unwrap_or_default();
    RollupRow {
        series: field("series"),
        day: field("day").parse().unwrap_or_default(),
        source: SourceKey {
            channel: field("channel"),
            campaign: field("campaign"),
            keyword: field("keyword"),
        },
        fields: item
            .iter()
            .filter_map(|(name, value)| {
                let field = name.strip_prefix(FIELD_PREFIX)?;
                Some((field.to_string(), value.as_n().ok()?.parse().ok()?))
            })
            .collect(),
    }
}

use crate::item::plain_put as put;

/// The writes that store a commit's funnel steps: the raw step records, one item each.
/// The rows are not touched here: the table's stream delivers the new records to the
/// fold (`domain::attribution::fold`), which adds a batch of them up at once.
pub(crate) fn funnel_writes(table: &str, steps: &[FunnelStep]) -> Result<Vec<TransactWriteItem>, StoreError> {
    steps.iter().map(|step| put(table, step_item(step)?)).collect()
}

/// A funnel step record as stored: one per lead and step, in its report day's partition.
pub fn step_item(step: &FunnelStep) -> Result<Item, StoreError> {
    Ok(HashMap::from([
        (PK.to_string(), s(funnel_step_pk(step.day, &step.lead_id))),
        (SK.to_string(), s(format!("{}#{}", step.lead_id, step.step))),
        (DOC.to_string(), s(json(step)?)),
    ]))
}

/// The first day of each month from `from`'s to `to`'s.
pub(crate) fn months(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut month = from.with_day(1).expect("day 1 exists");
    let mut out = Vec::new();
    while month <= to {
        out.push(month);
        month = month + Months::new(1);
    }
    out
}

impl DynamoStore {
    /// Items of partition `pk` with sort keys in `[low, high]`, all pages.
    pub(crate) async fn query_between(&self, pk: &str, low: &str, high: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut pages = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            items.extend(page.map_err(unavailable)?.items.unwrap_or_default());
        }
        Ok(items)
    }

    /// Full items listed by a gsi1 partition, optionally between two sort keys (the index
    /// holds keys only, so the items are fetched after).
    pub(crate) async fn gsi1_items(&self, pk: &str, range: Option<(&str, &str)>) -> Result<Vec<Item>, StoreError> {
        let mut keys = Vec::new();
        let mut query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(GSI1)
            .expression_attribute_values(":pk", s(pk));
        query = match range {
            // DynamoDB refuses empty strings in key conditions: no range, no sort-key clause.
            None => query.key_condition_expression("gsi1pk = :pk"),
            Some((low, high)) => query
                .key_condition_expression("gsi1pk = :pk AND gsi1sk BETWEEN :low AND :high")
                .expression_attribute_values(":low", s(low))
                .expression_attribute_values(":high", s(high)),
        };
        let mut pages = query.into_paginator().send();
        while let Some(page) = pages.next().await {
            for item in page.map_err(unavailable)?.items.unwrap_or_default() {
                if let (Some(pk), Some(sk)) = (text(&item, PK), text(&item, SK)) {
                    keys.push((pk, sk));
                }
            }
        }
        self.batch_get(keys, true).await
    }

    pub(crate) async fn transact_outcome(&self, writes: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        match self
            .client()
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_transaction_canceled_exception() => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// The mark's attribute on a fold mark item.
const FOLDED_THROUGH: &str = "seq";

impl DynamoStore {
    /// The first day the fold added up (see [`FOLD_SINCE_SK`]); `None`: it has not run.
    pub(crate) async fn folded_since(&self) -> Result<Option<NaiveDate>, StoreError> {
        let item = self.get_item(FOLD_PK, FOLD_SINCE_SK).await?;
        Ok(item
            .and_then(|item| text(&item, "since"))
            .and_then(|day| day.parse().ok()))
    }

    /// Month rows of `series` as stored for the months of `first..=last`, whatever
    /// [`Self::folded_since`] says of them (reports go through
    /// `ReportStore::rollups_by_month`; checks compare these with the day rows).
    pub async fn month_rows(
        &self,
        series: &str,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<RollupRow>, StoreError> {
        Ok(self
            .month_items(series, first, last)
            .await?
            .iter()
            .map(rollup_row)
            .collect())
    }

    /// Month row items of `series` for the months of `first..=last`.
    pub(crate) async fn month_items(
        &self,
        series: &str,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<Item>, StoreError> {
        self.months_by_year(|january| rollup_month_pk(series, january), first, last)
            .await
    }

    /// Items of year partitions (`pk_of(January 1st)`, sort keys starting `<yyyy-mm>`) for
    /// the months of `first..=last`: one query per year.
    pub(crate) async fn months_by_year(
        &self,
        pk_of: impl Fn(NaiveDate) -> String,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        for year in first.year()..=last.year() {
            let january = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid");
            let low = month_of(first.max(january));
            let high = month_of(last.min(NaiveDate::from_ymd_opt(year, 12, 1).expect("valid")));
            items.extend(self.query_between(&pk_of(january), &low, &format!("{high}$")).await?);
        }
        Ok(items)
    }
}

impl FoldStore for DynamoStore {
    async fn folded_through(&self, partition: &str) -> Result<Option<Sequence>, StoreError> {
        let item = self.get_item(FOLD_PK, partition).await?;
        Ok(item
            .and_then(|item| text(&item, FOLDED_THROUGH))
            .and_then(|seq| Sequence::parse(&seq)))
    }

    async fn fold(&self, mark: Mark<'_>, rows: &[(Grain, RollupRow)]) -> Result<bool, StoreError> {
        let table = self.table();
        let mut writes = rows
            .iter()
            .map(|(grain, row)| rollup_update_at(table, *grain, row))
            .collect::<Result<Vec<_>, _>>()?;
        let mut moved = Update::builder()
            .table_name(table)
            .key(PK, s(FOLD_PK))
            .key(SK, s(mark.partition))
            .update_expression("SET #seq = :to")
            .expression_attribute_names("#seq", FOLDED_THROUGH)
            .expression_attribute_values(":to", s(mark.to.as_str()));
        moved = match mark.from {
            None => moved.condition_expression("attribute_not_exists(#seq)"),
            Some(from) => moved
                .condition_expression("#seq = :from")
                .expression_attribute_values(":from", s(from.as_str())),
        };
        writes.push(
            TransactWriteItem::builder()
                .update(moved.build().map_err(unavailable)?)
                .build(),
        );
        // A partition's first fold says since when the fold has run, until this sandbox
        // has seen it stored.
        let since_stored = self.since_stored().load(std::sync::atomic::Ordering::Relaxed);
        let first = rows.iter().map(|(_, row)| row.day).min();
        let writes_since = mark.from.is_none() && !since_stored && first.is_some();
        if let (true, Some(first)) = (writes_since, first) {
            let since = Update::builder()
                .table_name(table)
                .key(PK, s(FOLD_PK))
                .key(SK, s(FOLD_SINCE_SK))
                .update_expression("SET since = if_not_exists(since, :day)")
                .expression_attribute_values(":day", s(first.to_string()))
                .build()
                .map_err(unavailable)?;
            writes.push(TransactWriteItem::builder().update(since).build());
        }
        let folded = self.transact_outcome(writes).await?;
        if folded && writes_since {
            self.since_stored().store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(folded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parts_cannot_collide() {
        let day: NaiveDate = "2026-03-25".parse().unwrap();
        let a = RollupRow::new(
            "linear",
            day,
            SourceKey {
                channel: "a#b".into(),
                campaign: "c".into(),
                keyword: String::new(),
            },
        );
        let b = RollupRow::new(
            "linear",
            day,
            SourceKey {
                channel: "a".into(),
                campaign: "b#c".into(),
                keyword: String::new(),
            },
        );
        assert_ne!(rollup_key_at(Grain::Day, &a), rollup_key_at(Grain::Day, &b));
        assert_ne!(rollup_key_at(Grain::Month, &a), rollup_key_at(Grain::Month, &b));
    }

    #[test]
    fn replacing_a_cost_day_moves_its_month_by_the_difference_per_keyword() {
        let line = |keyword: &str, ad: i64| CostLine {
            keyword: keyword.into(),
            ad_spend_cents: ad,
            content_cents: 0,
            labour_cents: 100,
        };
        let day = |lines| CostDay {
            campaign_id: "spring".into(),
            day: "2026-03-25".parse().unwrap(),
            lines,
            updated_at: None,
        };
        let before = day(vec![line("crm", 500), line("erp", 300), line("", 50)]);
        let after = day(vec![line("crm", 800), line("", 50), line("scrm", 200)]);
        let changes = cost_month_changes(Some(&before), &after);
        let moved: Vec<(&str, i64, i64)> = changes
            .iter()
            .map(|c| (c.line.keyword.as_str(), c.line.ad_spend_cents, c.line.labour_cents))
            .collect();
        // The whole-campaign line did not change: no write for it.
        assert_eq!(moved, [("crm", 300, 0), ("erp", -300, -100), ("scrm", 200, 100)]);
        assert!(changes
            .iter()
            .all(|c| c.month == "2026-03-01".parse::<NaiveDate>().unwrap()));
        // A first upload adds the day whole.
        assert_eq!(cost_month_changes(None, &before).len(), 3);
    }

    #[test]
    fn months_cover_the_range() {
        let m = months("2026-01-31".parse().unwrap(), "2026-03-01".parse().unwrap());
        assert_eq!(m.len(), 3);
        assert_eq!(m[2], "2026-03-01".parse::<NaiveDate>().unwrap());
    }
}
