//! CPU to attribute one conversion over 1,000 touchpoints, per model.
//!
//! `cargo bench -p leadflow-domain --bench attribution`

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use domain::{
    attribution::multi_touch::attribute, attribution::multi_touch::in_window, attribution::multi_touch::Model,
    attribution::multi_touch::Touch,
};
use std::hint::black_box;

fn attribution(c: &mut Criterion) {
    let start: DateTime<Utc> = "2026-08-01T00:00:00Z".parse().unwrap();
    let touches: Vec<Touch> = (0..1_000)
        .map(|i| Touch {
            id: format!("touch-{i:04}"),
            at: start + Duration::minutes(i * 120),
        })
        .collect();
    let converted_at = start + Duration::days(90);
    let counted = in_window(&touches, converted_at, Duration::days(90));
    assert_eq!(counted.len(), 1_000);
    let mut group = c.benchmark_group("attribute 1,000 touches");
    for (name, model) in [
        ("linear", Model::Linear),
        ("u_shaped", Model::U_SHAPED),
        ("w_shaped", Model::W_SHAPED),
        ("time_decay", Model::TimeDecay { half_life_days: 7 }),
    ] {
        let credits = attribute(&model, &counted, converted_at, 123_456_789, Some("touch-0500"));
        assert_eq!(credits.iter().map(|c| c.cents).sum::<i64>(), 123_456_789);
        group.bench_function(name, |b| {
            b.iter(|| {
                attribute(
                    black_box(&model),
                    &counted,
                    converted_at,
                    123_456_789,
                    Some("touch-0500"),
                )
            })
        });
    }
    group.bench_function("window + sort of the raw touches", |b| {
        b.iter(|| in_window(black_box(&touches), converted_at, Duration::days(90)))
    });
    group.finish();
}

/// A whole conversion as the attribution function computes it: every default model over
/// 1,000 touchpoints from 50 sources, into rollup rows (the plan it stores and applies).
fn conversion_plan(c: &mut Criterion) {
    use domain::lead::events::EventKind;
    use domain::lead::{Lead, LeadId, Source, Touchpoint};
    use domain::{attribution::conversion::Conversion, attribution::conversion::ConversionKind};
    use domain::{attribution::credit::plan, attribution::credit::AttributionConfig};
    let start: DateTime<Utc> = "2026-08-01T00:00:00Z".parse().unwrap();
    let lead = Lead::new(LeadId::generate(start), "baidu_sem", start);
    let touches: Vec<Touchpoint> = (0..1_000)
        .map(|i| Touchpoint {
            lead_id: Some(lead.id.clone()),
            anon_key: None,
            id: format!("touch-{i:04}"),
            kind: EventKind::PageView,
            occurred_at: start + Duration::minutes(i * 120),
            source: Source {
                channel: format!("channel-{}", i % 5),
                campaign_id: Some(format!("campaign-{}", i % 50)),
                ..Source::default()
            },
        })
        .collect();
    let order = Conversion {
        external_id: "ORD-1".into(),
        revision: 1,
        lead_id: lead.id.clone(),
        kind: ConversionKind::Order,
        amount_cents: 123_456_789,
        currency: "CNY".into(),
        occurred_at: start + Duration::days(90),
        cancelled: false,
        recorded_at: start + Duration::days(90),
        recorded_by: "crm".into(),
    };
    let config = AttributionConfig::default();
    let opportunity = Some(start + Duration::days(40));
    let rows = plan(&order, &lead, &touches, opportunity, &config);
    // Four spreading models x 50 campaigns, first and last touch one row each, the funnel row.
    assert_eq!(rows.len(), 203);
    c.bench_function("plan: 6 models over 1,000 touches (50 sources)", |b| {
        b.iter(|| plan(black_box(&order), &lead, &touches, opportunity, &config))
    });
}

criterion_group!(benches, attribution, conversion_plan);
criterion_main!(benches);
