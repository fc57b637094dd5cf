//! How good a probability is: ranking (AUC), sharpness and honesty (log loss), and
//! calibration by decile. Each takes `(predicted probability, converted)` pairs.

use super::clamp_probability;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One tenth of the leads, by predicted probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decile {
    pub predicted_mean: f64,
    pub observed_rate: f64,
    pub count: usize,
}

/// A trained model's report card, measured on leads it did not learn from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub trained_at: DateTime<Utc>,
    pub training_size: usize,
    /// Conversions among the training examples.
    pub positives: usize,
    pub holdout_size: usize,
    /// `None` when the hold-out lacks either outcome.
    pub auc: Option<f64>,
    pub log_loss: Option<f64>,
    /// The rule prior on the same hold-out: what the model has to beat.
    pub prior_auc: Option<f64>,
    pub prior_log_loss: Option<f64>,
    pub calibration: Vec<Decile>,
}

impl Metrics {
    /// Scores the hold-out as `(model probability, prior probability, converted)`.
    pub fn measure(
        holdout: &[(f64, f64, bool)],
        training_size: usize,
        positives: usize,
        trained_at: DateTime<Utc>,
    ) -> Self {
        let model: Vec<(f64, bool)> = holdout.iter().map(|&(p, _, y)| (p, y)).collect();
        let prior: Vec<(f64, bool)> = holdout.iter().map(|&(_, p, y)| (p, y)).collect();
        Self {
            trained_at,
            training_size,
            positives,
            holdout_size: holdout.len(),
            auc: auc(&model),
            log_loss: log_loss(&model),
            prior_auc: auc(&prior),
            prior_log_loss: log_loss(&prior),
            calibration: calibration_by_decile(&model),
        }
    }
}

/// The chance that a random converted lead scores above a random lost one (ties count
/// half): the Mann–Whitney statistic over mid-ranks.
pub fn auc(scored: &[(f64, bool)]) -> Option<f64> {
    let positives = scored.iter().filter(|(_, y)| *y).count();
    let negatives = scored.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut sorted = scored.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < sorted.len() {
        let end = start
            + sorted[start..]
                .iter()
                .take_while(|(p, _)| *p == sorted[start].0)
                .count();
        let mid_rank = (start + end + 1) as f64 / 2.0;
        positive_rank_sum += mid_rank * sorted[start..end].iter().filter(|(_, y)| *y).count() as f64;
        start = end;
    }
    let (pos, neg) = (positives as f64, negatives as f64);
    Some((positive_rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// Mean negative log-likelihood in nats (a constant 10 % on a 10 % base rate scores 0.325).
pub fn log_loss(scored: &[(f64, bool)]) -> Option<f64> {
    if scored.is_empty() {
        return None;
    }
    let total: f64 = scored
        .iter()
        .map(|&(p, y)| {
            let p = clamp_probability(p);
            -(if y { p.ln() } else { (1.0 - p).ln() })
        })
        .sum();
    Some(total / scored.len() as f64)
}

/// Sorted by predicted probability and cut into ten near-equal groups (fewer when there
/// are fewer than ten leads); each says what was predicted and what happened.
pub fn calibration_by_decile(scored: &[(f64, bool)]) -> Vec<Decile> {
    let mut sorted = scored.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = sorted.len();
    (0..10)
        .map(|k| &sorted[n * k / 10..n * (k + 1) / 10])
        .filter(|group| !group.is_empty())
        .map(|group| {
            let count = group.len();
            Decile {
                predicted_mean: group.iter().map(|(p, _)| p).sum::<f64>() / count as f64,
                observed_rate: group.iter().filter(|(_, y)| *y).count() as f64 / count as f64,
                count,
            }
        })
        .collect()
}

/// The largest |predicted − observed| over the deciles.
pub fn max_calibration_gap(deciles: &[Decile]) -> f64 {
    deciles
        .iter()
        .map(|d| (d.predicted_mean - d.observed_rate).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_reversed_tied_and_one_sided_rankings() {
        let perfect = [(0.1, false), (0.2, false), (0.8, true), (0.9, true)];
        assert_eq!(auc(&perfect), Some(1.0));
        let reversed: Vec<_> = perfect.iter().map(|&(p, y)| (p, !y)).collect();
        assert_eq!(auc(&reversed), Some(0.0));
        assert_eq!(auc(&[(0.5, true), (0.5, false), (0.5, false)]), Some(0.5));
        assert_eq!(auc(&[(0.3, false), (0.5, true), (0.5, false)]), Some(0.75));
        assert_eq!(auc(&[(0.3, true)]), None);
    }

    #[test]
    fn log_loss_rewards_confident_truth() {
        let constant = log_loss(&[(0.5, true), (0.5, false)]).unwrap();
        assert!((constant - std::f64::consts::LN_2).abs() < 1e-12);
        assert!(log_loss(&[(0.9, true), (0.1, false)]).unwrap() < constant);
        assert!(log_loss(&[(0.0, true)]).unwrap().is_finite());
        assert_eq!(log_loss(&[]), None);
    }

    #[test]
    fn deciles_split_by_prediction() {
        let scored: Vec<(f64, bool)> = (0..100)
            .map(|i| (f64::from(i) / 100.0, i % 10 == 9 || i >= 90))
            .collect();
        let deciles = calibration_by_decile(&scored);
        assert_eq!(deciles.len(), 10);
        assert!(deciles.iter().all(|d| d.count == 10));
        assert!((deciles[0].predicted_mean - 0.045).abs() < 1e-12);
        assert_eq!((deciles[0].observed_rate, deciles[9].observed_rate), (0.1, 1.0));
        assert!((max_calibration_gap(&deciles) - 0.745).abs() < 1e-9);
        assert_eq!(calibration_by_decile(&[(0.2, true)]).len(), 1);
    }
}
