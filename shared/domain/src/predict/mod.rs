//! Predictive lead score: P(converted) learned from leads whose outcome is known, shown
//! as a third column beside fit and engagement. It never replaces the rule score: it
//! starts from it.
//!
//! The model is an L2-regularised logistic regression over one-hot lead attributes
//! ([`features`]) with the rule score's probability ([`features::prior_from_score`]) as
//! its starting point:
//!
//! `log-odds = logit(prior) + (β − 1)·(logit(prior) − centre) + intercept + Σ weight(attribute = value)`
//!
//! Every parameter is shrunk towards "trust the rules" (β → 1, the rest → 0), so a model
//! with no history predicts the rule prior exactly, and each weight moves away from it
//! only as outcomes behind it accumulate. Naive Bayes was the alternative: it counts
//! correlated evidence twice (fit grade, company size and seniority say much the same
//! thing) and its probabilities drift away from observed rates; regression fits them
//! jointly, stays calibrated, and its weights add up, which is what makes every
//! prediction explain itself ([`model::Prediction`]).
//!
//! Pure: no I/O, no clock. Training is [`train::train`], A/B serving [`ab::ModelPair`],
//! and [`synthetic`] makes histories with a known generating process for tests and
//! benchmarks.

pub mod ab;
pub mod features;
pub mod metrics;
pub mod model;
pub mod modeling;
pub mod outcome;
pub mod ports;
#[cfg(any(test, feature = "synthetic"))]
pub mod synthetic;
pub mod train;

pub use ab::{arm_for, compare_arms, ArmReport, ArmsReport, ModelPair};
pub use features::{features_of, prior_from_score, rule_prior, Attribute, Features};
pub use metrics::{auc, calibration_by_decile, log_loss, Decile, Metrics};
pub use model::{Confidence, Factor, Model, Prediction, Weight};
pub use outcome::{outcome_of, Example, DEFAULT_HORIZON_DAYS};
pub use train::{train, Dataset, TrainConfig};

/// Probabilities are kept this far from 0 and 1 so every log-odds is finite.
const PROBABILITY_FLOOR: f64 = 1e-6;

fn clamp_probability(p: f64) -> f64 {
    if p.is_nan() {
        return 0.5;
    }
    p.clamp(PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
}

/// ln(p / (1 − p)), with p clamped away from 0 and 1.
pub fn logit(p: f64) -> f64 {
    let p = clamp_probability(p);
    (p / (1.0 - p)).ln()
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// splitmix64's finaliser: spreads every input bit over the output.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A point in [0, 1) that depends only on `salt` and `key`: FNV-1a then a finaliser, stable
/// across builds and platforms (std's `DefaultHasher` is not).
fn stable_unit(salt: &str, key: &str) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in salt.bytes().chain([0xff]).chain(key.bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    unit_from_bits(mix64(hash))
}

/// The top 53 bits of `bits` as a float in [0, 1).
fn unit_from_bits(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logit_inverts_sigmoid_and_stays_finite() {
        for p in [0.01, 0.2, 0.5, 0.9] {
            assert!((sigmoid(logit(p)) - p).abs() < 1e-12);
        }
        assert!(logit(0.0).is_finite() && logit(1.0).is_finite() && logit(f64::NAN) == 0.0);
    }

    #[test]
    fn stable_unit_is_fixed_and_salted() {
        assert_eq!(stable_unit("ab", "lead-1"), stable_unit("ab", "lead-1"));
        assert_ne!(stable_unit("ab", "lead-1"), stable_unit("holdout", "lead-1"));
        assert!((0.0..1.0).contains(&stable_unit("", "")));
    }
}
