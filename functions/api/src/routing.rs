//! The routing configuration: which pool a new lead goes to.

use crate::routes::Call;
use crate::{Answer, Api, ApiStore};
use domain::assign::routing::RoutingConfig;
use domain::lead::versioned::{ConfigId, ConfigKind};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use leadflow_http::json;

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn get_routing(&self, _: &Call<'_>) -> Answer {
        self.store.routing().await.map(|r| json(StatusCode::OK, &r))
    }

    pub(crate) async fn put_routing(&self, call: &Call<'_>) -> Answer {
        const ROUTE: &str = "/v1/config/routing";
        let pools: Vec<String> = self.store.pools().await?.into_iter().map(|p| p.id).collect();
        let config = match self.versioned_document(call.req, ROUTE, |c: &RoutingConfig| c.validate(&pools)) {
            Ok(found) => found,
            Err(response) => return Ok(*response),
        };
        self.save_versioned(call, ConfigId::of(ConfigKind::Routing), config, ROUTE)
            .await
    }
}
