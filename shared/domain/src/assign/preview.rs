//! The routing preview (docs/src/sales-managers.md#routing-preview): where a lead would
//! go now and why — the pool and the rule that chose it, every rule in order with why it
//! did or did not match, and every rep with why they would or would not get it ("why not
//! to Zhang?").
//!
//! Why here and not in the API: the preview must never drift from what assignment does.
//! It reads through the same steps as [`assign_lead`] ([`gate`], [`preset_owner`],
//! [`explain_pool`], [`read_pool`], [`PoolReading::route`]) and reports the decision those
//! steps make, explanation included; nothing here decides on its own. It only reads:
//! strategy state (rotation counters, today's counts) is shown, never advanced.
//!
//! A lead is previewed either as stored, or as described by the fields routing reads
//! ([`DescribedLead`]): a described lead is scored and predicted first with the rules and
//! model in service, as qualification would score it, since rules can match on the grade,
//! the cell and the predicted chance.
//!
//! [`assign_lead`]: crate::assign::auto::assign_lead

use crate::assign::auto::{gate, preset_how, preset_owner, read_pool, routed_how, Gate, PoolReading};
use crate::assign::ports::{RepCounters, RoutingStore};
use crate::capture::submission::{channel_slug, SubmissionRules, CHANNEL_RULE};
use crate::lead::error::FieldError;
use crate::lead::events::EventKind;
use crate::lead::ports::{LeadStore, StoreError};
use crate::lead::qualification::Score;
use crate::lead::{normalize, Company, Lead, LeadId, OwnerChangeHow, Stage};
use crate::predict::modeling::models_in_service;
use crate::predict::ports::ModelStore;
use crate::qualify::company::core_name;
use crate::qualify::pipeline::{engagement_event, rescore};
use crate::qualify::ports::RulesStore;
use crate::{
    assign::routing::explain_pool, assign::routing::Decision, assign::routing::PoolChoice,
    assign::routing::ProvinceFrom, assign::routing::Rep, assign::routing::RepLoad, assign::routing::RoutingConfig,
    assign::routing::RuleMiss, assign::routing::RuleOutcome, assign::routing::Skip, assign::routing::Strategy,
    assign::routing::Tier, assign::routing::WaitReason,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// What to preview: a stored lead as it is now, or a described one.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    Stored(LeadId),
    Described(Box<DescribedLead>),
}

/// A lead described by exactly the fields routing reads, directly (rules match on the
/// province, industry, channel, product and company size) or through the score and the
/// predicted chance (the title, the campaign and engagement events count there). Named
/// as on an intake submission.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribedLead {
    /// Default `web_form`, as intake's.
    pub channel: Option<String>,
    pub province: Option<String>,
    /// The province is read from its start when none is given ("深圳…" → 广东).
    pub company: Option<String>,
    /// A fixed-line number's area code gives the province when nothing else does.
    pub phone: Option<String>,
    pub industry: Option<String>,
    pub company_size: Option<String>,
    pub product: Option<String>,
    pub title: Option<String>,
    pub campaign_id: Option<String>,
    pub utm_campaign: Option<String>,
    /// Engagement events, each as if it happened at the preview's time.
    pub events: Vec<EventKind>,
}

/// The text fields of [`DescribedLead`], as a body names them.
const TEXT_FIELDS: [&str; 10] = [
    "channel",
    "province",
    "company",
    "phone",
    "industry",
    "company_size",
    "product",
    "title",
    "campaign_id",
    "utm_campaign",
];
const MAX_TEXT: usize = 200;
const MAX_EVENTS: usize = 100;

impl DescribedLead {
    /// Every field a described lead may have.
    pub fn fields() -> Vec<&'static str> {
        let mut fields = TEXT_FIELDS.to_vec();
        fields.push("events");
        fields
    }

    /// Reads a JSON object, naming each bad field as `{prefix}.{field}`: unknown fields
    /// (routing does not read them), non-text values, over-long text, a malformed phone or
    /// channel, unknown event kinds.
    pub fn from_json(value: &Value, prefix: &str) -> Result<Self, Vec<FieldError>> {
        let name = |field: &str| format!("{prefix}.{field}");
        let Some(object) = value.as_object() else {
            return Err(vec![FieldError::new(prefix, "must be an object")]);
        };
        let mut errors = Vec::new();
        let mut lead = DescribedLead::default();
        for (key, value) in object {
            if key == "events" {
                lead.events = events_from(value, &name("events"), &mut errors);
                continue;
            }
            if !TEXT_FIELDS.contains(&key.as_str()) {
                let hint = if key == "city" {
                    "routing does not read it; give `province` (a city at the start of `company` counts)"
                } else {
                    "routing does not read it"
                };
                errors.push(FieldError::new(
                    name(key),
                    format!("{hint}; a described lead has {}", Self::fields().join(", ")),
                ));
                continue;
            }
            let text = match value {
                Value::Null => None,
                Value::String(s) if s.chars().count() > MAX_TEXT => {
                    errors.push(FieldError::new(
                        name(key),
                        format!("must be at most {MAX_TEXT} characters"),
                    ));
                    continue;
                }
                Value::String(s) => normalize::text(s),
                _ => {
                    errors.push(FieldError::new(name(key), "must be a string"));
                    continue;
                }
            };
            let text = match (key.as_str(), text) {
                (_, None) => None,
                ("channel", Some(c)) => match channel_slug(&c) {
                    Some(slug) => Some(slug),
                    None => {
                        errors.push(FieldError::new(name(key), CHANNEL_RULE));
                        continue;
                    }
                },
                ("phone", Some(p)) => match normalize::phone_e164(&p, SubmissionRules::default().default_region) {
                    Ok(e164) => Some(e164),
                    Err(e) => {
                        errors.push(FieldError::new(name(key), e));
                        continue;
                    }
                },
                (_, text) => text,
            };
            let slot = match key.as_str() {
                "channel" => &mut lead.channel,
                "province" => &mut lead.province,
                "company" => &mut lead.company,
                "phone" => &mut lead.phone,
                "industry" => &mut lead.industry,
                "company_size" => &mut lead.company_size,
                "product" => &mut lead.product,
                "title" => &mut lead.title,
                "campaign_id" => &mut lead.campaign_id,
                _ => &mut lead.utm_campaign,
            };
            *slot = text;
        }
        if errors.is_empty() {
            Ok(lead)
        } else {
            Err(errors)
        }
    }

    /// The lead as qualification would leave it at `now`: `aql`, scored by `rules`, its
    /// predicted chance from `models` (an MQL if its score makes it one).
    pub fn to_lead(
        &self,
        rules: &crate::qualify::rules::Rules,
        models: &crate::predict::ModelPair,
        now: DateTime<Utc>,
    ) -> Lead {
        let channel = self
            .channel
            .clone()
            .unwrap_or_else(|| SubmissionRules::default().default_channel);
        let mut lead = Lead::new(LeadId::generate(now), channel, now);
        lead.set_stage(Stage::Aql, now);
        lead.profile.province = self.province.clone();
        lead.profile.industry = self.industry.clone();
        lead.profile.company_size = self.company_size.clone();
        lead.profile.product = self.product.clone();
        lead.profile.title = self.title.clone();
        lead.company = self.company.as_ref().map(|raw| Company {
            core: core_name(raw),
            raw: raw.clone(),
        });
        lead.contact.phone = self.phone.clone();
        lead.source.campaign_id = self.campaign_id.clone();
        lead.source.utm.campaign = self.utm_campaign.clone();
        lead.events = self
            .events
            .iter()
            .enumerate()
            .map(|(i, kind)| engagement_event(format!("preview-{i}"), *kind, now, rules))
            .collect();
        lead.last_activity_at = Some(now);
        rescore(&mut lead, rules, models, now);
        lead
    }
}

fn events_from(value: &Value, field: &str, errors: &mut Vec<FieldError>) -> Vec<EventKind> {
    let Some(items) = value.as_array() else {
        if !value.is_null() {
            errors.push(FieldError::new(field, "must be a list of event kinds"));
        }
        return Vec::new();
    };
    if items.len() > MAX_EVENTS {
        errors.push(FieldError::new(field, format!("must list at most {MAX_EVENTS} events")));
        return Vec::new();
    }
    let mut kinds = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str().and_then(|s| s.parse::<EventKind>().ok()) {
            Some(kind) => kinds.push(kind),
            None => {
                let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                errors.push(FieldError::new(
                    format!("{field}[{i}]"),
                    format!("must be one of {}", known.join(", ")),
                ));
            }
        }
    }
    kinds
}

/// A reason: a code from a closed list, and the same in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason<C> {
    pub code: C,
    pub text: String,
}

/// Why a rule did not take the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleReason {
    Province,
    Industry,
    Channel,
    Product,
    Grade,
    Cell,
    CompanySize,
    Predicted,
    /// An earlier rule matched: first match wins, this one was not checked.
    NotReached,
}

impl From<RuleMiss> for RuleReason {
    fn from(miss: RuleMiss) -> Self {
        match miss {
            RuleMiss::Province => RuleReason::Province,
            RuleMiss::Industry => RuleReason::Industry,
            RuleMiss::Channel => RuleReason::Channel,
            RuleMiss::Product => RuleReason::Product,
            RuleMiss::Grade => RuleReason::Grade,
            RuleMiss::Cell => RuleReason::Cell,
            RuleMiss::CompanySize => RuleReason::CompanySize,
            RuleMiss::Predicted => RuleReason::Predicted,
        }
    }
}

/// Why the lead would go to no rep now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoRep {
    /// Its stage is not routed (received, invalid, converted, nurture, merged).
    NotRoutable,
    AlreadyOwned,
    PoolNotConfigured,
    ClaimOnly,
    PoolDailyCap,
    NoDesignee,
    EveryoneSkipped,
}

impl From<WaitReason> for NoRep {
    fn from(reason: WaitReason) -> Self {
        match reason {
            WaitReason::PoolNotConfigured => NoRep::PoolNotConfigured,
            WaitReason::ClaimOnly => NoRep::ClaimOnly,
            WaitReason::PoolDailyCap => NoRep::PoolDailyCap,
            WaitReason::NoDesignee => NoRep::NoDesignee,
            WaitReason::EveryoneSkipped => NoRep::EveryoneSkipped,
        }
    }
}

/// Why a rep would not get the lead: routing's own [`Skip`], or a reason the preview
/// adds (the rep is not in the pool routing chose, or the lead is not routed at all).
/// Both read as one snake_case code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RepReason {
    Routing(Skip),
    Preview(Outside),
}

/// The reasons a preview adds to routing's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outside {
    /// Not in the pool routing chose (routing looks at its members only).
    NotAMember,
    /// The lead is not routed at all (its stage).
    NotRoutable,
    /// The lead has an owner already.
    AlreadyOwned,
    /// The lead keeps the owner a customer match or an import preset.
    PresetOwner,
}

impl From<Skip> for RepReason {
    fn from(skip: Skip) -> Self {
        RepReason::Routing(skip)
    }
}

impl From<Outside> for RepReason {
    fn from(reason: Outside) -> Self {
        RepReason::Preview(reason)
    }
}

/// What routing reads of the lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadFacts {
    /// `None` for a described lead.
    pub id: Option<LeadId>,
    pub stage: Stage,
    pub channel: String,
    pub province: Option<String>,
    pub province_from: Option<ProvinceFrom>,
    pub score: Option<Score>,
    /// The predicted chance of converting, in percent.
    pub predicted: Option<i32>,
    pub owner: Option<String>,
    /// Skipped when the lead is routed again.
    pub previous_owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolFacts {
    pub id: String,
    /// The rule that chose it (its index in the routing rules); `None`: the default pool.
    pub rule: Option<usize>,
    pub text: String,
    /// Whether the pool is stored (routing may name one that is not).
    pub stored: bool,
    pub strategy: Option<&'static str>,
    pub daily_cap: Option<u32>,
    pub assigned_today: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleRow {
    pub rule: usize,
    pub pool: String,
    pub matched: bool,
    pub reason: Option<Reason<RuleReason>>,
}

/// One rep, and what routing made of them. A member id with no rep behind it has only
/// `id`, `member`, `eligible: false` and its reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepRow {
    pub id: String,
    pub name: Option<String>,
    pub member: bool,
    pub tier: Option<Tier>,
    pub weight: Option<u32>,
    pub active: Option<bool>,
    /// Could take a lead now on their own account: active, on shift, not out of office,
    /// under both caps.
    pub eligible: bool,
    pub chosen: bool,
    pub skipped: Option<Reason<RepReason>>,
    pub holding: Option<u32>,
    pub holding_cap: Option<u32>,
    pub assigned_today: Option<u32>,
    pub daily_cap: Option<u32>,
    pub on_shift: Option<bool>,
    pub out_of_office: Option<bool>,
    /// Leads the pool's rotation has counted for them (absent: not counted yet; they
    /// start level with the least-served member).
    pub served: Option<u64>,
}

/// The preview: the pool, every rule, the rep the lead would go to now (or why none),
/// and every rep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    pub at: DateTime<Utc>,
    pub lead: LeadFacts,
    pub pool: PoolFacts,
    pub rules: Vec<RuleRow>,
    pub rep: Option<String>,
    /// How the rep would get it (`auto_assigned`, `recycled`, or for a preset owner
    /// `created` / `imported`).
    pub how: Option<OwnerChangeHow>,
    pub no_rep: Option<Reason<NoRep>>,
    pub reps: Vec<RepRow>,
}

/// What every preview needs to read.
pub trait PreviewStore: LeadStore + RoutingStore + RulesStore + ModelStore {}
impl<T: LeadStore + RoutingStore + RulesStore + ModelStore> PreviewStore for T {}

/// Previews `subject` at `now`; `None` when a stored lead does not exist. Only reads.
pub async fn preview<S: PreviewStore>(
    store: &S,
    subject: &Subject,
    now: DateTime<Utc>,
) -> Result<Option<Preview>, StoreError> {
    let lead = match subject {
        Subject::Stored(id) => match store.get_lead(id).await? {
            Some(lead) => lead,
            None => return Ok(None),
        },
        Subject::Described(described) => {
            let rules = store.rules().await?;
            let mut models = models_in_service(store).await?;
            // A described lead has no id of its own to draw an arm from: the champion
            // predicts, so the same description always previews alike.
            models.challenger = None;
            described.to_lead(&rules, &models, now)
        }
    };
    // The steps of assignment, in its order, all read and none committed.
    let gate = gate(&lead);
    let config = store.routing().await?;
    let day = config.business_day(now);
    let preset = match gate {
        Gate::Open => preset_owner(store, &lead).await?,
        _ => None,
    };
    let choice = explain_pool(&lead, &config);
    let reading = read_pool(store, choice.pool, day).await?;
    let everyone = store.all_reps().await?;
    Ok(Some(explain(&Read {
        lead: &lead,
        stored: matches!(subject, Subject::Stored(_)),
        config: &config,
        choice: &choice,
        gate,
        preset: preset.as_ref(),
        reading: reading.as_ref(),
        everyone: &everyone,
        day,
        now,
    })))
}

/// What a preview read, in assignment's order.
struct Read<'a> {
    lead: &'a Lead,
    /// Previewed as stored (else described).
    stored: bool,
    config: &'a RoutingConfig,
    choice: &'a PoolChoice<'a>,
    gate: Gate,
    preset: Option<&'a Rep>,
    reading: Option<&'a PoolReading>,
    everyone: &'a [(Rep, RepCounters)],
    day: NaiveDate,
    now: DateTime<Utc>,
}

/// Puts what assignment would decide into words (pure).
fn explain(read: &Read<'_>) -> Preview {
    let Read {
        lead,
        stored,
        config,
        choice,
        gate,
        preset,
        reading,
        everyone,
        day,
        now,
    } = *read;
    let province = choice.province.as_ref().map(|(p, _)| p.as_str());
    let rules = config
        .rules
        .iter()
        .zip(&choice.rules)
        .enumerate()
        .map(|(i, (rule, outcome))| RuleRow {
            rule: i,
            pool: rule.pool.clone(),
            matched: *outcome == RuleOutcome::Matched,
            reason: match outcome {
                RuleOutcome::Matched => None,
                RuleOutcome::Missed(miss) => Some(Reason {
                    code: (*miss).into(),
                    text: miss.text(rule, lead, province),
                }),
                RuleOutcome::NotReached => Some(Reason {
                    code: RuleReason::NotReached,
                    text: format!("not checked: rule {} matched first", choice.rule.unwrap_or_default()),
                }),
            },
        })
        .collect();
    let pool_id = choice.pool.to_string();
    let pool = PoolFacts {
        id: pool_id.clone(),
        rule: choice.rule,
        text: match choice.rule {
            Some(i) => format!("rule {i} matched"),
            None => "no rule matched → default pool".to_string(),
        },
        stored: reading.is_some(),
        strategy: reading.map(|r| strategy_name(&r.pool.strategy)),
        daily_cap: reading.and_then(|r| r.pool.daily_cap),
        assigned_today: reading.map(|r| r.state.assigned_today),
    };

    // The decision, as assignment would take it.
    let routed = reading.map(|r| r.route(lead, now));
    let (rep, how, no_rep) = match (gate, preset, reading, &routed) {
        (Gate::NotRoutable(stage), ..) => (
            None,
            None,
            Some(Reason {
                code: NoRep::NotRoutable,
                text: format!(
                    "the lead is {}: assignment routes only aql, mql, sql and recycled leads",
                    stage.as_str()
                ),
            }),
        ),
        (Gate::AlreadyOwned, ..) => (
            None,
            None,
            Some(Reason {
                code: NoRep::AlreadyOwned,
                text: format!(
                    "the lead is owned by {}; assignment leaves it",
                    lead.owner.as_deref().unwrap_or_default()
                ),
            }),
        ),
        (Gate::Open, Some(owner), ..) => (Some(owner.id.clone()), Some(preset_how(lead, &owner.id).0), None),
        (Gate::Open, None, Some(reading), Some(routed)) => match &routed.decision {
            Decision::Assign { rep } => (Some(rep.clone()), Some(routed_how(lead)), None),
            Decision::Wait { reason } => (
                None,
                None,
                Some(Reason {
                    code: (*reason).into(),
                    text: wait_text(*reason, reading),
                }),
            ),
        },
        (Gate::Open, None, ..) => (
            None,
            None,
            Some(Reason {
                code: NoRep::PoolNotConfigured,
                text: format!("routing names pool {pool_id}, which is not configured: the lead waits there"),
            }),
        ),
    };

    // Every rep: the pool's as routing checked them, then everyone else.
    let loads: BTreeMap<&str, RepLoad> = everyone
        .iter()
        .map(|(r, counters)| (r.id.as_str(), crate::assign::auto::load_of(*counters, day)))
        .collect();
    let profiles: BTreeMap<&str, &Rep> = everyone.iter().map(|(r, _)| (r.id.as_str(), r)).collect();
    let lead_level = |id: &str| -> Option<Reason<RepReason>> {
        match (gate, preset) {
            (Gate::NotRoutable(stage), _) => Some(Reason {
                code: Outside::NotRoutable.into(),
                text: format!("the lead is {}: it is not routed", stage.as_str()),
            }),
            (Gate::AlreadyOwned, _) => Some(Reason {
                code: Outside::AlreadyOwned.into(),
                text: format!("the lead is owned by {}", lead.owner.as_deref().unwrap_or_default()),
            }),
            (Gate::Open, Some(owner)) if owner.id != id => Some(Reason {
                code: Outside::PresetOwner.into(),
                text: format!(
                    "the lead keeps the owner its customer match or import gave it: {}",
                    owner.id
                ),
            }),
            _ => None,
        }
    };
    let stopped_before_routing = gate != Gate::Open || preset.is_some();
    let mut rows = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    if let (Some(reading), Some(routed)) = (reading, &routed) {
        let chosen = match &routed.decision {
            Decision::Assign { rep } => Some(rep.as_str()),
            Decision::Wait { .. } => None,
        };
        for check in &routed.checks {
            seen.push(check.id);
            let rep = reading.reps.get(check.id).or_else(|| profiles.get(check.id).copied());
            let load = reading
                .loads
                .get(check.id)
                .copied()
                .or_else(|| loads.get(check.id).copied())
                .unwrap_or_default();
            let skipped = if stopped_before_routing {
                lead_level(check.id)
            } else {
                check.skip.map(|skip| Reason {
                    code: skip.into(),
                    text: skip_text(skip, check.id, rep, load, reading, chosen, now),
                })
            };
            let member = reading.pool.members.iter().any(|m| m == check.id);
            rows.push(row(
                check.id,
                rep,
                load,
                member,
                skipped,
                reading.state.assigned.get(check.id).copied(),
                now,
            ));
        }
    }
    for (rep, _) in everyone.iter().filter(|(r, _)| !seen.contains(&r.id.as_str())) {
        let load = loads.get(rep.id.as_str()).copied().unwrap_or_default();
        let skipped = match lead_level(&rep.id) {
            Some(reason) => Some(reason),
            None if stopped_before_routing => None,
            None => Some(Reason {
                code: Outside::NotAMember.into(),
                text: format!("not a member of pool {pool_id}"),
            }),
        };
        rows.push(row(&rep.id, Some(rep), load, false, skipped, None, now));
    }
    Preview {
        at: now,
        lead: LeadFacts {
            // A described lead's id was made up for scoring: not shown.
            id: stored.then(|| lead.id.clone()),
            stage: lead.stage,
            channel: lead.source.channel.clone(),
            province: choice.province.as_ref().map(|(p, _)| p.clone()),
            province_from: choice.province.as_ref().map(|(_, from)| *from),
            score: lead.score.clone(),
            predicted: lead.prediction.as_ref().map(|p| p.points),
            owner: lead.owner.clone(),
            previous_owner: lead.previous_owner.clone(),
        },
        pool,
        rules,
        rep,
        how,
        no_rep,
        reps: rows,
    }
}

fn strategy_name(strategy: &Strategy) -> &'static str {
    match strategy {
        Strategy::Designated { .. } => "designated",
        Strategy::RoundRobin => "round_robin",
        Strategy::Weighted => "weighted",
        Strategy::ClaimOnly => "claim_only",
    }
}

fn row(
    id: &str,
    rep: Option<&Rep>,
    load: RepLoad,
    member: bool,
    skipped: Option<Reason<RepReason>>,
    served: Option<u64>,
    now: DateTime<Utc>,
) -> RepRow {
    let Some(rep) = rep else {
        return RepRow {
            id: id.to_string(),
            name: None,
            member,
            tier: None,
            weight: None,
            active: None,
            eligible: false,
            chosen: false,
            skipped,
            holding: None,
            holding_cap: None,
            assigned_today: None,
            daily_cap: None,
            on_shift: None,
            out_of_office: None,
            served,
        };
    };
    RepRow {
        id: id.to_string(),
        name: Some(rep.name.clone()),
        member,
        tier: Some(rep.tier),
        weight: Some(rep.weight),
        active: Some(rep.active),
        eligible: crate::assign::routing::eligibility(rep, load, now).is_ok(),
        chosen: skipped.is_none(),
        skipped,
        holding: Some(load.active_leads),
        holding_cap: Some(rep.holding_cap()),
        assigned_today: Some(load.assigned_today),
        daily_cap: rep.daily_cap,
        on_shift: Some(rep.working_hours.as_ref().is_none_or(|h| h.is_open(now))),
        out_of_office: Some(absence_at(rep, now).is_some()),
        served,
    }
}

fn absence_at(rep: &Rep, at: DateTime<Utc>) -> Option<&crate::assign::routing::Absence> {
    rep.out_of_office.iter().find(|a| a.from <= at && at < a.until)
}

fn wait_text(reason: WaitReason, reading: &PoolReading) -> String {
    let pool = &reading.pool;
    match reason {
        WaitReason::PoolNotConfigured => format!("pool {} is not configured", pool.id),
        WaitReason::ClaimOnly => format!("pool {} is claim-only: the lead waits to be claimed", pool.id),
        WaitReason::PoolDailyCap => format!(
            "pool {} has handed out {} of its {} leads for today: the lead waits",
            pool.id,
            reading.state.assigned_today,
            pool.daily_cap.unwrap_or_default()
        ),
        WaitReason::NoDesignee => format!("designated pool {} names no rep or team", pool.id),
        WaitReason::EveryoneSkipped => format!(
            "every member of pool {} was skipped (see reps): the lead waits until someone is eligible",
            pool.id
        ),
    }
}

fn skip_text(
    skip: Skip,
    id: &str,
    rep: Option<&Rep>,
    load: RepLoad,
    reading: &PoolReading,
    chosen: Option<&str>,
    now: DateTime<Utc>,
) -> String {
    let pool = &reading.pool;
    match skip {
        Skip::NoSuchRep => format!("pool {} lists {id}, but no rep has this id", pool.id),
        Skip::ClaimOnly | Skip::PoolDailyCap | Skip::NoDesignee => {
            let reason = match skip {
                Skip::ClaimOnly => WaitReason::ClaimOnly,
                Skip::PoolDailyCap => WaitReason::PoolDailyCap,
                _ => WaitReason::NoDesignee,
            };
            wait_text(reason, reading)
        }
        Skip::NotDesignated => match &pool.strategy {
            Strategy::Designated { rep: Some(named), .. } => {
                format!("pool {} sends every lead to {named}", pool.id)
            }
            _ => format!("pool {} names another rep", pool.id),
        },
        Skip::NotInTeam => match (&pool.strategy, rep) {
            (Strategy::Designated { team: Some(team), .. }, Some(rep)) => format!(
                "pool {} sends its leads to team {team}; {id} is in {}",
                pool.id,
                if rep.team.is_empty() {
                    "no team"
                } else {
                    rep.team.as_str()
                }
            ),
            _ => format!("not in the team pool {} sends its leads to", pool.id),
        },
        Skip::PreviousOwner => "held this lead before it was recycled or returned: it goes to someone else".into(),
        Skip::Inactive => "inactive".into(),
        Skip::OffShift => match rep.and_then(|r| r.working_hours.as_ref()) {
            Some(h) => format!(
                "off shift: works {} {}–{} ({})",
                h.days.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>().join(" "),
                h.start.format("%H:%M"),
                h.end.format("%H:%M"),
                h.time_zone
            ),
            None => "off shift".into(),
        },
        Skip::OutOfOffice => match rep.and_then(|r| absence_at(r, now)) {
            Some(a) => format!("out of office until {}", a.until.to_rfc3339()),
            None => "out of office".into(),
        },
        Skip::HoldingCap => format!(
            "holds {} active leads: at the holding cap of {}",
            load.active_leads,
            rep.map_or(0, Rep::holding_cap)
        ),
        Skip::DailyCap => format!(
            "received {} leads today: at the daily cap of {}",
            load.assigned_today,
            rep.and_then(|r| r.daily_cap).unwrap_or_default()
        ),
        Skip::Tier => "an A1/A2 lead in a weighted pool goes to an eligible top-tier rep first".into(),
        Skip::Rotation => match chosen {
            Some(chosen) => format!("eligible, but {chosen} comes first in the pool's rotation"),
            None => "eligible, but another member comes first in the pool's rotation".into(),
        },
    }
}
