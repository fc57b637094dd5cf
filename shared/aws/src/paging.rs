//! Paged reads: one page of a partition (of the table or of an index) in sort-key order,
//! after a position, for the ports' [`PageRequest`] / [`Page`]. Every list the API
//! serves page by page reads through [`DynamoStore::query_page`], so they all page alike.
//!
//! A position is a sort-key value, not an item: the page starts after it with a key
//! condition (`sk > :after`, or `<` newest first), so any position, even one that names
//! no stored item, is a valid start, and a page never reads what comes before it. The
//! query asks for one item more than the page holds: that item's presence is what says
//! another page follows, so the last page's `next` is `None` (never an empty page after
//! it). DynamoDB's own continuation (`LastEvaluatedKey`, at its 1 MB response cap) is
//! followed inside the call.
//!
//! Sort keys must be unique within the partition (ids, or `<time>#<id>`): a position
//! between two equal keys would skip one.

use crate::item::{s, text, unavailable, Item};
use crate::store::DynamoStore;
use domain::lead::ports::{Page, PageRequest, StoreError};

/// What to read: the items of partition `pk` whose sort key is in `[lower, upper)`.
#[derive(Debug, Clone)]
pub(crate) struct KeyRange<'a> {
    /// The index to query (`None`: the table).
    pub index: Option<&'a str>,
    pub pk_attr: &'a str,
    pub sk_attr: &'a str,
    pub pk: String,
    /// Inclusive; `None`: from the first.
    pub lower: Option<String>,
    /// Exclusive; `None`: to the last.
    pub upper: Option<String>,
    /// Descending sort keys (ULIDs: the most recent first).
    pub newest_first: bool,
}

impl<'a> KeyRange<'a> {
    /// The whole table partition `pk`, by sort key.
    pub fn partition(pk: impl Into<String>) -> Self {
        Self {
            index: None,
            pk_attr: crate::keys::PK,
            sk_attr: crate::keys::SK,
            pk: pk.into(),
            lower: None,
            upper: None,
            newest_first: false,
        }
    }

    /// Only sort keys starting with `prefix` (ASCII).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        let mut upper = prefix.as_bytes().to_vec();
        if let Some(last) = upper.last_mut() {
            *last += 1;
        }
        self.lower = Some(prefix.to_string());
        self.upper = Some(String::from_utf8(upper).expect("an ASCII prefix"));
        self
    }

    /// The key condition's part on the sort key: where this page starts.
    fn start(&self, after: Option<&str>) -> Option<(&'static str, String)> {
        // DynamoDB refuses an empty string in a key condition; it sorts first anyway.
        let after = after.filter(|a| !a.is_empty());
        if self.newest_first {
            match (after, &self.upper) {
                (Some(a), Some(u)) if a >= u.as_str() => Some(("<", u.clone())),
                (Some(a), _) => Some(("<", a.to_string())),
                (None, Some(u)) => Some(("<", u.clone())),
                (None, None) => None,
            }
        } else {
            match (after, &self.lower) {
                (Some(a), Some(l)) if a < l.as_str() => Some((">=", l.clone())),
                (Some(a), _) => Some((">", a.to_string())),
                (None, Some(l)) => Some((">=", l.clone())),
                (None, None) => None,
            }
        }
    }

    /// Whether `key` lies past the range's far end (reading stops there).
    fn past_end(&self, key: &str) -> bool {
        if self.newest_first {
            self.lower.as_deref().is_some_and(|l| key < l)
        } else {
            self.upper.as_deref().is_some_and(|u| key >= u)
        }
    }
}

impl DynamoStore {
    /// One page of `range` after `page.after`, at most `page.limit` items.
    pub(crate) async fn query_page(
        &self,
        range: &KeyRange<'_>,
        page: PageRequest<'_>,
    ) -> Result<Page<Item>, StoreError> {
        let keyed = self.query_keyed(range, page.after, page.limit).await?;
        Ok(finish(keyed, page.limit))
    }

    /// Up to `limit + 1` items of `range` after `after`, each with its sort key: the one
    /// past `limit`, if any, says more follow.
    pub(crate) async fn query_keyed(
        &self,
        range: &KeyRange<'_>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Item)>, StoreError> {
        let start = range.start(after);
        let mut keyed: Vec<(String, Item)> = Vec::new();
        let mut continue_from = None;
        loop {
            let want = limit + 1 - keyed.len();
            let mut query = self
                .client()
                .query()
                .table_name(self.table())
                .set_index_name(range.index.map(str::to_string))
                .expression_attribute_names("#pk", range.pk_attr)
                .expression_attribute_values(":pk", s(range.pk.clone()))
                .scan_index_forward(!range.newest_first)
                .limit(i32::try_from(want).unwrap_or(i32::MAX))
                .set_exclusive_start_key(continue_from.take());
            query = match &start {
                Some((op, value)) => query
                    .key_condition_expression(format!("#pk = :pk AND #sk {op} :start"))
                    .expression_attribute_names("#sk", range.sk_attr)
                    .expression_attribute_values(":start", s(value.clone())),
                None => query.key_condition_expression("#pk = :pk"),
            };
            let out = query.send().await.map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                let key = text(&item, range.sk_attr).unwrap_or_default();
                if range.past_end(&key) {
                    return Ok(keyed);
                }
                keyed.push((key, item));
            }
            if keyed.len() > limit {
                return Ok(keyed);
            }
            match out.last_evaluated_key {
                Some(key) => continue_from = Some(key),
                None => return Ok(keyed),
            }
        }
    }
}

/// The first `limit` of `keyed` (read in order, up to one more), and the last one's key
/// when more follow.
pub(crate) fn finish(mut keyed: Vec<(String, Item)>, limit: usize) -> Page<Item> {
    let more = keyed.len() > limit;
    keyed.truncate(limit);
    let next = if more {
        keyed.last().map(|(key, _)| key.clone())
    } else {
        None
    };
    Page {
        items: keyed.into_iter().map(|(_, item)| item).collect(),
        next,
    }
}
