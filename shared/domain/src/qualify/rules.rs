//! Rules a business tunes, as data: scoring tables, cleaning lists, dedup policy. Stored
//! as a versioned config item (defaults: docs/src/rules/qualify.md#rules-are-data), read per batch, so a change
//! applies to the next lead without a redeploy.

use crate::lead::error::FieldErrors;
use crate::qualify::clean::CleaningRules;
use crate::qualify::dedup::DedupRules;
use crate::qualify::scoring::ScoringRules;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// 0 = the built-in defaults, never saved; each save increments it.
    #[serde(default)]
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scoring: ScoringRules,
    #[serde(default)]
    pub cleaning: CleaningRules,
    #[serde(default)]
    pub dedup: DedupRules,
    #[serde(default)]
    pub nurture: NurtureRules,
}

/// When a nurtured lead wakes by itself (docs/src/rules/nurture.md): the engagement
/// points it earns after entering nurture (a form, a chat, an event or an e-mail reply
/// is 20 by default; a page view 5). Its scheduled re-check is a clock of the SLA
/// policies; a repeat (the person fills in another form) always wakes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NurtureRules {
    pub wake_points: i32,
}

impl Default for NurtureRules {
    fn default() -> Self {
        Self { wake_points: 20 }
    }
}
impl Rules {
    /// Every problem, by field path, so an admin can fix an edit in one go.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        let s = &self.scoring;
        if !(s.half_life_days > 0.0 && s.half_life_days <= 3650.0) {
            errors.push("scoring.half_life_days", "must be more than 0 and at most 3650");
        }
        let descending = |v: [i32; 3]| v[0] > v[1] && v[1] > v[2];
        if !descending(s.level_minimums) {
            errors.push(
                "scoring.level_minimums",
                "must be strictly descending, e.g. [80, 60, 40]",
            );
        }
        if !descending(s.grade_minimums) {
            errors.push(
                "scoring.grade_minimums",
                "must be strictly descending, e.g. [81, 60, 40]",
            );
        }
        for (kind, points) in &s.engagement_points {
            if !(-100..=100).contains(points) {
                errors.push(
                    format!("scoring.engagement_points.{kind}"),
                    "must be between -100 and 100",
                );
            }
        }
        for (i, rule) in s.fit_rules.iter().enumerate() {
            if !(-100..=100).contains(&rule.points) {
                errors.push(format!("scoring.fit_rules[{i}].points"), "must be between -100 and 100");
            }
            if rule.reason.trim().is_empty() {
                errors.push(
                    format!("scoring.fit_rules[{i}].reason"),
                    "must explain the points in words",
                );
            }
        }
        let d = &self.dedup;
        if !(1..=3650).contains(&d.window_days) {
            errors.push("dedup.window_days", "must be between 1 and 3650");
        }
        if !(d.fuzzy_company_threshold > 0.5 && d.fuzzy_company_threshold <= 1.0) {
            errors.push("dedup.fuzzy_company_threshold", "must be above 0.5 and at most 1.0");
        }
        if !(1..=1000).contains(&self.nurture.wake_points) {
            errors.push("nurture.wake_points", "must be between 1 and 1000");
        }
        if self.cleaning.sensitive_words.iter().any(|w| w.trim().is_empty()) {
            errors.push("cleaning.sensitive_words", "must not contain empty words");
        }
        errors.into_result(())
    }
}

impl crate::lead::versioned::Versioned for Rules {
    fn version(&self) -> u64 {
        self.version.into()
    }
    fn stamp(&mut self, version: u64, at: chrono::DateTime<chrono::Utc>) {
        self.version = version.try_into().unwrap_or(u32::MAX);
        self.updated_at = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let rules = Rules::default();
        rules.validate().unwrap();
        let json = serde_json::to_string(&rules).unwrap();
        assert_eq!(serde_json::from_str::<Rules>(&json).unwrap(), rules);
        assert_eq!(
            serde_json::from_str::<Rules>("{}").unwrap(),
            rules,
            "missing sections take the defaults"
        );
    }

    #[test]
    fn bad_edits_are_reported_by_field() {
        let mut rules = Rules::default();
        rules.scoring.level_minimums = [40, 60, 80];
        rules.dedup.window_days = 0;
        rules.scoring.fit_rules[0].reason = " ".into();
        let fields: Vec<String> = rules.validate().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "scoring.level_minimums",
                "scoring.fit_rules[0].reason",
                "dedup.window_days"
            ]
        );
    }
}
