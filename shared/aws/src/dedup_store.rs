//! DynamoDB adapter for [`DedupStore`]: dedup keys (claimed one by one or in a commit,
//! and released), customers, company blocks (of leads' and of customers' cores), the
//! all-or-nothing commit of one dedup decision, and the records that follow it (funnel
//! steps, repeat links).

use crate::item::{conditional_put, plain_put, text};
use crate::keys::*;
use crate::{item::lead_item, item::s, item::timestamp, item::Item, store::DynamoStore};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use domain::lead::LeadId;
use domain::{
    lead::ports::Saved, lead::ports::StoreError, qualify::customer::Customer, qualify::ports::DecisionRecords,
    qualify::ports::DedupCommit, qualify::ports::DedupStore, qualify::ports::KeyClaim,
};
use domain::{
    qualify::dedup::blocking_key, qualify::dedup::CustomerMatch, qualify::dedup::Holder, qualify::dedup::KeyKind,
    qualify::dedup::MatchKey,
};
use std::collections::HashMap;

/// The attribute naming the lead a key or block entry belongs to.
const LEAD_ID: &str = "lead_id";

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

impl DynamoStore {
    /// Writes an erasure's copy of a customer (its item only: its other keys stay) and
    /// deletes the keys of `phones` that still name it.
    pub(crate) async fn scrub_customer(&self, customer: &Customer, phones: &[String]) -> Result<(), StoreError> {
        let mut item: Item = serde_dynamo::to_item(customer).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        item.insert(PK.into(), s(customer_pk(&customer.id)));
        item.insert(SK.into(), s(CUSTOMER_SK));
        self.put(item).await?;
        for phone in phones {
            // Another customer's key now, or gone: not ours to delete.
            self.delete_if(
                customer_key_pk("phone", phone),
                CUSTOMER_KEY_SK,
                "customer_id",
                &customer.id,
            )
            .await?;
        }
        Ok(())
    }

    /// Single puts if absent: a step record put again would show the fold an INSERT only
    /// if it had never been stored, and the fold counts nothing else. `again` (a
    /// redelivery): a step recorded before the day's records were spread over shards is
    /// in the day's one partition, read first (a read, not a second count).
    async fn write_records(&self, records: &DecisionRecords, again: bool) -> Result<(), StoreError> {
        for step in &records.funnel {
            let item = crate::rollup::step_item(step)?;
            if again {
                let sk = text(&item, SK).unwrap_or_default();
                if self.get_item(&funnel_step_unsharded_pk(step.day), &sk).await?.is_some() {
                    continue;
                }
            }
            self.put_unless_stored(item).await?;
        }
        if let Some((source, repeat)) = &records.repeat_link {
            self.put_unless_stored(HashMap::from([
                (PK.to_string(), s(lead_pk(source))),
                (SK.to_string(), s(format!("{REPEAT_SK_PREFIX}{repeat}"))),
                ("repeat_id".to_string(), s(repeat.as_str())),
            ]))
            .await?;
        }
        Ok(())
    }
}

/// A key claim as a conditional put ([`KeyClaim`]'s condition). Without a window, only
/// free keys and the claimant's own (and the lead it takes over from) are taken.
fn claim_write(
    table: &str,
    claim: &KeyClaim,
    window_start: Option<DateTime<Utc>>,
) -> Result<TransactWriteItem, StoreError> {
    let item = HashMap::from([
        (PK.to_string(), s(key_pk(&claim.key.storage_key()))),
        (SK.to_string(), s(KEY_SK)),
        (LEAD_ID.to_string(), s(claim.lead_id.as_str())),
        ("since".to_string(), s(timestamp(claim.since))),
    ]);
    let window = window_start.map_or_else(|| timestamp(DateTime::<Utc>::MIN_UTC), timestamp);
    // Naming the claimant again when nothing is taken over keeps one expression.
    let taking_over = claim.taking_over.as_ref().unwrap_or(&claim.lead_id);
    conditional_put(
        table,
        item,
        "attribute_not_exists(pk) OR lead_id IN (:lead, :from) OR since < :window",
        vec![
            (":lead", s(claim.lead_id.as_str())),
            (":from", s(taking_over.as_str())),
            (":window", s(window)),
        ],
    )
}

impl DedupStore for DynamoStore {
    async fn key_holders(&self, keys: &[MatchKey]) -> Result<Vec<Holder>, StoreError> {
        let wanted = keys
            .iter()
            .map(|k| (key_pk(&k.storage_key()), KEY_SK.to_string()))
            .collect();
        let mut holders = Vec::new();
        for item in self.batch_get(wanted, true).await? {
            let storage_key = text(&item, PK).unwrap_or_default();
            let Some((kind, value)) = storage_key.strip_prefix("KEY#").and_then(key_kind) else {
                continue;
            };
            let lead_id = text(&item, LEAD_ID).and_then(|id| LeadId::parse(&id));
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
        let found = self.batch_get(wanted, true).await?;
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
        // A person's customer (a ToC hand-off) has no company to be found by.
        if !customer.company_core.is_empty() {
            writes.push(plain_put(
                self.table(),
                key_item(customer_key_pk("company", &customer.company_core)),
            )?);
            let mut block_item = key_item(customer_block_pk(&blocking_key(&customer.company_core)));
            block_item.insert(SK.to_string(), s(customer.company_core.clone()));
            writes.push(plain_put(self.table(), block_item)?);
        }
        for phone in &customer.contact_phones {
            writes.push(plain_put(self.table(), key_item(customer_key_pk("phone", phone)))?);
        }
        match self.transact(writes).await? {
            Saved::Saved => Ok(()),
            Saved::Conflict => Err(StoreError::Unavailable("customer write conflicted; retry".into())),
        }
    }

    async fn customer_block(&self, block: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .query_prefix(&customer_block_pk(block), "")
            .await?
            .iter()
            .filter_map(|i| text(i, SK))
            .collect())
    }

    async fn company_block(&self, block: &str) -> Result<Vec<(String, LeadId)>, StoreError> {
        Ok(self
            .query_prefix(&block_pk(block), "")
            .await?
            .iter()
            .filter_map(|i| Some((text(i, SK)?, LeadId::parse(&text(i, LEAD_ID)?)?)))
            .collect())
    }

    async fn commit(&self, commit: &DedupCommit) -> Result<Saved, StoreError> {
        let table = self.table();
        let mut writes = Vec::new();
        for (lead, expected) in &commit.leads {
            writes.push(conditional_put(
                table,
                lead_item(lead)?,
                "#v = :expected",
                vec![(":expected", AttributeValue::N(expected.to_string()))],
            )?);
        }
        for claim in &commit.claims {
            writes.push(claim_write(table, claim, commit.window_start)?);
        }
        if let Some(tally) = &commit.import_tally {
            writes.push(crate::import_store::tally_update(table, tally)?);
        }
        // A commit of one lead is sent as its conditional put, billed once.
        self.transact(writes).await
    }

    async fn record(&self, records: &DecisionRecords) -> Result<(), StoreError> {
        self.write_records(records, false).await
    }

    async fn record_again(&self, records: &DecisionRecords) -> Result<(), StoreError> {
        self.write_records(records, true).await
    }

    async fn register_company(&self, block: &str, core: &str, lead: &LeadId) -> Result<(), StoreError> {
        self.put(HashMap::from([
            (PK.to_string(), s(block_pk(block))),
            (SK.to_string(), s(core)),
            (LEAD_ID.to_string(), s(lead.as_str())),
        ]))
        .await
    }

    async fn unregister_company(&self, block: &str, core: &str, lead: &LeadId) -> Result<(), StoreError> {
        self.delete_if(block_pk(block), core, LEAD_ID, lead.as_str())
            .await
            .map(|_| ())
    }

    async fn claim_key(&self, claim: &KeyClaim, window_start: DateTime<Utc>) -> Result<Saved, StoreError> {
        // One put: sent as that put, billed once ([`DynamoStore::transact`]).
        self.transact(vec![claim_write(self.table(), claim, Some(window_start))?])
            .await
    }

    async fn release_keys(&self, keys: &[(MatchKey, LeadId)]) -> Result<usize, StoreError> {
        let mut released = 0;
        for (key, lead) in keys {
            if self
                .delete_if(key_pk(&key.storage_key()), KEY_SK, LEAD_ID, lead.as_str())
                .await?
            {
                released += 1;
            }
        }
        Ok(released)
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
