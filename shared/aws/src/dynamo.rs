//! DynamoDB adapter for [`LeadStore`].

use crate::keys::*;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use domain::lead::ports::{CreateOutcome, LeadStore, NewLead, StoreError};
use domain::lead::{Lead, LeadId, Stage, Touchpoint};
use std::collections::HashMap;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// How long a submission id is remembered for idempotency.
const SUBMISSION_TTL: Duration = Duration::days(90);

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    models: crate::models::ModelCache,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            models: crate::models::ModelCache::default(),
        }
    }
    pub(crate) fn model_cache(&self) -> &crate::models::ModelCache {
        &self.models
    }
    pub fn table(&self) -> &str {
        &self.table
    }
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn unavailable<E: std::fmt::Debug>(e: E) -> StoreError {
    StoreError::Unavailable(format!("{e:?}"))
}

/// An item that does not read back into the model.
pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A record kept whole as JSON in one attribute (read and written whole, never queried into).
pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(corrupt)
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(item: &Item, name: &str) -> Result<T, StoreError> {
    let text = item
        .get(name)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("item has no `{name}`")))?;
    serde_json::from_str(text).map_err(corrupt)
}

/// Attribute of [`doc_item`]s: config and job records kept whole as JSON.
const DOC: &str = "doc";

pub(crate) fn doc_item(pk: String, sk: String, value: &impl serde::Serialize) -> Result<Item, StoreError> {
    Ok(HashMap::from([
        (PK.to_string(), s(pk)),
        (SK.to_string(), s(sk)),
        (DOC.to_string(), s(json(value)?)),
    ]))
}

pub(crate) fn from_doc<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    from_json(item, DOC)
}

pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn lead_item(lead: &Lead) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(lead).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.insert(PK.into(), s(lead_pk(&lead.id)));
    item.insert(SK.into(), s(LEAD_SK));
    // The two sparse index entries never overlap: a lead waits in a pool only once
    // it has left `received`.
    if lead.stage == Stage::Received {
        item.insert(GSI1_PK.into(), s(outbox_pk(outbox_shard(&lead.id))));
        // When it was written, not `created_at`: an imported lead keeps its original,
        // older creation time and would look stuck at once.
        item.insert(GSI1_SK.into(), s(format!("{}#{}", timestamp(lead.updated_at), lead.id)));
    } else if let Some(pool) = lead.waiting_in_pool() {
        let since = lead.waiting_since.unwrap_or(lead.updated_at);
        item.insert(GSI1_PK.into(), s(pool_waiting_pk(pool)));
        item.insert(GSI1_SK.into(), s(format!("{}#{}", timestamp(since), lead.id)));
    }
    if domain::predict::modeling::in_cohort(lead) {
        item.insert(GSI3_PK.into(), s(cohort_pk(lead.created_at, &lead.id)));
        item.insert(GSI3_SK.into(), s(format!("{}#{}", timestamp(lead.created_at), lead.id)));
    }
    if let Some(next) = lead.sla_next_check {
        // Never in a bucket older than now: the sweep's cursor may already be past it.
        item.insert(GSI2_PK.into(), s(due_bucket(next.max(lead.updated_at))));
        item.insert(GSI2_SK.into(), s(format!("{}#{}", timestamp(next), lead.id)));
    }
    Ok(item)
}

pub(crate) fn touch_item(touch: &Touchpoint) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(touch).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let pk = match (&touch.lead_id, &touch.anon_key) {
        (Some(lead), _) => lead_pk(lead),
        (None, Some(key)) => anon_pk(key),
        (None, None) => return Err(StoreError::Corrupt("touch has neither lead nor anonymous key".into())),
    };
    item.insert(PK.into(), s(pk));
    item.insert(SK.into(), s(touch_sk(&touch.id)));
    Ok(item)
}

fn put(table: &str, item: Item, only_if_new: bool) -> Result<TransactWriteItem, StoreError> {
    let mut put = Put::builder().table_name(table).set_item(Some(item));
    if only_if_new {
        put = put.condition_expression("attribute_not_exists(pk)");
    }
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(unavailable)?)
        .build())
}

impl DynamoStore {
    /// Every item of partition `pk` whose sort key starts with `prefix` (all pages).
    pub(crate) async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(pk));
        // DynamoDB refuses an empty string in a key condition: no prefix means the whole partition.
        query = if prefix.is_empty() {
            query.key_condition_expression("pk = :pk")
        } else {
            query
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s(prefix))
        };
        let mut pages = query.into_paginator().send();
        while let Some(page) = pages.next().await {
            items.extend(page.map_err(unavailable)?.items.unwrap_or_default());
        }
        Ok(items)
    }

    /// One item by key, read consistently (a write just made must be seen).
    pub(crate) async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// Writes `item`, replacing any item with its key.
    pub(crate) async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub(crate) async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Writes `item` unless an item with its key exists; `false` if one did.
    pub(crate) async fn put_if_absent(&self, item: Item) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Opens the connection to DynamoDB during init (one read of a key that never
    /// exists), so the first request does not pay for DNS and the TLS handshake. Bounded
    /// to one second; a failure only means the first request connects itself.
    pub async fn warm_up(&self) {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s("WARMUP"))
            .key(SK, s("WARMUP"))
            .send();
        match tokio::time::timeout(std::time::Duration::from_secs(1), read).await {
            Ok(Ok(_)) => tracing::debug!("storage connection warmed up"),
            Ok(Err(e)) => tracing::warn!(error = %unavailable(e), "warm-up read failed"),
            Err(_) => tracing::warn!("warm-up read took over a second"),
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }
}

impl LeadStore for DynamoStore {
    async fn create_lead(&self, new: &NewLead) -> Result<CreateOutcome, StoreError> {
        let (lead, first_touch) = (&new.lead, new.first_touch.as_ref());
        // The idempotency record goes first: it is the contended condition, so a racer that
        // loses fails before anything else is considered (DynamoDB is atomic either way;
        // emulators that apply items one by one stay correct this way too).
        let mut writes = Vec::with_capacity(3);
        let submission_index = match &lead.submission_id {
            Some(sid) => {
                let expires = (lead.updated_at + SUBMISSION_TTL).timestamp();
                let item = HashMap::from([
                    (PK.to_string(), s(submission_pk(sid))),
                    (SK.to_string(), s(SUBMISSION_SK)),
                    ("lead_id".to_string(), s(lead.id.as_str())),
                    (TTL.to_string(), AttributeValue::N(expires.to_string())),
                ]);
                writes.push(put(&self.table, item, true)?);
                Some(0)
            }
            None => None,
        };
        writes.push(put(&self.table, lead_item(lead)?, true)?);
        if let Some(touch) = first_touch {
            writes.push(put(&self.table, touch_item(touch)?, false)?);
        }
        writes.extend(crate::analytics::funnel_writes(&self.table, &new.funnel)?);

        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(SdkError::ServiceError(err)) => {
                if let (TransactWriteItemsError::TransactionCanceledException(cancel), Some(index), Some(sid)) =
                    (err.err(), submission_index, lead.submission_id.as_deref())
                {
                    let lost_on_submission = cancel
                        .cancellation_reasons()
                        .get(index)
                        .and_then(|r| r.code())
                        .is_some_and(|code| code == "ConditionalCheckFailed");
                    if lost_on_submission {
                        let existing = self.lead_for_submission(sid).await?.ok_or_else(|| {
                            StoreError::Unavailable("submission record vanished during read-back".into())
                        })?;
                        return Ok(CreateOutcome::DuplicateSubmission(existing));
                    }
                }
                Err(unavailable(err.into_err()))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn lead_for_submission(&self, submission_id: &str) -> Result<Option<LeadId>, StoreError> {
        Ok(self
            .get_item(&submission_pk(submission_id), SUBMISSION_SK)
            .await?
            .as_ref()
            .and_then(|item| item.get("lead_id"))
            .and_then(|v| v.as_s().ok())
            .and_then(|id| LeadId::parse(id)))
    }

    async fn get_lead(&self, id: &LeadId) -> Result<Option<Lead>, StoreError> {
        self.get_item(&lead_pk(id), LEAD_SK)
            .await?
            .map(|item| serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    async fn touchpoints(&self, id: &LeadId) -> Result<Vec<Touchpoint>, StoreError> {
        let mut items = Vec::new();
        for item in self.query_prefix(&lead_pk(id), TOUCH_SK_PREFIX).await? {
            items.push(serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
        Ok(items)
    }

    async fn stuck_in_received(
        &self,
        cutoff: DateTime<Utc>,
        max_redrives: u32,
        limit: usize,
    ) -> Result<Vec<LeadId>, StoreError> {
        let mut found: Vec<(String, LeadId)> = Vec::new();
        for shard in 0..OUTBOX_SHARDS {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("gsi1pk = :pk AND gsi1sk < :cutoff")
                .filter_expression("attribute_not_exists(redrives) OR redrives < :max")
                .expression_attribute_values(":pk", s(outbox_pk(shard)))
                .expression_attribute_values(":cutoff", s(timestamp(cutoff)))
                .expression_attribute_values(":max", AttributeValue::N(max_redrives.to_string()))
                .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                let sort = item
                    .get(GSI1_SK)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                if let Some(id) = item
                    .get("id")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|id| LeadId::parse(id))
                {
                    found.push((sort, id));
                }
            }
        }
        found.sort();
        Ok(found.into_iter().take(limit).map(|(_, id)| id).collect())
    }

    async fn record_redrive(&self, id: &LeadId) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(lead_pk(id)))
            .key(SK, s(LEAD_SK))
            .update_expression("ADD redrives :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
