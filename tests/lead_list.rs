//! `GET /v1/leads` against the emulator: who sees what (a rep never sees another rep's
//! contact data), every page walked without a lead repeated or missed across the list
//! indexes, the duplicate check reading a phone as intake does, and the bad inputs.

use api::Api;
use chrono::{DateTime, Duration, Utc};
use domain::assign::actions::Role;
use domain::assign::ports::RoutingStore;
use domain::assign::routing::{Pool, Strategy};
use domain::lead::ports::{FixedClock, LeadStore, NewLead};
use domain::lead::qualification::{Grade, Label, Policy, Score};
use domain::lead::{Company, Contact, DedupInfo, InvalidReason, Lead, LeadId, SlaClock, Stage};
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, api_token, http_event, rep, request, Answer, Stack};
use serde_json::Value;
use std::collections::BTreeSet;

fn now() -> DateTime<Utc> {
    "2026-12-04T10:00:00Z".parse().unwrap()
}

fn token(sub: &str, role: Role) -> String {
    api_token(sub, &[role])
}

fn api(stack: &Stack) -> Api<DynamoStore, SqsBus, FixedClock> {
    stack.api(FixedClock(now()))
}

async fn get(api: &Api<DynamoStore, SqsBus, FixedClock>, who: &str, role: Role, path: &str) -> Answer {
    let auth = format!("Bearer {}", token(who, role));
    let event = http_event("GET", path, &[("authorization", auth.as_str())], "");
    answer(api.handle(request(&event)).await)
}

/// Every page of `path` (limit 7): the ids in order, and the number of pages.
async fn walk(api: &Api<DynamoStore, SqsBus, FixedClock>, who: &str, role: Role, path: &str) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=7&cursor={}", c.replace('#', "%23")),
            None => format!("{path}{sep}limit=7"),
        };
        let page = get(api, who, role, &url).await;
        assert_eq!(page.status, 200, "{url}: {}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        ids.extend(items.iter().map(|row| row["id"].as_str().unwrap().to_string()));
        pages += 1;
        assert!(pages < 100, "{path}: the walk ends");
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (ids, pages),
        }
    }
}

fn lead_at(i: u32) -> Lead {
    let created = now() - Duration::hours(i64::from(i) * 7 + 1);
    let mut lead = Lead::new(LeadId::generate(created), ["form", "baidu"][i as usize % 2], created);
    lead.contact = Contact {
        name: Some(format!("客户{i}")),
        phone: Some(format!("+86139{:08}", 10_000_000 + i)),
        ..Contact::default()
    };
    lead
}

/// 120 leads: reps zhang and li (east) and wang (west) hold some, pool `east` holds
/// waiting ones, a few are invalid; some scored, some with a running clock.
async fn seed(stack: &Stack) -> Vec<Lead> {
    let store = stack.store();
    for (id, department) in [("zhang", "east"), ("li", "east"), ("wang", "west"), ("boss", "east")] {
        let mut r = rep(id);
        r.department = department.into();
        store.put_rep(&r).await.unwrap();
    }
    store
        .put_pool(&Pool {
            id: "east".into(),
            name: "East".into(),
            strategy: Strategy::RoundRobin,
            members: vec!["zhang".into(), "li".into()],
            daily_cap: None,
            daily_claim_cap: None,
            webhook: None,
        })
        .await
        .unwrap();
    let mut leads = Vec::new();
    for i in 0..120u32 {
        let mut lead = lead_at(i);
        lead.stage = Stage::Mql;
        match i % 5 {
            0 | 1 => {
                lead.owner = Some(["zhang", "li", "wang"][(i / 5) as usize % 3].into());
                lead.owner_department = Some(
                    if lead.owner.as_deref() == Some("wang") {
                        "west"
                    } else {
                        "east"
                    }
                    .into(),
                );
            }
            2 => lead.pool = Some("east".into()),
            3 => {
                lead.stage = Stage::Invalid;
                lead.invalid_reason = Some(InvalidReason {
                    code: ["sequential_phone", "blacklist"][(i / 5) as usize % 2].into(),
                    detail: String::new(),
                });
            }
            _ => lead.stage = Stage::Merged,
        }
        if i % 3 == 0 && lead.stage == Stage::Mql {
            lead.score = Some(Score {
                fit: (i % 40) as i32,
                grade: [Grade::A, Grade::B, Grade::C][i as usize % 3],
                engagement: 10,
                level: (i % 4 + 1) as u8,
                cell: "B2".into(),
                fit_lines: Vec::new(),
                engagement_lines: Vec::new(),
                at: lead.created_at,
            });
        }
        if lead.owner.is_some() && i % 2 == 0 {
            lead.sla = vec![SlaClock {
                clock: "first_contact".into(),
                started_at: lead.created_at,
                due_at: Some(now() + Duration::minutes(i64::from(i) * 11 - 300)),
                remind_at: None,
                status: None,
            }];
        }
        store.create_lead(&NewLead::new(lead.clone(), None)).await.unwrap();
        leads.push(lead);
    }
    leads
}

fn ids(leads: &[&Lead]) -> Vec<String> {
    leads.iter().map(|l| l.id.to_string()).collect()
}

fn newest_first(mut leads: Vec<&Lead>) -> Vec<&Lead> {
    leads.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    leads
}

#[tokio::test]
async fn a_rep_lists_their_leads_and_their_pools_never_anyone_elses() {
    let stack = Stack::start().await;
    let leads = seed(&stack).await;
    let api = api(&stack);
    let (got, pages) = walk(&api, "zhang", Role::Rep, "/v1/leads").await;
    let expected = newest_first(
        leads
            .iter()
            .filter(|l| l.owner.as_deref() == Some("zhang") || l.waiting_in_pool() == Some("east"))
            .collect(),
    );
    assert_eq!(
        got,
        ids(&expected),
        "their own and the pool's, newest first, every page once"
    );
    assert!(pages > 3, "walked several pages ({pages})");

    let page = get(&api, "zhang", Role::Rep, "/v1/leads?limit=200").await;
    for row in page.body["items"].as_array().unwrap() {
        let mine = row["owner"] == "zhang";
        assert_eq!(row["masked"], !mine, "{row}");
        let phone = row["phone"].as_str().unwrap();
        assert_eq!(
            phone.contains('*'),
            !mine,
            "a rep sees contact data of their own leads only: {row}"
        );
    }

    let refused = get(&api, "zhang", Role::Rep, "/v1/leads?owner=li").await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["fields"][0]["field"], "owner");
    let refused = get(&api, "wang", Role::Rep, "/v1/leads?pool=east").await;
    assert_eq!(refused.status, 403, "wang is not a member of east");
    assert_eq!(refused.body["fields"][0]["field"], "pool");
}

#[tokio::test]
async fn every_order_walks_every_lead_once() {
    let stack = Stack::start().await;
    let leads = seed(&stack).await;
    let api = api(&stack);

    // Everything, by creation month (the timeline index).
    let (got, _) = walk(&api, "root", Role::Admin, "/v1/leads").await;
    assert_eq!(got, ids(&newest_first(leads.iter().collect())));
    let (got, _) = walk(&api, "root", Role::Admin, "/v1/leads?sort=created&channel=baidu").await;
    let mut expected = newest_first(leads.iter().filter(|l| l.source.channel == "baidu").collect());
    expected.reverse();
    assert_eq!(got, ids(&expected), "oldest first, a filter checked on the leads read");

    // By score, best first, over every rep and pool (the score index).
    let (got, _) = walk(&api, "root", Role::Admin, "/v1/leads?sort=-score").await;
    let scored: BTreeSet<String> = leads
        .iter()
        .filter(|l| l.score.is_some() && (l.owner.is_some() || l.waiting_in_pool().is_some()))
        .map(|l| l.id.to_string())
        .collect();
    assert_eq!(got.len(), scored.len(), "each scored lead once");
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), scored);
    let grades: Vec<Grade> = got
        .iter()
        .map(|id| {
            leads
                .iter()
                .find(|l| l.id.as_str() == id)
                .unwrap()
                .score
                .as_ref()
                .unwrap()
                .grade
        })
        .collect();
    assert!(
        grades.windows(2).all(|w| w[0] as u8 <= w[1] as u8),
        "A before B before C: {grades:?}"
    );

    // A rep's overdue work, earliest deadline first (the deadline index).
    let (got, _) = walk(&api, "li", Role::Rep, "/v1/leads?owner=me&sort=sla_due&sla=overdue").await;
    let mut overdue: Vec<&Lead> = leads
        .iter()
        .filter(|l| l.owner.as_deref() == Some("li") && l.sla.first().is_some_and(|c| c.due_at.unwrap() <= now()))
        .collect();
    overdue.sort_by_key(|l| l.sla[0].due_at);
    assert!(!overdue.is_empty());
    assert_eq!(got, ids(&overdue));

    // The invalid pool by reason (the invalid index).
    let (got, _) = walk(&api, "mk", Role::Marketing, "/v1/leads?reason=blacklist").await;
    let expected = newest_first(
        leads
            .iter()
            .filter(|l| l.invalid_reason.as_ref().is_some_and(|r| r.code == "blacklist"))
            .collect(),
    );
    assert!(!expected.is_empty());
    assert_eq!(got, ids(&expected));

    // Marketing: a channel's leads, every stage, as the funnel clicks through to them.
    let (got, _) = walk(&api, "mk", Role::Marketing, "/v1/leads?channel=baidu").await;
    let expected = newest_first(leads.iter().filter(|l| l.source.channel == "baidu").collect());
    assert!(expected.iter().any(|l| l.stage != Stage::Invalid));
    assert_eq!(got, ids(&expected));

    // A manager: their department's reps and the unowned leads waiting in pools.
    let (got, _) = walk(&api, "boss", Role::Manager, "/v1/leads").await;
    let expected = newest_first(
        leads
            .iter()
            .filter(|l| l.owner_department.as_deref() == Some("east") || l.waiting_in_pool().is_some())
            .collect(),
    );
    assert_eq!(got, ids(&expected));
    assert_eq!(
        get(&api, "boss", Role::Manager, "/v1/leads?department=west")
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn a_lead_that_changed_hands_is_listed_where_it_is_now() {
    let stack = Stack::start().await;
    let store = stack.store();
    let mut lead = lead_at(1);
    lead.stage = Stage::Mql;
    lead.owner = Some("zhang".into());
    store.create_lead(&NewLead::new(lead.clone(), None)).await.unwrap();
    let api = api(&stack);
    let listed = |body: &Value| body["items"].as_array().unwrap().len();
    assert_eq!(
        listed(&get(&api, "root", Role::Admin, "/v1/leads?owner=zhang").await.body),
        1
    );

    // Moved to li (written whole, as every lead write is): the old place lists nothing.
    let mut moved = lead.clone();
    moved.owner = Some("li".into());
    moved.revise(now());
    let mut commit = domain::qualify::ports::DedupCommit::default();
    commit.leads.push((moved, lead.version));
    assert_eq!(
        domain::qualify::ports::DedupStore::commit(&store, &commit)
            .await
            .unwrap(),
        domain::lead::ports::Saved::Saved
    );
    assert_eq!(
        listed(&get(&api, "root", Role::Admin, "/v1/leads?owner=zhang").await.body),
        0
    );
    assert_eq!(
        listed(&get(&api, "root", Role::Admin, "/v1/leads?owner=li").await.body),
        1
    );
}

#[tokio::test]
async fn the_duplicate_check_reads_a_phone_as_intake_does_and_masks_what_is_not_yours() {
    let stack = Stack::start().await;
    let store = stack.store();
    let api = api(&stack);
    // A lead as dedup leaves it: its phone and company keys claimed.
    let mut lead = lead_at(3);
    lead.stage = Stage::Mql;
    lead.owner = Some("li".into());
    lead.contact.phone = Some("+8613800138000".into());
    lead.company = Some(Company {
        raw: "北京纷扬科技有限公司".into(),
        core: "纷扬".into(),
    });
    lead.dedup = Some(DedupInfo {
        label: Label::PureNew,
        policy: Policy::ToB,
        repeat_of: None,
        company_peer: None,
        customer_id: None,
    });
    store.create_lead(&NewLead::new(lead.clone(), None)).await.unwrap();
    let mut commit = domain::qualify::ports::DedupCommit::default();
    for key in domain::qualify::dedup::contact_keys(&lead)
        .into_iter()
        .chain(domain::qualify::dedup::company_key(&lead))
    {
        commit.claims.push(domain::qualify::ports::KeyClaim {
            key,
            lead_id: lead.id.clone(),
            since: lead.created_at,
            taking_over: None,
        });
    }
    domain::qualify::ports::DedupStore::commit(&store, &commit)
        .await
        .unwrap();
    domain::qualify::ports::DedupStore::register_company(&store, "纷", "纷扬", &lead.id)
        .await
        .unwrap();

    let found = get(&api, "zhang", Role::Rep, "/v1/leads?q=138%200013%208000").await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["read_as"][0], "phone#+8613800138000");
    let hit = &found.body["items"][0];
    assert_eq!(hit["via"], "phone");
    assert_eq!(hit["lead"]["owner"], "li", "whose it is");
    assert_eq!(hit["lead"]["stage"], "mql", "and in which stage");
    assert_eq!(
        hit["lead"]["phone"], "+86138****8000",
        "masked for a rep who does not own it"
    );
    assert_eq!(hit["lead"]["name"], "客**");
    let own = get(&api, "li", Role::Rep, "/v1/leads?q=%2B86%20138-0013-8000").await;
    assert_eq!(
        own.body["items"][0]["lead"]["phone"], "+8613800138000",
        "its owner sees it whole"
    );

    // A company by its full name, and by a near name.
    let by_name = get(&api, "zhang", Role::Rep, "/v1/leads?q=纷扬科技").await;
    assert_eq!(by_name.body["items"][0]["via"], "company", "{}", by_name.body);
    let nobody = get(&api, "zhang", Role::Rep, "/v1/leads?q=13900000001").await;
    assert_eq!(nobody.body["items"], serde_json::json!([]));
}

#[tokio::test]
async fn bad_filters_cursors_and_durations_are_named() {
    let stack = Stack::start().await;
    seed(&stack).await;
    let api = api(&stack);
    for (query, field) in [
        ("colour=red", "colour"),
        ("due_within=soon", "due_within"),
        ("created_from=yesterday", "created_from"),
        ("sort=name", "sort"),
        ("limit=201", "limit"),
        ("stage=won", "stage"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("cursor=2026-13~", "cursor"),
        // The duplicate check has one page, but a cursor off the spec is still refused.
        ("q=13800138000&cursor=%F0%B3%86%91", "cursor"),
    ] {
        let answer = get(&api, "root", Role::Admin, &format!("/v1/leads?{query}")).await;
        assert_eq!(answer.status, 422, "{query}: {}", answer.body);
        assert_eq!(answer.body["fields"][0]["field"], field, "{query}");
    }
    // A cursor is a month and a position: anything else is refused by name; a page's
    // cursor continues where it stopped.
    let first = get(&api, "root", Role::Admin, "/v1/leads?stage=mql&limit=3").await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let next = get(
        &api,
        "root",
        Role::Admin,
        &format!("/v1/leads?stage=mql&limit=3&cursor={}", cursor.replace('#', "%23")),
    )
    .await;
    assert_eq!(next.status, 200, "{}", next.body);
    assert_ne!(next.body["items"][0]["id"], first.body["items"][0]["id"]);
    // Finance lists no leads.
    assert_eq!(get(&api, "cfo", Role::Finance, "/v1/leads").await.status, 403);
}

/// A real number that looks made up (eight digits in a row) is judged junk by cleaning;
/// marketing finds it in the invalid pool by reason and restores it: qualification runs
/// again (dedup, score) and routing gives it an owner. Repeating the review changes
/// nothing; a rep may not review.
#[tokio::test]
async fn a_restored_lead_is_qualified_and_routed_as_a_new_capture() {
    use assign::Assign;
    use dedup_score::DedupScore;
    let stack = Stack::start().await;
    let store = stack.store();
    let mut zhang = rep("zhang");
    zhang.department = "east".into();
    store.put_rep(&zhang).await.unwrap();
    store
        .put_pool(&Pool {
            id: "general".into(),
            name: "General".into(),
            strategy: Strategy::RoundRobin,
            members: vec!["zhang".into()],
            daily_cap: None,
            daily_claim_cap: None,
            webhook: None,
        })
        .await
        .unwrap();
    let body = serde_json::json!({"name": "陈先生", "phone": "13812345678", "company": "上海纷扬科技有限公司", "consent": true});
    let event = http_event(
        "POST",
        "/v1/leads",
        &[("content-type", "application/json")],
        &body.to_string(),
    );
    let accepted = answer(stack.intake().handle(request(&event)).await);
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let id = accepted.body["lead_id"].as_str().unwrap().to_string();
    let qualify = DedupScore {
        store: stack.store(),
        bus: stack.full_bus(),
    };
    let route = Assign {
        store: stack.store(),
        bus: stack.full_bus(),
        notifier: domain::memory::RecordingNotifier::default(),
    };
    let settle = || async {
        while stack.deliver("CaptureQueue", |e| qualify.handle(e, now())).await.0 > 0 {}
        while stack.deliver("ReadyQueue", |e| route.handle(e, now())).await.0 > 0 {}
    };
    settle().await;
    assert_eq!(stack.lead(&id).await.stage, Stage::Invalid);

    let api = api(&stack);
    let pool = get(&api, "mk", Role::Marketing, "/v1/leads?reason=impossible_contact").await;
    assert_eq!(pool.status, 200, "{}", pool.body);
    assert_eq!(
        pool.body["items"][0]["id"],
        id.as_str(),
        "found in the invalid pool by its reason"
    );
    // Marketing judges the invalid pool's contacts (a wrong number is a reason), and sees
    // no one else's: the same lead is masked once restored (below).
    assert_eq!(pool.body["items"][0]["masked"], false);

    let act = |who: &'static str, role: Role, action: &'static str| {
        let api = &api;
        let id = id.clone();
        async move {
            let auth = format!("Bearer {}", token(who, role));
            let body = serde_json::json!({"action": action, "note": "a real customer: 8 digits in a row by chance"});
            let event = http_event(
                "POST",
                &format!("/v1/leads/{id}/actions"),
                &[("authorization", auth.as_str()), ("content-type", "application/json")],
                &body.to_string(),
            );
            answer(api.handle(request(&event)).await)
        }
    };
    let refused = act("zhang", Role::Rep, "restore").await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    let restored = act("mk", Role::Marketing, "restore").await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(restored.body["lead"]["stage"], "received");
    let listed = get(&api, "mk", Role::Marketing, "/v1/leads?stage=received").await;
    let row = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .cloned()
        .expect("restored, listed among every lead");
    assert_eq!(row["masked"], true, "{row}");
    let version = restored.body["lead"]["version"].clone();
    let again = act("mk", Role::Marketing, "restore").await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.body["lead"]["version"], version,
        "the same review twice writes nothing"
    );

    settle().await;
    let lead = stack.lead(&id).await;
    assert_ne!(lead.stage, Stage::Invalid, "not judged junk again");
    assert!(lead.score.is_some(), "scored");
    assert_eq!(lead.owner.as_deref(), Some("zhang"), "routed");
    assert_eq!(lead.reviews.len(), 1);
    assert_eq!(lead.reviews[0].reason, "impossible_contact");
    assert_eq!(lead.reviews[0].by, "mk");
    let late = act("mk", Role::Marketing, "confirm_invalid").await;
    assert_eq!(late.status, 409, "only an invalid lead is reviewed: {}", late.body);
}

#[tokio::test]
async fn confirming_an_invalid_lead_twice_is_one_review() {
    let stack = Stack::start().await;
    let mut lead = lead_at(2);
    lead.stage = Stage::Invalid;
    lead.invalid_reason = Some(InvalidReason {
        code: "blacklist_phone".into(),
        detail: String::new(),
    });
    stack
        .store()
        .create_lead(&NewLead::new(lead.clone(), None))
        .await
        .unwrap();
    let api = api(&stack);
    let auth = format!("Bearer {}", token("boss", Role::Manager));
    let confirm = || {
        let event = http_event(
            "POST",
            &format!("/v1/leads/{}/actions", lead.id),
            &[("authorization", auth.as_str()), ("content-type", "application/json")],
            r#"{"action": "confirm_invalid"}"#,
        );
        api.handle(request(&event))
    };
    let first = answer(confirm().await);
    assert_eq!(first.status, 200, "{}", first.body);
    let second = answer(confirm().await);
    assert_eq!(second.body["lead"]["version"], first.body["lead"]["version"]);
    let stored = stack.lead(lead.id.as_str()).await;
    assert_eq!(stored.stage, Stage::Invalid);
    assert_eq!(stored.reviews.len(), 1);
}
