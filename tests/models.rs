//! Predictive scoring on the emulator, through the real handlers: a synthetic history
//! in the table, training requested through the API and run by the train function,
//! new leads captured and scored by dedup-score under the champion/challenger split,
//! outcomes recorded through lead actions, the arms report, and promotion.

use api::Api;
use chrono::{DateTime, Utc};
use dedup_score::DedupScore;
use domain::assign::actions::Role;
use domain::capture::submission::SubmissionRules;
use domain::{lead::ports::FixedClock, lead::ports::LeadStore, lead::ports::SystemClock};
use domain::{lead::qualification::Arm, predict::arm_for, predict::synthetic};
use intake::http::AllowedOrigins;
use intake::Intake;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, api_token, http_event, request, Answer, Stack};
use serde_json::{json, Value};
use train::Train;

const HISTORY: usize = 2_000;
const NEW_LEADS: usize = 40;

struct Setup {
    stack: Stack,
    api: Api<DynamoStore, SqsBus, FixedClock>,
    intake: Intake<DynamoStore, SqsBus, SystemClock>,
    dedup: DedupScore<DynamoStore, SqsBus>,
    train: Train<DynamoStore>,
}

impl Setup {
    async fn start(now: DateTime<Utc>) -> Self {
        let stack = Stack::start().await;
        Self {
            api: stack.api(FixedClock(now)),
            intake: Intake {
                store: stack.store(),
                bus: stack.bus(),
                clock: SystemClock,
                rules: SubmissionRules::default(),
                origins: AllowedOrigins::default(),
                limits: domain::capture::ratelimit::RateLimits::off(),
            },
            dedup: DedupScore {
                store: stack.store(),
                bus: stack.full_bus(),
            },
            train: Train { store: stack.store() },
            stack,
        }
    }

    async fn call(&self, method: &str, path: &str, role: Role, body: Option<Value>) -> Answer {
        let token = api_token("admin-zhao", &[role]);
        let auth = format!("Bearer {token}");
        let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let event = http_event(method, path, &headers, &body);
        answer(self.api.handle(request(&event)).await)
    }

    /// A web form lead through intake and dedup-score; its id.
    async fn new_lead(&self, i: usize) -> String {
        let body = json!({"name": format!("新线索{i}"), "phone": format!("1391234{i:04}"),
            "company": format!("测试{i}科技有限公司"), "title": "总监", "company_size": "500-999"});
        let event = http_event(
            "POST",
            "/v1/leads",
            &[("content-type", "application/json")],
            &body.to_string(),
        );
        let got = answer(self.intake.handle(request(&event)).await);
        assert_eq!(got.status, 202, "{}", got.body);
        got.body["lead_id"].as_str().unwrap().to_string()
    }

    async fn score_all(&self) {
        loop {
            let (n, failed) = self
                .stack
                .deliver("CaptureQueue", |e| self.dedup.handle(e, Utc::now()))
                .await;
            assert_eq!(failed, 0);
            if n == 0 {
                return;
            }
        }
    }
}

#[tokio::test]
async fn a_trained_challenger_scores_its_share_of_new_leads_and_can_be_promoted() {
    let now = Utc::now();
    let mut setup = Setup::start(now).await;
    let store = setup.stack.store();
    for lead in synthetic::finished_leads(11, HISTORY, now) {
        store
            .create_lead(&domain::lead::ports::NewLead::new(lead.clone(), None))
            .await
            .unwrap();
    }

    // Before any training the rule prior scores every lead (version 0, low confidence).
    let first = setup.new_lead(0).await;
    setup.score_all().await;
    let lead = setup.stack.lead(&first).await;
    let prediction = lead.prediction.expect("every scored lead has a prediction");
    assert_eq!((prediction.model_version, prediction.arm), (0, Arm::Champion));

    // Only admins train; the request is queued and the train function runs it.
    let refused = setup.call("POST", "/v1/models/train", Role::Manager, None).await;
    assert_eq!(refused.status, 403);
    let queued = setup.call("POST", "/v1/models/train", Role::Admin, None).await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    let (delivered, failed) = setup
        .stack
        .deliver("ModelQueue", |e| async {
            let value = serde_json::to_value(e).unwrap();
            serde_json::from_value(setup.train.handle(value, now).await.unwrap()).unwrap()
        })
        .await;
    assert_eq!((delivered, failed), (1, 0));

    let models = setup.call("GET", "/v1/models", Role::Manager, None).await;
    assert_eq!(models.status, 200, "{}", models.body);
    assert_eq!(models.body["in_service"]["champion"], 0);
    assert_eq!(models.body["in_service"]["challenger"], 1);
    let metrics = &models.body["versions"][0]["metrics"];
    assert_eq!(
        metrics["training_size"].as_u64().unwrap() + metrics["holdout_size"].as_u64().unwrap(),
        HISTORY as u64,
        "every finished lead of the history was read: {metrics}"
    );
    let auc = metrics["auc"].as_f64().unwrap();
    assert!(auc > 0.65, "held-out AUC {auc}");

    // Half the new leads on each model, each lead's arm fixed by its id.
    let share = setup
        .call(
            "PUT",
            "/v1/config/models",
            Role::Admin,
            Some(json!({"challenger_share": 0.5})),
        )
        .await;
    assert_eq!(share.status, 200, "{}", share.body);
    // A running consumer keeps the models in service for up to 60 s; a new one (a new
    // Lambda instance, as after a deploy) reads the share at once.
    setup.dedup = DedupScore {
        store: setup.stack.store(),
        bus: setup.stack.full_bus(),
    };
    let mut ids = Vec::new();
    for i in 1..=NEW_LEADS {
        ids.push(setup.new_lead(i).await);
    }
    setup.score_all().await;
    let mut challengers = 0;
    for id in &ids {
        let p = setup.stack.lead(id).await.prediction.unwrap();
        assert_eq!(p.arm, arm_for(id, 0.5), "the split is deterministic per lead");
        assert_eq!(p.model_version, if p.arm == Arm::Challenger { 1 } else { 0 });
        assert!(!p.reasons.is_empty() || p.model_version == 0);
        challengers += usize::from(p.arm == Arm::Challenger);
    }
    let observed = challengers as f64 / NEW_LEADS as f64;
    assert!((0.25..=0.75).contains(&observed), "challenger share {observed}");

    // Outcomes recorded through the API show up in the arms report.
    for id in &ids[..2] {
        for action in ["qualify_sql", "convert"] {
            let path = format!("/v1/leads/{id}/actions");
            let done = setup
                .call("POST", &path, Role::Manager, Some(json!({"action": action})))
                .await;
            assert_eq!(done.status, 200, "{action}: {}", done.body);
        }
    }
    let report = setup.call("GET", "/v1/reports/models", Role::Finance, None).await;
    assert_eq!(report.status, 200, "{}", report.body);
    let arms = &report.body["arms"];
    let leads = arms["champion"]["leads"].as_u64().unwrap() + arms["challenger"]["leads"].as_u64().unwrap();
    assert_eq!(
        leads,
        NEW_LEADS as u64 + 1,
        "the new leads carry predictions; history does not"
    );
    let conversions =
        arms["champion"]["conversions"].as_u64().unwrap() + arms["challenger"]["conversions"].as_u64().unwrap();
    assert_eq!(conversions, 2);

    let promoted = setup.call("POST", "/v1/models/promote", Role::Admin, None).await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    assert_eq!(
        (promoted.body["champion"].as_u64(), promoted.body["challenger"].as_u64()),
        (Some(1), None)
    );
    let again = setup.call("POST", "/v1/models/promote", Role::Admin, None).await;
    assert_eq!(again.status, 409);
    assert_eq!(setup.call("GET", "/v1/models", Role::Rep, None).await.status, 403);
}
