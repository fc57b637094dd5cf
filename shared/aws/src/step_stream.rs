//! Funnel step records as the table's stream delivers them to the rollup function:
//! grouped by partition (one report day each) in stream order, each decoded back into
//! the step its lead write recorded (`crate::rollup::step_item`).

use crate::keys::{DOC, PK};
use aws_lambda_events::dynamodb::{Event, EventRecord};
use domain::attribution::fold::{Sequence, StreamStep};
use domain::lead::funnel::FunnelStep;
use serde_dynamo::AttributeValue;

/// The records of one partition, in the order the stream holds them.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub key: String,
    pub records: Vec<StreamStep>,
}

/// What a delivered batch holds.
#[derive(Debug, Default)]
pub struct StepBatch {
    /// In the order each partition first appears.
    pub partitions: Vec<Partition>,
    /// Records without a partition key or sequence number: nothing can place them (a
    /// stream never sends one; counted, not retried).
    pub unplaceable: usize,
}

fn text<'a>(item: &'a serde_dynamo::Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(text)) => Some(text),
        _ => None,
    }
}

fn step(record: &EventRecord) -> Result<FunnelStep, String> {
    let doc = text(&record.change.new_image, DOC).ok_or("the record carries no step (no new image with a doc)")?;
    serde_json::from_str(doc).map_err(|e| format!("the step does not read back: {e}"))
}

/// Groups a stream event's records by partition.
pub fn step_batch(event: &Event) -> StepBatch {
    let mut batch = StepBatch::default();
    for record in &event.records {
        let key = text(&record.change.keys, PK);
        let sequence = record.change.sequence_number.as_deref().and_then(Sequence::parse);
        let (Some(key), Some(sequence)) = (key, sequence) else {
            batch.unplaceable += 1;
            continue;
        };
        let step = StreamStep {
            sequence,
            step: step(record),
        };
        match batch.partitions.iter_mut().find(|p| p.key == key) {
            Some(partition) => partition.records.push(step),
            None => batch.partitions.push(Partition {
                key: key.to_string(),
                records: vec![step],
            }),
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_are_grouped_by_partition_in_stream_order_and_a_bad_doc_is_kept_as_unreadable() {
        let step = json!({"lead_id": "01JQ0000000000000000000000", "step": "lead", "day": "2026-03-25",
            "source": {"channel": "baidu", "campaign": "", "keyword": ""}, "fields": {"leads": 1}});
        let record = |pk: &str, seq: &str, doc: &str| {
            json!({"eventID": seq, "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
                "dynamodb": {"ApproximateCreationDateTime": 1796498216.752, "Keys": {"pk": {"S": pk}, "sk": {"S": seq}},
                    "NewImage": {"pk": {"S": pk}, "sk": {"S": seq}, "doc": {"S": doc}},
                    "SequenceNumber": seq, "SizeBytes": 1, "StreamViewType": "NEW_IMAGE"}})
        };
        let event: Event = serde_json::from_value(json!({"Records": [
            record("FSTEP#2026-03-25", "100000000000000000001", &step.to_string()),
            record("FSTEP#2026-03-24", "100000000000000000002", &step.to_string()),
            record("FSTEP#2026-03-25", "100000000000000000003", "{not json"),
            record("FSTEP#2026-03-25", "not a number", &step.to_string()),
        ]}))
        .unwrap();
        let batch = step_batch(&event);
        assert_eq!(batch.unplaceable, 1);
        let keys: Vec<&str> = batch.partitions.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["FSTEP#2026-03-25", "FSTEP#2026-03-24"]);
        let first = &batch.partitions[0].records;
        assert_eq!(first.len(), 2);
        assert!(first[0].step.is_ok());
        assert!(first[1].step.as_ref().unwrap_err().contains("does not read back"));
    }
}
