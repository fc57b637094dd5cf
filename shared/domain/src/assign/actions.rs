//! What people do to a lead (`POST /v1/leads/{id}/actions`): claim it, log a follow-up,
//! move it through the stages, give it back, hand it over. Each action checks the stage
//! transition and the caller's right to act, then commits like assignment does: from a
//! fresh read, under the lead's version and the caps, retried on a lost race.

use crate::follow_up::sla;
use crate::lead::error::FieldError;
use crate::lead::retry::{Attempts, MAX_ATTEMPTS};
use crate::lead::{Bant, InvalidReason, InvalidReview, Lead, LeadId, Nurture, OwnerChangeHow, Stage, Verdict};
use crate::{
    assign::auto::charge_for, assign::auto::charged_holder, assign::auto::hand_over, assign::auto::load_of,
    assign::auto::new_change_id,
};
use crate::{
    assign::ports::FollowUp, assign::ports::FollowUpKind, assign::ports::LeadChange, assign::ports::OwnerChange,
    assign::ports::PoolStat, assign::ports::PoolTake, assign::ports::RepCounters, assign::ports::RoutingStore,
    assign::routing::Rep, follow_up::ports::SlaStore, lead::ports::BusError, lead::ports::LeadStore,
    lead::ports::MessageBus, lead::ports::Saved, lead::ports::StoreError,
};
use crate::{lead::messages::Envelope, lead::messages::Message};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Rep,
    Manager,
    Admin,
    Finance,
    /// Marketing operations: campaigns, scoring rules, imports, push sources and the
    /// marketing reports; no leads, no team.
    Marketing,
    /// A machine client (the CRM, the finance system): may report conversions only.
    Integration,
    /// A machine client that pulls the ROI export (finance's scheduled job), nothing else.
    Exporter,
}

/// The authenticated caller: a user id (for reps, their rep id; for a machine client,
/// its client id) and roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub roles: Vec<Role>,
}

impl Actor {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
    /// Managers and admins act on any lead.
    pub fn manages(&self) -> bool {
        self.has(Role::Manager) || self.has(Role::Admin)
    }
    /// May read this lead: its owner, or anyone who manages or reports.
    pub fn may_read(&self, lead: &Lead) -> bool {
        self.manages() || self.has(Role::Finance) || lead.owner.as_deref() == Some(self.id.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidCode {
    WrongContact,
    NoIntent,
    Unreachable,
    Competitor,
    Other,
}

impl InvalidCode {
    fn as_str(self) -> &'static str {
        match self {
            InvalidCode::WrongContact => "wrong_contact",
            InvalidCode::NoIntent => "no_intent",
            InvalidCode::Unreachable => "unreachable",
            InvalidCode::Competitor => "competitor",
            InvalidCode::Other => "other",
        }
    }
}

/// Why a rep hands a lead back to marketing to nurture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NurtureCode {
    /// Interested, but not this quarter.
    NotNow,
    NoBudget,
    NoAuthority,
    NoNeed,
    /// Could not be reached after several tries.
    Unresponsive,
    Other,
}

impl NurtureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            NurtureCode::NotNow => "not_now",
            NurtureCode::NoBudget => "no_budget",
            NurtureCode::NoAuthority => "no_authority",
            NurtureCode::NoNeed => "no_need",
            NurtureCode::Unresponsive => "unresponsive",
            NurtureCode::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Claim,
    FollowUp {
        kind: FollowUpKind,
        #[serde(default)]
        note: Option<String>,
        #[serde(default)]
        bant: Bant,
    },
    QualifyMql {
        #[serde(default)]
        note: Option<String>,
    },
    QualifySql {
        #[serde(default)]
        note: Option<String>,
    },
    /// Won: hand the lead to the CRM ([`crate::handoff::convert`]) with the opportunity
    /// it opens: `amount` in the books' currency, `expected_close`.
    Convert {
        #[serde(default)]
        note: Option<String>,
        #[serde(default)]
        amount: Option<serde_json::Value>,
        #[serde(default)]
        expected_close: Option<chrono::NaiveDate>,
    },
    /// To marketing's nurture, with why (docs/src/rules/nurture.md).
    Nurture {
        reason: NurtureCode,
        #[serde(default)]
        note: Option<String>,
    },
    Invalid {
        reason: InvalidCode,
        #[serde(default)]
        note: Option<String>,
    },
    ReturnToPool {
        #[serde(default)]
        note: Option<String>,
    },
    /// Manager/admin: to another rep.
    Transfer {
        to: String,
        #[serde(default)]
        note: Option<String>,
    },
    /// Manager/admin: give an unowned lead to a rep.
    Assign {
        to: String,
        #[serde(default)]
        note: Option<String>,
    },
    /// Manager/admin/marketing: an invalid lead is real after all: qualify it again.
    Restore {
        #[serde(default)]
        note: Option<String>,
    },
    /// Manager/admin/marketing: an invalid lead is junk indeed.
    ConfirmInvalid {
        #[serde(default)]
        note: Option<String>,
    },
}

pub const MAX_NOTE: usize = 2000;

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Claim => "claim",
            Action::FollowUp { .. } => "follow_up",
            Action::QualifyMql { .. } => "qualify_mql",
            Action::QualifySql { .. } => "qualify_sql",
            Action::Convert { .. } => "convert",
            Action::Nurture { .. } => "nurture",
            Action::Invalid { .. } => "invalid",
            Action::ReturnToPool { .. } => "return_to_pool",
            Action::Transfer { .. } => "transfer",
            Action::Assign { .. } => "assign",
            Action::Restore { .. } => "restore",
            Action::ConfirmInvalid { .. } => "confirm_invalid",
        }
    }

    fn note(&self) -> Option<&str> {
        match self {
            Action::Claim => None,
            Action::FollowUp { note, .. }
            | Action::QualifyMql { note }
            | Action::QualifySql { note }
            | Action::Convert { note, .. }
            | Action::Nurture { note, .. }
            | Action::Invalid { note, .. }
            | Action::ReturnToPool { note }
            | Action::Transfer { note, .. }
            | Action::Assign { note, .. }
            | Action::Restore { note }
            | Action::ConfirmInvalid { note } => note.as_deref(),
        }
    }

    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.note().is_some_and(|n| n.chars().count() > MAX_NOTE) {
            errors.push(FieldError::new(
                "note",
                format!("must be at most {MAX_NOTE} characters"),
            ));
        }
        if let Action::FollowUp { bant, .. } = self {
            for (name, value) in [
                ("budget", &bant.budget),
                ("authority", &bant.authority),
                ("need", &bant.need),
                ("timeline", &bant.timeline),
            ] {
                if value.as_ref().is_some_and(|v| v.chars().count() > 500) {
                    errors.push(FieldError::new(
                        format!("bant.{name}"),
                        "must be at most 500 characters",
                    ));
                }
            }
        }
        if let Action::Transfer { to, .. } | Action::Assign { to, .. } = self {
            if !crate::lead::error::valid_id(to) {
                errors.push(FieldError::new("to", "must be a rep id"));
            }
        }
        errors
    }
}

#[derive(Debug, Error)]
pub enum ActError {
    #[error("no lead has this id")]
    NotFound,
    /// 403: the caller may not do this to this lead.
    #[error("{0}")]
    Forbidden(String),
    /// 409: the lead's stage or owner does not allow it (now), or a cap is reached.
    #[error("{0}")]
    Conflict(String),
    /// 422: a named rep or pool does not exist.
    #[error("{}: {}", .0.field, .0.reason)]
    Invalid(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("gave up after {MAX_ATTEMPTS} write conflicts")]
    Contended,
}

fn illegal(action: &Action, lead: &Lead) -> ActError {
    ActError::Conflict(format!(
        "cannot {} a lead in stage {}",
        action.name(),
        lead.stage.as_str()
    ))
}

/// Stages where a lead is still being worked.
fn worked(stage: Stage) -> bool {
    matches!(stage, Stage::Aql | Stage::Mql | Stage::Sql | Stage::Recycled)
}

/// Applies `action` for `actor`; returns the lead as saved.
pub async fn act<S: LeadStore + RoutingStore + SlaStore, B: MessageBus>(
    store: &S,
    bus: &B,
    lead_id: &LeadId,
    action: &Action,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Lead, ActError> {
    if actor.roles == [Role::Finance] {
        return Err(ActError::Forbidden("finance users have read-only access".into()));
    }
    let mut attempts = Attempts::new();
    while attempts.next_attempt().await {
        let lead = store.get_lead(lead_id).await?.ok_or(ActError::NotFound)?;
        if already_reviewed(&lead, action) {
            return Ok(lead);
        }
        let change = plan(store, &lead, action, actor, now).await?;
        let announced = matches!(action, Action::Transfer { .. } | Action::Assign { .. });
        match store.commit_change(&change).await? {
            Saved::Conflict => continue,
            Saved::Saved => {
                if matches!(action, Action::Restore { .. }) {
                    // Back through qualification, as intake sends a new capture. Should
                    // this send fail, the lead is `received` again: the outbox re-sends it.
                    let message = Message::LeadCaptured {
                        lead_id: lead.id.clone(),
                    };
                    bus.publish(&Envelope::new(message, now)).await?;
                }
                if announced {
                    if let Some(change_id) = &change.lead.owner_change_id {
                        let message = Message::LeadAssigned {
                            lead_id: lead.id.clone(),
                            change_id: change_id.clone(),
                        };
                        bus.publish(&Envelope::new(message, now)).await?;
                    }
                }
                return Ok(change.lead);
            }
        }
    }
    Err(ActError::Contended)
}

/// A review that is already the lead's latest, repeated (a double click, a retry): done.
fn already_reviewed(lead: &Lead, action: &Action) -> bool {
    let last = lead.reviews.last().map(|r| r.verdict);
    match action {
        Action::Restore { .. } => lead.stage != Stage::Invalid && last == Some(Verdict::Restored),
        Action::ConfirmInvalid { .. } => lead.stage == Stage::Invalid && last == Some(Verdict::Confirmed),
        _ => false,
    }
}

/// Whether `actor` may work `lead`: its owner, or a manager or admin.
pub fn may_work(actor: &Actor, lead: &Lead) -> Result<(), ActError> {
    if lead.owner.as_deref() == Some(actor.id.as_str()) || actor.manages() {
        Ok(())
    } else if lead.owner.is_none() {
        Err(ActError::Forbidden("the lead has no owner: claim it first".into()))
    } else {
        Err(ActError::Forbidden(
            "only the lead's owner or a manager may do this".into(),
        ))
    }
}

/// Decides what `action` writes, or why it may not happen.
async fn plan<S: RoutingStore + SlaStore>(
    store: &S,
    lead: &Lead,
    action: &Action,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<LeadChange, ActError> {
    let config = store.routing().await?;
    let day = config.business_day(now);
    let owns = lead.owner.as_deref() == Some(actor.id.as_str());
    let note = action.note().map(str::to_string);
    let mut next = lead.clone();
    let mut change = LeadChange::new(lead, lead.clone(), day);
    let may_work = || may_work(actor, lead);
    match action {
        Action::Claim => {
            let Some((rep, counters)) = store.rep(&actor.id).await? else {
                return Err(ActError::Forbidden("only reps can claim leads".into()));
            };
            if owns {
                return Err(ActError::Conflict("you already own this lead".into()));
            }
            if lead.owner.is_some() {
                return Err(ActError::Conflict("the lead already has an owner".into()));
            }
            let Some(pool_id) = lead.waiting_in_pool().map(str::to_string) else {
                return Err(illegal(action, lead));
            };
            let pool = store.pool(&pool_id).await?;
            let member = pool.as_ref().is_some_and(|p| p.members.contains(&rep.id));
            if !member && !actor.manages() {
                return Err(ActError::Forbidden(format!("you are not a member of pool {pool_id}")));
            }
            let load = load_of(counters, day);
            if load.active_leads >= rep.holding_cap() {
                return Err(ActError::Conflict(format!(
                    "your holding cap ({}) is reached",
                    rep.holding_cap()
                )));
            }
            if rep.daily_cap.is_some_and(|cap| load.assigned_today >= cap) {
                return Err(ActError::Conflict("your daily cap is reached".into()));
            }
            let daily_claim_cap = pool.as_ref().and_then(|p| p.daily_claim_cap);
            if let Some(cap) = daily_claim_cap {
                if store.pool_state(&pool_id, day).await?.claimed_today >= cap {
                    return Err(ActError::Conflict(format!(
                        "pool {pool_id}'s daily claim cap ({cap}) is reached"
                    )));
                }
            }
            change.owner_change = Some(hand_over(
                &mut next,
                &rep,
                OwnerChangeHow::Claimed,
                Some(&actor.id),
                note,
                now,
            ));
            change.charge = Some(charge_for(&rep, true));
            change.stat = Some(PoolStat::handed_out(&pool_id, now));
            change.pool_take = Some(PoolTake::Claimed {
                pool: pool_id,
                daily_claim_cap,
            });
        }
        Action::Assign { to, .. } | Action::Transfer { to, .. } => {
            if !actor.manages() {
                return Err(ActError::Forbidden(format!(
                    "only managers and admins may {}",
                    action.name()
                )));
            }
            if !worked(lead.stage) {
                return Err(illegal(action, lead));
            }
            let transfer = matches!(action, Action::Transfer { .. });
            match (&lead.owner, transfer) {
                (Some(_), false) => return Err(ActError::Conflict("the lead has an owner: transfer it".into())),
                (None, true) => return Err(ActError::Conflict("the lead has no owner: assign it".into())),
                (Some(owner), true) if owner == to => {
                    return Err(ActError::Conflict(format!("{to} already owns the lead")))
                }
                _ => {}
            }
            let Some((rep, counters)) = store.rep(to).await? else {
                return Err(ActError::Invalid(FieldError::new("to", "no rep has this id")));
            };
            let how = if transfer {
                OwnerChangeHow::Transferred
            } else {
                OwnerChangeHow::AdminAssigned
            };
            give_to_rep(lead, &mut next, &mut change, &rep, counters, how, &actor.id, note, now)
                .map_err(|refusal| refusal.into_act_error(to))?;
            if !transfer {
                change.stat = lead.pool.as_deref().map(|p| PoolStat::handed_out(p, now));
            }
        }
        Action::ReturnToPool { .. } => {
            may_work()?;
            if lead.owner.is_none() || !worked(lead.stage) {
                return Err(illegal(action, lead));
            }
            let pool = lead.pool.clone().unwrap_or_else(|| config.default_pool.clone());
            send_to_pool(
                lead,
                &mut next,
                &mut change,
                &pool,
                OwnerChangeHow::ReturnedToPool,
                &actor.id,
                note,
                now,
            );
        }
        Action::FollowUp { kind, bant, .. } => {
            may_work()?;
            if !(worked(lead.stage) || lead.stage == Stage::Nurture) {
                return Err(illegal(action, lead));
            }
            if next.bant.merge(bant) {
                next.bant_updated_at = Some(now);
            }
            next.last_follow_up_at = Some(now);
            next.revise(now);
            change.follow_up = Some(FollowUp {
                id: new_change_id(now),
                lead_id: lead.id.clone(),
                by: actor.id.clone(),
                kind: *kind,
                note,
                bant: bant.clone(),
                at: now,
            });
        }
        Action::Restore { .. } | Action::ConfirmInvalid { .. } => {
            if !(actor.manages() || actor.has(Role::Marketing)) {
                return Err(ActError::Forbidden(
                    "managers, admins and marketing review the invalid pool".into(),
                ));
            }
            if lead.stage != Stage::Invalid {
                return Err(illegal(action, lead));
            }
            let restore = matches!(action, Action::Restore { .. });
            next.reviews.push(InvalidReview {
                verdict: if restore { Verdict::Restored } else { Verdict::Confirmed },
                reason: lead.invalid_reason.as_ref().map(|r| r.code.clone()).unwrap_or_default(),
                by: actor.id.clone(),
                at: now,
                note,
            });
            if restore {
                // Routed afresh, as a new capture would be: whoever marked it invalid
                // is only its previous owner now.
                next.invalid_reason = None;
                if let Some(owner) = next.owner.take() {
                    next.previous_owner = Some(owner);
                }
                next.owner_department = None;
                next.owner_since = None;
                next.acquisition = None;
                next.owner_change_id = None;
                next.pool = None;
                next.waiting_since = None;
                next.set_stage(Stage::Received, now);
            }
            next.revise(now);
        }
        Action::Nurture { reason, .. } => {
            may_work()?;
            if !worked(lead.stage) {
                return Err(illegal(action, lead));
            }
            send_to_nurture(
                lead,
                &mut next,
                &mut change,
                reason.as_str(),
                Some(&actor.id),
                note,
                now,
            );
            next.revise(now);
        }
        Action::QualifyMql { .. } | Action::QualifySql { .. } | Action::Convert { .. } | Action::Invalid { .. } => {
            may_work()?;
            let (from, to): (&[Stage], Stage) = match action {
                Action::QualifyMql { .. } => (&[Stage::Aql, Stage::Recycled], Stage::Mql),
                Action::QualifySql { .. } => (&[Stage::Aql, Stage::Mql, Stage::Recycled], Stage::Sql),
                Action::Convert { .. } => (&[Stage::Mql, Stage::Sql], Stage::Converted),
                _ => (
                    &[Stage::Aql, Stage::Mql, Stage::Sql, Stage::Recycled, Stage::Nurture],
                    Stage::Invalid,
                ),
            };
            if !from.contains(&lead.stage) {
                return Err(illegal(action, lead));
            }
            next.set_stage(to, now);
            if let Action::Invalid { reason, note } = action {
                next.invalid_reason = Some(InvalidReason {
                    code: reason.as_str().into(),
                    detail: note.clone().unwrap_or_default(),
                });
            }
            if !worked(to) {
                next.waiting_since = None;
            }
            next.revise(now);
            if next.held_by().is_none() {
                change.release = charged_holder(lead);
            }
        }
    }
    // The clocks follow from the new state: a new owner starts first contact, SQL starts
    // the outcome clock, a follow-up satisfies or restarts others.
    sla::refresh(&mut next, &store.sla_config().await?, now);
    change.lead = next;
    Ok(change)
}

/// Why a rep may not receive a lead from a manager now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReceiving {
    Inactive,
    AtHoldingCap(u32),
}

impl NotReceiving {
    /// The action's answer: 422 naming `to` for an inactive rep, 409 for a full one.
    fn into_act_error(self, to: &str) -> ActError {
        match self {
            NotReceiving::Inactive => ActError::Invalid(FieldError::new("to", "the rep is inactive")),
            NotReceiving::AtHoldingCap(cap) => ActError::Conflict(format!("{to}'s holding cap ({cap}) is reached")),
        }
    }
}

/// A manager gives a worked lead to `rep` (`transferred` from its owner, `admin_assigned`
/// from a pool): the receiver must be active and under their holding cap; they are
/// charged (a transfer does not count against their daily cap) and the holder is
/// released. `next` and `change` are the lead and commit being planned. Shared by the
/// `transfer` and `assign` actions and by roster jobs, so a lead moves one way only.
#[allow(clippy::too_many_arguments)]
pub fn give_to_rep(
    lead: &Lead,
    next: &mut Lead,
    change: &mut LeadChange,
    rep: &Rep,
    counters: RepCounters,
    how: OwnerChangeHow,
    by: &str,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), NotReceiving> {
    if !rep.active {
        return Err(NotReceiving::Inactive);
    }
    if counters.active_leads >= rep.holding_cap() {
        return Err(NotReceiving::AtHoldingCap(rep.holding_cap()));
    }
    change.release = charged_holder(lead);
    change.owner_change = Some(hand_over(next, rep, how, Some(by), note, now));
    change.charge = Some(charge_for(rep, how != OwnerChangeHow::Transferred));
    Ok(())
}

/// The lead leaves its owner (`how`, `by`, to `pool` if any): the owner change recorded,
/// their holding released, the owner remembered as the previous one (routing skips
/// them) and the owner's fields cleared. What the lead becomes is the caller's.
#[allow(clippy::too_many_arguments)]
fn leave_owner(
    lead: &Lead,
    next: &mut Lead,
    change: &mut LeadChange,
    how: OwnerChangeHow,
    by: Option<&str>,
    pool: Option<&str>,
    note: Option<String>,
    now: DateTime<Utc>,
) {
    change.release = charged_holder(lead);
    change.owner_change = Some(OwnerChange {
        id: new_change_id(now),
        lead_id: lead.id.clone(),
        from: lead.owner.clone(),
        to: None,
        how,
        by: by.map(str::to_string),
        pool: pool.map(str::to_string),
        note,
        at: now,
    });
    if let Some(owner) = next.owner.take() {
        next.previous_owner = Some(owner);
    }
    next.owner_department = None;
    next.owner_since = None;
    next.acquisition = None;
    next.owner_change_id = None;
}

/// The lead leaves its owner and waits unowned in `pool`, stage `recycled`, its holder
/// released and remembered as its previous owner (skipped when it is offered again):
/// a rep's `return_to_pool`, a manager's transfer to a pool, a rep recycled down to a
/// lowered holding cap. `how` says which.
#[allow(clippy::too_many_arguments)]
pub fn send_to_pool(
    lead: &Lead,
    next: &mut Lead,
    change: &mut LeadChange,
    pool: &str,
    how: OwnerChangeHow,
    by: &str,
    note: Option<String>,
    now: DateTime<Utc>,
) {
    leave_owner(lead, next, change, how, Some(by), Some(pool), note, now);
    next.pool = Some(pool.to_string());
    next.waiting_since = Some(now);
    next.set_stage(Stage::Recycled, now);
    next.revise(now);
}

/// The lead leaves its owner for marketing's nurture: no new owner, the old one
/// remembered (routing skips them when the lead wakes), its holder released. `reason` is
/// a rep's code or `deadline:<clock>`; `by` the person, none for a clock. Shared by the
/// `nurture` action and a clock's nurture breach; the caller revises the lead.
pub fn send_to_nurture(
    lead: &Lead,
    next: &mut Lead,
    change: &mut LeadChange,
    reason: &str,
    by: Option<&str>,
    note: Option<String>,
    now: DateTime<Utc>,
) {
    let note = Some(note.map_or_else(|| reason.to_string(), |n| format!("{reason}: {n}")));
    leave_owner(lead, next, change, OwnerChangeHow::Nurtured, by, None, note, now);
    next.waiting_since = None;
    next.reactivated_at = None;
    next.nurture = Some(Nurture {
        since: now,
        reason: reason.to_string(),
        by: by.map(str::to_string),
    });
    next.set_stage(Stage::Nurture, now);
}
