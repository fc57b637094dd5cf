//! Fitting the model: ridge-penalised logistic regression by block coordinate Newton.
//!
//! Each lead has exactly one value per attribute, so within one attribute the columns
//! never overlap and the Newton step for all its values at once is exact and cheap: one
//! pass over the leads. Each attribute's weights are held to average zero over the
//! training leads (effect coding): a weight then reads "better or worse than the average
//! lead", a value never seen counts as average, and only the intercept moves the overall
//! level, so a few outcomes cannot shift it through nine side doors. The constrained step
//! has a closed form. The intercept and β move together in a 2×2 step.

use super::features::Attribute;
use super::metrics::Metrics;
use super::model::{Model, Weight};
use super::outcome::Example;
use super::{logit, sigmoid, stable_unit};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

const GROUPS: usize = Attribute::COUNT;
/// No single Newton step moves a log-odds further than this (far from the optimum the
/// quadratic model can overshoot).
const MAX_STEP: f64 = 2.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Ridge strength λ, pulling β towards 1 and everything else towards 0. A value seen
    /// on n leads converting around 10 % moves about 0.09n / (0.09n + λ) of the way from
    /// the prior to what its own record says: with λ = 5, a third at 30 leads, 95 % at 1,000.
    pub l2: f64,
    /// Share of examples kept out of training to measure the model (by a hash of the key).
    pub holdout_share: f64,
    pub max_sweeps: u32,
    /// Stop when no parameter moves more than this in a sweep.
    pub tolerance: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            l2: 5.0,
            holdout_share: 0.2,
            max_sweeps: 200,
            tolerance: 1e-6,
        }
    }
}

/// Examples encoded for training: each attribute's values as small integer codes, one
/// column per attribute, so a million leads take tens of megabytes.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    values: [Vec<String>; GROUPS],
    codes: [HashMap<String, u32>; GROUPS],
    columns: [Vec<u32>; GROUPS],
    prior_logits: Vec<f64>,
    converted: Vec<bool>,
    /// Where each example falls in [0, 1): below the hold-out share it is held out.
    split: Vec<f64>,
}

impl Dataset {
    pub fn push(&mut self, example: &Example) {
        for (group, (_, value)) in example.features.iter().enumerate() {
            let code = match self.codes[group].get(value) {
                Some(&code) => code,
                None => {
                    let code = self.values[group].len() as u32;
                    self.values[group].push(value.to_string());
                    self.codes[group].insert(value.to_string(), code);
                    code
                }
            };
            self.columns[group].push(code);
        }
        self.prior_logits.push(logit(example.prior));
        self.converted.push(example.converted);
        self.split.push(stable_unit("holdout", &example.key));
    }

    pub fn len(&self) -> usize {
        self.converted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.converted.is_empty()
    }

    fn code(&self, group: usize, row: usize) -> usize {
        self.columns[group][row] as usize
    }
}

impl FromIterator<Example> for Dataset {
    fn from_iter<I: IntoIterator<Item = Example>>(examples: I) -> Self {
        let mut data = Dataset::default();
        examples.into_iter().for_each(|e| data.push(&e));
        data
    }
}

/// Trains on the examples outside the hold-out and measures on the rest. Deterministic:
/// the same data and config give the same model.
pub fn train(data: &Dataset, config: &TrainConfig, version: u32, now: DateTime<Utc>) -> Model {
    let (training, holdout): (Vec<usize>, Vec<usize>) =
        (0..data.len()).partition(|&row| data.split[row] >= config.holdout_share);
    let tally = Tally::of(data, &training);
    let prior_centre = match training.len() {
        0 => 0.0,
        n => training.iter().map(|&row| data.prior_logits[row]).sum::<f64>() / n as f64,
    };
    let mut fit = Fit::start(data, prior_centre);
    let mut margins: Vec<f64> = training.iter().map(|&row| data.prior_logits[row]).collect();
    for _ in 0..config.max_sweeps {
        if fit.sweep(data, &training, &mut margins, &tally, config.l2) < config.tolerance {
            break;
        }
    }

    let scored: Vec<(f64, f64, bool)> = holdout
        .iter()
        .map(|&row| {
            let prior = sigmoid(data.prior_logits[row]);
            (sigmoid(fit.margin(data, row)), prior, data.converted[row])
        })
        .collect();
    let positives = training.iter().filter(|&&row| data.converted[row]).count();
    Model {
        version,
        config: config.clone(),
        prior_weight: fit.prior_weight,
        prior_centre,
        intercept: fit.intercept,
        base_rate: (!training.is_empty()).then(|| positives as f64 / training.len() as f64),
        weights: fit.weights_by_value(data, &tally),
        metrics: Metrics::measure(&scored, training.len(), positives, now),
    }
}

/// Training leads and conversions behind each value.
struct Tally {
    support: [Vec<u32>; GROUPS],
    positives: [Vec<u32>; GROUPS],
}

impl Tally {
    fn of(data: &Dataset, rows: &[usize]) -> Self {
        let zeros = |group: usize| vec![0u32; data.values[group].len()];
        let mut tally = Tally {
            support: std::array::from_fn(zeros),
            positives: std::array::from_fn(zeros),
        };
        for group in 0..GROUPS {
            for &row in rows {
                let code = data.code(group, row);
                tally.support[group][code] += 1;
                tally.positives[group][code] += u32::from(data.converted[row]);
            }
        }
        tally
    }
}

/// The parameters while fitting (see [`Model`] for the formula).
#[derive(Clone)]
struct Fit {
    prior_weight: f64,
    prior_centre: f64,
    intercept: f64,
    weights: [Vec<f64>; GROUPS],
}

impl Fit {
    /// The prior, untouched.
    fn start(data: &Dataset, prior_centre: f64) -> Self {
        Fit {
            prior_weight: 1.0,
            prior_centre,
            intercept: 0.0,
            weights: std::array::from_fn(|group| vec![0.0; data.values[group].len()]),
        }
    }

    fn margin(&self, data: &Dataset, row: usize) -> f64 {
        let x = data.prior_logits[row];
        let weights: f64 = (0..GROUPS).map(|g| self.weights[g][data.code(g, row)]).sum();
        x + (self.prior_weight - 1.0) * (x - self.prior_centre) + self.intercept + weights
    }

    /// One round over every parameter, then a step along the round's net direction;
    /// returns the largest change made.
    fn sweep(&mut self, data: &Dataset, rows: &[usize], margins: &mut [f64], tally: &Tally, l2: f64) -> f64 {
        let (start, start_margins) = (self.clone(), margins.to_vec());
        let mut largest = self.step_prior_terms(data, rows, margins, l2);
        for group in 0..GROUPS {
            largest = largest.max(self.step_group(group, data, rows, margins, &tally.support[group], l2));
        }
        largest.max(self.extrapolate(&start, &start_margins, data, rows, margins, l2))
    }

    /// Attributes that overlap (the prior, fit grade and company size say similar things)
    /// make coordinate steps zig-zag towards the optimum; one Newton step along the net
    /// direction of the round covers many rounds for the price of a pass.
    fn extrapolate(
        &mut self,
        start: &Fit,
        start_margins: &[f64],
        data: &Dataset,
        rows: &[usize],
        margins: &mut [f64],
        l2: f64,
    ) -> f64 {
        let (mut gradient, mut curvature, mut widest) = (0.0, 0.0, 0.0f64);
        for (value, before, centre) in self.parameters_since(start) {
            let moved = *value - before;
            gradient -= l2 * (*value - centre) * moved;
            curvature += l2 * moved * moved;
            widest = widest.max(moved.abs());
        }
        for ((&row, &margin), &before) in rows.iter().zip(margins.iter()).zip(start_margins) {
            let (r, h) = residual_and_curvature(margin, data.converted[row]);
            let moved = margin - before;
            gradient += r * moved;
            curvature += h * moved * moved;
        }
        if widest == 0.0 || curvature <= 0.0 {
            return 0.0;
        }
        let reach = MAX_STEP / widest;
        let stride = (gradient / curvature).clamp(-reach, reach);
        for (value, before, _) in self.parameters_since(start) {
            *value += stride * (*value - before);
        }
        for (margin, &before) in margins.iter_mut().zip(start_margins) {
            *margin += stride * (*margin - before);
        }
        stride.abs() * widest
    }

    /// Every parameter with its value at `start` and the value its penalty pulls it to.
    fn parameters_since<'a>(&'a mut self, start: &'a Fit) -> impl Iterator<Item = (&'a mut f64, f64, f64)> {
        let weights = self.weights.iter_mut().zip(&start.weights);
        [
            (&mut self.intercept, start.intercept, 0.0),
            (&mut self.prior_weight, start.prior_weight, 1.0),
        ]
        .into_iter()
        .chain(weights.flat_map(|(now, then)| now.iter_mut().zip(then).map(|(w, &before)| (w, before, 0.0))))
    }

    /// Joint Newton step for (intercept, β), with β's penalty centred on 1.
    fn step_prior_terms(&mut self, data: &Dataset, rows: &[usize], margins: &mut [f64], l2: f64) -> f64 {
        let [mut r, mut rx, mut h, mut hx, mut hxx] = [0.0; 5];
        for (&row, &margin) in rows.iter().zip(margins.iter()) {
            let (residual, curvature) = residual_and_curvature(margin, data.converted[row]);
            let x = data.prior_logits[row] - self.prior_centre;
            r += residual;
            rx += residual * x;
            h += curvature;
            hx += curvature * x;
            hxx += curvature * x * x;
        }
        let gradient = [r - l2 * self.intercept, rx - l2 * (self.prior_weight - 1.0)];
        let (a, b, d) = (h + l2, hx, hxx + l2);
        let det = a * d - b * b;
        let mut steps = [
            (d * gradient[0] - b * gradient[1]) / det,
            (a * gradient[1] - b * gradient[0]) / det,
        ];
        let largest = damp(&mut steps);
        let [step_intercept, step_weight] = steps;
        self.intercept += step_intercept;
        self.prior_weight += step_weight;
        for (&row, margin) in rows.iter().zip(margins.iter_mut()) {
            *margin += step_intercept + step_weight * (data.prior_logits[row] - self.prior_centre);
        }
        largest
    }

    /// Newton step for all values of one attribute at once (their columns never overlap),
    /// keeping Σ support · weight = 0: the free step minus a multiple μ of support / curvature.
    fn step_group(
        &mut self,
        group: usize,
        data: &Dataset,
        rows: &[usize],
        margins: &mut [f64],
        support: &[u32],
        l2: f64,
    ) -> f64 {
        let weights = &mut self.weights[group];
        let mut gradient: Vec<f64> = weights.iter().map(|w| -l2 * w).collect();
        let mut curvature = vec![l2; weights.len()];
        for (&row, &margin) in rows.iter().zip(margins.iter()) {
            let (r, h) = residual_and_curvature(margin, data.converted[row]);
            let code = data.code(group, row);
            gradient[code] += r;
            curvature[code] += h;
        }
        let n = |v: usize| f64::from(support[v]);
        let values = 0..weights.len();
        let numerator: f64 = values.clone().map(|v| n(v) * gradient[v] / curvature[v]).sum();
        let denominator: f64 = values.clone().map(|v| n(v) * n(v) / curvature[v]).sum();
        let mu = if denominator > 0.0 {
            numerator / denominator
        } else {
            0.0
        };
        let mut steps: Vec<f64> = values.map(|v| (gradient[v] - mu * n(v)) / curvature[v]).collect();
        let largest = damp(&mut steps);
        weights.iter_mut().zip(&steps).for_each(|(w, s)| *w += s);
        for (&row, margin) in rows.iter().zip(margins.iter_mut()) {
            *margin += steps[data.code(group, row)];
        }
        largest
    }

    fn weights_by_value(&self, data: &Dataset, tally: &Tally) -> BTreeMap<Attribute, BTreeMap<String, Weight>> {
        let mut all = BTreeMap::new();
        for (group, attribute) in Attribute::ALL.into_iter().enumerate() {
            let seen: BTreeMap<String, Weight> = (0..data.values[group].len())
                .filter(|&v| tally.support[group][v] > 0)
                .map(|v| {
                    let weight = Weight {
                        logit: self.weights[group][v],
                        support: tally.support[group][v],
                        positives: tally.positives[group][v],
                    };
                    (data.values[group][v].clone(), weight)
                })
                .collect();
            if !seen.is_empty() {
                all.insert(attribute, seen);
            }
        }
        all
    }
}

/// (y − p, p(1 − p)) at this margin: the log-likelihood's slope and curvature.
fn residual_and_curvature(margin: f64, converted: bool) -> (f64, f64) {
    let p = sigmoid(margin);
    (f64::from(u8::from(converted)) - p, p * (1.0 - p))
}

/// Scales a step down so no part of it exceeds [`MAX_STEP`] (scaling, not clipping, keeps
/// its direction and so the constraint); returns its largest part as taken.
fn damp(steps: &mut [f64]) -> f64 {
    let largest = steps.iter().fold(0.0, |m: f64, s| m.max(s.abs()));
    if largest > MAX_STEP {
        steps.iter_mut().for_each(|s| *s *= MAX_STEP / largest);
    }
    largest.min(MAX_STEP)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predict::features::Features;
    use crate::predict::metrics::auc;

    fn now() -> DateTime<Utc> {
        "2026-11-01T00:00:00Z".parse().unwrap()
    }

    /// Size matters (1000+ converts 40 %, <50 about 24 %); the prior says nothing.
    fn examples(n: usize) -> Vec<Example> {
        (0..n)
            .map(|i| {
                let big = i % 2 == 0;
                let converted = if big { i % 10 < 4 } else { i % 10 == 1 || i % 50 == 3 };
                Example {
                    key: format!("lead-{i}"),
                    features: Features::default().with(Attribute::Size, if big { "1000+" } else { "<50" }),
                    prior: if i % 3 == 0 { 0.2 } else { 0.1 },
                    converted,
                }
            })
            .collect()
    }

    #[test]
    fn the_fit_is_a_ridge_optimum_and_deterministic() {
        let data: Dataset = examples(5_000).into_iter().collect();
        let config = TrainConfig::default();
        let model = train(&data, &config, 1, now());
        assert_eq!(model, train(&data, &config, 1, now()));
        let size = &model.weights[&Attribute::Size];
        assert!(size["1000+"].logit > 0.3 && size["<50"].logit < -0.3, "{size:?}");
        assert!(model.prior_weight < 0.5, "an uninformative prior loses its weight");
        let centred = size.values().map(|w| w.logit * f64::from(w.support)).sum::<f64>();
        assert!(centred.abs() < 1e-9, "weights average to zero over training leads");
        assert!(model.metrics.training_size + model.metrics.holdout_size == 5_000);
        assert!((model.metrics.holdout_size as f64 - 1_000.0).abs() < 100.0);
    }

    #[test]
    fn holdout_metrics_match_what_predict_gives() {
        let all = examples(5_000);
        let data: Dataset = all.iter().cloned().collect();
        let model = train(&data, &TrainConfig::default(), 1, now());
        let scored: Vec<(f64, bool)> = all
            .iter()
            .filter(|e| stable_unit("holdout", &e.key) < 0.2)
            .map(|e| (model.predict(&e.features, e.prior).probability, e.converted))
            .collect();
        assert_eq!(scored.len(), model.metrics.holdout_size);
        assert!((auc(&scored).unwrap() - model.metrics.auc.unwrap()).abs() < 1e-12);
    }

    #[test]
    fn few_outcomes_barely_move_the_prior() {
        let big = Features::default().with(Attribute::Size, "1000+");
        let predict = |n: usize| {
            let model = train(&examples(n).into_iter().collect(), &TrainConfig::default(), 1, now());
            model.predict(&big, 0.1)
        };
        let few = predict(10);
        assert!((few.probability - 0.1).abs() < 0.05, "{few:?}");
        assert_eq!(few.confidence.level, crate::lead::qualification::Level::Low);
        let many = predict(5_000);
        assert!((many.probability - 0.4).abs() < 0.03, "data take over: {many:?}");
    }
}
