//! The hand-off on conversion against the DynamoDB/SQS emulator: a rep converts a lead
//! with its opportunity through the api; the customer is created or linked, the
//! opportunity recorded as a conversion once however often the request is repeated,
//! and `lead.converted` reaches a real HTTP receiver through the assign function's
//! HTTP client: signed, retried after a failure, delivered once; a receiver that never
//! answers 2xx gets the message dead-lettered without the other one hearing it twice.

use assign::Assign;
use chrono::{DateTime, Utc};
use domain::assign::actions::Role;
use domain::attribution::ports::ConversionStore;
use domain::capture::hooks::{verify, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use domain::handoff::outbound::DELIVERY_HEADER;
use domain::handoff::ports::HandoffStore;
use domain::lead::ports::FixedClock;
use domain::lead::{LeadId, Stage};
use domain::qualify::customer::Customer;
use domain::qualify::ports::DedupStore;
use leadflow_aws::notifier::HttpNotifier;
use leadflow_tests::{answer, api_token, http_event, one_pool, request, Answer, Stack};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const MONDAY: &str = "2026-06-01T10:00:00+08:00";
const CRM_SECRET: &str = "crm-secret-0123456789abcdef0123456789";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// One request a receiver got: its headers (lower-case names) and body.
type Received = (Vec<(String, String)>, Vec<u8>);

/// An HTTP receiver on this machine that answers 500 to its first `failures` requests
/// and 200 after, recording each.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(failures: usize) -> Self {
        use http_body_util::BodyExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/leadflow", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let left = Arc::new(AtomicUsize::new(failures));
        let recorded = got.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (recorded, left) = (recorded.clone(), left.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (recorded, left) = (recorded.clone(), left.clone());
                        async move {
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
                                .collect();
                            let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                            recorded.lock().unwrap().push((headers, body));
                            let fail = left
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                                .is_ok();
                            let status = if fail { 500 } else { 200 };
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .body(http_body_util::Full::new(hyper::body::Bytes::from_static(b"{}")))
                                    .unwrap(),
                            )
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Self { url, got, task }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn header<'a>(received: &'a Received, name: &str) -> Option<&'a str> {
    received.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn call(
    stack: &Stack,
    at: DateTime<Utc>,
    who: &str,
    role: Role,
    method: &str,
    path: &str,
    body: Value,
) -> Answer {
    let api = stack.api(FixedClock(at));
    let auth = format!("Bearer {}", api_token(who, &[role]));
    let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    answer(api.handle(request(&http_event(method, path, &headers, &body))).await)
}

/// A ToB lead from `company`, captured through intake, qualified and assigned to zhang.
async fn captured(stack: &Stack, at: DateTime<Utc>, company: &str, phone: &str) -> String {
    let intake = stack.intake_at(FixedClock(at));
    let form = json!({"name": "王芳", "phone": phone, "company": company, "title": "采购经理", "consent": true, "channel": "trade_show"});
    let event = http_event(
        "POST",
        "/v1/leads",
        &[("content-type", "application/json")],
        &form.to_string(),
    );
    let got = answer(intake.handle(request(&event)).await);
    assert!(got.status < 300, "{} {}", got.status, got.body);
    stack.settle(at).await;
    got.body["lead_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_conversion_hands_the_lead_to_the_crm_signed_retried_and_once() {
    let stack = Stack::start().await;
    one_pool(&stack.store(), &["zhang"], "shows", &["zhang"]).await;
    let now = t(MONDAY);
    let crm = Receiver::start(1).await;
    let broken = Receiver::start(usize::MAX).await;
    let subscriptions = json!({"version": 0, "subscriptions": [
        {"id": "crm", "url": crm.url, "secret": CRM_SECRET, "events": ["lead.converted"]},
        {"id": "warehouse", "url": broken.url, "secret": "w".repeat(32), "events": ["lead.converted"]},
    ]});
    let refused = call(
        &stack,
        now,
        "zhang",
        Role::Manager,
        "PUT",
        "/v1/config/webhooks",
        subscriptions.clone(),
    )
    .await;
    assert_eq!(refused.status, 403, "admins only: {}", refused.body);
    let mut twice = subscriptions.clone();
    twice["subscriptions"][1]["id"] = json!("crm");
    twice["subscriptions"][1]["secret"] = json!("short");
    let bad = call(&stack, now, "root", Role::Admin, "PUT", "/v1/config/webhooks", twice).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let fields = bad.fields();
    assert_eq!(fields, ["subscriptions[1].id", "subscriptions[1].secret"]);
    let saved = call(
        &stack,
        now,
        "root",
        Role::Admin,
        "PUT",
        "/v1/config/webhooks",
        subscriptions,
    )
    .await;
    assert_eq!(
        (saved.status, &saved.body["version"]),
        (200, &json!(1)),
        "{}",
        saved.body
    );

    // An existing customer of li's; a lead from the same company links to it.
    let known = Customer::new("acme", "上海纷扬科技有限公司".into(), &[], Some("li".into())).unwrap();
    stack.store().put_customer(&known).await.unwrap();
    let new_company = captured(&stack, now, "杭州云雀软件有限公司", "13800138001").await;
    let same_company = captured(&stack, now, "上海纷扬科技有限公司", "13800138002").await;
    for id in [&new_company, &same_company] {
        let lead = stack.lead(id).await;
        assert_eq!((lead.owner.as_deref(), lead.stage), (Some("zhang"), Stage::Aql), "{id}");
    }

    let actions = |id: &str| format!("/v1/leads/{id}/actions");
    for id in [&new_company, &same_company] {
        let sql = call(
            &stack,
            now,
            "zhang",
            Role::Rep,
            "POST",
            &actions(id),
            json!({"action": "qualify_sql"}),
        )
        .await;
        assert_eq!(sql.status, 200, "{}", sql.body);
    }
    let bad_amount = json!({"action": "convert", "amount": -5});
    let refused = call(
        &stack,
        now,
        "zhang",
        Role::Rep,
        "POST",
        &actions(&new_company),
        bad_amount,
    )
    .await;
    assert_eq!(
        (refused.status, &refused.body["fields"][0]["field"]),
        (422, &json!("amount")),
        "{}",
        refused.body
    );
    let convert = json!({"action": "convert", "amount": "128,000.50", "expected_close": "2026-07-31"});
    let first = call(
        &stack,
        now,
        "zhang",
        Role::Rep,
        "POST",
        &actions(&new_company),
        convert.clone(),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let handoff = &first.body["handoff"];
    assert_eq!(handoff["customer_created"], true, "{handoff}");
    assert_eq!(handoff["customer_name"], "杭州云雀软件有限公司");
    assert_eq!(handoff["contact"]["phone"], "+8613800138001");
    assert_eq!(handoff["contact"]["title"], "采购经理");
    assert_eq!(
        handoff["opportunity"],
        json!({"id": format!("lead:{new_company}:opportunity"), "amount_cents": 12_800_050, "currency": "CNY", "expected_close": "2026-07-31"})
    );
    // Sent again (a retry after a timeout): the same hand-off, nothing recorded twice.
    let again = call(&stack, now, "zhang", Role::Rep, "POST", &actions(&new_company), convert).await;
    assert_eq!((again.status, &again.body["handoff"]), (200, handoff), "{}", again.body);
    let opportunity = stack
        .store()
        .conversion(&format!("lead:{new_company}:opportunity"))
        .await
        .unwrap()
        .expect("the opportunity is a conversion");
    assert_eq!(
        (opportunity.current.revision, opportunity.current.amount_cents),
        (1, 12_800_050)
    );
    let customer_id = handoff["customer_id"].as_str().unwrap();
    let customer = stack
        .store()
        .customer(customer_id)
        .await
        .unwrap()
        .expect("the customer is stored");
    assert_eq!(
        (customer.owner.as_deref(), customer.contact_phones.clone()),
        (Some("zhang"), vec!["+8613800138001".to_string()])
    );

    let linked = call(
        &stack,
        now,
        "zhang",
        Role::Rep,
        "POST",
        &actions(&same_company),
        json!({"action": "convert"}),
    )
    .await;
    assert_eq!(linked.status, 200, "{}", linked.body);
    assert_eq!(
        (
            &linked.body["handoff"]["customer_id"],
            &linked.body["handoff"]["customer_created"]
        ),
        (&json!("acme"), &json!(false))
    );
    assert_eq!(linked.body["handoff"]["opportunity"]["amount_cents"], 0);
    let other = call(
        &stack,
        now,
        "li",
        Role::Rep,
        "POST",
        &actions(&same_company),
        json!({"action": "convert"}),
    )
    .await;
    assert_eq!(other.status, 403, "only its owner or a manager: {}", other.body);

    // Three lead.converted messages (two for the first lead: the request came twice).
    let assign = Assign {
        store: stack.store(),
        bus: stack.full_bus(),
        notifier: HttpNotifier::new(),
    };
    let mut rounds = 0;
    loop {
        let (received, _) = stack
            .deliver_with_visibility("ReadyQueue", Some(1), |e| assign.handle(e, now))
            .await;
        if received == 0 {
            let dead = stack.drain("ReadyDLQ").await;
            if !dead.is_empty() {
                let types: Vec<&str> = dead.iter().filter_map(|m| m["type"].as_str()).collect();
                assert!(types.iter().all(|t| *t == "lead.converted"), "{types:?}");
                break;
            }
        }
        rounds += 1;
        assert!(rounds < 40, "the warehouse's messages never reached the DLQ");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }

    // The CRM: one failure, then each lead once; every request signed, one delivery id per lead.
    let got = crm.got();
    let ids: Vec<&str> = got.iter().filter_map(|r| header(r, DELIVERY_HEADER)).collect();
    let first_id = format!("lead.converted:{new_company}");
    let second_id = format!("lead.converted:{same_company}");
    assert_eq!(
        ids.iter().filter(|i| **i == first_id).count() + ids.iter().filter(|i| **i == second_id).count(),
        got.len()
    );
    assert_eq!(got.len(), 3, "one 500, then one 200 per lead: {ids:?}");
    for received in &got {
        let verified = verify(
            &[CRM_SECRET.to_string()],
            header(received, TIMESTAMP_HEADER),
            header(received, SIGNATURE_HEADER),
            &received.1,
            now,
        );
        assert!(verified.is_ok(), "{verified:?}");
        assert_eq!(header(received, "x-leadflow-event"), Some("lead.converted"));
    }
    let body: Value = serde_json::from_slice(&got.last().unwrap().1).unwrap();
    assert_eq!(body["event"], "lead.converted");
    assert!(
        body["customer"]["id"].is_string() && body["opportunity"]["id"].is_string(),
        "{body}"
    );
    let lead = LeadId::parse(&new_company).unwrap();
    assert_eq!(
        stack.store().handoff(&lead).await.unwrap().unwrap().delivered_to,
        ["crm"]
    );
    // The warehouse was tried on every delivery, and its messages were dead-lettered.
    assert!(broken.got().len() >= 5, "{}", broken.got().len());

    // Erasing the person: the hand-off and the customer the conversion created lose them;
    // the deal and who had it stay.
    let body = json!({"reference": "DSR-2026-0007", "phone": "13800138001"});
    let erased = call(&stack, now, "root", Role::Admin, "POST", "/v1/erasures", body).await;
    assert!(erased.status < 300, "{}", erased.body);
    let scrubbed = stack.store().handoff(&lead).await.unwrap().unwrap();
    assert_eq!(scrubbed.contact, domain::handoff::convert::Contact::default());
    assert_eq!(
        (scrubbed.opportunity.amount_cents, scrubbed.delivered_to),
        (12_800_050, vec!["crm".to_string()])
    );
    let customer = stack.store().customer(customer_id).await.unwrap().unwrap();
    assert_eq!(
        (customer.name.as_str(), customer.contact_phones.len()),
        ("杭州云雀软件有限公司", 0)
    );
    let by_phone = stack
        .store()
        .customer_match(Some("+8613800138001"), None)
        .await
        .unwrap();
    assert_eq!(by_phone, None, "the person's phone finds no customer");
}
