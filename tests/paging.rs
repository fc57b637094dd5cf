//! Paging (docs/src/api.md#paging) against the emulator: every paged list walked a page
//! at a time, in its order, nothing repeated and nothing missed, the last page's
//! `next_cursor` null; a cursor is a position (one the API never gave still starts a
//! page where it sorts); and a bad `limit` or `cursor` refused with 422 naming it.

use api::auth::{mint_hs256, Verifier};
use api::Api;
use chrono::{DateTime, Duration, Utc};
use domain::assign::actions::Role;
use domain::assign::ports::{LeadChange, RoutingStore};
use domain::follow_up::ports::Violation;
use domain::follow_up::sla::BreachAction;
use domain::import::ports::ImportStore;
use domain::import::{Batch, ImportJob};
use domain::lead::ports::{FixedClock, LeadStore};
use domain::lead::{ulid_at, Lead, LeadId, Stage};
use domain::predict::ports::ModelStore;
use domain::predict::Model;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_http::paging::encode_cursor;
use leadflow_tests::{answer, http_event, request, Answer, Stack};
use serde_json::{json, Value};

const SECRET: &str = "paging-test-secret";
const ISSUER: &str = "leadflow-paging";
const NOW: &str = "2026-04-30T02:00:00Z";
/// Items per list: pages of 3 are 3, 3 and 1.
const N: usize = 7;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

type TestApi = Api<DynamoStore, SqsBus, FixedClock>;

async fn call(api: &TestApi, method: &str, path: &str, body: Option<Value>) -> Answer {
    let auth = format!("Bearer {}", mint_hs256(SECRET, ISSUER, "root", &[Role::Admin], 600));
    let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    answer(api.handle(request(&http_event(method, path, &headers, &body))).await)
}

async fn put(api: &TestApi, path: &str, body: Value) {
    let got = call(api, "PUT", path, Some(body)).await;
    assert!(
        [200, 201].contains(&got.status),
        "PUT {path}: {} {}",
        got.status,
        got.body
    );
}

/// Every page of `path` at `limit` a page: the `id` of each item of the array `items`,
/// in the order served, and how many pages it took.
async fn walk(api: &TestApi, path: &str, items: &str, id: &str, limit: usize) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let got = call(api, "GET", &url, None).await;
        assert_eq!(got.status, 200, "{url}: {}", got.body);
        let page = got.body[items]
            .as_array()
            .unwrap_or_else(|| panic!("{url}: no {items}"));
        assert!(page.len() <= limit, "{url}: {} items", page.len());
        seen.extend(
            page.iter()
                .map(|i| i[id].as_str().map_or_else(|| i[id].to_string(), str::to_string)),
        );
        pages += 1;
        assert!(pages <= 2 * N, "{path}: the pages do not end");
        match &got.body["next_cursor"] {
            Value::Null => return (seen, pages),
            Value::String(next) => {
                assert!(!page.is_empty(), "{url}: an empty page before the end");
                cursor = Some(next.clone());
            }
            other => panic!("{url}: next_cursor {other}"),
        }
    }
}

async fn assert_walks(api: &TestApi, path: &str, items: &str, id: &str, expected: &[String]) {
    let (seen, pages) = walk(api, path, items, id, 3).await;
    assert_eq!(seen, expected, "{path}: every item once, in order");
    assert_eq!(pages, expected.len().div_ceil(3), "{path}: no empty last page");
    let (all, pages) = walk(api, path, items, id, 200).await;
    assert_eq!(
        (all.as_slice(), pages),
        (expected, 1),
        "{path}: one page holds them all"
    );
    for (bad, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("cursor=A", "cursor"),
        ("cursor=not%20a%20cursor", "cursor"),
    ] {
        let sep = if path.contains('?') { '&' } else { '?' };
        let got = call(api, "GET", &format!("{path}{sep}{bad}"), None).await;
        assert_eq!(got.status, 422, "{path} {bad}: {}", got.body);
        assert_eq!(got.body["fields"][0]["field"], field, "{path} {bad}");
    }
}

fn ids(prefix: &str) -> Vec<String> {
    (0..N).map(|i| format!("{prefix}{i}")).collect()
}

#[tokio::test]
async fn every_paged_list_walks_page_by_page_without_repeats_or_gaps() {
    let stack = Stack::start().await;
    let store = stack.store();
    let now = t(NOW);
    let api = Api {
        store: stack.store(),
        bus: stack.api_bus(),
        clock: FixedClock(now),
        verifier: Verifier::hs256(SECRET, ISSUER),
    };

    for id in ids("rep-") {
        put(
            &api,
            &format!("/v1/reps/{id}"),
            json!({"name": "李雷", "tier": "regular"}),
        )
        .await;
    }
    assert_walks(&api, "/v1/reps", "items", "id", &ids("rep-")).await;
    // A cursor names a position: one the API never gave starts after where it sorts.
    let after = encode_cursor("rep-3a");
    let (rest, _) = walk(&api, &format!("/v1/reps?cursor={after}"), "items", "id", 200).await;
    assert_eq!(rest, ids("rep-")[4..]);

    for id in ids("pool-") {
        let pool = json!({"name": "池", "strategy": {"kind": "claim_only"}, "members": ["rep-0"]});
        put(&api, &format!("/v1/pools/{id}"), pool).await;
    }
    assert_walks(&api, "/v1/pools", "items", "id", &ids("pool-")).await;

    for id in ids("spring-") {
        put(
            &api,
            &format!("/v1/campaigns/{id}"),
            json!({"channel": "baidu", "name": "春季"}),
        )
        .await;
    }
    assert_walks(&api, "/v1/campaigns", "items", "id", &ids("spring-")).await;

    for name in ids("source-") {
        let source = json!({"channel": "toutiao", "mapping": {"name": "data.name", "phone": "data.phone"},
                            "secret": "a-secret-of-at-least-32-characters-0123"});
        put(&api, &format!("/v1/config/hooks/{name}"), source).await;
    }
    assert_walks(&api, "/v1/config/hooks", "items", "name", &ids("source-")).await;

    for name in ids("expo-") {
        put(
            &api,
            &format!("/v1/config/import-mappings/{name}"),
            json!({"columns": {"手机": "phone"}}),
        )
        .await;
    }
    assert_walks(&api, "/v1/config/import-mappings", "saved", "name", &ids("expo-")).await;

    // Imports: the most recent first.
    let mut jobs: Vec<String> = Vec::new();
    for i in 0..N {
        let created = now - Duration::hours(N as i64 - i as i64);
        let job = ImportJob {
            id: ulid_at(created),
            file_name: Some(format!("expo-{i}.csv")),
            batch: Batch {
                channel: "trade_show".into(),
                campaign_id: None,
                timezone: chrono_tz::Asia::Shanghai,
            },
            mapping: "auto".into(),
            encoding: "utf-8".into(),
            rows_total: 1,
            chunks: 1,
            unreadable: Vec::new(),
            created_by: "ops-lin".into(),
            created_at: created,
        };
        store.create_import(&job).await.unwrap();
        jobs.insert(0, job.id);
    }
    assert_walks(&api, "/v1/imports", "items", "import_id", &jobs).await;

    // Model versions, oldest first (the in-service record shares their partition).
    for version in 1..=N as u32 {
        store.save_model(&Model::prior_only(version, now)).await.unwrap();
    }
    let versions: Vec<String> = (1..=N).map(|v| v.to_string()).collect();
    assert_walks(&api, "/v1/models", "versions", "version", &versions).await;

    // Leads waiting in a pool, oldest first, from the index.
    let mut waiting = Vec::new();
    for i in 0..N {
        let since = now - Duration::minutes(60 - i as i64);
        let mut lead = Lead::new(LeadId::generate(since), "web_form", since);
        lead.set_stage(Stage::Aql, since);
        lead.pool = Some("pool-1".into());
        lead.waiting_since = Some(since);
        store
            .create_lead(&domain::lead::ports::NewLead::new(lead.clone(), None))
            .await
            .unwrap();
        waiting.push(lead.id.to_string());
    }
    assert_walks(&api, "/v1/pools/pool-1/leads", "leads", "lead_id", &waiting).await;

    // Violations by deadline, across two month partitions; the counts cover the period.
    let lead_id = LeadId::parse(&waiting[0]).unwrap();
    let mut due_order = Vec::new();
    for i in 0..N {
        let due = t("2026-03-27T01:00:00Z") + Duration::days(2 * i as i64);
        let before = store.get_lead(&lead_id).await.unwrap().unwrap();
        let mut next = before.clone();
        next.revise(due);
        let mut change = LeadChange::new(&before, next, due.date_naive());
        let id = format!("{lead_id}#first_contact#{}", due.timestamp_millis());
        change.violation = Some(Violation {
            id: id.clone(),
            lead_id: lead_id.clone(),
            owner: format!("rep-{}", i % 2),
            owner_department: None,
            pool: Some("pool-1".into()),
            clock: "first_contact".into(),
            policy: "default".into(),
            started_at: due - Duration::hours(2),
            due_at: due,
            recorded_at: due,
            action: BreachAction::Escalate,
            evidence: json!({"stage": "aql"}),
        });
        assert_eq!(
            store.commit_change(&change).await.unwrap(),
            domain::lead::ports::Saved::Saved
        );
        due_order.push(id);
    }
    let report = "/v1/reports/violations?from=2026-03-01&to=2026-05-01";
    assert_walks(&api, report, "violations", "id", &due_order).await;
    let page = call(&api, "GET", &format!("{report}&limit=2"), None).await;
    assert_eq!(page.body["total"], N, "{}", page.body);
    assert_eq!(
        page.body["groups"],
        json!([{"key": "rep-0", "violations": 4}, {"key": "rep-1", "violations": 3}])
    );
}
