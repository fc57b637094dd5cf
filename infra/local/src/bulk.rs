//! Items written straight into a table, many at a time: how benchmarks seed history
//! (`local-stack rollups`, and the test harness's benches). Live code writes through the
//! adapters instead, one decision at a time.

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use std::collections::HashMap;
use std::time::Duration;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Batch writes of 25 (DynamoDB's most), retrying what the table leaves unprocessed after
/// a short back-off: unprocessed items are its back-pressure.
pub async fn put_items(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: Vec<HashMap<String, AttributeValue>>,
) -> Result<(), Error> {
    for chunk in items.chunks(25) {
        let requests = chunk
            .iter()
            .map(|item| {
                Ok(WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item.clone())).build()?)
                    .build())
            })
            .collect::<Result<Vec<_>, aws_sdk_dynamodb::error::BuildError>>()?;
        let mut pending = Some(HashMap::from([(table.to_string(), requests)]));
        while let Some(batch) = pending.take().filter(|m| !m.is_empty()) {
            pending = client
                .batch_write_item()
                .set_request_items(Some(batch))
                .send()
                .await
                .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?
                .unprocessed_items;
            if pending.as_ref().is_some_and(|m| !m.is_empty()) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Ok(())
}
