//! Single-table key layout. One place, so the adapter, the docs and the tests agree.
//!
//! | item            | pk                 | sk                      | gsi1pk          | gsi1sk            |
//! |-----------------|--------------------|-------------------------|-----------------|-------------------|
//! | lead            | `LEAD#<id>`        | `LEAD`                  | `OUTBOX#<0..3>` while `received` | `<created_at>#<id>` |
//! | touchpoint      | `LEAD#<id>`        | `TP#<at>#<touch id>`    |                 |                   |
//! | submission id   | `SUB#<submission>` | `SUB`                   |                 |                   |
//!
//! The outbox index is sparse (only `received` leads carry its keys) and sharded so a
//! campaign spike does not pile every write onto one index partition.

use domain::LeadId;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
/// DynamoDB TTL attribute (epoch seconds) for records that expire.
pub const TTL: &str = "expires_at";
pub const OUTBOX_SHARDS: u8 = 4;

pub fn lead_pk(id: &LeadId) -> String {
    format!("LEAD#{id}")
}
pub const LEAD_SK: &str = "LEAD";
pub const TOUCH_SK_PREFIX: &str = "TP#";

pub fn submission_pk(submission_id: &str) -> String {
    format!("SUB#{submission_id}")
}
pub const SUBMISSION_SK: &str = "SUB";

pub fn outbox_pk(shard: u8) -> String {
    format!("OUTBOX#{shard}")
}

/// Spreads leads over the outbox shards by the random tail of their ULID.
pub fn outbox_shard(id: &LeadId) -> u8 {
    id.as_str().bytes().last().map_or(0, |b| b % OUTBOX_SHARDS)
}
