//! What the model sees of a lead: one categorical value per [`Attribute`], and the rule
//! score turned into a starting probability.

use super::sigmoid;
use crate::lead::{Lead, Stage};
use crate::{lead::profile::company_size_range, lead::profile::seniority, lead::profile::Seniority};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The value of an attribute nobody filled in.
pub const UNKNOWN: &str = "unknown";
/// First response not known yet: the lead is young and nobody has acted on it. Finished
/// leads never have it, so it carries no weight and costs no confidence.
pub const PENDING: &str = "pending";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    Channel,
    Campaign,
    Industry,
    Region,
    Size,
    Seniority,
    Fit,
    Engagement,
    Response,
}

impl Attribute {
    pub const COUNT: usize = 9;
    pub const ALL: [Attribute; Attribute::COUNT] = [
        Attribute::Channel,
        Attribute::Campaign,
        Attribute::Industry,
        Attribute::Region,
        Attribute::Size,
        Attribute::Seniority,
        Attribute::Fit,
        Attribute::Engagement,
        Attribute::Response,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Attribute::Channel => "channel",
            Attribute::Campaign => "campaign",
            Attribute::Industry => "industry",
            Attribute::Region => "region",
            Attribute::Size => "size",
            Attribute::Seniority => "seniority",
            Attribute::Fit => "fit",
            Attribute::Engagement => "engagement",
            Attribute::Response => "response",
        }
    }

    /// Typed by people (case means nothing); the others are derived and canonical.
    fn is_typed(self) -> bool {
        matches!(
            self,
            Attribute::Channel | Attribute::Campaign | Attribute::Industry | Attribute::Region
        )
    }

    /// How an explanation names it: "company size <50 converts 0.4× the average".
    pub fn label(self) -> &'static str {
        match self {
            Attribute::Size => "company size",
            Attribute::Fit => "fit grade",
            Attribute::Engagement => "engagement level",
            Attribute::Response => "first response",
            other => other.as_str(),
        }
    }
}

/// One value per attribute, [`UNKNOWN`] until set. Values are trimmed with inner spaces
/// collapsed, and typed ones lower-cased, so "Trade Show " and "trade show" agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Features([String; Attribute::COUNT]);

impl Default for Features {
    fn default() -> Self {
        Self(std::array::from_fn(|_| UNKNOWN.to_string()))
    }
}

impl Features {
    pub fn with(mut self, attribute: Attribute, value: &str) -> Self {
        self.set(attribute, value);
        self
    }

    pub fn set(&mut self, attribute: Attribute, value: &str) {
        let mut value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        if attribute.is_typed() {
            value = value.to_lowercase();
        }
        self.0[attribute as usize] = if value.is_empty() { UNKNOWN.to_string() } else { value };
    }

    pub fn get(&self, attribute: Attribute) -> &str {
        &self.0[attribute as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (Attribute, &str)> {
        Attribute::ALL.into_iter().zip(self.0.iter().map(String::as_str))
    }
}

/// The lead as the model sees it `now` (the response band depends on how long it waited).
pub fn features_of(lead: &Lead, now: DateTime<Utc>) -> Features {
    let profile = &lead.profile;
    let campaign = lead.source.campaign_id.as_ref().or(lead.source.utm.campaign.as_ref());
    let text = |value: Option<&String>| value.map_or(UNKNOWN, String::as_str).to_string();
    Features::default()
        .with(Attribute::Channel, &lead.source.channel)
        .with(Attribute::Campaign, &text(campaign))
        .with(Attribute::Industry, &text(profile.industry.as_ref()))
        .with(Attribute::Region, &text(profile.province.as_ref()))
        .with(Attribute::Size, size_band(profile.company_size.as_deref()))
        .with(Attribute::Seniority, seniority_band(profile.title.as_deref()))
        .with(
            Attribute::Fit,
            &lead.score.as_ref().map_or(UNKNOWN.into(), |s| format!("{:?}", s.grade)),
        )
        .with(
            Attribute::Engagement,
            &lead.score.as_ref().map_or(UNKNOWN.into(), |s| s.level.to_string()),
        )
        .with(Attribute::Response, response_band(lead, now))
}

/// Bands that match the usual form options; a range is placed by its middle.
fn size_band(text: Option<&str>) -> &'static str {
    let Some((lo, hi)) = text.and_then(company_size_range) else {
        return UNKNOWN;
    };
    let people = if hi == u32::MAX { lo } else { lo / 2 + hi / 2 };
    match people {
        0..=49 => "<50",
        50..=499 => "50-499",
        500..=999 => "500-999",
        _ => "1000+",
    }
}

fn seniority_band(title: Option<&str>) -> &'static str {
    match title.filter(|t| !t.trim().is_empty()).map(seniority) {
        None => UNKNOWN,
        Some(Seniority::Staff) => "staff",
        Some(Seniority::Manager) => "manager",
        Some(Seniority::Director) => "director",
        Some(Seniority::Vp) => "vp",
        Some(Seniority::CLevel) => "c_level",
    }
}

/// A lead nobody acted on within this long has its band settled: "over 3d".
const RESPONSE_SETTLED_AFTER_HOURS: i64 = 72;

/// How long the lead waited from capture for the first human act: a follow-up, a BANT
/// edit, or a sales decision (SQL, converted, nurture, invalid). MQL is left out because
/// the score can set it. The lead keeps only its *last* follow-up, so for a lead followed
/// up many times this can be later than the first one.
fn response_band(lead: &Lead, now: DateTime<Utc>) -> &'static str {
    let decided = [Stage::Sql, Stage::Converted, Stage::Nurture, Stage::Invalid]
        .into_iter()
        .filter_map(|stage| lead.stage_at.get(stage.as_str()).copied());
    let first_act = [lead.last_follow_up_at, lead.bant_updated_at]
        .into_iter()
        .flatten()
        .chain(decided)
        .min();
    let waited = |until: DateTime<Utc>| (until - lead.created_at).max(Duration::zero());
    match first_act.map(waited) {
        Some(w) if w < Duration::hours(1) => "<1h",
        Some(w) if w < Duration::hours(24) => "1-24h",
        Some(w) if w < Duration::hours(RESPONSE_SETTLED_AFTER_HOURS) => "1-3d",
        Some(_) => "over 3d",
        None if waited(now) >= Duration::hours(RESPONSE_SETTLED_AFTER_HOURS) => "over 3d",
        None => PENDING,
    }
}

/// The rule score's view as a probability: 2 % at 0 points, 40 % at 100, on a logistic
/// curve in between (about ×1.035 odds per point). Points are clamped to −50…100
/// (0.35 %…40 %): the rules are a starting point, not a promise.
pub fn prior_from_score(points: i32) -> f64 {
    const AT_ZERO: f64 = -3.891_820_298_110_627; // logit(0.02)
    const AT_HUNDRED: f64 = -0.405_465_108_108_164_4; // logit(0.40)
    let points = f64::from(points.clamp(-50, 100));
    sigmoid(AT_ZERO + (AT_HUNDRED - AT_ZERO) * points / 100.0)
}

/// [`prior_from_score`] of the lead's fit + engagement points (0 points before scoring).
pub fn rule_prior(lead: &Lead) -> f64 {
    prior_from_score(lead.score.as_ref().map_or(0, |s| s.fit + s.engagement))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::LeadId;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_lead_becomes_normalised_categories() {
        let now = at("2026-11-01T00:00:00Z");
        let mut lead = Lead::new(LeadId::generate(now), " Trade_Show ", now);
        lead.source.utm.campaign = Some("Expo 2026".into());
        lead.profile.company_size = Some("1000人以上".into());
        lead.profile.title = Some("销售总监".into());
        let f = features_of(&lead, now);
        assert_eq!(f.get(Attribute::Channel), "trade_show");
        assert_eq!(f.get(Attribute::Campaign), "expo 2026");
        assert_eq!(f.get(Attribute::Industry), UNKNOWN);
        assert_eq!(f.get(Attribute::Size), "1000+");
        assert_eq!(f.get(Attribute::Seniority), "director");
        assert_eq!(f.get(Attribute::Fit), UNKNOWN);
        assert_eq!(f.get(Attribute::Response), PENDING);
        assert_eq!(f.iter().count(), Attribute::COUNT);
        assert_eq!(size_band(Some("50人以下")), "<50");
        assert_eq!(size_band(Some("50-499")), "50-499");
    }

    #[test]
    fn response_band_counts_from_capture_to_the_first_act() {
        let created = at("2026-11-02T01:00:00Z");
        let mut lead = Lead::new(LeadId::generate(created), "web", created);
        assert_eq!(response_band(&lead, created + Duration::hours(71)), PENDING);
        assert_eq!(response_band(&lead, created + Duration::hours(72)), "over 3d");
        lead.last_follow_up_at = Some(created + Duration::hours(30));
        assert_eq!(response_band(&lead, created + Duration::days(9)), "1-3d");
        lead.set_stage(Stage::Sql, created + Duration::minutes(20));
        assert_eq!(response_band(&lead, created + Duration::days(9)), "<1h");
    }

    #[test]
    fn the_prior_follows_the_documented_curve() {
        assert!((prior_from_score(0) - 0.02).abs() < 1e-12);
        assert!((prior_from_score(100) - 0.40).abs() < 1e-12);
        assert_eq!(prior_from_score(500), prior_from_score(100));
        assert!(prior_from_score(-50) > 0.003 && prior_from_score(-50) < 0.004);
        assert!(prior_from_score(40) < prior_from_score(60));
    }
}
