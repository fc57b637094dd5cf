//! The routing configuration: which pool a new lead goes to.

use crate::routes::Call;
use crate::versioned::saved_answer;
use crate::{Answer, Api, ApiStore};
use domain::assign::routing::RoutingConfig;
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
        let (config, based_on) = match self.versioned_document(call.req, ROUTE, |c: &RoutingConfig| c.validate(&pools))
        {
            Ok(found) => found,
            Err(response) => return Ok(*response),
        };
        let saved = self.store.save_routing(&config).await?;
        Ok(saved_answer(saved, &config, based_on, ROUTE))
    }
}
