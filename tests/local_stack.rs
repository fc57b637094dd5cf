//! The local runner does what AWS does between services, faithfully enough to trust:
//! resources as the template declares them, SQS event source mapping semantics
//! (partial batch failures, retries, dead-lettering), the table's stream mapping (its
//! filter, reading again from a reported failure, the on-failure destination) and API
//! Gateway v2 events.

use aws_sdk_sqs::types::QueueAttributeName;
use leadflow_tests::{FakeFunctions, Stack};
use local_stack::gateway::Gateway;
use local_stack::invoke::Invoker;
use local_stack::moto::{free_port, MotoServer};
use local_stack::provision::provision;
use local_stack::runner::deliver_once;
use local_stack::template::Template;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn the_emulator_holds_exactly_what_the_template_declares() {
    let stack = Stack::start().await;
    let template = Template::load(&Template::path()).unwrap();

    let tables = stack
        .dynamo
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default();
    let declared: Vec<String> = template.tables.iter().map(|t| t.logical_id.clone()).collect();
    assert_eq!(tables, declared);
    let described = stack
        .dynamo
        .describe_table()
        .table_name(stack.table())
        .send()
        .await
        .unwrap();
    let gsis: Vec<String> = described
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .map(|g| g.index_name().unwrap_or_default().to_string())
        .collect();
    assert_eq!(gsis, ["gsi1", "gsi2", "gsi3", "gsi4", "gsi5", "gsi6", "gsi7"]);
    let ttl = stack
        .dynamo
        .describe_time_to_live()
        .table_name(stack.table())
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description().and_then(|t| t.attribute_name()),
        Some("expires_at")
    );

    let mut queues: Vec<String> = stack
        .sqs
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls
        .unwrap_or_default()
        .iter()
        .map(|u| u.rsplit('/').next().unwrap().to_string())
        .collect();
    queues.sort();
    let mut declared: Vec<String> = template.queues.iter().map(|q| q.logical_id.clone()).collect();
    declared.sort();
    assert_eq!(queues, declared);
    let attrs = stack
        .sqs
        .get_queue_attributes()
        .queue_url(stack.queue("CaptureQueue"))
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    let redrive: Value = serde_json::from_str(&attrs[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert!(redrive["deadLetterTargetArn"]
        .as_str()
        .unwrap()
        .ends_with(":CaptureDLQ"));
    assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), "5");
    assert_eq!(attrs[&QueueAttributeName::VisibilityTimeout], "60");
}

const SHORT_TEMPLATE: &str = r#"
Resources:
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 1
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkDLQ.Arn
        maxReceiveCount: 2
  WorkDLQ:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: worker
    Properties:
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt WorkQueue.Arn
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
"#;

#[tokio::test]
async fn sqs_delivery_honours_partial_batch_failures_and_dead_letters_poison() {
    let moto = MotoServer::start(None, true).unwrap();
    let template = Template::parse(SHORT_TEMPLATE).unwrap();
    let provisioned = provision(&template, &moto.endpoint()).await.unwrap();
    let (_, sqs) = leadflow_tests::harness_clients(&moto.endpoint());
    let queue = provisioned.queue_url("WorkQueue").to_string();
    for body in ["good-1", "poison", "good-2"] {
        sqs.send_message()
            .queue_url(&queue)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    // The fake consumer fails only the poison message, reporting it by message id.
    let functions = FakeFunctions::start(|_, event| {
        let failures: Vec<Value> = event["Records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["body"] == "poison")
            .map(|r| json!({"itemIdentifier": r["messageId"]}))
            .collect();
        (200, json!({ "batchItemFailures": failures }))
    })
    .await;
    let invoker = Invoker::new(&functions.url);
    let function = template.function("Worker").unwrap().clone();
    let mapping = function.sqs[0].clone();
    let arn = "arn:aws:sqs:us-east-1:123456789012:WorkQueue";

    // Polls for the condition; the bound is generous (a loaded machine), not a timing.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        deliver_once(&sqs, &invoker, &queue, arn, &function, &mapping)
            .await
            .unwrap();
        let dlq = sqs
            .receive_message()
            .queue_url(provisioned.queue_url("WorkDLQ"))
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if let Some(dead) = dlq.first() {
            assert_eq!(dead.body(), Some("poison"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "poison never reached the DLQ");
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    let delivered: Vec<String> = functions
        .calls()
        .iter()
        .flat_map(|(_, e)| {
            e["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["body"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        delivered.iter().filter(|b| *b == "good-1").count(),
        1,
        "a success is deleted, never redelivered"
    );
    assert_eq!(delivered.iter().filter(|b| *b == "good-2").count(), 1);
    assert_eq!(
        delivered.iter().filter(|b| *b == "poison").count(),
        2,
        "retried up to maxReceiveCount, then dead-lettered"
    );
    let first = &functions.calls()[0].1["Records"][0];
    assert_eq!(first["eventSource"], "aws:sqs");
    assert_eq!(first["eventSourceARN"], arn);
    assert!(first["receiptHandle"].is_string() && first["attributes"]["ApproximateReceiveCount"].is_string());
}

#[tokio::test]
async fn the_gateway_sends_api_gateway_v2_events_and_returns_the_functions_answer() {
    let functions = FakeFunctions::start(|function, event| {
        (200, json!({"statusCode": 201, "headers": {"x-function": function}, "body": event.to_string(), "isBase64Encoded": false}))
    })
    .await;
    let template = Template::load(&Template::path()).unwrap();
    let gateway = Gateway::new(&template, Invoker::new(&functions.url));
    let port = free_port();
    tokio::spawn(gateway.serve(([127, 0, 0, 1], port).into()));
    leadflow_tests::wait_until_listening(port).await;
    let client = reqwest::Client::new();

    let response = client
        .post(format!("http://127.0.0.1:{port}/v1/leads?utm_source=a&utm_source=b"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", "a=1; b=2")
        .body("name=%E5%BC%A0&phone=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-function"], "intake");
    let event: Value = response.json().await.unwrap();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "POST /v1/leads");
    assert_eq!(event["rawPath"], "/v1/leads");
    assert_eq!(event["queryStringParameters"]["utm_source"], "a,b");
    assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
    assert_eq!(
        event["isBase64Encoded"], true,
        "form bodies arrive base64-encoded, as from API Gateway"
    );
    assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(event["requestContext"]["stage"], "$default");

    let missing = client
        .get(format!("http://127.0.0.1:{port}/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_dead_lettered_message_is_redriven_to_its_source_queue() {
    let stack = Stack::start().await;
    let template = Template::load(&Template::path()).unwrap();
    // Every DLQ the template declares has a source queue to go back to.
    for queue in &template.queues {
        if let Some((dlq, max)) = &queue.redrive {
            assert!(*max >= 5, "{}: maxReceiveCount {max}", queue.logical_id);
            assert!(template.queues.iter().any(|q| &q.logical_id == dlq));
        }
    }
    let body = r#"{"v":1,"id":"lead.ready:x:1","type":"lead.ready","at":"2026-11-23T00:00:00Z","data":{}}"#;
    stack
        .sqs
        .send_message()
        .queue_url(stack.queue("ReadyDLQ"))
        .message_body(body)
        .send()
        .await
        .unwrap();
    let moved = local_stack::redrive::redrive(&stack.sqs, stack.queue("ReadyDLQ"), stack.queue("ReadyQueue"))
        .await
        .unwrap();
    assert_eq!(moved, 1);
    let back = stack.drain("ReadyQueue").await;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0]["id"], "lead.ready:x:1");
    assert!(stack.drain("ReadyDLQ").await.is_empty(), "nothing left behind");
}

/// Read straight from the YAML (not through the local stack's parser): every HTTP route,
/// SQS or stream mapping and schedule the template declares is served, polled or fired locally,
/// and the local stack serves nothing the template does not declare.
#[test]
fn the_local_runner_serves_exactly_the_template_s_routes_mappings_and_schedules() {
    use local_stack::runner::Cadence;
    use std::collections::BTreeSet;
    let text = std::fs::read_to_string(Template::path()).unwrap();
    let raw: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let (mut routes, mut mappings, mut schedules) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut streams = BTreeSet::new();
    for (_, resource) in raw["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_string();
        for (_, event) in resource["Properties"]["Events"].as_mapping().into_iter().flatten() {
            let props = &event["Properties"];
            match event["Type"].as_str() {
                Some("HttpApi") => {
                    routes.insert((
                        props["Method"].as_str().unwrap().to_string(),
                        props["Path"].as_str().unwrap().to_string(),
                        binary.clone(),
                    ));
                }
                Some("SQS") => {
                    mappings.insert(binary.clone());
                }
                Some("DynamoDB") => {
                    streams.insert(binary.clone());
                }
                Some("ScheduleV2") => {
                    schedules.insert((
                        binary.clone(),
                        props["ScheduleExpression"].as_str().unwrap().to_string(),
                    ));
                }
                other => panic!("{binary}: event type {other:?} has no local counterpart"),
            }
        }
    }

    let template = Template::load(&Template::path()).unwrap();
    let gateway = Gateway::new(&template, Invoker::new("http://127.0.0.1:1"));
    let served: BTreeSet<(String, String, String)> = gateway
        .routes()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.function.clone()))
        .collect();
    assert_eq!(served, routes);
    let binaries = |mapped: fn(&local_stack::template::Function) -> bool| -> BTreeSet<String> {
        template
            .functions
            .iter()
            .filter(|f| mapped(f))
            .map(|f| f.binary.clone())
            .collect()
    };
    assert_eq!(binaries(|f| !f.sqs.is_empty()), mappings);
    assert_eq!(binaries(|f| !f.streams.is_empty()), streams);
    let fired: BTreeSet<(String, String)> = template
        .functions
        .iter()
        .flat_map(|f| f.schedules.iter().map(|s| (f.binary.clone(), s.expression.clone())))
        .collect();
    assert_eq!(fired, schedules);
    for (binary, expression) in &fired {
        assert!(
            Cadence::parse(expression).is_ok(),
            "{binary}: {expression} cannot run locally"
        );
    }
    assert!(routes.len() >= 30 && schedules.len() == 3, "{routes:?} {schedules:?}");
}

/// Each schedule fires here as the scheduler would: in the template's time zone, with the
/// template's `Input` as the event, which the handlers read as an EventBridge event whose
/// `time` is the scheduled time.
#[test]
fn schedules_fire_in_their_time_zone_with_the_template_s_event() {
    use aws_lambda_events::eventbridge::EventBridgeEvent;
    use local_stack::runner::Firing;
    use local_stack::template::Bindings;
    let template = Template::load(&Template::path()).unwrap();
    let bindings = Bindings::defaults(&template, "us-east-1", "123456789012");
    let utc = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let reconcile = template.function("ReconcileFunction").unwrap();
    let nightly = &reconcile.schedules[0];
    let firing = Firing::new(nightly, &bindings).unwrap();
    // 02:30 in Asia/Shanghai (the default ScheduleTimezone) is 18:30 UTC the day before.
    let next = firing.cadence.next_after(utc("2026-12-04T00:00:00Z")).unwrap();
    assert_eq!(next, utc("2026-12-04T18:30:00Z"));
    for function in &template.functions {
        for schedule in &function.schedules {
            let firing = Firing::new(schedule, &bindings).unwrap();
            let at = firing.cadence.next_after(utc("2026-12-04T00:00:00Z")).unwrap();
            let event = firing.event(function, schedule, at);
            let read: EventBridgeEvent<serde_json::Value> =
                serde_json::from_value(event.clone()).unwrap_or_else(|e| panic!("{}: {e}: {event}", function.binary));
            assert_eq!(read.time, Some(at), "{}: {event}", function.binary);
        }
    }
}

/// `cargo lambda watch` stopped dispatching under bursts of concurrent invocations of one
/// function; the invoker hands each function one event at a time, as a sandbox takes
/// them, while different functions still run side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn the_invoker_hands_each_function_one_event_at_a_time() {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    #[derive(Default)]
    struct Flight {
        /// Per function: (in flight now, most ever in flight).
        per_function: HashMap<String, (usize, usize)>,
        now: usize,
        most: usize,
    }
    let flight: Arc<Mutex<Flight>> = Arc::default();
    let seen = flight.clone();
    let functions = FakeFunctions::start(move |function, _| {
        {
            let mut f = seen.lock().unwrap();
            let entry = f.per_function.entry(function.to_string()).or_default();
            entry.0 += 1;
            entry.1 = entry.1.max(entry.0);
            f.now += 1;
            f.most = f.most.max(f.now);
        }
        // The first event of each function waits (up to 10 s) until the other function
        // has an event in flight too, so "side by side" does not depend on how the
        // scheduler of a loaded machine happens to start the calls; an invoker that ran
        // one event at a time overall would still leave `most` at 1.
        let meet = std::time::Instant::now() + Duration::from_secs(10);
        while seen.lock().unwrap().most < 2 && std::time::Instant::now() < meet {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(100));
        let mut f = seen.lock().unwrap();
        f.per_function.get_mut(function).unwrap().0 -= 1;
        f.now -= 1;
        (200, json!({"ok": true}))
    })
    .await;
    let invoker = Invoker::new(&functions.url);
    let calls = [
        "intake", "intake", "intake", "intake", "assign", "assign", "assign", "assign",
    ]
    .into_iter()
    .map(|function| {
        let invoker = invoker.clone();
        tokio::spawn(async move { invoker.invoke(function, &json!({})).await })
    });
    for call in futures::future::join_all(calls).await {
        assert_eq!(call.unwrap().unwrap(), json!({"ok": true}));
    }
    let f = flight.lock().unwrap();
    assert_eq!(f.per_function["intake"].1, 1, "one intake event at a time");
    assert_eq!(f.per_function["assign"].1, 1, "one assign event at a time");
    assert_eq!(f.most, 2, "the two functions ran side by side");
    assert_eq!(functions.calls().len(), 8);
}

/// The step records the stream mapping is for, and one write it filters out.
async fn steps_and_a_lead(stack: &Stack, campaigns: &[&str]) {
    let mut items: Vec<_> = campaigns
        .iter()
        .map(|c| {
            leadflow_aws::rollup::step_item(&domain::lead::funnel::FunnelStep {
                lead_id: domain::LeadId::generate("2026-11-24T02:00:00Z".parse().unwrap()),
                step: "lead".into(),
                day: "2026-11-24".parse().unwrap(),
                source: domain::lead::funnel::SourceKey {
                    campaign: c.to_string(),
                    ..Default::default()
                },
                fields: [("leads".to_string(), 1)].into(),
            })
            .unwrap()
        })
        .collect();
    items.insert(
        1,
        [
            (
                "pk".to_string(),
                aws_sdk_dynamodb::types::AttributeValue::S("LEAD#x".into()),
            ),
            (
                "sk".to_string(),
                aws_sdk_dynamodb::types::AttributeValue::S("LEAD".into()),
            ),
        ]
        .into(),
    );
    for item in items {
        // One at a time: the stream's order is the order written.
        stack.put_items(vec![item]).await;
    }
}

/// The campaigns of the step records in each call the fake function received.
fn delivered(functions: &FakeFunctions) -> Vec<Vec<String>> {
    functions
        .calls()
        .iter()
        .map(|(_, event)| {
            event["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let doc: Value =
                        serde_json::from_str(r["dynamodb"]["NewImage"]["doc"]["S"].as_str().unwrap()).unwrap();
                    doc["source"]["campaign"].as_str().unwrap().to_string()
                })
                .collect()
        })
        .collect()
}

/// Waits (polling; the bound is for a loaded machine, not a timing) until `done`.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_stream_mapping_passes_only_step_records_and_reads_again_from_a_reported_failure() {
    let stack = Stack::start().await;
    steps_and_a_lead(&stack, &["a", "b", "c"]).await;
    // The fake fold fails its first call at the second record, as a cut-short fold does.
    let first = std::sync::atomic::AtomicBool::new(true);
    let functions = FakeFunctions::start(move |_, event| {
        let records = event["Records"].as_array().unwrap();
        if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            let at = &records[1]["dynamodb"]["SequenceNumber"];
            return (200, json!({"batchItemFailures": [{"itemIdentifier": at}]}));
        }
        (200, json!({"batchItemFailures": []}))
    })
    .await;
    let template = Template::load(&Template::path()).unwrap();
    let function = template.function("RollupFunction").unwrap().clone();
    let mapping = function.streams[0].clone();
    assert_eq!(mapping.maximum_retry_attempts, -1, "the template never skips a batch");
    let running = tokio::spawn(local_stack::stream::run_stream_mapping(
        Invoker::new(&functions.url),
        stack.provisioned.clone(),
        function,
        mapping,
    ));
    until("the redelivery", || functions.calls().len() >= 2).await;
    // Nothing more comes once the retry succeeded.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running.abort();
    assert_eq!(
        delivered(&functions),
        [vec!["a", "b", "c"], vec!["b", "c"]],
        "the lead's own write is filtered out"
    );
    let record = &functions.calls()[0].1["Records"][0];
    assert_eq!(record["eventName"], "INSERT");
    assert!(record["eventSourceARN"].as_str().unwrap().contains("/stream/"));
}

#[tokio::test]
async fn a_stream_batch_given_up_after_its_retries_is_described_in_the_on_failure_queue() {
    let stack = Stack::start().await;
    steps_and_a_lead(&stack, &["a", "b"]).await;
    let functions = FakeFunctions::start(|_, _| (500, json!({"errorMessage": "down"}))).await;
    let template = Template::load(&Template::path()).unwrap();
    let function = template.function("RollupFunction").unwrap().clone();
    // A mapping with a retry limit (the template's has none): after it, the batch is
    // described in the on-failure queue and reading moves past it.
    let mut mapping = function.streams[0].clone();
    mapping.maximum_retry_attempts = 1;
    let running = tokio::spawn(local_stack::stream::run_stream_mapping(
        Invoker::new(&functions.url),
        stack.provisioned.clone(),
        function,
        mapping,
    ));
    let mut dead = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while dead.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing reached the on-failure queue"
        );
        dead = stack.drain("RollupDLQ").await;
    }
    running.abort();
    assert_eq!(functions.calls().len(), 2, "delivered once and retried once");
    let info = &dead[0]["DDBStreamBatchInfo"];
    let calls = functions.calls();
    let first = &calls[0].1["Records"][0]["dynamodb"]["SequenceNumber"];
    assert_eq!(&info["startSequenceNumber"], first);
    assert_eq!(info["batchSize"], 2);
    assert_eq!(dead[0]["requestContext"]["condition"], "RetryAttemptsExhausted");
}
