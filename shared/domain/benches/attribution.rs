//! CPU to attribute one conversion over 1,000 touchpoints, per model.
//!
//! `cargo bench -p leadflow-domain --bench attribution`

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use domain::attribution::{attribute, in_window, Model, Touch};
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

criterion_group!(benches, attribution);
criterion_main!(benches);
