//! A trained model as a versioned config item, and predictions that explain themselves.

use super::features::{Attribute, Features, PENDING};
use super::metrics::Metrics;
use super::train::{train, Dataset, TrainConfig};
use super::{clamp_probability, logit, sigmoid};
use crate::lead::qualification::round_preserving_sum;
use crate::lead::qualification::Level;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A lead whose least-known feature has fewer past leads than this is scored with low
/// confidence; below [`SOLID_SUPPORT`] with medium.
pub const THIN_SUPPORT: u32 = 30;
pub const SOLID_SUPPORT: u32 = 300;
/// A model trained on fewer outcomes than this gives low confidence whatever the lead.
pub const MIN_TRAINING_OUTCOMES: usize = 200;

/// Smaller contributions are rounding noise and left out of the explanation.
const NEGLIGIBLE_LOGIT: f64 = 1e-9;

/// What one `attribute = value` adds to the log-odds, and the history behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weight {
    pub logit: f64,
    /// Training leads with this value, and how many of them converted.
    pub support: u32,
    pub positives: u32,
}

/// `log-odds = logit(prior) + (β − 1)·(logit(prior) − prior_centre) + intercept +
/// Σ weight(attribute = value)`, stored as a versioned config item with its metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub version: u32,
    pub config: TrainConfig,
    /// β: how far history confirms the rule prior's spread between leads (1 = all of it).
    pub prior_weight: f64,
    /// The training leads' mean prior log-odds, around which β stretches or shrinks: β
    /// changes how much the rule score separates leads, the intercept the overall level.
    pub prior_centre: f64,
    /// The average lead's log-odds beyond β × the prior's.
    pub intercept: f64,
    /// Conversion rate of the training leads; `None` without history.
    pub base_rate: Option<f64>,
    /// Only values seen in training; each attribute's average 0 over the training leads,
    /// so a value never seen counts as average.
    pub weights: BTreeMap<Attribute, BTreeMap<String, Weight>>,
    pub metrics: Metrics,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confidence {
    pub level: Level,
    /// Training leads behind the lead's least-known feature (0: a value never seen).
    pub support: u32,
}

/// One reason the prediction differs from the rule prior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// An attribute name, or `rule_score` / `baseline` for the model's own terms.
    pub feature: String,
    pub value: String,
    pub logit: f64,
    pub points: i32,
    /// "+12 pts: channel trade_show converts 3.1× the average".
    pub text: String,
}

/// P(converted) with its reasons. Two identities hold: `logit(prior) + Σ factor.logit ==
/// log_odds`, and `prior_points + Σ factor.points == points`, where points are percentage
/// points of probability. The move from prior to probability is shared among factors in
/// proportion to their log-odds (the sigmoid's secant slope between the two), then
/// rounded with the largest remainder so the integers still add up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub probability: f64,
    pub log_odds: f64,
    /// Percent chance of converting, 0–100.
    pub points: i32,
    /// The rule prior, as used (clamped away from 0 and 1).
    pub prior: f64,
    pub prior_points: i32,
    /// Largest effect first.
    pub factors: Vec<Factor>,
    pub confidence: Confidence,
    pub model_version: u32,
}

impl Prediction {
    pub fn top_factors(&self, n: usize) -> &[Factor] {
        &self.factors[..n.min(self.factors.len())]
    }
}

/// Where a factor's log-odds come from; decides its words.
enum Term<'a> {
    RuleScore,
    Baseline,
    Value(Attribute, &'a str, &'a Weight),
}

impl Model {
    /// The model before any outcome: every prediction is the rule prior.
    pub fn prior_only(version: u32, now: DateTime<Utc>) -> Self {
        train(&Dataset::default(), &TrainConfig::default(), version, now)
    }

    pub fn weight(&self, attribute: Attribute, value: &str) -> Option<&Weight> {
        self.weights.get(&attribute)?.get(value)
    }

    /// The probability `features` convert, starting from the rule `prior`.
    pub fn predict(&self, features: &Features, prior: f64) -> Prediction {
        let prior = clamp_probability(prior);
        let prior_logit = logit(prior);
        let mut terms: Vec<(Term, f64)> = vec![
            (
                Term::RuleScore,
                (self.prior_weight - 1.0) * (prior_logit - self.prior_centre),
            ),
            (Term::Baseline, self.intercept),
        ];
        for (attribute, value) in features.iter() {
            if let Some(weight) = self.weight(attribute, value) {
                terms.push((Term::Value(attribute, value, weight), weight.logit));
            }
        }
        terms.retain(|(_, logit)| logit.abs() > NEGLIGIBLE_LOGIT);
        terms.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));

        let log_odds = prior_logit + terms.iter().map(|(_, l)| l).sum::<f64>();
        let probability = if terms.is_empty() { prior } else { sigmoid(log_odds) };
        let slope = secant_slope(prior_logit, log_odds);
        let shares: Vec<f64> = std::iter::once(100.0 * prior)
            .chain(terms.iter().map(|(_, l)| 100.0 * slope * l))
            .collect();
        let rounded = round_preserving_sum(&shares);
        let factors = terms
            .iter()
            .zip(&rounded[1..])
            .map(|((term, logit), &points)| self.factor(term, *logit, points))
            .collect();
        Prediction {
            probability,
            log_odds,
            points: rounded.iter().sum(),
            prior,
            prior_points: rounded[0],
            factors,
            confidence: self.confidence(features),
            model_version: self.version,
        }
    }

    fn confidence(&self, features: &Features) -> Confidence {
        let training = u32::try_from(self.metrics.training_size).unwrap_or(u32::MAX);
        let support = features
            .iter()
            .filter(|(_, value)| *value != PENDING)
            .map(|(attribute, value)| self.weight(attribute, value).map_or(0, |w| w.support))
            .fold(training, u32::min);
        let level = match support {
            _ if self.metrics.training_size < MIN_TRAINING_OUTCOMES => Level::Low,
            s if s < THIN_SUPPORT => Level::Low,
            s if s < SOLID_SUPPORT => Level::Medium,
            _ => Level::High,
        };
        Confidence { level, support }
    }

    fn factor(&self, term: &Term, logit: f64, points: i32) -> Factor {
        let (feature, value, reason) = match term {
            Term::RuleScore => (
                "rule_score".to_string(),
                String::new(),
                format!("history weighs the rule score ×{:.2}", self.prior_weight),
            ),
            Term::Baseline => (
                "baseline".to_string(),
                String::new(),
                format!("history as a whole, odds ×{:.2}", logit.exp()),
            ),
            Term::Value(attribute, value, weight) => (
                attribute.as_str().to_string(),
                value.to_string(),
                self.value_reason(*attribute, value, weight),
            ),
        };
        Factor {
            feature,
            value,
            logit,
            points,
            text: format!("{points:+} pts: {reason}"),
        }
    }

    /// The value's own record ("channel trade_show converts 3.1× the average"), and when
    /// the weight tells a different story, why: a big company converts often, but its fit
    /// points already said so.
    fn value_reason(&self, attribute: Attribute, value: &str, weight: &Weight) -> String {
        let name = format!("{} {value}", attribute.label());
        let Some(rate) = self.base_rate.filter(|rate| *rate > 0.0) else {
            return format!("{name}, none of {} past leads converted", weight.support);
        };
        if weight.support < THIN_SUPPORT {
            return format!("{name}, only {} past leads", weight.support);
        }
        let ratio = f64::from(weight.positives) / f64::from(weight.support) / rate;
        let record = format!("{name} converts {ratio:.1}× the average");
        let (own, seen) = (weight.logit, ratio.ln());
        if own * seen > 0.0 && 2.0 * own.abs() >= seen.abs() {
            record
        } else if own * seen > 0.0 {
            format!("{record}, mostly explained by its other factors")
        } else if own > 0.0 {
            format!("{record}, better than its other factors predict")
        } else {
            format!("{record}, worse than its other factors predict")
        }
    }
}

/// (σ(to) − σ(from)) / (to − from), the derivative where the two meet: always in (0, ¼].
fn secant_slope(from: f64, to: f64) -> f64 {
    if (to - from).abs() < 1e-9 {
        let p = sigmoid(from);
        p * (1.0 - p)
    } else {
        (sigmoid(to) - sigmoid(from)) / (to - from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predict::Example;

    fn now() -> DateTime<Utc> {
        "2026-11-01T00:00:00Z".parse().unwrap()
    }

    fn trade_show() -> Features {
        Features::default().with(Attribute::Channel, "trade_show")
    }

    /// 400 trade-show leads converting 30 % and 600 web leads converting 5 %, all with a
    /// 10 % prior.
    fn two_channel_model() -> Model {
        let examples = (0..1000).map(|i| {
            let (channel, converted) = if i < 400 {
                ("trade_show", i % 10 < 3)
            } else {
                ("web", i % 20 == 0)
            };
            Example {
                key: format!("lead-{i}"),
                features: Features::default().with(Attribute::Channel, channel),
                prior: 0.1,
                converted,
            }
        });
        let config = TrainConfig {
            holdout_share: 0.0,
            ..TrainConfig::default()
        };
        train(&examples.collect(), &config, 2, now())
    }

    #[test]
    fn no_history_predicts_the_prior_exactly_with_low_confidence() {
        let model = Model::prior_only(1, now());
        let p = model.predict(&trade_show(), 0.137);
        assert_eq!(p.probability, 0.137);
        assert!(p.factors.is_empty());
        assert_eq!((p.points, p.prior_points), (14, 14));
        assert_eq!(
            p.confidence,
            Confidence {
                level: Level::Low,
                support: 0
            }
        );
    }

    #[test]
    fn factors_add_up_in_log_odds_and_in_points() {
        let model = two_channel_model();
        for (features, prior) in [
            (trade_show(), 0.1),
            (Features::default().with(Attribute::Channel, "web"), 0.3),
        ] {
            let p = model.predict(&features, prior);
            let sum: f64 = p.factors.iter().map(|f| f.logit).sum();
            assert!((logit(p.prior) + sum - p.log_odds).abs() < 1e-12);
            assert_eq!(
                p.prior_points + p.factors.iter().map(|f| f.points).sum::<i32>(),
                p.points
            );
            assert_eq!(p.points, (p.probability * 100.0).round() as i32);
        }
    }

    #[test]
    fn explanations_speak_of_the_channel_record() {
        let p = two_channel_model().predict(&trade_show(), 0.1);
        assert!(p.probability > 0.2, "{p:?}");
        let channel = p.factors.iter().find(|f| f.feature == "channel").unwrap();
        assert!(channel.points > 0);
        assert_eq!(
            channel.text,
            format!("+{} pts: channel trade_show converts 2.0× the average", channel.points)
        );
        assert_eq!(
            p.confidence,
            Confidence {
                level: Level::High,
                support: 400
            }
        );
        assert!(
            p.factors.iter().all(|f| f.feature != "campaign"),
            "a value every lead shares says nothing"
        );
        assert_eq!(p.top_factors(1)[0].feature, "channel");
    }

    #[test]
    fn round_trips_through_json() {
        let model = two_channel_model();
        let text = serde_json::to_string(&model).unwrap();
        assert!(text.contains(r#""channel":{"trade_show":"#), "{text}");
        let back: Model = serde_json::from_str(&text).unwrap();
        assert_close(
            &serde_json::to_value(&back).unwrap(),
            &serde_json::to_value(&model).unwrap(),
        );
    }

    /// Equal, but numbers only to the last bit or so (serde_json's float parsing may differ
    /// by one ulp).
    fn assert_close(a: &serde_json::Value, b: &serde_json::Value) {
        use serde_json::Value;
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                assert!((x - y).abs() <= 1e-15 * x.abs().max(1.0), "{x} vs {y}");
            }
            (Value::Array(xs), Value::Array(ys)) => {
                assert_eq!(xs.len(), ys.len());
                xs.iter().zip(ys).for_each(|(x, y)| assert_close(x, y));
            }
            (Value::Object(xs), Value::Object(ys)) => {
                assert!(xs.keys().eq(ys.keys()));
                xs.values().zip(ys.values()).for_each(|(x, y)| assert_close(x, y));
            }
            _ => assert_eq!(a, b),
        }
    }

    #[test]
    fn secant_slope_is_the_derivative_at_a_point() {
        assert!((secant_slope(0.0, 0.0) - 0.25).abs() < 1e-12);
        assert!(secant_slope(-3.0, 1.0) > 0.0 && secant_slope(1.0, -3.0) == secant_slope(-3.0, 1.0));
    }
}
