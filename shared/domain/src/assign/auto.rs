//! Assignment (docs/src/rules/assign.md#commit): `lead.ready` → pool → rep, committed under the caps; the
//! owner's notice; and the sweep's re-offer of leads waiting in pools.
//!
//! Every decision is made from a fresh read and committed with conditions (lead version,
//! rep holding and daily caps, pool daily cap). A lost condition means someone else
//! moved first: read again and decide again, so caps hold under any concurrency.

use crate::lead::ports::PageRequest;
use crate::lead::retry::{Attempts, MAX_ATTEMPTS};
use crate::lead::{Lead, LeadId, OwnerChangeHow, Stage};
use crate::{assign::notify::Notice, assign::notify::Webhook};
use crate::{
    assign::ports::LeadChange, assign::ports::Notifier, assign::ports::NotifyError, assign::ports::OwnerChange,
    assign::ports::PoolStat, assign::ports::PoolTake, assign::ports::RepCharge, assign::ports::RepCounters,
    assign::ports::RoutingStore, follow_up::ports::SlaStore, lead::ports::BusError, lead::ports::LeadStore,
    lead::ports::MessageBus, lead::ports::Saved, lead::ports::StoreError,
};
use crate::{
    assign::routing::eligibility, assign::routing::explain_pool, assign::routing::route_explained,
    assign::routing::Decision, assign::routing::Pool, assign::routing::PoolState, assign::routing::Rep,
    assign::routing::RepLoad, assign::routing::Routed, assign::routing::Strategy, assign::routing::WaitReason,
};
use crate::{follow_up::sla, follow_up::sla::SlaConfig};
use crate::{lead::messages::Envelope, lead::messages::Message, lead::messages::ReadyReason};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AssignError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error("gave up after {MAX_ATTEMPTS} write conflicts")]
    Contended,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigned {
    Assigned {
        rep: String,
        pool: String,
    },
    /// An owner preset at capture (an existing customer's owner) was confirmed.
    Adopted {
        rep: String,
    },
    /// In the pool without an owner until someone is eligible or claims it.
    Waiting {
        pool: String,
        reason: String,
    },
    /// Was waiting in that pool already (a duplicate delivery, or a re-offer while nobody
    /// has room yet): nothing changed.
    StillWaiting {
        pool: String,
        reason: String,
    },
    AlreadyOwned,
    NotRoutable(Stage),
    Missing,
}

/// Stages assignment acts on.
pub fn routable(stage: Stage) -> bool {
    matches!(stage, Stage::Aql | Stage::Mql | Stage::Sql | Stage::Recycled)
}

pub fn new_change_id(at: DateTime<Utc>) -> String {
    crate::lead::ulid_at(at)
}

/// Gives `lead` to `rep`, recording how; returns the owner-change record.
pub fn hand_over(
    lead: &mut Lead,
    rep: &Rep,
    how: OwnerChangeHow,
    by: Option<&str>,
    note: Option<String>,
    at: DateTime<Utc>,
) -> OwnerChange {
    let change = OwnerChange {
        id: new_change_id(at),
        lead_id: lead.id.clone(),
        from: lead.owner.clone(),
        to: Some(rep.id.clone()),
        how,
        by: by.map(str::to_string),
        pool: lead.pool.clone(),
        note,
        at,
    };
    if lead.owner.as_deref() != Some(rep.id.as_str()) {
        lead.previous_owner = lead.owner.take().or(lead.previous_owner.take());
    }
    lead.owner = Some(rep.id.clone());
    lead.owner_department = Some(rep.department.clone()).filter(|d| !d.is_empty());
    lead.owner_since = Some(at);
    lead.acquisition = Some(how);
    lead.owner_change_id = Some(change.id.clone());
    lead.waiting_since = None;
    lead.reactivated_at = None;
    lead.revise(at);
    change
}

/// The rep whose holding counter this lead is charged to (a preset owner that
/// assignment has not confirmed yet was never charged).
pub(crate) fn charged_holder(lead: &Lead) -> Option<String> {
    lead.owner_change_id.as_ref()?;
    lead.held_by().map(str::to_string)
}

pub fn charge_for(rep: &Rep, counts_today: bool) -> RepCharge {
    RepCharge {
        rep: rep.id.clone(),
        holding_cap: rep.holding_cap(),
        daily_cap: rep.daily_cap,
        counts_today,
    }
}

pub fn load_of(counters: RepCounters, day: NaiveDate) -> RepLoad {
    RepLoad {
        active_leads: counters.active_leads,
        assigned_today: counters.received.on(day),
    }
}

async fn announce<B: MessageBus>(bus: &B, lead: &Lead, now: DateTime<Utc>) -> Result<(), BusError> {
    if let Some(change_id) = &lead.owner_change_id {
        let message = Message::LeadAssigned {
            lead_id: lead.id.clone(),
            change_id: change_id.clone(),
        };
        bus.publish(&Envelope::new(message, now)).await?;
    }
    Ok(())
}

/// Where assignment stands on a lead before it reads anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Routable and without a confirmed owner: assignment goes on.
    Open,
    NotRoutable(Stage),
    /// Owned through a recorded owner change: assignment leaves it.
    AlreadyOwned,
}

pub fn gate(lead: &Lead) -> Gate {
    if !routable(lead.stage) {
        Gate::NotRoutable(lead.stage)
    } else if lead.owner.is_some() && lead.owner_change_id.is_some() {
        Gate::AlreadyOwned
    } else {
        Gate::Open
    }
}

/// The owner preset at capture (an existing customer's, or an imported file's) when they
/// are a rep: assignment confirms them instead of routing.
pub async fn preset_owner<S: RoutingStore>(store: &S, lead: &Lead) -> Result<Option<Rep>, StoreError> {
    Ok(match &lead.owner {
        Some(owner) => store.rep(owner).await?.map(|(rep, _)| rep),
        None => None,
    })
}

/// What routing reads of one pool for one business day: the pool, its members with what
/// they hold, and its rotation state.
#[derive(Debug, Clone)]
pub struct PoolReading {
    pub pool: Pool,
    pub reps: BTreeMap<String, Rep>,
    pub loads: BTreeMap<String, RepLoad>,
    pub state: PoolState,
}

/// The pool `id` as routing reads it on `day`; `None` if no such pool is stored.
pub async fn read_pool<S: RoutingStore>(
    store: &S,
    id: &str,
    day: NaiveDate,
) -> Result<Option<PoolReading>, StoreError> {
    let Some(pool) = store.pool(id).await? else {
        return Ok(None);
    };
    let reps = store.reps(&pool.members).await?;
    let loads = reps
        .iter()
        .map(|(rep, counters)| (rep.id.clone(), load_of(*counters, day)))
        .collect();
    let reps = reps.into_iter().map(|(rep, _)| (rep.id.clone(), rep)).collect();
    let state = store.pool_state(&pool.id, day).await?;
    Ok(Some(PoolReading {
        pool,
        reps,
        loads,
        state,
    }))
}

impl PoolReading {
    /// Routes `lead` in this pool: by its grade, skipping its previous owner.
    pub fn route(&self, lead: &Lead, at: DateTime<Utc>) -> Routed<'_> {
        let grade = lead.score.as_ref().map(|s| (s.grade, s.level));
        let exclude: Vec<String> = lead.previous_owner.iter().cloned().collect();
        route_explained(&self.pool, &self.reps, &self.loads, &self.state, grade, at, &exclude)
    }
}

/// How an assignment records a routed lead's new owner: a lead woken from nurture is
/// "reactivated", one recycled from a previous owner "recycled" to the next one.
pub fn routed_how(lead: &Lead) -> OwnerChangeHow {
    if lead.reactivated_at.is_some() {
        OwnerChangeHow::Reactivated
    } else if lead.stage == Stage::Recycled && lead.previous_owner.is_some() {
        OwnerChangeHow::Recycled
    } else {
        OwnerChangeHow::AutoAssigned
    }
}

/// How an assignment records a confirmed preset owner.
pub fn preset_how(lead: &Lead, owner: &str) -> (OwnerChangeHow, Option<String>) {
    let imported = lead.import.as_ref().is_some_and(|i| i.owner.as_deref() == Some(owner));
    if imported {
        (OwnerChangeHow::Imported, Some("imported".to_string()))
    } else {
        (OwnerChangeHow::Created, None)
    }
}

/// `lead.ready`: route the lead and commit the owner, or park it in its pool. The routing
/// preview ([`crate::assign::preview`]) reads and decides through the same steps:
/// [`gate`], [`preset_owner`], [`explain_pool`], [`read_pool`], [`PoolReading::route`].
pub async fn assign_lead<S: LeadStore + RoutingStore + SlaStore, B: MessageBus>(
    store: &S,
    bus: &B,
    lead_id: &LeadId,
    now: DateTime<Utc>,
) -> Result<Assigned, AssignError> {
    let mut attempts = Attempts::new();
    while attempts.next_attempt().await {
        let Some(lead) = store.get_lead(lead_id).await? else {
            return Ok(Assigned::Missing);
        };
        match gate(&lead) {
            Gate::NotRoutable(stage) => return Ok(Assigned::NotRoutable(stage)),
            Gate::AlreadyOwned => {
                // Duplicate delivery, or the commit landed and the notice was not sent:
                // send it (again); the notice itself goes out at most once.
                announce(bus, &lead, now).await?;
                return Ok(Assigned::AlreadyOwned);
            }
            Gate::Open => {}
        }
        let config = store.routing().await?;
        let sla_config = store.sla_config().await?;
        let day = config.business_day(now);

        // An owner preset from a customer match: confirm it and count it against them.
        // (A preset owner who is not a rep (yet): route normally.)
        if let Some(rep) = preset_owner(store, &lead).await? {
            let mut next = lead.clone();
            let (how, note) = preset_how(&lead, &rep.id);
            let change = hand_over(&mut next, &rep, how, None, note, now);
            sla::refresh(&mut next, &sla_config, now);
            let mut charge = charge_for(&rep, false);
            // The customer's owner keeps their customer even when full.
            charge.holding_cap = u32::MAX;
            let commit = LeadChange {
                owner_change: Some(change),
                charge: Some(charge),
                ..LeadChange::new(&lead, next.clone(), day)
            };
            if store.commit_change(&commit).await? == Saved::Conflict {
                continue;
            }
            announce(bus, &next, now).await?;
            return Ok(Assigned::Adopted { rep: rep.id });
        }

        let pool_id = explain_pool(&lead, &config).pool.to_string();
        let Some(reading) = read_pool(store, &pool_id, day).await? else {
            let reason = WaitReason::PoolNotConfigured.text();
            match park(store, lead, &pool_id, reason, day, now, &sla_config).await? {
                Some(waiting) => return Ok(waiting),
                None => continue,
            }
        };
        let routed = reading.route(&lead, now);
        let pool = &reading.pool;
        match routed.decision {
            Decision::Wait { reason } => match park(store, lead, &pool.id, reason.text(), day, now, &sla_config).await?
            {
                Some(waiting) => return Ok(waiting),
                None => continue,
            },
            Decision::Assign { rep } => {
                let rep = &reading.reps[&rep];
                let mut next = lead.clone();
                next.pool = Some(pool.id.clone());
                let change = hand_over(&mut next, rep, routed_how(&lead), None, None, now);
                sla::refresh(&mut next, &sla_config, now);
                let served_after = routed.next.assigned.get(&rep.id).copied().unwrap_or(1);
                let commit = LeadChange {
                    owner_change: Some(change),
                    charge: Some(charge_for(rep, true)),
                    pool_take: Some(PoolTake::Assigned {
                        pool: pool.id.clone(),
                        rep: rep.id.clone(),
                        levelled_from: served_after.saturating_sub(1),
                        daily_cap: pool.daily_cap,
                    }),
                    stat: Some(PoolStat::handed_out(&pool.id, now)),
                    ..LeadChange::new(&lead, next.clone(), day)
                };
                if store.commit_change(&commit).await? == Saved::Conflict {
                    continue;
                }
                announce(bus, &next, now).await?;
                return Ok(Assigned::Assigned {
                    rep: rep.id.clone(),
                    pool: pool.id.clone(),
                });
            }
        }
    }
    Err(AssignError::Contended)
}

/// Leaves the lead waiting in `pool` (written once; later re-offers change nothing and
/// answer [`Assigned::StillWaiting`]). `None`: the lead changed meanwhile; decide again.
async fn park<S: RoutingStore>(
    store: &S,
    lead: Lead,
    pool: &str,
    reason: &str,
    day: NaiveDate,
    now: DateTime<Utc>,
    sla_config: &SlaConfig,
) -> Result<Option<Assigned>, AssignError> {
    if lead.pool.as_deref() == Some(pool) && lead.waiting_since.is_some() {
        // Still waiting, but its clocks may have changed with its stage: an AQL that
        // became MQL while it waits starts its claim deadline now.
        let mut next = lead.clone();
        sla::refresh(&mut next, sla_config, now);
        let runs = |l: &Lead| {
            l.sla
                .iter()
                .map(|c| (c.clock.clone(), c.started_at))
                .collect::<Vec<_>>()
        };
        if runs(&next) != runs(&lead) || next.sla_next_check != lead.sla_next_check {
            next.revise(now);
            if store.commit_change(&LeadChange::new(&lead, next, day)).await? == Saved::Conflict {
                return Ok(None);
            }
        }
        return Ok(Some(Assigned::StillWaiting {
            pool: pool.to_string(),
            reason: reason.to_string(),
        }));
    }
    let waiting = Assigned::Waiting {
        pool: pool.to_string(),
        reason: reason.to_string(),
    };
    let mut next = lead.clone();
    next.pool = Some(pool.to_string());
    next.waiting_since = Some(now);
    next.revise(now);
    sla::refresh(&mut next, sla_config, now);
    Ok(match store.commit_change(&LeadChange::new(&lead, next, day)).await? {
        Saved::Saved => Some(waiting),
        Saved::Conflict => None,
    })
}

/// The webhook a notice for `owner` in `pool` goes to.
async fn webhook_for<S: RoutingStore>(
    store: &S,
    owner: &str,
    pool: Option<&str>,
) -> Result<Option<Webhook>, StoreError> {
    if let Some((rep, _)) = store.rep(owner).await? {
        if rep.webhook.is_some() {
            return Ok(rep.webhook);
        }
    }
    Ok(match pool {
        Some(pool) => store.pool(pool).await?.and_then(|p| p.webhook),
        None => None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Noticed {
    Sent,
    AlreadySent,
    NoWebhook,
    /// The lead changed hands since; the new owner gets their own notice.
    Stale,
}

/// Sends notice `key` at most once: reserve, send, and give the reservation back if
/// the send fails (the message is retried; a crash after sending loses nothing but a
/// duplicate, which is what "at most once" rules out).
async fn send_once<S: RoutingStore, N: Notifier>(
    store: &S,
    notifier: &N,
    key: &str,
    hook: &Webhook,
    notice: &Notice<'_>,
) -> Result<Noticed, AssignError> {
    if !store.reserve_notice(key).await? {
        return Ok(Noticed::AlreadySent);
    }
    if let Err(e) = notifier.send(hook, &hook.payload(notice)).await {
        store.release_notice(key).await?;
        return Err(e.into());
    }
    Ok(Noticed::Sent)
}

/// `lead.assigned`: tell the new owner.
pub async fn notify_assigned<S: LeadStore + RoutingStore, N: Notifier>(
    store: &S,
    notifier: &N,
    lead_id: &LeadId,
    change_id: &str,
) -> Result<Noticed, AssignError> {
    let Some(lead) = store.get_lead(lead_id).await? else {
        return Ok(Noticed::Stale);
    };
    let (Some(owner), Some(current)) = (&lead.owner, &lead.owner_change_id) else {
        return Ok(Noticed::Stale);
    };
    if current != change_id {
        return Ok(Noticed::Stale);
    }
    let Some(hook) = webhook_for(store, owner, lead.pool.as_deref()).await? else {
        return Ok(Noticed::NoWebhook);
    };
    let notice = Notice::Assigned {
        lead: &lead,
        how: lead.acquisition,
    };
    send_once(store, notifier, &format!("assigned:{change_id}"), &hook, &notice).await
}

/// The lead and where a notice to its owner goes (their webhook, else their pool's), or
/// why none goes: the lead is gone or has no owner (stale), or nobody has a webhook.
async fn to_owner<S: LeadStore + RoutingStore>(
    store: &S,
    lead_id: &LeadId,
) -> Result<Result<(Lead, Webhook), Noticed>, AssignError> {
    let Some(lead) = store.get_lead(lead_id).await? else {
        return Ok(Err(Noticed::Stale));
    };
    let Some(owner) = &lead.owner else {
        return Ok(Err(Noticed::Stale));
    };
    Ok(match webhook_for(store, owner, lead.pool.as_deref()).await? {
        Some(hook) => Ok((lead, hook)),
        None => Err(Noticed::NoWebhook),
    })
}

/// `lead.returned`: the person came back; tell whoever owns their lead.
pub async fn notify_returned<S: LeadStore + RoutingStore, N: Notifier>(
    store: &S,
    notifier: &N,
    lead_id: &LeadId,
    repeat_id: &LeadId,
) -> Result<Noticed, AssignError> {
    let (lead, hook) = match to_owner(store, lead_id).await? {
        Ok(found) => found,
        Err(why) => return Ok(why),
    };
    let channel = store
        .get_lead(repeat_id)
        .await?
        .map_or_else(|| "another form".to_string(), |r| r.source.channel);
    let notice = Notice::Returned {
        lead: &lead,
        channel: &channel,
    };
    send_once(store, notifier, &format!("returned:{repeat_id}"), &hook, &notice).await
}

/// `lead.woke`: the owner's lead is active again after a long silence; once per waking
/// touch.
pub async fn notify_woke<S: LeadStore + RoutingStore, N: Notifier>(
    store: &S,
    notifier: &N,
    lead_id: &LeadId,
    event_id: &str,
) -> Result<Noticed, AssignError> {
    let (lead, hook) = match to_owner(store, lead_id).await? {
        Ok(found) => found,
        Err(why) => return Ok(why),
    };
    let notice = Notice::Woke { lead: &lead };
    send_once(store, notifier, &format!("woke:{lead_id}:{event_id}"), &hook, &notice).await
}

/// `sla.reminder`: the owner's deadline is near; for a lead waiting unowned (a claim
/// deadline), its pool's channel is told.
pub async fn notify_reminder<S: LeadStore + RoutingStore, N: Notifier>(
    store: &S,
    notifier: &N,
    lead_id: &LeadId,
    clock: &str,
    due_at: DateTime<Utc>,
) -> Result<Noticed, AssignError> {
    let Some(lead) = store.get_lead(lead_id).await? else {
        return Ok(Noticed::Stale);
    };
    let still_running = lead
        .sla
        .iter()
        .any(|c| c.clock == clock && c.due_at == Some(due_at) && c.status == Some(crate::lead::ClockStatus::Running));
    if !still_running {
        return Ok(Noticed::Stale);
    }
    let hook = match (lead.owner.as_deref(), lead.pool.as_deref()) {
        (Some(owner), pool) => webhook_for(store, owner, pool).await?,
        (None, Some(pool)) => store.pool(pool).await?.and_then(|p| p.webhook),
        (None, None) => None,
    };
    let Some(hook) = hook else {
        return Ok(Noticed::NoWebhook);
    };
    let key = format!("remind:{lead_id}:{clock}:{}", due_at.timestamp());
    let notice = Notice::Reminder {
        lead: &lead,
        clock,
        due_at,
    };
    send_once(store, notifier, &key, &hook, &notice).await
}

/// `sla.breached`: tell the owner who missed it and the pool's (manager's) channel
/// (only the pool's for a lead nobody owned: a claim deadline).
pub async fn notify_breached<S: LeadStore + RoutingStore, N: Notifier>(
    store: &S,
    notifier: &N,
    lead_id: &LeadId,
    violation_id: &str,
    owner: &str,
) -> Result<Noticed, AssignError> {
    let Some(lead) = store.get_lead(lead_id).await? else {
        return Ok(Noticed::Stale);
    };
    let rep_hook = match owner {
        "" => None,
        owner => store.rep(owner).await?.and_then(|(rep, _)| rep.webhook),
    };
    let pool_hook = match lead.pool.as_deref() {
        Some(pool) => store.pool(pool).await?.and_then(|p| p.webhook),
        None => None,
    };
    let clock = violation_id.split('#').nth(1).unwrap_or("a follow-up");
    let notice = Notice::Breached {
        lead: &lead,
        clock,
        owner,
    };
    let mut outcome = Noticed::NoWebhook;
    for (target, hook) in [("rep", rep_hook), ("pool", pool_hook)] {
        if let Some(hook) = hook {
            outcome = send_once(
                store,
                notifier,
                &format!("breach:{violation_id}:{target}"),
                &hook,
                &notice,
            )
            .await?;
        }
    }
    Ok(outcome)
}

/// How many leads a pool can take now: eligible members' remaining room, capped by the
/// pool's daily cap. Zero for claim-only pools.
pub fn room_in_pool(
    pool: &Pool,
    reps: &[(Rep, RepCounters)],
    pool_assigned_today: u32,
    day: NaiveDate,
    at: DateTime<Utc>,
) -> u32 {
    if matches!(pool.strategy, Strategy::ClaimOnly) {
        return 0;
    }
    let room: u32 = reps
        .iter()
        .filter(|(rep, _)| pool.members.contains(&rep.id))
        .filter_map(|(rep, counters)| {
            let load = load_of(*counters, day);
            eligibility(rep, load, at).ok()?;
            let holding = rep.holding_cap().saturating_sub(load.active_leads);
            let daily = rep
                .daily_cap
                .map_or(u32::MAX, |cap| cap.saturating_sub(load.assigned_today));
            Some(holding.min(daily))
        })
        .fold(0u32, u32::saturating_add);
    let pool_room = pool
        .daily_cap
        .map_or(u32::MAX, |cap| cap.saturating_sub(pool_assigned_today));
    room.min(pool_room)
}

/// The sweep's part: offer waiting leads again to pools that have room now, oldest
/// first. Returns how many were offered.
pub async fn reoffer_waiting<S: LeadStore + RoutingStore, B: MessageBus>(
    store: &S,
    bus: &B,
    now: DateTime<Utc>,
    max_per_pool: usize,
) -> Result<usize, AssignError> {
    let config = store.routing().await?;
    let day = config.business_day(now);
    let mut offered = 0;
    for pool in store.pools().await? {
        let reps = store.reps(&pool.members).await?;
        let state = store.pool_state(&pool.id, day).await?;
        let room = room_in_pool(&pool, &reps, state.assigned_today, day, now) as usize;
        if room == 0 {
            continue;
        }
        let waiting = store
            .waiting_in_pool(&pool.id, PageRequest::first(room.min(max_per_pool)))
            .await?;
        for lead_id in waiting.items {
            // Recycled leads wait for claimers and admins (a reassigning breach routes
            // its lead at once); the sweep offers only leads nobody has had yet.
            let Some(lead) = store.get_lead(&lead_id).await?.filter(|l| l.stage != Stage::Recycled) else {
                continue;
            };
            let message = Message::LeadReady {
                lead_id,
                reason: ReadyReason::Waiting,
                version: lead.version,
            };
            bus.publish(&Envelope::new(message, now)).await?;
            offered += 1;
        }
    }
    Ok(offered)
}
