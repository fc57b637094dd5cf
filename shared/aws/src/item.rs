//! DynamoDB items and transaction writes, shared by every adapter: attribute values,
//! JSON documents, how a lead and a touch are stored as items, and the puts a
//! transaction is made of. Nothing here talks to DynamoDB; [`crate::store`] does.

use crate::keys::*;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, SecondsFormat, Utc};
use domain::lead::ports::StoreError;
use domain::lead::{Lead, Stage, Touchpoint};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

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

/// A lead as its item, index keys included (public for benchmark seeding).
pub fn lead_item(lead: &Lead) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(lead).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.insert(PK.into(), s(lead_pk(&lead.id)));
    item.insert(SK.into(), s(LEAD_SK));
    // The two sparse index entries never overlap: a lead waits in a pool only once
    // it has left `received`.
    if lead.stage == Stage::Received {
        item.insert(GSI1_PK.into(), s(outbox_pk(lead.id.shard(OUTBOX_SHARDS))));
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
    // The list indexes: the lead's place, its timeline bucket and its positions.
    {
        use domain::workspace::index::{place, position, timeline, Order};
        item.insert(PLACE.into(), s(list_partition(&place(lead))));
        item.insert(MADE.into(), s(list_partition(&timeline(lead))));
        for (attribute, order) in [
            (BY_CREATED, Order::Created),
            (BY_DUE, Order::Due),
            (BY_SCORE, Order::Score),
        ] {
            if let Some(at) = position(lead, order) {
                item.insert(attribute.into(), s(at));
            }
        }
    }
    if let Some(next) = lead.sla_next_check {
        // Never in a bucket older than now: the sweep's cursor may already be past it.
        item.insert(GSI2_PK.into(), s(due_partition(next.max(lead.updated_at), &lead.id)));
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

/// A put in a transaction; `only_if_new` adds the condition that the item does not exist.
pub(crate) fn put_item(table: &str, item: Item, only_if_new: bool) -> Result<TransactWriteItem, StoreError> {
    let mut put = Put::builder().table_name(table).set_item(Some(item));
    if only_if_new {
        put = put.condition_expression("attribute_not_exists(pk)");
    }
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(unavailable)?)
        .build())
}

pub(crate) fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub(crate) fn conditional_put(
    table: &str,
    item: Item,
    condition: &str,
    values: Vec<(&str, AttributeValue)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition);
    for (name, value) in values {
        put = put.expression_attribute_values(name, value);
    }
    if condition.contains("#v") {
        put = put.expression_attribute_names("#v", "version");
    }
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(unavailable)?)
        .build())
}

pub(crate) fn plain_put(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn number(item: &Item, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
