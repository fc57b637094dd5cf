//! Champion and challenger: a fixed share of leads is scored by the challenger, each lead
//! always by the same model, and the two arms are compared once outcomes are in.

use super::features::Features;
use super::metrics::{auc, calibration_by_decile, Decile};
use super::model::{Model, Prediction};
use super::stable_unit;
use crate::lead::qualification::Arm;
use serde::{Deserialize, Serialize};

/// The lead's arm, from a stable hash of its id. Raising the share only moves champion
/// leads to the challenger, never back.
pub fn arm_for(lead_id: &str, challenger_share: f64) -> Arm {
    if stable_unit("ab", lead_id) < challenger_share {
        Arm::Challenger
    } else {
        Arm::Champion
    }
}

/// The models in service: a versioned config item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPair {
    pub champion: Model,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenger: Option<Model>,
    /// 0…1; ignored without a challenger.
    pub challenger_share: f64,
}

impl ModelPair {
    pub fn score(&self, lead_id: &str, features: &Features, prior: f64) -> (Arm, Prediction) {
        match (&self.challenger, arm_for(lead_id, self.challenger_share)) {
            (Some(challenger), Arm::Challenger) => (Arm::Challenger, challenger.predict(features, prior)),
            _ => (Arm::Champion, self.champion.predict(features, prior)),
        }
    }
}

/// How one arm's leads turned out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmReport {
    pub leads: usize,
    /// Leads with a final outcome; the rates below are over these.
    pub outcomes: usize,
    pub conversions: usize,
    pub conversion_rate: Option<f64>,
    pub auc: Option<f64>,
    /// By predicted probability, lowest first.
    pub by_decile: Vec<Decile>,
    /// The top decile's conversion rate over the arm's: how well the score picks winners.
    pub top_decile_lift: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmsReport {
    pub champion: ArmReport,
    pub challenger: ArmReport,
}

/// Compares the arms from `(arm, predicted probability, outcome if final)` per lead.
pub fn compare_arms(rows: &[(Arm, f64, Option<bool>)]) -> ArmsReport {
    ArmsReport {
        champion: arm_report(rows, Arm::Champion),
        challenger: arm_report(rows, Arm::Challenger),
    }
}

fn arm_report(rows: &[(Arm, f64, Option<bool>)], arm: Arm) -> ArmReport {
    let mine: Vec<&(Arm, f64, Option<bool>)> = rows.iter().filter(|(a, _, _)| *a == arm).collect();
    let known: Vec<(f64, bool)> = mine.iter().filter_map(|(_, p, y)| y.map(|y| (*p, y))).collect();
    let conversions = known.iter().filter(|(_, y)| *y).count();
    let conversion_rate = (!known.is_empty()).then(|| conversions as f64 / known.len() as f64);
    let by_decile = calibration_by_decile(&known);
    let top_decile_lift = match (by_decile.last(), conversion_rate) {
        (Some(top), Some(rate)) if rate > 0.0 => Some(top.observed_rate / rate),
        _ => None,
    };
    ArmReport {
        leads: mine.len(),
        outcomes: known.len(),
        conversions,
        conversion_rate,
        auc: auc(&known),
        by_decile,
        top_decile_lift,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    #[test]
    fn the_share_is_respected_and_assignment_is_stable() {
        let ids: Vec<String> = (0..100_000).map(|i| format!("01JC{i:022}")).collect();
        let challengers = |share| ids.iter().filter(|id| arm_for(id, share) == Arm::Challenger).count();
        let at_ten = challengers(0.1) as f64 / ids.len() as f64;
        assert!((at_ten - 0.1).abs() < 0.005, "{at_ten}");
        assert_eq!(challengers(0.0), 0);
        assert_eq!(challengers(1.0), ids.len());
        for id in ids.iter().take(1_000) {
            assert_eq!(arm_for(id, 0.1), arm_for(id, 0.1));
            if arm_for(id, 0.1) == Arm::Challenger {
                assert_eq!(arm_for(id, 0.2), Arm::Challenger, "raising the share keeps challengers");
            }
        }
    }

    #[test]
    fn without_a_challenger_the_champion_scores_everyone() {
        let now: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        let pair = ModelPair {
            champion: Model::prior_only(3, now),
            challenger: None,
            challenger_share: 1.0,
        };
        let (arm, prediction) = pair.score("lead-1", &Features::default(), 0.2);
        assert_eq!((arm, prediction.model_version), (Arm::Champion, 3));
        let pair = ModelPair {
            challenger: Some(Model::prior_only(4, now)),
            ..pair
        };
        assert_eq!(pair.score("lead-1", &Features::default(), 0.2).1.model_version, 4);
    }

    #[test]
    fn arms_are_reported_with_top_decile_lift() {
        let mut rows: Vec<(Arm, f64, Option<bool>)> = (0..100)
            .map(|i| (Arm::Challenger, f64::from(i) / 100.0, Some(i >= 90 || i == 5)))
            .collect();
        rows.push((Arm::Challenger, 0.5, None));
        rows.push((Arm::Champion, 0.5, Some(true)));
        let report = compare_arms(&rows);
        let challenger = &report.challenger;
        assert_eq!(
            (challenger.leads, challenger.outcomes, challenger.conversions),
            (101, 100, 11)
        );
        assert_eq!(challenger.top_decile_lift, Some(1.0 / 0.11));
        assert_eq!(challenger.by_decile.len(), 10);
        assert_eq!(report.champion.conversion_rate, Some(1.0));
        assert_eq!(
            (report.champion.auc, report.champion.top_decile_lift),
            (None, Some(1.0))
        );
    }
}
