//! `POST /v1/hooks/{source}`: signed pushes from ad platforms and partner systems.
//! The domain ([`receive_push`]) verifies and captures; this maps outcomes to HTTP and
//! to the business counts (`LeadsCaptured`, `LeadsInvalid`; a re-sent push adds nothing).

use crate::{count_capture, unavailable, Intake};
use domain::{
    capture::hooks::receive_push, capture::hooks::PushError, capture::hooks::PushReceipt,
    capture::hooks::MAX_HOOK_BODY_BYTES, capture::hooks::SIGNATURE_HEADER, capture::hooks::TIMESTAMP_HEADER,
};
use domain::{capture::ports::HookStore, lead::ports::Clock, lead::ports::LeadStore, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use leadflow_aws::metrics::{self, Business};
use leadflow_http::{error, field_error, json};
use serde_json::json;

impl<S: LeadStore + HookStore, B: MessageBus, C: Clock> Intake<S, B, C> {
    pub(crate) async fn post_hook(&self, source: &str, req: &Request) -> Response<Body> {
        let body: &[u8] = req.body().as_ref();
        if body.len() > MAX_HOOK_BODY_BYTES {
            return field_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
                "body",
                &format!("must be at most {MAX_HOOK_BODY_BYTES} bytes"),
            );
        }
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let headers = (header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER));
        let now = self.clock.now();
        match receive_push(&self.store, &self.bus, source, headers, body, &self.rules, now).await {
            Ok(PushReceipt::Captured(receipt)) => {
                tracing::info!(source, lead_id = %receipt.lead_id, duplicate = receipt.duplicate, "push captured");
                if let Some(e) = &receipt.publish_error {
                    tracing::warn!(lead_id = %receipt.lead_id, error = %e, "lead stored but lead.captured not sent; the outbox re-driver will send it");
                }
                count_capture(&receipt);
                let status = if receipt.duplicate { "duplicate" } else { "received" };
                json(
                    StatusCode::ACCEPTED,
                    &json!({"lead_id": receipt.lead_id, "status": status}),
                )
            }
            Ok(PushReceipt::Invalid {
                lead_id,
                errors,
                duplicate,
            }) => {
                tracing::info!(source, lead_id = %lead_id, problems = errors.len(), duplicate, "push kept as invalid");
                if !duplicate {
                    metrics::count(Business::LeadsInvalid, 1);
                }
                json(
                    StatusCode::ACCEPTED,
                    &json!({"lead_id": lead_id, "status": "invalid", "errors": errors}),
                )
            }
            Err(PushError::Signature(e)) => {
                tracing::warn!(source, refused = %e, "push refused");
                field_error(
                    StatusCode::UNAUTHORIZED,
                    "push not authenticated",
                    e.header(),
                    &e.to_string(),
                )
            }
            Err(e @ PushError::UnknownSource) => {
                field_error(StatusCode::NOT_FOUND, "not found", "source", &e.to_string())
            }
            Err(e @ PushError::Disabled) => {
                field_error(StatusCode::FORBIDDEN, "source disabled", "source", &e.to_string())
            }
            Err(PushError::Body(e)) => error(
                StatusCode::BAD_REQUEST,
                "invalid request body",
                vec![domain::FieldError::new("body", e)],
            ),
            Err(PushError::Store(e)) => {
                tracing::error!(source, error = %e, "could not store push");
                unavailable("nothing was stored; retry the push")
            }
        }
    }
}
