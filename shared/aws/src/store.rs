//! The DynamoDB store every adapter implements its port on: the client, the table, the
//! per-sandbox caches, and the generic reads and writes (get, put, query a
//! partition, batch get, run a transaction) the adapters are built from.

use crate::item::{s, text, unavailable, Item};
use crate::keys::*;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{KeysAndAttributes, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use domain::lead::ports::{Saved, StoreError};
use domain::predict::modeling::InService;
use domain::predict::Model;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The in-service choice and when it was read.
type ReadAt = Option<(Instant, Option<InService>)>;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    models: ModelCache,
    /// Whether this sandbox has seen the day month rows began stored (the fold writes it
    /// until then; see `keys::FOLD_SINCE_SK`).
    since_stored: Arc<std::sync::atomic::AtomicBool>,
}

/// A single conditional write's answer: `Saved` if it was made, `Conflict` if its
/// condition refused it; any other failure is the store's.
pub(crate) fn saved_unless_refused<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<Saved, StoreError>
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(Saved::Saved),
        Err(SdkError::ServiceError(e)) if e.err().code() == Some("ConditionalCheckFailedException") => {
            Ok(Saved::Conflict)
        }
        Err(e) => Err(unavailable(e)),
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            models: ModelCache::default(),
            since_stored: Arc::default(),
        }
    }
    pub(crate) fn since_stored(&self) -> &std::sync::atomic::AtomicBool {
        &self.since_stored
    }
    pub(crate) fn model_cache(&self) -> &ModelCache {
        &self.models
    }
    pub fn table(&self) -> &str {
        &self.table
    }
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

    /// Deletes the item at `pk`/`sk` if its `attribute` is `value`: `false` when it names
    /// another by now, or is gone (not the caller's to delete).
    pub(crate) async fn delete_if(
        &self,
        pk: String,
        sk: &str,
        attribute: &str,
        value: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", attribute)
            .expression_attribute_values(":owner", s(value))
            .send()
            .await;
        Ok(saved_unless_refused(result)? == Saved::Saved)
    }

    /// Writes `item` unless an item with its key exists; `false` if one did (not if the
    /// one there is this write's own, applied by an attempt whose answer was lost:
    /// [`Self::put_once`]).
    pub(crate) async fn put_if_absent(&self, item: Item) -> Result<bool, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unavailable)?;
        Ok(self.put_once(put).await? == Saved::Saved)
    }

    /// Puts `item` unless an item with its key is stored, which is then left as it is:
    /// for records any try may write, and writing again adds nothing. `false` when one was
    /// stored (by an earlier try, or by this one with its answer lost).
    pub(crate) async fn put_unless_stored(&self, item: Item) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        Ok(saved_unless_refused(result)? == Saved::Saved)
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

impl DynamoStore {
    /// The items at `keys`, 100 per request; eventually consistent when `consistent` is
    /// false (half the reads).
    pub(crate) async fn batch_get(
        &self,
        keys: Vec<(String, String)>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        for chunk in keys.chunks(100) {
            let mut request = KeysAndAttributes::builder().consistent_read(consistent);
            for (pk, sk) in chunk {
                request = request.keys(HashMap::from([
                    (PK.to_string(), s(pk.clone())),
                    (SK.to_string(), s(sk.clone())),
                ]));
            }
            let mut pending = Some(HashMap::from([(
                self.table().to_string(),
                request.build().map_err(unavailable)?,
            )]));
            // Unprocessed keys (throttling) are retried until none are left.
            while let Some(items) = pending.take().filter(|m| !m.is_empty()) {
                let got = self
                    .client()
                    .batch_get_item()
                    .set_request_items(Some(items))
                    .send()
                    .await
                    .map_err(unavailable)?;
                if let Some(mut responses) = got.responses {
                    out.extend(responses.remove(self.table()).unwrap_or_default());
                }
                pending = got.unprocessed_keys;
            }
        }
        Ok(out)
    }
}

/// Per-sandbox memory of what scoring read.
#[derive(Default, Clone)]
pub struct ModelCache {
    pub(crate) versions: Arc<Mutex<HashMap<u32, Model>>>,
    pub(crate) in_service: Arc<Mutex<ReadAt>>,
}

impl DynamoStore {
    /// Runs a transaction; a failed condition (or a concurrent transaction on the same
    /// items) is a conflict to retry, not an error. A transaction of one put is sent as
    /// that put, with the same condition ([`Self::put_once`]): one item's write is atomic
    /// on its own, and a transaction bills each of its items twice.
    pub(crate) async fn transact(&self, mut writes: Vec<TransactWriteItem>) -> Result<Saved, StoreError> {
        if writes.len() == 1 && writes[0].put.is_some() {
            let put = writes.pop().and_then(|w| w.put).expect("one put");
            return self.put_once(put).await;
        }
        match self
            .client()
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(Saved::Saved),
            Err(SdkError::ServiceError(e)) if e.err().is_transaction_canceled_exception() => {
                let reasons: Vec<String> = match e.err() {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                        c.cancellation_reasons().iter().filter_map(|r| r.code().map(str::to_string)).collect()
                    }
                    _ => Vec::new(),
                };
                if reasons
                    .iter()
                    .any(|r| r == "ConditionalCheckFailed" || r == "TransactionConflict")
                {
                    Ok(Saved::Conflict)
                } else {
                    Err(StoreError::Unavailable(format!("transaction cancelled: {reasons:?}")))
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// A conditional put that is safe to retry. The SDK sends a write again when its
    /// answer is lost; if the first try was applied, the second fails its own condition
    /// (the version it expected is gone). A transaction carries a token that makes
    /// DynamoDB answer such a retry with success; a single put has none, so it carries
    /// its own: a fresh `write_id` on the item. A failed condition is read back, and
    /// the put's own id there means it was applied.
    pub(crate) async fn put_once(&self, put: Put) -> Result<Saved, StoreError> {
        let write_id = ulid::Ulid::new().to_string();
        let mut item = put.item;
        item.insert(WRITE_ID.into(), s(&write_id));
        let (pk, sk) = (text(&item, PK).unwrap_or_default(), text(&item, SK).unwrap_or_default());
        let result = self
            .client()
            .put_item()
            .table_name(put.table_name)
            .set_item(Some(item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Saved::Saved),
            Err(SdkError::ServiceError(e))
                if e.err().is_conditional_check_failed_exception() || e.err().is_transaction_conflict_exception() =>
            {
                self.saved_if_ours(&pk, &sk, &write_id).await
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// After a write stamped with `write_id` failed its condition: `Saved` if the item
    /// holds that id (the write's first try was applied and only its answer was lost),
    /// `Conflict` if another write got there.
    pub(crate) async fn saved_if_ours(&self, pk: &str, sk: &str, write_id: &str) -> Result<Saved, StoreError> {
        let stored = self.get_item(pk, sk).await?;
        let ours = stored.is_some_and(|item| text(&item, WRITE_ID).as_deref() == Some(write_id));
        Ok(if ours { Saved::Saved } else { Saved::Conflict })
    }
}

impl DynamoStore {
    /// A versioned configuration document (rules, routing, SLA): the current version's
    /// JSON under `attribute`, or `None` before the first save.
    pub(crate) async fn versioned_document<T: serde::de::DeserializeOwned>(
        &self,
        pk: &str,
        attribute: &str,
    ) -> Result<Option<T>, StoreError> {
        let current = self.get_item(pk, RULES_CURRENT_SK).await?;
        current
            .as_ref()
            .and_then(|i| text(i, attribute))
            .map(|json| serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("{attribute}: {e}"))))
            .transpose()
    }

    /// Saves `document` as `version` if the stored current version is `version - 1`
    /// (or none, for version 1), and keeps every version readable (`V#…`), without an
    /// author: the typed saves of seeds and tests ([`domain::lead::ports::ConfigHistory`]
    /// records who saved a version).
    pub(crate) async fn save_versioned_document<T: serde::Serialize>(
        &self,
        pk: &str,
        attribute: &'static str,
        version: u64,
        document: &T,
    ) -> Result<Saved, StoreError> {
        let document = serde_json::to_value(document).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let items = ConfigItems {
            pk: pk.to_string(),
            sk: RULES_CURRENT_SK.to_string(),
            attribute,
            version_attribute: "version",
            history_pk: pk.to_string(),
        };
        let kept = domain::lead::versioned::ConfigVersion::unattributed(version, document.clone());
        self.write_config_version(&items, &document, &kept).await
    }
}
