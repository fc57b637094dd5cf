//! DynamoDB adapter for [`LeadStore`].

use crate::item::{lead_item, put_item, s, timestamp, touch_item, unavailable};
use crate::keys::*;
use crate::store::DynamoStore;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use domain::lead::ports::{CreateOutcome, LeadStore, NewLead, StoreError};
use domain::lead::{Lead, LeadId, Touchpoint};
use std::collections::HashMap;

/// How long a submission id is remembered for idempotency.
const SUBMISSION_TTL: Duration = Duration::days(90);

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
                writes.push(put_item(self.table(), item, true)?);
                Some(0)
            }
            None => None,
        };
        writes.push(put_item(self.table(), lead_item(lead)?, true)?);
        if let Some(touch) = first_touch {
            writes.push(put_item(self.table(), touch_item(touch)?, false)?);
        }
        writes.extend(crate::rollup::funnel_writes(self.table(), &new.funnel)?);

        let result = self
            .client()
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
