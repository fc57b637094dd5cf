//! The rollup function: the table's stream delivers new funnel step records (its
//! mapping's filter passes only those), and each partition's records are folded into
//! the day and month rows exactly once ([`domain::attribution::fold::fold_partition`]).
//!
//! A partition that could not be folded (the store unavailable) is reported from its
//! first record not added. For a stream, Lambda reads the shard again from the lowest
//! reported record, so partitions that did fold are delivered again too and skip what
//! their marks say is folded.

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use domain::attribution::fold::{fold_partition, FoldStore, Sequence};
use leadflow_aws::{metrics, step_stream::step_batch};

/// This function's name in its metrics (its binary's name).
pub const ROLLUP_FUNCTION: &str = "rollup";

pub struct Rollups<S> {
    pub store: S,
}

impl<S: FoldStore> Rollups<S> {
    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        metrics::invoked(ROLLUP_FUNCTION);
        let batch = step_batch(&event);
        if batch.unplaceable > 0 {
            tracing::error!(
                records = batch.unplaceable,
                "stream records without a key or sequence number passed over"
            );
        }
        let mut retry_from: Option<Sequence> = None;
        for partition in &batch.partitions {
            for record in &partition.records {
                if let Err(why) = &record.step {
                    tracing::error!(partition = %partition.key, sequence = record.sequence.as_str(), why, "unreadable step record passed over");
                }
            }
            match fold_partition(&self.store, &partition.key, &partition.records).await {
                Ok(done) => tracing::info!(
                    partition = %partition.key,
                    folded = done.folded,
                    skipped = done.skipped,
                    writes = done.writes,
                    "folded"
                ),
                Err(cut) => {
                    tracing::warn!(partition = %partition.key, from = cut.from.as_str(), folded = cut.done.folded, error = %cut.error, "fold cut short; delivered again from the first record not added");
                    retry_from = Some(match retry_from {
                        Some(lowest) => lowest.min(cut.from),
                        None => cut.from,
                    });
                }
            }
        }
        let mut response = DynamoDbEventResponse::default();
        if let Some(from) = retry_from {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(from.as_str().to_string());
            response.batch_item_failures.push(failure);
        }
        response
    }
}
