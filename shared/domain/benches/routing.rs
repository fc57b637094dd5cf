//! CPU per routing decision: choosing the pool by ordered rules, then the rep in a large
//! weighted pool (eligibility with shifts in time zones, tiers, weights, rotation).
//!
//! `cargo bench -p leadflow-domain --bench routing`

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use domain::lead::{Company, Lead, LeadId};
use domain::routing::{
    choose_pool, route, Decision, Pool, PoolState, Rep, RepLoad, RouteRule, RoutingConfig, Strategy, Tier, WorkingHours,
};
use domain::scoring::Grade;
use std::collections::BTreeMap;
use std::hint::black_box;

fn routing(c: &mut Criterion) {
    let now: DateTime<Utc> = "2026-11-23T02:00:00Z".parse().unwrap();
    let provinces = [
        "上海", "广东", "浙江", "江苏", "四川", "湖北", "山东", "福建", "河南", "湖南",
    ];
    let mut rules: Vec<RouteRule> = provinces
        .iter()
        .flat_map(|p| {
            [
                RouteRule {
                    pool: format!("{p}-a"),
                    provinces: vec![p.to_string()],
                    grades: vec![Grade::A],
                    ..RouteRule::default()
                },
                RouteRule {
                    pool: p.to_string(),
                    provinces: vec![p.to_string()],
                    ..RouteRule::default()
                },
            ]
        })
        .collect();
    rules.push(RouteRule {
        pool: "beijing".into(),
        provinces: vec!["北京".into()],
        ..RouteRule::default()
    });
    let config = RoutingConfig {
        rules,
        ..RoutingConfig::default()
    };
    let mut lead = Lead::new(LeadId::generate(now), "web_form", now);
    lead.company = Some(Company {
        raw: "北京纷扬科技有限公司".into(),
        core: "纷扬".into(),
    });
    assert_eq!(choose_pool(&lead, &config), "beijing", "the last of 21 rules matches");

    let tiers = [Tier::Top, Tier::Regular, Tier::Regular, Tier::New];
    let reps: BTreeMap<String, Rep> = (0..50)
        .map(|i| {
            let rep = Rep {
                id: format!("rep-{i:02}"),
                name: format!("Rep {i}"),
                team: "north".into(),
                department: "sales".into(),
                tier: tiers[i % 4],
                weight: 1 + (i as u32 % 5),
                holding_cap: None,
                daily_cap: Some(40),
                working_hours: Some(WorkingHours {
                    time_zone: chrono_tz::Asia::Shanghai,
                    days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
                    start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                    end: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
                }),
                out_of_office: Vec::new(),
                webhook: None,
                active: true,
            };
            (rep.id.clone(), rep)
        })
        .collect();
    let loads: BTreeMap<String, RepLoad> = reps
        .keys()
        .enumerate()
        .map(|(i, id)| {
            let load = RepLoad {
                active_leads: (i as u32 * 7) % 60,
                assigned_today: (i as u32 * 3) % 40,
            };
            (id.clone(), load)
        })
        .collect();
    let pool = Pool {
        id: "beijing".into(),
        name: "北京".into(),
        strategy: Strategy::Weighted,
        members: reps.keys().cloned().collect(),
        daily_cap: None,
        daily_claim_cap: None,
        webhook: None,
    };
    let state = PoolState {
        assigned: reps
            .keys()
            .enumerate()
            .map(|(i, id)| (id.clone(), 100 + i as u64))
            .collect(),
        last_rep: Some("rep-07".into()),
        assigned_today: 120,
        claimed_today: 0,
    };
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
