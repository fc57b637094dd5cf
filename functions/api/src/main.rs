use api::Api;
use domain::ports::SystemClock;
use lambda_http::{service_fn, Error, Request};
use leadflow_aws::{env, telemetry, DynamoStore};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = env::sdk_config().await;
    let api = Api {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), env::required("TABLE_NAME")?),
        clock: SystemClock,
        admin_token: env::optional("API_TOKEN").unwrap_or_default(),
    };
    let api = &api;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(api.handle(req).await)
    }))
    .await
}
