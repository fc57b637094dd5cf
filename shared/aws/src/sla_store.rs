//! DynamoDB adapter for [`SlaStore`]: the policy document, the due index, violations
//! and per-pool numbers.
//!
//! The due index (`gsi2`) is partitioned by UTC day and a shard by lead (`DUE#2026-04-07#2`,
//! four a day, so a spike's clocks do not all land on one index partition). The sweep
//! keeps a cursor at the oldest day that may still hold due entries and reads from there
//! to today, only entries due by now. A past day is passed over once its queries find it
//! empty, which happens only after its leads were handled (each one's entry moves when
//! the lead is saved). So a run reads what is due plus a few queries per day, never the
//! open leads at large.

use crate::item::{number, text};
use crate::keys::*;
use crate::paging::{finish, KeyRange};
use crate::{item::corrupt, item::s, item::timestamp, item::unavailable, item::Item, store::DynamoStore};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use domain::follow_up::sla::SlaConfig;
use domain::lead::funnel::report_day;
use domain::lead::ports::{Page, PageRequest};
use domain::{
    follow_up::ports::DueLeads, follow_up::ports::PoolNumbers, follow_up::ports::SlaStore, follow_up::ports::Violation,
    lead::ports::Saved, lead::ports::StoreError,
};
use std::collections::BTreeMap;

/// How far back the very first run looks, when no cursor exists yet. Entries are never
/// written into a day before the day they are written, so only a table that took writes
/// for longer than this before its first sweep could hide entries from it.
const FIRST_LOOK_BACK: Duration = Duration::days(35);

fn day_start(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(at.year(), at.month(), at.day(), 0, 0, 0)
        .single()
        .expect("midnight exists in UTC")
}

fn bucket_day(bucket: &str) -> Option<DateTime<Utc>> {
    let day: NaiveDate = bucket.strip_prefix("DUE#")?.parse().ok()?;
    Some(Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN)))
}

fn months(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut month = from.with_day(1).expect("day 1 exists");
    while month <= to {
        out.push(month);
        month = month.checked_add_months(chrono::Months::new(1)).expect("date in range");
    }
    out
}

impl DynamoStore {
    async fn due_cursor(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
        let stored = self
            .get_item(SWEEP_CURSOR_PK, SWEEP_CURSOR_SK)
            .await?
            .and_then(|i| text(&i, "bucket"))
            .and_then(|b| bucket_day(&b));
        Ok(stored.unwrap_or_else(|| day_start(now - FIRST_LOOK_BACK)))
    }

    async fn save_due_cursor(&self, day: DateTime<Utc>) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .item(PK, s(SWEEP_CURSOR_PK))
            .item(SK, s(SWEEP_CURSOR_SK))
            .item("bucket", s(due_bucket(day)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Query pages of one index partition, up to `limit` items.
    pub(crate) async fn query_index(
        &self,
        index: &str,
        pk_name: &str,
        pk: &str,
        sk_name: &str,
        sk_at_most: &str,
        limit: usize,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(index)
                .key_condition_expression("#pk = :pk AND #sk <= :sk")
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":sk", s(sk_at_most))
                .limit(i32::try_from(limit - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() || items.len() >= limit {
                return Ok((items, start.is_some()));
            }
        }
    }
}

impl SlaStore for DynamoStore {
    async fn sla_config(&self) -> Result<SlaConfig, StoreError> {
        Ok(self.versioned_document(SLA_PK, "sla").await?.unwrap_or_default())
    }

    async fn save_sla_config(&self, config: &SlaConfig) -> Result<Saved, StoreError> {
        self.save_versioned_document(SLA_PK, "sla", config.version, config)
            .await
    }

    async fn due_leads(&self, now: DateTime<Utc>, limit: usize) -> Result<DueLeads, StoreError> {
        let current = day_start(now);
        let mut day = self.due_cursor(now).await?.min(current);
        let cursor_was = day;
        let mut new_cursor = None;
        let mut due = DueLeads::default();
        let upper = format!("{}#~", timestamp(now));
        // A backlog larger than one run is worked off across every shard: each run starts
        // at the shard the clock's minute points to.
        let first = (now.minute() % u32::from(DUE_SHARDS)) as u8;
        while day <= current && due.leads.len() < limit {
            // The day's partition from before shards first (it holds only older entries),
            // then its shards, each read up to what the run still wants.
            let partitions = std::iter::once(due_bucket(day))
                .chain((0..DUE_SHARDS).map(|n| due_shard(day, (first + n) % DUE_SHARDS)));
            let mut items = Vec::new();
            let mut more_in_bucket = false;
            for partition in partitions {
                let want = limit + 1 - due.leads.len() - items.len();
                if want == 0 {
                    more_in_bucket = true;
                    break;
                }
                let (got, more) = self
                    .query_index(GSI2, GSI2_PK, &partition, GSI2_SK, &upper, want)
                    .await?;
                items.extend(got);
                more_in_bucket |= more;
            }
            due.entries_read += items.len();
            if items.is_empty() && new_cursor.is_none() && day < current {
                // A past day with nothing due left: no later run needs to read it.
                day += Duration::days(1);
                continue;
            }
            new_cursor.get_or_insert(day);
            for item in items {
                let id = crate::item::lead_id_of(&item);
                match id {
                    Some(id) if due.leads.len() < limit => due.leads.push(id),
                    Some(_) => due.more = true,
                    None => {}
                }
            }
            due.more |= more_in_bucket;
            day += Duration::days(1);
        }
        if day <= current {
            due.more = true;
        }
        let cursor = new_cursor.unwrap_or(current);
        if cursor != cursor_was {
            self.save_due_cursor(cursor).await?;
        }
        Ok(due)
    }

    async fn violations(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Violation>, StoreError> {
        let mut out = Vec::new();
        for month in months(from.date_naive(), to.date_naive()) {
            let pk = violation_pk(Utc.from_utc_datetime(&month.and_time(chrono::NaiveTime::MIN)));
            for item in self.query_prefix(&pk, "").await? {
                let violation: Violation = serde_dynamo::from_item(item).map_err(corrupt)?;
                if violation.due_at >= from && violation.due_at < to {
                    out.push(violation);
                }
            }
        }
        Ok(out)
    }

    async fn violations_page(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        page: PageRequest<'_>,
    ) -> Result<Page<Violation>, StoreError> {
        // Keys (`<due at>#<id>`) sort by deadline across the month partitions too, so one
        // position pages through them all; months wholly before it are not read.
        let after = page.after.filter(|a| !a.is_empty());
        let mut keyed = Vec::new();
        for month in months(from.date_naive(), to.date_naive()) {
            let start = Utc.from_utc_datetime(&month.and_time(chrono::NaiveTime::MIN));
            let next_month = start.checked_add_months(chrono::Months::new(1)).expect("date in range");
            if after.is_some_and(|a| timestamp(next_month).as_str() <= a) {
                continue;
            }
            let range = KeyRange {
                lower: Some(timestamp(from)),
                upper: Some(timestamp(to)),
                ..KeyRange::partition(violation_pk(start))
            };
            keyed.extend(self.query_keyed(&range, after, page.limit - keyed.len()).await?);
            if keyed.len() > page.limit {
                break;
            }
        }
        let read = finish(keyed, page.limit);
        Ok(Page {
            items: read
                .items
                .into_iter()
                .map(|item| serde_dynamo::from_item(item).map_err(corrupt))
                .collect::<Result<_, _>>()?,
            next: read.next,
        })
    }

    async fn pool_numbers(&self, from: NaiveDate, to: NaiveDate) -> Result<BTreeMap<String, PoolNumbers>, StoreError> {
        // A change counts on the UTC day of its time, and is listed under its report
        // day's month: the months of the period's first and last instants, in report days.
        let start = Utc.from_utc_datetime(&from.and_time(NaiveTime::MIN));
        let end = Utc.from_utc_datetime(&(to + Duration::days(1)).and_time(NaiveTime::MIN));
        let listings = months(report_day(start), report_day(end - Duration::milliseconds(1)));
        let mut partitions: Vec<Tally> = listings
            .into_iter()
            .flat_map(owners_partitions)
            .map(Tally::Listed)
            .collect();
        // And the counters changes were counted in before 2026-12-07.
        partitions.extend(
            months(from, to)
                .into_iter()
                .flat_map(stats_partitions)
                .map(Tally::Counted),
        );

        let window = Window {
            days: from..=to,
            low: timestamp(start),
            high: timestamp(end),
        };
        let mut out: BTreeMap<String, PoolNumbers> = BTreeMap::new();
        let mut reads = tokio::task::JoinSet::new();
        let mut partitions = partitions.into_iter();
        loop {
            while reads.len() < PARTITIONS_AT_ONCE {
                let Some(partition) = partitions.next() else { break };
                let (store, window) = (self.clone(), window.clone());
                reads.spawn(async move { store.numbers_in(partition, &window).await });
            }
            let Some(read) = reads.join_next().await else { break };
            for (pool, numbers) in read.map_err(unavailable)?? {
                let total = out.entry(pool).or_default();
                total.handed_out += numbers.handed_out;
                total.recycled += numbers.recycled;
            }
        }
        Ok(out)
    }
}

/// How many partitions the recycle-rate report reads at once: a year is about 65 (five
/// listings and five counter partitions a month), each read page by page and added up as
/// it comes, so a long period neither waits on one partition after another nor holds
/// more than a page of each.
const PARTITIONS_AT_ONCE: usize = 8;

/// Where pool numbers are kept.
enum Tally {
    /// A gsi1 partition of owner changes, each counting what its sort key says
    /// ([`counted_in_listing`]).
    Listed(String),
    /// A `STATS#` partition of day counters (written before 2026-12-07).
    Counted(String),
}

/// The period the numbers are for: its days, and its instants as sort-key bounds.
#[derive(Clone)]
struct Window {
    days: std::ops::RangeInclusive<NaiveDate>,
    low: String,
    high: String,
}

impl DynamoStore {
    /// One partition's numbers for the window's days.
    async fn numbers_in(&self, partition: Tally, window: &Window) -> Result<BTreeMap<String, PoolNumbers>, StoreError> {
        let mut out: BTreeMap<String, PoolNumbers> = BTreeMap::new();
        let mut add = |pool: &str, day: NaiveDate, handed_out: u64, recycled: u64| {
            if window.days.contains(&day) {
                let total = out.entry(pool.to_string()).or_default();
                total.handed_out += handed_out;
                total.recycled += recycled;
            }
        };
        match partition {
            Tally::Listed(pk) => {
                // The sort key is all it needs: nothing else is read back.
                let mut pages = self
                    .client()
                    .query()
                    .table_name(self.table())
                    .index_name(GSI1)
                    .key_condition_expression("gsi1pk = :pk AND gsi1sk BETWEEN :low AND :high")
                    .expression_attribute_values(":pk", s(pk))
                    .expression_attribute_values(":low", s(&window.low))
                    .expression_attribute_values(":high", s(&window.high))
                    .projection_expression(GSI1_SK)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    for entry in page.map_err(unavailable)?.items.unwrap_or_default() {
                        let listed = text(&entry, GSI1_SK);
                        if let Some((day, recycled, pool)) = listed.as_deref().and_then(counted_in_listing) {
                            add(pool, day, u64::from(!recycled), u64::from(recycled));
                        }
                    }
                }
            }
            Tally::Counted(pk) => {
                for item in self.query_prefix(&pk, "").await? {
                    let Some((day, pool)) = text(&item, SK).and_then(|sk| {
                        let (day, pool) = sk.split_once('#')?;
                        Some((day.parse::<NaiveDate>().ok()?, pool.to_string()))
                    }) else {
                        continue;
                    };
                    add(&pool, day, number(&item, HANDED_OUT), number(&item, RECYCLED));
                }
            }
        }
        Ok(out)
    }
}
