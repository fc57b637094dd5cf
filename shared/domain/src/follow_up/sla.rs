//! Follow-up deadlines (docs/src/rules/follow-up.md#t-plus-n), pure: which clocks run on a lead, when each runs
//! out in business time, what satisfies it, and what a breach does.
//!
//! "T + N": T is when the current owner got the lead (or, for a clock on a later
//! stage, when the lead entered it; for a clock that restarts, the last satisfying
//! act), N is the clock's span counted on the policy's business calendar. Clocks are
//! not stored as timers: they are recomputed from the lead's own timestamps whenever
//! the lead changes or the sweep looks, so a follow-up logged a second before the sweep
//! always wins. The lead only carries the next instant worth looking at, for the index.

use crate::lead::error::FieldError;
use crate::lead::ClockStatus;
use crate::lead::{Lead, SlaClock, Stage};
use crate::{follow_up::calendar::BusinessCalendar, follow_up::calendar::Counting, follow_up::calendar::Span};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfier {
    /// A logged follow-up (call, visit, message) after T.
    FollowUp,
    /// BANT fields edited after T.
    BantEdit,
    /// The lead leaves the watched stages (the clock stops applying).
    StageChange,
    /// Someone takes the lead (a claim, a manager's assignment): ends a clock that runs
    /// while the lead waits unowned.
    Claimed,
}

/// Whose time a clock counts: the owner's (the default), or the time a lead spends
/// without one (waiting in a pool to be claimed, resting in nurture).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunsWhile {
    /// T is when the current owner got the lead (or entered the stage, if later).
    #[default]
    Owned,
    /// T is when the lead last lost its owner or went to nurture (or entered the stage,
    /// if later); the clock stops when someone takes it.
    Unowned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreachAction {
    /// Owner cleared; the lead waits in its pool for claimers and admins.
    RecycleToPool,
    /// Owner cleared and the lead routed again, skipping the previous owner.
    ReassignNext,
    /// To the nurture pool (marketing).
    Nurture,
    /// Nothing moves; the pool's manager channel is told.
    Escalate,
    /// A nurtured lead's re-check came due: back to routing, by default to a rep other
    /// than the one who let it go. Not a violation: nobody missed anything.
    Reactivate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockRule {
    pub name: String,
    /// The clock runs while the lead is owned and in one of these stages.
    pub stages: Vec<Stage>,
    #[serde(default)]
    pub runs_while: RunsWhile,
    pub within: Span,
    #[serde(default)]
    pub counting: Counting,
    pub satisfied_by: Vec<Satisfier>,
    /// Restarts from each satisfying act ("untouched for 7 days") instead of ending.
    #[serde(default)]
    pub restarts: bool,
    pub on_breach: BreachAction,
    /// Remind the owner when this share of N has passed (`None`: no reminder).
    #[serde(default)]
    pub remind_at_percent: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    pub id: String,
    pub name: String,
    /// The id of a calendar in [`SlaConfig::calendars`].
    pub calendar: String,
    pub clocks: Vec<ClockRule>,
}

/// Policies, calendars and which policy applies where: one versioned document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    #[serde(default)]
    pub version: u64,
    pub calendars: Vec<BusinessCalendar>,
    pub policies: Vec<SlaPolicy>,
    /// Pool id → policy id (first choice).
    #[serde(default)]
    pub by_pool: BTreeMap<String, String>,
    /// Channel → policy id (when the pool names none).
    #[serde(default)]
    pub by_channel: BTreeMap<String, String>,
    pub default_policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

fn clock(name: &str, stages: &[Stage], within: Span, satisfied_by: &[Satisfier], on_breach: BreachAction) -> ClockRule {
    ClockRule {
        name: name.into(),
        stages: stages.to_vec(),
        runs_while: RunsWhile::Owned,
        within,
        counting: Counting::WorkingDays,
        satisfied_by: satisfied_by.to_vec(),
        restarts: false,
        on_breach,
        remind_at_percent: Some(80),
    }
}

const WORKED: &[Stage] = &[Stage::Aql, Stage::Mql, Stage::Sql, Stage::Recycled];

/// Every preset looks at a nurtured lead again after 60 working days
/// (docs/src/rules/nurture.md#re-check).
fn nurture_recheck() -> ClockRule {
    ClockRule {
        runs_while: RunsWhile::Unowned,
        remind_at_percent: None,
        ..clock(
            "nurture_recheck",
            &[Stage::Nurture],
            Span::WorkingDays(60),
            &[Satisfier::StageChange],
            BreachAction::Reactivate,
        )
    }
}

impl SlaPolicy {
    /// The defaults (docs/src/rules/follow-up.md#policies): first contact within 24 h, the SDR decides MQL or invalid
    /// within 3 days, an MQL not made SQL within 7 days goes to nurture, sales decides
    /// converted or nurture within 7 days of SQL, and a lead untouched for 7 days goes
    /// back to its pool. Unowned: an MQL waiting in a pool must be claimed within 2
    /// working hours (else its pool's manager is told), and a nurtured lead is looked at
    /// again after 60 working days (docs/src/rules/nurture.md).
    pub fn standard() -> Self {
        Self {
            id: "standard".into(),
            name: "Standard (24 h / 3 days / 7 days)".into(),
            calendar: "cn".into(),
            clocks: vec![
                clock(
                    "first_contact",
                    &[Stage::Aql, Stage::Mql, Stage::Recycled],
                    Span::Hours(24),
                    &[Satisfier::FollowUp, Satisfier::BantEdit],
                    BreachAction::ReassignNext,
                ),
                clock(
                    "mql_decision",
                    &[Stage::Aql, Stage::Recycled],
                    Span::WorkingDays(3),
                    &[Satisfier::StageChange],
                    BreachAction::RecycleToPool,
                ),
                clock(
                    "sql_decision",
                    &[Stage::Mql],
                    Span::WorkingDays(7),
                    &[Satisfier::StageChange],
                    BreachAction::Nurture,
                ),
                clock(
                    "sql_outcome",
                    &[Stage::Sql],
                    Span::WorkingDays(7),
                    &[Satisfier::StageChange],
                    BreachAction::Escalate,
                ),
                ClockRule {
                    restarts: true,
                    ..clock(
                        "untouched",
                        WORKED,
                        Span::WorkingDays(7),
                        &[Satisfier::FollowUp, Satisfier::BantEdit],
                        BreachAction::RecycleToPool,
                    )
                },
                ClockRule {
                    runs_while: RunsWhile::Unowned,
                    counting: Counting::WorkingHours,
                    remind_at_percent: Some(50),
                    ..clock(
                        "claim",
                        &[Stage::Mql],
                        Span::Hours(2),
                        &[Satisfier::Claimed],
                        BreachAction::Escalate,
                    )
                },
                nurture_recheck(),
            ],
        }
    }

    /// ToC: recycle after 1 working hour without follow-up, 2 days without conversion.
    pub fn to_c() -> Self {
        Self {
            id: "toc".into(),
            name: "ToC (1 h / 2 days)".into(),
            calendar: "cn".into(),
            clocks: vec![
                ClockRule {
                    counting: Counting::WorkingHours,
                    ..clock(
                        "first_contact",
                        WORKED,
                        Span::Hours(1),
                        &[Satisfier::FollowUp, Satisfier::BantEdit],
                        BreachAction::ReassignNext,
                    )
                },
                clock(
                    "conversion",
                    WORKED,
                    Span::WorkingDays(2),
                    &[Satisfier::StageChange],
                    BreachAction::RecycleToPool,
                ),
                nurture_recheck(),
            ],
        }
    }

    /// ToB: 3 days without follow-up, 14 days without conversion.
    pub fn to_b() -> Self {
        Self {
            id: "tob".into(),
            name: "ToB (3 days / 14 days)".into(),
            calendar: "cn".into(),
            clocks: vec![
                clock(
                    "first_contact",
                    WORKED,
                    Span::WorkingDays(3),
                    &[Satisfier::FollowUp, Satisfier::BantEdit],
                    BreachAction::ReassignNext,
                ),
                clock(
                    "conversion",
                    WORKED,
                    Span::WorkingDays(14),
                    &[Satisfier::StageChange],
                    BreachAction::RecycleToPool,
                ),
                nurture_recheck(),
            ],
        }
    }
}

impl Default for SlaConfig {
    fn default() -> Self {
        Self {
            version: 0,
            calendars: vec![BusinessCalendar::china_mainland()],
            policies: vec![SlaPolicy::standard(), SlaPolicy::to_c(), SlaPolicy::to_b()],
            by_pool: BTreeMap::new(),
            by_channel: BTreeMap::new(),
            default_policy: "standard".into(),
            updated_at: None,
        }
    }
}

impl SlaConfig {
    /// Every calendar with its `covers_until` stated ([`BusinessCalendar::with_coverage`]):
    /// what the API saves and answers, so an admin always sees how far each reaches.
    pub fn with_coverage(mut self) -> Self {
        self.calendars = self
            .calendars
            .into_iter()
            .map(BusinessCalendar::with_coverage)
            .collect();
        self
    }

    /// The calendars some policy uses that hold holiday data, each with the days of it
    /// left after `at` (negative once past it), fewest first.
    pub fn coverage_in_use(&self, at: DateTime<Utc>) -> Vec<(&str, i64)> {
        let mut covered: Vec<(&str, i64)> = self
            .calendars
            .iter()
            .filter(|c| self.policies.iter().any(|p| p.calendar == c.id))
            .filter_map(|c| c.days_covered(at).map(|days| (c.id.as_str(), days)))
            .collect();
        covered.sort_by_key(|(id, days)| (*days, *id));
        covered
    }

    /// The policy for a lead: by its pool, else its channel, else the default; and its
    /// calendar.
    pub fn policy_for(&self, lead: &Lead) -> Option<(&SlaPolicy, &BusinessCalendar)> {
        let id = lead
            .pool
            .as_ref()
            .and_then(|p| self.by_pool.get(p))
            .or_else(|| self.by_channel.get(&lead.source.channel))
            .unwrap_or(&self.default_policy);
        let policy = self.policies.iter().find(|p| &p.id == id)?;
        let calendar = self.calendars.iter().find(|c| c.id == policy.calendar)?;
        Some((policy, calendar))
    }

    /// Every rule: the document's shape ([`Self::shape_errors`]) and its references to
    /// its own calendars and policies ([`Self::reference_errors`]).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = self.shape_errors();
        errors.extend(self.reference_errors());
        errors
    }

    /// A policy's `calendar`, `default_policy` and every `by_pool` / `by_channel` value
    /// must name one of the document's own calendars or policies. Kept apart from the
    /// shape rules because no schema can state them: the API answers them as a conflict
    /// with the document's own lists (409), not as a malformed field (422).
    pub fn reference_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (i, policy) in self.policies.iter().enumerate() {
            if !self.calendars.iter().any(|c| c.id == policy.calendar) {
                errors.push(FieldError::new(
                    format!("policies[{i}].calendar"),
                    "is not one of `calendars`",
                ));
            }
        }
        let policy_known = |id: &str| self.policies.iter().any(|p| p.id == id);
        for (field, id) in std::iter::once(("default_policy".to_string(), &self.default_policy))
            .chain(self.by_pool.iter().map(|(k, v)| (format!("by_pool.{k}"), v)))
            .chain(self.by_channel.iter().map(|(k, v)| (format!("by_channel.{k}"), v)))
        {
            if !policy_known(id) {
                errors.push(FieldError::new(field, "is not one of `policies`"));
            }
        }
        errors
    }

    /// The rules on each calendar, policy and clock taken alone.
    pub fn shape_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (i, calendar) in self.calendars.iter().enumerate() {
            for e in calendar.validate() {
                errors.push(FieldError::new(format!("calendars[{i}].{}", e.field), e.reason));
            }
        }
        for (i, policy) in self.policies.iter().enumerate() {
            if !crate::lead::error::valid_id(&policy.id) {
                errors.push(FieldError::new(
                    format!("policies[{i}].id"),
                    "must be 1-64 letters, digits, '-' or '_'",
                ));
            }
            for (j, rule) in policy.clocks.iter().enumerate() {
                let field = |name: &str| format!("policies[{i}].clocks[{j}].{name}");
                if rule.stages.is_empty() {
                    errors.push(FieldError::new(field("stages"), "must name at least one stage"));
                }
                if rule.satisfied_by.is_empty() {
                    errors.push(FieldError::new(
                        field("satisfied_by"),
                        "must name what satisfies the clock",
                    ));
                }
                let zero = matches!(rule.within, Span::Minutes(0) | Span::Hours(0) | Span::WorkingDays(0));
                if zero {
                    errors.push(FieldError::new(field("within"), "must be more than zero"));
                }
                if rule.remind_at_percent.is_some_and(|p| p == 0 || p >= 100) {
                    errors.push(FieldError::new(field("remind_at_percent"), "must be 1-99"));
                }
                errors.extend(
                    holder_errors(rule)
                        .into_iter()
                        .map(|(name, reason)| FieldError::new(field(name), reason)),
                );
                if policy.clocks[..j].iter().any(|r| r.name == rule.name) {
                    errors.push(FieldError::new(field("name"), "is used twice in this policy"));
                }
            }
        }
        errors
    }
}

/// What a clock may do and be satisfied by depends on whose time it counts: only an
/// unowned clock ends with a claim or reactivates, and nobody can be recycled from a
/// lead that has no owner (so an unowned clock escalates or reactivates).
fn holder_errors(rule: &ClockRule) -> Vec<(&'static str, &'static str)> {
    let mut errors = Vec::new();
    let unowned = rule.runs_while == RunsWhile::Unowned;
    if !unowned && rule.satisfied_by.contains(&Satisfier::Claimed) {
        errors.push((
            "satisfied_by",
            "`claimed` ends only a clock that runs while the lead is unowned",
        ));
    }
    match rule.on_breach {
        BreachAction::Reactivate if !(unowned && rule.stages == [Stage::Nurture]) => errors.push((
            "on_breach",
            "`reactivate` is for a clock on nurtured leads: runs_while `unowned`, stages [\"nurture\"]",
        )),
        BreachAction::RecycleToPool | BreachAction::ReassignNext | BreachAction::Nurture if unowned => errors.push((
            "on_breach",
            "a clock on unowned leads can only `escalate` or `reactivate`",
        )),
        _ => {}
    }
    errors
}

/// T for `rule` on `lead`, if the clock applies (in a watched stage, owned or not as
/// the clock says).
fn started_at(rule: &ClockRule, lead: &Lead) -> Option<DateTime<Utc>> {
    if !rule.stages.contains(&lead.stage) {
        return None;
    }
    let held_since = match rule.runs_while {
        RunsWhile::Owned => lead.owner.as_ref().and(lead.owner_since)?,
        RunsWhile::Unowned if lead.owner.is_some() => return None,
        RunsWhile::Unowned => lead
            .waiting_since
            .or(lead.nurture.as_ref().map(|n| n.since))
            .or_else(|| lead.stage_at.get(lead.stage.as_str()).copied())?,
    };
    // A clock on a later stage starts when the lead first entered one of its stages.
    let entered = rule
        .stages
        .iter()
        .filter_map(|s| lead.stage_at.get(s.as_str()))
        .min()
        .copied();
    let mut t = held_since.max(entered.unwrap_or(held_since));
    if rule.restarts {
        for act in satisfying_acts(rule, lead) {
            t = t.max(act);
        }
    }
    Some(t)
}

fn satisfying_acts(rule: &ClockRule, lead: &Lead) -> Vec<DateTime<Utc>> {
    rule.satisfied_by
        .iter()
        .filter_map(|s| match s {
            Satisfier::FollowUp => lead.last_follow_up_at,
            Satisfier::BantEdit => lead.bant_updated_at,
            Satisfier::StageChange | Satisfier::Claimed => None,
        })
        .collect()
}

/// One clock as it stands, with the rule it comes from.
#[derive(Debug, Clone)]
pub struct ClockView<'a> {
    pub rule: &'a ClockRule,
    pub clock: SlaClock,
    pub status: ClockStatus,
    /// Identifies this run of the clock (reminders and violations are once per run).
    pub key: String,
}

/// The clocks that apply to `lead` under `policy`, as of `now`.
pub fn clocks<'a>(
    lead: &Lead,
    policy: &'a SlaPolicy,
    calendar: &BusinessCalendar,
    now: DateTime<Utc>,
) -> Vec<ClockView<'a>> {
    policy
        .clocks
        .iter()
        .filter_map(|rule| {
            let t = started_at(rule, lead)?;
            let due = calendar.add(t, rule.within, rule.counting);
            // The reminder comes at a share of N in business time too.
            let remind = rule.remind_at_percent.map(|pct| {
                let (minutes, counting) = match rule.within {
                    Span::Minutes(m) => (m, rule.counting),
                    Span::Hours(h) => (h * 60, rule.counting),
                    Span::WorkingDays(d) => (d * 24 * 60, Counting::WorkingDays),
                };
                calendar.add(t, Span::Minutes(minutes * u32::from(pct) / 100), counting)
            });
            let satisfied = !rule.restarts && satisfying_acts(rule, lead).into_iter().any(|act| act >= t);
            let status = if satisfied {
                ClockStatus::Satisfied
            } else if now >= due {
                ClockStatus::Breached
            } else {
                ClockStatus::Running
            };
            Some(ClockView {
                rule,
                key: format!("{}@{}", rule.name, t.timestamp_millis()),
                clock: SlaClock {
                    clock: rule.name.clone(),
                    started_at: t,
                    due_at: Some(due),
                    remind_at: remind,
                    status: Some(status),
                },
                status,
            })
        })
        .collect()
}

/// Recomputes the lead's clocks and the next instant the sweep should look at it: the
/// earliest reminder not yet sent or deadline not yet handled.
pub fn refresh(lead: &mut Lead, config: &SlaConfig, now: DateTime<Utc>) {
    let Some((policy, calendar)) = config.policy_for(lead) else {
        lead.sla.clear();
        lead.sla_next_check = None;
        return;
    };
    let views = clocks(lead, policy, calendar, now);
    lead.sla_next_check = views
        .iter()
        .filter(|v| v.status != ClockStatus::Satisfied)
        .filter_map(|v| {
            // A reminder is only worth sending while the clock still runs.
            let reminder = v
                .clock
                .remind_at
                .filter(|_| v.status == ClockStatus::Running)
                .filter(|_| !lead.sla_done.contains(&format!("remind:{}", v.key)));
            let deadline = v
                .clock
                .due_at
                .filter(|_| !lead.sla_done.contains(&format!("breach:{}", v.key)));
            reminder.into_iter().chain(deadline).min()
        })
        .min();
    // Keep only the marks of clock runs that still exist.
    let live: Vec<String> = views.iter().map(|v| v.key.clone()).collect();
    lead.sla_done.retain(|mark| {
        mark.split_once(':')
            .is_some_and(|(_, key)| live.iter().any(|l| l == key))
    });
    lead.sla = views.into_iter().map(|v| v.clock).collect();
}

/// A pool's recycle rate (recycled ÷ handed out) and its health against the 5–15 % band
/// (docs/src/rules/follow-up.md#recycle-rate): above 15 % `too_loose`, below 5 %
/// `too_strict`, no leads handed out `no_data`.
pub fn recycle_health(handed_out: u64, recycled: u64) -> (f64, &'static str) {
    let rate = if handed_out == 0 {
        0.0
    } else {
        recycled as f64 / handed_out as f64
    };
    let health = if handed_out == 0 {
        "no_data"
    } else if rate > 0.15 {
        "too_loose"
    } else if rate < 0.05 {
        "too_strict"
    } else {
        "healthy"
    };
    (rate, health)
}

impl crate::lead::versioned::Versioned for SlaConfig {
    fn version(&self) -> u64 {
        self.version
    }
    fn stamp(&mut self, version: u64, at: chrono::DateTime<chrono::Utc>) {
        self.version = version;
        self.updated_at = Some(at);
    }
}
