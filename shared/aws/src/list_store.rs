//! The lead lists' reads: one page of one list-index partition (keys only), and the
//! leads it names in batches of 100. Eventually consistent on purpose — half the reads,
//! and the domain checks every lead it reads against the filters as it is now.

use crate::item::{lead_from_item, s, unavailable, Item};
use crate::keys::*;
use crate::store::DynamoStore;
use domain::lead::ports::StoreError;
use domain::lead::{Lead, LeadId};
use domain::workspace::index::{Order, Partition};
use domain::workspace::ports::{Entry, LeadIndex};

/// The index and its key attributes for an order over a partition.
fn index_of(partition: &Partition, order: Order) -> Option<(&'static str, &'static str, &'static str)> {
    if !partition.keeps(order) {
        return None;
    }
    match (partition, order) {
        (Partition::Timeline(_), _) => Some((GSI7, MADE, BY_CREATED)),
        (_, Order::Created) => Some((GSI4, PLACE, BY_CREATED)),
        (_, Order::Due) => Some((GSI5, PLACE, BY_DUE)),
        (_, Order::Score) => Some((GSI6, PLACE, BY_SCORE)),
    }
}

fn entry(item: &Item, sk: &str) -> Result<Entry, StoreError> {
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("list entry has no `{name}`")))
    };
    let id = lead_in_pk(text(PK)?);
    Ok(Entry {
        position: text(sk)?.clone(),
        lead: id.ok_or_else(|| StoreError::Corrupt("list entry is not a lead".into()))?,
    })
}

impl LeadIndex for DynamoStore {
    async fn list_entries(
        &self,
        partition: &Partition,
        order: Order,
        ascending: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let Some((index, pk, sk)) = index_of(partition, order) else {
            return Ok(Vec::new());
        };
        let mut request = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(index)
            .expression_attribute_names("#pk", pk)
            .expression_attribute_values(":pk", s(list_partition(partition)))
            .scan_index_forward(ascending)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        request = match after {
            Some(after) => request
                .key_condition_expression(if ascending {
                    "#pk = :pk AND #sk > :after"
                } else {
                    "#pk = :pk AND #sk < :after"
                })
                .expression_attribute_names("#sk", sk)
                .expression_attribute_values(":after", s(after)),
            None => request.key_condition_expression("#pk = :pk"),
        };
        let out = request.send().await.map_err(unavailable)?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(|item| entry(item, sk))
            .collect()
    }

    async fn leads_by_id(&self, ids: &[LeadId]) -> Result<Vec<Lead>, StoreError> {
        let keys = ids.iter().map(|id| (lead_pk(id), LEAD_SK.to_string())).collect();
        self.batch_get(keys, false)
            .await?
            .into_iter()
            .map(lead_from_item)
            .collect()
    }
}
