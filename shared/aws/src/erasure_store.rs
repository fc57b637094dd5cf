//! DynamoDB adapter for [`ErasureStore`].
//!
//! | item             | pk                 | sk        |
//! |------------------|--------------------|-----------|
//! | erasure record   | `ERASURE#<id>`     | `ERASURE` (JSON `doc`, `status`) |
//! | audit hash key   | `CONFIG#erasure`   | `KEY` (binary `key`) |
//!
//! The hash key sits in the table like the push secrets do (encrypted at rest, never
//! returned by the API): the audit's hashes keep identifiers out of every record, but
//! whoever can read the whole table can test a guessed number against them.

use crate::item::conditional_put;
use crate::keys::*;
use crate::store::saved_unless_refused;
use crate::{
    item::doc_item, item::from_doc, item::lead_from_item, item::lead_item, item::s, item::touch_item,
    item::unavailable, item::Item, store::DynamoStore,
};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use domain::lead::Lead;
use domain::{
    lead::ports::LeadStore, lead::ports::Saved, lead::ports::StoreError, privacy::ports::ErasureStore,
    privacy::ports::LeadErasure, privacy::ports::LeadScan,
};
use domain::{privacy::erasure::ErasureRecord, privacy::erasure::ErasureStatus};
use std::collections::HashMap;

const KEY_PK: &str = "CONFIG#erasure";
const KEY_ITEM_SK: &str = "KEY";
const RECORD_SK: &str = "ERASURE";

fn record_pk(id: &str) -> String {
    format!("ERASURE#{id}")
}

fn status(record: &ErasureRecord) -> &'static str {
    match record.status {
        ErasureStatus::Running => "running",
        ErasureStatus::Done => "done",
    }
}

fn record_item(record: &ErasureRecord) -> Result<Item, StoreError> {
    let mut item = doc_item(record_pk(&record.id), RECORD_SK.into(), record)?;
    item.insert("status".into(), s(status(record)));
    Ok(item)
}

impl DynamoStore {
    async fn remove_attributes(&self, pk: String, sk: String, attributes: &str) -> Result<(), StoreError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PK, s(pk))
            .key(SK, s(sk))
            .update_expression(format!("REMOVE {attributes}"))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        // Refused: gone meanwhile, nothing left to erase.
        saved_unless_refused(result).map(|_| ())
    }
}

impl ErasureStore for DynamoStore {
    async fn erasure_key(&self) -> Result<Vec<u8>, StoreError> {
        let read = |item: Option<Item>| {
            item.and_then(|i| i.get("key").and_then(|v| v.as_b().ok()).map(|b| b.as_ref().to_vec()))
        };
        if let Some(key) = read(self.get_item(KEY_PK, KEY_ITEM_SK).await?) {
            return Ok(key);
        }
        // Two first erasures at once: one key wins, both read it back.
        self.put_if_absent(HashMap::from([
            (PK.to_string(), s(KEY_PK)),
            (SK.to_string(), s(KEY_ITEM_SK)),
            (
                "key".to_string(),
                AttributeValue::B(Blob::new(domain::privacy::erasure::new_key())),
            ),
        ]))
        .await?;
        read(self.get_item(KEY_PK, KEY_ITEM_SK).await?)
            .ok_or_else(|| StoreError::Unavailable("erasure key vanished during read-back".into()))
    }

    async fn erasure(&self, id: &str) -> Result<Option<ErasureRecord>, StoreError> {
        self.get_item(&record_pk(id), RECORD_SK)
            .await?
            .as_ref()
            .map(from_doc)
            .transpose()
    }

    async fn claim_erasure(&self, record: &ErasureRecord) -> Result<Option<ErasureRecord>, StoreError> {
        if self.put_if_absent(record_item(record)?).await? {
            return Ok(None);
        }
        self.erasure(&record.id)
            .await?
            .map(Some)
            .ok_or_else(|| StoreError::Unavailable("erasure record vanished during read-back".into()))
    }

    async fn complete_erasure(&self, record: &ErasureRecord) -> Result<Saved, StoreError> {
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(record_item(record)?))
            .condition_expression("#s = :running")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":running", s("running"))
            .send()
            .await;
        saved_unless_refused(result)
    }

    async fn scan_leads(&self, scan: &LeadScan) -> Result<Vec<Lead>, StoreError> {
        // The contact is inside the lead's compressed body, so the filter here keeps the
        // lead items and the scan's own rule picks among them. A scan is billed for every
        // item it reads either way.
        let mut pages = self
            .client()
            .scan()
            .table_name(self.table())
            .filter_expression("#sk = :lead")
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":lead", s(LEAD_SK))
            .into_paginator()
            .send();
        let mut leads = Vec::new();
        while let Some(page) = pages.next().await {
            for item in page.map_err(unavailable)?.items.unwrap_or_default() {
                let lead = lead_from_item(item)?;
                if scan.wants(&lead) {
                    leads.push(lead);
                }
            }
        }
        Ok(leads)
    }

    async fn erase_lead(&self, erasure: &LeadErasure) -> Result<Saved, StoreError> {
        let table = self.table();
        let id = &erasure.lead.id;
        // Touches and notes one by one (a lead may have more than a transaction holds);
        // each write is idempotent, and the lead itself goes last.
        for touch in &erasure.touches {
            self.put(touch_item(touch)?).await?;
        }
        for change in &erasure.owner_change_ids {
            self.remove_attributes(lead_pk(id), owner_change_sk(change), "note")
                .await?;
        }
        for follow_up in &erasure.follow_up_ids {
            self.remove_attributes(lead_pk(id), follow_up_sk(follow_up), "note, bant")
                .await?;
        }
        if let Some(handoff) = &erasure.handoff {
            self.rewrite_handoff(handoff).await?;
        }
        if let Some((customer, phones)) = &erasure.customer {
            self.scrub_customer(customer, phones).await?;
        }
        let counting = crate::rollup::funnel_writes(table, &erasure.funnel)?;
        let mut writes = vec![conditional_put(
            table,
            lead_item(&erasure.lead)?,
            "#v = :expected",
            vec![(":expected", AttributeValue::N(erasure.expected_version.to_string()))],
        )?];
        if let Some(sid) = &erasure.submission_id {
            // Only the record that names this lead (an imported row's record names the
            // first lead of that row).
            if self.lead_for_submission(sid).await?.as_ref() == Some(id) {
                let delete = Delete::builder()
                    .table_name(table)
                    .key(PK, s(submission_pk(sid)))
                    .key(SK, s(SUBMISSION_SK))
                    .condition_expression("lead_id = :lead")
                    .expression_attribute_values(":lead", s(id.as_str()))
                    .build()
                    .map_err(unavailable)?;
                writes.push(TransactWriteItem::builder().delete(delete).build());
            }
        }
        writes.extend(counting);
        self.transact(writes).await
    }
}
