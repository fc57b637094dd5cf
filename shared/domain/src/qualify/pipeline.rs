//! Qualification: a captured lead is cleaned, deduplicated and scored; a behaviour event
//! re-scores its lead. The dedup-score function runs this for each message.
//!
//! Safe under duplicate delivery and concurrency: each step reads, decides, and commits
//! its writes conditioned on the versions it read and on the dedup keys being free. If a
//! write loses a race, the step starts over, sees the winner and decides again (so 20
//! simultaneous submissions of one person end as one lead and 19 repeats). A step whose
//! lead has moved on is a no-op, except that it finishes what the earlier run may not
//! have: it writes the decision's records again, each only if absent, and re-sends
//! `lead.returned` and `lead.ready`. Their consumers act on each once, so sending them
//! twice is harmless.
//!
//! The commit holds only what must land together (the leads, the keys a repeat hands
//! over, an import's tally). The funnel step records and a repeat's link follow it as
//! single writes ([`DecisionRecords`]): written in the commit's transaction they would be
//! billed twice. Every lead decided has a message of its own that stays undeleted until
//! its run has written them (a holder decided by another lead's run is sent one first),
//! so a run stopped between the two is finished by that message's redelivery.
//!
//! A new lead claims its dedup keys before its decision is committed, each with a
//! single conditional write: in the commit's transaction every key would be billed
//! twice. Claimed that way, a key can be held by a lead still `received`, and three
//! rules keep the outcome what one transaction would have given:
//! - keys are claimed one at a time in one global order ([`MatchKey`]'s), and a lead
//!   stops at the first key another lead holds. A lead therefore meets only holders of
//!   keys above every key it holds, so no two leads can each hold a key the other needs;
//! - every lead holding one of the lead's contact keys decides first: one still
//!   `received` is decided here, as its own message would decide it ([`settle_first`]),
//!   so nothing waits on a message that may be late, lost or dead-lettered. One erased
//!   before it was qualified never decides, so its holds on the lead's keys go instead;
//! - a lead that claimed keys and then turns out to be a repeat (a key further on was
//!   taken meanwhile) hands what it claimed to its source in the repeat's commit; a lead
//!   found junk on a later attempt (the rules changed) lets them go first, and a lead
//!   found erased lets go of what its run claimed.

use crate::lead::events::EventKind;
use crate::lead::retry::{Attempts, MAX_ATTEMPTS};
use crate::lead::{DedupInfo, Lead, LeadId, Stage, Touchpoint};
use crate::predict::ports::ModelStore;
use crate::predict::ModelPair;
use crate::qualify::clean::clean;
use crate::qualify::customer::matching_customer;
use crate::qualify::ports::PipelineOutcome;
use crate::qualify::rules::Rules;
use crate::{lead::messages::Envelope, lead::messages::Message, lead::messages::ReadyReason};
use crate::{
    lead::ports::BusError, lead::ports::LeadStore, lead::ports::MessageBus, lead::ports::Saved,
    lead::ports::StoreError, lead::ports::TouchStore, qualify::ports::DecisionRecords, qualify::ports::DedupCommit,
    qualify::ports::DedupStore, qualify::ports::ImportTally, qualify::ports::KeyClaim, qualify::ports::RulesStore,
};
use crate::{
    lead::qualification::Label, lead::qualification::Policy, qualify::dedup::best_fuzzy_match,
    qualify::dedup::blocking_key, qualify::dedup::company_key, qualify::dedup::contact_keys, qualify::dedup::decide,
    qualify::dedup::merge_into, qualify::dedup::Holder, qualify::dedup::KeyKind, qualify::dedup::MatchKey,
    qualify::dedup::Outcome,
};
use crate::{lead::qualification::ScoredEvent, qualify::scoring::score};
use crate::{predict::modeling::models_in_service, predict::modeling::predict_lead};
use chrono::{DateTime, Duration, Utc};
use std::future::Future;
use std::pin::Pin;
use thiserror::Error;

/// Engagement history kept per lead; older events have decayed to nothing anyway.
pub const MAX_EVENTS: usize = 200;

#[derive(Debug, Error)]
pub enum QualifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("lead {0} does not exist")]
    NotFound(LeadId),
    #[error("touchpoint {0} does not exist")]
    TouchNotFound(String),
    #[error("gave up after {MAX_ATTEMPTS} write conflicts")]
    Contended,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Qualified {
    Invalid {
        code: String,
    },
    New {
        label: Label,
    },
    Repeat {
        source: LeadId,
    },
    Rescored {
        ready: Option<ReadyReason>,
    },
    /// Already processed (duplicate delivery), or nothing to do for this stage.
    Unchanged,
}

pub trait QualifyStore: LeadStore + DedupStore + RulesStore + TouchStore + ModelStore {}
impl<T: LeadStore + DedupStore + RulesStore + TouchStore + ModelStore> QualifyStore for T {}

fn scored(touch: &Touchpoint, rules: &Rules) -> ScoredEvent {
    engagement_event(touch.id.clone(), touch.kind, touch.occurred_at, rules)
}

/// An engagement event worth what the rules say `kind` is worth (else its default).
pub fn engagement_event(id: String, kind: EventKind, at: DateTime<Utc>, rules: &Rules) -> ScoredEvent {
    ScoredEvent {
        id,
        kind,
        at,
        points: rules.scoring.points_for(kind),
    }
}

/// Adds events not yet present (by id), keeps them in time order and bounded.
fn add_events(lead: &mut Lead, events: impl IntoIterator<Item = ScoredEvent>) {
    for e in events {
        if !lead.events.iter().any(|known| known.id == e.id) {
            lead.events.push(e);
        }
    }
    lead.events
        .sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    let excess = lead.events.len().saturating_sub(MAX_EVENTS);
    lead.events.drain(..excess);
    let latest = lead.events.last().map(|e| e.at);
    lead.last_activity_at = lead.last_activity_at.max(latest);
}

/// The rule score, then the predictive score from it (which starts from the rule prior);
/// an `aql` lead whose score makes it an MQL becomes one. Returns whether it did.
pub fn rescore(lead: &mut Lead, rules: &Rules, models: &ModelPair, now: DateTime<Utc>) -> bool {
    let s = score(lead, &lead.events, &rules.scoring, now);
    let becomes_mql = lead.stage == Stage::Aql && s.is_mql(&rules.scoring);
    if becomes_mql {
        lead.set_stage(Stage::Mql, now);
    }
    lead.score = Some(s);
    lead.prediction = Some(predict_lead(models, lead, now));
    becomes_mql
}

/// An imported lead's outcome for its import's progress report.
fn tally(lead: &Lead, outcome: PipelineOutcome) -> Option<ImportTally> {
    lead.import.as_ref().map(|i| ImportTally {
        import_id: i.id.clone(),
        lead_id: lead.id.clone(),
        outcome,
    })
}

/// A nurtured lead has earned `wake_points` of engagement since it entered nurture, the
/// touch just added included.
fn nurture_wakes(lead: &Lead, rules: &Rules) -> bool {
    let Some(since) = lead.nurtured_since() else {
        return false;
    };
    let earned: i32 = lead.events.iter().filter(|e| e.at >= since).map(|e| e.points).sum();
    earned >= rules.nurture.wake_points
}

fn routable(stage: Stage) -> bool {
    matches!(stage, Stage::Aql | Stage::Mql | Stage::Recycled)
}

async fn ready<B: MessageBus>(bus: &B, lead: &Lead, reason: ReadyReason, now: DateTime<Utc>) -> Result<(), BusError> {
    let message = Message::LeadReady {
        lead_id: lead.id.clone(),
        reason,
        version: lead.version,
    };
    bus.publish(&Envelope::new(message, now)).await
}

/// Keys anonymous touches may be waiting under for this person.
fn anonymous_keys(lead: &Lead) -> Vec<String> {
    let mut keys: Vec<String> = contact_keys(lead).iter().map(|k| k.storage_key()).collect();
    if let Some(visitor) = lead.extra.get("anonymous_id") {
        keys.push(format!("anon#{visitor}"));
    }
    keys
}

/// `lead.captured`: clean, dedup, score; then `lead.ready` for whoever needs an owner.
pub async fn qualify_captured<S: QualifyStore, B: MessageBus>(
    store: &S,
    bus: &B,
    lead_id: &LeadId,
    now: DateTime<Utc>,
) -> Result<Qualified, QualifyError> {
    let mut attempts = Attempts::new();
    // The keys this run claimed. If the lead is erased meanwhile they are let go here:
    // its contact is gone by then, so nothing else says which keys were its.
    let mut claimed: Vec<MatchKey> = Vec::new();
    while attempts.next_attempt().await {
        let lead = store
            .get_lead(lead_id)
            .await?
            .ok_or_else(|| QualifyError::NotFound(lead_id.clone()))?;
        if lead.erased_at.is_some() {
            // Erased before it was qualified: nothing left to clean, match or score.
            let mine: Vec<_> = claimed.iter().map(|k| (k.clone(), lead.id.clone())).collect();
            store.release_keys(&mine).await?;
            // Erased after: its records hold no personal data, and may be all that is
            // missing (a repeat's link is also how an erasure finds it with its source).
            if lead.stage != Stage::Received {
                record_again(store, &lead).await?;
            }
            return Ok(Qualified::Unchanged);
        }
        if lead.stage != Stage::Received {
            finish_decided(store, bus, &lead, now).await?;
            return Ok(Qualified::Unchanged);
        }
        let rules = store.rules().await?;
        let base = lead.version;

        let policy = rules.dedup.policy_for(&lead.source.channel);
        let mut keys = contact_keys(&lead);
        let company = (policy == Policy::ToB).then(|| company_key(&lead)).flatten();
        keys.extend(company.clone());
        // Measured from the lead's own creation, so a redelivery decides the same way.
        let window_start = rules.dedup.window_start(lead.created_at);
        // The company key is read whatever the policy: an earlier attempt, under a policy
        // changed since, may have claimed it.
        let mut read = keys.clone();
        read.extend(company_key(&lead).filter(|k| !keys.contains(k)));
        // The keys an earlier attempt of this lead claimed, and the other leads' holds.
        let (own, holders): (Vec<Holder>, Vec<Holder>) = store
            .key_holders(&read)
            .await?
            .into_iter()
            .partition(|h| h.lead_id == lead.id);
        let holders: Vec<Holder> = holders
            .into_iter()
            .filter(|h| h.since >= window_start && keys.contains(&h.key))
            .collect();
        let holds_own = |key: &MatchKey| own.iter().any(|h| h.key == *key);

        // A lead a reviewer restored from the invalid pool is not judged junk again.
        if let Some(reason) = clean(&lead, &rules.cleaning).filter(|_| !lead.restored()) {
            // What an earlier attempt claimed (before the rules changed) goes first: junk
            // holds no key and is no company's peer.
            if !own.is_empty() {
                let release: Vec<_> = own.iter().map(|h| (h.key.clone(), lead.id.clone())).collect();
                store.release_keys(&release).await?;
                if let Some(key) = own.iter().map(|h| &h.key).find(|k| k.kind == KeyKind::Company) {
                    store
                        .unregister_company(&blocking_key(&key.value), &key.value, &lead.id)
                        .await?;
                }
            }
            let mut invalid = lead.clone();
            let code = reason.code.clone();
            invalid.set_stage(Stage::Invalid, now);
            invalid.invalid_reason = Some(reason);
            invalid.revise(now);
            let commit = DedupCommit {
                import_tally: tally(&lead, PipelineOutcome::Junk),
                ..DedupCommit::of(vec![(invalid, base)])
            };
            match commit_decision(store, &commit).await? {
                Saved::Saved => return Ok(Qualified::Invalid { code }),
                Saved::Conflict => continue,
            }
        }

        let models = models_in_service(store).await?;
        // Touches: the lead's own plus anonymous ones left before it identified itself.
        let mut touches = store.touchpoints(&lead.id).await?;
        let mut adopted = Vec::new();
        for key in anonymous_keys(&lead) {
            adopted.extend(store.anonymous_touches(&key).await?);
        }
        if !adopted.is_empty() {
            store.adopt_touches(&lead.id, &adopted).await?;
            touches.extend(adopted);
        }
        let events: Vec<ScoredEvent> = touches.iter().map(|t| scored(t, &rules)).collect();

        // Every lead holding one of these contact keys decides before this one does.
        let mut holding: Vec<Lead> = Vec::new();
        for holder in holders.iter().filter(|h| h.key.kind != KeyKind::Company) {
            if !holding.iter().any(|l| l.id == holder.lead_id) {
                let held_by = store
                    .get_lead(&holder.lead_id)
                    .await?
                    .ok_or_else(|| QualifyError::NotFound(holder.lead_id.clone()))?;
                holding.push(held_by);
            }
        }
        if let Some(undecided) = holding.iter().find(|l| l.stage == Stage::Received) {
            settle_first(store, bus, undecided, &holders, now).await?;
            continue;
        }

        let (customer, company_peer) = if policy == Policy::ToB {
            let customer = matching_customer(
                store,
                lead.contact.phone.as_deref(),
                company.as_ref().map(|k| k.value.as_str()),
                rules.dedup.fuzzy_company_threshold,
            )
            .await?;
            let exact_peer = holders
                .iter()
                .find(|h| h.key.kind == KeyKind::Company)
                .map(|h| h.lead_id.clone());
            let peer = match (exact_peer, &company) {
                (Some(peer), _) => Some(peer),
                (None, Some(key)) => {
                    let block = store.company_block(&blocking_key(&key.value)).await?;
                    best_fuzzy_match(&key.value, &block, rules.dedup.fuzzy_company_threshold)
                        .filter(|id| **id != lead.id)
                        .cloned()
                }
                (None, None) => None,
            };
            (customer, peer)
        } else {
            (None, None)
        };
        let held = |kind: KeyKind, value: &str| holders.iter().any(|h| h.key.kind == kind && h.key.value == value);

        match decide(policy, &holders, customer.clone(), company_peer.clone(), window_start) {
            Outcome::Repeat { source } => {
                let src = holding
                    .iter()
                    .find(|l| l.id == source)
                    .cloned()
                    .ok_or_else(|| QualifyError::NotFound(source.clone()))?;
                let src_base = src.version;
                let mut merged_source = src.clone();
                merge_into(&mut merged_source, &lead, policy);
                merged_source.repeat_count += 1;
                let was_asleep = src
                    .last_activity_at
                    .is_some_and(|t| lead.created_at - t > Duration::days(i64::from(rules.scoring.sleep_after_days)));
                add_events(&mut merged_source, events);
                let became_mql = rescore(&mut merged_source, &rules, &models, now);
                // The person asked again: a nurtured lead wakes whatever its points.
                let woke_from_nurture = merged_source.stage == Stage::Nurture;
                if woke_from_nurture {
                    merged_source.reactivate(now);
                }
                merged_source.revise(now);

                let mut repeat = lead.clone();
                repeat.set_stage(Stage::Merged, now);
                repeat.dedup = Some(DedupInfo {
                    label: Label::Repeat,
                    policy,
                    repeat_of: Some(source.clone()),
                    company_peer: None,
                    customer_id: None,
                });
                repeat.revise(now);

                // New contact values of the repeat now find the source too, and so do the
                // keys an earlier attempt of the repeat claimed for itself.
                let claims = keys
                    .iter()
                    .filter(|k| !held(k.kind, &k.value) && (k.kind != KeyKind::Company || holds_own(k)))
                    .map(|key| KeyClaim {
                        key: key.clone(),
                        lead_id: source.clone(),
                        since: src.created_at,
                        taking_over: Some(lead.id.clone()),
                    })
                    .collect();
                let mut commit = DedupCommit {
                    claims,
                    window_start: Some(window_start),
                    import_tally: tally(&lead, PipelineOutcome::Repeat),
                    ..DedupCommit::of(vec![(repeat, base), (merged_source.clone(), src_base)])
                };
                // Listed under its source once the commit holds.
                commit.records.repeat_link = Some((source.clone(), lead.id.clone()));
                if commit_decision(store, &commit).await? == Saved::Conflict {
                    continue;
                }
                if merged_source.owner.is_some() {
                    let returned = Message::LeadReturned {
                        lead_id: source.clone(),
                        repeat_id: lead.id.clone(),
                    };
                    bus.publish(&Envelope::new(returned, now)).await?;
                }
                let reason = if woke_from_nurture {
                    Some(ReadyReason::Woke)
                } else if merged_source.owner.is_none() && routable(merged_source.stage) {
                    Some(ReadyReason::Repeat)
                } else if was_asleep {
                    Some(ReadyReason::Woke)
                } else if became_mql {
                    Some(ReadyReason::Mql)
                } else {
                    None
                };
                if let Some(reason) = reason {
                    ready(bus, &merged_source, reason, now).await?;
                }
                return Ok(Qualified::Repeat { source });
            }
            outcome => {
                let (label, company_peer, customer) = match outcome {
                    Outcome::New { label, company_peer } => (label, company_peer, None),
                    Outcome::ExistingCustomer(c) => (Label::ExistingCustomer, company_peer, Some(c)),
                    Outcome::Repeat { .. } => unreachable!("handled above"),
                };
                let mut fresh = lead.clone();
                fresh.set_stage(Stage::Aql, now);
                // The owner a migrated file names wins over a customer match's.
                let imported_owner = lead.import.as_ref().and_then(|i| i.owner.clone());
                fresh.owner = imported_owner.or_else(|| customer.as_ref().and_then(|c| c.owner.clone()));
                fresh.dedup = Some(DedupInfo {
                    label,
                    policy,
                    repeat_of: None,
                    company_peer,
                    customer_id: customer.map(|c| c.customer_id),
                });
                add_events(&mut fresh, events);
                fresh.last_activity_at = fresh.last_activity_at.max(Some(fresh.created_at));
                rescore(&mut fresh, &rules, &models, now);
                fresh.revise(now);
                let claims: Vec<KeyClaim> = keys
                    .iter()
                    .filter(|k| !held(k.kind, &k.value) && !holds_own(k))
                    .map(|key| KeyClaim {
                        key: key.clone(),
                        lead_id: lead.id.clone(),
                        since: lead.created_at,
                        taking_over: None,
                    })
                    .collect();
                if !claim_in_order(store, claims, window_start, &mut claimed).await? {
                    continue;
                }
                // Every key held, the decision is new (a later attempt that finds the lead
                // junk takes the block entry out again).
                if let Some(key) = company.as_ref().filter(|k| !held(k.kind, &k.value)) {
                    store
                        .register_company(&blocking_key(&key.value), &key.value, &lead.id)
                        .await?;
                }
                let commit = DedupCommit {
                    import_tally: tally(&lead, PipelineOutcome::New),
                    ..DedupCommit::of(vec![(fresh.clone(), base)])
                };
                if commit_decision(store, &commit).await? == Saved::Conflict {
                    continue;
                }
                ready(bus, &fresh, ReadyReason::New, now).await?;
                return Ok(Qualified::New { label });
            }
        }
    }
    Err(QualifyError::Contended)
}

/// Claims the keys one at a time in their one global order, noting each in `claimed`;
/// `false` at the first one another lead holds (the keys before it stay claimed: the
/// next attempt sees them as its own).
async fn claim_in_order<S: DedupStore>(
    store: &S,
    mut claims: Vec<KeyClaim>,
    window_start: DateTime<Utc>,
    claimed: &mut Vec<MatchKey>,
) -> Result<bool, StoreError> {
    claims.sort_by(|a, b| a.key.cmp(&b.key));
    for claim in claims {
        if store.claim_key(&claim, window_start).await? == Saved::Conflict {
            return Ok(false);
        }
        if !claimed.contains(&claim.key) {
            claimed.push(claim.key);
        }
    }
    Ok(true)
}

/// [`qualify_captured`] for a holder, boxed: a future cannot contain itself, and the
/// holder may settle a holder of its own. The named, `Send` type is what lets the
/// compiler see the recursion is `Send` too.
fn qualify_holder<'a, S: QualifyStore, B: MessageBus>(
    store: &'a S,
    bus: &'a B,
    holder: &'a LeadId,
    now: DateTime<Utc>,
) -> Pin<Box<dyn Future<Output = Result<Qualified, QualifyError>> + Send + 'a>> {
    Box::pin(qualify_captured(store, bus, holder, now))
}

/// A holder still `received` has claimed keys but not decided (its run is under way, or
/// was cut short and its message is late, lost or dead-lettered). It is decided here
/// first, as its own message would decide it, so nothing waits on a message that may
/// never come; a concurrent run of its own is one more duplicate delivery. A holder
/// erased before it was qualified never decides: its holds on `holders`' keys go.
async fn settle_first<S: QualifyStore, B: MessageBus>(
    store: &S,
    bus: &B,
    holder: &Lead,
    holders: &[Holder],
    now: DateTime<Utc>,
) -> Result<(), QualifyError> {
    if holder.erased_at.is_none() {
        // Its own message may never come (intake's send failed, and the outbox re-sends
        // only what is still `received`): one is sent first, so that if this run stops
        // between the holder's commit and its records, that delivery finishes them.
        let captured = Message::LeadCaptured {
            lead_id: holder.id.clone(),
        };
        bus.publish(&Envelope::new(captured, now)).await?;
        qualify_holder(store, bus, &holder.id, now).await?;
        return Ok(());
    }
    let stale: Vec<_> = holders
        .iter()
        .filter(|h| h.lead_id == holder.id)
        .map(|h| (h.key.clone(), holder.id.clone()))
        .collect();
    store.release_keys(&stale).await?;
    Ok(())
}

/// Commits a decision, then writes what it adds beside the commit ([`DecisionRecords`]).
pub async fn commit_decision<S: DedupStore>(store: &S, commit: &DedupCommit) -> Result<Saved, StoreError> {
    let saved = store.commit(commit).await?;
    if saved == Saved::Saved && !commit.records.is_empty() {
        store.record(&commit.records).await?;
    }
    Ok(saved)
}

/// Writes again every record the decision that made `lead` what it is may have added
/// (those stored stay as they are); the repeat's source, if `lead` is a repeat.
async fn record_again<S: QualifyStore>(store: &S, lead: &Lead) -> Result<Option<Lead>, StoreError> {
    let source = match lead.dedup.as_ref().and_then(|d| d.repeat_of.as_ref()) {
        Some(source) => store.get_lead(source).await?,
        None => None,
    };
    let records = DecisionRecords::of_decided(lead, source.as_ref());
    if !records.is_empty() {
        store.record_again(&records).await?;
    }
    Ok(source)
}

/// A redelivered `lead.captured` whose lead was already qualified: the first run may have
/// committed and then stopped before its records or its messages. The records are
/// written again, and `lead.returned` and `lead.ready` sent again while they matter
/// (their consumers act on each once).
async fn finish_decided<S: QualifyStore, B: MessageBus>(
    store: &S,
    bus: &B,
    lead: &Lead,
    now: DateTime<Utc>,
) -> Result<(), QualifyError> {
    let source = record_again(store, lead).await?;
    let is_repeat = lead.dedup.as_ref().is_some_and(|d| d.repeat_of.is_some());
    // Told when the merge found the source owned, as the first run would have told them:
    // owned since before the merge, or by an owner preset (from a customer match or an
    // import) that assignment has not confirmed yet, which has no `owner_since`.
    let merged_at = lead.stage_at.get(Stage::Merged.as_str()).copied();
    let owned_then = |s: &&Lead| {
        s.owner.is_some() && s.erased_at.is_none() && s.owner_since.is_none_or(|o| merged_at.is_some_and(|m| o <= m))
    };
    if let Some(source) = source.as_ref().filter(owned_then) {
        let returned = Message::LeadReturned {
            lead_id: source.id.clone(),
            repeat_id: lead.id.clone(),
        };
        bus.publish(&Envelope::new(returned, now)).await?;
    }
    let target = if is_repeat { source } else { Some(lead.clone()) };
    // Not yet through assignment (an owner preset from a customer match still needs it).
    if let Some(target) = target.filter(|t| t.owner_change_id.is_none() && routable(t.stage)) {
        let reason = if lead.stage == Stage::Merged {
            ReadyReason::Repeat
        } else {
            ReadyReason::New
        };
        ready(bus, &target, reason, now).await?;
    }
    Ok(())
}

/// `lead.engaged`: add the event to its lead's engagement and re-score. Crossing the MQL
/// line or waking from sleep sends the lead back to routing.
pub async fn qualify_engaged<S: QualifyStore, B: MessageBus>(
    store: &S,
    bus: &B,
    lead_id: &LeadId,
    event_id: &str,
    now: DateTime<Utc>,
) -> Result<Qualified, QualifyError> {
    let mut attempts = Attempts::new();
    while attempts.next_attempt().await {
        let touched = store
            .get_lead(lead_id)
            .await?
            .ok_or_else(|| QualifyError::NotFound(lead_id.clone()))?;
        // The score of a repeat lives on its source.
        let lead = match touched.dedup.as_ref().and_then(|d| d.repeat_of.clone()) {
            Some(source) if touched.stage == Stage::Merged => {
                store.get_lead(&source).await?.ok_or(QualifyError::NotFound(source))?
            }
            _ => touched,
        };
        // Scored already (whatever the lead has become since): the run that scored it
        // may have stopped before its records.
        if lead.events.iter().any(|e| e.id == event_id) {
            store.record_again(&DecisionRecords::of_decided(&lead, None)).await?;
            return Ok(Qualified::Unchanged);
        }
        // Not yet qualified: qualification reads all touches, this one included.
        if matches!(lead.stage, Stage::Received | Stage::Invalid) {
            return Ok(Qualified::Unchanged);
        }
        let touch = store
            .touchpoints(lead_id)
            .await?
            .into_iter()
            .find(|t| t.id == event_id)
            .ok_or_else(|| QualifyError::TouchNotFound(event_id.to_string()))?;
        let rules = store.rules().await?;
        let models = models_in_service(store).await?;
        let base = lead.version;
        let mut updated = lead.clone();
        let was_asleep = lead
            .last_activity_at
            .is_some_and(|t| touch.occurred_at - t > Duration::days(i64::from(rules.scoring.sleep_after_days)));
        add_events(&mut updated, [scored(&touch, &rules)]);
        let became_mql = rescore(&mut updated, &rules, &models, now);
        let woke_from_nurture = nurture_wakes(&updated, &rules);
        if woke_from_nurture {
            updated.reactivate(now);
        }
        updated.revise(now);
        let commit = DedupCommit::of(vec![(updated.clone(), base)]);
        if commit_decision(store, &commit).await? == Saved::Conflict {
            continue;
        }
        // An owned lead that wakes stays with its owner, who is told; an unowned one
        // goes back to routing.
        let owned = updated.held_by().is_some() && updated.owner_change_id.is_some();
        if was_asleep && owned {
            let woke = Message::LeadWoke {
                lead_id: updated.id.clone(),
                event_id: event_id.to_string(),
            };
            bus.publish(&Envelope::new(woke, now)).await?;
        }
        let reason = if woke_from_nurture {
            Some(ReadyReason::Woke)
        } else if became_mql {
            Some(ReadyReason::Mql)
        } else if was_asleep && !owned {
            Some(ReadyReason::Woke)
        } else {
            None
        };
        if let Some(reason) = reason {
            ready(bus, &updated, reason, now).await?;
        }
        return Ok(Qualified::Rescored { ready: reason });
    }
    Err(QualifyError::Contended)
}
