//! Routing strategies and eligibility, including a statistical check of weighted routing
//! and round robin across membership changes.

use chrono::{DateTime, Duration, NaiveTime, Utc, Weekday};
use domain::assign::routing::*;
use domain::lead::qualification::Grade;
use domain::lead::{Company, Lead, LeadId};
use std::collections::BTreeMap;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn shift(tz: &str, start: &str, end: &str) -> WorkingHours {
    WorkingHours {
        time_zone: tz.parse().unwrap(),
        days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
        start: NaiveTime::parse_from_str(start, "%H:%M").unwrap(),
        end: NaiveTime::parse_from_str(end, "%H:%M").unwrap(),
    }
}

fn rep(id: &str, tier: Tier, weight: u32) -> Rep {
    Rep {
        id: id.into(),
        name: id.into(),
        team: "north".into(),
        department: "sales".into(),
        tier,
        weight,
        holding_cap: None,
        daily_cap: None,
        working_hours: None,
        out_of_office: Vec::new(),
        webhook: None,
        active: true,
    }
}

fn pool(strategy: Strategy, members: &[&str]) -> Pool {
    Pool {
        id: "p".into(),
        name: "pool".into(),
        strategy,
        members: members.iter().map(|m| m.to_string()).collect(),
        daily_cap: None,
        daily_claim_cap: None,
        webhook: None,
    }
}

fn reps(list: Vec<Rep>) -> BTreeMap<String, Rep> {
    list.into_iter().map(|r| (r.id.clone(), r)).collect()
}

/// Routes `n` leads and counts who got them.
fn run(
    pool: &Pool,
    reps: &BTreeMap<String, Rep>,
    state: &mut PoolState,
    n: usize,
    grade: Option<(Grade, u8)>,
) -> (BTreeMap<String, usize>, Vec<String>) {
    let mut counts = BTreeMap::new();
    let mut sequence = Vec::new();
    for _ in 0..n {
        let (decision, next) = route(pool, reps, &BTreeMap::new(), state, grade, t("2026-11-23T03:00:00Z"));
        let Decision::Assign { rep } = decision else {
            panic!("{decision:?}")
        };
        *counts.entry(rep.clone()).or_default() += 1;
        sequence.push(rep);
        *state = next;
    }
    (counts, sequence)
}

#[test]
fn shifts_in_the_reps_own_time_zone() {
    let beijing = shift("Asia/Shanghai", "09:00", "18:00");
    assert!(beijing.is_open(t("2026-11-23T02:00:00Z")), "Mon 10:00 in Beijing");
    assert!(!beijing.is_open(t("2026-11-22T18:00:00Z")), "Mon 02:00 in Beijing");
    assert!(!beijing.is_open(t("2026-11-28T04:00:00Z")), "Saturday noon");
    assert!(!beijing.is_open(t("2026-11-23T10:00:00Z")), "18:00 is closing time");
    let new_york = shift("America/New_York", "09:00", "17:00");
    assert!(new_york.is_open(t("2026-07-06T13:30:00Z")), "09:30 EDT (UTC-4)");
    assert!(!new_york.is_open(t("2026-11-23T13:30:00Z")), "08:30 EST (UTC-5)");
    assert!(new_york.is_open(t("2026-11-23T14:30:00Z")), "09:30 EST");
    let night = shift("Asia/Shanghai", "22:00", "06:00");
    assert!(night.is_open(t("2026-11-23T15:00:00Z")), "Mon 23:00");
    assert!(
        night.is_open(t("2026-11-24T19:00:00Z")),
        "Wed 03:00, shift began Tuesday"
    );
    assert!(
        !night.is_open(t("2026-11-22T19:00:00Z")),
        "Mon 03:00, the shift would have begun on Sunday"
    );
}

#[test]
fn every_reason_to_skip_a_rep() {
    let at = t("2026-11-23T03:00:00Z");
    let mut r = rep("a", Tier::New, 1);
    assert_eq!(eligibility(&r, RepLoad::default(), at), Ok(()));
    assert_eq!(
        eligibility(
            &r,
            RepLoad {
                active_leads: 50,
                assigned_today: 0
            },
            at
        ),
        Err(Ineligible::HoldingCap),
        "new hires hold 50"
    );
    r.holding_cap = Some(60);
    assert_eq!(
        eligibility(
            &r,
            RepLoad {
                active_leads: 50,
                assigned_today: 0
            },
            at
        ),
        Ok(())
    );
    r.daily_cap = Some(5);
    assert_eq!(
        eligibility(
            &r,
            RepLoad {
                active_leads: 0,
                assigned_today: 5
            },
            at
        ),
        Err(Ineligible::DailyCap)
    );
    r.out_of_office.push(Absence {
        from: at - Duration::hours(1),
        until: at + Duration::days(2),
    });
    assert_eq!(eligibility(&r, RepLoad::default(), at), Err(Ineligible::OutOfOffice));
    r.out_of_office.clear();
    r.working_hours = Some(shift("Asia/Shanghai", "13:00", "18:00"));
    assert_eq!(eligibility(&r, RepLoad::default(), at), Err(Ineligible::OffShift));
    r.active = false;
    assert_eq!(eligibility(&r, RepLoad::default(), at), Err(Ineligible::Inactive));
    assert_eq!(Tier::Top.default_holding_cap(), 200);
    assert_eq!(Tier::Regular.default_holding_cap(), 100);
}

#[test]
fn weighted_routing_matches_the_weights_over_ten_thousand_leads() {
    let team = reps(vec![
        rep("a", Tier::Top, 5),
        rep("b", Tier::Regular, 3),
        rep("c", Tier::New, 2),
    ]);
    let p = pool(Strategy::Weighted, &["a", "b", "c"]);
    let (counts, _) = run(&p, &team, &mut PoolState::default(), 10_000, Some((Grade::C, 3)));
    // Stated tolerance: within 1 percentage point of each weight's share.
    for (id, share) in [("a", 0.5), ("b", 0.3), ("c", 0.2)] {
        let got = counts[id] as f64 / 10_000.0;
        assert!((got - share).abs() <= 0.01, "{id}: {got} vs {share}");
    }
}

#[test]
fn a_grade_leads_go_to_the_top_tier_first() {
    let team = reps(vec![rep("star", Tier::Top, 1), rep("b", Tier::Regular, 5)]);
    let p = pool(Strategy::Weighted, &["star", "b"]);
    let (counts, _) = run(&p, &team, &mut PoolState::default(), 20, Some((Grade::A, 1)));
    assert_eq!(counts.get("star"), Some(&20));
    let (counts, _) = run(&p, &team, &mut PoolState::default(), 60, Some((Grade::B, 1)));
    assert_eq!((counts["star"], counts["b"]), (10, 50), "other leads by weight");
}

#[test]
fn round_robin_stays_even_when_members_come_and_go() {
    let team = reps(vec![
        rep("a", Tier::Regular, 1),
        rep("b", Tier::Regular, 1),
        rep("c", Tier::Regular, 1),
        rep("d", Tier::Regular, 1),
    ]);
    let mut state = PoolState::default();
    let three = pool(Strategy::RoundRobin, &["a", "b", "c"]);
    let (counts, sequence) = run(&three, &team, &mut state, 300, None);
    assert!(counts.values().all(|n| *n == 100));
    assert_eq!(&sequence[..6], ["a", "b", "c", "a", "b", "c"]);

    // D joins after 300 leads: it takes its turn, no catch-up burst.
    let four = pool(Strategy::RoundRobin, &["a", "b", "c", "d"]);
    let (counts, sequence) = run(&four, &team, &mut state, 40, None);
    assert!(counts.values().all(|n| *n == 10), "{counts:?}");
    assert!(
        sequence.windows(2).all(|w| w[0] != w[1]),
        "nobody twice in a row: {sequence:?}"
    );

    // B leaves: the rest keep rotating evenly.
    let without_b = pool(Strategy::RoundRobin, &["a", "c", "d"]);
    let (counts, _) = run(&without_b, &team, &mut state, 30, None);
    assert!(counts.values().all(|n| *n == 10), "{counts:?}");
    assert!(!state.assigned.contains_key("b"));
}

#[test]
fn ineligible_members_are_skipped_and_an_empty_shift_waits_in_the_pool() {
    let mut team = reps(vec![rep("day", Tier::Regular, 1), rep("night", Tier::Regular, 1)]);
    team.get_mut("day").unwrap().working_hours = Some(shift("Asia/Shanghai", "09:00", "18:00"));
    team.get_mut("night").unwrap().working_hours = Some(shift("Asia/Shanghai", "22:00", "06:00"));
    let p = pool(Strategy::RoundRobin, &["day", "night"]);
    let two_am_monday = t("2026-11-23T18:00:00Z"); // Tue 02:00 in Beijing
    let (decision, _) = route(&p, &team, &BTreeMap::new(), &PoolState::default(), None, two_am_monday);
    assert_eq!(decision, Decision::Assign { rep: "night".into() }, "the on-shift rep");
    team.get_mut("night").unwrap().active = false;
    let (decision, state) = route(&p, &team, &BTreeMap::new(), &PoolState::default(), None, two_am_monday);
    assert!(
        matches!(decision, Decision::Wait { .. }),
        "nobody at work: the lead waits in the pool"
    );
    assert_eq!(state, PoolState::default());

    let capped = BTreeMap::from([(
        "day".to_string(),
        RepLoad {
            active_leads: 100,
            assigned_today: 0,
        },
    )]);
    let (decision, _) = route(
        &p,
        &team,
        &capped,
        &PoolState::default(),
        None,
        t("2026-11-23T03:00:00Z"),
    );
    assert!(
        matches!(decision, Decision::Wait { .. }),
        "the only one at work is full"
    );
}

#[test]
fn designated_claim_only_and_pool_caps() {
    let team = reps(vec![rep("zhang", Tier::Top, 1), rep("li", Tier::Regular, 1)]);
    let at = t("2026-11-23T03:00:00Z");
    let designated = pool(
        Strategy::Designated {
            rep: Some("li".into()),
            team: None,
        },
        &["zhang", "li"],
    );
    assert_eq!(
        route(&designated, &team, &BTreeMap::new(), &PoolState::default(), None, at).0,
        Decision::Assign { rep: "li".into() }
    );
    let claim = pool(Strategy::ClaimOnly, &["zhang"]);
    assert!(matches!(
        route(&claim, &team, &BTreeMap::new(), &PoolState::default(), None, at).0,
        Decision::Wait { .. }
    ));
    let mut capped = pool(Strategy::RoundRobin, &["zhang", "li"]);
    capped.daily_cap = Some(2);
    let state = PoolState {
        assigned_today: 2,
        ..PoolState::default()
    };
    assert!(matches!(
        route(&capped, &team, &BTreeMap::new(), &state, None, at).0,
        Decision::Wait { .. }
    ));
}

#[test]
fn pools_are_chosen_by_ordered_rules_with_province_from_the_company_name() {
    let now = t("2026-11-23T03:00:00Z");
    let config = RoutingConfig {
        rules: vec![
            RouteRule {
                pool: "beijing-a".into(),
                provinces: vec!["北京".into()],
                grades: vec![Grade::A],
                ..RouteRule::default()
            },
            RouteRule {
                pool: "beijing".into(),
                provinces: vec!["北京".into()],
                ..RouteRule::default()
            },
            RouteRule {
                pool: "big".into(),
                min_company_size: Some(500),
                ..RouteRule::default()
            },
        ],
        default_pool: "general".into(),
        ..RoutingConfig::default()
    };
    let pools = ["beijing-a", "beijing", "big", "general"].map(String::from);
    assert!(config.validate(&pools).is_empty());
    assert_eq!(
        config.validate(&pools[1..])[0].field,
        "rules[0].pool",
        "a rule may only name a stored pool"
    );
    let mut lead = Lead::new(LeadId::generate(now), "web_form", now);
    lead.company = Some(Company {
        raw: "北京纷扬科技有限公司".into(),
        core: "纷扬".into(),
    });
    assert_eq!(choose_pool(&lead, &config), "beijing");
    let mut scored =
        domain::qualify::scoring::score(&lead, &[], &domain::qualify::scoring::ScoringRules::default(), now);
    scored.grade = Grade::A;
    lead.score = Some(scored);
    assert_eq!(choose_pool(&lead, &config), "beijing-a", "first match wins");
    lead.company = None;
    lead.profile.company_size = Some("1000+".into());
    assert_eq!(choose_pool(&lead, &config), "big");
    lead.profile.company_size = None;
    assert_eq!(choose_pool(&lead, &config), "general");
}

#[test]
fn province_from_the_company_name_or_a_fixed_line_area_code() {
    let now = t("2026-11-23T03:00:00Z");
    let mut lead = Lead::new(LeadId::generate(now), "web_form", now);
    assert_eq!(province_of(&lead), None);
    lead.contact.phone = Some("+8613800138000".into());
    assert_eq!(province_of(&lead), None, "a mobile number says nothing about where");
    lead.contact.phone = Some("+861062345678".into());
    assert_eq!(province_of(&lead).as_deref(), Some("北京"), "010 is Beijing");
    lead.contact.phone = Some("+8675588881234".into());
    assert_eq!(province_of(&lead).as_deref(), Some("广东"), "0755 is Shenzhen");
    lead.company = Some(Company {
        raw: "杭州云栖科技有限公司".into(),
        core: "云栖".into(),
    });
    assert_eq!(province_of(&lead).as_deref(), Some("浙江"), "the company's city wins");
    lead.profile.province = Some("上海".into());
    assert_eq!(province_of(&lead).as_deref(), Some("上海"), "what the lead said wins");
}

#[test]
fn a_recycled_lead_skips_its_previous_owner() {
    let team = reps(vec![rep("a", Tier::Regular, 1), rep("b", Tier::Regular, 1)]);
    let p = pool(Strategy::RoundRobin, &["a", "b"]);
    let at = t("2026-11-23T03:00:00Z");
    for _ in 0..3 {
        let (decision, _) = route_excluding(
            &p,
            &team,
            &BTreeMap::new(),
            &PoolState::default(),
            None,
            at,
            &["a".to_string()],
        );
        assert_eq!(decision, Decision::Assign { rep: "b".into() });
    }
    let only_a = pool(Strategy::RoundRobin, &["a"]);
    let (decision, _) = route_excluding(
        &only_a,
        &team,
        &BTreeMap::new(),
        &PoolState::default(),
        None,
        at,
        &["a".to_string()],
    );
    assert!(
        matches!(decision, Decision::Wait { .. }),
        "nobody else: it waits to be claimed"
    );
}

#[test]
fn reps_and_pools_are_validated_field_by_field() {
    let mut r = rep("bad id!", Tier::New, 0);
    r.name = " ".into();
    r.out_of_office.push(Absence {
        from: t("2026-11-23T03:00:00Z"),
        until: t("2026-11-22T03:00:00Z"),
    });
    let fields: Vec<String> = r.validate().into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["id", "name", "weight", "out_of_office[0].until"]);
    let mut p = pool(
        Strategy::Designated {
            rep: Some("zhang".into()),
            team: None,
        },
        &["li", "li"],
    );
    p.name = String::new();
    let fields: Vec<String> = p.validate().into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["name", "members[1]", "strategy.rep"]);
    let typo = serde_json::from_str::<Rep>(r#"{"id":"a","name":"A","tier":"top","wieght":3}"#);
    assert!(
        typo.unwrap_err().to_string().contains("wieght"),
        "unknown fields are refused"
    );
}
