//! The api Lambda: wires DynamoDB, SQS, the clock and the token verifier from the
//! environment into [`api::Api`]; everything else is in the library, so tests run the same
//! handler against the emulator.

use api::auth::{ClaimNames, Verifier};
use api::Api;
use domain::lead::ports::SystemClock;
use lambda_http::{service_fn, Error, Request};
use leadflow_aws::{env, telemetry, DynamoStore, SqsBus};

/// The token verifier from the environment: `JWT_SECRET` (HS256, local development), or
/// the issuer's published keys, fetched once per cold start from `JWT_JWKS_URL` (the
/// template sets Cognito's) or else from the `jwks_uri` of the issuer's OpenID discovery
/// document (`<JWT_ISSUER>/.well-known/openid-configuration`: Keycloak, Authing and other
/// OIDC providers keep their keys at different paths). `JWT_AUDIENCE`, when set, is
/// checked in both modes. `JWT_REP_ID_CLAIM` (default `username`) and `JWT_ROLES_CLAIM`
/// (default `cognito:groups`) name the claims of another provider.
async fn verifier() -> Result<Verifier, Error> {
    let issuer = env::required("JWT_ISSUER")?;
    let names = ClaimNames::new(env::optional("JWT_REP_ID_CLAIM"), env::optional("JWT_ROLES_CLAIM"));
    if let Some(secret) = env::optional("JWT_SECRET") {
        return Ok(Verifier::hs256(&secret, &issuer)
            .with_audience(env::optional("JWT_AUDIENCE"))
            .with_claim_names(names));
    }
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?;
    let url = match env::optional("JWT_JWKS_URL") {
        Some(url) => url,
        None => {
            let discovery = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
            let document: serde_json::Value = http.get(&discovery).send().await?.error_for_status()?.json().await?;
            document["jwks_uri"]
                .as_str()
                .ok_or_else(|| format!("{discovery} names no jwks_uri"))?
                .to_string()
        }
    };
    let jwks = http.get(&url).send().await?.error_for_status()?.json().await?;
    Ok(Verifier::from_jwks(&jwks, &issuer, env::optional("JWT_AUDIENCE"))?.with_claim_names(names))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = env::sdk_config().await;
    let api = Api {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), env::required("TABLE_NAME")?),
        bus: api::QUEUES
            .iter()
            .try_fold(SqsBus::new(aws_sdk_sqs::Client::new(&config)), |bus, (topic, var)| {
                env::required(var).map(|url| bus.with_queue(*topic, url))
            })?,
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
