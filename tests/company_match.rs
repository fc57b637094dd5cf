//! Company matching end to end against the emulator: a customer claims the leads of its
//! own company — by the rule dedup uses between leads (`dedup::same_company`), typos
//! included — and no others. A customer is saved through the API, leads are posted to
//! intake, qualified by dedup-score and routed by assign, as in production.

use chrono::{DateTime, Utc};
use domain::assign::actions::Role;
use domain::lead::ports::FixedClock;
use domain::lead::qualification::Label;
use leadflow_tests::{answer, api_token, http_event, one_pool, request, Answer, Stack};
use serde_json::{json, Value};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

const NOW: &str = "2026-12-07T02:00:00Z";

/// Reps `rep-a` (who owns the customers) and `rep-b`; the one pool, where new leads are
/// routed, has only `rep-b`. So a lead that reaches `rep-a` got there by a customer match.
async fn org(stack: &Stack) {
    one_pool(&stack.store(), &["rep-a", "rep-b"], "general", &["rep-b"]).await;
}

async fn admin(stack: &Stack, method: &str, path: &str, body: Option<Value>) -> Answer {
    let auth = format!("Bearer {}", api_token("root", &[Role::Admin]));
    let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let api = stack.api(FixedClock(t(NOW)));
    answer(api.handle(request(&http_event(method, path, &headers, &body))).await)
}

async fn customer(stack: &Stack, id: &str, name: &str, phone: &str, owner: &str) {
    let body = json!({"name": name, "contact_phones": [phone], "owner": owner});
    let saved = admin(stack, "PUT", &format!("/v1/customers/{id}"), Some(body)).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
}

/// Posts each (phone, company) to intake, then qualifies and routes everything posted;
/// returns the lead ids in order.
async fn leads(stack: &Stack, people: &[(&str, &str)]) -> Vec<String> {
    let now = t(NOW);
    let intake = stack.intake_at(FixedClock(now));
    let mut ids = Vec::new();
    for (phone, company) in people {
        let body = json!({"phone": phone, "company": company}).to_string();
        let event = http_event("POST", "/v1/leads", &[("content-type", "application/json")], &body);
        let got = answer(intake.handle(request(&event)).await);
        assert_eq!(got.status, 202, "{}", got.body);
        ids.push(got.body["lead_id"].as_str().unwrap().to_string());
    }
    stack.settle(now).await;
    ids
}

/// (label, customer id, owner) of a lead as stored.
async fn outcome(stack: &Stack, id: &str) -> (Label, Option<String>, Option<String>) {
    let lead = stack.lead(id).await;
    let dedup = lead.dedup.expect("qualified");
    (dedup.label, dedup.customer_id, lead.owner)
}

#[tokio::test]
async fn a_regional_namesake_stays_with_its_own_owner() {
    let stack = Stack::start().await;
    org(&stack).await;
    customer(&stack, "metro-gz", "广州地铁集团有限公司", "020-8888 1234", "rep-a").await;
    let ids = leads(
        &stack,
        &[
            ("13800138001", "深圳市地铁集团有限公司"),
            ("13800138002", "广州地铁集团"),
        ],
    )
    .await;
    assert_eq!(
        outcome(&stack, &ids[0]).await,
        (Label::PureNew, None, Some("rep-b".into())),
        "深圳地铁 is not 广州地铁's customer: routed by the pool, not handed to rep-a"
    );
    assert_eq!(
        outcome(&stack, &ids[1]).await,
        (Label::ExistingCustomer, Some("metro-gz".into()), Some("rep-a".into())),
        "the same company under another suffix goes to the customer's owner"
    );
}

#[tokio::test]
async fn a_typo_of_a_customers_name_goes_to_its_owner() {
    let stack = Stack::start().await;
    org(&stack).await;
    customer(&stack, "fy", "北京纷扬科技有限公司", "010-8888 1234", "rep-a").await;
    let ids = leads(&stack, &[("13800138001", "纷杨科技"), ("13800138002", "纷飞科技")]).await;
    assert_eq!(
        outcome(&stack, &ids[0]).await,
        (Label::ExistingCustomer, Some("fy".into()), Some("rep-a".into())),
        "纷杨 is 纷扬 typed by pinyin, as between leads"
    );
    assert_eq!(
        outcome(&stack, &ids[1]).await,
        (Label::PureNew, None, Some("rep-b".into())),
        "纷飞 is another company"
    );
    // The duplicate check answers as qualification decided.
    let check = admin(&stack, "GET", "/v1/leads?q=%E7%BA%B7%E6%9D%A8", None).await;
    assert_eq!(check.status, 200, "{}", check.body);
    assert_eq!(check.body["customer"]["customer_id"], "fy", "{}", check.body);
}
