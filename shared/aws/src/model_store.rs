//! DynamoDB adapter for [`ModelStore`]: model versions and the models in service as
//! JSON documents in `CONFIG#models`, and the scored-leads index (`gsi3`) by month. The
//! in-service choice is saved as a versioned document ([`crate::config_history`]).
//!
//! Scorers (dedup-score) ask for the models on every lead, so this adapter keeps model
//! versions (never changed once written) for the sandbox's life and the in-service
//! choice for a minute.

use crate::keys::*;
use crate::paging::KeyRange;
use crate::{item::doc_item, item::from_doc, item::lead_from_item, item::s, item::unavailable, store::DynamoStore};
use chrono::NaiveDate;
use domain::lead::ports::{Page, PageRequest};
use domain::lead::Lead;
use domain::predict::modeling::InService;
use domain::predict::Model;
use domain::{lead::ports::StoreError, predict::ports::ModelStore};
use std::time::{Duration, Instant};

const IN_SERVICE_FOR: Duration = Duration::from_secs(60);

impl ModelStore for DynamoStore {
    async fn save_model(&self, model: &Model) -> Result<(), StoreError> {
        // A version is written once; a retried training run writes a new version.
        self.put_if_absent(doc_item(MODELS_PK.into(), model_sk(model.version), model)?)
            .await
            .map(|_| ())
    }

    async fn model(&self, version: u32) -> Result<Option<Model>, StoreError> {
        if let Some(model) = self.model_cache().versions.lock().unwrap().get(&version) {
            return Ok(Some(model.clone()));
        }
        let found: Option<Model> = self
            .get_item(MODELS_PK, &model_sk(version))
            .await?
            .as_ref()
            .map(from_doc)
            .transpose()?;
        if let Some(model) = &found {
            self.model_cache()
                .versions
                .lock()
                .unwrap()
                .insert(version, model.clone());
        }
        Ok(found)
    }

    async fn models(&self, page: PageRequest<'_>) -> Result<Page<Model>, StoreError> {
        let range = KeyRange::partition(MODELS_PK).prefixed(MODEL_SK_PREFIX);
        let read = self.query_page(&range, page).await?;
        Ok(Page {
            items: read.items.iter().map(from_doc).collect::<Result<_, _>>()?,
            next: read.next,
        })
    }

    async fn latest_model(&self) -> Result<Option<Model>, StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :v)")
            .expression_attribute_values(":pk", s(MODELS_PK))
            .expression_attribute_values(":v", s(MODEL_SK_PREFIX))
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .map_err(unavailable)?;
        out.items().first().map(from_doc).transpose()
    }

    async fn in_service(&self) -> Result<Option<InService>, StoreError> {
        self.get_item(MODELS_PK, MODELS_IN_SERVICE_SK)
            .await?
            .as_ref()
            .map(from_doc)
            .transpose()
    }

    async fn in_service_for_scoring(&self) -> Result<Option<InService>, StoreError> {
        if let Some((read_at, cached)) = self.model_cache().in_service.lock().unwrap().as_ref() {
            if read_at.elapsed() < IN_SERVICE_FOR {
                return Ok(cached.clone());
            }
        }
        let fresh = self.in_service().await?;
        *self.model_cache().in_service.lock().unwrap() = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    async fn cohort(&self, month: NaiveDate) -> Result<Vec<Lead>, StoreError> {
        let first = month.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        let mut leads = Vec::new();
        for shard in 0..COHORT_SHARDS {
            let pk = cohort_partition(first, shard);
            // "~" sorts after every id and timestamp: the whole partition.
            let (keys, _) = self.query_index(GSI3, GSI3_PK, &pk, GSI3_SK, "~", usize::MAX).await?;
            let wanted: Vec<(String, String)> = keys
                .iter()
                .filter_map(|k| Some((k.get(PK)?.as_s().ok()?.clone(), LEAD_SK.to_string())))
                .collect();
            for item in self.batch_get(wanted, true).await? {
                leads.push(lead_from_item(item)?);
            }
        }
        Ok(leads)
    }
}
