//! Data-subject erasure: a POST of `{"reference", "phone"?, "email"?, "wechat"?,
//! "lead_ids"?}` erases the person (201 with the audit record, 200 with the same record
//! for a repeated request); a GET reads the audit record.
//!
//! A body that is not a JSON object is a 400; a bad field is a 422 naming it (as on every route);
//! a well-formed `lead_ids` entry that names no stored lead is a 404 naming it. The
//! identifiers never reach a log line.

use crate::routes::Call;
use crate::{not_found, Answer, Api, ApiStore};
use domain::capture::submission::SubmissionRules;
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use domain::{
    privacy::erasure::erase, privacy::erasure::validate, privacy::erasure::ErasureBody, privacy::erasure::ErasureError,
    privacy::erasure::Outcome,
};
use lambda_http::http::StatusCode;
use leadflow_http::{error, field_error, json, json_object, offending_field};

fn bad_field(field: &str, reason: &str) -> lambda_http::Response<lambda_http::Body> {
    field_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid erasure request",
        field,
        reason,
    )
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn get_erasure(&self, call: &Call<'_>) -> Answer {
        self.store.erasure(call.param("id")).await.map(|found| match found {
            Some(record) => json(StatusCode::OK, &record),
            None => not_found("id", "no erasure has this id"),
        })
    }

    pub(crate) async fn post_erasure(&self, call: &Call<'_>) -> Answer {
        let actor = call.actor;
        let value = match json_object(call.req) {
            Ok(value) => value,
            Err(response) => return Ok(*response),
        };
        let body: ErasureBody = match serde_json::from_value(value.clone()) {
            Ok(body) => body,
            Err(e) => {
                let text = e.to_string();
                return Ok(bad_field(&offending_field(&text, &value), &text));
            }
        };
        let region = SubmissionRules::default().default_region;
        let request = match validate(&body, region) {
            Ok(request) => request,
            Err(errors) => {
                return Ok(error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid erasure request",
                    errors.0,
                ))
            }
        };
        match erase(&self.store, &request, region, &actor.id, self.clock.now()).await {
            Ok((record, outcome)) => {
                tracing::info!(
                    erasure_id = %record.id,
                    by = %actor.id,
                    repeated = outcome == Outcome::Repeated,
                    leads = record.counts.leads,
                    touchpoints = record.counts.touchpoints,
                    dedup_keys = record.counts.dedup_keys,
                    "erasure"
                );
                let status = match outcome {
                    Outcome::Erased => StatusCode::CREATED,
                    Outcome::Repeated => StatusCode::OK,
                };
                Ok(json(status, &record))
            }
            Err(ErasureError::UnknownLead(id)) => {
                let at = request.lead_ids.iter().position(|l| *l == id).unwrap_or_default();
                // Stored data, not the request's shape, decides this one: 404 naming the id.
                Ok(not_found(&format!("lead_ids.{at}"), "no lead has this id"))
            }
            Err(ErasureError::Contended(_)) => Ok(field_error(
                StatusCode::CONFLICT,
                "conflict",
                "body",
                "a lead kept changing during the erasure; send the same request again to finish it",
            )),
            Err(ErasureError::Store(e)) => Err(e),
        }
    }
}
