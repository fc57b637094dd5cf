//! The predictive score's costs: training on a million historical leads (the monthly
//! job), and scoring one lead (features + prediction with its explanation), which runs
//! on every score change.
//!
//! `cargo bench -p leadflow-domain --bench predict`

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use domain::lead::{Lead, LeadId};
use domain::predict::synthetic::history;
use domain::predict::{features_of, rule_prior, train, Dataset, TrainConfig};
use domain::{qualify::scoring::score, qualify::scoring::ScoringRules};
use std::hint::black_box;
use std::time::Duration;

const HISTORY: usize = 1_000_000;

fn now() -> DateTime<Utc> {
    "2026-11-23T02:00:00Z".parse().unwrap()
}

fn training(c: &mut Criterion) {
    let data: Dataset = history(1).take(HISTORY).map(|lead| lead.example).collect();
    let mut group = c.benchmark_group("predict_train");
    group.sample_size(10).measurement_time(Duration::from_secs(60));
    group.throughput(Throughput::Elements(HISTORY as u64));
    group.bench_function("train_1m_leads", |b| {
        b.iter(|| train(black_box(&data), &TrainConfig::default(), 1, now()))
    });
    group.finish();
}

fn scoring(c: &mut Criterion) {
    let data: Dataset = history(1).take(100_000).map(|lead| lead.example).collect();
    let model = train(&data, &TrainConfig::default(), 1, now());
    let mut lead = Lead::new(LeadId::generate(now()), "trade_show", now());
    lead.source.campaign_id = Some("expo-2026".into());
    lead.profile.industry = Some("software".into());
    lead.profile.province = Some("北京".into());
    lead.profile.company_size = Some("1000人以上".into());
    lead.profile.title = Some("销售总监".into());
    lead.score = Some(score(&lead, &[], &ScoringRules::default(), now()));
    let mut group = c.benchmark_group("predict_score");
    group.throughput(Throughput::Elements(1));
    let features = features_of(&lead, now());
    group.bench_function("prediction_given_features", |b| {
        b.iter(|| model.predict(black_box(&features), rule_prior(&lead)))
    });
    group.bench_function("features_and_prediction_per_lead", |b| {
        b.iter(|| {
            let lead = black_box(&lead);
            model.predict(&features_of(lead, now()), rule_prior(lead))
        })
    });
    group.finish();
}

criterion_group!(benches, training, scoring);
criterion_main!(benches);
