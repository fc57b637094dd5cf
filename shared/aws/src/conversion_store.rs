//! DynamoDB adapter for [`ConversionStore`]: conversions and their revisions, the
//! attribution config, and the credit plans applied to the rollup rows exactly once.

use crate::item::text;
use crate::item::{n, number};
use crate::keys::*;
use crate::store::saved_unless_refused;
use crate::{item::corrupt, item::from_json, item::json, item::s, item::unavailable, item::Item, store::DynamoStore};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use chrono::NaiveDate;
use domain::attribution::conversion::Conversion;
use domain::attribution::fold::Grain;
use domain::lead::LeadId;
use domain::{
    attribution::credit::AttributionConfig, attribution::credit::ChunkOutcome, attribution::credit::ConversionState,
};
use domain::{attribution::ports::ConversionStore, lead::ports::Saved, lead::ports::StoreError};
use domain::{
    attribution::rollup::merge, attribution::rollup::RollupRow, lead::funnel::report_day, lead::funnel::SourceKey,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use crate::item::plain_put as put;
use crate::rollup::*;
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
        let mark = chunk_mark(table, &pk, revision, DAY_ROWS_ADDED, chunk)?;
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
            self.add_chunk_to_months(external_id, revision, chunk, rows).await?;
            return Ok(ChunkOutcome::Applied);
        }
        // Cancelled: find out why from the items themselves (the cancellation reasons
        // differ between DynamoDB and emulators).
        if self.chunk_marked(&pk, revision, DAY_ROWS_ADDED, chunk).await? {
            // Its month rows may be what a cut-short run left undone.
            self.add_chunk_to_months(external_id, revision, chunk, rows).await?;
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
        // (Each chunk's month rows were added before: the revision is applied only after.)
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
        saved_unless_refused(result)
    }
}

/// The number sets on a revision naming the chunks whose day rows, and whose month rows,
/// were added.
const DAY_ROWS_ADDED: &str = "done";
const MONTH_ROWS_ADDED: &str = "months";

/// Marks `chunk` in the revision's number set `set`, only if it is not there yet.
fn chunk_mark(table: &str, pk: &str, revision: u64, set: &str, chunk: usize) -> Result<Update, StoreError> {
    Update::builder()
        .table_name(table)
        .key(PK, s(pk))
        .key(SK, s(revision_sk(revision)))
        .update_expression("ADD #set :chunks")
        .condition_expression("attribute_exists(pk) AND NOT contains(#set, :chunk)")
        .expression_attribute_names("#set", set)
        .expression_attribute_values(":chunks", AttributeValue::Ns(vec![chunk.to_string()]))
        .expression_attribute_values(":chunk", n(chunk))
        .build()
        .map_err(unavailable)
}

impl DynamoStore {
    /// Whether `chunk` is in the revision's number set `set` (read strongly).
    async fn chunk_marked(&self, pk: &str, revision: u64, set: &str, chunk: usize) -> Result<bool, StoreError> {
        let marked = self
            .get_item(pk, &revision_sk(revision))
            .await?
            .and_then(|i| i.get(set).and_then(|v| v.as_ns().ok()).cloned())
            .unwrap_or_default();
        Ok(marked.contains(&chunk.to_string()))
    }

    /// Adds an applied chunk's rows to the month rows, once (marked `months` on the
    /// revision, in the same transaction). A chunk's day rows and the two marks fill a
    /// transaction, so the month rows are a second one. Until both are done the revision is
    /// not marked applied, so a message redelivered after a cut between the two finishes
    /// this one. Adding is commutative: the order of revisions does not matter here.
    async fn add_chunk_to_months(
        &self,
        external_id: &str,
        revision: u64,
        chunk: usize,
        rows: &[RollupRow],
    ) -> Result<(), StoreError> {
        let table = self.table();
        let pk = conversion_pk(external_id);
        let mark = chunk_mark(table, &pk, revision, MONTH_ROWS_ADDED, chunk)?;
        let mut writes = vec![TransactWriteItem::builder().update(mark).build()];
        for row in rows {
            writes.push(rollup_update_at(table, Grain::Month, &row.in_month())?);
        }
        if self.transact_outcome(writes).await? {
            return Ok(());
        }
        if self.chunk_marked(&pk, revision, MONTH_ROWS_ADDED, chunk).await? {
            return Ok(());
        }
        Err(StoreError::Unavailable(format!(
            "conversion {external_id}: the month rows of chunk {chunk} of revision {revision} collided with another write; retry"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::attribution::rollup::merge;

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
}
