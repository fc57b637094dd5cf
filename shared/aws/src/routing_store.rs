//! DynamoDB adapter for [`RoutingStore`]: reps with their counters, pools with their
//! rotation state, the routing rules, owner-change and follow-up records, and notice
//! reservations.
//!
//! Caps hold because every counter moves inside the same `TransactWriteItems` as the
//! lead, under conditions: `active_leads < holding cap`, today's count `< daily cap`.
//! Daily counters are attributes named by day (`received#2026-11-23`), so a new day
//! starts at zero without a read-modify-write; the same update removes the last
//! week's attributes so items stay small.
//!
//! A rep's counters have an item of their own (`REPC#<rep>`, since 2026-12-07), out of
//! the one partition every profile shares. What was counted before stays on the profile
//! item, where nothing writes it any more: it is read as a fixed base ([`Base`]), the
//! counts are the sum, and a cap is checked on the rep's own item against the cap less
//! the base. A deleted rep's counter item stays, marked `retired`, so that an assignment
//! decided before the delete cannot charge the rep.

use crate::item::text;
use crate::item::{n, number};
use crate::keys::*;
use crate::paging::KeyRange;
use crate::store::saved_unless_refused;
use crate::{
    item::corrupt, item::lead_item, item::s, item::timestamp, item::unavailable, item::Item, store::DynamoStore,
};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{Duration, NaiveDate};
use domain::lead::ports::{Page, PageRequest};
use domain::lead::LeadId;
use domain::{
    assign::ports::FollowUp, assign::ports::LeadChange, assign::ports::OwnerChange, assign::ports::PoolTake,
    assign::ports::RepCounters, assign::ports::RoutingStore, lead::ports::Saved, lead::ports::StoreError,
};
use domain::{
    assign::routing::DailyCount, assign::routing::Pool, assign::routing::PoolState, assign::routing::Rep,
    assign::routing::RoutingConfig,
};
use std::collections::{BTreeMap, HashMap};

const RECEIVED: &str = "received";
const ACTIVE: &str = "active_leads";
const ASSIGNED: &str = "assigned";
const CLAIMED: &str = "claimed";
const SERVED: &str = "served#";
/// How long a sent notice is remembered (a redelivery after this could resend it).
const NOTICE_TTL: Duration = Duration::days(30);

fn day_attr(counter: &str, day: NaiveDate) -> String {
    format!("{counter}#{day}")
}

/// The latest day-named counter `counter#YYYY-MM-DD` on the item.
fn daily(item: &Item, counter: &str) -> DailyCount {
    let prefix = format!("{counter}#");
    item.keys()
        .filter_map(|k| k.strip_prefix(&prefix)?.parse::<NaiveDate>().ok())
        .max()
        .map_or_else(DailyCount::default, |day| DailyCount {
            day: Some(day),
            count: number(item, &day_attr(counter, day)) as u32,
        })
}

/// Pools are stored under one attribute, so the table's keys stay out of the model.
fn pool_from(item: Item) -> Result<Pool, StoreError> {
    let pool = item
        .get("pool")
        .cloned()
        .ok_or_else(|| corrupt("pool item without pool"))?;
    serde_dynamo::from_attribute_value(pool).map_err(corrupt)
}

/// A counter that may be below zero: a rep's own item counts down the leads charged to
/// the [`Base`] too.
fn signed(item: &Item, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// What a rep's profile item counted before the counters had an item of their own.
#[derive(Debug, Clone, Copy, Default)]
struct Base {
    active: i64,
    received: DailyCount,
}

impl Base {
    fn of(profile: &Item) -> Self {
        Self {
            active: signed(profile, ACTIVE),
            received: daily(profile, RECEIVED),
        }
    }
}

/// The base and the rep's own counters added up. A day's count is the sum of both for
/// the later of their latest days.
fn counted(base: Base, own: Option<&Item>) -> RepCounters {
    let mine = own.map(|item| daily(item, RECEIVED)).unwrap_or_default();
    let received = match base.received.day.cmp(&mine.day) {
        std::cmp::Ordering::Equal => DailyCount {
            day: mine.day,
            count: base.received.count + mine.count,
        },
        std::cmp::Ordering::Greater => base.received,
        std::cmp::Ordering::Less => mine,
    };
    let active = base.active + own.map_or(0, |item| signed(item, ACTIVE));
    RepCounters {
        active_leads: u32::try_from(active.max(0)).unwrap_or(u32::MAX),
        received,
    }
}

fn rep_from(profile: Item, own: Option<&Item>) -> Result<(Rep, RepCounters), StoreError> {
    let counters = counted(Base::of(&profile), own);
    let profile = profile
        .get("profile")
        .cloned()
        .ok_or_else(|| corrupt("rep item without profile"))?;
    let rep: Rep = serde_dynamo::from_attribute_value(profile).map_err(corrupt)?;
    Ok((rep, counters))
}

/// `active_leads < limit` on a rep's own counter item, which counts as zero while it has
/// no `active_leads`.
fn below(name: &str, limit: i64) -> String {
    if limit > 0 {
        format!("attribute_not_exists(active_leads) OR active_leads < {name}")
    } else {
        format!("active_leads < {name}")
    }
}

/// `active_leads > floor`, likewise.
fn above(name: &str, floor: i64) -> String {
    if floor < 0 {
        format!("attribute_not_exists(active_leads) OR active_leads > {name}")
    } else {
        format!("active_leads > {name}")
    }
}

/// Each profile with its rep's counter item, if it has one.
fn with_counters(profiles: Vec<Item>, counters: Vec<Item>) -> Result<Vec<(Rep, RepCounters)>, StoreError> {
    let counters: HashMap<String, Item> = counters
        .into_iter()
        .filter_map(|item| Some((text(&item, PK)?, item)))
        .collect();
    profiles
        .into_iter()
        .map(|profile| {
            let own = text(&profile, SK).and_then(|id| counters.get(&rep_counters_pk(&id)));
            rep_from(profile, own)
        })
        .collect()
}

/// One update in a transaction, built from an expression and its names and values.
struct UpdateSpec {
    pk: String,
    sk: String,
    expression: String,
    condition: Option<String>,
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

impl UpdateSpec {
    fn new(pk: String, sk: impl Into<String>) -> Self {
        Self {
            pk,
            sk: sk.into(),
            expression: String::new(),
            condition: None,
            names: Vec::new(),
            values: Vec::new(),
        }
    }

    /// `ADD #today :one` under an optional daily cap, and `REMOVE` of the previous
    /// week's counters.
    fn daily_add(
        &mut self,
        counter: &str,
        day: NaiveDate,
        cap: Option<u32>,
        adds: &mut Vec<String>,
        removes: &mut Vec<String>,
    ) {
        let today = format!("#{counter}_today");
        self.names.push((today.clone(), day_attr(counter, day)));
        self.values.push((":one".into(), n(1)));
        adds.push(format!("{today} :one"));
        for back in 1..=7 {
            let name = format!("#{counter}_old{back}");
            self.names
                .push((name.clone(), day_attr(counter, day - Duration::days(back))));
            removes.push(name);
        }
        if let Some(cap) = cap {
            let value = format!(":{counter}_cap");
            self.values.push((value.clone(), n(cap)));
            self.and_condition(format!("(attribute_not_exists({today}) OR {today} < {value})"));
        }
    }

    fn and_condition(&mut self, clause: String) {
        self.condition = Some(match self.condition.take() {
            Some(existing) => format!("{existing} AND {clause}"),
            None => clause,
        });
    }

    fn build(self, table: &str) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(table)
            .key(PK, s(self.pk))
            .key(SK, s(self.sk))
            .update_expression(self.expression)
            .set_condition_expression(self.condition);
        // A map: two parts of one update may bind the same value (`:one`).
        let values: HashMap<String, AttributeValue> = self.values.into_iter().collect();
        for (k, v) in self.names {
            update = update.expression_attribute_names(k, v);
        }
        update = update.set_expression_attribute_values(Some(values));
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(unavailable)?)
            .build())
    }
}

fn expression(sets: &[String], adds: &[String], removes: &[String]) -> String {
    let mut parts = Vec::new();
    if !sets.is_empty() {
        parts.push(format!("SET {}", sets.join(", ")));
    }
    if !adds.is_empty() {
        parts.push(format!("ADD {}", adds.join(", ")));
    }
    if !removes.is_empty() {
        parts.push(format!("REMOVE {}", removes.join(", ")));
    }
    parts.join(" ")
}

fn record_put(
    table: &str,
    pk: String,
    sk: String,
    record: &impl serde::Serialize,
    extra: &[(&str, String)],
) -> Result<TransactWriteItem, StoreError> {
    let mut item: Item = serde_dynamo::to_item(record).map_err(corrupt)?;
    for (name, value) in extra {
        item.insert(name.to_string(), s(value.clone()));
    }
    item.insert(PK.into(), s(pk));
    item.insert(SK.into(), s(sk));
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

impl DynamoStore {
    async fn update(&self, spec: UpdateSpec) -> Result<(), StoreError> {
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PK, s(spec.pk))
            .key(SK, s(spec.sk))
            .update_expression(spec.expression)
            .set_condition_expression(spec.condition);
        for (k, v) in spec.names {
            request = request.expression_attribute_names(k, v);
        }
        for (k, v) in spec.values {
            request = request.expression_attribute_values(k, v);
        }
        request.send().await.map_err(unavailable)?;
        Ok(())
    }

    /// What the rep's profile item counted before 2026-12-07; `None` if the rep has no
    /// profile.
    async fn base(&self, rep: &str) -> Result<Option<Base>, StoreError> {
        Ok(self.get_item(REPS_PK, rep).await?.as_ref().map(Base::of))
    }

    /// The counter items of the reps whose profiles are `profiles`.
    async fn rep_counters(&self, profiles: &[Item]) -> Result<Vec<Item>, StoreError> {
        let keys = profiles
            .iter()
            .filter_map(|profile| text(profile, SK))
            .map(|id| (rep_counters_pk(&id), REP_COUNTERS_SK.to_string()))
            .collect();
        self.batch_get(keys, true).await
    }

    async fn records<T: serde::de::DeserializeOwned>(&self, lead: &LeadId, prefix: &str) -> Result<Vec<T>, StoreError> {
        self.query_prefix(&lead_pk(lead), prefix)
            .await?
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).map_err(corrupt))
            .collect()
    }
}

impl RoutingStore for DynamoStore {
    async fn routing(&self) -> Result<RoutingConfig, StoreError> {
        Ok(self
            .versioned_document(ROUTING_PK, "routing")
            .await?
            .unwrap_or_default())
    }

    async fn save_routing(&self, config: &RoutingConfig) -> Result<Saved, StoreError> {
        self.save_versioned_document(ROUTING_PK, "routing", config.version, config)
            .await
    }

    async fn pool(&self, id: &str) -> Result<Option<Pool>, StoreError> {
        self.get_item(POOLS_PK, id).await?.map(pool_from).transpose()
    }

    async fn pools(&self) -> Result<Vec<Pool>, StoreError> {
        self.query_prefix(POOLS_PK, "")
            .await?
            .into_iter()
            .map(pool_from)
            .collect()
    }

    async fn pools_page(&self, page: PageRequest<'_>) -> Result<Page<Pool>, StoreError> {
        let read = self.query_page(&KeyRange::partition(POOLS_PK), page).await?;
        Ok(Page {
            items: read.items.into_iter().map(pool_from).collect::<Result<_, _>>()?,
            next: read.next,
        })
    }

    async fn put_pool(&self, pool: &Pool) -> Result<(), StoreError> {
        let item: Item = HashMap::from([
            (PK.to_string(), s(POOLS_PK)),
            (SK.to_string(), s(pool.id.clone())),
            (
                "pool".to_string(),
                serde_dynamo::to_attribute_value(pool).map_err(corrupt)?,
            ),
        ]);
        self.put(item).await?;
        // Members who left lose their rotation counter: rejoining levels them afresh.
        if let Some(state) = self.get_item(&pool_state_pk(&pool.id), POOL_STATE_SK).await? {
            let departed: Vec<String> = state
                .keys()
                .filter(|k| {
                    k.strip_prefix(SERVED)
                        .is_some_and(|m| !pool.members.iter().any(|x| x == m))
                })
                .cloned()
                .collect();
            if !departed.is_empty() {
                let mut spec = UpdateSpec::new(pool_state_pk(&pool.id), POOL_STATE_SK);
                let names: Vec<String> = (0..departed.len()).map(|i| format!("#d{i}")).collect();
                spec.expression = format!("REMOVE {}", names.join(", "));
                spec.names = names.into_iter().zip(departed).collect();
                self.update(spec).await?;
            }
        }
        Ok(())
    }

    async fn delete_pool(&self, id: &str) -> Result<bool, StoreError> {
        let out = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key(PK, s(POOLS_PK))
            .key(SK, s(id))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.attributes.is_some())
    }

    async fn pool_state(&self, id: &str, day: NaiveDate) -> Result<PoolState, StoreError> {
        let Some(item) = self.get_item(&pool_state_pk(id), POOL_STATE_SK).await? else {
            return Ok(PoolState::default());
        };
        let assigned: BTreeMap<String, u64> = item
            .keys()
            .filter_map(|k| Some((k.strip_prefix(SERVED)?.to_string(), number(&item, k))))
            .collect();
        Ok(PoolState {
            assigned,
            last_rep: text(&item, "last_rep"),
            assigned_today: daily(&item, ASSIGNED).on(day),
            claimed_today: daily(&item, CLAIMED).on(day),
        })
    }

    async fn rep(&self, id: &str) -> Result<Option<(Rep, RepCounters)>, StoreError> {
        Ok(self.reps(&[id.to_string()]).await?.pop())
    }

    async fn reps(&self, ids: &[String]) -> Result<Vec<(Rep, RepCounters)>, StoreError> {
        // Profiles and counters in one read.
        let profiles = ids.iter().map(|id| (REPS_PK.to_string(), id.clone()));
        let counters = ids.iter().map(|id| (rep_counters_pk(id), REP_COUNTERS_SK.to_string()));
        let (profiles, counters): (Vec<Item>, Vec<Item>) = self
            .batch_get(profiles.chain(counters).collect(), true)
            .await?
            .into_iter()
            .partition(|item| text(item, PK).as_deref() == Some(REPS_PK));
        with_counters(profiles, counters)
    }

    async fn all_reps(&self) -> Result<Vec<(Rep, RepCounters)>, StoreError> {
        let profiles = self.query_prefix(REPS_PK, "").await?;
        let counters = self.rep_counters(&profiles).await?;
        with_counters(profiles, counters)
    }

    async fn reps_page(&self, page: PageRequest<'_>) -> Result<Page<(Rep, RepCounters)>, StoreError> {
        let read = self.query_page(&KeyRange::partition(REPS_PK), page).await?;
        let counters = self.rep_counters(&read.items).await?;
        Ok(Page {
            items: with_counters(read.items, counters)?,
            next: read.next,
        })
    }

    async fn put_rep(&self, rep: &Rep) -> Result<(), StoreError> {
        let profile = serde_dynamo::to_attribute_value(rep).map_err(corrupt)?;
        let mut spec = UpdateSpec::new(REPS_PK.into(), rep.id.clone());
        // The profile only: counters are the assignments' to move. (`active_leads` is
        // still started at zero here for a release from before 2026-12-07, whose charge
        // condition needs it, should one run beside this one during a deploy.)
        spec.expression = "SET profile = :p, active_leads = if_not_exists(active_leads, :zero)".into();
        spec.values = vec![(":p".into(), profile), (":zero".into(), n(0))];
        // A rep saved again after a delete may be charged again, from nothing (a lead
        // released from the deleted rep may have counted down since). First, so that a
        // failed save leaves no profile to route to whose counters refuse every charge
        // (a delete racing the save still can: an admin against an admin).
        let revive = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PK, s(rep_counters_pk(&rep.id)))
            .key(SK, s(REP_COUNTERS_SK))
            .update_expression("REMOVE retired SET active_leads = :zero")
            .condition_expression("attribute_exists(retired)")
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        saved_unless_refused(revive)?;
        self.update(spec).await
    }

    async fn delete_rep(&self, id: &str) -> Result<Option<Saved>, StoreError> {
        let Some(profile) = self.get_item(REPS_PK, id).await? else {
            return Ok(None);
        };
        let own = self.get_item(&rep_counters_pk(id), REP_COUNTERS_SK).await?;
        let (base, mine) = (signed(&profile, ACTIVE), own.as_ref().map_or(0, |o| signed(o, ACTIVE)));
        if base + mine > 0 {
            return Ok(Some(Saved::Conflict));
        }
        // Both counts as read, or someone was charged meanwhile.
        let unchanged = |count: i64| {
            (
                "attribute_not_exists(active_leads) OR active_leads = :count".to_string(),
                n(count),
            )
        };
        let (condition, count) = unchanged(base);
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(self.table())
            .key(PK, s(REPS_PK))
            .key(SK, s(id))
            .condition_expression(condition)
            .expression_attribute_values(":count", count)
            .build()
            .map_err(unavailable)?;
        // The counters start again from nothing, marked: a rep saved again under this id
        // starts afresh, as a new profile would.
        let (condition, count) = unchanged(mine);
        let retire = Put::builder()
            .table_name(self.table())
            .item(PK, s(rep_counters_pk(id)))
            .item(SK, s(REP_COUNTERS_SK))
            .item("retired", AttributeValue::Bool(true))
            .condition_expression(condition)
            .expression_attribute_values(":count", count)
            .build()
            .map_err(unavailable)?;
        let writes = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().put(retire).build(),
        ];
        self.transact(writes).await.map(Some)
    }

    async fn commit_change(&self, change: &LeadChange) -> Result<Saved, StoreError> {
        // The pool's numbers are counted where the owner change is listed.
        let counted = change.counted_stat()?.map(|(_, stat)| stat);
        let table = self.table();
        let lead_id = &change.lead.id;
        let counting = crate::rollup::funnel_writes(table, &change.funnel)?;
        let mut writes = vec![crate::item::conditional_put(
            table,
            lead_item(&change.lead)?,
            "#v = :expected",
            vec![(":expected", n(change.expected_version))],
        )?];
        if let Some(charge) = &change.charge {
            // A rep without a profile cannot be charged.
            let Some(base) = self.base(&charge.rep).await? else {
                return Ok(Saved::Conflict);
            };
            // The rep's own count may be below zero (leads charged to the base, released
            // since), so a base at the holding cap may still leave room.
            let hold = i64::from(charge.holding_cap) - base.active;
            // A day's count never is: a base at the daily cap fills it.
            let daily_cap = charge
                .daily_cap
                .filter(|_| charge.counts_today)
                .map(|cap| i64::from(cap) - i64::from(base.received.on(change.day)));
            if daily_cap.is_some_and(|left| left <= 0) {
                return Ok(Saved::Conflict);
            }
            let mut spec = UpdateSpec::new(rep_counters_pk(&charge.rep), REP_COUNTERS_SK);
            let (mut adds, mut removes) = (vec!["active_leads :one".to_string()], Vec::new());
            spec.values.push((":one".into(), n(1)));
            spec.values.push((":hold".into(), n(hold)));
            spec.condition = Some(format!("attribute_not_exists(retired) AND ({})", below(":hold", hold)));
            if charge.counts_today {
                let cap = daily_cap.map(|left| u32::try_from(left).unwrap_or(u32::MAX));
                spec.daily_add(RECEIVED, change.day, cap, &mut adds, &mut removes);
            }
            spec.expression = expression(&[], &adds, &removes);
            writes.push(spec.build(table)?);
        }
        if let Some(rep) = &change.release {
            let mut spec = UpdateSpec::new(rep_counters_pk(rep), REP_COUNTERS_SK);
            spec.expression = "ADD active_leads :minus".into();
            spec.values.push((":minus".into(), n(-1)));
            if let Some(floor) = change.release_floor {
                // Held above the floor: the base and the rep's own item together.
                let floor = i64::from(floor) - self.base(rep).await?.unwrap_or_default().active;
                spec.values.push((":floor".into(), n(floor)));
                spec.condition = Some(above(":floor", floor));
            }
            writes.push(spec.build(table)?);
        }
        if let Some(take) = &change.pool_take {
            let (pool, counter, cap) = match take {
                PoolTake::Assigned { pool, daily_cap, .. } => (pool, ASSIGNED, *daily_cap),
                PoolTake::Claimed { pool, daily_claim_cap } => (pool, CLAIMED, *daily_claim_cap),
            };
            let mut spec = UpdateSpec::new(pool_state_pk(pool), POOL_STATE_SK);
            let (mut sets, mut adds, mut removes) = (Vec::new(), Vec::new(), Vec::new());
            if let PoolTake::Assigned { rep, levelled_from, .. } = take {
                // A newcomer's counter starts at the pool's floor, then counts up.
                sets.push("#served = if_not_exists(#served, :base) + :one".to_string());
                sets.push("last_rep = :rep".to_string());
                spec.names.push(("#served".into(), format!("{SERVED}{rep}")));
                spec.values.push((":base".into(), n(*levelled_from)));
                spec.values.push((":rep".into(), s(rep.clone())));
            }
            spec.daily_add(counter, change.day, cap, &mut adds, &mut removes);
            spec.expression = expression(&sets, &adds, &removes);
            writes.push(spec.build(table)?);
        }
        if let Some(record) = &change.owner_change {
            // Also listed by month (gsi1) for the owners report, with what it counts in its
            // pool's numbers for the recycle-rate report.
            let listed = [
                (GSI1_PK, owners_pk(domain::lead::funnel::report_day(record.at), lead_id)),
                (GSI1_SK, owner_listing_sk(&timestamp(record.at), &record.id, counted)),
            ];
            writes.push(record_put(
                table,
                lead_pk(lead_id),
                owner_change_sk(&record.id),
                record,
                &listed,
            )?);
        }
        if let Some(record) = &change.follow_up {
            writes.push(record_put(
                table,
                lead_pk(lead_id),
                follow_up_sk(&record.id),
                record,
                &[],
            )?);
        }
        if let Some(violation) = &change.violation {
            // Its id is deterministic per clock run: a second sweep's copy fails here.
            let sk = format!("{}#{}", timestamp(violation.due_at), violation.id);
            writes.push(record_put(table, violation_pk(violation.due_at), sk, violation, &[])?);
        }
        writes.extend(counting);
        if let Some(mark) = &change.job {
            writes.extend(crate::job_store::job_mark_writes(table, mark)?);
        }
        self.transact(writes).await
    }

    async fn waiting_in_pool(&self, pool: &str, page: PageRequest<'_>) -> Result<Page<LeadId>, StoreError> {
        let range = KeyRange {
            index: Some(GSI1),
            pk_attr: GSI1_PK,
            sk_attr: GSI1_SK,
            ..KeyRange::partition(pool_waiting_pk(pool))
        };
        let read = self.query_page(&range, page).await?;
        Ok(Page {
            items: read.items.iter().filter_map(crate::item::lead_id_of).collect(),
            next: read.next,
        })
    }

    async fn owner_changes(&self, lead: &LeadId) -> Result<Vec<OwnerChange>, StoreError> {
        self.records(lead, OWNER_CHANGE_SK_PREFIX).await
    }

    async fn follow_ups(&self, lead: &LeadId) -> Result<Vec<FollowUp>, StoreError> {
        self.records(lead, FOLLOW_UP_SK_PREFIX).await
    }

    async fn reserve_notice(&self, key: &str) -> Result<bool, StoreError> {
        let now = chrono::Utc::now();
        self.put_if_absent(HashMap::from([
            (PK.to_string(), s(notice_pk(key))),
            (SK.to_string(), s(NOTICE_SK)),
            ("reserved_at".to_string(), s(timestamp(now))),
            (TTL.to_string(), n((now + NOTICE_TTL).timestamp())),
        ]))
        .await
    }

    async fn release_notice(&self, key: &str) -> Result<(), StoreError> {
        self.delete(&notice_pk(key), NOTICE_SK).await
    }
}
