//! DynamoDB adapter for [`TouchStore`]: touchpoints under their lead, and anonymous
//! ones under their visitor key until the visitor identifies.

use crate::keys::*;
use crate::{item::s, item::touch_item, item::unavailable, store::DynamoStore};
use domain::lead::{LeadId, Touchpoint};
use domain::{lead::ports::StoreError, lead::ports::TouchStore};

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
