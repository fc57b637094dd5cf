//! DynamoDB adapter for [`HookStore`]: push sources and used push signatures.
//!
//! | item             | pk                   | sk                  |
//! |------------------|----------------------|---------------------|
//! | push source      | `CONFIG#hooks`       | `<source name>`     |
//! | used signature   | `HOOKSIG#<source>`   | `<signature hex>` (TTL `expires_at`) |
//!
//! Sources are saved as versioned documents ([`crate::config_history`]). Secrets sit in
//! the source item in use only: the table is encrypted at rest, the API never returns
//! them, nothing logs them, and a source's versions keep their fingerprints only.

use crate::keys::{HOOKS_PK as SOURCES_PK, PK, SK, TTL};
use crate::paging::KeyRange;
use crate::{item::from_doc, item::s, store::DynamoStore};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::capture::hooks::HookSource;
use domain::lead::ports::{Page, PageRequest};
use domain::{capture::ports::HookStore, lead::ports::StoreError};
use std::collections::HashMap;

fn signature_pk(source: &str) -> String {
    format!("HOOKSIG#{source}")
}

impl HookStore for DynamoStore {
    async fn hook_source(&self, name: &str) -> Result<Option<HookSource>, StoreError> {
        self.get_item(SOURCES_PK, name)
            .await?
            .as_ref()
            .map(from_doc)
            .transpose()
    }

    async fn hook_sources(&self, page: PageRequest<'_>) -> Result<Page<HookSource>, StoreError> {
        let read = self.query_page(&KeyRange::partition(SOURCES_PK), page).await?;
        Ok(Page {
            items: read.items.iter().map(from_doc).collect::<Result<_, _>>()?,
            next: read.next,
        })
    }

    async fn claim_push(&self, source: &str, signature: &str, expires_at: DateTime<Utc>) -> Result<bool, StoreError> {
        let item = HashMap::from([
            (PK.to_string(), s(signature_pk(source))),
            (SK.to_string(), s(signature)),
            (TTL.to_string(), AttributeValue::N(expires_at.timestamp().to_string())),
        ]);
        // TTL deletion lags, but an expired record guards nothing: its timestamp is
        // refused as stale before the claim is tried.
        self.put_if_absent(item).await
    }

    async fn release_push(&self, source: &str, signature: &str) -> Result<(), StoreError> {
        self.delete(&signature_pk(source), signature).await
    }
}
