//! The dedup-score Lambda (capture queue): wires the store and bus from the environment
//! into the library's handler, with the time of each batch as "now".

use aws_lambda_events::sqs::SqsEvent;
use dedup_score::DedupScore;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use leadflow_aws::{env, telemetry, DynamoStore, SqsBus};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = env::sdk_config().await;
    let app = DedupScore {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), env::required("TABLE_NAME")?),
        bus: dedup_score::QUEUES
            .iter()
            .try_fold(SqsBus::new(aws_sdk_sqs::Client::new(&config)), |bus, (topic, var)| {
                env::required(var).map(|url| bus.with_queue(*topic, url))
            })?,
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(app.handle(event.payload, chrono::Utc::now()).await)
    }))
    .await
}
