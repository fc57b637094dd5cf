//! Data-subject erasure (admins only):
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/erasures` | `{"reference", "phone"?, "email"?, "wechat"?, "lead_ids"?}`: erases the person; 201 with the audit record, 200 with the same record for a repeated request |
//! | `GET /v1/erasures/{id}` | the audit record |
//!
//! A body that is not a JSON object is a 400; a bad field is a 422 naming it (as on every route). The identifiers never reach a log line.

use crate::{forbidden, json_object, not_found, offending_field, Answer, Api, ApiStore};
use domain::capture::submission::SubmissionRules;
use domain::{assign::actions::Actor, assign::actions::Role};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use domain::{
    privacy::erasure::erase, privacy::erasure::validate, privacy::erasure::ErasureBody, privacy::erasure::ErasureError,
    privacy::erasure::Outcome,
};
use intake::http::{error, field_error, json};
use lambda_http::http::{Method, StatusCode};
use lambda_http::Request;

/// Routes of this module that exist for some role (others get 403, not 404).
pub(crate) fn known_route(method: &Method, segments: &[&str]) -> bool {
    matches!(
        (method, segments),
        (&Method::POST, ["v1", "erasures"]) | (&Method::GET, ["v1", "erasures", _])
    )
}

fn bad_field(field: &str, reason: &str) -> lambda_http::Response<lambda_http::Body> {
    field_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid erasure request",
        field,
        reason,
    )
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn erasures(&self, req: &Request, segments: &[&str], actor: &Actor) -> Option<Answer> {
        if !known_route(req.method(), segments) {
            return None;
        }
        if !actor.has(Role::Admin) {
            return Some(Ok(forbidden("only admins erase personal data and read erasures")));
        }
        Some(match (req.method(), segments) {
            (&Method::GET, ["v1", "erasures", id]) => self.store.erasure(id).await.map(|found| match found {
                Some(record) => json(StatusCode::OK, &record),
                None => not_found("id", "no erasure has this id"),
            }),
            _ => self.post_erasure(req, actor).await,
        })
    }

    async fn post_erasure(&self, req: &Request, actor: &Actor) -> Answer {
        let value = match json_object(req) {
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
                Ok(bad_field(&format!("lead_ids.{at}"), "no lead has this id"))
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
