//! The nightly reconcile Lambda: wires the store from the environment into the library's
//! drift check of yesterday's rollups against their raw records.

use attribution::{requested_day, Attribution};
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
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let day = requested_day(&event.payload);
        let result = app.reconcile(day, chrono::Utc::now()).await?;
        Ok::<_, Error>(serde_json::json!({
            "day": result.day,
            "rows": result.rows_expected,
            "pending_conversions": result.pending_conversions,
            "drift_rows": result.drift.len(),
        }))
    }))
    .await
}
