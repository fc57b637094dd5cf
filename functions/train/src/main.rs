//! Wiring only.

use chrono::Utc;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use leadflow_aws::{env, telemetry, DynamoStore};
use serde_json::Value;
use train::Train;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = env::sdk_config().await;
    let app = Train {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), env::required("TABLE_NAME")?),
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(app.handle(event.payload, Utc::now()).await?)
    }))
    .await
}
