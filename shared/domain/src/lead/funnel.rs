//! Funnel steps (docs/src/rules/attribution.md#funnel): each lead adds to the funnel
//! rows of its own marketing source once per step, on the report day it took the step.
//!
//! Steps come from the stage history (`Lead::stage_at`) and the lead remembers which
//! ones it has counted (`Lead::funnel_counted`). Every commit object that writes a lead
//! is built with [`count`], so it carries the lead as it is to be stored and the step
//! records that write adds. Adapters store both in one transaction, whose version
//! condition on the lead makes a retried write count nothing twice, except a
//! qualification's: its records follow its commit, each written only if absent, and a
//! redelivery writes them again from the lead ([`recorded`]). The rollup rows the steps add to
//! are read by [`crate::attribution`]; they are defined here because the lead's own
//! writes produce them.

use crate::lead::{Lead, LeadId, Source, Stage};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A funnel step a lead took: also stored as a raw record the nightly reconciliation
/// recounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelStep {
    pub lead_id: LeadId,
    /// `lead`, `mql`, `sql`, `invalid` or `repeat`.
    pub step: String,
    pub day: NaiveDate,
    pub source: SourceKey,
    /// The counter increments: `{"leads": 1}`, `{"invalid": 1, "invalid_no_intent": 1}`.
    pub fields: BTreeMap<String, i64>,
}

/// The counter field of an invalid reason: `invalid_wrong_contact`.
pub fn invalid_field(code: &str) -> String {
    format!("invalid_{code}")
}

/// When the lead first reached each funnel step, from its stage history.
fn reached(lead: &Lead) -> Vec<(&'static str, DateTime<Utc>)> {
    let at = |stage: Stage| lead.stage_at.get(stage.as_str()).copied();
    let earliest = |stages: &[Stage]| stages.iter().filter_map(|s| at(*s)).min();
    let mut steps = Vec::new();
    // A lead counts once it leaves `received` as anything but a repeat; junk counts too
    // (it was paid for), and shows again under `invalid`.
    if let Some(t) = earliest(&[
        Stage::Aql,
        Stage::Mql,
        Stage::Sql,
        Stage::Converted,
        Stage::Nurture,
        Stage::Recycled,
        Stage::Invalid,
    ]) {
        steps.push(("lead", t));
    }
    // A lead qualified straight to SQL passed MQL on the way.
    if let Some(t) = earliest(&[Stage::Mql, Stage::Sql]) {
        steps.push(("mql", t));
    }
    if let Some(t) = at(Stage::Sql) {
        steps.push(("sql", t));
    }
    if let Some(t) = at(Stage::Invalid) {
        steps.push(("invalid", t));
    }
    if let Some(t) = at(Stage::Merged) {
        steps.push(("repeat", t));
    }
    steps
}

/// Steps the lead has taken that its funnel rows do not count yet.
pub fn uncounted(lead: &Lead) -> Vec<FunnelStep> {
    steps_where(lead, false)
}

/// The step records of the steps the lead remembers as counted: what a redelivery writes
/// again, in case the run that counted them stopped before their records were written.
pub fn recorded(lead: &Lead) -> Vec<FunnelStep> {
    steps_where(lead, true)
}

fn steps_where(lead: &Lead, counted: bool) -> Vec<FunnelStep> {
    let source = SourceKey::of(&lead.source);
    reached(lead)
        .into_iter()
        .filter(|(step, _)| lead.funnel_counted.iter().any(|c| c == step) == counted)
        .map(|(step, at)| {
            let mut fields = BTreeMap::new();
            match step {
                "lead" => fields.insert("leads".to_string(), 1),
                "invalid" => {
                    fields.insert(invalid_field(first_invalid_code(lead)), 1);
                    fields.insert("invalid".to_string(), 1)
                }
                "repeat" => fields.insert("repeats".to_string(), 1),
                other => fields.insert(other.to_string(), 1),
            };
            FunnelStep {
                lead_id: lead.id.clone(),
                step: step.to_string(),
                day: report_day(at),
                source: source.clone(),
                fields,
            }
        })
        .collect()
}

/// The reason the `invalid` step counts under: the one the lead was first found invalid
/// for. A restored lead no longer carries it, but its first review of the invalid pool
/// remembers it, so the step's record written again after a restore says the same.
fn first_invalid_code(lead: &Lead) -> &str {
    let reviewed = lead.reviews.iter().map(|r| r.reason.as_str()).find(|c| !c.is_empty());
    reviewed
        .or_else(|| lead.invalid_reason.as_ref().map(|r| r.code.as_str()))
        .unwrap_or("other")
}

/// The lead as it is written along with `steps`: remembering them as counted.
pub fn with_counted(lead: &Lead, steps: &[FunnelStep]) -> Lead {
    let mut lead = lead.clone();
    lead.funnel_counted.extend(steps.iter().map(|s| s.step.clone()));
    lead
}

/// Counts what `lead` has newly reached: the lead as it is to be stored (remembering the
/// steps as counted) and the steps the same write adds to the funnel rows.
pub fn count(lead: Lead) -> (Lead, Vec<FunnelStep>) {
    let steps = uncounted(&lead);
    let lead = with_counted(&lead, &steps);
    (lead, steps)
}

/// Reports count days in the business's zone (China Standard Time): a lead captured at
/// 23:30 Beijing time belongs to that Beijing day, whatever UTC says.
pub const REPORT_ZONE: Tz = chrono_tz::Asia::Shanghai;

/// The series name of the lead funnel (model names may not take it).
pub const FUNNEL: &str = "funnel";

pub fn report_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&REPORT_ZONE).date_naive()
}

/// Where marketing credit goes: channel, campaign and keyword (`""` when unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourceKey {
    pub channel: String,
    #[serde(default)]
    pub campaign: String,
    #[serde(default)]
    pub keyword: String,
}

impl SourceKey {
    /// A lead's or touch's source: the campaign id if the page sent one, else the UTM
    /// campaign; the keyword is the UTM term.
    pub fn of(source: &Source) -> Self {
        Self {
            channel: source.channel.clone(),
            campaign: source
                .campaign_id
                .clone()
                .or_else(|| source.utm.campaign.clone())
                .unwrap_or_default(),
            keyword: source.utm.term.clone().unwrap_or_default(),
        }
    }

    /// Credit that no touch inside the look-back window can take.
    pub fn unattributed() -> Self {
        Self {
            channel: "(unattributed)".into(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::InvalidReason;

    fn lead() -> Lead {
        let mut lead = Lead::new(
            LeadId::generate("2026-03-01T02:00:00Z".parse().unwrap()),
            "baidu_sem",
            "2026-03-01T02:00:00Z".parse().unwrap(),
        );
        lead.source.campaign_id = Some("spring".into());
        lead.source.utm.term = Some("crm".into());
        lead
    }

    #[test]
    fn a_received_lead_counts_nothing_yet() {
        assert!(uncounted(&lead()).is_empty());
    }

    #[test]
    fn each_step_counts_once_on_its_own_day() {
        let mut l = lead();
        l.set_stage(Stage::Aql, "2026-03-01T02:00:01Z".parse().unwrap());
        let steps = uncounted(&l);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].fields, BTreeMap::from([("leads".to_string(), 1)]));
        assert_eq!(steps[0].source.campaign, "spring");
        assert_eq!(steps[0].source.keyword, "crm");
        let mut l = with_counted(&l, &steps);
        assert!(uncounted(&l).is_empty(), "counted steps are not counted again");

        // Straight to SQL two days later: MQL is implied, both on that day.
        l.set_stage(Stage::Sql, "2026-03-03T05:00:00Z".parse().unwrap());
        let steps = uncounted(&l);
        let names: Vec<_> = steps.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(names, ["mql", "sql"]);
        assert!(steps.iter().all(|s| s.day == "2026-03-03".parse().unwrap()));
    }

    #[test]
    fn invalid_leads_count_as_leads_and_by_reason() {
        let mut l = lead();
        l.invalid_reason = Some(InvalidReason {
            code: "blacklisted".into(),
            detail: String::new(),
        });
        l.set_stage(Stage::Invalid, "2026-03-01T02:00:01Z".parse().unwrap());
        let steps = uncounted(&l);
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].fields["invalid"], 1);
        assert_eq!(steps[1].fields["invalid_blacklisted"], 1);
    }

    #[test]
    fn a_restored_lead_s_invalid_step_keeps_its_reason() {
        use crate::lead::{InvalidReview, Verdict};
        let mut l = lead();
        l.invalid_reason = Some(InvalidReason {
            code: "wrong_contact".into(),
            detail: String::new(),
        });
        l.set_stage(Stage::Invalid, "2026-03-01T02:00:01Z".parse().unwrap());
        let (mut l, counted) = count(l);
        assert_eq!(counted[1].fields["invalid_wrong_contact"], 1);

        // Restored by marketing: the reason goes, the review keeps it.
        l.reviews.push(InvalidReview {
            verdict: Verdict::Restored,
            reason: "wrong_contact".into(),
            by: "mkt-1".into(),
            at: "2026-03-02T02:00:00Z".parse().unwrap(),
            note: None,
        });
        l.invalid_reason = None;
        l.set_stage(Stage::Received, "2026-03-02T02:00:00Z".parse().unwrap());
        assert_eq!(recorded(&l), counted, "written again, the records say what was counted");
    }

    #[test]
    fn repeats_count_apart_from_leads() {
        let mut l = lead();
        l.set_stage(Stage::Merged, "2026-03-01T02:00:01Z".parse().unwrap());
        let steps = uncounted(&l);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].fields, BTreeMap::from([("repeats".to_string(), 1)]));
    }
}
