//! Routing decisions (docs/src/rules/assign.md#routing-rules), pure: which pool a lead belongs to, which rep in
//! that pool is eligible now, and whom the pool's strategy picks. [`crate::assign::auto`]
//! loads reps, their loads and the pool state, calls [`route`], and commits the choice
//! with conditional updates on the rep's counters.
//!
//! Round robin and weighted routing both work from per-member assignment counters kept
//! in the pool's state, not from a list index. A member who joins starts level with the
//! lowest counter, so adding or removing members never gives anyone a burst of leads.

use crate::assign::notify::Webhook;
use crate::lead::error::valid_id;
use crate::lead::error::FieldError;
use crate::lead::Lead;
use crate::{lead::profile::company_size_range, lead::qualification::Grade};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc, Weekday};
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
#[serde(deny_unknown_fields)]
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
    /// Where assignment notices for this rep go (else the pool's webhook, else none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
    #[serde(default = "yes")]
    pub active: bool,
}

impl Rep {
    pub fn holding_cap(&self) -> u32 {
        self.holding_cap.unwrap_or_else(|| self.tier.default_holding_cap())
    }

    /// Field errors an admin should see before the rep is saved.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !valid_id(&self.id) {
            errors.push(FieldError::new("id", ID_RULE));
        }
        if self.name.trim().is_empty() {
            errors.push(FieldError::new("name", "is required"));
        }
        if self.weight == 0 || self.weight > 1000 {
            errors.push(FieldError::new("weight", "must be 1-1000"));
        }
        if self.holding_cap.is_some_and(|c| c > 100_000) {
            errors.push(FieldError::new("holding_cap", "must be at most 100000"));
        }
        if let Some(hours) = &self.working_hours {
            if hours.days.is_empty() {
                errors.push(FieldError::new("working_hours.days", "must name at least one day"));
            }
            if hours.start == hours.end {
                errors.push(FieldError::new("working_hours.end", "must differ from start"));
            }
        }
        for (i, absence) in self.out_of_office.iter().enumerate() {
            if absence.until <= absence.from {
                errors.push(FieldError::new(
                    format!("out_of_office[{i}].until"),
                    "must be after from",
                ));
            }
        }
        if let Some(hook) = &self.webhook {
            errors.extend(hook.validate("webhook"));
        }
        errors
    }
}

const ID_RULE: &str = "must be 1-64 letters, digits, '-' or '_'";

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}

/// What a rep holds now (from the store's counters). `assigned_today` counts the
/// business day the caller asks about; a counter from an earlier day reads as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepLoad {
    pub active_leads: u32,
    pub assigned_today: u32,
}

/// A daily counter as stored: the day it counts and the count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyCount {
    pub day: Option<NaiveDate>,
    pub count: u32,
}

impl DailyCount {
    pub fn on(self, today: NaiveDate) -> u32 {
        if self.day == Some(today) {
            self.count
        } else {
            0
        }
    }
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
    if load.active_leads >= rep.holding_cap() {
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
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub id: String,
    pub name: String,
    pub strategy: Strategy,
    pub members: Vec<String>,
    /// Leads auto-assigned from this pool per business day.
    #[serde(default)]
    pub daily_cap: Option<u32>,
    /// Leads claimed from this pool per business day.
    #[serde(default)]
    pub daily_claim_cap: Option<u32>,
    /// Fallback for members without their own webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
}

impl Pool {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !valid_id(&self.id) {
            errors.push(FieldError::new("id", ID_RULE));
        }
        if self.name.trim().is_empty() {
            errors.push(FieldError::new("name", "is required"));
        }
        for (i, member) in self.members.iter().enumerate() {
            if !valid_id(member) {
                errors.push(FieldError::new(format!("members[{i}]"), ID_RULE));
            } else if self.members[..i].contains(member) {
                errors.push(FieldError::new(format!("members[{i}]"), "is listed twice"));
            }
        }
        match &self.strategy {
            Strategy::Designated { rep: None, team: None } => {
                errors.push(FieldError::new("strategy", "designated needs a rep or a team"))
            }
            Strategy::Designated { rep: Some(rep), .. } if !self.members.contains(rep) => {
                errors.push(FieldError::new("strategy.rep", "must be one of the pool's members"))
            }
            _ => {}
        }
        if let Some(hook) = &self.webhook {
            errors.extend(hook.validate("webhook"));
        }
        errors
    }
}

/// First matching rule wins; every condition given must hold, an empty one matches all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteRule {
    pub pool: String,
    pub provinces: Vec<String>,
    pub industries: Vec<String>,
    pub channels: Vec<String>,
    pub products: Vec<String>,
    pub grades: Vec<Grade>,
    pub cells: Vec<String>,
    pub min_company_size: Option<u32>,
    /// The predictive score's percent chance of converting, at least this (0–100).
    pub min_predicted: Option<i32>,
}

/// The first condition of a rule that a lead fails, in the order the rule checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleMiss {
    Province,
    Industry,
    Channel,
    Product,
    Grade,
    Cell,
    CompanySize,
    Predicted,
}

impl RouteRule {
    pub fn matches(&self, lead: &Lead, province: Option<&str>) -> bool {
        self.check(lead, province).is_ok()
    }

    /// [`RouteRule::matches`], saying which condition failed first.
    pub fn check(&self, lead: &Lead, province: Option<&str>) -> Result<(), RuleMiss> {
        let any = |list: &[String], value: Option<&str>| {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|item| v.contains(item.as_str())))
        };
        let require = |holds: bool, miss: RuleMiss| if holds { Ok(()) } else { Err(miss) };
        let score = lead.score.as_ref();
        require(any(&self.provinces, province), RuleMiss::Province)?;
        require(
            any(&self.industries, lead.profile.industry.as_deref()),
            RuleMiss::Industry,
        )?;
        require(
            any(&self.channels, Some(lead.source.channel.as_str())),
            RuleMiss::Channel,
        )?;
        require(any(&self.products, lead.profile.product.as_deref()), RuleMiss::Product)?;
        require(
            self.grades.is_empty() || score.is_some_and(|s| self.grades.contains(&s.grade)),
            RuleMiss::Grade,
        )?;
        require(
            self.cells.is_empty() || score.is_some_and(|s| self.cells.contains(&s.cell)),
            RuleMiss::Cell,
        )?;
        require(
            self.min_company_size
                .is_none_or(|min| company_size_from(lead).is_some_and(|lo| lo >= min)),
            RuleMiss::CompanySize,
        )?;
        require(
            self.min_predicted
                .is_none_or(|min| lead.prediction.as_ref().is_some_and(|p| p.points >= min)),
            RuleMiss::Predicted,
        )
    }
}

/// The smallest company size the lead's profile allows ("500-999" → 500).
fn company_size_from(lead: &Lead) -> Option<u32> {
    lead.profile
        .company_size
        .as_deref()
        .and_then(company_size_range)
        .map(|(lo, _)| lo)
}

impl RuleMiss {
    /// Why `rule` did not take `lead`, in words a manager reads ("province 江苏 matches
    /// none of 北京, 上海").
    pub fn text(self, rule: &RouteRule, lead: &Lead, province: Option<&str>) -> String {
        let none_of = |what: &str, value: Option<&str>, list: &[String]| match value {
            Some(v) => format!("{what} {v} matches none of {}", list.join(", ")),
            None => format!("the lead has no {what}; the rule asks for {}", list.join(", ")),
        };
        let score = lead.score.as_ref();
        match self {
            RuleMiss::Province => match province {
                Some(_) => none_of("province", province, &rule.provinces),
                None => format!(
                    "the lead's province is not known (none given, no company name starting with one, \
                     no fixed-line phone); the rule asks for {}",
                    rule.provinces.join(", ")
                ),
            },
            RuleMiss::Industry => none_of("industry", lead.profile.industry.as_deref(), &rule.industries),
            RuleMiss::Channel => none_of("channel", Some(lead.source.channel.as_str()), &rule.channels),
            RuleMiss::Product => none_of("product", lead.profile.product.as_deref(), &rule.products),
            RuleMiss::Grade => {
                let wanted: Vec<String> = rule.grades.iter().map(|g| format!("{g:?}")).collect();
                match score {
                    Some(s) => format!("grade {:?} is not one of {}", s.grade, wanted.join(", ")),
                    None => format!(
                        "the lead is not scored yet; the rule asks for grade {}",
                        wanted.join(", ")
                    ),
                }
            }
            RuleMiss::Cell => match score {
                Some(s) => format!("cell {} is not one of {}", s.cell, rule.cells.join(", ")),
                None => format!(
                    "the lead is not scored yet; the rule asks for cell {}",
                    rule.cells.join(", ")
                ),
            },
            RuleMiss::CompanySize => {
                let min = rule.min_company_size.unwrap_or_default();
                match (&lead.profile.company_size, company_size_from(lead)) {
                    (Some(size), Some(_)) => format!("company size {size} is under {min} people"),
                    (Some(size), None) => {
                        format!("company size {size} is not a number of people; the rule asks for {min}+")
                    }
                    (None, _) => format!("the lead gives no company size; the rule asks for {min}+ people"),
                }
            }
            RuleMiss::Predicted => {
                let min = rule.min_predicted.unwrap_or_default();
                match &lead.prediction {
                    Some(p) => format!("predicted chance {} % is under {min} %", p.points),
                    None => format!("the lead has no predicted chance yet; the rule asks for {min} %"),
                }
            }
        }
    }
}

/// Which pool a lead goes to: ordered rules, first match wins, else the default pool.
/// Pools themselves are stored one by one (admin CRUD).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// Optimistic concurrency, as for the scoring rules: a save names the version it read.
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub rules: Vec<RouteRule>,
    pub default_pool: String,
    /// The business day that daily caps count in.
    #[serde(default = "shanghai")]
    pub time_zone: Tz,
    /// What lowering a rep's holding cap below what they hold does to the extras.
    #[serde(default)]
    pub over_cap: OverCapPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

fn shanghai() -> Tz {
    chrono_tz::Asia::Shanghai
}

impl Default for RoutingConfig {
    /// Before anyone configures routing, every lead waits in the `general` pool.
    fn default() -> Self {
        Self {
            version: 0,
            rules: Vec::new(),
            default_pool: "general".into(),
            time_zone: shanghai(),
            over_cap: OverCapPolicy::default(),
            updated_at: None,
        }
    }
}

impl RoutingConfig {
    pub fn business_day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.time_zone).date_naive()
    }

    /// `known_pools`: the ids of the stored pools; a rule may not point elsewhere.
    pub fn validate(&self, known_pools: &[String]) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let known = |id: &str| known_pools.iter().any(|p| p == id);
        if !known(&self.default_pool) {
            errors.push(FieldError::new("default_pool", "is not a stored pool"));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if !known(&rule.pool) {
                errors.push(FieldError::new(format!("rules[{i}].pool"), "is not a stored pool"));
            }
            if rule.min_predicted.is_some_and(|p| !(0..=100).contains(&p)) {
                errors.push(FieldError::new(
                    format!("rules[{i}].min_predicted"),
                    "is a percent chance, 0 to 100",
                ));
            }
        }
        errors
    }
}

/// Fixed-line area codes of China (after +86) → province. Mobile numbers carry no
/// location in the number itself; that needs a carrier dataset this project lacks.
const AREA_CODES: &[(&str, &str)] = &[
    ("10", "北京"),
    ("21", "上海"),
    ("22", "天津"),
    ("23", "重庆"),
    ("20", "广东"),
    ("24", "辽宁"),
    ("25", "江苏"),
    ("27", "湖北"),
    ("28", "四川"),
    ("29", "陕西"),
    ("311", "河北"),
    ("351", "山西"),
    ("371", "河南"),
    ("411", "辽宁"),
    ("431", "吉林"),
    ("451", "黑龙江"),
    ("471", "内蒙古"),
    ("510", "江苏"),
    ("512", "江苏"),
    ("531", "山东"),
    ("532", "山东"),
    ("551", "安徽"),
    ("571", "浙江"),
    ("574", "浙江"),
    ("591", "福建"),
    ("592", "福建"),
    ("731", "湖南"),
    ("755", "广东"),
    ("757", "广东"),
    ("769", "广东"),
    ("771", "广西"),
    ("791", "江西"),
    ("851", "贵州"),
    ("871", "云南"),
    ("891", "西藏"),
    ("898", "海南"),
    ("931", "甘肃"),
    ("951", "宁夏"),
    ("971", "青海"),
    ("991", "新疆"),
];

/// City names that are not provinces, as the province they are in.
const CITY_PROVINCES: &[(&str, &str)] = &[
    ("深圳", "广东"),
    ("广州", "广东"),
    ("东莞", "广东"),
    ("佛山", "广东"),
    ("珠海", "广东"),
    ("杭州", "浙江"),
    ("宁波", "浙江"),
    ("南京", "江苏"),
    ("苏州", "江苏"),
    ("无锡", "江苏"),
    ("成都", "四川"),
    ("武汉", "湖北"),
    ("西安", "陕西"),
    ("长沙", "湖南"),
    ("郑州", "河南"),
    ("济南", "山东"),
    ("青岛", "山东"),
    ("大连", "辽宁"),
    ("沈阳", "辽宁"),
    ("厦门", "福建"),
    ("福州", "福建"),
    ("合肥", "安徽"),
    ("昆明", "云南"),
    ("南昌", "江西"),
    ("石家庄", "河北"),
    ("太原", "山西"),
    ("哈尔滨", "黑龙江"),
    ("长春", "吉林"),
    ("贵阳", "贵州"),
    ("南宁", "广西"),
    ("兰州", "甘肃"),
    ("海口", "海南"),
    ("乌鲁木齐", "新疆"),
    ("呼和浩特", "内蒙古"),
    ("银川", "宁夏"),
    ("西宁", "青海"),
    ("拉萨", "西藏"),
];

fn as_province(region: &str) -> String {
    CITY_PROVINCES
        .iter()
        .find(|(city, _)| *city == region)
        .map_or(region, |(_, province)| province)
        .to_string()
}

/// Where a lead's province was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvinceFrom {
    /// The lead said it.
    Profile,
    /// Its company name starts with it (or with one of its cities).
    Company,
    /// Its fixed-line phone's area code.
    Phone,
}

/// The province a lead is from: as given, else named at the start of its company name,
/// else the home of its fixed-line phone number.
pub fn province_of(lead: &Lead) -> Option<String> {
    province_with_source(lead).map(|(province, _)| province)
}

/// [`province_of`], with where it was read from.
pub fn province_with_source(lead: &Lead) -> Option<(String, ProvinceFrom)> {
    if let Some(p) = &lead.profile.province {
        return Some((p.clone(), ProvinceFrom::Profile));
    }
    let from_company = lead.company.as_ref().and_then(|company| {
        crate::qualify::company::REGIONS
            .iter()
            .filter(|r| **r != "中国")
            .find(|r| company.raw.starts_with(*r))
            .map(|r| (as_province(r), ProvinceFrom::Company))
    });
    from_company.or_else(|| {
        let national = lead.contact.phone.as_deref()?.strip_prefix("+86")?;
        AREA_CODES
            .iter()
            .find(|(code, _)| national.starts_with(code))
            .map(|(_, province)| (province.to_string(), ProvinceFrom::Phone))
    })
}

/// How one routing rule fared with a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleOutcome {
    /// It took the lead: the first rule whose conditions all hold.
    Matched,
    Missed(RuleMiss),
    /// Not checked: an earlier rule took the lead (first match wins).
    NotReached,
}

/// The pool a lead belongs to, and why: every rule in order with how it fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolChoice<'a> {
    pub pool: &'a str,
    /// The rule that matched (its index); `None`: the default pool.
    pub rule: Option<usize>,
    pub province: Option<(String, ProvinceFrom)>,
    /// One per rule of the config, in its order.
    pub rules: Vec<RuleOutcome>,
}

/// Which pool a lead goes to: ordered rules, first match wins, else the default pool.
/// What assignment uses (through [`choose_pool`]) and the preview shows.
pub fn explain_pool<'a>(lead: &Lead, config: &'a RoutingConfig) -> PoolChoice<'a> {
    let province = province_with_source(lead);
    let mut rules = Vec::with_capacity(config.rules.len());
    let mut chosen = None;
    for (i, rule) in config.rules.iter().enumerate() {
        if chosen.is_some() {
            rules.push(RuleOutcome::NotReached);
            continue;
        }
        match rule.check(lead, province.as_ref().map(|(p, _)| p.as_str())) {
            Ok(()) => {
                chosen = Some(i);
                rules.push(RuleOutcome::Matched);
            }
            Err(miss) => rules.push(RuleOutcome::Missed(miss)),
        }
    }
    PoolChoice {
        pool: chosen.map_or(config.default_pool.as_str(), |i| config.rules[i].pool.as_str()),
        rule: chosen,
        province,
        rules,
    }
}

/// The id of the pool the lead belongs to.
pub fn choose_pool<'a>(lead: &Lead, config: &'a RoutingConfig) -> &'a str {
    explain_pool(lead, config).pool
}

/// A pool's persistent routing state, with today's counters already read for the
/// business day (see [`DailyCount::on`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolState {
    /// Leads assigned per member since they joined (levelled on joining).
    pub assigned: BTreeMap<String, u64>,
    pub last_rep: Option<String>,
    pub assigned_today: u32,
    pub claimed_today: u32,
}

/// Why a lead waits in its pool instead of going to a rep now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// Routing names a pool that is not stored.
    PoolNotConfigured,
    ClaimOnly,
    PoolDailyCap,
    /// A designated pool names neither a rep nor a team.
    NoDesignee,
    /// Every member was skipped (each for the reason its [`RepCheck`] gives).
    EveryoneSkipped,
}

impl WaitReason {
    /// As assignment logs it when it parks a lead.
    pub fn text(self) -> &'static str {
        match self {
            WaitReason::PoolNotConfigured => "the pool is not configured",
            WaitReason::ClaimOnly => "claim-only pool",
            WaitReason::PoolDailyCap => "the pool's daily cap is reached",
            WaitReason::NoDesignee => "designated pool names no rep or team",
            WaitReason::EveryoneSkipped => "no eligible rep now",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Assign {
        rep: String,
    },
    /// The lead waits in the pool (claimable, offered again when someone is eligible).
    Wait {
        reason: WaitReason,
    },
}

/// Why a rep did not get the lead, in the order routing rules them out: the pool's own
/// stops first, then who the strategy names, then the rep's eligibility, then the tier,
/// then the rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// A member id that no stored rep has.
    NoSuchRep,
    ClaimOnly,
    PoolDailyCap,
    NoDesignee,
    /// A designated pool names another rep.
    NotDesignated,
    /// A designated pool names a team this rep is not in.
    NotInTeam,
    /// The lead's previous owner (it was recycled or returned from them).
    PreviousOwner,
    Inactive,
    OffShift,
    OutOfOffice,
    HoldingCap,
    DailyCap,
    /// Weighted pool, A1/A2 lead, and a top-tier member is eligible.
    Tier,
    /// Eligible, but the rotation puts another member first.
    Rotation,
}

impl From<Ineligible> for Skip {
    fn from(reason: Ineligible) -> Self {
        match reason {
            Ineligible::Inactive => Skip::Inactive,
            Ineligible::OffShift => Skip::OffShift,
            Ineligible::OutOfOffice => Skip::OutOfOffice,
            Ineligible::HoldingCap => Skip::HoldingCap,
            Ineligible::DailyCap => Skip::DailyCap,
        }
    }
}

/// One rep as routing saw them: chosen (`skip: None`) or why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepCheck<'a> {
    pub id: &'a str,
    pub skip: Option<Skip>,
}

/// A routing decision with its explanation: what happens, the pool state after it, and
/// every member (and a designated rep outside the members) with why they were or were
/// not chosen, in the pool's member order.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed<'a> {
    pub decision: Decision,
    pub next: PoolState,
    pub checks: Vec<RepCheck<'a>>,
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
    route_excluding(pool, reps, loads, state, lead_grade, at, &[])
}

/// [`route`], skipping `exclude` (a recycled lead's previous owner).
pub fn route_excluding(
    pool: &Pool,
    reps: &BTreeMap<String, Rep>,
    loads: &BTreeMap<String, RepLoad>,
    state: &PoolState,
    lead_grade: Option<(Grade, u8)>,
    at: DateTime<Utc>,
    exclude: &[String],
) -> (Decision, PoolState) {
    let routed = route_explained(pool, reps, loads, state, lead_grade, at, exclude);
    (routed.decision, routed.next)
}

/// The routing decision, explained (see [`Routed`]). [`route`] and assignment use its
/// decision; the routing preview shows the rest. `reps` may hold reps outside the pool:
/// only members (and a designated rep) are looked at.
pub fn route_explained<'a>(
    pool: &'a Pool,
    reps: &'a BTreeMap<String, Rep>,
    loads: &BTreeMap<String, RepLoad>,
    state: &PoolState,
    lead_grade: Option<(Grade, u8)>,
    at: DateTime<Utc>,
    exclude: &[String],
) -> Routed<'a> {
    // Every member starts as skipped for a reason set below; exactly one may end chosen.
    let mut checks: Vec<RepCheck<'a>> = pool
        .members
        .iter()
        .map(|m| RepCheck {
            id: m.as_str(),
            skip: Some(Skip::NotDesignated),
        })
        .collect();
    let wait = |mut checks: Vec<RepCheck<'a>>, reason: WaitReason, skip: Option<Skip>| {
        if let Some(skip) = skip {
            checks.iter_mut().for_each(|c| c.skip = Some(skip));
        }
        Routed {
            decision: Decision::Wait { reason },
            next: state.clone(),
            checks,
        }
    };
    if pool.daily_cap.is_some_and(|cap| state.assigned_today >= cap) {
        return wait(checks, WaitReason::PoolDailyCap, Some(Skip::PoolDailyCap));
    }
    // The members the strategy names, as indexes into `checks` (a designated rep outside
    // the members is added to `checks` with no place in the member list).
    let named: Vec<usize> = match &pool.strategy {
        Strategy::ClaimOnly => return wait(checks, WaitReason::ClaimOnly, Some(Skip::ClaimOnly)),
        Strategy::Designated { rep: Some(rep), .. } => match pool.members.iter().position(|m| m == rep) {
            Some(i) => vec![i],
            None => {
                checks.push(RepCheck {
                    id: rep.as_str(),
                    skip: None,
                });
                vec![checks.len() - 1]
            }
        },
        Strategy::Designated { team: Some(team), .. } => {
            let mut named = Vec::new();
            for (i, m) in pool.members.iter().enumerate() {
                match reps.get(m) {
                    Some(r) if &r.team == team => named.push(i),
                    Some(_) => checks[i].skip = Some(Skip::NotInTeam),
                    None => checks[i].skip = Some(Skip::NoSuchRep),
                }
            }
            named
        }
        Strategy::Designated { .. } => return wait(checks, WaitReason::NoDesignee, Some(Skip::NoDesignee)),
        Strategy::RoundRobin | Strategy::Weighted => (0..pool.members.len()).collect(),
    };
    // Each candidate's rep is looked up once: pools can have dozens of members, and the
    // maps are keyed by rep id.
    struct Candidate<'a> {
        /// Index into `checks`.
        check: usize,
        id: &'a str,
        rep: &'a Rep,
        /// Place in the pool's member list (a designated rep may be outside it).
        position: Option<usize>,
    }
    let mut candidates: Vec<Candidate<'a>> = Vec::with_capacity(named.len());
    for i in named {
        let id = checks[i].id;
        let skip = if exclude.iter().any(|e| e == id) {
            Some(Skip::PreviousOwner)
        } else {
            match reps.get_key_value(id) {
                None => Some(Skip::NoSuchRep),
                Some((key, rep)) => {
                    let load = loads.get(id).copied().unwrap_or_default();
                    match eligibility(rep, load, at) {
                        Err(reason) => Some(reason.into()),
                        Ok(()) => {
                            candidates.push(Candidate {
                                check: i,
                                id: key.as_str(),
                                rep,
                                position: (i < pool.members.len()).then_some(i),
                            });
                            None
                        }
                    }
                }
            }
        };
        checks[i].skip = skip;
    }
    let top_first = matches!(pool.strategy, Strategy::Weighted)
        && lead_grade.is_some_and(|(grade, level)| grade == Grade::A && level <= 2);
    if top_first && candidates.iter().any(|c| c.rep.tier == Tier::Top) {
        for c in candidates.iter().filter(|c| c.rep.tier != Tier::Top) {
            checks[c.check].skip = Some(Skip::Tier);
        }
        candidates.retain(|c| c.rep.tier == Tier::Top);
    }
    if candidates.is_empty() {
        return wait(checks, WaitReason::EveryoneSkipped, None);
    }
    let weighted = matches!(pool.strategy, Strategy::Weighted);
    let weight = |rep: Option<&Rep>| {
        if weighted {
            f64::from(rep.map_or(1, |r| r.weight.max(1)))
        } else {
            1.0
        }
    };
    // Newcomers start level with the least-served present member: no burst.
    let floor = pool
        .members
        .iter()
        .filter_map(|m| state.assigned.get(m).map(|n| *n as f64 / weight(reps.get(m))))
        .fold(f64::INFINITY, f64::min);
    let served = |id: &str, rep: Option<&Rep>| match state.assigned.get(id) {
        Some(n) => *n as f64,
        None if floor.is_finite() => floor * weight(rep),
        None => 0.0,
    };
    // Rotation order starts after the last assignee, so ties rotate.
    let size = pool.members.len().max(1);
    let start = state
        .last_rep
        .as_deref()
        .and_then(|last| pool.members.iter().position(|m| m == last))
        .map_or(0, |i| i + 1);
    let rank = |position: Option<usize>| (position.unwrap_or(0) + size - start % size) % size;
    let chosen = candidates
        .iter()
        .map(|c| {
            let load = (served(c.id, Some(c.rep)) + 1.0) / weight(Some(c.rep));
            (load, rank(c.position), c)
        })
        .min_by(|a, b| {
            a.0.partial_cmp(&b.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.1.cmp(&b.1))
        })
        .map(|(_, _, c)| c)
        .expect("candidates is not empty");
    for c in &candidates {
        checks[c.check].skip = (c.check != chosen.check).then_some(Skip::Rotation);
    }

    // The next state counts every member (newcomers at their starting level) and only
    // members.
    let assigned = pool
        .members
        .iter()
        .map(|m| {
            let count = served(m, reps.get(m)).round() as u64;
            let count = if m == chosen.id { count + 1 } else { count };
            (m.clone(), count)
        })
        .collect();
    let next = PoolState {
        assigned,
        last_rep: Some(chosen.id.to_string()),
        assigned_today: state.assigned_today + 1,
        claimed_today: state.claimed_today,
    };
    Routed {
        decision: Decision::Assign {
            rep: chosen.id.to_string(),
        },
        next,
        checks,
    }
}

impl Pool {
    /// Each member that is no known rep, as a field error (`members[i]`).
    pub fn unknown_members(&self, known: &[String]) -> Vec<FieldError> {
        self.members
            .iter()
            .enumerate()
            .filter(|(_, member)| !known.contains(member))
            .map(|(i, _)| FieldError::new(format!("members[{i}]"), "no rep has this id"))
            .collect()
    }
}

impl RoutingConfig {
    /// Whether the routing sends leads to `pool` (as its default or from a rule): such a
    /// pool cannot be deleted.
    pub fn uses_pool(&self, pool: &str) -> bool {
        self.default_pool == pool || self.rules.iter().any(|r| r.pool == pool)
    }
}

/// When an admin lowers a rep's holding cap below the leads they hold: keep them all
/// (the rep shows as over the cap and gets no new lead until under it), or recycle the
/// extras to their pools, newest or oldest first by creation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverCapPolicy {
    #[default]
    Never,
    NewestFirst,
    OldestFirst,
}

impl crate::lead::versioned::Versioned for RoutingConfig {
    fn version(&self) -> u64 {
        self.version
    }
    fn stamp(&mut self, version: u64, at: chrono::DateTime<chrono::Utc>) {
        self.version = version;
        self.updated_at = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::qualification::LeadPrediction;
    use crate::lead::LeadId;
    use crate::{lead::qualification::Arm, lead::qualification::Level};

    #[test]
    fn a_rule_can_ask_for_a_predicted_chance() {
        let now: DateTime<Utc> = "2026-11-23T08:00:00Z".parse().unwrap();
        let rule = RouteRule {
            pool: "hot".into(),
            min_predicted: Some(30),
            ..RouteRule::default()
        };
        let mut lead = Lead::new(LeadId::generate(now), "web_form", now);
        assert!(!rule.matches(&lead, None), "no prediction yet: no match");
        let predicted = |points| LeadPrediction {
            probability: f64::from(points) / 100.0,
            points,
            model_version: 1,
            arm: Arm::Champion,
            confidence: Level::Medium,
            reasons: Vec::new(),
        };
        lead.prediction = Some(predicted(29));
        assert!(!rule.matches(&lead, None));
        lead.prediction = Some(predicted(30));
        assert!(rule.matches(&lead, None));

        let config = RoutingConfig {
            rules: vec![RouteRule {
                min_predicted: Some(130),
                ..rule
            }],
            ..RoutingConfig::default()
        };
        let errors = config.validate(&["hot".into(), "general".into()]);
        assert_eq!(errors[0].field, "rules[0].min_predicted");
    }
}
