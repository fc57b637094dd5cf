//! The sales org the routing and per-lead benchmarks route in.

use chrono::{NaiveTime, Weekday};
use domain::{
    assign::routing::Pool, assign::routing::PoolState, assign::routing::Rep, assign::routing::RepLoad,
    assign::routing::RouteRule, assign::routing::RoutingConfig, assign::routing::Strategy, assign::routing::Tier,
    assign::routing::WorkingHours,
};
use std::collections::BTreeMap;

/// Ten provinces with an A-grade pool and a general pool each (20 rules) before the
/// Beijing rule; a weighted Beijing pool of `size` reps on Beijing office hours, with
/// tiers, weights, daily caps and loads that vary.
pub fn sales_org(
    size: usize,
) -> (
    RoutingConfig,
    Pool,
    BTreeMap<String, Rep>,
    BTreeMap<String, RepLoad>,
    PoolState,
) {
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
                    grades: vec![domain::lead::qualification::Grade::A],
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
    let tiers = [Tier::Top, Tier::Regular, Tier::Regular, Tier::New];
    let reps: BTreeMap<String, Rep> = (0..size)
        .map(|i| {
            let rep = Rep {
                id: format!("rep-{i:02}"),
                name: format!("Rep {i}"),
                team: "north".into(),
                department: "华北销售部".into(),
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
    let loads = reps
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
        last_rep: Some("rep-03".into()),
        assigned_today: 120,
        claimed_today: 0,
    };
    (config, pool, reps, loads, state)
}
