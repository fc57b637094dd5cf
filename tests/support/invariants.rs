//! The invariant checker for the fault tests: reads the final state of the table (on a
//! client without faults) and lists every way it breaks "nothing lost, each thing done
//! once in effect". Counting log lines or handler results would trust the code under
//! test; this trusts only what is stored.

use crate::Stack;
use chrono::{DateTime, Utc};
use domain::attribution::fold::month_start;
use domain::attribution::ports::ReportStore;
use domain::attribution::reconcile::reconcile_day;
use domain::attribution::rollup::{delta, merge};
use domain::lead::funnel::report_day;
use domain::lead::funnel::FUNNEL;
use domain::lead::ports::LeadStore;
use domain::lead::{Lead, Stage};
use domain::qualify::dedup::{contact_keys, MatchKey};
use domain::qualify::ports::DedupStore;
use domain::{assign::ports::RoutingStore, follow_up::ports::SlaStore};
use std::collections::{BTreeMap, BTreeSet};

/// What the final state holds, for the reliability table.
#[derive(Debug, Default)]
pub struct Census {
    pub leads: usize,
    pub sources: usize,
    pub repeats: usize,
    pub invalid: usize,
    pub owned: usize,
    pub waiting_in_pool: usize,
    pub violations: usize,
    pub funnel_days: usize,
    /// Every broken invariant, one line each (empty when the state is sound).
    pub broken: Vec<String>,
}

/// `accepted`: the lead id of every submission answered 202 (by submission id).
/// `reps`: the reps whose counters must match their leads. `window`: where to look for
/// violations.
pub async fn check(
    stack: &Stack,
    accepted: &BTreeMap<String, String>,
    reps: &[&str],
    window: (DateTime<Utc>, DateTime<Utc>),
) -> Census {
    let store = stack.store();
    let leads: Vec<Lead> = stack.all_leads().await;
    let by_id: BTreeMap<String, &Lead> = leads.iter().map(|l| (l.id.to_string(), l)).collect();
    let mut census = Census {
        leads: leads.len(),
        ..Census::default()
    };
    let broken = &mut census.broken;

    // Nothing accepted is lost; nothing is left half done.
    for (submission, id) in accepted {
        if !by_id.contains_key(id) {
            broken.push(format!(
                "accepted submission {submission} answered lead {id}, which is not stored"
            ));
        }
    }
    for lead in &leads {
        if lead.stage == Stage::Received {
            broken.push(format!("lead {} is still received: never processed", lead.id));
        }
    }

    // One lead per submission, one live lead per person.
    let mut per_submission: BTreeMap<&str, usize> = BTreeMap::new();
    let mut live_per_phone: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for lead in &leads {
        if let Some(s) = lead.submission_id.as_deref() {
            *per_submission.entry(s).or_default() += 1;
        }
        match lead.stage {
            Stage::Merged => {
                census.repeats += 1;
                let source = lead.dedup.as_ref().and_then(|d| d.repeat_of.as_ref());
                match source.and_then(|s| by_id.get(&s.to_string())) {
                    Some(source) if source.stage != Stage::Merged && source.contact.phone == lead.contact.phone => {}
                    _ => broken.push(format!(
                        "repeat {} is not collected under a live lead of its person",
                        lead.id
                    )),
                }
            }
            Stage::Invalid => census.invalid += 1,
            _ => {
                census.sources += 1;
                if let Some(phone) = lead.contact.phone.as_deref() {
                    live_per_phone.entry(phone).or_default().push(lead.id.to_string());
                }
            }
        }
    }
    for (submission, n) in per_submission.into_iter().filter(|(_, n)| *n > 1) {
        broken.push(format!("submission {submission} made {n} leads"));
    }
    // Intake writes the first touch before the lead, outside any transaction: every
    // accepted form post (bots aside) has it, once.
    for (submission, id) in accepted {
        let Some(lead) = by_id.get(id) else { continue };
        if lead.invalid_reason.as_ref().is_some_and(|r| r.code == "honeypot") {
            continue;
        }
        let form = format!("{id}-form");
        let touches = store.touchpoints(&lead.id).await.expect("touchpoints");
        let n = touches.iter().filter(|t| t.id == form).count();
        if n != 1 {
            broken.push(format!("submission {submission}: lead {id} has {n} first touches"));
        }
    }
    for (phone, ids) in live_per_phone.iter().filter(|(_, ids)| ids.len() > 1) {
        broken.push(format!(
            "{} live leads for one person ({}): {ids:?}",
            ids.len(),
            domain::lead::mask::phone(phone)
        ));
    }
    // Every person's contact keys name a live lead: none claimed ahead of a decision is
    // left with a repeat, a junk lead or a lead that never decided. (The key's kind only:
    // its value is a contact.)
    let keys: BTreeSet<MatchKey> = leads.iter().flat_map(contact_keys).collect();
    let keys: Vec<MatchKey> = keys.into_iter().collect();
    for holder in store.key_holders(&keys).await.expect("key holders") {
        match by_id.get(&holder.lead_id.to_string()) {
            Some(lead) if !matches!(lead.stage, Stage::Merged | Stage::Invalid | Stage::Received) => {}
            other => broken.push(format!(
                "a {:?} key is held by lead {} ({:?}), not a live lead",
                holder.key.kind,
                holder.lead_id,
                other.map(|l| l.stage)
            )),
        }
    }

    // One owner: each rep's held-leads counter is the number of leads they hold, so no
    // redelivered assignment charged anybody twice.
    let mut held: BTreeMap<&str, u32> = BTreeMap::new();
    for lead in leads
        .iter()
        .filter(|l| !matches!(l.stage, Stage::Merged | Stage::Invalid))
    {
        match (&lead.owner, lead.waiting_in_pool()) {
            (Some(owner), None) => {
                census.owned += 1;
                *held.entry(owner.as_str()).or_default() += 1;
            }
            (None, Some(_)) => census.waiting_in_pool += 1,
            (owner, pool) => broken.push(format!(
                "routable lead {} has owner {owner:?} and waits in pool {pool:?}",
                lead.id
            )),
        }
    }
    for rep in reps {
        let counted = store
            .rep(rep)
            .await
            .expect("read rep")
            .map(|(_, c)| c.active_leads)
            .unwrap_or(0);
        let actual = held.get(rep).copied().unwrap_or(0);
        if counted != actual {
            broken.push(format!(
                "rep {rep} is counted holding {counted} leads but holds {actual}"
            ));
        }
    }

    // At most one violation per clock run of a lead.
    let violations = store.violations(window.0, window.1).await.expect("violations");
    census.violations = violations.len();
    let mut per_clock: BTreeMap<(String, String), usize> = BTreeMap::new();
    for v in &violations {
        *per_clock.entry((v.lead_id.to_string(), v.clock.clone())).or_default() += 1;
        if !by_id.contains_key(&v.lead_id.to_string()) {
            broken.push(format!("violation {} is for a lead that does not exist", v.id));
        }
    }
    for ((lead, clock), n) in per_clock.into_iter().filter(|(_, n)| *n > 1) {
        broken.push(format!("lead {lead} has {n} violations of clock {clock}"));
    }

    // A decision's records follow its commit as single writes, so a run stopped between
    // the two must have been finished by the redelivery: every step a lead counts has its
    // record, once, and no record counts a step its lead does not; every repeat is listed
    // under its source.
    let counted: BTreeSet<(String, String, chrono::NaiveDate)> = leads
        .iter()
        .flat_map(domain::lead::funnel::recorded)
        .map(|s| (s.lead_id.to_string(), s.step, s.day))
        .collect();
    let step_days: BTreeSet<chrono::NaiveDate> = counted.iter().map(|(_, _, day)| *day).collect();
    let mut stored = BTreeSet::new();
    for day in step_days {
        for step in store.funnel_steps(day).await.expect("step records") {
            let key = (step.lead_id.to_string(), step.step, step.day);
            if !stored.insert(key.clone()) {
                broken.push(format!("lead {} has two {} step records", key.0, key.1));
            }
        }
    }
    for (lead, step, day) in counted.difference(&stored) {
        broken.push(format!("lead {lead} counts {step} on {day} without its step record"));
    }
    for (lead, step, day) in stored.difference(&counted) {
        broken.push(format!(
            "a {step} step record on {day} for lead {lead}, which does not count it"
        ));
    }
    let mut listed: BTreeMap<String, Vec<domain::lead::LeadId>> = BTreeMap::new();
    for lead in leads.iter().filter(|l| l.stage == Stage::Merged) {
        let Some(source) = lead.dedup.as_ref().and_then(|d| d.repeat_of.clone()) else {
            continue;
        };
        if !listed.contains_key(source.as_str()) {
            let repeats = store.repeats_of(&source).await.expect("repeats");
            listed.insert(source.to_string(), repeats);
        }
        if !listed[source.as_str()].contains(&lead.id) {
            broken.push(format!("repeat {} is not listed under its source {source}", lead.id));
        }
    }

    // Rollups counted once: the funnel rows folded from the stream equal a recount of
    // the raw step records, every day that has leads; and each month row is the sum of
    // its month's day rows.
    let days: BTreeSet<_> = leads.iter().map(|l| report_day(l.created_at)).collect();
    census.funnel_days = days.len();
    for day in &days {
        let reconciliation = reconcile_day(&store, *day).await.expect("reconcile");
        for row in &reconciliation.drift {
            broken.push(format!("funnel drift on {day}: {:?} {:?}", row.source, row.fields));
        }
    }
    broken.extend(month_drift(stack, FUNNEL, days.iter().map(|d| month_start(*d)).collect()).await);
    census
}

/// How a series' month rows differ from the sums of their day rows, per month (one line
/// per row that differs).
pub async fn month_drift(stack: &Stack, series: &str, months: BTreeSet<chrono::NaiveDate>) -> Vec<String> {
    let store = stack.store();
    let mut broken = Vec::new();
    for month in months {
        let last = (month + chrono::Months::new(1)).pred_opt().expect("a day");
        let days = store.rollups(series, month, last).await.expect("day rows").rows;
        let summed = merge(days.into_iter().map(|mut row| {
            row.day = month;
            row
        }));
        let stored = merge(store.month_rows(series, month, last).await.expect("month rows"));
        for row in delta(&stored, &summed) {
            broken.push(format!(
                "{series} month row drift in {month}: {:?} {:?}",
                row.source, row.fields
            ));
        }
    }
    broken
}
