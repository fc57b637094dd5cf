//! DynamoDB adapter for [`ConfigHistory`]: a versioned configuration document in use
//! and every version of it, where [`config_items`] puts them. A save writes both in one
//! transaction, on the condition that the document in use still has the version before
//! (none, for version 1) and that the version is not kept yet. A version item holds the
//! document's JSON (as the domain chose to keep it) and who saved it, when, and what it
//! restored; versions written before those were recorded simply lack them.

use crate::item::{corrupt, n, number, s, text, unavailable, Item};
use crate::keys::*;
use crate::store::DynamoStore;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use domain::lead::ports::{ConfigHistory, Saved, StoreError};
use domain::lead::versioned::{ConfigId, ConfigVersion};
use serde_json::Value;
use std::collections::HashMap;

const SAVED_AT: &str = "saved_at";
const SAVED_BY: &str = "saved_by";
const RESTORED_FROM: &str = "restored_from";
/// Above every `V#<000001>` sort key.
const AFTER_EVERY_VERSION: &str = "V#~";

fn put(
    table: &str,
    item: Item,
    condition: &str,
    names: &[(&str, &str)],
    values: Vec<(&str, AttributeValue)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition);
    for (name, attribute) in names {
        put = put.expression_attribute_names(*name, *attribute);
    }
    for (name, value) in values {
        put = put.expression_attribute_values(name, value);
    }
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(unavailable)?)
        .build())
}

fn version_from(item: &Item, attribute: &str) -> Result<ConfigVersion, StoreError> {
    let document: Value = text(item, attribute)
        .map(|json| serde_json::from_str(&json).map_err(corrupt))
        .transpose()?
        .ok_or_else(|| corrupt(format!("a configuration version without `{attribute}`")))?;
    let saved_at = text(item, SAVED_AT)
        .map(|at| at.parse::<DateTime<Utc>>().map_err(corrupt))
        .transpose()?;
    Ok(ConfigVersion {
        version: number(item, "version"),
        saved_at,
        saved_by: text(item, SAVED_BY),
        restored_from: item.contains_key(RESTORED_FROM).then(|| number(item, RESTORED_FROM)),
        document,
    })
}

impl DynamoStore {
    /// Writes `current` as the document in use and `version` into its history, both
    /// or neither (see the module's doc).
    pub(crate) async fn write_config_version(
        &self,
        items: &ConfigItems,
        current: &Value,
        version: &ConfigVersion,
    ) -> Result<Saved, StoreError> {
        let in_use = HashMap::from([
            (PK.to_string(), s(&items.pk)),
            (SK.to_string(), s(&items.sk)),
            (items.attribute.to_string(), s(crate::item::json(current)?)),
            (items.version_attribute.to_string(), n(version.version)),
        ]);
        let mut kept = HashMap::from([
            (PK.to_string(), s(&items.history_pk)),
            (SK.to_string(), s(rules_version_sk(version.version))),
            (items.attribute.to_string(), s(crate::item::json(&version.document)?)),
            ("version".to_string(), n(version.version)),
        ]);
        if let Some(at) = version.saved_at {
            kept.insert(SAVED_AT.into(), s(crate::item::timestamp(at)));
        }
        if let Some(by) = &version.saved_by {
            kept.insert(SAVED_BY.into(), s(by));
        }
        if let Some(from) = version.restored_from {
            kept.insert(RESTORED_FROM.into(), n(from));
        }
        let names = [("#v", items.version_attribute)];
        let previous = version.version.saturating_sub(1);
        let in_use = match previous {
            // Also a document stored before versions were kept (no version attribute).
            0 => put(self.table(), in_use, "attribute_not_exists(#v)", &names, vec![])?,
            _ => put(
                self.table(),
                in_use,
                "#v = :previous",
                &names,
                vec![(":previous", n(previous))],
            )?,
        };
        let kept = put(self.table(), kept, "attribute_not_exists(pk)", &[], vec![])?;
        self.transact(vec![in_use, kept]).await
    }
}

impl ConfigHistory for DynamoStore {
    async fn save_config_version(
        &self,
        config: &ConfigId,
        current: &Value,
        version: &ConfigVersion,
    ) -> Result<Saved, StoreError> {
        self.write_config_version(&config_items(config), current, version).await
    }

    async fn config_versions(
        &self,
        config: &ConfigId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ConfigVersion>, StoreError> {
        let items = config_items(config);
        let upper = match before {
            _ if limit == 0 => return Ok(Vec::new()),
            Some(0 | 1) => return Ok(Vec::new()),
            Some(before) => rules_version_sk(before - 1),
            None => AFTER_EVERY_VERSION.to_string(),
        };
        let mut versions = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :last")
                .expression_attribute_values(":pk", s(&items.history_pk))
                .expression_attribute_values(":first", s(VERSION_SK_PREFIX))
                .expression_attribute_values(":last", s(&upper))
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(i32::try_from(limit - versions.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                versions.push(version_from(item, items.attribute)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() || versions.len() >= limit {
                return Ok(versions);
            }
        }
    }

    async fn config_version(&self, config: &ConfigId, version: u64) -> Result<Option<ConfigVersion>, StoreError> {
        let items = config_items(config);
        if version == 0 {
            return Ok(None);
        }
        self.get_item(&items.history_pk, &rules_version_sk(version))
            .await?
            .map(|item| version_from(&item, items.attribute))
            .transpose()
    }
}
