//! The api Lambda: wires DynamoDB, SQS, the clock and the token verifier from the
//! environment into [`api::Api`]; everything else is in the library, so tests run the same
//! handler against the emulator.

use api::auth::{ClaimNames, Verifier};
use api::Api;
use domain::lead::messages::Topic;
use domain::lead::ports::SystemClock;
use lambda_http::{service_fn, Error, Request};
use leadflow_aws::{env, telemetry, DynamoStore, SqsBus};

/// The token verifier from the environment: `JWT_SECRET` (HS256, local development), or
/// the issuer's published keys (`JWT_JWKS_URL`, default `<JWT_ISSUER>/.well-known/jwks.json`,
/// which is where Cognito publishes them), fetched once per cold start. `JWT_AUDIENCE`, when
/// set, is checked in both modes. `JWT_REP_ID_CLAIM` (default `username`) and
/// `JWT_ROLES_CLAIM` (default `cognito:groups`) name the claims of another provider.
async fn verifier() -> Result<Verifier, Error> {
    let issuer = env::required("JWT_ISSUER")?;
    let names = ClaimNames::new(env::optional("JWT_REP_ID_CLAIM"), env::optional("JWT_ROLES_CLAIM"));
    if let Some(secret) = env::optional("JWT_SECRET") {
        return Ok(Verifier::hs256(&secret, &issuer)
            .with_audience(env::optional("JWT_AUDIENCE"))
            .with_claim_names(names));
    }
    let url = env::optional("JWT_JWKS_URL").unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json"));
    let jwks = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?
        .get(&url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(Verifier::from_jwks(&jwks, &issuer, env::optional("JWT_AUDIENCE"))?.with_claim_names(names))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = env::sdk_config().await;
    let api = Api {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), env::required("TABLE_NAME")?),
        bus: SqsBus::new(aws_sdk_sqs::Client::new(&config))
            .with_queue(Topic::Ready, env::required("READY_QUEUE_URL")?)
            .with_queue(Topic::Conversions, env::required("CONVERSIONS_QUEUE_URL")?)
            .with_queue(Topic::Import, env::required("IMPORT_QUEUE_URL")?)
            .with_queue(Topic::Models, env::required("MODEL_QUEUE_URL")?),
        clock: SystemClock,
        verifier: verifier().await?,
    };
    api.store.warm_up().await;
    let api = &api;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(api.handle(req).await)
    }))
    .await
}
