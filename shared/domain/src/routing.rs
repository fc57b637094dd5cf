//! Routing decisions (DOMAIN.md §3), pure: which pool a lead belongs to, which rep in
//! that pool is eligible now, and whom the pool's strategy picks. The assign function
//! (to come) loads reps, loads and pool state, calls [`route`], and commits the choice
//! with conditional updates on the rep's counters.
//!
//! Round robin and weighted routing both work from per-member assignment counters kept
//! in the pool's state, not from a list index. A member who joins starts level with the
//! lowest counter, so adding or removing members never gives anyone a burst of leads.

use crate::lead::Lead;
use crate::scoring::{company_size_range, Grade};
use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Top,
    Regular,
    New,
}

impl Tier {
    /// 保有量 defaults: top sales 200 active leads, regular 100, new hires 50.
    pub fn default_holding_cap(self) -> u32 {
        match self {
            Tier::Top => 200,
            Tier::Regular => 100,
            Tier::New => 50,
        }
    }
}

/// A weekly shift in the rep's own time zone; `end` before `start` is an overnight shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkingHours {
    pub time_zone: Tz,
    pub days: Vec<Weekday>,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl WorkingHours {
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.time_zone);
        let time = local.time();
        if self.start <= self.end {
            self.days.contains(&local.weekday()) && time >= self.start && time < self.end
        } else if time >= self.start {
            self.days.contains(&local.weekday())
        } else {
            // After midnight: the shift began the day before.
            time < self.end && self.days.contains(&local.weekday().pred())
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Absence {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rep {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub team: String,
    #[serde(default)]
    pub department: String,
    pub tier: Tier,
    /// Share in weighted pools.
    #[serde(default = "one")]
    pub weight: u32,
    /// Active leads held at most; default by tier.
    #[serde(default)]
    pub holding_cap: Option<u32>,
    #[serde(default)]
    pub daily_cap: Option<u32>,
    /// `None`: always at work.
    #[serde(default)]
    pub working_hours: Option<WorkingHours>,
    #[serde(default)]
    pub out_of_office: Vec<Absence>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}

/// What a rep holds now (from the store's counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepLoad {
    pub active_leads: u32,
    pub assigned_today: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ineligible {
    Inactive,
    OffShift,
    OutOfOffice,
    HoldingCap,
    DailyCap,
}

pub fn eligibility(rep: &Rep, load: RepLoad, at: DateTime<Utc>) -> Result<(), Ineligible> {
    if !rep.active {
        return Err(Ineligible::Inactive);
    }
    if rep.working_hours.as_ref().is_some_and(|h| !h.is_open(at)) {
        return Err(Ineligible::OffShift);
    }
    if rep.out_of_office.iter().any(|a| a.from <= at && at < a.until) {
        return Err(Ineligible::OutOfOffice);
    }
    if load.active_leads >= rep.holding_cap.unwrap_or_else(|| rep.tier.default_holding_cap()) {
        return Err(Ineligible::HoldingCap);
    }
    if rep.daily_cap.is_some_and(|cap| load.assigned_today >= cap) {
        return Err(Ineligible::DailyCap);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Strategy {
    /// To a named rep, or round robin within a named team.
    Designated {
        #[serde(default)]
        rep: Option<String>,
        #[serde(default)]
        team: Option<String>,
    },
    RoundRobin,
    /// By weight; A-grade (or A1/A2) leads go to the top tier first.
    Weighted,
    /// Leads wait to be claimed.
    ClaimOnly,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    pub id: String,
    pub name: String,
    pub strategy: Strategy,
    pub members: Vec<String>,
    #[serde(default)]
    pub daily_cap: Option<u32>,
}

/// First matching rule wins; every condition given must hold, an empty one matches all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteRule {
    pub pool: String,
    pub provinces: Vec<String>,
    pub industries: Vec<String>,
    pub channels: Vec<String>,
    pub products: Vec<String>,
    pub grades: Vec<Grade>,
    pub cells: Vec<String>,
    pub min_company_size: Option<u32>,
}

impl RouteRule {
    pub fn matches(&self, lead: &Lead, province: Option<&str>) -> bool {
        let any = |list: &[String], value: Option<&str>| {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|item| v.contains(item.as_str())))
        };
        let score = lead.score.as_ref();
        any(&self.provinces, province)
            && any(&self.industries, lead.profile.industry.as_deref())
            && any(&self.channels, Some(lead.source.channel.as_str()))
            && any(&self.products, lead.profile.product.as_deref())
            && (self.grades.is_empty() || score.is_some_and(|s| self.grades.contains(&s.grade)))
            && (self.cells.is_empty() || score.is_some_and(|s| self.cells.contains(&s.cell)))
            && self.min_company_size.is_none_or(|min| {
                lead.profile
                    .company_size
                    .as_deref()
                    .and_then(company_size_range)
                    .is_some_and(|(lo, _)| lo >= min)
            })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingConfig {
    pub rules: Vec<RouteRule>,
    pub default_pool: String,
    pub pools: Vec<Pool>,
}

/// The province a lead is from: as given, else named at the start of its company name.
pub fn province_of(lead: &Lead) -> Option<String> {
    if let Some(p) = &lead.profile.province {
        return Some(p.clone());
    }
    let company = lead.company.as_ref()?.raw.as_str();
    crate::company::REGIONS
        .iter()
        .find(|r| company.starts_with(*r))
        .map(|r| r.to_string())
}

pub fn choose_pool<'a>(lead: &Lead, config: &'a RoutingConfig) -> Option<&'a Pool> {
    let province = province_of(lead);
    let id = config
        .rules
        .iter()
        .find(|rule| rule.matches(lead, province.as_deref()))
        .map_or(config.default_pool.as_str(), |rule| rule.pool.as_str());
    config.pools.iter().find(|p| p.id == id)
}

/// A pool's persistent routing state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolState {
    /// Leads assigned per member since they joined (levelled on joining).
    pub assigned: BTreeMap<String, u64>,
    pub last_rep: Option<String>,
    pub assigned_today: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Assign {
        rep: String,
    },
    /// The lead waits in the pool (claimable, offered again when someone is eligible).
    Wait {
        reason: String,
    },
}

/// Picks the rep for one lead, and the pool state after it.
pub fn route(
    pool: &Pool,
    reps: &BTreeMap<String, Rep>,
    loads: &BTreeMap<String, RepLoad>,
    state: &PoolState,
    lead_grade: Option<(Grade, u8)>,
    at: DateTime<Utc>,
) -> (Decision, PoolState) {
    let wait = |reason: &str| (Decision::Wait { reason: reason.into() }, state.clone());
    if pool.daily_cap.is_some_and(|cap| state.assigned_today >= cap) {
        return wait("the pool's daily cap is reached");
    }
    let eligible = |id: &String| {
        reps.get(id)
            .is_some_and(|rep| eligibility(rep, loads.get(id).copied().unwrap_or_default(), at).is_ok())
    };
    let mut candidates: Vec<&String> = match &pool.strategy {
        Strategy::ClaimOnly => return wait("claim-only pool"),
        Strategy::Designated { rep: Some(rep), .. } => vec![rep],
        Strategy::Designated { team: Some(team), .. } => pool
            .members
            .iter()
            .filter(|m| reps.get(*m).is_some_and(|r| &r.team == team))
            .collect(),
        Strategy::Designated { .. } => return wait("designated pool names no rep or team"),
        Strategy::RoundRobin | Strategy::Weighted => pool.members.iter().collect(),
    };
    candidates.retain(|id| eligible(id));
    let top_first = matches!(pool.strategy, Strategy::Weighted)
        && lead_grade.is_some_and(|(grade, level)| grade == Grade::A && level <= 2);
    if top_first && candidates.iter().any(|id| reps[*id].tier == Tier::Top) {
        candidates.retain(|id| reps[*id].tier == Tier::Top);
    }
    if candidates.is_empty() {
        return wait("no eligible rep now");
    }
    let weighted = matches!(pool.strategy, Strategy::Weighted);
    let weight = |id: &str| {
        if weighted {
            f64::from(reps[id].weight.max(1))
        } else {
            1.0
        }
    };
    // Newcomers start level with the least-served present member: no burst.
    let floor = pool
        .members
        .iter()
        .filter_map(|m| state.assigned.get(m).map(|n| *n as f64 / weight(m)))
        .fold(f64::INFINITY, f64::min);
    let served = |id: &str| match state.assigned.get(id) {
        Some(n) => *n as f64,
        None if floor.is_finite() => floor * weight(id),
        None => 0.0,
    };
    // Rotation order starts after the last assignee, so ties rotate.
    let start = state
        .last_rep
        .as_ref()
        .and_then(|last| pool.members.iter().position(|m| m == last))
        .map_or(0, |i| i + 1);
    let order = |id: &str| {
        let i = pool.members.iter().position(|m| m == id).unwrap_or(0);
        (i + pool.members.len() - start % pool.members.len().max(1)) % pool.members.len().max(1)
    };
    let chosen = candidates
        .into_iter()
        .min_by(|a, b| {
            let da = (served(a) + 1.0) / weight(a);
            let db = (served(b) + 1.0) / weight(b);
            da.partial_cmp(&db)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(order(a).cmp(&order(b)))
        })
        .expect("candidates is not empty")
        .clone();

    let mut next = state.clone();
    let base = served(&chosen).round() as u64;
    next.assigned.insert(chosen.clone(), base + 1);
    for m in &pool.members {
        if !next.assigned.contains_key(m) {
            next.assigned.insert(m.clone(), served(m).round() as u64);
        }
    }
    next.assigned.retain(|m, _| pool.members.contains(m));
    next.last_rep = Some(chosen.clone());
    next.assigned_today += 1;
    (Decision::Assign { rep: chosen }, next)
}
