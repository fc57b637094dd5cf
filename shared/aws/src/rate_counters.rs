//! DynamoDB adapter for [`RateCounters`]: one item per counter, one `UpdateItem` per
//! request.
//!
//! | item          | pk                                   | sk     |
//! |---------------|--------------------------------------|--------|
//! | rate counter  | `RATE#<scope>#<subject>#<window start>[#<share>]` | `RATE` (`count`, TTL `expires_at`) |

use crate::keys::{PK, SK, TTL};
use crate::{item::s, item::unavailable, store::DynamoStore};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use domain::{capture::ports::RateCounters, lead::ports::StoreError};

const COUNT: &str = "count";

pub fn rate_pk(key: &str) -> String {
    format!("RATE#{key}")
}
pub const RATE_SK: &str = "RATE";

impl RateCounters for DynamoStore {
    async fn increment(&self, key: &str, expires_at: DateTime<Utc>) -> Result<u64, StoreError> {
        // ADD is atomic and creates the item at zero: concurrent requests never lose a
        // count, and the first one of a window needs no separate put.
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PK, s(rate_pk(key)))
            .key(SK, s(RATE_SK))
            .update_expression("ADD #count :one SET #ttl = if_not_exists(#ttl, :ttl)")
            .expression_attribute_names("#count", COUNT)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":ttl", AttributeValue::N(expires_at.timestamp().to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        out.attributes()
            .and_then(|a| a.get(COUNT))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("rate counter {key} has no count")))
    }
}
