//! The SLA policies: how long each stage may wait.

use crate::routes::Call;
use crate::{Answer, Api, ApiStore};
use domain::follow_up::sla::SlaConfig;
use domain::lead::versioned::{ConfigId, ConfigKind};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use leadflow_http::json;

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn get_sla(&self, _: &Call<'_>) -> Answer {
        self.store.sla_config().await.map(|c| json(StatusCode::OK, &c))
    }

    pub(crate) async fn put_sla(&self, call: &Call<'_>) -> Answer {
        const ROUTE: &str = "/v1/config/sla";
        let config = match self.versioned_document(call.req, ROUTE, SlaConfig::validate) {
            Ok(found) => found,
            Err(response) => return Ok(*response),
        };
        self.save_versioned(call, ConfigId::of(ConfigKind::Sla), config, ROUTE)
            .await
    }
}
