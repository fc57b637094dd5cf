//! DynamoDB adapter for attribution and reports: conversions and their revisions,
//! plans, rollup rows, funnel steps, campaigns and costs.
//!
//! Rollup rows live in month partitions (`ROLLUP#<series>#<yyyy-mm>`, sort key
//! `<day>#<channel>#<campaign>#<keyword>`), so a report over a period reads one query
//! per month and exactly the rows in range. Counters are attributes `n_<field>` that
//! writers only `ADD` to.

use crate::dynamo::{corrupt, from_json, json, s, timestamp, unavailable, DynamoStore, Item};
use crate::keys::*;
use crate::qualify::text;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use domain::attribution::conversion::Conversion;
use domain::lead::funnel::FunnelStep;
use domain::lead::LeadId;
use domain::{
    assign::ports::OwnerChange, attribution::ports::ConversionStore, attribution::ports::ReportStore,
    attribution::ports::RowsRead, lead::ports::Saved, lead::ports::StoreError,
};
use domain::{attribution::campaign::Campaign, attribution::campaign::CostDay};
use domain::{
    attribution::credit::AttributionConfig, attribution::credit::ChunkOutcome, attribution::credit::ConversionState,
};
use domain::{
    attribution::rollup::merge, attribution::rollup::RollupRow, lead::funnel::report_day, lead::funnel::SourceKey,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn number(item: &Item, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Key parts may hold anything a page sends; `#` separates them, so it is escaped.
fn key_part(value: &str) -> String {
    value.replace('%', "%25").replace('#', "%23")
}

fn rollup_key(row: &RollupRow) -> (String, String) {
    (
        rollup_pk(&row.series, row.day),
        format!(
            "{}#{}#{}#{}",
            row.day,
            key_part(&row.source.channel),
            key_part(&row.source.campaign),
            key_part(&row.source.keyword)
        ),
    )
}

const FIELD_PREFIX: &str = "n_";

/// `ADD n_orders :v0, n_order_cents :v1` on the row, creating it with its labels.
fn rollup_update(table: &str, row: &RollupRow) -> Result<TransactWriteItem, StoreError> {
    let (pk, sk) = rollup_key(row);
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
pub fn rollup_item(row: &RollupRow) -> Item {
    let (pk, sk) = rollup_key(row);
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

fn rollup_row(item: &Item) -> RollupRow {
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

use crate::qualify::plain_put as put;

/// The writes that store a commit's funnel steps: one `ADD` per rollup row (steps that
/// share a row are added up first; a transaction may touch an item only once) and the
/// raw step records the reconciliation recounts.
pub(crate) fn funnel_writes(table: &str, steps: &[FunnelStep]) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut writes = Vec::new();
    for row in merge(steps.iter().map(FunnelStep::row)) {
        writes.push(rollup_update(table, &row)?);
    }
    for step in steps {
        writes.push(put(
            table,
            HashMap::from([
                (PK.to_string(), s(funnel_step_pk(step.day))),
                (SK.to_string(), s(format!("{}#{}", step.lead_id, step.step))),
                ("doc".to_string(), s(json(step)?)),
            ]),
        )?);
    }
    Ok(writes)
}

/// A plan as stored: sources and names interned, so a conversion over a thousand touches
/// and a dozen models stays well inside DynamoDB's 400 KB item limit.
#[derive(Serialize, Deserialize, Default)]
struct StoredPlan {
    series: Vec<String>,
    sources: Vec<SourceKey>,
    fields: Vec<String>,
    /// (series, day, source, field, value)
    rows: Vec<(usize, NaiveDate, usize, usize, i64)>,
}

fn intern<T: PartialEq + Clone>(list: &mut Vec<T>, value: &T) -> usize {
    list.iter().position(|v| v == value).unwrap_or_else(|| {
        list.push(value.clone());
        list.len() - 1
    })
}

fn encode_plan(rows: &[RollupRow]) -> Result<String, StoreError> {
    let mut plan = StoredPlan::default();
    let mut sources: HashMap<SourceKey, usize> = HashMap::new();
    for row in rows {
        let series = intern(&mut plan.series, &row.series);
        let source = *sources.entry(row.source.clone()).or_insert_with(|| {
            plan.sources.push(row.source.clone());
            plan.sources.len() - 1
        });
        for (field, value) in &row.fields {
            let field = intern(&mut plan.fields, field);
            plan.rows.push((series, row.day, source, field, *value));
        }
    }
    json(&plan)
}

fn decode_plan(text: &str) -> Result<Vec<RollupRow>, StoreError> {
    let plan: StoredPlan = serde_json::from_str(text).map_err(corrupt)?;
    let get = |list: &[String], i: usize| list.get(i).cloned().ok_or_else(|| corrupt("plan index out of range"));
    let mut rows = Vec::new();
    for (series, day, source, field, value) in plan.rows {
        let source = plan
            .sources
            .get(source)
            .cloned()
            .ok_or_else(|| corrupt("plan source out of range"))?;
        rows.push(RollupRow::new(&get(&plan.series, series)?, day, source).with(&get(&plan.fields, field)?, value));
    }
    Ok(merge(rows))
}

/// The first day of each month from `from`'s to `to`'s.
fn months(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
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
    async fn query_between(&self, pk: &str, low: &str, high: &str) -> Result<Vec<Item>, StoreError> {
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
    async fn gsi1_items(&self, pk: &str, range: Option<(&str, &str)>) -> Result<Vec<Item>, StoreError> {
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
        self.batch_get(keys).await
    }

    async fn transact_outcome(&self, writes: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
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

fn state_from(item: &Item) -> Result<ConversionState, StoreError> {
    Ok(ConversionState {
        current: from_json(item, "doc")?,
        applied: number(item, "applied"),
    })
}

impl ConversionStore for DynamoStore {
    async fn attribution_config(&self) -> Result<AttributionConfig, StoreError> {
        Ok(self
            .versioned_document(ATTRIBUTION_PK, "config")
            .await?
            .unwrap_or_default())
    }

    async fn save_attribution_config(&self, config: &AttributionConfig) -> Result<Saved, StoreError> {
        self.save_versioned_document(ATTRIBUTION_PK, "config", config.version, config)
            .await
    }

    async fn conversion(&self, external_id: &str) -> Result<Option<ConversionState>, StoreError> {
        self.get_item(&conversion_pk(external_id), CONVERSION_HEAD_SK)
            .await?
            .map(|item| state_from(&item))
            .transpose()
    }

    async fn conversion_revision(&self, external_id: &str, revision: u64) -> Result<Option<Conversion>, StoreError> {
        self.get_item(&conversion_pk(external_id), &revision_sk(revision))
            .await?
            .map(|item| from_json(&item, "doc"))
            .transpose()
    }

    async fn record_conversion(&self, conversion: &Conversion) -> Result<Saved, StoreError> {
        let table = self.table();
        let pk = conversion_pk(&conversion.external_id);
        let doc = json(conversion)?;
        let previous = conversion.revision - 1;
        let mut head = Update::builder()
            .table_name(table)
            .key(PK, s(pk.clone()))
            .key(SK, s(CONVERSION_HEAD_SK))
            .update_expression(
                "SET #doc = :doc, revision = :rev, applied = if_not_exists(applied, :zero), \
                 gsi1pk = :day, gsi1sk = :id",
            )
            .expression_attribute_names("#doc", "doc")
            .expression_attribute_values(":doc", s(doc.clone()))
            .expression_attribute_values(":rev", n(conversion.revision))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":day", s(conversion_day_pk(report_day(conversion.occurred_at))))
            .expression_attribute_values(":id", s(conversion.external_id.clone()));
        head = if previous == 0 {
            head.condition_expression("attribute_not_exists(pk)")
        } else {
            head.condition_expression("revision = :prev")
                .expression_attribute_values(":prev", n(previous))
        };
        let revision = Put::builder()
            .table_name(table)
            .item(PK, s(pk.clone()))
            .item(SK, s(revision_sk(conversion.revision)))
            .item("doc", s(doc.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unavailable)?;
        let link = HashMap::from([
            (PK.to_string(), s(lead_pk(&conversion.lead_id))),
            (SK.to_string(), s(lead_conversion_sk(&conversion.external_id))),
            ("doc".to_string(), s(doc)),
        ]);
        let writes = vec![
            TransactWriteItem::builder()
                .update(head.build().map_err(unavailable)?)
                .build(),
            TransactWriteItem::builder().put(revision).build(),
            put(table, link)?,
        ];
        Ok(match self.transact_outcome(writes).await? {
            true => Saved::Saved,
            false => Saved::Conflict,
        })
    }

    async fn lead_conversions(&self, lead: &LeadId) -> Result<Vec<Conversion>, StoreError> {
        self.query_prefix(&lead_pk(lead), LEAD_CONVERSION_SK_PREFIX)
            .await?
            .iter()
            .map(|item| from_json::<Conversion>(item, "doc"))
            // A conversion moved to another lead by a correction leaves its old link.
            .filter(|c| c.as_ref().map_or(true, |c| &c.lead_id == lead))
            .collect()
    }

    async fn conversions_on(&self, day: NaiveDate) -> Result<Vec<ConversionState>, StoreError> {
        self.gsi1_items(&conversion_day_pk(day), None)
            .await?
            .iter()
            .map(state_from)
            .collect()
    }

    async fn plan(&self, external_id: &str, revision: u64) -> Result<Option<Vec<RollupRow>>, StoreError> {
        let item = self
            .get_item(&conversion_pk(external_id), &revision_sk(revision))
            .await?;
        item.and_then(|i| text(&i, "plan")).map(|p| decode_plan(&p)).transpose()
    }

    async fn save_plan(
        &self,
        external_id: &str,
        revision: u64,
        rows: &[RollupRow],
    ) -> Result<Vec<RollupRow>, StoreError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PK, s(conversion_pk(external_id)))
            .key(SK, s(revision_sk(revision)))
            .update_expression("SET #plan = :plan")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(#plan)")
            .expression_attribute_names("#plan", "plan")
            .expression_attribute_values(":plan", s(encode_plan(rows)?))
            .send()
            .await;
        match result {
            Ok(_) => Ok(rows.to_vec()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => self
                .plan(external_id, revision)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("conversion {external_id} has no revision {revision}"))),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn apply_chunk(
        &self,
        external_id: &str,
        revision: u64,
        chunk: usize,
        rows: &[RollupRow],
    ) -> Result<ChunkOutcome, StoreError> {
        let table = self.table();
        let pk = conversion_pk(external_id);
        let mark = Update::builder()
            .table_name(table)
            .key(PK, s(pk.clone()))
            .key(SK, s(revision_sk(revision)))
            .update_expression("ADD done :chunks")
            .condition_expression("attribute_exists(pk) AND NOT contains(done, :chunk)")
            .expression_attribute_values(":chunks", AttributeValue::Ns(vec![chunk.to_string()]))
            .expression_attribute_values(":chunk", n(chunk))
            .build()
            .map_err(unavailable)?;
        let in_turn = ConditionCheck::builder()
            .table_name(table)
            .key(PK, s(pk.clone()))
            .key(SK, s(CONVERSION_HEAD_SK))
            .condition_expression("applied = :prev")
            .expression_attribute_values(":prev", n(revision - 1))
            .build()
            .map_err(unavailable)?;
        let mut writes = vec![
            TransactWriteItem::builder().update(mark).build(),
            TransactWriteItem::builder().condition_check(in_turn).build(),
        ];
        for row in rows {
            writes.push(rollup_update(table, row)?);
        }
        if self.transact_outcome(writes).await? {
            return Ok(ChunkOutcome::Applied);
        }
        // Cancelled: find out why from the items themselves (the cancellation reasons
        // differ between DynamoDB and emulators).
        let done = self
            .get_item(&pk, &revision_sk(revision))
            .await?
            .and_then(|i| i.get("done").and_then(|v| v.as_ns().ok()).cloned())
            .unwrap_or_default();
        if done.contains(&chunk.to_string()) {
            return Ok(ChunkOutcome::AlreadyApplied);
        }
        let applied = self
            .get_item(&pk, CONVERSION_HEAD_SK)
            .await?
            .map(|i| number(&i, "applied"));
        if applied != Some(revision - 1) {
            return Ok(ChunkOutcome::OutOfTurn);
        }
        Err(StoreError::Unavailable(format!(
            "conversion {external_id}: chunk {chunk} of revision {revision} collided with another write; retry"
        )))
    }

    async fn mark_applied(&self, external_id: &str, revision: u64) -> Result<Saved, StoreError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PK, s(conversion_pk(external_id)))
            .key(SK, s(CONVERSION_HEAD_SK))
            .update_expression("SET applied = :rev")
            .condition_expression("applied = :prev")
            .expression_attribute_values(":rev", n(revision))
            .expression_attribute_values(":prev", n(revision - 1))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Saved::Saved),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(Saved::Conflict),
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl ReportStore for DynamoStore {
    async fn campaign(&self, id: &str) -> Result<Option<Campaign>, StoreError> {
        self.get_item(CAMPAIGNS_PK, id)
            .await?
            .map(|item| from_json(&item, "doc"))
            .transpose()
    }

    async fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        self.query_prefix(CAMPAIGNS_PK, "")
            .await?
            .iter()
            .map(|item| from_json(item, "doc"))
            .collect()
    }

    async fn put_campaign(&self, campaign: &Campaign) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .item(PK, s(CAMPAIGNS_PK))
            .item(SK, s(campaign.id.clone()))
            .item("doc", s(json(campaign)?))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn put_cost_day(&self, cost: &CostDay) -> Result<(), StoreError> {
        // One item per campaign and day: replacing the day is one put.
        self.put(cost_item(cost)?).await
    }

    async fn costs(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<CostDay>, StoreError> {
        let mut out = Vec::new();
        for month in months(from, to) {
            for item in self
                .query_between(&cost_pk(month), &from.to_string(), &format!("{to}$"))
                .await?
            {
                out.push(from_json(&item, "doc")?);
            }
        }
        Ok(out)
    }

    async fn rollups(&self, series: &str, from: NaiveDate, to: NaiveDate) -> Result<RowsRead, StoreError> {
        let mut read = RowsRead::default();
        for month in months(from, to) {
            // `$` sorts right after `#`: the high bound takes every row of day `to`.
            let items = self
                .query_between(&rollup_pk(series, month), &from.to_string(), &format!("{to}$"))
                .await?;
            read.items_read += items.len();
            read.rows.extend(items.iter().map(rollup_row));
        }
        Ok(read)
    }

    async fn funnel_steps(&self, day: NaiveDate) -> Result<Vec<FunnelStep>, StoreError> {
        self.query_prefix(&funnel_step_pk(day), "")
            .await?
            .iter()
            .map(|item| from_json(item, "doc"))
            .collect()
    }

    async fn owner_changes_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<OwnerChange>, StoreError> {
        let mut out = Vec::new();
        let (low, high) = (timestamp(from), timestamp(to));
        for month in months(report_day(from), report_day(to)) {
            for item in self.gsi1_items(&owners_pk(month), Some((&low, &high))).await? {
                let change: OwnerChange = serde_dynamo::from_item(item).map_err(corrupt)?;
                if change.at >= from && change.at < to {
                    out.push(change);
                }
            }
        }
        Ok(out)
    }
}

/// Days are grouped into months for partitions; a report over a year reads 12 of them.
pub(crate) fn month_of(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_round_trip_compactly() {
        let day: NaiveDate = "2026-03-25".parse().unwrap();
        let src = |c: &str| SourceKey {
            channel: c.into(),
            campaign: "c#1".into(),
            keyword: "关键词".into(),
        };
        let rows = merge((0..1000).flat_map(|i| {
            [
                "first_touch",
                "linear",
                "u_shaped",
                "w_shaped",
                "time_decay",
                "last_touch",
            ]
            .map(|m| RollupRow::new(m, day, src(&format!("channel-{i}"))).with("order_cents", i + 1))
        }));
        let text = encode_plan(&rows).unwrap();
        assert!(text.len() < 350_000, "{} bytes", text.len());
        assert_eq!(decode_plan(&text).unwrap(), rows);
    }

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
        assert_ne!(rollup_key(&a), rollup_key(&b));
    }

    #[test]
    fn months_cover_the_range() {
        let m = months("2026-01-31".parse().unwrap(), "2026-03-01".parse().unwrap());
        assert_eq!(m.len(), 3);
        assert_eq!(m[2], "2026-03-01".parse::<NaiveDate>().unwrap());
    }
}
