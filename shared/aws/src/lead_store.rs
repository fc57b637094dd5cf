//! DynamoDB adapter for [`LeadStore`].

use crate::item::{lead_from_item, lead_item, put_item, s, timestamp, touch_item, unavailable};
use crate::keys::*;
use crate::store::DynamoStore;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use domain::lead::ports::{CreateOutcome, LeadStore, NewLead, Saved, StoreError};
use domain::lead::{Lead, LeadId, Touchpoint};
use std::collections::HashMap;

/// How long a submission id is remembered for idempotency.
const SUBMISSION_TTL: Duration = Duration::days(90);

impl DynamoStore {
    /// Claims `sid` for `lead` (or finds it already claimed for `lead`, a retry finishing
    /// it); `Some(other)` when the submission id names another lead.
    async fn claim_submission(&self, sid: &str, lead: &Lead) -> Result<Option<LeadId>, StoreError> {
        let expires = (lead.updated_at + SUBMISSION_TTL).timestamp();
        let item = HashMap::from([
            (PK.to_string(), s(submission_pk(sid))),
            (SK.to_string(), s(SUBMISSION_SK)),
            ("lead_id".to_string(), s(lead.id.as_str())),
            (TTL.to_string(), AttributeValue::N(expires.to_string())),
        ]);
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR lead_id = :lead")
            .expression_attribute_values(":lead", s(lead.id.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let other = self
                    .lead_for_submission(sid)
                    .await?
                    .ok_or_else(|| StoreError::Unavailable("submission record vanished during read-back".into()))?;
                Ok(Some(other))
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl LeadStore for DynamoStore {
    /// Ordered single-item writes, not a transaction (which would bill every item twice):
    /// 1. the submission record, the contended condition: a racer or a retry of the same
    ///    submission stops here, before it has written anything else;
    /// 2. the first touch, keyed by the lead (a lead never written leaves it unread);
    /// 3. the lead, the commit point: once it exists the lead is captured, and the outbox
    ///    index holds it until it is sent on. A lead whose funnel steps count at once (junk
    ///    kept as invalid) is written with its step records in one transaction, as the
    ///    records must not exist without the lead.
    ///
    /// An attempt killed between 1 and 3 leaves a submission record naming a lead that
    /// does not exist; the retry of that submission is told to finish it under that id
    /// ([`CreateOutcome::Unfinished`]).
    async fn create_lead(&self, new: &NewLead) -> Result<CreateOutcome, StoreError> {
        let lead = &new.lead;
        if let Some(sid) = &lead.submission_id {
            if let Some(other) = self.claim_submission(sid, lead).await? {
                return Ok(if self.get_item(&lead_pk(&other), LEAD_SK).await?.is_some() {
                    CreateOutcome::DuplicateSubmission(other)
                } else {
                    CreateOutcome::Unfinished(other)
                });
            }
        }
        if let Some(touch) = &new.first_touch {
            self.put(touch_item(touch)?).await?;
        }
        let mut writes = vec![put_item(self.table(), lead_item(lead)?, true)?];
        writes.extend(crate::rollup::funnel_writes(self.table(), &new.funnel)?);
        // One put alone (the usual case) or with the step records, in a transaction.
        match self.transact(writes).await? {
            Saved::Saved => Ok(CreateOutcome::Created),
            // Only a retry finishing the same submission writes an id twice: it lost to
            // another retry, which finished it first...
            Saved::Conflict if self.get_item(&lead_pk(&lead.id), LEAD_SK).await?.is_some() => {
                Ok(CreateOutcome::DuplicateSubmission(lead.id.clone()))
            }
            // ...or whose transaction is still in flight: answer as unavailable, and the
            // landing page's retry finds the outcome.
            Saved::Conflict => Err(StoreError::Unavailable(format!(
                "lead {} is being written by another attempt at its submission",
                lead.id
            ))),
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
            .map(lead_from_item)
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
                .client()
                .query()
                .table_name(self.table())
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
                if let Some(id) = crate::item::lead_id_of(item) {
                    found.push((sort, id));
                }
            }
        }
        found.sort();
        Ok(found.into_iter().take(limit).map(|(_, id)| id).collect())
    }

    async fn record_redrive(&self, id: &LeadId) -> Result<(), StoreError> {
        self.client()
            .update_item()
            .table_name(self.table())
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
