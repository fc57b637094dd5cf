//! The attribution configuration: the credit models and the reporting currency.

use crate::routes::Call;
use crate::{Answer, Api, ApiStore};
use domain::attribution::credit::AttributionConfig;
use domain::lead::versioned::{ConfigId, ConfigKind};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use leadflow_http::json;

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn get_attribution(&self, _: &Call<'_>) -> Answer {
        self.store.attribution_config().await.map(|c| json(StatusCode::OK, &c))
    }

    pub(crate) async fn put_attribution(&self, call: &Call<'_>) -> Answer {
        const ROUTE: &str = "/v1/config/attribution";
        let config = match self.versioned_document(call.req, ROUTE, AttributionConfig::validate) {
            Ok(found) => found,
            Err(response) => return Ok(*response),
        };
        self.save_versioned(call, ConfigId::of(ConfigKind::Attribution), config, ROUTE)
            .await
    }
}
