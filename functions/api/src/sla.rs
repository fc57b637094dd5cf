//! The SLA policies: how long each stage may wait.
//!
//! A malformed field is a 422 naming it; a reference to a calendar or policy the document
//! does not hold (`default_policy`, `by_pool.*`, `by_channel.*`, `policies[i].calendar`)
//! is a 409 naming it: a conflict with the document's own lists, which no schema can state.

use crate::routes::Call;
use crate::{Answer, Api, ApiStore};
use domain::follow_up::sla::SlaConfig;
use domain::lead::versioned::{ConfigId, ConfigKind};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use leadflow_http::{error, json};

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn get_sla(&self, _: &Call<'_>) -> Answer {
        self.store
            .sla_config()
            .await
            .map(|c| json(StatusCode::OK, &c.with_coverage()))
    }

    pub(crate) async fn put_sla(&self, call: &Call<'_>) -> Answer {
        const ROUTE: &str = "/v1/config/sla";
        let config = match self.versioned_document(call.req, ROUTE, SlaConfig::shape_errors) {
            Ok(found) => found,
            Err(response) => return Ok(*response),
        };
        let unknown = config.reference_errors();
        if !unknown.is_empty() {
            return Ok(error(
                StatusCode::CONFLICT,
                "names a calendar or policy the document does not hold",
                unknown,
            ));
        }
        // Saved with each calendar's reach stated, so the document shows it.
        self.save_versioned(call, ConfigId::of(ConfigKind::Sla), config.with_coverage(), ROUTE)
            .await
    }
}
