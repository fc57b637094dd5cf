//! Existing customers (for ToB matching), written by admins.

use crate::routes::Call;
use crate::{Answer, Api, ApiStore};
use domain::lead::normalize;
use domain::qualify::company::core_name;
use domain::FieldError;
use domain::{lead::ports::Clock, lead::ports::MessageBus, qualify::ports::Customer};
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
        let customer = match customer_of(call.param("id"), body) {
            Ok(customer) => customer,
            Err(errors) => return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, "validation failed", errors)),
        };
        self.store.put_customer(&customer).await?;
        Ok(json(StatusCode::OK, &customer))
    }
}

/// Domain validation (to move to the domain crate, e.g. `Customer::new`): the id is
/// 1-64 letters, digits, `-` or `_`; the name has a company core of at least two
/// characters; every contact phone normalises to E.164 (mainland China by default).
/// All problems are reported at once.
pub(crate) fn customer_of(id: &str, body: CustomerBody) -> Result<Customer, Vec<FieldError>> {
    let mut errors = Vec::new();
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        errors.push(FieldError::new("id", "must be 1-64 letters, digits, '-' or '_'"));
    }
    let company_core = core_name(&body.name);
    if company_core.chars().count() < 2 {
        errors.push(FieldError::new("name", "must name a company"));
    }
    let mut phones = Vec::new();
    for (i, phone) in body.contact_phones.iter().enumerate() {
        match normalize::phone_e164(phone, normalize::Region::CN) {
            Ok(p) => phones.push(p),
            Err(e) => errors.push(FieldError::new(format!("contact_phones[{i}]"), e)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Customer {
        id: id.to_string(),
        name: body.name,
        company_core,
        contact_phones: phones,
        owner: body.owner,
    })
}
