//! Counts what the adapters ask of DynamoDB and SQS, as AWS bills it: an SDK interceptor
//! on the clients the functions are built with. It sees each operation's typed input
//! before it is sent and its typed output after, so nothing is inferred from logs.
//!
//! Capacity follows DynamoDB's on-demand rules:
//! - reads: 4 KB units of the items read, per item for GetItem/BatchGetItem, per page for
//!   Query; strongly consistent = 1 RRU per unit, eventually consistent = ½, transactional
//!   = 2; a miss still costs the minimum, each key of a batch read too;
//! - writes: 1 KB units per item, transactional = 2 per unit; a failed conditional write
//!   still costs the item's units; a transaction's `ConditionCheck` is counted like a write
//!   (an upper bound);
//! - an update is billed on the larger of the item before and after. The meter knows the
//!   request, not the stored item, so updates are settled at the end against the item's
//!   final size ([`Meter::take`]) — an upper bound when items only grow;
//! - index entries: a put whose key in an index (gsi1–gsi7) changed costs one standard
//!   write to remove the old entry and one to add the new (every index projects keys or a
//!   few small attributes).
//!   Updates here never change index keys (the outbox re-send's `ADD redrives` aside, rare).
//!
//! SQS bills every request, each 64 KB of payload a separate one.

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::interceptors::context::{Input, Output};
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

type Item = HashMap<String, AttributeValue>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The billed size of an item in bytes (attribute names + values, DynamoDB's rules).
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, e)| 1 + k.len() + value_size(e)).sum::<usize>(),
        _ => 0,
    }
}

/// Numbers are stored as up to 38 significant digits, two per byte, plus one byte.
fn number_size(n: &str) -> usize {
    let digits = n.trim_start_matches('-').trim_start_matches('0').replace('.', "");
    digits.len().div_ceil(2) + 1
}

fn units(bytes: usize, unit: usize) -> f64 {
    bytes.div_ceil(unit).max(1) as f64
}

/// What one call costs, in request counts and capacity units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Requests per operation (`dynamodb:TransactWriteItems`, `sqs:SendMessage`, …).
    pub calls: BTreeMap<String, u32>,
    pub read_units: f64,
    pub write_units: f64,
    /// Billed SQS requests (64 KB chunks).
    pub sqs_requests: u32,
    /// Write units by kind of item (`LEAD#/LEAD`, `ROLLUP#/…`): where the units go.
    pub writes_by_kind: BTreeMap<String, f64>,
    /// Updates to settle against final item sizes: (pk, sk, units multiplier).
    pending_updates: Vec<(String, String, f64)>,
    /// Each item's index keys as last written, to count index writes.
    index_keys: HashMap<(String, String), IndexKeys>,
}

/// The item's keys in each index (all keys-only or projecting a few small attributes,
/// so one entry costs one write unit). The list indexes gsi5 and gsi6 share gsi4's
/// partition key, and gsi7 its sort key.
type IndexKeys = [Option<(String, String)>; 7];

fn index_keys(item: &Item) -> IndexKeys {
    let key = |pk: &str, sk: &str| {
        let get = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        get(pk).zip(get(sk))
    };
    [
        key("gsi1pk", "gsi1sk"),
        key("gsi2pk", "gsi2sk"),
        key("gsi3pk", "gsi3sk"),
        key("gsi4pk", "gsi4sk"),
        key("gsi4pk", "gsi5sk"),
        key("gsi4pk", "gsi6sk"),
        key("gsi7pk", "gsi4sk"),
    ]
}

impl Tally {
    /// A put replaces the item and its index entries: each entry that changed costs a
    /// delete of the old one and a put of the new one (standard writes).
    fn index_writes(&mut self, pk: &str, sk: &str, new: IndexKeys) {
        let old = self
            .index_keys
            .insert((pk.to_string(), sk.to_string()), new.clone())
            .unwrap_or_default();
        for (before, after) in old.iter().zip(new.iter()) {
            if before != after {
                let changes = f64::from(u8::from(before.is_some()) + u8::from(after.is_some()));
                self.write_units += changes;
                *self.writes_by_kind.entry("(index entries)".into()).or_default() += changes;
            }
        }
    }

    fn add_write(&mut self, key: Option<(&str, &str)>, write_units: f64) {
        self.write_units += write_units;
        let kind = key.map_or_else(
            || "?".to_string(),
            |(pk, sk)| {
                // Key prefixes name the kind of item (`LEAD/OWNER`); ids are dropped.
                let prefix = |k: &str| {
                    let head = k.split('#').next().unwrap_or_default();
                    if head.chars().all(|c| c.is_ascii_uppercase()) {
                        head.to_string()
                    } else {
                        "…".to_string()
                    }
                };
                format!("{}/{}", prefix(pk), prefix(sk))
            },
        );
        *self.writes_by_kind.entry(kind).or_default() += write_units;
    }

    pub fn dynamodb_requests(&self) -> u32 {
        self.calls
            .iter()
            .filter(|(op, _)| op.starts_with("dynamodb:"))
            .map(|(_, n)| n)
            .sum()
    }

    /// Adds the updates' write units, sized by the items as they ended up.
    fn settle(&mut self, final_sizes: &HashMap<(String, String), usize>) {
        for (pk, sk, multiplier) in std::mem::take(&mut self.pending_updates) {
            let size = final_sizes.get(&(pk.clone(), sk.clone())).copied().unwrap_or(0);
            self.add_write(Some((&pk, &sk)), multiplier * units(size, 1024));
        }
    }
}

/// The interceptor, shared by the DynamoDB and SQS clients of one measured run.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    tally: Arc<Mutex<Tally>>,
}

/// What `read_before_execution` learned about the call, for `read_after_execution`.
#[derive(Debug, Clone)]
struct Call {
    op: &'static str,
    read_unit_cost: f64,
    /// The keys a `BatchGetItem` asked for: each one not found still costs the minimum.
    keys_asked: usize,
}

impl Storable for Call {
    type Storer = StoreReplace<Self>;
}

impl Meter {
    /// Everything counted since the last [`Meter::take`], with updates settled against
    /// `final_items` (a scan of the table after the run, taken with an unmetered client).
    pub fn take(&self, final_items: &[Item]) -> Tally {
        let sizes: HashMap<(String, String), usize> = final_items
            .iter()
            .filter_map(|item| {
                let pk = item.get("pk")?.as_s().ok()?.clone();
                let sk = item.get("sk")?.as_s().ok()?.clone();
                Some(((pk, sk), item_size(item)))
            })
            .collect();
        let mut guard = self.tally.lock().expect("meter lock");
        let index_keys = std::mem::take(&mut guard.index_keys);
        let mut tally = std::mem::take(&mut *guard);
        guard.index_keys = index_keys;
        tally.settle(&sizes);
        tally
    }

    fn key_of(key: Option<&Item>) -> (String, String) {
        let part = |name: &str| {
            key.and_then(|k| k.get(name))
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        (part("pk"), part("sk"))
    }

    /// Records the request and the write units known from the input alone.
    fn before(&self, input: &Input) -> Option<Call> {
        use aws_sdk_dynamodb::operation as ddb;
        use aws_sdk_sqs::operation as sqs;
        let mut tally = self.tally.lock().expect("meter lock");
        let update = |key: Option<&Item>, multiplier: f64, tally: &mut Tally| {
            let (pk, sk) = Self::key_of(key);
            tally.pending_updates.push((pk, sk, multiplier));
        };
        let call = |op: &'static str, read_unit_cost: f64| Call {
            op,
            read_unit_cost,
            keys_asked: 0,
        };
        let consistency = |strong: Option<bool>| if strong == Some(true) { 1.0 } else { 0.5 };
        let found = if let Some(i) = input.downcast_ref::<ddb::put_item::PutItemInput>() {
            let item = i.item.as_ref();
            let (pk, sk) = Self::key_of(item);
            tally.add_write(Some((&pk, &sk)), units(item.map_or(0, item_size), 1024));
            tally.index_writes(&pk, &sk, item.map(index_keys).unwrap_or_default());
            call("dynamodb:PutItem", 0.0)
        } else if let Some(i) = input.downcast_ref::<ddb::update_item::UpdateItemInput>() {
            update(i.key.as_ref(), 1.0, &mut tally);
            call("dynamodb:UpdateItem", 0.0)
        } else if let Some(i) = input.downcast_ref::<ddb::delete_item::DeleteItemInput>() {
            // A delete is billed on the deleted item; counted at the minimum.
            let (pk, sk) = Self::key_of(i.key.as_ref());
            tally.add_write(Some((&pk, &sk)), 1.0);
            tally.index_writes(&pk, &sk, IndexKeys::default());
            call("dynamodb:DeleteItem", 0.0)
        } else if let Some(i) = input.downcast_ref::<ddb::transact_write_items::TransactWriteItemsInput>() {
            for item in i.transact_items() {
                if let Some(put) = item.put() {
                    let (pk, sk) = Self::key_of(Some(put.item()));
                    tally.add_write(Some((&pk, &sk)), 2.0 * units(item_size(put.item()), 1024));
                    tally.index_writes(&pk, &sk, index_keys(put.item()));
                } else if let Some(u) = item.update() {
                    update(Some(u.key()), 2.0, &mut tally);
                } else if let Some(check) = item.condition_check() {
                    update(Some(check.key()), 2.0, &mut tally);
                } else {
                    tally.add_write(None, 2.0);
                }
            }
            call("dynamodb:TransactWriteItems", 0.0)
        } else if let Some(i) = input.downcast_ref::<ddb::batch_write_item::BatchWriteItemInput>() {
            for request in i.request_items.iter().flat_map(|m| m.values()).flatten() {
                let written = request.put_request().map_or(1.0, |p| units(item_size(p.item()), 1024));
                tally.add_write(None, written);
            }
            call("dynamodb:BatchWriteItem", 0.0)
        } else if let Some(i) = input.downcast_ref::<ddb::get_item::GetItemInput>() {
            call("dynamodb:GetItem", consistency(i.consistent_read))
        } else if let Some(i) = input.downcast_ref::<ddb::batch_get_item::BatchGetItemInput>() {
            let strong = i
                .request_items
                .as_ref()
                .and_then(|m| m.values().next())
                .and_then(|k| k.consistent_read);
            let keys_asked = keys_in(i.request_items.as_ref());
            Call {
                keys_asked,
                ..call("dynamodb:BatchGetItem", consistency(strong))
            }
        } else if input
            .downcast_ref::<ddb::transact_get_items::TransactGetItemsInput>()
            .is_some()
        {
            call("dynamodb:TransactGetItems", 2.0)
        } else if let Some(i) = input.downcast_ref::<ddb::query::QueryInput>() {
            call("dynamodb:Query", consistency(i.consistent_read))
        } else if let Some(i) = input.downcast_ref::<ddb::scan::ScanInput>() {
            call("dynamodb:Scan", consistency(i.consistent_read))
        } else if let Some(i) = input.downcast_ref::<sqs::send_message::SendMessageInput>() {
            tally.sqs_requests += chunks(i.message_body.as_deref().map_or(0, str::len));
            call("sqs:SendMessage", 0.0)
        } else if let Some(i) = input.downcast_ref::<sqs::send_message_batch::SendMessageBatchInput>() {
            let bytes: usize = i.entries().iter().map(|e| e.message_body().len()).sum();
            tally.sqs_requests += chunks(bytes);
            call("sqs:SendMessageBatch", 0.0)
        } else if input
            .downcast_ref::<sqs::receive_message::ReceiveMessageInput>()
            .is_some()
        {
            tally.sqs_requests += 1;
            call("sqs:ReceiveMessage", 0.0)
        } else if input
            .downcast_ref::<sqs::delete_message::DeleteMessageInput>()
            .is_some()
        {
            tally.sqs_requests += 1;
            call("sqs:DeleteMessage", 0.0)
        } else {
            call("other", 0.0)
        };
        *tally.calls.entry(found.op.to_string()).or_default() += 1;
        Some(found)
    }

    /// Adds the read units, which depend on what came back.
    fn after(&self, call: &Call, output: Option<Result<&Output, impl Sized>>) {
        use aws_sdk_dynamodb::operation as ddb;
        let Some(Ok(output)) = output else {
            // A failed read still costs its minimum.
            self.tally.lock().expect("meter lock").read_units += call.read_unit_cost;
            return;
        };
        let cost = call.read_unit_cost;
        let read = if let Some(o) = output.downcast_ref::<ddb::get_item::GetItemOutput>() {
            cost * units(o.item.as_ref().map_or(0, item_size), 4096)
        } else if let Some(o) = output.downcast_ref::<ddb::batch_get_item::BatchGetItemOutput>() {
            let found = o.responses.iter().flat_map(|m| m.values()).flatten().map(item_size);
            batch_get_units(cost, call.keys_asked, found, keys_in(o.unprocessed_keys.as_ref()))
        } else if let Some(o) = output.downcast_ref::<ddb::transact_get_items::TransactGetItemsOutput>() {
            o.responses()
                .iter()
                .map(|r| cost * units(r.item.as_ref().map_or(0, item_size), 4096))
                .sum()
        } else if let Some(o) = output.downcast_ref::<ddb::query::QueryOutput>() {
            cost * units(o.items().iter().map(item_size).sum(), 4096)
        } else if let Some(o) = output.downcast_ref::<ddb::scan::ScanOutput>() {
            cost * units(o.items().iter().map(item_size).sum(), 4096)
        } else {
            0.0
        };
        self.tally.lock().expect("meter lock").read_units += read;
    }
}

/// A batch read is billed as one `GetItem` per key it processed: each item found on its
/// size, each key not found at the minimum. Keys handed back unprocessed cost nothing here;
/// the adapter asks for them again in a call of their own.
fn batch_get_units(cost: f64, keys_asked: usize, found: impl Iterator<Item = usize>, unprocessed: usize) -> f64 {
    let found: Vec<f64> = found.map(|size| cost * units(size, 4096)).collect();
    let missed = keys_asked.saturating_sub(found.len() + unprocessed);
    found.iter().sum::<f64>() + cost * missed as f64
}

/// The keys of a batch read's requests (asked for, or handed back unprocessed).
fn keys_in(requests: Option<&HashMap<String, aws_sdk_dynamodb::types::KeysAndAttributes>>) -> usize {
    requests
        .into_iter()
        .flat_map(|m| m.values())
        .map(|k| k.keys.len())
        .sum()
}

fn chunks(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(64 * 1024).max(1)).unwrap_or(u32::MAX)
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "Meter"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(call) = self.before(context.input()) {
            cfg.interceptor_state().store_put(call);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(call) = cfg.load::<Call>().cloned() {
            self.after(&call, context.output_or_error());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_sizes_follow_dynamodbs_rules() {
        let item: Item = [
            ("pk".to_string(), AttributeValue::S("LEAD#1".into())),
            ("n".to_string(), AttributeValue::N("12345".into())),
            ("ok".to_string(), AttributeValue::Bool(true)),
        ]
        .into();
        // 2+6, 1+(3+1), 2+1
        assert_eq!(item_size(&item), 8 + 5 + 3);
        assert_eq!(units(0, 1024), 1.0, "a miss or an empty write costs the minimum");
        assert_eq!(units(1025, 1024), 2.0);
        assert_eq!(chunks(64 * 1024 + 1), 2);
    }

    #[test]
    fn a_batch_read_pays_for_the_keys_it_did_not_find() {
        // Five keys asked, eventually consistent: two found (one of 5 KB), one handed back
        // unprocessed, two not found.
        let units = batch_get_units(0.5, 5, [100, 5000].into_iter(), 1);
        assert_eq!(units, 0.5 + 1.0 + 2.0 * 0.5);
        assert_eq!(batch_get_units(1.0, 3, std::iter::empty(), 0), 3.0, "all misses");
    }
}
