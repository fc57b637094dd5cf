//! The outbound webhook subscriptions: who hears about converted leads. Admins only:
//! a subscription holds the secret its deliveries are signed with.

use crate::routes::Call;
use crate::{Answer, Api, ApiStore};
use domain::handoff::outbound::OutboundWebhooks;
use domain::lead::versioned::{ConfigId, ConfigKind};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use leadflow_http::json;

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn get_webhooks(&self, _: &Call<'_>) -> Answer {
        self.store.outbound_webhooks().await.map(|c| json(StatusCode::OK, &c))
    }

    pub(crate) async fn put_webhooks(&self, call: &Call<'_>) -> Answer {
        const ROUTE: &str = "/v1/config/webhooks";
        let config = match self.versioned_document(call.req, ROUTE, OutboundWebhooks::validate) {
            Ok(found) => found,
            Err(response) => return Ok(*response),
        };
        self.save_versioned(call, ConfigId::of(ConfigKind::Webhooks), config, ROUTE)
            .await
    }
}
