//! Wiring only: clients are built once per sandbox, then every request reuses them.

use domain::lead::messages::Topic;
use domain::lead::ports::SystemClock;
use intake::Intake;
use lambda_http::{service_fn, Error, Request};
use leadflow_aws::{env, telemetry, DynamoStore, SqsBus};
use leadflow_http::AllowedOrigins;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = env::sdk_config().await;
    let rules = env::submission_rules()?;
    let app = Intake {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), env::required("TABLE_NAME")?),
        bus: SqsBus::new(aws_sdk_sqs::Client::new(&config))
            .with_queue(Topic::Capture, env::required("CAPTURE_QUEUE_URL")?),
        clock: SystemClock,
        rules,
        origins: AllowedOrigins::new(env::list("ALLOWED_ORIGINS")),
        limits: env::rate_limits()?,
    };
    // Landing pages wait on this function: connect before the first visitor does.
    app.store.warm_up().await;
    let app = &app;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(app.handle(req).await)
    }))
    .await
}
