//! The attribution Lambda (conversions queue): wires the store from the environment into
//! the library's handler.

use attribution::Attribution;
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use leadflow_aws::{env, telemetry, DynamoStore};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = env::sdk_config().await;
    let app = Attribution {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), env::required("TABLE_NAME")?),
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(app.handle(event.payload).await)
    }))
    .await
}
