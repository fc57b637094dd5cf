//! The scoring and qualification rules, as data.

use crate::routes::Call;
use crate::versioned::versioned_body;
use crate::{Answer, Api, ApiStore};
use domain::lead::versioned::{ConfigId, ConfigKind};
use domain::qualify::rules::Rules;
use domain::{lead::ports::Clock, lead::ports::MessageBus};
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
        let rules: Rules = match serde_json::from_value(value) {
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
        self.save_versioned(call, ConfigId::of(ConfigKind::Rules), rules, "/v1/config/rules")
            .await
    }
}
