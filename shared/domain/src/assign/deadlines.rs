//! The SLA sweep's part (docs/src/rules/follow-up.md#sweep): for each lead the due index names, re-check its
//! clocks against its latest state, then remind, or record the violation and apply the
//! breach action, all in one conditional commit.
//!
//! Safe to overlap: two sweeps that both see a breach both try to commit against the
//! same lead version with the same violation id; one wins, the other re-reads and finds
//! the clock handled. Bounded: each run takes at most `limit` due leads; the rest stay
//! in the index for the next run.

use crate::assign::actions::send_to_nurture;
use crate::lead::retry::Attempts;
use crate::lead::{Lead, LeadId, OwnerChangeHow, Stage};
use crate::{assign::auto::charged_holder, assign::auto::new_change_id, assign::auto::AssignError};
use crate::{
    assign::ports::LeadChange, assign::ports::OwnerChange, assign::ports::PoolStat, assign::ports::RoutingStore,
    follow_up::ports::SlaStore, follow_up::ports::Violation, lead::ports::LeadStore, lead::ports::MessageBus,
    lead::ports::Saved,
};
use crate::{follow_up::sla, follow_up::sla::BreachAction, follow_up::sla::ClockView, lead::ClockStatus};
use crate::{lead::messages::Envelope, lead::messages::Message, lead::messages::ReadyReason};
use chrono::{DateTime, Utc};
use serde_json::json;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub checked: usize,
    pub breached: usize,
    pub reminded: usize,
    pub failed: usize,
    /// More leads were due than this run took.
    pub more: bool,
    /// Index entries read to find the due leads.
    pub entries_read: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Breached {
        clock: String,
        action: BreachAction,
    },
    Reminded {
        clocks: Vec<String>,
    },
    /// A nurtured lead's re-check came due: sent back to routing.
    Reactivated,
    /// Nothing due after all (a follow-up came first); only the index moved.
    Rescheduled,
    Gone,
}

/// Checks up to `limit` due leads.
pub async fn sweep_deadlines<S: LeadStore + RoutingStore + SlaStore, B: MessageBus>(
    store: &S,
    bus: &B,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<SweepReport, AssignError> {
    let due = store.due_leads(now, limit).await?;
    let mut report = SweepReport {
        more: due.more,
        entries_read: due.entries_read,
        ..SweepReport::default()
    };
    for lead_id in &due.leads {
        report.checked += 1;
        match check_lead(store, bus, lead_id, now).await {
            Ok(Checked::Breached { .. }) => report.breached += 1,
            Ok(Checked::Reminded { clocks }) => report.reminded += clocks.len(),
            Ok(_) => {}
            // Left in the index: the next run tries again.
            Err(_) => report.failed += 1,
        }
    }
    Ok(report)
}

fn evidence(lead: &Lead, view: &ClockView<'_>) -> serde_json::Value {
    json!({
        "stage": lead.stage.as_str(),
        "owner_since": lead.owner_since,
        "acquisition": lead.acquisition,
        "last_follow_up_at": lead.last_follow_up_at,
        "bant_updated_at": lead.bant_updated_at,
        "bant": lead.bant,
        "stage_at": lead.stage_at,
        "satisfied_by": view.rule.satisfied_by,
        "within": view.rule.within,
        "counting": view.rule.counting,
    })
}

/// Re-checks one lead's clocks as of `now` and acts on what is due.
pub async fn check_lead<S: LeadStore + RoutingStore + SlaStore, B: MessageBus>(
    store: &S,
    bus: &B,
    lead_id: &LeadId,
    now: DateTime<Utc>,
) -> Result<Checked, AssignError> {
    let mut attempts = Attempts::new();
    while attempts.next_attempt().await {
        let Some(lead) = store.get_lead(lead_id).await? else {
            return Ok(Checked::Gone);
        };
        let config = store.sla_config().await?;
        let routing = store.routing().await?;
        let day = routing.business_day(now);
        let mut next = lead.clone();
        next.revise(now);
        let Some((policy, calendar)) = config.policy_for(&lead) else {
            sla::refresh(&mut next, &config, now);
            return match store.commit_change(&LeadChange::new(&lead, next, day)).await? {
                Saved::Saved => Ok(Checked::Rescheduled),
                Saved::Conflict => continue,
            };
        };
        let views = sla::clocks(&lead, policy, calendar, now);
        let breached = views
            .iter()
            .filter(|v| v.status == ClockStatus::Breached && !lead.sla_done.contains(&format!("breach:{}", v.key)))
            .min_by_key(|v| v.clock.due_at);
        if let Some(view) = breached.filter(|v| v.rule.on_breach == BreachAction::Reactivate) {
            // A re-check, not a violation: the lead goes back to routing.
            let mut change = LeadChange::new(&lead, next.clone(), day);
            change.lead.sla_done.push(format!("breach:{}", view.key));
            change.lead.reactivate(now);
            sla::refresh(&mut change.lead, &config, now);
            if store.commit_change(&change).await? == Saved::Conflict {
                continue;
            }
            let ready = Message::LeadReady {
                lead_id: lead.id.clone(),
                reason: ReadyReason::Woke,
                version: change.lead.version,
            };
            bus.publish(&Envelope::new(ready, now)).await?;
            return Ok(Checked::Reactivated);
        }
        if let Some(view) = breached {
            let owner = lead.owner.clone().unwrap_or_default();
            let due_at = view.clock.due_at.unwrap_or(now);
            let violation = Violation {
                id: format!(
                    "{}#{}#{}",
                    lead.id,
                    view.rule.name,
                    view.clock.started_at.timestamp_millis()
                ),
                lead_id: lead.id.clone(),
                owner: owner.clone(),
                owner_department: lead.owner_department.clone(),
                pool: lead.pool.clone(),
                clock: view.rule.name.clone(),
                policy: policy.id.clone(),
                started_at: view.clock.started_at,
                due_at,
                recorded_at: now,
                action: view.rule.on_breach,
                evidence: evidence(&lead, view),
            };
            let mut change = LeadChange::new(&lead, next.clone(), day);
            let action = view.rule.on_breach;
            change.lead.sla_done.push(format!("breach:{}", view.key));
            match action {
                BreachAction::Escalate | BreachAction::Reactivate => {}
                BreachAction::Nurture => {
                    let reason = format!("deadline:{}", view.rule.name);
                    let mut nurtured = change.lead.clone();
                    send_to_nurture(&lead, &mut nurtured, &mut change, &reason, None, None, now);
                    change.lead = nurtured;
                }
                BreachAction::RecycleToPool | BreachAction::ReassignNext => {
                    let pool = lead.pool.clone().unwrap_or_else(|| routing.default_pool.clone());
                    change.owner_change = Some(OwnerChange {
                        id: new_change_id(now),
                        lead_id: lead.id.clone(),
                        from: lead.owner.clone(),
                        to: None,
                        how: OwnerChangeHow::Recycled,
                        by: None,
                        pool: Some(pool.clone()),
                        note: Some(format!("{} missed its deadline", view.rule.name)),
                        at: now,
                    });
                    change.release = charged_holder(&lead);
                    change.stat = Some(PoolStat::recycled(&pool, now));
                    let recycled = &mut change.lead;
                    recycled.previous_owner = recycled.owner.take();
                    recycled.owner_department = None;
                    recycled.owner_since = None;
                    recycled.acquisition = None;
                    recycled.owner_change_id = None;
                    recycled.pool = Some(pool);
                    recycled.waiting_since = Some(now);
                    recycled.set_stage(Stage::Recycled, now);
                }
            }
            sla::refresh(&mut change.lead, &config, now);
            change.violation = Some(violation.clone());
            if store.commit_change(&change).await? == Saved::Conflict {
                continue;
            }
            let breached = Message::SlaBreached {
                lead_id: lead.id.clone(),
                violation_id: violation.id.clone(),
                owner,
            };
            bus.publish(&Envelope::new(breached, now)).await?;
            if action == BreachAction::ReassignNext {
                let ready = Message::LeadReady {
                    lead_id: lead.id.clone(),
                    reason: ReadyReason::Recycled,
                    version: change.lead.version,
                };
                bus.publish(&Envelope::new(ready, now)).await?;
            }
            return Ok(Checked::Breached {
                clock: view.rule.name.clone(),
                action,
            });
        }

        let reminders: Vec<&ClockView<'_>> = views
            .iter()
            .filter(|v| v.status == ClockStatus::Running)
            .filter(|v| v.clock.remind_at.is_some_and(|at| at <= now))
            .filter(|v| !lead.sla_done.contains(&format!("remind:{}", v.key)))
            .collect();
        for view in &reminders {
            next.sla_done.push(format!("remind:{}", view.key));
        }
        sla::refresh(&mut next, &config, now);
        if store.commit_change(&LeadChange::new(&lead, next, day)).await? == Saved::Conflict {
            continue;
        }
        if reminders.is_empty() {
            return Ok(Checked::Rescheduled);
        }
        for view in &reminders {
            let message = Message::SlaReminder {
                lead_id: lead.id.clone(),
                clock: view.rule.name.clone(),
                due_at: view.clock.due_at.unwrap_or(now),
            };
            bus.publish(&Envelope::new(message, now)).await?;
        }
        return Ok(Checked::Reminded {
            clocks: reminders.iter().map(|v| v.rule.name.clone()).collect(),
        });
    }
    Err(AssignError::Contended)
}
