//! Which leads have a final outcome to learn from, and the training example each gives.

use super::features::{features_of, rule_prior, Features};
use crate::lead::{Lead, Stage};
use chrono::{DateTime, Duration, Utc};

/// A lead not converted this long after capture counts as lost.
pub const DEFAULT_HORIZON_DAYS: i64 = 90;

/// `Some(true)` converted; `Some(false)` lost: judged invalid by a rep, or not converted
/// within `horizon` of capture (open, nurtured or recycled); `None` while still open, and
/// for leads the model never scores: repeats (merged into their source lead) and junk
/// that failed cleaning.
pub fn outcome_of(lead: &Lead, now: DateTime<Utc>, horizon: Duration) -> Option<bool> {
    let was_worked = lead.stage_at.contains_key(Stage::Aql.as_str());
    match lead.stage {
        Stage::Converted => Some(true),
        Stage::Merged | Stage::Received => None,
        Stage::Invalid => was_worked.then_some(false),
        Stage::Aql | Stage::Mql | Stage::Sql | Stage::Nurture | Stage::Recycled => {
            (now - lead.created_at >= horizon).then_some(false)
        }
    }
}

/// One finished lead as training data.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Decides the hold-out split, so the same lead always lands on the same side.
    pub key: String,
    pub features: Features,
    /// The rule score's probability ([`super::prior_from_score`]).
    pub prior: f64,
    pub converted: bool,
}

impl Example {
    /// The example a lead gives, if its outcome is final. The rule prior is the lead's
    /// stored score; rescore it as of an earlier moment first to avoid learning from
    /// engagement that came after the decision.
    pub fn from_lead(lead: &Lead, now: DateTime<Utc>, horizon: Duration) -> Option<Self> {
        let converted = outcome_of(lead, now, horizon)?;
        Some(Self {
            key: lead.id.to_string(),
            features: features_of(lead, now),
            prior: rule_prior(lead),
            converted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::LeadId;

    #[test]
    fn outcomes_by_stage_and_age() {
        let created: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let horizon = Duration::days(DEFAULT_HORIZON_DAYS);
        let (young, old) = (created + Duration::days(10), created + Duration::days(90));
        let mut lead = Lead::new(LeadId::generate(created), "web", created);
        assert_eq!(outcome_of(&lead, old, horizon), None, "never cleaned");
        lead.set_stage(Stage::Invalid, created);
        assert_eq!(outcome_of(&lead, old, horizon), None, "junk is not a lost lead");

        let mut lead = Lead::new(LeadId::generate(created), "web", created);
        lead.set_stage(Stage::Aql, created);
        assert_eq!(outcome_of(&lead, young, horizon), None, "still open");
        assert_eq!(outcome_of(&lead, old, horizon), Some(false));
        lead.set_stage(Stage::Nurture, young);
        assert_eq!(outcome_of(&lead, old, horizon), Some(false));
        lead.set_stage(Stage::Invalid, young);
        assert_eq!(outcome_of(&lead, young, horizon), Some(false), "a rep's verdict");
        lead.set_stage(Stage::Converted, young);
        assert_eq!(outcome_of(&lead, young, horizon), Some(true));
        lead.set_stage(Stage::Merged, young);
        assert_eq!(outcome_of(&lead, old, horizon), None);

        let example = Example::from_lead(&lead, old, horizon);
        assert!(example.is_none());
        lead.set_stage(Stage::Converted, young);
        let example = Example::from_lead(&lead, old, horizon).unwrap();
        assert!(example.converted && example.key == lead.id.to_string());
    }
}
