//! Existing customers (for ToB matching), written by admins.

use crate::routes::Call;
use crate::{Answer, Api, ApiStore};
use domain::{lead::ports::Clock, lead::ports::MessageBus, qualify::customer::Customer};
use lambda_http::http::StatusCode;
use leadflow_http::{error, field_error, json, json_object};
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct CustomerBody {
    name: String,
    #[serde(default)]
    contact_phones: Vec<String>,
    #[serde(default)]
    owner: Option<String>,
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn put_customer(&self, call: &Call<'_>) -> Answer {
        let body: CustomerBody = match json_object(call.req).map(serde_json::from_value) {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                return Ok(field_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation failed",
                    "body",
                    &e.to_string(),
                ))
            }
            Err(response) => return Ok(*response),
        };
        let customer = match Customer::new(call.param("id"), body.name, &body.contact_phones, body.owner) {
            Ok(customer) => customer,
            Err(errors) => return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, "validation failed", errors)),
        };
        self.store.put_customer(&customer).await?;
        Ok(json(StatusCode::OK, &customer))
    }
}
