//! CPU of the finance export over one year of rollups for 500 campaigns (every campaign
//! with rows on every day: 182,500 rows each of model credit, funnel and cost), grouped
//! by campaign and by channel, and written as CSV.
//!
//! `cargo bench -p leadflow-domain --bench roi`. The store side (items read) is measured
//! against the emulator by `cargo bench -p leadflow-tests --bench roi_export`.

use chrono::{Duration, NaiveDate};
use criterion::{criterion_group, criterion_main, Criterion};
use domain::{attribution::campaign::Campaign, attribution::campaign::CostDay, attribution::campaign::CostLine};
use domain::{attribution::reports::roi_csv, attribution::reports::roi_rows, attribution::reports::GroupBy};
use domain::{attribution::rollup::RollupRow, lead::funnel::SourceKey};
use std::hint::black_box;

fn year(campaigns: usize) -> (Vec<RollupRow>, Vec<RollupRow>, Vec<CostDay>, Vec<Campaign>) {
    let first: NaiveDate = "2025-01-01".parse().unwrap();
    let registry: Vec<Campaign> = (0..campaigns)
        .map(|i| Campaign {
            id: format!("campaign-{i:03}"),
            channel: format!("channel-{}", i % 12),
            name: format!("活动 {i}"),
            keywords: Vec::new(),
            branch: None,
            updated_at: None,
        })
        .collect();
    let (mut credit, mut funnel, mut costs) = (Vec::new(), Vec::new(), Vec::new());
    for day in (0..365).map(|d| first + Duration::days(d)) {
        for c in &registry {
            let source = SourceKey {
                channel: c.channel.clone(),
                campaign: c.id.clone(),
                keyword: String::new(),
            };
            credit.push(RollupRow::new("u_shaped", day, source.clone()).with("order_cents", 123_456));
            funnel.push(
                RollupRow::new("funnel", day, source)
                    .with("leads", 40)
                    .with("mql", 17)
                    .with("sql", 12)
                    .with("orders", 1),
            );
            costs.push(CostDay {
                campaign_id: c.id.clone(),
                day,
                lines: vec![CostLine {
                    keyword: String::new(),
                    ad_spend_cents: 500_000,
                    content_cents: 50_000,
                    labour_cents: 50_000,
                }],
                updated_at: None,
            });
        }
    }
    (credit, funnel, costs, registry)
}

fn export(c: &mut Criterion) {
    let (credit, funnel, costs, campaigns) = year(500);
    assert_eq!(credit.len(), 182_500);
    let mut group = c.benchmark_group("ROI export, 1 year x 500 campaigns");
    group.sample_size(10);
    group.bench_function("group by campaign + CSV", |b| {
        b.iter(|| {
            roi_csv(&roi_rows(
                GroupBy::Campaign,
                black_box(&credit),
                &funnel,
                &costs,
                &campaigns,
            ))
        })
    });
    group.bench_function("group by channel + CSV", |b| {
        b.iter(|| {
            roi_csv(&roi_rows(
                GroupBy::Channel,
                black_box(&credit),
                &funnel,
                &costs,
                &campaigns,
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, export);
criterion_main!(benches);
