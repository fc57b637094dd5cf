//! DynamoDB adapter for [`HandoffStore`]: a converted lead's hand-off, the outbound
//! webhook subscriptions in use, and a customer by id.
//!
//! | item              | pk                  | sk        |
//! |-------------------|---------------------|-----------|
//! | hand-off          | `HANDOFF#<lead id>` | `HANDOFF` (JSON `doc`, written once; `delivered_to`, a string set) |
//! | subscriptions     | `CONFIG#webhooks`   | `CURRENT` (versioned: [`crate::config_history`]) |
//!
//! `delivered_to` grows by `ADD`, which a set makes idempotent: marking a subscription
//! twice (a redelivered message) leaves it once. An erasure rewrites only `doc`.

use crate::item::{doc_item, from_doc, unavailable};
use crate::keys::*;
use crate::store::DynamoStore;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::handoff::convert::Handoff;
use domain::handoff::outbound::OutboundWebhooks;
use domain::handoff::ports::HandoffStore;
use domain::lead::ports::{Saved, StoreError};
use domain::lead::LeadId;
use domain::qualify::customer::Customer;

const DELIVERED_TO: &str = "delivered_to";

impl DynamoStore {
    /// Replaces a stored hand-off's document (an erasure's scrubbed copy), keeping its
    /// `delivered_to`; nothing if there is none.
    pub(crate) async fn rewrite_handoff(&self, handoff: &Handoff) -> Result<(), StoreError> {
        let doc = serde_json::to_string(handoff).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PK, AttributeValue::S(handoff_pk(&handoff.lead_id)))
            .key(SK, AttributeValue::S(HANDOFF_SK.to_string()))
            .update_expression("SET #doc = :doc")
            .condition_expression("attribute_exists(#doc)")
            .expression_attribute_names("#doc", DOC)
            .expression_attribute_values(":doc", AttributeValue::S(doc))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl HandoffStore for DynamoStore {
    async fn create_handoff(&self, handoff: &Handoff) -> Result<Saved, StoreError> {
        let item = doc_item(handoff_pk(&handoff.lead_id), HANDOFF_SK.to_string(), handoff)?;
        Ok(if self.put_if_absent(item).await? {
            Saved::Saved
        } else {
            Saved::Conflict
        })
    }

    async fn handoff(&self, lead: &LeadId) -> Result<Option<Handoff>, StoreError> {
        let Some(item) = self.get_item(&handoff_pk(lead), HANDOFF_SK).await? else {
            return Ok(None);
        };
        let mut handoff: Handoff = from_doc(&item)?;
        if let Some(AttributeValue::Ss(delivered)) = item.get(DELIVERED_TO) {
            handoff.delivered_to = delivered.clone();
            handoff.delivered_to.sort();
        }
        Ok(Some(handoff))
    }

    async fn mark_delivered(&self, lead: &LeadId, subscription: &str) -> Result<(), StoreError> {
        self.client()
            .update_item()
            .table_name(self.table())
            .key(PK, AttributeValue::S(handoff_pk(lead)))
            .key(SK, AttributeValue::S(HANDOFF_SK.to_string()))
            .update_expression("ADD #d :s")
            .expression_attribute_names("#d", DELIVERED_TO)
            .expression_attribute_values(":s", AttributeValue::Ss(vec![subscription.to_string()]))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn customer(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        self.get_item(&customer_pk(id), CUSTOMER_SK)
            .await?
            .map(|item| serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    async fn outbound_webhooks(&self) -> Result<OutboundWebhooks, StoreError> {
        Ok(self
            .versioned_document(WEBHOOKS_PK, WEBHOOKS_ATTRIBUTE)
            .await?
            .unwrap_or_default())
    }
}
