//! A function run the way Lambda runs it: intake's handler inside `lambda_http::run`,
//! the real runtime loop, polling a stand-in Runtime API (`leadflow_tests::runtime_api`)
//! for two invocations, with the emulator behind it. Every line the invocation logs
//! (captured under `target/test-logs/` in the functions' format) names its request:
//! `requestId`, and `xrayTraceId` when the service traces it, at the top level beside
//! the event's own fields. The same run writes the invocation's metrics.
//!
//! The runtime reads its configuration from the environment, so this binary holds this
//! one test: setting the variables races no other test.

use lambda_http::{service_fn, Error, Request};
use leadflow_aws::metrics::Recorder;
use leadflow_tests::runtime_api::{Invocation, RuntimeApi};
use leadflow_tests::{capture_logs, http_event, Stack};
use serde_json::{json, Value};

const TRACED: &str = "c6af9ac6-7b61-11e6-9a41-93e8deb2a001";
const UNTRACED: &str = "c6af9ac6-7b61-11e6-9a41-93e8deb2a002";
const TRACE: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

#[test]
fn every_line_an_invocation_logs_names_its_request_and_trace() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    for (name, value) in [
        ("AWS_LAMBDA_RUNTIME_API", address.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "leadflow-test-IntakeFunction"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ] {
        std::env::set_var(name, value);
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(invoke_intake(listener));
}

async fn invoke_intake(listener: std::net::TcpListener) {
    let stack = Stack::start().await;
    let log = capture_logs().expect("this process captures its logs");
    let lead = |phone: &str| {
        let body = json!({"name": "李娜", "phone": phone, "company": "北京纷扬科技有限公司"}).to_string();
        http_event("POST", "/v1/leads", &[("content-type", "application/json")], &body)
    };
    let api = RuntimeApi::start(
        listener,
        vec![
            Invocation {
                request_id: TRACED.into(),
                trace_id: Some(TRACE.into()),
                event: lead("13912345678"),
            },
            Invocation {
                request_id: UNTRACED.into(),
                trace_id: None,
                event: lead("13987654321"),
            },
        ],
    );
    let app = stack.intake();
    let app = &app;
    let recorder = Recorder::in_memory("leadflow/test");
    // As intake's main runs it; the loop never returns while invocations come.
    let function = recorder.scope(lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(app.handle(req).await)
    })));
    let answered = tokio::select! {
        stopped = function => panic!("the runtime loop stopped: {stopped:?}"),
        answered = api.answered(2) => answered,
    };

    // Each invocation's answer, by request id: a captured lead.
    let mut leads = Vec::new();
    for (answer, request_id) in answered.iter().zip([TRACED, UNTRACED]) {
        assert_eq!(
            (answer.request_id.as_str(), answer.ok),
            (request_id, true),
            "{answer:?}"
        );
        assert_eq!(answer.body["statusCode"], 202, "{answer:?}");
        let body: Value = serde_json::from_str(answer.body["body"].as_str().unwrap()).unwrap();
        leads.push(body["lead_id"].as_str().unwrap().to_string());
    }

    let text = std::fs::read_to_string(log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    for (lead_id, request_id, trace) in [(&leads[0], TRACED, Some(TRACE)), (&leads[1], UNTRACED, None)] {
        let about: Vec<&Value> = lines.iter().filter(|l| l["lead_id"] == lead_id.as_str()).collect();
        assert!(
            about.iter().any(|l| l["message"] == "lead captured"),
            "no `lead captured` line for {lead_id} in {}",
            log.display()
        );
        for line in about {
            assert_eq!(line["requestId"], request_id, "{line}");
            assert_eq!(line["xrayTraceId"].as_str(), trace, "{line}");
        }
    }
    // Lines logged outside an invocation (the emulator's start) name none.
    assert!(
        lines
            .iter()
            .filter_map(|l| l["requestId"].as_str())
            .all(|id| id == TRACED || id == UNTRACED),
        "a line names a request that never ran"
    );

    assert_eq!(recorder.total("LeadsCaptured"), 2, "{:?}", recorder.lines());
    let cold: Vec<(String, u64)> = recorder
        .lines()
        .iter()
        .filter_map(|doc| Some((doc["Function"].as_str()?.to_string(), doc["ColdStarts"].as_u64()?)))
        .collect();
    assert_eq!(
        cold,
        [("intake".to_string(), 1)],
        "one cold start, on the first invocation"
    );
}
