//! Who may call the API, in-process against the emulator:
//! - bad tokens (missing, expired, another audience or issuer, a wrong signature,
//!   `alg: none`, other algorithms, malformed) get 401 with a Bearer challenge, in both
//!   key modes (shared secret; the issuer's published RS256 keys, as Cognito);
//! - every role against every route of the api function (the table below, checked
//!   against the template so a new route needs a row): 403 where the role is not
//!   allowed, something else where it is;
//! - a rep reading or acting on another rep's lead: 403, and none of the lead's data in
//!   the answer;
//! - tokens shaped as each provider issues them (Cognito access and ID tokens, Keycloak
//!   with configured claims) name the rep who owns the lead; a staff token naming no
//!   user gets 401; machine clients' scopes reach their routes and no others.

use api::auth::{ClaimNames, Claims, Verifier};
use api::Api;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use dedup_score::DedupScore;
use domain::capture::submission::SubmissionRules;
use domain::lead::ports::FixedClock;
use intake::http::AllowedOrigins;
use intake::Intake;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::spec::{roles_of, spec};
use leadflow_tests::{answer, http_event, request, Answer, Stack};
use local_stack::template::Template;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const SECRET: &str = "auth-test-secret";
const ISSUER: &str = "leadflow-auth-test";
const AUDIENCE: &str = "leadflow-staff";

type TestApi = Api<DynamoStore, SqsBus, FixedClock>;

fn now() -> DateTime<Utc> {
    // The clock of the handlers; token expiry is checked against the real clock.
    "2026-11-24T03:00:00Z".parse().unwrap()
}

fn api(stack: &Stack, verifier: Verifier) -> TestApi {
    Api {
        store: stack.store(),
        bus: stack.api_bus(),
        clock: FixedClock(now()),
        verifier,
    }
}

/// A local-style token's claims: `sub` is also the user (`rep_id`).
fn claims(sub: &str, roles: &[&str], ttl_seconds: i64) -> Claims {
    Claims {
        sub: sub.into(),
        exp: Utc::now().timestamp() + ttl_seconds,
        iss: ISSUER.into(),
        aud: Some(AUDIENCE.into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        rep_id: Some(sub.into()),
        ..Claims::default()
    }
}

fn hs(claims: &Claims, algorithm: Algorithm, secret: &str) -> String {
    encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A token of `role` the shared-secret verifier accepts.
fn token(sub: &str, role: &str) -> String {
    hs(&claims(sub, &[role], 600), Algorithm::HS256, SECRET)
}

/// Base64url of a JSON value, as JWT segments are written.
fn segment(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn call(api: &TestApi, method: &str, path: &str, authorization: Option<&str>, body: &Value) -> Answer {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(value) = authorization {
        headers.push(("authorization", value));
    }
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    answer(api.handle(request(&http_event(method, path, &headers, &body))).await)
}

fn assert_unauthorised(got: &Answer, what: &str) {
    assert_eq!(got.status, 401, "{what}: {}", got.body);
    assert_eq!(
        got.headers.get("www-authenticate").and_then(|v| v.to_str().ok()),
        Some("Bearer"),
        "{what}: a 401 names the scheme"
    );
    assert_eq!(got.body["fields"][0]["field"], "authorization", "{what}");
}

/// One route of each module, so every router's entry is behind the check.
const PROBES: &[(&str, &str)] = &[
    ("GET", "/v1/leads/01M82P55JZ0A21HC6YSZ0PKEW7"),
    ("POST", "/v1/leads/01M82P55JZ0A21HC6YSZ0PKEW7/actions"),
    ("GET", "/v1/reps"),
    ("PUT", "/v1/config/rules"),
    ("POST", "/v1/conversions"),
    ("GET", "/v1/reports/funnel"),
    ("GET", "/v1/models"),
    ("GET", "/v1/config/hooks"),
    ("POST", "/v1/imports"),
    ("GET", "/v1/no-such-route"),
];

#[tokio::test]
async fn bad_shared_secret_tokens_get_401_with_a_bearer_challenge() {
    let stack = Stack::start().await;
    let api = api(
        &stack,
        Verifier::hs256(SECRET, ISSUER).with_audience(Some(AUDIENCE.into())),
    );
    let good = token("root", "admin");
    let ok = call(
        &api,
        "GET",
        "/v1/config/rules",
        Some(&format!("Bearer {good}")),
        &Value::Null,
    )
    .await;
    assert_eq!(
        ok.status, 200,
        "the good token works, so the 401s below are about the token"
    );

    let admin = claims("root", &["admin"], 600);
    let expired = claims("root", &["admin"], -120);
    let mut other_audience = admin.clone();
    other_audience.aud = Some("someone-else".into());
    let mut no_audience = admin.clone();
    no_audience.aud = None;
    let mut other_issuer = admin.clone();
    other_issuer.iss = "https://evil.example".into();
    let payload = serde_json::to_value(&admin).unwrap();
    let (good_head, good_rest) = good.split_once('.').unwrap();
    let good_signature = good_rest.rsplit_once('.').unwrap().1;
    let unsigned = |alg: &str| format!("{}.{}.", segment(&json!({"alg": alg, "typ": "JWT"})), segment(&payload));
    // A rep's token with its claims swapped for an admin's under the rep's signature.
    let rep = token("rep-a", "rep");
    let (rep_head, rep_rest) = rep.split_once('.').unwrap();
    let rep_signature = rep_rest.rsplit_once('.').unwrap().1;

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("empty bearer", Some("Bearer ".into())),
        ("another scheme", Some("Basic cm9vdDpyb290".into())),
        ("a bare token without a scheme", Some(good.clone())),
        ("expired", Some(hs(&expired, Algorithm::HS256, SECRET))),
        ("another audience", Some(hs(&other_audience, Algorithm::HS256, SECRET))),
        ("no audience", Some(hs(&no_audience, Algorithm::HS256, SECRET))),
        ("another issuer", Some(hs(&other_issuer, Algorithm::HS256, SECRET))),
        ("another secret", Some(hs(&admin, Algorithm::HS256, "not-the-secret"))),
        (
            "HS512 with the right secret",
            Some(hs(&admin, Algorithm::HS512, SECRET)),
        ),
        ("alg none, no signature", Some(unsigned("none"))),
        ("alg None", Some(unsigned("None"))),
        ("alg NONE", Some(unsigned("NONE"))),
        (
            "alg none with a real signature",
            Some(format!("{}{good_signature}", unsigned("none"))),
        ),
        (
            "claims swapped under another token's signature",
            Some(format!("{rep_head}.{}.{rep_signature}", segment(&payload))),
        ),
        (
            "signature cut off",
            Some(format!("{good_head}.{}", good_rest.rsplit_once('.').unwrap().0)),
        ),
        ("one segment", Some("abc".into())),
        ("empty segments", Some("..".into())),
        ("not base64", Some("a!b.c$d.e%f".into())),
        (
            "header not JSON",
            Some(format!("{}.{}.x", URL_SAFE_NO_PAD.encode("nope"), segment(&payload))),
        ),
        (
            "payload not JSON",
            Some(format!(
                "{}.{}.x",
                segment(&json!({"alg": "HS256"})),
                URL_SAFE_NO_PAD.encode("nope")
            )),
        ),
    ];
    for (what, token) in &cases {
        let header = token.as_ref().map(|t| {
            if t.starts_with("Bearer ") || t.starts_with("Basic ") || *what == "a bare token without a scheme" {
                t.clone()
            } else {
                format!("Bearer {t}")
            }
        });
        for (method, path) in PROBES {
            let got = call(&api, method, path, header.as_deref(), &json!({})).await;
            assert_unauthorised(&got, &format!("{what}: {method} {path}"));
            if let Some(t) = token.as_deref().filter(|t| t.len() > 8) {
                assert!(!got.body.to_string().contains(t), "{what}: the answer echoes the token");
            }
        }
    }
    let expired_answer = call(
        &api,
        "GET",
        "/v1/reps",
        Some(&format!("Bearer {}", hs(&expired, Algorithm::HS256, SECRET))),
        &Value::Null,
    )
    .await;
    assert_eq!(expired_answer.body["fields"][0]["reason"], "the token is expired");

    // Without an audience configured (local development) the same token passes: the
    // check above is the configured one, not an accident of the claims.
    let open = self::api(&stack, Verifier::hs256(SECRET, ISSUER));
    let got = call(
        &open,
        "GET",
        "/v1/config/rules",
        Some(&format!("Bearer {}", hs(&other_audience, Algorithm::HS256, SECRET))),
        &Value::Null,
    )
    .await;
    assert_eq!(got.status, 200);
}

/// The test RSA key (a fixture that protects nothing), its published JWKS, and the
/// modulus as published (base64url).
fn rsa_fixture() -> (EncodingKey, jsonwebtoken::jwk::JwkSet, String) {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/jwt-test-rsa.json")).unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(fixture["private_key_pkcs1_der_base64"].as_str().unwrap())
        .unwrap();
    (
        EncodingKey::from_rsa_der(&der),
        serde_json::from_value(fixture["jwks"].clone()).unwrap(),
        fixture["jwks"]["keys"][0]["n"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn issuer_key_tokens_are_checked_for_key_algorithm_and_audience() {
    let stack = Stack::start().await;
    let (key, jwks, modulus) = rsa_fixture();
    let verifier = Verifier::from_jwks(&jwks, ISSUER, Some("staff-client, machine-client".into())).unwrap();
    let api = api(&stack, verifier);
    let rs = |claims: &Claims, kid: Option<&str>| {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_string);
        format!("Bearer {}", encode(&header, claims, &key).unwrap())
    };
    let mut staff = claims("root", &[], 600);
    staff.aud = Some("staff-client".into());
    staff.other.insert("cognito:groups".into(), json!(["admin"]));
    let got = call(
        &api,
        "GET",
        "/v1/config/rules",
        Some(&rs(&staff, Some("test-key-1"))),
        &Value::Null,
    )
    .await;
    assert_eq!(got.status, 200, "Cognito groups as roles: {}", got.body);

    // A machine client: Cognito access tokens name the client in `client_id`, and the
    // scope makes it an integration, which may report conversions and nothing else.
    let mut machine = claims("crm", &[], 600);
    machine.aud = None;
    machine.rep_id = None;
    machine.other.insert("client_id".into(), json!("machine-client"));
    machine.other.insert("scope".into(), json!("leadflow/conversions"));
    let machine_token = rs(&machine, Some("test-key-1"));
    let got = call(&api, "POST", "/v1/conversions", Some(&machine_token), &json!({})).await;
    assert!(![401, 403].contains(&got.status), "{}: {}", got.status, got.body);
    let got = call(&api, "GET", "/v1/reps", Some(&machine_token), &Value::Null).await;
    assert_eq!(got.status, 403);

    let mut other_client = claims("root", &["admin"], 600);
    other_client.aud = None;
    other_client.other.insert("client_id".into(), json!("another-app"));
    let mut no_audience = claims("root", &["admin"], 600);
    no_audience.aud = None;
    let mut expired = claims("root", &["admin"], -120);
    expired.aud = Some("staff-client".into());
    let mut admin = claims("root", &["admin"], 600);
    admin.aud = Some("staff-client".into());
    let payload = serde_json::to_value(&admin).unwrap();
    let cases = [
        ("another client", rs(&other_client, Some("test-key-1"))),
        ("no audience", rs(&no_audience, Some("test-key-1"))),
        ("expired", rs(&expired, Some("test-key-1"))),
        ("an unknown key id", rs(&admin, Some("test-key-2"))),
        // Algorithm confusion: HS256 "signed" with what a client could know.
        (
            "HS256 under the public modulus",
            format!("Bearer {}", hs(&admin, Algorithm::HS256, &modulus)),
        ),
        (
            "alg none",
            format!(
                "Bearer {}.{}.",
                segment(&json!({"alg": "none", "kid": "test-key-1"})),
                segment(&payload)
            ),
        ),
    ];
    for (what, header) in &cases {
        for (method, path) in PROBES {
            let got = call(&api, method, path, Some(header), &json!({})).await;
            assert_unauthorised(&got, &format!("{what}: {method} {path}"));
        }
    }
}

/// Every route of the api function: method, path as the template writes it, and the
/// path called here. Who may use each is `openapi.yaml`'s `x-leadflow-roles`. The rep
/// is `rep-a`: the lead's owner, a member of pool `p1`, and the rep at `/v1/reps/rep-a`.
const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/v1/leads", "/v1/leads"),
    ("GET", "/v1/leads/{id}", "/v1/leads/{lead}"),
    ("POST", "/v1/leads/{id}/actions", "/v1/leads/{lead}/actions"),
    ("GET", "/v1/pools/{id}/leads", "/v1/pools/p1/leads"),
    ("GET", "/v1/reps", "/v1/reps"),
    ("GET", "/v1/reps/{id}", "/v1/reps/rep-a"),
    ("PUT", "/v1/reps/{id}", "/v1/reps/rep-a"),
    ("DELETE", "/v1/reps/{id}", "/v1/reps/ghost"),
    ("GET", "/v1/pools", "/v1/pools"),
    ("GET", "/v1/pools/{id}", "/v1/pools/p1"),
    ("PUT", "/v1/pools/{id}", "/v1/pools/p1"),
    ("DELETE", "/v1/pools/{id}", "/v1/pools/ghost"),
    ("GET", "/v1/config/routing", "/v1/config/routing"),
    ("PUT", "/v1/config/routing", "/v1/config/routing"),
    ("GET", "/v1/config/rules", "/v1/config/rules"),
    ("PUT", "/v1/config/rules", "/v1/config/rules"),
    ("POST", "/v1/config/rules/try", "/v1/config/rules/try"),
    ("PUT", "/v1/customers/{id}", "/v1/customers/c1"),
    ("GET", "/v1/config/sla", "/v1/config/sla"),
    ("PUT", "/v1/config/sla", "/v1/config/sla"),
    ("GET", "/v1/reports/violations", "/v1/reports/violations"),
    ("GET", "/v1/reports/recycle-rate", "/v1/reports/recycle-rate"),
    ("POST", "/v1/conversions", "/v1/conversions"),
    ("GET", "/v1/conversions", "/v1/conversions"),
    ("GET", "/v1/conversions/{id}", "/v1/conversions/ghost"),
    ("DELETE", "/v1/conversions/{id}", "/v1/conversions/ghost"),
    ("GET", "/v1/campaigns", "/v1/campaigns"),
    ("GET", "/v1/campaigns/{id}", "/v1/campaigns/ghost"),
    ("PUT", "/v1/campaigns/{id}", "/v1/campaigns/ghost"),
    (
        "PUT",
        "/v1/campaigns/{id}/costs/{day}",
        "/v1/campaigns/ghost/costs/2026-11-01",
    ),
    ("POST", "/v1/costs", "/v1/costs"),
    ("GET", "/v1/config/attribution", "/v1/config/attribution"),
    ("PUT", "/v1/config/attribution", "/v1/config/attribution"),
    ("GET", "/v1/config/webhooks", "/v1/config/webhooks"),
    ("PUT", "/v1/config/webhooks", "/v1/config/webhooks"),
    ("GET", "/v1/exports/roi", "/v1/exports/roi"),
    ("GET", "/v1/reports/funnel", "/v1/reports/funnel"),
    ("GET", "/v1/reports/dashboard", "/v1/reports/dashboard"),
    ("GET", "/v1/reports/owners", "/v1/reports/owners"),
    ("GET", "/v1/reports/invalid-reasons", "/v1/reports/invalid-reasons"),
    ("POST", "/v1/imports", "/v1/imports"),
    ("GET", "/v1/imports", "/v1/imports"),
    ("GET", "/v1/imports/{id}", "/v1/imports/ghost"),
    ("GET", "/v1/config/import-mappings", "/v1/config/import-mappings"),
    (
        "PUT",
        "/v1/config/import-mappings/{name}",
        "/v1/config/import-mappings/ghost",
    ),
    ("GET", "/v1/config/hooks", "/v1/config/hooks"),
    ("GET", "/v1/config/hooks/{source}", "/v1/config/hooks/ghost"),
    ("PUT", "/v1/config/hooks/{source}", "/v1/config/hooks/ghost"),
    ("POST", "/v1/erasures", "/v1/erasures"),
    ("GET", "/v1/erasures/{id}", "/v1/erasures/ghost"),
    ("GET", "/v1/models", "/v1/models"),
    ("POST", "/v1/models/train", "/v1/models/train"),
    ("POST", "/v1/models/promote", "/v1/models/promote"),
    ("PUT", "/v1/config/models", "/v1/config/models"),
    ("GET", "/v1/reports/models", "/v1/reports/models"),
    ("POST", "/v1/routing/preview", "/v1/routing/preview"),
    // configuration history: each kind's versions, one version, a rollback
    ("GET", "/v1/config/rules/versions", "/v1/config/rules/versions"),
    ("GET", "/v1/config/rules/versions/{n}", "/v1/config/rules/versions/1"),
    ("POST", "/v1/config/rules/rollback", "/v1/config/rules/rollback"),
    ("GET", "/v1/config/routing/versions", "/v1/config/routing/versions"),
    (
        "GET",
        "/v1/config/routing/versions/{n}",
        "/v1/config/routing/versions/1",
    ),
    ("POST", "/v1/config/routing/rollback", "/v1/config/routing/rollback"),
    ("GET", "/v1/config/sla/versions", "/v1/config/sla/versions"),
    ("GET", "/v1/config/sla/versions/{n}", "/v1/config/sla/versions/1"),
    ("POST", "/v1/config/sla/rollback", "/v1/config/sla/rollback"),
    (
        "GET",
        "/v1/config/attribution/versions",
        "/v1/config/attribution/versions",
    ),
    (
        "GET",
        "/v1/config/attribution/versions/{n}",
        "/v1/config/attribution/versions/1",
    ),
    (
        "POST",
        "/v1/config/attribution/rollback",
        "/v1/config/attribution/rollback",
    ),
    (
        "GET",
        "/v1/config/hooks/{source}/versions",
        "/v1/config/hooks/ghost/versions",
    ),
    (
        "GET",
        "/v1/config/hooks/{source}/versions/{n}",
        "/v1/config/hooks/ghost/versions/1",
    ),
    (
        "POST",
        "/v1/config/hooks/{source}/rollback",
        "/v1/config/hooks/ghost/rollback",
    ),
    (
        "GET",
        "/v1/config/import-mappings/{name}/versions",
        "/v1/config/import-mappings/ghost/versions",
    ),
    (
        "GET",
        "/v1/config/import-mappings/{name}/versions/{n}",
        "/v1/config/import-mappings/ghost/versions/1",
    ),
    (
        "POST",
        "/v1/config/import-mappings/{name}/rollback",
        "/v1/config/import-mappings/ghost/rollback",
    ),
    ("GET", "/v1/config/models/versions", "/v1/config/models/versions"),
    ("GET", "/v1/config/models/versions/{n}", "/v1/config/models/versions/1"),
    ("POST", "/v1/config/models/rollback", "/v1/config/models/rollback"),
    // roster jobs
    ("POST", "/v1/reps/{id}/transfer", "/v1/reps/rep-a/transfer"),
    ("GET", "/v1/jobs/{id}", "/v1/jobs/ghost"),
    ("POST", "/v1/jobs/{id}/resume", "/v1/jobs/ghost/resume"),
];

/// (role claim, as `x-leadflow-roles` names it; subject).
const ROLES: &[(&str, &str)] = &[
    ("rep", "rep-a"),
    ("manager", "mgr"),
    ("admin", "root"),
    ("finance", "cfo"),
    ("marketing", "mkt-sun"),
    ("integration", "crm"),
    ("exporter", "finance-etl"),
];

/// What the owned lead was submitted with; none of it may appear in a refusal.
const NAME: &str = "王小明";
const PHONE: &str = "137 0099 0211";
const EMAIL: &str = "Wang.XM@fenyang-tech.cn";
const COMPANY: &str = "北京纷扬科技有限公司";

fn lead_data() -> Vec<&'static str> {
    vec![
        NAME,
        PHONE,
        "13700990211",
        "+8613700990211",
        "8613700990211",
        EMAIL,
        "wang.xm@fenyang-tech.cn",
        "fenyang-tech",
        COMPANY,
        "纷扬",
    ]
}

/// Reps `rep-a` and `rep-b`, pool `p1` (rep-a only), and a lead through intake and
/// dedup-score that an admin assigned to rep-a. Returns the api and the lead id.
async fn organisation(stack: &Stack) -> (TestApi, String) {
    let api = api(
        stack,
        Verifier::hs256(SECRET, ISSUER).with_audience(Some(AUDIENCE.into())),
    );
    let admin = format!("Bearer {}", token("root", "admin"));
    for rep in ["rep-a", "rep-b"] {
        let body = json!({"name": rep, "team": "north", "department": "sales", "tier": "regular", "weight": 1, "active": true});
        let got = call(&api, "PUT", &format!("/v1/reps/{rep}"), Some(&admin), &body).await;
        assert_eq!(got.status, 200, "{}", got.body);
    }
    let pool = json!({"name": "p1", "strategy": {"kind": "round_robin"}, "members": ["rep-a"]});
    let got = call(&api, "PUT", "/v1/pools/p1", Some(&admin), &pool).await;
    assert_eq!(got.status, 200, "{}", got.body);

    let intake = Intake {
        limits: domain::capture::ratelimit::RateLimits::off(),
        store: stack.store(),
        bus: stack.full_bus(),
        clock: FixedClock(now()),
        rules: SubmissionRules::default(),
        origins: AllowedOrigins::default(),
    };
    let body = json!({"name": NAME, "phone": PHONE, "email": EMAIL, "company": COMPANY, "title": "CEO"});
    let event = http_event(
        "POST",
        "/v1/leads",
        &[("content-type", "application/json")],
        &body.to_string(),
    );
    let got = answer(intake.handle(request(&event)).await);
    assert_eq!(got.status, 202, "{}", got.body);
    let lead = got.body["lead_id"].as_str().unwrap().to_string();
    let consumer = DedupScore {
        store: stack.store(),
        bus: stack.full_bus(),
    };
    while stack.deliver("CaptureQueue", |e| consumer.handle(e, now())).await.0 > 0 {}
    let assign = json!({"action": "assign", "to": "rep-a"});
    let got = call(
        &api,
        "POST",
        &format!("/v1/leads/{lead}/actions"),
        Some(&admin),
        &assign,
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(stack.lead(&lead).await.owner.as_deref(), Some("rep-a"));
    (api, lead)
}

/// A body the role could send: marketing's only lead actions are the invalid-pool review
/// (409 here: the matrix's lead is not invalid).
fn body_for(method: &str, path: &str, role: &str) -> Value {
    match (method, path.ends_with("/actions")) {
        ("POST", true) if role == "marketing" => json!({"action": "restore", "note": "matrix"}),
        ("POST", true) => json!({"action": "follow_up", "kind": "call", "note": "matrix"}),
        ("GET" | "DELETE", _) => Value::Null,
        _ => json!({}),
    }
}

#[tokio::test]
async fn every_role_against_every_route() {
    // The table covers the template's routes for the api function, no more, no less.
    let template = Template::load(&Template::path()).expect("template parses");
    let declared: BTreeSet<(String, String)> = template
        .routes()
        .filter(|(f, _)| f.binary == "api")
        .map(|(_, r)| (r.method.clone(), r.path.clone()))
        .collect();
    let tabled: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    assert_eq!(tabled, declared, "ROUTES and the template's api routes differ");

    let stack = Stack::start().await;
    let (api, lead) = organisation(&stack).await;
    let data = lead_data();
    let mut counts = (0, 0);
    let spec = spec();
    for (method, template, path) in ROUTES {
        let allowed = roles_of(&spec, method, template);
        let path = path.replace("{lead}", &lead);
        for (role, subject) in ROLES {
            let body = body_for(method, &path, role);
            let header = format!("Bearer {}", token(subject, role));
            let got = call(&api, method, &path, Some(&header), &body).await;
            let what = format!("{role} {method} {path}: {} {}", got.status, got.body);
            if allowed.iter().any(|r| r == role) {
                counts.0 += 1;
                assert!(![401, 403].contains(&got.status), "allowed, but refused: {what}");
                assert!(got.status < 500, "{what}");
                assert!(
                    !(got.status == 404 && got.body["fields"][0]["field"] == "path"),
                    "the route is missing: {what}"
                );
            } else {
                counts.1 += 1;
                assert_eq!(got.status, 403, "{what}");
                assert_eq!(got.body["fields"][0]["field"], "authorization", "{what}");
                let text = got.body.to_string();
                for value in &data {
                    assert!(!text.contains(value), "a refusal shows {value:?}: {what}");
                }
            }
        }
        // A token whose roles the API does not know: 403 everywhere.
        let stranger = format!("Bearer {}", token("someone", "superuser"));
        let got = call(
            &api,
            method,
            &path,
            Some(&stranger),
            &body_for(method, &path, "superuser"),
        )
        .await;
        assert_eq!(got.status, 403, "unknown role {method} {path}: {}", got.body);
    }
    eprintln!(
        "auth matrix: {} routes x {} roles: {} allowed, {} refused",
        ROUTES.len(),
        ROLES.len(),
        counts.0,
        counts.1
    );
}

#[tokio::test]
async fn a_rep_cannot_read_or_act_on_another_reps_lead() {
    let stack = Stack::start().await;
    let (api, lead) = organisation(&stack).await;
    let before = stack.lead(&lead).await;
    let rep_b = format!("Bearer {}", token("rep-b", "rep"));
    let actions = format!("/v1/leads/{lead}/actions");
    let mut attempts: Vec<(&str, String, Value)> = vec![
        ("GET", format!("/v1/leads/{lead}"), Value::Null),
        ("GET", "/v1/pools/p1/leads".into(), Value::Null),
        ("GET", "/v1/reps/rep-a".into(), Value::Null),
    ];
    for action in [
        json!({"action": "follow_up", "kind": "call", "note": "mine now"}),
        json!({"action": "qualify_mql"}),
        json!({"action": "qualify_sql"}),
        json!({"action": "convert"}),
        json!({"action": "nurture", "reason": "not_now"}),
        json!({"action": "invalid", "reason": "other", "note": "x"}),
        json!({"action": "return_to_pool"}),
        json!({"action": "transfer", "to": "rep-b"}),
        json!({"action": "assign", "to": "rep-b"}),
    ] {
        attempts.push(("POST", actions.clone(), action));
    }
    let data = lead_data();
    for (method, path, body) in &attempts {
        let got = call(&api, method, path, Some(&rep_b), body).await;
        let what = format!("{method} {path} {body}: {} {}", got.status, got.body);
        assert_eq!(got.status, 403, "{what}");
        let text = got.body.to_string();
        for value in &data {
            assert!(!text.contains(value), "the refusal shows {value:?}: {what}");
        }
        assert!(!text.contains("rep-a"), "the refusal names the owner: {what}");
    }
    // A claim of an owned lead is a conflict (what the loser of a claim race sees), and
    // says no more than that.
    let got = call(&api, "POST", &actions, Some(&rep_b), &json!({"action": "claim"})).await;
    assert_eq!(got.status, 409, "{}", got.body);
    let text = got.body.to_string();
    assert!(
        data.iter().all(|v| !text.contains(v)) && !text.contains("rep-a"),
        "{text}"
    );

    let after = stack.lead(&lead).await;
    assert_eq!(after, before, "the refused attempts changed the lead");
    // The owner still can.
    let rep_a = format!("Bearer {}", token("rep-a", "rep"));
    let got = call(&api, "GET", &format!("/v1/leads/{lead}"), Some(&rep_a), &Value::Null).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["lead"]["contact"]["email"], "wang.xm@fenyang-tech.cn");
}

/// A user's `sub` in a user pool: never their rep id.
const USER_SUB: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

/// `claims` with the test issuer (unless they name one) and a live `exp`, signed with the
/// test RSA key as `test-key-1`: a token as the issuer would send it.
fn issued(key: &EncodingKey, mut claims: Value) -> String {
    if claims.get("iss").is_none() {
        claims["iss"] = json!(ISSUER);
    }
    claims["exp"] = json!(Utc::now().timestamp() + 600);
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-key-1".into());
    format!("Bearer {}", encode(&header, &claims, key).unwrap())
}

/// An api trusting the test RSA key for `issuer`, with these claim names.
fn rs_api(stack: &Stack, issuer: &str, audience: &str, names: ClaimNames) -> TestApi {
    let (_, jwks, _) = rsa_fixture();
    let verifier = Verifier::from_jwks(&jwks, issuer, Some(audience.into()))
        .unwrap()
        .with_claim_names(names);
    api(stack, verifier)
}

#[tokio::test]
async fn provider_shaped_tokens_name_the_rep_who_owns_the_lead() {
    let stack = Stack::start().await;
    let (_, lead) = organisation(&stack).await;
    let (key, _, _) = rsa_fixture();
    let lead_path = format!("/v1/leads/{lead}");

    // Cognito, default claim names. The access token names the user `username` and the
    // app client `client_id` (no `aud`); the ID token `cognito:username` and `aud`.
    let cognito = rs_api(&stack, ISSUER, "staff-client,machine-client", ClaimNames::default());
    let access = json!({
        "sub": USER_SUB, "token_use": "access", "client_id": "staff-client", "username": "rep-a",
        "cognito:groups": ["rep"], "scope": "aws.cognito.signin.user.admin", "auth_time": 1_700_000_000,
    });
    let id = json!({
        "sub": USER_SUB, "token_use": "id", "aud": "staff-client", "cognito:username": "rep-a",
        "cognito:groups": ["rep"], "email": "rep-a@example.com", "email_verified": true,
    });
    for (what, claims) in [("access token", &access), ("ID token", &id)] {
        let token = issued(&key, claims.clone());
        let got = call(&cognito, "GET", &lead_path, Some(&token), &Value::Null).await;
        assert_eq!(got.status, 200, "{what}: the owner reads their lead: {}", got.body);
        let got = call(&cognito, "GET", "/v1/reps/rep-a", Some(&token), &Value::Null).await;
        assert_eq!(got.status, 200, "{what}: the rep reads themself: {}", got.body);
        let got = call(&cognito, "GET", "/v1/reps/rep-b", Some(&token), &Value::Null).await;
        assert_eq!(got.status, 403, "{what}: and no one else: {}", got.body);
    }
    // What the rep does is recorded under their rep id, not the pool's `sub`.
    let note = json!({"action": "follow_up", "kind": "call", "note": "called back"});
    let got = call(
        &cognito,
        "POST",
        &format!("{lead_path}/actions"),
        Some(&issued(&key, access.clone())),
        &note,
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    let got = call(
        &cognito,
        "GET",
        &lead_path,
        Some(&issued(&key, id.clone())),
        &Value::Null,
    )
    .await;
    assert_eq!(got.body["follow_ups"][0]["by"], "rep-a", "{}", got.body);

    // Keycloak, configured: `preferred_username`, groups as full paths, `aud` an array.
    let realm = "https://sso.example.cn/realms/leadflow";
    let keycloak_names = ClaimNames::new(Some("preferred_username".into()), Some("groups".into()));
    let keycloak = rs_api(&stack, realm, "leadflow-console", keycloak_names);
    let token = issued(
        &key,
        json!({
            "iss": realm, "sub": USER_SUB, "typ": "Bearer", "azp": "leadflow-console",
            "aud": ["leadflow-console", "account"], "preferred_username": "rep-a", "groups": ["/rep"],
            "realm_access": {"roles": ["offline_access", "admin"]},
        }),
    );
    let got = call(&keycloak, "GET", &lead_path, Some(&token), &Value::Null).await;
    assert_eq!(got.status, 200, "Keycloak: {}", got.body);
    let got = call(&keycloak, "GET", "/v1/reps", Some(&token), &Value::Null).await;
    assert_eq!(got.status, 403, "only the configured roles claim counts: {}", got.body);
    // A Cognito-shaped token means nobody under Keycloak's claim names.
    let mut cognito_shaped = access.clone();
    cognito_shaped["iss"] = json!(realm);
    cognito_shaped["aud"] = json!("leadflow-console");
    cognito_shaped["groups"] = json!(["rep"]);
    let got = call(
        &keycloak,
        "GET",
        &lead_path,
        Some(&issued(&key, cognito_shaped)),
        &Value::Null,
    )
    .await;
    assert_unauthorised(&got, "username under Keycloak's names");
}

#[tokio::test]
async fn a_staff_token_naming_no_user_gets_401_not_the_users_sub() {
    let stack = Stack::start().await;
    let (_, lead) = organisation(&stack).await;
    let (key, _, _) = rsa_fixture();
    let cognito = rs_api(&stack, ISSUER, "staff-client", ClaimNames::default());
    // As if `sub` were the rep id: falling back to it would let this token in as rep-a.
    let nameless = issued(
        &key,
        json!({"sub": "rep-a", "client_id": "staff-client", "cognito:groups": ["rep", "admin"]}),
    );
    let lead_path = format!("/v1/leads/{lead}");
    for (method, path) in PROBES.iter().chain(&[("GET", lead_path.as_str())]) {
        let got = call(&cognito, method, path, Some(&nameless), &json!({})).await;
        assert_unauthorised(&got, &format!("no user claim: {method} {path}"));
        assert_eq!(
            got.body["fields"][0]["reason"],
            "the token names no user: it has none of the claims `username`, `cognito:username`, `rep_id`",
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn machine_scopes_reach_their_routes_and_no_others() {
    let stack = Stack::start().await;
    let (_, lead) = organisation(&stack).await;
    let (key, _, _) = rsa_fixture();
    let cognito = rs_api(&stack, ISSUER, "staff-client,machine-client", ClaimNames::default());
    // Client-credentials tokens: `sub` and `client_id` are the client, no user, no groups.
    let machine = |scope: &str| {
        issued(
            &key,
            json!({"sub": "machine-client", "client_id": "machine-client", "token_use": "access", "scope": scope}),
        )
    };
    let scopes = [
        (
            "leadflow/conversions",
            vec![("POST", "/v1/conversions"), ("GET", "/v1/conversions/{id}")],
        ),
        ("leadflow/exports", vec![("GET", "/v1/exports/roi")]),
    ];
    for (scope, allowed) in &scopes {
        let token = machine(scope);
        for (method, template, path) in ROUTES {
            let path = path.replace("{lead}", &lead);
            let got = call(&cognito, method, &path, Some(&token), &body_for(method, &path, scope)).await;
            let what = format!("{scope}: {method} {path}: {} {}", got.status, got.body);
            if allowed.contains(&(*method, *template)) {
                assert!(![401, 403].contains(&got.status) && got.status < 500, "{what}");
            } else {
                assert_eq!(got.status, 403, "{what}");
            }
        }
    }
    // The client is the caller on record.
    let conversion = json!({"external_id": "SCOPE-1", "lead_id": lead, "kind": "order", "amount": 100,
                            "occurred_at": "2026-11-24T02:00:00Z"});
    let got = call(
        &cognito,
        "POST",
        "/v1/conversions",
        Some(&machine("leadflow/conversions")),
        &conversion,
    )
    .await;
    assert_eq!(got.status, 201, "{}", got.body);
    assert_eq!(got.body["conversion"]["recorded_by"], "machine-client");
    // A scope the API does not know is no role.
    let got = call(
        &cognito,
        "GET",
        "/v1/exports/roi",
        Some(&machine("leadflow/leads")),
        &Value::Null,
    )
    .await;
    assert_eq!(got.status, 403, "{}", got.body);
}

/// Marketing against the routes next to its own (the whole list is held by
/// `api::routes`' unit tests, and the matrix above by `x-leadflow-roles`).
#[tokio::test]
async fn marketing_saves_campaigns_but_reaches_no_lead_and_no_costs() {
    let stack = Stack::start().await;
    let (api, lead) = organisation(&stack).await;
    let marketing = format!("Bearer {}", token("mkt-sun", "marketing"));
    let campaign = json!({"channel": "baidu", "name": "双十一搜索"});
    let got = call(&api, "PUT", "/v1/campaigns/double-11", Some(&marketing), &campaign).await;
    assert_eq!(got.status, 200, "{}", got.body);
    for (method, path) in [
        ("GET", format!("/v1/leads/{lead}")),
        // Working a lead (a follow-up): marketing only reviews the invalid pool.
        ("POST", format!("/v1/leads/{lead}/actions")),
        ("PUT", "/v1/campaigns/double-11/costs/2026-11-11".to_string()),
        ("PUT", "/v1/config/attribution".to_string()),
        ("GET", "/v1/reports/owners".to_string()),
    ] {
        let got = call(&api, method, &path, Some(&marketing), &body_for(method, &path, "rep")).await;
        assert_eq!(got.status, 403, "{method} {path}: {}", got.body);
    }
}
