//! The routing preview agrees with assignment: on the same state, the rep the preview
//! names is the rep `assign_lead` then picks (or both leave the lead waiting, for the
//! same reason), and every rep the preview skips is skipped for the right reason. Each
//! scenario previews, assigns, and previews again from the state the assignment left, so
//! rotation positions, caps and counters are the real ones.

use chrono::{DateTime, Duration, NaiveTime, Utc, Weekday};
use domain::assign::auto::{assign_lead, Assigned};
use domain::assign::ports::RoutingStore;
use domain::assign::preview::{preview, DescribedLead, NoRep, Outside, Preview, RepReason, RuleReason, Subject};
use domain::assign::routing::Skip;
use domain::lead::ports::{LeadStore, NewLead};
use domain::lead::qualification::Grade;
use domain::lead::{Lead, LeadId, OwnerChangeHow, Stage};
use domain::memory::{InMemoryBus, InMemoryStore};
use domain::qualify::scoring::{score, ScoringRules};
use domain::{
    assign::routing::Absence, assign::routing::Pool, assign::routing::Rep, assign::routing::RouteRule,
    assign::routing::RoutingConfig, assign::routing::Strategy, assign::routing::Tier, assign::routing::WorkingHours,
};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Monday 10:00 in Beijing.
const WORK: &str = "2026-11-23T02:00:00Z";

fn rep(id: &str, tier: Tier) -> Rep {
    Rep {
        id: id.into(),
        name: format!("{id} name"),
        team: "north".into(),
        department: String::new(),
        tier,
        weight: 1,
        holding_cap: None,
        daily_cap: None,
        working_hours: None,
        out_of_office: Vec::new(),
        webhook: None,
        active: true,
    }
}

fn pool(id: &str, strategy: Strategy, members: &[&str]) -> Pool {
    Pool {
        id: id.into(),
        name: id.into(),
        strategy,
        members: members.iter().map(|m| m.to_string()).collect(),
        daily_cap: None,
        daily_claim_cap: None,
        webhook: None,
    }
}

async fn org(reps: Vec<Rep>, pools: Vec<Pool>, rules: Vec<RouteRule>) -> InMemoryStore {
    let store = InMemoryStore::default();
    for r in &reps {
        store.put_rep(r).await.unwrap();
    }
    for p in &pools {
        store.put_pool(p).await.unwrap();
    }
    let routing = RoutingConfig {
        version: 1,
        rules,
        default_pool: pools[0].id.clone(),
        ..RoutingConfig::default()
    };
    store.save_routing(&routing).await.unwrap();
    store
}

/// An `aql` lead as qualification leaves it, scored into `cell`.
async fn lead_in(store: &InMemoryStore, at: DateTime<Utc>, province: &str, cell: Option<(Grade, u8)>) -> LeadId {
    let mut lead = Lead::new(LeadId::generate(at), "web_form", at);
    lead.set_stage(Stage::Aql, at);
    lead.profile.province = Some(province.into());
    let mut s = score(&lead, &[], &ScoringRules::default(), at);
    if let Some((grade, level)) = cell {
        (s.grade, s.level, s.cell) = (grade, level, format!("{grade:?}{level}"));
    }
    lead.score = Some(s);
    store.create_lead(&NewLead::new(lead.clone(), None)).await.unwrap();
    lead.id
}

async fn preview_of(store: &InMemoryStore, id: &LeadId, at: DateTime<Utc>) -> Preview {
    preview(store, &Subject::Stored(id.clone()), at)
        .await
        .unwrap()
        .expect("the lead exists")
}

fn reason(p: &Preview, rep: &str) -> Option<RepReason> {
    let row = p
        .reps
        .iter()
        .find(|r| r.id == rep)
        .unwrap_or_else(|| panic!("{rep} is listed"));
    row.skipped.as_ref().map(|s| s.code)
}

/// Previews, assigns, and checks they agree; returns the preview.
async fn agree(store: &InMemoryStore, id: &LeadId, at: DateTime<Utc>) -> Preview {
    let before = preview_of(store, id, at).await;
    let again = preview_of(store, id, at).await;
    assert_eq!(before, again, "a preview changes nothing a second preview would see");
    let chosen: Vec<&str> = before.reps.iter().filter(|r| r.chosen).map(|r| r.id.as_str()).collect();
    assert_eq!(
        chosen,
        before.rep.iter().map(String::as_str).collect::<Vec<_>>(),
        "chosen ⇔ rep"
    );
    let assigned = assign_lead(store, &InMemoryBus::default(), id, at).await.unwrap();
    match (&before.rep, &assigned) {
        (Some(rep), Assigned::Assigned { rep: got, pool }) => {
            assert_eq!((rep, pool), (got, &before.pool.id), "{before:#?}");
        }
        (Some(rep), Assigned::Adopted { rep: got }) => assert_eq!(rep, got),
        (None, Assigned::Waiting { pool, reason }) | (None, Assigned::StillWaiting { pool, reason }) => {
            assert_eq!(pool, &before.pool.id);
            let code = before.no_rep.as_ref().expect("why no rep").code;
            let expected = match code {
                NoRep::ClaimOnly => "claim-only pool",
                NoRep::PoolDailyCap => "the pool's daily cap is reached",
                NoRep::EveryoneSkipped => "no eligible rep now",
                NoRep::PoolNotConfigured => "the pool is not configured",
                NoRep::NoDesignee => "designated pool names no rep or team",
                other => panic!("{other:?} does not park a lead"),
            };
            assert_eq!(reason, expected);
        }
        (None, Assigned::AlreadyOwned) => assert_eq!(before.no_rep.as_ref().unwrap().code, NoRep::AlreadyOwned),
        (None, Assigned::NotRoutable(_)) => assert_eq!(before.no_rep.as_ref().unwrap().code, NoRep::NotRoutable),
        (rep, got) => panic!("the preview said {rep:?}, assignment did {got:?}\n{before:#?}"),
    }
    before
}

#[tokio::test]
async fn every_skip_reason_and_the_round_robin_position_agree_with_assignment() {
    let at = t(WORK);
    let night = Rep {
        working_hours: Some(WorkingHours {
            time_zone: chrono_tz::Asia::Shanghai,
            days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
            start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
        }),
        ..rep("night", Tier::Regular)
    };
    let away = Rep {
        out_of_office: vec![Absence {
            from: at - Duration::days(1),
            until: at + Duration::days(3),
        }],
        ..rep("away", Tier::Regular)
    };
    // Full after one lead; one lead a day.
    let full = Rep {
        holding_cap: Some(1),
        ..rep("full", Tier::New)
    };
    let daily = Rep {
        daily_cap: Some(1),
        ..rep("daily", Tier::Regular)
    };
    let gone = Rep {
        active: false,
        ..rep("gone", Tier::Regular)
    };
    let store = org(
        vec![
            night,
            away,
            full,
            daily,
            gone,
            rep("zhang", Tier::Regular),
            rep("li", Tier::Regular),
            rep("outsider", Tier::Top),
        ],
        vec![
            pool(
                "beijing",
                Strategy::RoundRobin,
                &["night", "away", "full", "daily", "gone", "zhang", "li"],
            ),
            pool("first", Strategy::RoundRobin, &["full", "daily"]),
        ],
        vec![
            RouteRule {
                pool: "shanghai".into(),
                provinces: vec!["上海".into()],
                ..RouteRule::default()
            },
            RouteRule {
                pool: "first".into(),
                provinces: vec!["天津".into()],
                ..RouteRule::default()
            },
            RouteRule {
                pool: "beijing".into(),
                provinces: vec!["北京".into()],
                ..RouteRule::default()
            },
        ],
    )
    .await;
    // Two leads through `first` fill `full` (holding) and `daily` (daily cap).
    for _ in 0..2 {
        let id = lead_in(&store, at, "天津", None).await;
        agree(&store, &id, at).await;
    }

    let id = lead_in(&store, at, "北京", None).await;
    let p = agree(&store, &id, at).await;
    assert_eq!((p.pool.id.as_str(), p.pool.rule), ("beijing", Some(2)));
    assert_eq!(p.rules.len(), 3);
    assert_eq!(
        p.rules.iter().map(|r| r.matched).collect::<Vec<_>>(),
        [false, false, true]
    );
    let miss = p.rules[0].reason.as_ref().unwrap();
    assert_eq!(miss.code, RuleReason::Province);
    assert!(
        miss.text.contains("北京") && miss.text.contains("上海"),
        "{}",
        miss.text
    );
    assert_eq!(reason(&p, "night"), Some(RepReason::Routing(Skip::OffShift)));
    assert_eq!(reason(&p, "away"), Some(RepReason::Routing(Skip::OutOfOffice)));
    assert_eq!(reason(&p, "full"), Some(RepReason::Routing(Skip::HoldingCap)));
    assert_eq!(reason(&p, "daily"), Some(RepReason::Routing(Skip::DailyCap)));
    assert_eq!(reason(&p, "gone"), Some(RepReason::Routing(Skip::Inactive)));
    assert_eq!(reason(&p, "outsider"), Some(RepReason::Preview(Outside::NotAMember)));
    assert_eq!(p.rep.as_deref(), Some("zhang"), "first eligible in member order");
    assert_eq!(reason(&p, "li"), Some(RepReason::Routing(Skip::Rotation)));
    let full = p.reps.iter().find(|r| r.id == "full").unwrap();
    assert_eq!(
        (full.holding, full.holding_cap, full.eligible),
        (Some(1), Some(1), false)
    );
    let night = p.reps.iter().find(|r| r.id == "night").unwrap();
    assert_eq!(night.on_shift, Some(false));
    assert!(
        night.skipped.as_ref().unwrap().text.contains("22:00"),
        "{:?}",
        night.skipped
    );

    // The rotation moves on; the preview follows it, lead by lead.
    let mut sequence = Vec::new();
    for _ in 0..4 {
        let id = lead_in(&store, at, "北京", None).await;
        let p = agree(&store, &id, at).await;
        sequence.push(p.rep.unwrap());
    }
    assert_eq!(sequence, ["li", "zhang", "li", "zhang"]);
}

#[tokio::test]
async fn weighted_pools_tiers_and_weights_agree_with_assignment() {
    let at = t(WORK);
    let store = org(
        vec![
            Rep {
                weight: 1,
                ..rep("star", Tier::Top)
            },
            Rep {
                weight: 3,
                ..rep("zhang", Tier::Regular)
            },
            Rep {
                weight: 1,
                ..rep("li", Tier::New)
            },
        ],
        vec![pool("beijing", Strategy::Weighted, &["star", "zhang", "li"])],
        Vec::new(),
    )
    .await;
    let a1 = lead_in(&store, at, "北京", Some((Grade::A, 1))).await;
    let p = agree(&store, &a1, at).await;
    assert_eq!(p.rep.as_deref(), Some("star"));
    assert_eq!(reason(&p, "zhang"), Some(RepReason::Routing(Skip::Tier)));
    assert_eq!(reason(&p, "li"), Some(RepReason::Routing(Skip::Tier)));
    assert_eq!(p.pool.text, "no rule matched → default pool");

    // Other leads by weight: whoever is furthest below their share, as the preview says.
    let mut counts = std::collections::BTreeMap::<String, u32>::new();
    for _ in 0..20 {
        let id = lead_in(&store, at, "北京", Some((Grade::B, 2))).await;
        let p = agree(&store, &id, at).await;
        let rep = p.rep.clone().unwrap();
        for other in p.reps.iter().filter(|r| r.id != rep) {
            assert_eq!(other.skipped.as_ref().unwrap().code, RepReason::Routing(Skip::Rotation));
        }
        *counts.entry(rep).or_default() += 1;
    }
    assert_eq!(counts["zhang"], 12, "weight 3 of 5: {counts:?}");
}

#[tokio::test]
async fn designated_claim_only_pool_caps_and_previous_owners_agree_with_assignment() {
    let at = t(WORK);
    let east = Rep {
        team: "east".into(),
        ..rep("wang", Tier::Regular)
    };
    let mut capped = pool("capped", Strategy::RoundRobin, &["zhang", "li"]);
    capped.daily_cap = Some(1);
    let store = org(
        vec![rep("zhang", Tier::Top), rep("li", Tier::Regular), east],
        vec![
            pool(
                "vip",
                Strategy::Designated {
                    rep: Some("li".into()),
                    team: None,
                },
                &["zhang", "li"],
            ),
            pool(
                "team",
                Strategy::Designated {
                    rep: None,
                    team: Some("east".into()),
                },
                &["zhang", "wang"],
            ),
            pool("public", Strategy::ClaimOnly, &["zhang", "li"]),
            capped,
        ],
        ["team", "public", "capped"]
            .iter()
            .zip(["浙江", "广东", "四川"])
            .map(|(pool, province)| RouteRule {
                pool: pool.to_string(),
                provinces: vec![province.into()],
                ..RouteRule::default()
            })
            .collect(),
    )
    .await;

    let p = agree(&store, &lead_in(&store, at, "北京", None).await, at).await;
    assert_eq!(p.rep.as_deref(), Some("li"));
    assert_eq!(reason(&p, "zhang"), Some(RepReason::Routing(Skip::NotDesignated)));

    let p = agree(&store, &lead_in(&store, at, "浙江", None).await, at).await;
    assert_eq!(p.rep.as_deref(), Some("wang"));
    assert_eq!(reason(&p, "zhang"), Some(RepReason::Routing(Skip::NotInTeam)));
    assert_eq!(reason(&p, "li"), Some(RepReason::Preview(Outside::NotAMember)));

    let p = agree(&store, &lead_in(&store, at, "广东", None).await, at).await;
    assert_eq!(
        (p.rep.as_deref(), p.no_rep.as_ref().map(|r| r.code)),
        (None, Some(NoRep::ClaimOnly))
    );
    assert_eq!(reason(&p, "zhang"), Some(RepReason::Routing(Skip::ClaimOnly)));
    assert!(
        p.reps.iter().find(|r| r.id == "zhang").unwrap().eligible,
        "eligible, but the pool waits for claims"
    );

    agree(&store, &lead_in(&store, at, "四川", None).await, at).await;
    let p = agree(&store, &lead_in(&store, at, "四川", None).await, at).await;
    assert_eq!(p.no_rep.as_ref().map(|r| r.code), Some(NoRep::PoolDailyCap));
    assert_eq!((p.pool.daily_cap, p.pool.assigned_today), (Some(1), Some(1)));

    // A lead recycled from li skips her; the designated pool has nobody else for it.
    let mut recycled = store
        .get_lead(&lead_in(&store, at, "北京", None).await)
        .await
        .unwrap()
        .unwrap();
    recycled.stage = Stage::Recycled;
    recycled.previous_owner = Some("li".into());
    store.insert_lead(recycled.clone());
    let p = agree(&store, &recycled.id, at).await;
    assert_eq!(p.no_rep.as_ref().map(|r| r.code), Some(NoRep::EveryoneSkipped));
    assert_eq!(reason(&p, "li"), Some(RepReason::Routing(Skip::PreviousOwner)));
}

#[tokio::test]
async fn owned_unroutable_and_preset_leads_agree_with_assignment() {
    let at = t(WORK);
    let store = org(
        vec![
            rep("zhang", Tier::Top),
            rep("li", Tier::Regular),
            rep("boss", Tier::Top),
        ],
        vec![pool("beijing", Strategy::RoundRobin, &["zhang", "li"])],
        Vec::new(),
    )
    .await;
    let id = lead_in(&store, at, "北京", None).await;
    agree(&store, &id, at).await;
    let p = agree(&store, &id, at).await;
    assert_eq!(p.no_rep.unwrap().code, NoRep::AlreadyOwned);
    assert!(p
        .reps
        .iter()
        .all(|r| r.skipped.as_ref().unwrap().code == RepReason::Preview(Outside::AlreadyOwned)));

    let mut received = Lead::new(LeadId::generate(at), "web_form", at);
    received.profile.province = Some("北京".into());
    store.create_lead(&NewLead::new(received.clone(), None)).await.unwrap();
    let p = agree(&store, &received.id, at).await;
    assert_eq!(p.no_rep.unwrap().code, NoRep::NotRoutable);

    // An existing customer's owner, outside the pool, keeps the lead.
    let mut preset = store
        .get_lead(&lead_in(&store, at, "北京", None).await)
        .await
        .unwrap()
        .unwrap();
    preset.owner = Some("boss".into());
    store.insert_lead(preset.clone());
    let p = agree(&store, &preset.id, at).await;
    assert_eq!((p.rep.as_deref(), p.how), (Some("boss"), Some(OwnerChangeHow::Created)));
    assert_eq!(reason(&p, "zhang"), Some(RepReason::Preview(Outside::PresetOwner)));
    assert!(p.reps.iter().find(|r| r.id == "boss").unwrap().chosen);
}

#[tokio::test]
async fn a_described_lead_previews_like_the_same_lead_stored() {
    let at = t(WORK);
    let store = org(
        vec![rep("zhang", Tier::Top), rep("li", Tier::Regular)],
        vec![
            pool("general", Strategy::RoundRobin, &["li"]),
            pool("guangdong", Strategy::Weighted, &["zhang", "li"]),
        ],
        vec![RouteRule {
            pool: "guangdong".into(),
            provinces: vec!["广东".into()],
            min_company_size: Some(500),
            ..RouteRule::default()
        }],
    )
    .await;
    let body = serde_json::json!({"company": "深圳市纷扬科技有限公司", "company_size": "1000人以上",
        "title": "销售副总裁", "industry": "软件", "channel": "Trade Show", "events": ["form_submit", "event_attend"]});
    let described = DescribedLead::from_json(&body, "lead").unwrap();
    assert_eq!(described.channel.as_deref(), Some("trade_show"));
    let subject = Subject::Described(Box::new(described.clone()));
    let p = preview(&store, &subject, at).await.unwrap().unwrap();
    assert_eq!(p.lead.id, None);
    assert_eq!(
        (p.lead.province.as_deref(), p.pool.id.as_str()),
        (Some("广东"), "guangdong")
    );
    let s = p.lead.score.clone().expect("scored with the rules in service");
    assert_eq!(s.engagement, 40, "two strong events");
    assert!(p.lead.predicted.is_some());

    // The same lead stored (as qualification would leave it) is routed the same way.
    let rules = domain::qualify::rules::Rules::default();
    let models = domain::predict::modeling::models_in_service(&store).await.unwrap();
    let lead = described.to_lead(&rules, &models, at);
    store.create_lead(&NewLead::new(lead.clone(), None)).await.unwrap();
    let stored = agree(&store, &lead.id, at).await;
    assert_eq!((stored.rep, stored.lead.score.map(|s| s.cell)), (p.rep, Some(s.cell)));

    let bad = serde_json::json!({"city": "深圳", "phone": "12", "events": ["bored"], "title": 5});
    let mut fields: Vec<String> = DescribedLead::from_json(&bad, "lead")
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
    fields.sort();
    assert_eq!(fields, ["lead.city", "lead.events[0]", "lead.phone", "lead.title"]);
}
