//! Signed webhook pushes against the emulator, through the real handlers: an admin
//! configures a source through the API, a platform pushes to intake, dedup-score takes
//! the lead on. Forged, stale, unsigned and replayed pushes get 401 and leave the table
//! exactly as it was.

use api::auth::{mint_hs256, Verifier};
use api::Api;
use chrono::{DateTime, Duration, Utc};
use dedup_score::DedupScore;
use domain::assign::actions::Role;
use domain::capture::submission::SubmissionRules;
use domain::lead::Stage;
use domain::{capture::hooks::sign, capture::hooks::HOOK_INVALID};
use domain::{lead::ports::FixedClock, lead::ports::SystemClock};
use intake::http::AllowedOrigins;
use intake::Intake;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, http_event, request, Answer, Stack};
use serde_json::{json, Value};

const JWT_SECRET: &str = "s3cret-for-tests";
const ISSUER: &str = "leadflow-test";
const HOOK_SECRET: &str = "tt-0123456789abcdef0123456789abcdef";

struct Setup {
    stack: Stack,
    api: Api<DynamoStore, SqsBus, FixedClock>,
    intake: Intake<DynamoStore, SqsBus, SystemClock>,
}

impl Setup {
    async fn start() -> Self {
        let stack = Stack::start().await;
        Self {
            api: Api {
                store: stack.store(),
                bus: stack.api_bus(),
                clock: FixedClock(Utc::now()),
                verifier: Verifier::hs256(JWT_SECRET, ISSUER),
            },
            intake: Intake {
                store: stack.store(),
                bus: stack.bus(),
                clock: SystemClock,
                rules: SubmissionRules::default(),
                origins: AllowedOrigins::default(),
                limits: domain::capture::ratelimit::RateLimits::off(),
            },
            stack,
        }
    }

    async fn configure(&self, source: &str, config: Value, role: Role) -> Answer {
        let token = mint_hs256(JWT_SECRET, ISSUER, "admin-zhao", &[role], 600);
        let auth = format!("Bearer {token}");
        let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
        let event = http_event(
            "PUT",
            &format!("/v1/config/hooks/{source}"),
            &headers,
            &config.to_string(),
        );
        answer(self.api.handle(request(&event)).await)
    }

    async fn get(&self, path: &str, role: Role) -> Answer {
        let token = mint_hs256(JWT_SECRET, ISSUER, "ops-lin", &[role], 600);
        let auth = format!("Bearer {token}");
        let event = http_event("GET", path, &[("authorization", auth.as_str())], "");
        answer(self.api.handle(request(&event)).await)
    }

    async fn push(&self, source: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let event = http_event("POST", &format!("/v1/hooks/{source}"), &all, body);
        answer(self.intake.handle(request(&event)).await)
    }

    async fn signed_push(&self, source: &str, body: &str, secret: &str, at: DateTime<Utc>) -> Answer {
        let ts = at.timestamp().to_string();
        let sig = sign(secret, at.timestamp(), body.as_bytes());
        self.push(
            source,
            body,
            &[("x-leadflow-timestamp", ts.as_str()), ("x-leadflow-signature", &sig)],
        )
        .await
    }
}

fn toutiao_config() -> Value {
    json!({
        "channel": "toutiao",
        "campaign_id": "double-11",
        "mapping": {
            "name": "data.name",
            "phone": "data.telphone",
            "company": "data.answers.0.value",
            "submission_id": "data.clue_id"
        },
        "secret": HOOK_SECRET
    })
}

fn clue(id: &str, phone: &str) -> String {
    json!({"data": {"clue_id": id, "name": "王伟", "telphone": phone,
        "answers": [{"question": "公司", "value": "北京纷扬科技有限公司"}]}})
    .to_string()
}

#[tokio::test]
async fn a_signed_push_becomes_a_scored_lead_and_a_forged_one_stores_nothing() {
    let setup = Setup::start().await;
    let created = setup.configure("toutiao", toutiao_config(), Role::Admin).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(
        !created.body.to_string().contains(HOOK_SECRET),
        "the secret is never returned"
    );
    assert_eq!(created.body["secret_fingerprints"].as_array().unwrap().len(), 1);

    let body = clue("7301", "13800138000");
    let pushed = setup.signed_push("toutiao", &body, HOOK_SECRET, Utc::now()).await;
    assert_eq!(pushed.status, 202, "{}", pushed.body);
    assert_eq!(pushed.body["status"], "received");
    let lead_id = pushed.body["lead_id"].as_str().unwrap().to_string();

    let dedup = DedupScore {
        store: setup.stack.store(),
        bus: setup.stack.full_bus(),
    };
    let (delivered, failed) = setup
        .stack
        .deliver("CaptureQueue", |e| dedup.handle(e, Utc::now()))
        .await;
    assert_eq!((delivered, failed), (1, 0), "the push went out as lead.captured");
    let lead = setup.stack.lead(&lead_id).await;
    assert_eq!(lead.source.channel, "toutiao");
    assert_eq!(lead.source.campaign_id.as_deref(), Some("double-11"));
    assert_eq!(lead.contact.phone.as_deref(), Some("+8613800138000"));
    assert_eq!(lead.company.as_ref().map(|c| c.core.as_str()), Some("纷扬"));
    assert_ne!(lead.stage, Stage::Received, "dedup-score decided it");
    assert!(lead.score.is_some());

    // Every way of getting the signature wrong: 401, and the table does not change.
    let before = setup.stack.items().await.len();
    let now = Utc::now();
    let forged = sign(
        "a-guess-that-is-long-enough-000000000",
        now.timestamp(),
        body.as_bytes(),
    );
    let ts = now.timestamp().to_string();
    let good = sign(HOOK_SECRET, now.timestamp(), body.as_bytes());
    let other = clue("7302", "13900139000");
    let cases = [
        (
            "forged",
            vec![
                ("x-leadflow-timestamp", ts.as_str()),
                ("x-leadflow-signature", forged.as_str()),
            ],
            &other,
            "x-leadflow-signature",
        ),
        ("unsigned", vec![], &other, "x-leadflow-timestamp"),
        (
            "no signature",
            vec![("x-leadflow-timestamp", ts.as_str())],
            &other,
            "x-leadflow-signature",
        ),
        (
            "body swapped under a good signature",
            vec![
                ("x-leadflow-timestamp", ts.as_str()),
                ("x-leadflow-signature", good.as_str()),
            ],
            &other,
            "x-leadflow-signature",
        ),
    ];
    for (case, headers, body, header) in cases {
        let refused = setup.push("toutiao", body, &headers).await;
        assert_eq!(refused.status, 401, "{case}: {}", refused.body);
        assert_eq!(refused.body["fields"][0]["field"], header, "{case}");
    }
    let stale = setup
        .signed_push("toutiao", &other, HOOK_SECRET, now - Duration::minutes(10))
        .await;
    assert_eq!(stale.status, 401, "{}", stale.body);
    assert_eq!(stale.body["fields"][0]["field"], "x-leadflow-timestamp");
    let unknown = setup.signed_push("baidu", &other, HOOK_SECRET, now).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(setup.stack.items().await.len(), before, "refused pushes stored nothing");
    assert_eq!(setup.stack.drain("CaptureQueue").await.len(), 0, "and sent nothing");
}

#[tokio::test]
async fn a_replayed_push_is_refused_and_a_re_sent_lead_is_the_same_lead() {
    let setup = Setup::start().await;
    assert_eq!(
        setup.configure("toutiao", toutiao_config(), Role::Admin).await.status,
        201
    );
    let body = clue("8801", "13800138001");
    let now = Utc::now();
    let ts = now.timestamp().to_string();
    let sig = sign(HOOK_SECRET, now.timestamp(), body.as_bytes());
    let headers = [
        ("x-leadflow-timestamp", ts.as_str()),
        ("x-leadflow-signature", sig.as_str()),
    ];

    // The same signed request ten times at once: the conditional write lets one through.
    let answers = futures::future::join_all((0..10).map(|_| setup.push("toutiao", &body, &headers))).await;
    let accepted: Vec<&Answer> = answers.iter().filter(|a| a.status == 202).collect();
    assert_eq!(accepted.len(), 1, "exactly one of ten identical requests is accepted");
    for refused in answers.iter().filter(|a| a.status != 202) {
        assert_eq!(refused.status, 401);
        assert!(refused.body["fields"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("already used"));
    }
    let lead_id = accepted[0].body["lead_id"].clone();

    // The platform re-sends the same clue, freshly signed: recognised, not duplicated.
    let again = setup
        .signed_push("toutiao", &body, HOOK_SECRET, now + Duration::seconds(2))
        .await;
    assert_eq!(again.status, 202);
    assert_eq!(again.body["status"], "duplicate");
    assert_eq!(again.body["lead_id"], lead_id);
    assert_eq!(setup.stack.all_leads().await.len(), 1);
    assert_eq!(setup.stack.drain("CaptureQueue").await.len(), 1, "one lead.captured");
}

#[tokio::test]
async fn a_push_without_a_usable_contact_is_kept_as_invalid_with_its_values() {
    let setup = Setup::start().await;
    assert_eq!(
        setup.configure("toutiao", toutiao_config(), Role::Admin).await.status,
        201
    );
    let pushed = setup
        .signed_push("toutiao", &clue("9901", "12345"), HOOK_SECRET, Utc::now())
        .await;
    assert_eq!(pushed.status, 202, "{}", pushed.body);
    assert_eq!(pushed.body["status"], "invalid");
    assert_eq!(pushed.body["errors"][0]["field"], "phone");
    let lead = setup.stack.lead(pushed.body["lead_id"].as_str().unwrap()).await;
    assert_eq!(lead.stage, Stage::Invalid);
    assert_eq!(lead.invalid_reason.as_ref().unwrap().code, HOOK_INVALID);
    assert_eq!(lead.unusable.get("phone").map(String::as_str), Some("12345"));
    assert_eq!(lead.unusable.get("name").map(String::as_str), Some("王伟"));
    assert_eq!(
        setup.stack.drain("CaptureQueue").await.len(),
        0,
        "invalid leads are not routed"
    );
}

#[tokio::test]
async fn secrets_rotate_without_downtime_and_only_admins_configure_sources() {
    let setup = Setup::start().await;
    assert_eq!(
        setup.configure("toutiao", toutiao_config(), Role::Admin).await.status,
        201
    );
    let new_secret = "tt-fedcba9876543210fedcba9876543210";
    let mut rotate = toutiao_config();
    rotate["secret"] = json!(new_secret);
    let rotated = setup.configure("toutiao", rotate.clone(), Role::Admin).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_eq!(rotated.body["secret_fingerprints"].as_array().unwrap().len(), 2);
    let old = setup
        .signed_push("toutiao", &clue("1", "13800138002"), HOOK_SECRET, Utc::now())
        .await;
    assert_eq!(old.status, 202, "the old secret works until it is retired");
    let new = setup
        .signed_push("toutiao", &clue("2", "13800138003"), new_secret, Utc::now())
        .await;
    assert_eq!(new.status, 202);
    rotate["retire_previous_secret"] = json!(true);
    assert_eq!(setup.configure("toutiao", rotate, Role::Admin).await.status, 200);
    let retired = setup
        .signed_push("toutiao", &clue("3", "13800138004"), HOOK_SECRET, Utc::now())
        .await;
    assert_eq!(retired.status, 401);

    for role in [Role::Manager, Role::Rep, Role::Finance] {
        let refused = setup.configure("toutiao", toutiao_config(), role).await;
        assert_eq!(refused.status, 403, "{role:?}");
    }
    let listed = setup.get("/v1/config/hooks", Role::Manager).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["items"][0]["name"], "toutiao");
    assert!(!listed.body.to_string().contains(new_secret));
    assert_eq!(setup.get("/v1/config/hooks", Role::Rep).await.status, 403);

    let mut bad = toutiao_config();
    bad["mapping"] = json!({"website": "data.site"});
    bad["secret"] = json!("short");
    let invalid = setup.configure("baidu", bad, Role::Admin).await;
    assert_eq!(invalid.status, 422);
    let fields = invalid.fields();
    assert_eq!(fields, ["mapping", "mapping.website", "secret"]);
    assert_eq!(setup.get("/v1/config/hooks/baidu", Role::Admin).await.status, 404);
}
