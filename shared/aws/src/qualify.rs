//! DynamoDB adapter for the qualification ports: dedup keys, customers, company blocks,
//! versioned rules and touches.

use crate::dynamo::{lead_item, s, timestamp, touch_item, unavailable, DynamoStore, Item};
use crate::keys::*;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use domain::lead::{LeadId, Touchpoint};
use domain::qualify::rules::Rules;
use domain::{
    lead::ports::Saved, lead::ports::StoreError, lead::ports::TouchStore, qualify::ports::Customer,
    qualify::ports::DedupCommit, qualify::ports::DedupStore, qualify::ports::RulesStore,
};
use domain::{
    qualify::dedup::CustomerMatch, qualify::dedup::Holder, qualify::dedup::KeyKind, qualify::dedup::MatchKey,
};
use std::collections::HashMap;

fn key_kind(storage_key: &str) -> Option<(KeyKind, String)> {
    let (kind, value) = storage_key.split_once('#')?;
    let kind = match kind {
        "phone" => KeyKind::Phone,
        "email" => KeyKind::Email,
        "wechat" => KeyKind::Wechat,
        "company" => KeyKind::Company,
        _ => return None,
    };
    Some((kind, value.to_string()))
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

/// Runs a transaction; a failed condition (or a concurrent transaction on the same
/// items) is a conflict to retry, not an error.
pub(crate) async fn transact(store: &DynamoStore, writes: Vec<TransactWriteItem>) -> Result<Saved, StoreError> {
    match store
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

impl DynamoStore {
    pub(crate) async fn batch_get(&self, keys: Vec<(String, String)>) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        for chunk in keys.chunks(100) {
            let mut request = KeysAndAttributes::builder().consistent_read(true);
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
    /// (or none, for version 1), and keeps every version readable (`V#…`).
    pub(crate) async fn save_versioned_document<T: serde::Serialize>(
        &self,
        pk: &str,
        attribute: &str,
        version: u64,
        document: &T,
    ) -> Result<Saved, StoreError> {
        let json = serde_json::to_string(document).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let item = |sk: String| {
            HashMap::from([
                (PK.to_string(), s(pk)),
                (SK.to_string(), s(sk)),
                ("version".to_string(), AttributeValue::N(version.to_string())),
                (attribute.to_string(), s(json.clone())),
            ])
        };
        let previous = version.saturating_sub(1);
        let (condition, values) = if previous == 0 {
            ("attribute_not_exists(pk)", vec![])
        } else {
            ("#v = :prev", vec![(":prev", AttributeValue::N(previous.to_string()))])
        };
        let writes = vec![
            conditional_put(self.table(), item(RULES_CURRENT_SK.to_string()), condition, values)?,
            // History: every version stays readable.
            conditional_put(
                self.table(),
                item(rules_version_sk(version)),
                "attribute_not_exists(pk)",
                vec![],
            )?,
        ];
        transact(self, writes).await
    }
}

impl RulesStore for DynamoStore {
    async fn rules(&self) -> Result<Rules, StoreError> {
        Ok(self.versioned_document(RULES_PK, "rules").await?.unwrap_or_default())
    }

    async fn save_rules(&self, rules: &Rules) -> Result<Saved, StoreError> {
        self.save_versioned_document(RULES_PK, "rules", rules.version.into(), rules)
            .await
    }
}

impl DedupStore for DynamoStore {
    async fn key_holders(&self, keys: &[MatchKey]) -> Result<Vec<Holder>, StoreError> {
        let wanted = keys
            .iter()
            .map(|k| (key_pk(&k.storage_key()), KEY_SK.to_string()))
            .collect();
        let mut holders = Vec::new();
        for item in self.batch_get(wanted).await? {
            let storage_key = text(&item, PK).unwrap_or_default();
            let Some((kind, value)) = storage_key.strip_prefix("KEY#").and_then(key_kind) else {
                continue;
            };
            let lead_id = text(&item, "lead_id").and_then(|id| LeadId::parse(&id));
            let since = text(&item, "since").and_then(|t| t.parse::<DateTime<Utc>>().ok());
            if let (Some(lead_id), Some(since)) = (lead_id, since) {
                holders.push(Holder {
                    key: MatchKey { kind, value },
                    lead_id,
                    since,
                });
            }
        }
        Ok(holders)
    }

    async fn customer_match(
        &self,
        phone: Option<&str>,
        company_core: Option<&str>,
    ) -> Result<Option<CustomerMatch>, StoreError> {
        let mut wanted = Vec::new();
        if let Some(core) = company_core {
            wanted.push((customer_key_pk("company", core), CUSTOMER_KEY_SK.to_string()));
        }
        if let Some(phone) = phone {
            wanted.push((customer_key_pk("phone", phone), CUSTOMER_KEY_SK.to_string()));
        }
        if wanted.is_empty() {
            return Ok(None);
        }
        let found = self.batch_get(wanted).await?;
        // DOMAIN order: (1) company before (2) phone.
        let pick = |kind: &str| {
            found
                .iter()
                .find(|i| text(i, PK).is_some_and(|pk| pk.starts_with(&format!("CKEY#{kind}#"))))
        };
        let (item, via) = match (pick("company"), pick("phone")) {
            (Some(i), _) => (i, KeyKind::Company),
            (None, Some(i)) => (i, KeyKind::Phone),
            (None, None) => return Ok(None),
        };
        let customer_id = text(item, "customer_id").unwrap_or_default();
        let customer = self.get_item(&customer_pk(&customer_id), CUSTOMER_SK).await?;
        let owner = customer.as_ref().and_then(|i| text(i, "owner"));
        Ok(Some(CustomerMatch {
            customer_id,
            owner,
            via,
        }))
    }

    async fn put_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let mut item: Item = serde_dynamo::to_item(customer).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        item.insert(PK.into(), s(customer_pk(&customer.id)));
        item.insert(SK.into(), s(CUSTOMER_SK));
        let mut writes = vec![plain_put(self.table(), item)?];
        let key_item = |pk: String| {
            HashMap::from([
                (PK.to_string(), s(pk)),
                (SK.to_string(), s(CUSTOMER_KEY_SK)),
                ("customer_id".to_string(), s(customer.id.clone())),
            ])
        };
        writes.push(plain_put(
            self.table(),
            key_item(customer_key_pk("company", &customer.company_core)),
        )?);
        for phone in &customer.contact_phones {
            writes.push(plain_put(self.table(), key_item(customer_key_pk("phone", phone)))?);
        }
        match transact(self, writes).await? {
            Saved::Saved => Ok(()),
            Saved::Conflict => Err(StoreError::Unavailable("customer write conflicted; retry".into())),
        }
    }

    async fn company_block(&self, block: &str) -> Result<Vec<(String, LeadId)>, StoreError> {
        Ok(self
            .query_prefix(&block_pk(block), "")
            .await?
            .iter()
            .filter_map(|i| Some((text(i, SK)?, LeadId::parse(&text(i, "lead_id")?)?)))
            .collect())
    }

    async fn commit(&self, commit: &DedupCommit) -> Result<Saved, StoreError> {
        let table = self.table();
        let mut writes = Vec::new();
        let counting = crate::analytics::funnel_writes(table, &commit.funnel)?;
        for (lead, expected) in &commit.leads {
            writes.push(conditional_put(
                table,
                lead_item(lead)?,
                "#v = :expected",
                vec![(":expected", AttributeValue::N(expected.to_string()))],
            )?);
        }
        for claim in &commit.claims {
            let item = HashMap::from([
                (PK.to_string(), s(key_pk(&claim.key.storage_key()))),
                (SK.to_string(), s(KEY_SK)),
                ("lead_id".to_string(), s(claim.lead_id.as_str())),
                ("since".to_string(), s(timestamp(claim.since))),
            ]);
            let window = commit
                .window_start
                .map_or_else(|| timestamp(DateTime::<Utc>::MIN_UTC), timestamp);
            writes.push(conditional_put(
                table,
                item,
                "attribute_not_exists(pk) OR lead_id = :lead OR since < :window",
                vec![(":lead", s(claim.lead_id.as_str())), (":window", s(window))],
            )?);
        }
        if let Some((block, core, lead)) = &commit.company_block {
            let item = HashMap::from([
                (PK.to_string(), s(block_pk(block))),
                (SK.to_string(), s(core.clone())),
                ("lead_id".to_string(), s(lead.as_str())),
            ]);
            writes.push(plain_put(table, item)?);
        }
        if let Some((source, repeat)) = &commit.repeat_link {
            let item = HashMap::from([
                (PK.to_string(), s(lead_pk(source))),
                (SK.to_string(), s(format!("{REPEAT_SK_PREFIX}{repeat}"))),
                ("repeat_id".to_string(), s(repeat.as_str())),
            ]);
            writes.push(plain_put(table, item)?);
        }
        if let Some(tally) = &commit.import_tally {
            writes.push(crate::imports::tally_update(table, tally)?);
        }
        writes.extend(counting);
        transact(self, writes).await
    }

    async fn repeats_of(&self, source: &LeadId) -> Result<Vec<LeadId>, StoreError> {
        Ok(self
            .query_prefix(&lead_pk(source), REPEAT_SK_PREFIX)
            .await?
            .iter()
            .filter_map(|i| LeadId::parse(&text(i, "repeat_id")?))
            .collect())
    }
}

impl TouchStore for DynamoStore {
    async fn put_touch(&self, touch: &Touchpoint) -> Result<bool, StoreError> {
        self.put_if_absent(touch_item(touch)?).await
    }

    async fn anonymous_touches(&self, anon_key: &str) -> Result<Vec<Touchpoint>, StoreError> {
        self.query_prefix(&anon_pk(anon_key), TOUCH_SK_PREFIX)
            .await?
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    async fn adopt_touches(&self, lead: &LeadId, touches: &[Touchpoint]) -> Result<(), StoreError> {
        for touch in touches {
            let mut adopted = touch.clone();
            adopted.lead_id = Some(lead.clone());
            // Written under the lead first, then removed from the anonymous pool: a crash in
            // between leaves a copy that the next run adopts again under the same id.
            self.client()
                .put_item()
                .table_name(self.table())
                .set_item(Some(touch_item(&adopted)?))
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(key) = &touch.anon_key {
                self.client()
                    .delete_item()
                    .table_name(self.table())
                    .key(PK, s(anon_pk(key)))
                    .key(SK, s(touch_sk(&touch.id)))
                    .send()
                    .await
                    .map_err(unavailable)?;
            }
        }
        Ok(())
    }
}
