//! The scoring and qualification rules, as data.

use crate::routes::Call;
use crate::versioned::{stale_version, versioned_body};
use crate::{Answer, Api, ApiStore};
use domain::lead::versioned::Versioned;
use domain::qualify::rules::Rules;
use domain::{lead::ports::Clock, lead::ports::MessageBus, lead::ports::Saved};
use lambda_http::http::StatusCode;
use leadflow_http::{error, field_error, json};

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn get_rules(&self, _: &Call<'_>) -> Answer {
        self.store.rules().await.map(|r| json(StatusCode::OK, &r))
    }

    pub(crate) async fn put_rules(&self, call: &Call<'_>) -> Answer {
        let value = match versioned_body(call.req, "/v1/config/rules") {
            Ok(v) => v,
            Err(response) => return Ok(*response),
        };
        let mut rules: Rules = match serde_json::from_value(value) {
            Ok(r) => r,
            Err(e) => {
                return Ok(field_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation failed",
                    "body",
                    &e.to_string(),
                ))
            }
        };
        if let Err(errors) = rules.validate() {
            return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, "validation failed", errors.0));
        }
        // The body carries the version it was based on; it is saved as the next one.
        let based_on = rules.next_version(self.clock.now());
        match self.store.save_rules(&rules).await? {
            Saved::Saved => {
                tracing::info!(version = rules.version, "rules saved");
                Ok(json(StatusCode::OK, &rules))
            }
            Saved::Conflict => Ok(stale_version(based_on, "/v1/config/rules")),
        }
    }
}
