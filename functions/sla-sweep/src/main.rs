//! The sla-sweep Lambda (every 5 minutes): wires the store and bus from the environment
//! into the library's scheduled handler; "now" comes from the schedule event.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use domain::capture::intake::RedrivePolicy;
use domain::lead::messages::Topic;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use leadflow_aws::{env, telemetry, DynamoStore, SqsBus};
use sla_sweep::Sweep;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = env::sdk_config().await;
    let sweep = Sweep {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), env::required("TABLE_NAME")?),
        bus: SqsBus::new(aws_sdk_sqs::Client::new(&config))
            .with_queue(Topic::Capture, env::required("CAPTURE_QUEUE_URL")?)
            .with_queue(Topic::Ready, env::required("READY_QUEUE_URL")?),
        redrive: RedrivePolicy::default(),
        due_per_run: sla_sweep::DUE_PER_RUN,
    };
    let sweep = &sweep;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
            Ok::<_, Error>(sweep.handle(event.payload).await?)
        },
    ))
    .await
}
