//! What Lambda's DynamoDB stream event source mapping does, for the emulator's stream:
//! read records in order, keep those its filter passes, hand them to the function in
//! batches, and on a reported failure read again from the failed record.
//!
//! The emulator (moto) keeps one shard per table. Its stream API is called as JSON over
//! HTTP here: the SDK's streams client would be one more crate to build for four calls.
//! Records come back in the shape a Lambda event carries them, so they are passed on
//! as they are.

use crate::invoke::Invoker;
use crate::provision::Provisioned;
use crate::template::{Function, StreamMapping};
use serde_json::{json, Value};
use std::time::Duration;

/// Where to start reading a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    TrimHorizon,
    At(String),
    After(String),
}

/// Reads the emulator's stream of one table.
#[derive(Clone)]
pub struct StreamReader {
    endpoint: String,
    stream_arn: String,
    client: reqwest::Client,
    /// The stream's one shard, looked up on the first read.
    shard: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

impl StreamReader {
    pub fn new(endpoint: &str, stream_arn: &str) -> Self {
        Self {
            endpoint: endpoint.to_string(),
            stream_arn: stream_arn.to_string(),
            client: reqwest::Client::new(),
            shard: Default::default(),
        }
    }

    /// The reader of `table`'s stream as provisioned (`None`: the table has none).
    pub fn of(provisioned: &Provisioned, table: &str) -> Option<Self> {
        let arn = provisioned.bindings.attrs.get(&format!("{table}.StreamArn"))?;
        Some(Self::new(&provisioned.endpoint, arn))
    }

    pub fn stream_arn(&self) -> &str {
        &self.stream_arn
    }

    async fn call(&self, action: &str, body: Value) -> Result<Value, String> {
        let response = self
            .client
            .post(&self.endpoint)
            .header("X-Amz-Target", format!("DynamoDBStreams_20120810.{action}"))
            .header("Content-Type", "application/x-amz-json-1.0")
            // The emulator routes by the signing scope; it checks no signature.
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            )
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("{action}: {e}"))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| format!("{action}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{action}: {status} {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{action}: {e}"))
    }

    /// The records from `position` on, at most `limit`, in order.
    pub async fn read(&self, position: &Position, limit: usize) -> Result<Vec<Value>, String> {
        let shard = self
            .shard
            .get_or_try_init(|| async {
                let described = self
                    .call("DescribeStream", json!({ "StreamArn": self.stream_arn }))
                    .await?;
                described["StreamDescription"]["Shards"][0]["ShardId"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "DescribeStream: no shard".to_string())
            })
            .await?;
        let mut request = json!({ "StreamArn": self.stream_arn, "ShardId": shard });
        match position {
            Position::TrimHorizon => request["ShardIteratorType"] = json!("TRIM_HORIZON"),
            Position::At(seq) => {
                request["ShardIteratorType"] = json!("AT_SEQUENCE_NUMBER");
                request["SequenceNumber"] = json!(seq);
            }
            Position::After(seq) => {
                request["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
                request["SequenceNumber"] = json!(seq);
            }
        }
        let iterator = self.call("GetShardIterator", request).await?["ShardIterator"].clone();
        let read = self
            .call("GetRecords", json!({ "ShardIterator": iterator, "Limit": limit }))
            .await?;
        Ok(read["Records"].as_array().cloned().unwrap_or_default())
    }

    /// The event Lambda delivers for `records` read from this stream.
    pub fn event(&self, records: &[Value]) -> Value {
        let records: Vec<Value> = records
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r["eventSourceARN"] = json!(self.stream_arn);
                r
            })
            .collect();
        json!({ "Records": records })
    }
}

/// A record's sequence number.
pub fn sequence_number(record: &Value) -> Option<&str> {
    record["dynamodb"]["SequenceNumber"].as_str()
}

/// Lambda's event filtering, the part the template uses: a pattern is an object whose
/// leaves are lists of accepted values, each a string or `{"prefix": …}`; a record
/// passes when every leaf matches. A record passes a list of patterns if any passes.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    patterns: Vec<Value>,
}

impl Filter {
    pub fn new(patterns: &[String]) -> Result<Self, String> {
        let patterns = patterns
            .iter()
            .map(|p| serde_json::from_str(p).map_err(|e| format!("filter pattern {p:?}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    pub fn passes(&self, record: &Value) -> bool {
        self.patterns.is_empty() || self.patterns.iter().any(|p| matches(p, record))
    }
}

fn matches(pattern: &Value, value: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields.iter().all(|(k, p)| matches(p, &value[k.as_str()])),
        Value::Array(accepted) => accepted.iter().any(|a| match (a, value) {
            (Value::Object(rule), Value::String(s)) => rule
                .get("prefix")
                .and_then(Value::as_str)
                .is_some_and(|prefix| s.starts_with(prefix)),
            (a, value) => a == value,
        }),
        _ => false,
    }
}

/// What a function's answer says failed: the lowest reported sequence number, from
/// which the batch is read again (`None`: the whole batch succeeded).
pub fn first_failure(answer: &Value) -> Option<String> {
    answer["batchItemFailures"]
        .as_array()?
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .min_by(|a, b| (a.len(), *a).cmp(&(b.len(), *b)))
        .map(str::to_string)
}

/// One stream → function mapping, forever: read, filter, invoke, and on failure read
/// again from the failed record after a pause. With `MaximumRetryAttempts: -1` a batch is
/// retried until it succeeds (DynamoDB: until its records expire); with a limit, the
/// batch's description goes to the on-failure queue and reading moves past it, as in AWS.
pub async fn run_stream_mapping(
    invoker: Invoker,
    provisioned: Provisioned,
    function: Function,
    mapping: StreamMapping,
) {
    let Some(reader) = StreamReader::of(&provisioned, &mapping.table) else {
        tracing::error!(table = %mapping.table, "the table has no stream; the mapping does not run");
        return;
    };
    let filter = match Filter::new(&mapping.filters) {
        Ok(filter) => filter,
        Err(e) => {
            tracing::error!(function = %function.binary, error = %e, "the mapping does not run");
            return;
        }
    };
    let sqs = aws_sdk_sqs::Client::new(&crate::provision::sdk_config(&provisioned.endpoint));
    let mut position = Position::TrimHorizon;
    let mut attempts = 0_i64;
    loop {
        let records = match reader.read(&position, mapping.batch_size as usize).await {
            Ok(records) => records,
            Err(e) => {
                tracing::warn!(table = %mapping.table, error = %e, "stream read failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(last) = records.last().and_then(sequence_number).map(str::to_string) else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let batch: Vec<Value> = records.into_iter().filter(|r| filter.passes(r)).collect();
        if batch.is_empty() {
            position = Position::After(last);
            continue;
        }
        let failed_from = match invoker.invoke(&function.binary, &reader.event(&batch)).await {
            Ok(answer) if mapping.report_batch_item_failures => first_failure(&answer),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(function = %function.binary, error = %e, "batch failed; it is read again");
                batch.first().and_then(sequence_number).map(str::to_string)
            }
        };
        let Some(failed_from) = failed_from else {
            attempts = 0;
            position = Position::After(last);
            continue;
        };
        attempts += 1;
        if mapping.maximum_retry_attempts >= 0 && attempts > mapping.maximum_retry_attempts {
            on_failure(&sqs, &provisioned, &mapping, &reader, &failed_from, &last, batch.len()).await;
            attempts = 0;
            position = Position::After(last);
            continue;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        position = Position::At(failed_from);
    }
}

/// The on-failure record Lambda sends for a stream batch it gave up on.
async fn on_failure(
    sqs: &aws_sdk_sqs::Client,
    provisioned: &Provisioned,
    mapping: &StreamMapping,
    reader: &StreamReader,
    start: &str,
    end: &str,
    size: usize,
) {
    tracing::error!(table = %mapping.table, start, end, "stream batch given up after every retry");
    let Some(queue) = &mapping.on_failure else { return };
    let body = json!({
        "requestContext": { "condition": "RetryAttemptsExhausted", "approximateInvokeCount": mapping.maximum_retry_attempts + 1 },
        "DDBStreamBatchInfo": {
            "startSequenceNumber": start,
            "endSequenceNumber": end,
            "batchSize": size,
            "streamArn": reader.stream_arn(),
        }
    });
    if let Err(e) = sqs
        .send_message()
        .queue_url(provisioned.queue_url(queue))
        .message_body(body.to_string())
        .send()
        .await
    {
        tracing::error!(queue, error = ?e, "on-failure destination unreachable");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_passes_new_step_records_only() {
        let filter = Filter::new(&[
            r#"{"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "FSTEP#"}]}}}}"#.into(),
        ])
        .unwrap();
        let record = |event: &str, pk: &str| json!({"eventName": event, "dynamodb": {"Keys": {"pk": {"S": pk}}}});
        assert!(filter.passes(&record("INSERT", "FSTEP#2026-03-25")));
        assert!(!filter.passes(&record("MODIFY", "FSTEP#2026-03-25")));
        assert!(!filter.passes(&record("INSERT", "LEAD#01J")));
        assert!(Filter::default().passes(&record("REMOVE", "LEAD#01J")));
    }

    #[test]
    fn a_failure_reads_again_from_the_lowest_reported_record() {
        let answer = json!({"batchItemFailures": [{"itemIdentifier": "1100"}, {"itemIdentifier": "999"}]});
        assert_eq!(first_failure(&answer).as_deref(), Some("999"));
        assert_eq!(first_failure(&json!({"batchItemFailures": []})), None);
    }
}
