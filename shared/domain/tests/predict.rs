//! The predictive score on synthetic histories with a known generating process
//! (`domain::predict::synthetic`): it must recover what generated them.
//!
//! Stated bounds, on 20,000 held-out leads after training on 50,000:
//! - ranking: AUC at least the true probabilities' AUC − 0.02, and at least 0.70;
//! - calibration: every decile's mean prediction within 0.03 of its observed rate.

use chrono::{DateTime, Utc};
use domain::lead::{Lead, LeadId};
use domain::predict::metrics::max_calibration_gap;
use domain::predict::synthetic::{history, SyntheticLead};
use domain::{
    lead::qualification::Arm, lead::qualification::Level, predict::auc, predict::calibration_by_decile,
    predict::compare_arms, predict::features_of, predict::logit, predict::rule_prior, predict::train, predict::Dataset,
    predict::Model, predict::ModelPair, predict::TrainConfig,
};
use domain::{qualify::scoring::score, qualify::scoring::ScoringRules};
use std::sync::OnceLock;

const TRAINING: usize = 50_000;
const HELD_OUT: usize = 20_000;

fn now() -> DateTime<Utc> {
    "2026-11-01T00:00:00Z".parse().unwrap()
}

/// Trained once for the whole file.
fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let data: Dataset = history(11).take(TRAINING).map(|lead| lead.example).collect();
        train(&data, &TrainConfig::default(), 1, now())
    })
}

fn held_out() -> Vec<SyntheticLead> {
    history(12).take(HELD_OUT).collect()
}

#[test]
fn recovers_the_ordering_of_the_true_odds() {
    let leads = held_out();
    let model_auc = auc(&leads
        .iter()
        .map(|l| {
            (
                model().predict(&l.example.features, l.example.prior).probability,
                l.example.converted,
            )
        })
        .collect::<Vec<_>>())
    .unwrap();
    let true_auc = auc(&leads
        .iter()
        .map(|l| (l.true_probability, l.example.converted))
        .collect::<Vec<_>>())
    .unwrap();
    let prior_auc = auc(&leads
        .iter()
        .map(|l| (l.example.prior, l.example.converted))
        .collect::<Vec<_>>())
    .unwrap();
    println!("AUC: model {model_auc:.4}, true {true_auc:.4}, rule prior {prior_auc:.4}");
    assert!(model_auc >= true_auc - 0.02, "{model_auc} vs {true_auc}");
    assert!(
        model_auc >= 0.70 && model_auc > prior_auc + 0.05,
        "{model_auc} vs prior {prior_auc}"
    );
}

#[test]
fn probabilities_are_calibrated_by_decile() {
    let scored: Vec<(f64, bool)> = held_out()
        .iter()
        .map(|l| {
            (
                model().predict(&l.example.features, l.example.prior).probability,
                l.example.converted,
            )
        })
        .collect();
    let deciles = calibration_by_decile(&scored);
    println!("{deciles:#?}");
    assert_eq!(deciles.len(), 10);
    assert!(
        max_calibration_gap(&deciles) <= 0.03,
        "{}",
        max_calibration_gap(&deciles)
    );
    let stored = &model().metrics;
    assert_eq!(stored.calibration.len(), 10);
    assert!(max_calibration_gap(&stored.calibration) <= 0.04, "{stored:#?}");
    assert_eq!(stored.training_size + stored.holdout_size, TRAINING);
}

#[test]
fn explanations_add_up_to_the_score() {
    for lead in held_out().iter().take(2_000) {
        let p = model().predict(&lead.example.features, lead.example.prior);
        let logits: f64 = p.factors.iter().map(|f| f.logit).sum();
        assert!((logit(p.prior) + logits - p.log_odds).abs() < 1e-9, "{p:#?}");
        assert_eq!(
            p.prior_points + p.factors.iter().map(|f| f.points).sum::<i32>(),
            p.points
        );
        assert!(p.factors.windows(2).all(|w| w[0].logit.abs() >= w[1].logit.abs()));
        assert!(p
            .factors
            .iter()
            .all(|f| f.text.starts_with(&format!("{:+} pts: ", f.points))));
    }
}

#[test]
fn with_no_history_the_prior_is_returned() {
    let empty = train(&Dataset::default(), &TrainConfig::default(), 1, now());
    assert_eq!(empty, Model::prior_only(1, now()));
    for lead in held_out().iter().take(100) {
        let p = empty.predict(&lead.example.features, lead.example.prior);
        assert_eq!(p.probability, lead.example.prior);
        assert!(p.factors.is_empty());
        assert_eq!(p.confidence.level, Level::Low);
    }
}

#[test]
fn training_is_deterministic() {
    let data: Dataset = history(11).take(5_000).map(|lead| lead.example).collect();
    let config = TrainConfig::default();
    assert_eq!(train(&data, &config, 1, now()), train(&data, &config, 1, now()));
}

#[test]
fn a_real_lead_is_scored_with_reasons_in_words() {
    let mut lead = Lead::new(LeadId::generate(now()), "Trade_Show", now());
    lead.profile.company_size = Some("1000人以上".into());
    lead.profile.title = Some("副总裁".into());
    lead.profile.industry = Some("Software".into());
    lead.score = Some(score(&lead, &[], &ScoringRules::default(), now()));
    let p = model().predict(&features_of(&lead, now()), rule_prior(&lead));
    println!("{p:#?}");
    assert!(p.probability > rule_prior(&lead));
    let channel = p.factors.iter().find(|f| f.feature == "channel").unwrap();
    assert!(channel.text.contains("channel trade_show converts"), "{}", channel.text);
    assert_eq!(p.confidence.level, Level::High);
}

#[test]
fn the_challenger_scores_its_share_and_the_arms_compare() {
    let pair = ModelPair {
        champion: Model::prior_only(1, now()),
        challenger: Some(model().clone()),
        challenger_share: 0.5,
    };
    let rows: Vec<(Arm, f64, Option<bool>)> = held_out()
        .iter()
        .map(|l| {
            let (arm, p) = pair.score(&l.example.key, &l.example.features, l.example.prior);
            (arm, p.probability, Some(l.example.converted))
        })
        .collect();
    let report = compare_arms(&rows);
    let share = report.challenger.leads as f64 / rows.len() as f64;
    assert!((share - 0.5).abs() < 0.02, "{share}");
    let lift = |arm: &domain::predict::ArmReport| arm.top_decile_lift.unwrap();
    println!(
        "top-decile lift: champion {:.2}, challenger {:.2}",
        lift(&report.champion),
        lift(&report.challenger)
    );
    assert!(lift(&report.challenger) > lift(&report.champion));
}
