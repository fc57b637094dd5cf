//! The assign Lambda (ready queue): wires the store, bus and webhook notifier from the
//! environment into the library's handler, with the time of each batch as "now".

use assign::Assign;
use aws_lambda_events::sqs::SqsEvent;
use domain::lead::messages::Topic;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use leadflow_aws::notifier::HttpNotifier;
use leadflow_aws::{env, telemetry, DynamoStore, SqsBus};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = env::sdk_config().await;
    let app = Assign {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), env::required("TABLE_NAME")?),
        bus: SqsBus::new(aws_sdk_sqs::Client::new(&config)).with_queue(Topic::Ready, env::required("READY_QUEUE_URL")?),
        notifier: HttpNotifier::new(),
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(app.handle(event.payload, chrono::Utc::now()).await)
    }))
    .await
}
