//! Configuration history against the emulator, through the real handlers: for every
//! versioned configuration (rules, routing, SLA policies and calendars, attribution, a
//! push source, an import mapping, the models in service) three saved versions are
//! listed in pages with who saved each, when and what changed, one is read whole, and a
//! rollback restores one as a new version that the next lead (or push, or import) is
//! handled by. Each kind's routes refuse the roles that may not read or change it, and
//! bad input is refused naming the field.
//!
//! Concurrency: two rollbacks sent together are both answered, exactly one new version
//! is saved (the other gets 409, or, had it started after the first was saved, 200 with
//! nothing saved), and a repeated rollback saves nothing; the history's count proves it.

use api::Api;
use assign::Assign;
use chrono::{DateTime, Duration, Utc};
use dedup_score::DedupScore;
use domain::assign::actions::Role;
use domain::assign::auto::assign_lead;
use domain::capture::submission::SubmissionRules;
use domain::lead::ports::{FixedClock, LeadStore};
use domain::lead::{Lead, LeadId, Stage};
use domain::memory::RecordingNotifier;
use domain::{assign::ports::RoutingStore, predict::ports::ModelStore};
use domain::{
    assign::routing::Pool, assign::routing::Rep, assign::routing::RoutingConfig, assign::routing::Strategy,
    assign::routing::Tier,
};
use intake::http::AllowedOrigins;
use intake::Intake;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, api_token, http_event, request, Answer, Stack};
use serde_json::{json, Value};

const HOOK_SECRET: &str = "tt-0123456789abcdef0123456789abcdef";
const NEWER_SECRET: &str = "tt-fedcba9876543210fedcba9876543210";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct Setup {
    stack: Stack,
    now: DateTime<Utc>,
    api: Api<DynamoStore, SqsBus, FixedClock>,
    intake: Intake<DynamoStore, SqsBus, FixedClock>,
}

impl Setup {
    async fn start(now: DateTime<Utc>) -> Self {
        let stack = Stack::start().await;
        Self {
            api: stack.api(FixedClock(now)),
            intake: Intake {
                store: stack.store(),
                bus: stack.full_bus(),
                clock: FixedClock(now),
                rules: SubmissionRules::default(),
                origins: AllowedOrigins::default(),
                limits: domain::capture::ratelimit::RateLimits::off(),
            },
            now,
            stack,
        }
    }

    /// A call as `who` holding `role`; `body` `None` sends no body.
    async fn call(&self, who: &str, role: Role, method: &str, path: &str, body: Option<Value>) -> Answer {
        let auth = format!("Bearer {}", api_token(who, &[role]));
        let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        answer(
            self.api
                .handle(request(&http_event(method, path, &headers, &body)))
                .await,
        )
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.call("admin-zhao", Role::Admin, method, path, body).await
    }

    /// A web form lead through intake and dedup-score (a fresh scorer: nothing cached).
    async fn scored_lead(&self, phone: &str) -> Lead {
        let body = json!({"name": "王伟", "phone": phone, "company": "北京纷扬科技有限公司"});
        let event = http_event(
            "POST",
            "/v1/leads",
            &[("content-type", "application/json")],
            &body.to_string(),
        );
        let got = answer(self.intake.handle(request(&event)).await);
        assert_eq!(got.status, 202, "{}", got.body);
        self.score_captured().await;
        self.stack.lead(got.body["lead_id"].as_str().unwrap()).await
    }

    /// Runs dedup-score over what intake queued.
    async fn score_captured(&self) {
        let dedup = DedupScore {
            store: self.stack.store(),
            bus: self.stack.full_bus(),
        };
        while self
            .stack
            .deliver("CaptureQueue", |e| dedup.handle(e, self.now))
            .await
            .0
            > 0
        {}
    }
}

fn numbers(page: &Answer) -> Vec<u64> {
    page.body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect()
}

/// What every kind's history answers alike, on `base` (e.g. `/v1/config/rules`) with
/// three versions saved: pages of two, newest first; version 2 read whole; every bad
/// input refused naming its field.
async fn pages_and_bad_inputs(s: &Setup, base: &str) {
    let first = s.admin("GET", &format!("{base}/versions?limit=2"), None).await;
    assert_eq!(first.status, 200, "{base}: {}", first.body);
    assert_eq!(numbers(&first), [3, 2], "{base}: newest first");
    assert_eq!(first.body["next_cursor"], "2");
    assert!(
        first.body["versions"][0].get("document").is_none(),
        "a list leaves documents out"
    );
    let rest = s.admin("GET", &format!("{base}/versions?limit=2&cursor=2"), None).await;
    assert_eq!((numbers(&rest), &rest.body["next_cursor"]), (vec![1], &Value::Null));
    let all = s.admin("GET", &format!("{base}/versions"), None).await;
    assert_eq!(numbers(&all), [3, 2, 1], "default page");
    let second = s.admin("GET", &format!("{base}/versions/2"), None).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["version"], 2);
    assert!(second.body["document"].is_object());

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("cursor=newest", "cursor"),
        ("cursor=0", "cursor"),
        ("cursor=-1", "cursor"),
        ("cursor=02", "cursor"),
        ("cursor=%2B2", "cursor"),
    ] {
        let got = s.admin("GET", &format!("{base}/versions?{query}"), None).await;
        assert_eq!((got.status, got.fields()), (422, vec![field]), "{base}?{query}");
    }
    for n in ["0", "two", "-1", "99999999999999999999"] {
        let got = s.admin("GET", &format!("{base}/versions/{n}"), None).await;
        assert_eq!((got.status, got.fields()), (422, vec!["n"]), "{base}/versions/{n}");
    }
    let unknown = s.admin("GET", &format!("{base}/versions/99"), None).await;
    assert_eq!((unknown.status, unknown.fields()), (404, vec!["n"]));

    let rollback = format!("{base}/rollback");
    for (body, field) in [
        (json!({}), "to"),
        (json!({"to": 0}), "to"),
        (json!({"to": -2}), "to"),
        (json!({"to": "1"}), "to"),
        (json!({"to": 1.5}), "to"),
        (json!({"to": null}), "to"),
        (json!({"to": 1, "version": 3}), "version"),
    ] {
        let got = s.admin("POST", &rollback, Some(body.clone())).await;
        assert_eq!((got.status, got.fields()), (422, vec![field]), "{base} {body}");
    }
    let missing = s.admin("POST", &rollback, Some(json!({"to": 99}))).await;
    assert_eq!((missing.status, missing.fields()), (404, vec!["to"]));
    // `99.0` is the integer 99 to JSON Schema, so to the API: the same 404.
    let whole = s.admin("POST", &rollback, Some(json!({"to": 99.0}))).await;
    assert_eq!((whole.status, whole.fields()), (404, vec!["to"]));
    assert_eq!(s.admin("POST", &rollback, None).await.status, 400, "no body");
    assert_eq!(s.admin("POST", &rollback, Some(json!([1]))).await.status, 400);
    let after = s.admin("GET", &format!("{base}/versions"), None).await;
    assert_eq!(numbers(&after), [3, 2, 1], "{base}: no refused rollback saved anything");
}

/// `role` gets 403 naming `authorization` on each of `paths` (method, path).
async fn refused(s: &Setup, role: Role, paths: &[(&str, String)]) {
    for (method, path) in paths {
        let got = s.call("someone", role, method, path, Some(json!({"to": 1}))).await;
        assert_eq!(got.status, 403, "{role:?} {method} {path}: {}", got.body);
        assert_eq!(got.fields(), ["authorization"]);
    }
}

fn history_routes(base: &str) -> [(&'static str, String); 3] {
    [
        ("GET", format!("{base}/versions")),
        ("GET", format!("{base}/versions/1")),
        ("POST", format!("{base}/rollback")),
    ]
}

#[tokio::test]
async fn rules_roll_back_as_a_new_version_and_the_next_lead_is_scored_by_them() {
    let s = Setup::start(t("2026-11-20T09:00:00+08:00")).await;
    // Three versions, by an admin and a marketer: form submissions worth 35, 50, 5.
    let mut rules = s.admin("GET", "/v1/config/rules", None).await.body;
    for (who, role, points) in [
        ("admin-zhao", Role::Admin, 35),
        ("mkt-li", Role::Marketing, 50),
        ("admin-zhao", Role::Admin, 5),
    ] {
        rules["scoring"]["engagement_points"]["form_submit"] = json!(points);
        let saved = s.call(who, role, "PUT", "/v1/config/rules", Some(rules.clone())).await;
        assert_eq!(saved.status, 200, "{}", saved.body);
        rules = saved.body;
    }
    pages_and_bad_inputs(&s, "/v1/config/rules").await;
    let listed = s.admin("GET", "/v1/config/rules/versions", None).await.body;
    let v2 = &listed["versions"][1];
    assert_eq!(v2["saved_by"], "mkt-li");
    assert_eq!(v2["saved_at"], "2026-11-20T01:00:00Z");
    assert_eq!(v2["changed"], json!(["scoring"]));
    assert_eq!(v2["restored_from"], Value::Null);
    assert_eq!(
        listed["versions"][2]["changed"],
        json!(["cleaning", "dedup", "nurture", "scoring"])
    );
    let read = s.admin("GET", "/v1/config/rules/versions/2", None).await.body;
    assert_eq!(read["document"]["scoring"]["engagement_points"]["form_submit"], 50);
    assert_eq!(s.scored_lead("13800138001").await.score.unwrap().engagement, 5);

    // A marketer restores version 2: saved as version 4, and the next lead scores by it.
    let restored = s
        .call(
            "mkt-li",
            Role::Marketing,
            "POST",
            "/v1/config/rules/rollback",
            Some(json!({"to": 2})),
        )
        .await;
    assert_eq!(restored.status, 201, "{}", restored.body);
    assert_eq!(
        (
            &restored.body["version"],
            &restored.body["restored_from"],
            &restored.body["saved_by"]
        ),
        (&json!(4), &json!(2), &json!("mkt-li"))
    );
    assert_eq!(restored.body["changed"], json!(["scoring"]));
    let current = s.admin("GET", "/v1/config/rules", None).await.body;
    assert_eq!(
        (
            &current["version"],
            &current["scoring"]["engagement_points"]["form_submit"]
        ),
        (&json!(4), &json!(50))
    );
    assert_eq!(s.scored_lead("13800138002").await.score.unwrap().engagement, 50);
    // A PUT based on version 3 is stale now.
    let stale = s.admin("PUT", "/v1/config/rules", Some(rules)).await;
    assert_eq!((stale.status, stale.fields()), (409, vec!["version"]));

    // The same rollback again changes nothing: 200 with version 4, no version 5.
    let again = s
        .admin("POST", "/v1/config/rules/rollback", Some(json!({"to": 2})))
        .await;
    assert_eq!(
        (again.status, &again.body["version"]),
        (200, &json!(4)),
        "{}",
        again.body
    );
    assert_eq!(
        numbers(&s.admin("GET", "/v1/config/rules/versions", None).await),
        [4, 3, 2, 1]
    );

    // Two rollbacks sent together: one new version, the other refused or a no-op.
    let body = Some(json!({"to": 1}));
    let (a, b) = tokio::join!(
        s.admin("POST", "/v1/config/rules/rollback", body.clone()),
        s.call(
            "mkt-li",
            Role::Marketing,
            "POST",
            "/v1/config/rules/rollback",
            body.clone()
        ),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert!(
        statuses == [201, 409] || statuses == [200, 201],
        "{statuses:?}: {} / {}",
        a.body,
        b.body
    );
    for lost in [&a, &b].into_iter().filter(|x| x.status == 409) {
        assert_eq!(lost.fields(), ["to"]);
    }
    let after = s.admin("GET", "/v1/config/rules/versions", None).await;
    assert_eq!(numbers(&after), [5, 4, 3, 2, 1], "exactly one version was saved");
    assert_eq!(after.body["versions"][0]["restored_from"], 1);

    // Roles: reading versions as reading rules, rolling back as changing them.
    let base = "/v1/config/rules";
    for role in [Role::Rep, Role::Finance, Role::Integration, Role::Exporter] {
        refused(&s, role, &history_routes(base)).await;
    }
    assert_eq!(
        s.call("m", Role::Manager, "GET", "/v1/config/rules/versions", None)
            .await
            .status,
        200
    );
    refused(&s, Role::Manager, &[("POST", format!("{base}/rollback"))]).await;
    // A kind that is not versioned is no route.
    let unknown = s.admin("GET", "/v1/config/pools/versions", None).await;
    assert_eq!((unknown.status, unknown.fields()), (404, vec!["path"]));
}

fn rep(id: &str) -> Rep {
    Rep {
        id: id.into(),
        name: id.into(),
        team: "north".into(),
        department: "华北销售部".into(),
        tier: Tier::Regular,
        weight: 1,
        holding_cap: Some(10_000),
        daily_cap: None,
        working_hours: None,
        out_of_office: Vec::new(),
        webhook: None,
        active: true,
    }
}

fn pool(id: &str, strategy: Strategy) -> Pool {
    Pool {
        id: id.into(),
        name: id.into(),
        strategy,
        members: vec!["zhang".into()],
        daily_cap: None,
        daily_claim_cap: None,
        webhook: None,
    }
}

/// A qualified web-form lead handed to routing at `at`.
async fn routed(s: &Setup, at: DateTime<Utc>) -> Lead {
    let store = s.stack.store();
    let mut lead = Lead::new(LeadId::generate(at), "web_form", at);
    lead.set_stage(Stage::Aql, at);
    store
        .create_lead(&domain::lead::ports::NewLead::new(lead.clone(), None))
        .await
        .unwrap();
    assign_lead(&store, &s.stack.full_bus(), &lead.id, at).await.unwrap();
    s.stack.lead(lead.id.as_str()).await
}

#[tokio::test]
async fn a_routing_version_naming_a_deleted_pool_is_refused_and_another_routes_the_next_lead() {
    let s = Setup::start(t("2026-11-20T09:00:00+08:00")).await;
    let store = s.stack.store();
    store.put_rep(&rep("zhang")).await.unwrap();
    for id in ["east", "north", "south"] {
        store.put_pool(&pool(id, Strategy::ClaimOnly)).await.unwrap();
    }
    let mut routing = s.admin("GET", "/v1/config/routing", None).await.body;
    for default in ["east", "north", "south"] {
        routing["default_pool"] = json!(default);
        let saved = s.admin("PUT", "/v1/config/routing", Some(routing.clone())).await;
        assert_eq!(saved.status, 200, "{}", saved.body);
        routing = saved.body;
    }
    pages_and_bad_inputs(&s, "/v1/config/routing").await;
    assert_eq!(routed(&s, s.now).await.pool.as_deref(), Some("south"));

    // `east` is no longer used, so it can be deleted; version 1 names it.
    let deleted = s.admin("DELETE", "/v1/pools/east", None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let refused_rollback = s
        .admin("POST", "/v1/config/routing/rollback", Some(json!({"to": 1})))
        .await;
    assert_eq!(refused_rollback.status, 409, "{}", refused_rollback.body);
    assert_eq!(refused_rollback.fields(), ["default_pool"]);
    assert_eq!(
        numbers(&s.admin("GET", "/v1/config/routing/versions", None).await),
        [3, 2, 1]
    );
    assert_eq!(
        s.admin("GET", "/v1/config/routing", None).await.body["default_pool"],
        "south"
    );

    let restored = s
        .admin("POST", "/v1/config/routing/rollback", Some(json!({"to": 2})))
        .await;
    assert_eq!(restored.status, 201, "{}", restored.body);
    assert_eq!(restored.body["document"]["default_pool"], "north");
    assert_eq!(restored.body["changed"], json!(["default_pool"]));
    assert_eq!(routed(&s, s.now).await.pool.as_deref(), Some("north"), "the next lead");

    let base = "/v1/config/routing";
    for role in [Role::Rep, Role::Finance, Role::Marketing, Role::Integration] {
        refused(&s, role, &history_routes(base)).await;
    }
    assert_eq!(
        s.call("m", Role::Manager, "GET", "/v1/config/routing/versions/2", None)
            .await
            .status,
        200
    );
    // Managers run routing: their rollback is judged like an admin's (version 1 names
    // the deleted pool: 409), not refused for the role.
    let by_manager = s
        .call(
            "m",
            Role::Manager,
            "POST",
            &format!("{base}/rollback"),
            Some(json!({"to": 1})),
        )
        .await;
    assert_eq!(by_manager.status, 409, "{}", by_manager.body);
}

#[tokio::test]
async fn an_sla_rollback_restores_policies_and_calendars_for_the_next_assigned_lead() {
    // Friday before Qingming 2026 (Saturday 4 to Monday 6 April), 15:00 Beijing time.
    let friday = t("2026-04-03T15:00:00+08:00");
    let s = Setup::start(friday).await;
    let store = s.stack.store();
    store.put_rep(&rep("zhang")).await.unwrap();
    store.put_pool(&pool("beijing", Strategy::RoundRobin)).await.unwrap();
    let routing = RoutingConfig {
        version: 1,
        default_pool: "beijing".into(),
        ..RoutingConfig::default()
    };
    store.save_routing(&routing).await.unwrap();

    // 1: the defaults saved; 2: web-form leads on ToC (1 working hour); 3: on ToB
    // (3 working days), with the calendar renamed.
    let mut sla = s.admin("GET", "/v1/config/sla", None).await.body;
    for policy in [None, Some("toc"), Some("tob")] {
        if let Some(policy) = policy {
            sla["by_channel"] = json!({"web_form": policy});
        }
        if policy == Some("tob") {
            sla["calendars"][0]["name"] = json!("中国大陆（2026 调休）");
        }
        let saved = s.admin("PUT", "/v1/config/sla", Some(sla.clone())).await;
        assert_eq!(saved.status, 200, "{}", saved.body);
        sla = saved.body;
    }
    pages_and_bad_inputs(&s, "/v1/config/sla").await;
    let listed = s.admin("GET", "/v1/config/sla/versions", None).await.body;
    assert_eq!(listed["versions"][0]["changed"], json!(["by_channel", "calendars"]));
    let first_contact = |lead: &Lead| {
        let clock = lead
            .sla
            .iter()
            .find(|c| c.clock == "first_contact")
            .expect("a first-contact clock");
        clock.due_at.unwrap() - clock.started_at
    };
    assert!(
        first_contact(&routed(&s, friday).await) > Duration::days(3),
        "ToB over the holiday"
    );

    let restored = s.admin("POST", "/v1/config/sla/rollback", Some(json!({"to": 2}))).await;
    assert_eq!(restored.status, 201, "{}", restored.body);
    assert_eq!(restored.body["changed"], json!(["by_channel", "calendars"]));
    assert_eq!(
        restored.body["document"]["calendars"][0]["name"],
        sla_calendar_name(&s, 1).await
    );
    assert!(
        first_contact(&routed(&s, friday).await) <= Duration::hours(1),
        "ToC: one working hour"
    );

    let base = "/v1/config/sla";
    for role in [Role::Rep, Role::Finance, Role::Marketing, Role::Exporter] {
        refused(&s, role, &history_routes(base)).await;
    }
    refused(&s, Role::Manager, &[("POST", format!("{base}/rollback"))]).await;
}

async fn sla_calendar_name(s: &Setup, version: u64) -> Value {
    let read = s
        .admin("GET", &format!("/v1/config/sla/versions/{version}"), None)
        .await;
    read.body["document"]["calendars"][0]["name"].clone()
}

#[tokio::test]
async fn attribution_versions_are_read_by_finance_and_rolled_back_by_admins() {
    let s = Setup::start(t("2026-11-20T09:00:00+08:00")).await;
    let mut config = s.admin("GET", "/v1/config/attribution", None).await.body;
    for days in [60, 30, 14] {
        config["window_days"] = json!(days);
        let saved = s.admin("PUT", "/v1/config/attribution", Some(config.clone())).await;
        assert_eq!(saved.status, 200, "{}", saved.body);
        config = saved.body;
    }
    pages_and_bad_inputs(&s, "/v1/config/attribution").await;
    let read = s
        .call("cfo", Role::Finance, "GET", "/v1/config/attribution/versions/1", None)
        .await;
    assert_eq!((read.status, &read.body["document"]["window_days"]), (200, &json!(60)));
    let restored = s
        .admin("POST", "/v1/config/attribution/rollback", Some(json!({"to": 1})))
        .await;
    assert_eq!(restored.status, 201, "{}", restored.body);
    let current = s.admin("GET", "/v1/config/attribution", None).await.body;
    assert_eq!((&current["version"], &current["window_days"]), (&json!(4), &json!(60)));

    let base = "/v1/config/attribution";
    for role in [Role::Rep, Role::Integration, Role::Exporter] {
        refused(&s, role, &history_routes(base)).await;
    }
    for role in [Role::Manager, Role::Finance, Role::Marketing] {
        assert_eq!(
            s.call("x", role, "GET", "/v1/config/attribution/versions", None)
                .await
                .status,
            200
        );
        refused(&s, role, &[("POST", format!("{base}/rollback"))]).await;
    }
}

#[tokio::test]
async fn a_push_source_rolls_back_its_mapping_but_never_its_secrets() {
    let s = Setup::start(Utc::now()).await;
    let base = "/v1/config/hooks/toutiao";
    let mapping = |phone: &str| json!({"name": "data.name", "phone": phone, "submission_id": "data.clue_id"});
    // 1: created; 2: the platform renamed its phone field; 3: the secret rotated.
    for (change, status) in [
        (
            json!({"channel": "toutiao", "mapping": mapping("data.telphone"), "secret": HOOK_SECRET}),
            201,
        ),
        (
            json!({"channel": "toutiao", "mapping": mapping("data.mobile"), "version": 1}),
            200,
        ),
        (
            json!({"channel": "toutiao", "mapping": mapping("data.mobile"), "secret": NEWER_SECRET}),
            200,
        ),
    ] {
        let saved = s.call("mkt-li", Role::Marketing, "PUT", base, Some(change)).await;
        assert_eq!(saved.status, status, "{}", saved.body);
    }
    let stale = s
        .admin(
            "PUT",
            base,
            Some(json!({"channel": "toutiao", "mapping": mapping("x"), "version": 2})),
        )
        .await;
    assert_eq!((stale.status, stale.fields()), (409, vec!["version"]));
    pages_and_bad_inputs(&s, base).await;
    let listed = s.admin("GET", &format!("{base}/versions"), None).await.body;
    assert_eq!(listed["versions"][0]["changed"], json!(["secret_fingerprints"]));
    assert_eq!(listed["versions"][1]["changed"], json!(["mapping"]));
    assert_eq!(listed["versions"][1]["saved_by"], "mkt-li");
    for n in 1..=3 {
        let read = s
            .admin("GET", &format!("{base}/versions/{n}"), None)
            .await
            .body
            .to_string();
        assert!(
            !read.contains(HOOK_SECRET) && !read.contains(NEWER_SECRET),
            "no secret in a version"
        );
    }

    let restored = s
        .call(
            "mkt-li",
            Role::Marketing,
            "POST",
            &format!("{base}/rollback"),
            Some(json!({"to": 1})),
        )
        .await;
    assert_eq!(restored.status, 201, "{}", restored.body);
    assert_eq!(restored.body["changed"], json!(["mapping"]), "the secrets are today's");
    let source = s.admin("GET", base, None).await.body;
    assert_eq!(
        (&source["version"], &source["mapping"]["phone"]),
        (&json!(4), &json!("data.telphone"))
    );
    assert_eq!(source["secret_fingerprints"].as_array().unwrap().len(), 2);

    // The next push, signed with today's secret, is read with version 1's field names.
    let at = Utc::now();
    let body = json!({"data": {"clue_id": "c-1", "name": "王伟", "telphone": "13800138009"}}).to_string();
    let signature = domain::capture::hooks::sign(NEWER_SECRET, at.timestamp(), body.as_bytes());
    let ts = at.timestamp().to_string();
    let headers = [
        ("content-type", "application/json"),
        ("x-leadflow-timestamp", ts.as_str()),
        ("x-leadflow-signature", signature.as_str()),
    ];
    let pushed = answer(
        s.intake
            .handle(request(&http_event("POST", "/v1/hooks/toutiao", &headers, &body)))
            .await,
    );
    assert_eq!(pushed.status, 202, "{}", pushed.body);
    s.score_captured().await;
    let lead = s.stack.lead(pushed.body["lead_id"].as_str().unwrap()).await;
    assert_eq!(lead.contact.phone.as_deref(), Some("+8613800138009"));

    let unknown = s.admin("GET", "/v1/config/hooks/baidu/versions", None).await;
    assert_eq!((unknown.status, unknown.fields()), (404, vec!["source"]));
    let unknown = s
        .admin("POST", "/v1/config/hooks/baidu/rollback", Some(json!({"to": 1})))
        .await;
    assert_eq!((unknown.status, unknown.fields()), (404, vec!["source"]));
    for role in [Role::Rep, Role::Finance, Role::Integration] {
        refused(&s, role, &history_routes(base)).await;
    }
    assert_eq!(
        s.call("m", Role::Manager, "GET", &format!("{base}/versions"), None)
            .await
            .status,
        200
    );
    refused(&s, Role::Manager, &[("POST", format!("{base}/rollback"))]).await;
}

#[tokio::test]
async fn an_import_mapping_rolls_back_and_the_next_import_reads_through_it() {
    let s = Setup::start(t("2026-11-20T09:00:00+08:00")).await;
    let base = "/v1/config/import-mappings/expo";
    for header in ["手机", "电话号码", "Mobile"] {
        let saved = s
            .call(
                "ops-lin",
                Role::Manager,
                "PUT",
                base,
                Some(json!({"columns": {header: "phone", "姓名": "name"}})),
            )
            .await;
        assert_eq!(saved.status, 200, "{}", saved.body);
    }
    pages_and_bad_inputs(&s, base).await;
    let sheet = "姓名,手机\n展会甲,13812340001\n";
    let dry_run = || async {
        let auth = format!("Bearer {}", api_token("ops-lin", &[Role::Manager]));
        let headers = [("content-type", "text/csv"), ("authorization", auth.as_str())];
        let path = "/v1/imports?dry_run=true&mapping=expo";
        answer(s.api.handle(request(&http_event("POST", path, &headers, sheet))).await)
    };
    assert_ne!(
        dry_run().await.status,
        200,
        "version 3 reads no phone column from this sheet"
    );

    let restored = s
        .call(
            "mkt-li",
            Role::Marketing,
            "POST",
            &format!("{base}/rollback"),
            Some(json!({"to": 1})),
        )
        .await;
    assert_eq!(restored.status, 201, "{}", restored.body);
    assert_eq!(restored.body["document"]["columns"]["手机"], "phone");
    let report = dry_run().await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["report"]["valid"], 1);

    let preset = s
        .admin("GET", "/v1/config/import-mappings/leadflow/versions", None)
        .await;
    assert_eq!((preset.status, preset.fields()), (404, vec!["name"]));
    for role in [Role::Rep, Role::Finance, Role::Exporter] {
        refused(&s, role, &history_routes(base)).await;
    }
}

#[tokio::test]
async fn the_models_in_service_roll_back_undoing_a_promotion_for_the_next_lead() {
    let now = t("2026-11-20T09:00:00+08:00");
    let s = Setup::start(now).await;
    let store = s.stack.store();
    // 1: a share; 2: a trained challenger (as the train function leaves it); 3: promoted.
    let shared = s
        .admin("PUT", "/v1/config/models", Some(json!({"challenger_share": 0.5})))
        .await;
    assert_eq!(shared.status, 200, "{}", shared.body);
    store
        .save_model(&domain::predict::Model::prior_only(1, now))
        .await
        .unwrap();
    let current = store.in_service().await.unwrap().unwrap();
    let mut next = domain::predict::modeling::InService {
        challenger: Some(1),
        ..current
    };
    use domain::lead::versioned::{save, ConfigId, ConfigKind, Versioned};
    next.next_version(now);
    save(&store, &ConfigId::of(ConfigKind::Models), &next, "schedule", now)
        .await
        .unwrap();
    let promoted = s.admin("POST", "/v1/models/promote", None).await;
    assert_eq!((promoted.status, &promoted.body["champion"]), (200, &json!(1)));
    pages_and_bad_inputs(&s, "/v1/config/models").await;
    let listed = s.admin("GET", "/v1/config/models/versions", None).await.body;
    let who: Vec<&str> = listed["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["saved_by"].as_str().unwrap())
        .collect();
    assert_eq!(who, ["admin-zhao", "schedule", "admin-zhao"]);
    assert_eq!(listed["versions"][0]["changed"], json!(["challenger", "champion"]));
    assert_eq!(s.scored_lead("13800138011").await.prediction.unwrap().model_version, 1);

    // Undo the promotion and the training: revision 1 back in service.
    let restored = s
        .admin("POST", "/v1/config/models/rollback", Some(json!({"to": 1})))
        .await;
    assert_eq!(restored.status, 201, "{}", restored.body);
    let models = s.admin("GET", "/v1/models", None).await.body;
    assert_eq!(
        models["in_service"],
        json!({"champion": 0, "challenger_share": 0.5, "revision": 4})
    );
    assert_eq!(s.scored_lead("13800138012").await.prediction.unwrap().model_version, 0);

    let base = "/v1/config/models";
    for role in [Role::Rep, Role::Finance, Role::Integration] {
        refused(&s, role, &history_routes(base)).await;
    }
    for role in [Role::Manager, Role::Marketing] {
        assert_eq!(
            s.call("x", role, "GET", "/v1/config/models/versions", None)
                .await
                .status,
            200
        );
        refused(&s, role, &[("POST", format!("{base}/rollback"))]).await;
    }
}

/// Assign runs in the routing test through `assign_lead`; this keeps the consumer's own
/// wiring honest too: a lead handed over the ready queue lands where the restored
/// routing sends it.
#[tokio::test]
async fn the_assign_consumer_reads_the_restored_routing() {
    let s = Setup::start(t("2026-11-20T09:00:00+08:00")).await;
    let store = s.stack.store();
    store.put_rep(&rep("zhang")).await.unwrap();
    for id in ["general", "vip"] {
        store.put_pool(&pool(id, Strategy::ClaimOnly)).await.unwrap();
    }
    let mut routing = s.admin("GET", "/v1/config/routing", None).await.body;
    for default in ["general", "vip"] {
        routing["default_pool"] = json!(default);
        routing = s.admin("PUT", "/v1/config/routing", Some(routing)).await.body;
    }
    let restored = s
        .admin("POST", "/v1/config/routing/rollback", Some(json!({"to": 1})))
        .await;
    assert_eq!(restored.status, 201, "{}", restored.body);
    let lead = s.scored_lead("13800138021").await;
    let consumer = Assign {
        store: s.stack.store(),
        bus: s.stack.full_bus(),
        notifier: RecordingNotifier::default(),
    };
    while s.stack.deliver("ReadyQueue", |e| consumer.handle(e, s.now)).await.0 > 0 {}
    assert_eq!(s.stack.lead(lead.id.as_str()).await.pool.as_deref(), Some("general"));
}
