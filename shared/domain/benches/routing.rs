//! CPU per routing decision: choosing the pool by ordered rules, then the rep in a large
//! weighted pool (eligibility with shifts in time zones, tiers, weights, rotation).
//!
//! `cargo bench -p leadflow-domain --bench routing`

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use domain::lead::qualification::Grade;
use domain::lead::{Company, Lead, LeadId};
use domain::{assign::routing::choose_pool, assign::routing::route, assign::routing::Decision};
use std::hint::black_box;

#[path = "common/org.rs"]
mod org;

fn routing(c: &mut Criterion) {
    // Monday 10:00 in Beijing: the pool is at work.
    let now: DateTime<Utc> = "2026-11-23T02:00:00Z".parse().unwrap();
    let (config, pool, reps, loads, state) = org::sales_org(50);
    let mut lead = Lead::new(LeadId::generate(now), "web_form", now);
    lead.company = Some(Company {
        raw: "北京纷扬科技有限公司".into(),
        core: "纷扬".into(),
    });
    assert_eq!(choose_pool(&lead, &config), "beijing", "the last of 21 rules matches");
    let (decision, _) = route(&pool, &reps, &loads, &state, Some((Grade::B, 2)), now);
    assert!(matches!(decision, Decision::Assign { .. }), "{decision:?}");

    let mut group = c.benchmark_group("routing");
    group.throughput(Throughput::Elements(1));
    group.bench_function("choose pool (21 ordered rules, province from company name)", |b| {
        b.iter(|| choose_pool(black_box(&lead), black_box(&config)).len())
    });
    group.bench_function("route in a 50-member weighted pool", |b| {
        b.iter(|| route(black_box(&pool), &reps, &loads, &state, Some((Grade::B, 2)), now))
    });
    group.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
