//! DynamoDB adapter for [`JobStore`]: roster jobs and each lead's outcome in one.
//!
//! | item        | pk          | sk             |
//! |-------------|-------------|----------------|
//! | job         | `JOB#<id>`  | `JOB`          |
//! | lead outcome | `JOB#<id>` | `LEAD#<lead id>` |
//!
//! The job item keeps what was asked as JSON (`doc`, written once), its progress as
//! attributes (`status`, `chunk`, `cursor`, `next_queued`, `error`, `updated_at`, moved
//! by an update conditional on the chunk and status read), and one counter per outcome
//! (`count#to_rep`, `count#skipped.not_owned`…). A lead's outcome item is put only if
//! absent, in the same transaction that adds to its counter (and, for a move, that
//! commits the lead: [`job_mark_writes`] inside `commit_change`), so each lead counts
//! once per job whatever the deliveries.

use crate::item::{doc_item, from_doc, n, number, s, text, timestamp, unavailable, Item};
use crate::keys::{job_lead_sk, job_pk, JOB_SK, PK, SK, WRITE_ID};
use crate::store::DynamoStore;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use domain::assign::ports::JobMark;
use domain::lead::ports::{Saved, StoreError};
use domain::lead::LeadId;
use domain::roster::job::{Job, JobSpec, JobStatus, Progress};
use domain::roster::ports::JobStore;
use std::collections::{BTreeMap, HashMap};

const COUNT_PREFIX: &str = "count#";

fn status_of(text: &str) -> Result<JobStatus, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|e| StoreError::Corrupt(format!("job status {text}: {e}")))
}

fn progress_of(item: &Item) -> Result<Progress, StoreError> {
    let updated_at = text(item, "updated_at")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| StoreError::Corrupt("job without updated_at".into()))?;
    Ok(Progress {
        status: status_of(&text(item, "status").unwrap_or_default())?,
        chunk: number(item, "chunk"),
        cursor: text(item, "cursor"),
        next_queued: item
            .get("next_queued")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        error: text(item, "error"),
        updated_at,
    })
}

/// The progress attributes as `SET`/`REMOVE` clauses, names and values, stamped with
/// `write_id` (see `save_progress`).
fn progress_update(
    progress: &Progress,
    write_id: &str,
) -> (String, HashMap<String, String>, HashMap<String, AttributeValue>) {
    let names = HashMap::from([
        ("#write_id".to_string(), WRITE_ID.to_string()),
        ("#status".to_string(), "status".to_string()),
        ("#chunk".to_string(), "chunk".to_string()),
        ("#next".to_string(), "next_queued".to_string()),
        ("#updated".to_string(), "updated_at".to_string()),
        ("#cursor".to_string(), "cursor".to_string()),
        ("#error".to_string(), "error".to_string()),
    ]);
    let mut values = HashMap::from([
        (":status".to_string(), s(progress.status.as_str())),
        (":chunk".to_string(), n(progress.chunk)),
        (":next".to_string(), AttributeValue::Bool(progress.next_queued)),
        (":updated".to_string(), s(timestamp(progress.updated_at))),
        (":write_id".to_string(), s(write_id)),
    ]);
    let mut sets = vec![
        "#write_id = :write_id",
        "#status = :status",
        "#chunk = :chunk",
        "#next = :next",
        "#updated = :updated",
    ];
    let mut removes = Vec::new();
    match &progress.cursor {
        Some(cursor) => {
            sets.push("#cursor = :cursor");
            values.insert(":cursor".into(), s(cursor.clone()));
        }
        None => removes.push("#cursor"),
    }
    match &progress.error {
        Some(error) => {
            sets.push("#error = :error");
            values.insert(":error".into(), s(error.clone()));
        }
        None => removes.push("#error"),
    }
    let mut expression = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    (expression, names, values)
}

/// The writes that record a lead's outcome once and count it: the outcome item (only
/// if absent) and `ADD count#<outcome> 1` on the job (which must exist).
pub(crate) fn job_mark_writes(table: &str, mark: &JobMark) -> Result<Vec<TransactWriteItem>, StoreError> {
    let outcome: Item = HashMap::from([
        (PK.to_string(), s(job_pk(&mark.job_id))),
        (SK.to_string(), s(job_lead_sk(&mark.lead_id))),
        ("outcome".to_string(), s(mark.outcome.clone())),
        ("at".to_string(), s(timestamp(mark.at))),
    ]);
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(outcome))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(unavailable)?;
    let count = Update::builder()
        .table_name(table)
        .key(PK, s(job_pk(&mark.job_id)))
        .key(SK, s(JOB_SK))
        .update_expression("ADD #count :one")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#count", format!("{COUNT_PREFIX}{}", mark.outcome))
        .expression_attribute_values(":one", n(1))
        .build()
        .map_err(unavailable)?;
    Ok(vec![
        TransactWriteItem::builder().put(put).build(),
        TransactWriteItem::builder().update(count).build(),
    ])
}

impl JobStore for DynamoStore {
    async fn create_job(&self, spec: &JobSpec, progress: &Progress) -> Result<(), StoreError> {
        let mut item = doc_item(job_pk(&spec.id), JOB_SK.into(), spec)?;
        item.insert("status".into(), s(progress.status.as_str()));
        item.insert("chunk".into(), n(progress.chunk));
        item.insert("next_queued".into(), AttributeValue::Bool(progress.next_queued));
        item.insert("updated_at".into(), s(timestamp(progress.updated_at)));
        if !self.put_if_absent(item).await? {
            return Err(StoreError::Corrupt(format!("job {} exists already", spec.id)));
        }
        Ok(())
    }

    async fn job(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let Some(item) = self.get_item(&job_pk(id), JOB_SK).await? else {
            return Ok(None);
        };
        let counters: BTreeMap<String, u64> = item
            .keys()
            .filter_map(|k| Some((k.strip_prefix(COUNT_PREFIX)?.to_string(), number(&item, k))))
            .collect();
        Ok(Some(Job {
            spec: from_doc(&item)?,
            progress: progress_of(&item)?,
            counters,
        }))
    }

    /// Like `DynamoStore::put_once`: the SDK sends the update again when its answer is
    /// lost, and the retry fails its own condition (the chunk it expected has moved on).
    /// Taken for a conflict, that would stop the job until resumed by hand; the update's
    /// own `write_id`, read back, says it was applied.
    async fn save_progress(&self, id: &str, expected: &Progress, next: &Progress) -> Result<Saved, StoreError> {
        let write_id = ulid::Ulid::new().to_string();
        let (expression, names, mut values) = progress_update(next, &write_id);
        values.insert(":was_status".into(), s(expected.status.as_str()));
        values.insert(":was_chunk".into(), n(expected.chunk));
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PK, s(job_pk(id)))
            .key(SK, s(JOB_SK))
            .update_expression(expression)
            .condition_expression("#status = :was_status AND #chunk = :was_chunk")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Saved::Saved),
            // A conflict with a chunk's transaction counting an outcome on the job item
            // is answered the same way: read back, ours or not.
            Err(SdkError::ServiceError(e))
                if e.err().is_conditional_check_failed_exception() || e.err().is_transaction_conflict_exception() =>
            {
                self.saved_if_ours(&job_pk(id), JOB_SK, &write_id).await
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn record_outcome(&self, mark: &JobMark) -> Result<bool, StoreError> {
        // A cancelled transaction is the outcome already there, or another delivery's
        // write on the job's counters at the same moment: only the first ends it.
        for attempt in 0..10u32 {
            if self.transact(job_mark_writes(self.table(), mark)?).await? == Saved::Saved {
                return Ok(true);
            }
            if self.has_outcome(&mark.job_id, &mark.lead_id).await? {
                return Ok(false);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt + 1))).await;
        }
        Err(StoreError::Unavailable(format!(
            "job {}: the outcome of lead {} collided with other writes; retry",
            mark.job_id, mark.lead_id
        )))
    }

    async fn has_outcome(&self, job_id: &str, lead: &LeadId) -> Result<bool, StoreError> {
        Ok(self.get_item(&job_pk(job_id), &job_lead_sk(lead)).await?.is_some())
    }
}
