//! Made-up lead histories with a known generating process, for tests and benchmarks.
//!
//! A lead's attributes are drawn independently; its fit and engagement points follow the
//! default scoring rules, giving the rule prior; its true log-odds are
//! `BASE + PRIOR_SHARE · logit(prior) + Σ effect(attribute = value)`, and the outcome is
//! drawn from that. So the rules know part of the truth and the data the rest, and a
//! correct model can recover it exactly. [`finished_leads`] dresses the same draws as
//! stored leads, for tests of the code around the model.

use super::features::{prior_from_score, Attribute, Features, UNKNOWN};
use super::outcome::{Example, DEFAULT_HORIZON_DAYS};
use super::{logit, mix64, sigmoid, unit_from_bits};
use crate::lead::{Lead, LeadId, Stage};
use crate::{lead::qualification::Grade, lead::qualification::Score};
use chrono::{DateTime, Duration, Utc};

/// A lead and the probability it really had.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticLead {
    pub example: Example,
    pub true_probability: f64,
    /// Its rule score's two parts, whose sum gives the prior.
    pub fit: i32,
    pub engagement: i32,
}

const BASE: f64 = -0.9;
/// How much of the rule prior's log-odds is true.
const PRIOR_SHARE: f64 = 0.6;

/// (value, share of leads, true effect on log-odds) per attribute.
type Levels = &'static [(&'static str, f64, f64)];

const CHANNELS: Levels = &[
    ("web_form", 0.35, 0.0),
    ("trade_show", 0.10, 0.9),
    ("webinar", 0.15, 0.4),
    ("paid_search", 0.20, -0.3),
    ("referral", 0.05, 0.8),
    ("social", 0.15, -0.6),
];
const CAMPAIGNS: Levels = &[
    ("expo-2026", 0.15, 0.2),
    ("spring-promo", 0.15, -0.1),
    ("cloud-summit", 0.10, 0.3),
    ("brand-search", 0.15, 0.0),
    ("retargeting", 0.10, -0.2),
    ("newsletter", 0.10, -0.1),
    ("partner-week", 0.05, 0.4),
    ("unknown", 0.20, 0.0),
];
const INDUSTRIES: Levels = &[
    ("software", 0.20, 0.3),
    ("finance", 0.15, 0.2),
    ("manufacturing", 0.20, 0.0),
    ("retail", 0.15, -0.3),
    ("education", 0.10, -0.4),
    ("unknown", 0.20, -0.2),
];
const REGIONS: Levels = &[
    ("北京", 0.20, 0.1),
    ("上海", 0.20, 0.1),
    ("广东", 0.20, 0.0),
    ("浙江", 0.15, 0.0),
    ("四川", 0.10, -0.1),
    ("unknown", 0.15, -0.1),
];
const SIZES: Levels = &[
    ("<50", 0.30, -0.6),
    ("50-499", 0.35, 0.0),
    ("500-999", 0.15, 0.3),
    ("1000+", 0.10, 0.5),
    ("unknown", 0.10, -0.3),
];
const SENIORITIES: Levels = &[
    ("staff", 0.35, -0.4),
    ("manager", 0.30, 0.0),
    ("director", 0.15, 0.3),
    ("vp", 0.08, 0.5),
    ("c_level", 0.04, 0.4),
    ("unknown", 0.08, -0.3),
];
const RESPONSES: Levels = &[
    ("<1h", 0.20, 0.5),
    ("1-24h", 0.40, 0.2),
    ("1-3d", 0.25, 0.0),
    ("over 3d", 0.15, -0.8),
];

/// splitmix64: tiny, fast, and the same sequence everywhere for a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        unit_from_bits(self.next_u64())
    }

    fn pick(&mut self, levels: Levels) -> (&'static str, f64) {
        let mut draw = self.unit() * levels.iter().map(|(_, share, _)| share).sum::<f64>();
        for &(value, share, effect) in levels {
            if draw < share {
                return (value, effect);
            }
            draw -= share;
        }
        levels
            .last()
            .map_or(("unknown", 0.0), |&(value, _, effect)| (value, effect))
    }
}

/// An endless, reproducible history: take as many leads as needed.
pub fn history(seed: u64) -> impl Iterator<Item = SyntheticLead> {
    let mut rng = Rng::new(seed);
    (0u64..).map(move |i| lead(&mut rng, format!("synthetic-{seed}-{i}")))
}

fn lead(rng: &mut Rng, key: String) -> SyntheticLead {
    let mut features = Features::default();
    let mut effects = 0.0;
    for (attribute, levels) in [
        (Attribute::Channel, CHANNELS),
        (Attribute::Campaign, CAMPAIGNS),
        (Attribute::Industry, INDUSTRIES),
        (Attribute::Region, REGIONS),
        (Attribute::Size, SIZES),
        (Attribute::Seniority, SENIORITIES),
        (Attribute::Response, RESPONSES),
    ] {
        let (value, effect) = rng.pick(levels);
        features.set(attribute, value);
        effects += effect;
    }
    let fit = fit_points(&features, rng.unit() < 0.1);
    let engagement: i32 = (0..rng.next_u64() % 7)
        .map(|_| [5, 10, 20][(rng.next_u64() % 3) as usize])
        .sum();
    features.set(Attribute::Fit, &format!("{:?}", grade(fit)));
    features.set(Attribute::Engagement, &level(engagement).to_string());
    let prior = prior_from_score(fit + engagement);
    let true_probability = sigmoid(BASE + PRIOR_SHARE * logit(prior) + effects);
    let converted = rng.unit() < true_probability;
    SyntheticLead {
        example: Example {
            key,
            features,
            prior,
            converted,
        },
        true_probability,
        fit,
        engagement,
    }
}

/// The default fit rules on the drawn attributes (two recent whitepapers: +20).
fn fit_points(features: &Features, two_whitepapers: bool) -> i32 {
    let size = match features.get(Attribute::Size) {
        "500-999" | "1000+" => 30,
        "<50" => -10,
        _ => 0,
    };
    let title = if matches!(features.get(Attribute::Seniority), "vp" | "c_level") {
        25
    } else {
        0
    };
    let industry = if matches!(
        features.get(Attribute::Industry),
        "software" | "finance" | "manufacturing"
    ) {
        15
    } else {
        0
    };
    size + title + industry + if two_whitepapers { 20 } else { 0 }
}

fn grade(fit: i32) -> Grade {
    match fit {
        81.. => Grade::A,
        60..=80 => Grade::B,
        40..=59 => Grade::C,
        _ => Grade::D,
    }
}

fn level(engagement: i32) -> u8 {
    match engagement {
        80.. => 1,
        60..=79 => 2,
        40..=59 => 3,
        _ => 4,
    }
}

/// `n` leads of [`history`]`(seed)` as the store would hold them once finished: captured
/// between the horizon and about 23 months before `now`, followed up, then converted or
/// nurtured. Each gives back its draw's features ([`super::features_of`]) and prior
/// ([`super::rule_prior`]).
pub fn finished_leads(seed: u64, n: usize, now: DateTime<Utc>) -> Vec<Lead> {
    let mut rng = Rng::new(!seed);
    history(seed)
        .take(n)
        .map(|draw| finished_lead(&draw, &mut rng, now))
        .collect()
}

fn finished_lead(draw: &SyntheticLead, rng: &mut Rng, now: DateTime<Utc>) -> Lead {
    let features = &draw.example.features;
    let known = |attribute| {
        Some(features.get(attribute))
            .filter(|v| *v != UNKNOWN)
            .map(str::to_string)
    };
    let created = now - Duration::days(DEFAULT_HORIZON_DAYS + 1 + (rng.next_u64() % 600) as i64);
    let ulid = ulid::Ulid::from_parts(created.timestamp_millis() as u64, u128::from(rng.next_u64()));
    let id = LeadId::parse(&ulid.to_string()).unwrap_or_else(|| LeadId::generate(created));
    let mut lead = Lead::new(id, features.get(Attribute::Channel), created);
    lead.source.campaign_id = known(Attribute::Campaign);
    lead.profile.industry = known(Attribute::Industry);
    lead.profile.province = known(Attribute::Region);
    lead.profile.company_size = known(Attribute::Size).map(|band| band.replace("<50", "1-49"));
    lead.profile.title = known(Attribute::Seniority).map(|band| title(&band).to_string());
    let (grade, level) = (grade(draw.fit), level(draw.engagement));
    lead.score = Some(Score {
        fit: draw.fit,
        grade,
        engagement: draw.engagement,
        level,
        cell: format!("{grade:?}{level}"),
        fit_lines: Vec::new(),
        engagement_lines: Vec::new(),
        at: created,
    });
    lead.set_stage(Stage::Aql, created);
    let responded = created + response_delay(features.get(Attribute::Response));
    lead.last_follow_up_at = Some(responded);
    let decided = responded + Duration::days(7);
    lead.set_stage(
        if draw.example.converted {
            Stage::Converted
        } else {
            Stage::Nurture
        },
        decided,
    );
    lead.updated_at = decided;
    lead
}

/// A job title that reads as the seniority band.
fn title(band: &str) -> &'static str {
    match band {
        "c_level" => "CEO",
        "vp" => "副总裁",
        "director" => "市场总监",
        "manager" => "销售经理",
        _ => "工程师",
    }
}

fn response_delay(band: &str) -> Duration {
    match band {
        "<1h" => Duration::minutes(20),
        "1-24h" => Duration::hours(6),
        "1-3d" => Duration::hours(36),
        _ => Duration::days(5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_history() {
        let a: Vec<SyntheticLead> = history(7).take(100).collect();
        assert_eq!(a, history(7).take(100).collect::<Vec<_>>());
        assert_ne!(a, history(8).take(100).collect::<Vec<_>>());
    }

    #[test]
    fn finished_leads_give_back_their_draws() {
        use crate::predict::{features_of, outcome_of, rule_prior};
        let now: DateTime<Utc> = "2026-11-23T08:00:00Z".parse().unwrap();
        let horizon = Duration::days(DEFAULT_HORIZON_DAYS);
        for (lead, draw) in finished_leads(3, 500, now).iter().zip(history(3)) {
            assert_eq!(features_of(lead, now), draw.example.features);
            assert_eq!(rule_prior(lead), draw.example.prior);
            assert_eq!(outcome_of(lead, now, horizon), Some(draw.example.converted));
            assert!(now - lead.created_at < Duration::days(700));
        }
    }

    #[test]
    fn shares_and_conversion_are_plausible() {
        let leads: Vec<SyntheticLead> = history(1).take(20_000).collect();
        let share = |value: &str| {
            let n = leads
                .iter()
                .filter(|l| l.example.features.get(Attribute::Channel) == value)
                .count();
            n as f64 / leads.len() as f64
        };
        assert!((share("trade_show") - 0.10).abs() < 0.01);
        let converted = leads.iter().filter(|l| l.example.converted).count() as f64 / leads.len() as f64;
        let expected = leads.iter().map(|l| l.true_probability).sum::<f64>() / leads.len() as f64;
        assert!((converted - expected).abs() < 0.01, "{converted} vs {expected}");
        assert!((0.05..0.25).contains(&converted), "{converted}");
    }
}
