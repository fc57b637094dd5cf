//! DynamoDB adapter for [`ImportStore`], and the tally write dedup-score's commit carries.
//!
//! | item          | pk             | sk              |
//! |---------------|----------------|-----------------|
//! | import job    | `IMPORTS`      | `<import id>` (ULID: newest last) |
//! | chunk result  | `IMPORT#<id>`  | `CHUNK#<000000>` |
//! | dedup tally   | `IMPORT#<id>`  | `TALLY#<0..7>`   |
//! | saved mapping | `CONFIG#import-mappings` | `<name>` (a versioned document: [`crate::config_history`]) |
//!
//! The tally is sharded: thousands of imported leads decided at once would otherwise
//! contend on one item inside their transactions.

use crate::item::text;
use crate::keys::{MAPPINGS_PK, PK, SK};
use crate::paging::KeyRange;
use crate::{item::doc_item, item::from_doc, item::s, item::unavailable, store::DynamoStore};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use domain::import::mapping::Mapping;
use domain::import::{ChunkResult, ImportJob, Tally};
use domain::lead::ports::{Page, PageRequest};
use domain::{import::ports::ImportStore, lead::ports::StoreError, qualify::ports::ImportTally};

const JOBS_PK: &str = "IMPORTS";
const CHUNK_PREFIX: &str = "CHUNK#";
const TALLY_PREFIX: &str = "TALLY#";
const TALLY_SHARDS: u8 = 8;

fn import_pk(id: &str) -> String {
    format!("IMPORT#{id}")
}

/// `ADD <outcome> :one` on a shard of the import's tally, inside dedup's transaction.
pub(crate) fn tally_update(table: &str, tally: &ImportTally) -> Result<TransactWriteItem, StoreError> {
    let shard = tally.lead_id.as_str().bytes().last().map_or(0, |b| b % TALLY_SHARDS);
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(import_pk(&tally.import_id)))
        .key(SK, s(format!("{TALLY_PREFIX}{shard}")))
        .update_expression("ADD #outcome :one")
        .expression_attribute_names("#outcome", tally.outcome.as_str())
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl ImportStore for DynamoStore {
    async fn create_import(&self, job: &ImportJob) -> Result<(), StoreError> {
        self.put(doc_item(JOBS_PK.into(), job.id.clone(), job)?).await
    }

    async fn import_job(&self, id: &str) -> Result<Option<ImportJob>, StoreError> {
        self.get_item(JOBS_PK, id).await?.as_ref().map(from_doc).transpose()
    }

    async fn imports(&self, page: PageRequest<'_>) -> Result<Page<ImportJob>, StoreError> {
        let range = KeyRange {
            newest_first: true,
            ..KeyRange::partition(JOBS_PK)
        };
        let read = self.query_page(&range, page).await?;
        Ok(Page {
            items: read.items.iter().map(from_doc).collect::<Result<_, _>>()?,
            next: read.next,
        })
    }

    async fn put_chunk_result(&self, import_id: &str, result: &ChunkResult) -> Result<bool, StoreError> {
        let sk = format!("{CHUNK_PREFIX}{:06}", result.chunk);
        self.put_if_absent(doc_item(import_pk(import_id), sk, result)?).await
    }

    async fn import_results(&self, import_id: &str) -> Result<(Vec<ChunkResult>, Tally), StoreError> {
        let mut chunks = Vec::new();
        let mut tally = Tally::default();
        for item in self.query_prefix(&import_pk(import_id), "").await? {
            let sk = text(&item, SK).unwrap_or_default();
            if sk.starts_with(CHUNK_PREFIX) {
                chunks.push(from_doc(&item)?);
            } else if sk.starts_with(TALLY_PREFIX) {
                let count = |name: &str| {
                    item.get(name)
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                tally.new += count("new");
                tally.repeat += count("repeat");
                tally.junk += count("junk");
            }
        }
        Ok((chunks, tally))
    }

    async fn mapping(&self, name: &str) -> Result<Option<Mapping>, StoreError> {
        self.get_item(MAPPINGS_PK, name)
            .await?
            .as_ref()
            .map(from_doc)
            .transpose()
    }

    async fn mappings(&self, page: PageRequest<'_>) -> Result<Page<Mapping>, StoreError> {
        let read = self.query_page(&KeyRange::partition(MAPPINGS_PK), page).await?;
        Ok(Page {
            items: read.items.iter().map(from_doc).collect::<Result<_, _>>()?,
            next: read.next,
        })
    }
}
