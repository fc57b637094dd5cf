//! Public capture endpoint. Thin: decode HTTP, call the domain, shape the answer.
//!
//! Routes: `POST /v1/leads` (JSON, form posts, or `text/plain` JSON from
//! `navigator.sendBeacon`), `POST /v1/events` (behaviour tracking), `POST
//! /v1/hooks/{source}` (signed server-to-server pushes), and CORS preflight for allowed
//! origins.
//!
//! The two public routes are rate limited per client address and (lead posts) per form
//! ([`domain::capture::ratelimit`]); signed pushes are not: see [`Intake::handle`].
//!
//! A new lead counts in `LeadsCaptured`, or in `LeadsInvalid` when it is kept as invalid
//! at once (the honeypot filled, a push that fails validation); a repeat of a known
//! submission counts in neither (`count_capture`).

mod form_errors;
mod hooks;
/// The shared HTTP plumbing, still reachable as `intake::http` for callers written
/// against it (the tests, the benches).
pub use leadflow_http as http;

use domain::lead::Stage;
use domain::FieldError;
use domain::{capture::intake::capture, capture::intake::CaptureReceipt};
use domain::{
    capture::ports::HookStore, capture::ports::RateCounters, lead::ports::Clock, lead::ports::LeadStore,
    lead::ports::MessageBus, lead::ports::TouchStore, qualify::ports::DedupStore,
};
use domain::{
    capture::ratelimit::admit, capture::ratelimit::client_key, capture::ratelimit::form_key,
    capture::ratelimit::Admission, capture::ratelimit::RateLimits, capture::ratelimit::Scope,
};
use domain::{
    capture::submission::validate, capture::submission::DecodeError, capture::submission::RawSubmission,
    capture::submission::SubmissionRules,
};
use domain::{capture::track::track, capture::track::validate_event, capture::track::TrackError};
use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use leadflow_aws::metrics::{self, Business};
use leadflow_http::{error, field_error, json, AllowedOrigins};
use serde::Serialize;

/// This function's name in its metrics (its binary's name).
pub const FUNCTION: &str = "intake";

/// Larger bodies are refused before parsing: a real form is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub struct Intake<S, B, C> {
    pub store: S,
    pub bus: B,
    pub clock: C,
    pub rules: SubmissionRules,
    pub origins: AllowedOrigins,
    /// Per-address and per-form limits of the public routes ([`RateLimits::off`] for none).
    pub limits: RateLimits,
}

#[derive(Serialize)]
struct Accepted<'a> {
    lead_id: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<FieldError>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Json,
    Form,
}

impl<S: LeadStore + DedupStore + TouchStore + HookStore + RateCounters, B: MessageBus, C: Clock> Intake<S, B, C> {
    /// Routes a request. Signed pushes (`/v1/hooks/…`) are not rate limited: they come
    /// from a few partner servers, in batches, each authenticated before anything is
    /// stored, and a per-address limit would refuse a partner's legitimate backlog.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        metrics::invoked(FUNCTION);
        let path = req.uri().path().trim_end_matches('/');
        let mut response = match (req.method(), path) {
            (&Method::OPTIONS, _) => return self.preflight(&req),
            (&Method::POST, "/v1/leads") => self.post_lead(&req).await,
            (&Method::POST, "/v1/events") => self.post_event(&req).await,
            (&Method::POST, hook) if hook.starts_with("/v1/hooks/") => {
                self.post_hook(&hook["/v1/hooks/".len()..], &req).await
            }
            (_, hook) if hook.starts_with("/v1/hooks/") => field_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                "method",
                "use POST",
            ),
            (_, "/v1/leads" | "/v1/events") => field_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                "method",
                "use POST",
            ),
            _ => field_error(StatusCode::NOT_FOUND, "not found", "path", "no such route"),
        };
        if let Some(headers) = self.origins.cors_headers(req.headers()) {
            response.headers_mut().extend(headers);
        }
        response
    }

    fn preflight(&self, req: &Request) -> Response<Body> {
        let Some(mut headers) = self.origins.cors_headers(req.headers()) else {
            return field_error(
                StatusCode::FORBIDDEN,
                "origin not allowed",
                "origin",
                "not on the allow-list",
            );
        };
        headers.extend([
            (
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST, OPTIONS"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type"),
            ),
            (header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600")),
        ]);
        let mut response = Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Body::Empty)
            .expect("static");
        response.headers_mut().extend(headers);
        response
    }

    /// Counts the request against `scope`'s limit, from `client`'s address (which picks a
    /// shared counter's share): `Err` is the 429 to answer. A counter that cannot be
    /// counted admits the request (a lost lead costs more than a missed limit) and says so
    /// in the log.
    async fn limit(&self, scope: Scope, subject: &str, client: &str) -> Result<(), Box<Response<Body>>> {
        match admit(&self.store, &self.limits, scope, subject, client, self.clock.now()).await {
            Admission::Admitted => Ok(()),
            Admission::Unchecked(error) => {
                tracing::warn!(scope = scope.as_str(), %error, "rate counter unavailable; request admitted unchecked");
                Ok(())
            }
            Admission::Limited(limited) => {
                // One warning per counter and window (a shared form counter: one per
                // share); the rest of a flood at debug level.
                if limited.first() {
                    tracing::warn!(
                        scope = scope.as_str(),
                        subject,
                        limit = limited.limit,
                        "rate limit reached"
                    );
                } else {
                    tracing::debug!(scope = scope.as_str(), subject, count = limited.count, "rate limited");
                }
                let mut response = field_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many requests",
                    scope.field(),
                    &limited.reason(),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(limited.retry_after_secs));
                Err(Box::new(response))
            }
        }
    }

    /// Size, content type and syntax checks shared by the routes.
    fn decode(req: &Request) -> Result<(BodyKind, RawSubmission), Box<Response<Body>>> {
        let body: &[u8] = req.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return Err(Box::new(field_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
                "body",
                &format!("must be at most {MAX_BODY_BYTES} bytes"),
            )));
        }
        let Some(kind) = body_kind(req) else {
            return Err(Box::new(field_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported content type",
                "content-type",
                "must be application/json, application/x-www-form-urlencoded or text/plain (JSON)",
            )));
        };
        let charset = charset(req);
        let decoded = match kind {
            BodyKind::Json => RawSubmission::from_json_in(body, charset.as_deref()),
            BodyKind::Form => RawSubmission::from_form_in(body, charset.as_deref()),
        };
        decoded.map(|raw| (kind, raw)).map_err(|e| {
            Box::new(match e {
                DecodeError::UnknownCharset(_) => field_error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported charset",
                    "content-type",
                    &e.to_string(),
                ),
                _ => field_error(StatusCode::BAD_REQUEST, "invalid request body", "body", &e.to_string()),
            })
        })
    }

    async fn post_event(&self, req: &Request) -> Response<Body> {
        let client = client(req);
        if let Err(response) = self.limit(Scope::IpEvents, &client, &client).await {
            return *response;
        }
        let raw = match Self::decode(req) {
            Ok((_, raw)) => raw,
            Err(response) => return *response,
        };
        let now = self.clock.now();
        let event = match validate_event(&raw, &self.rules, now) {
            Ok(event) => event,
            Err(errors) => return error(StatusCode::UNPROCESSABLE_ENTITY, "validation failed", errors.0),
        };
        match track(&self.store, &self.bus, event, now).await {
            Ok(receipt) => {
                tracing::info!(event_id = %receipt.event_id, lead_id = ?receipt.lead_id, duplicate = receipt.duplicate, "event recorded");
                json(
                    StatusCode::ACCEPTED,
                    &serde_json::json!({
                        "event_id": receipt.event_id,
                        "lead_id": receipt.lead_id,
                        "status": if receipt.lead_id.is_some() { "recorded" } else { "anonymous" },
                    }),
                )
            }
            // A well-formed id that names no stored lead: the data decides, not the shape.
            Err(TrackError::UnknownLead(id)) => field_error(
                StatusCode::NOT_FOUND,
                "not found",
                "lead_id",
                &format!("no lead has id {id}"),
            ),
            Err(e) => {
                tracing::error!(error = %e, "could not record event");
                unavailable("retry with the same event_id: it is recorded once")
            }
        }
    }

    async fn post_lead(&self, req: &Request) -> Response<Body> {
        // The address first, before the body is even read: a flood of junk counts too, and
        // a refused flood spends nothing of its form's allowance.
        let client = client(req);
        if let Err(response) = self.limit(Scope::IpLeads, &client, &client).await {
            return *response;
        }
        let (kind, raw) = match Self::decode(req) {
            Ok(decoded) => decoded,
            Err(response) => return *response,
        };
        if let Err(response) = self.limit(Scope::Form, &form_key(&raw), &client).await {
            return *response;
        }
        let submission = match validate(&raw, &self.rules) {
            Ok(s) => s,
            // A person at a plain HTML form is shown a page, never JSON.
            Err(errors) if kind == BodyKind::Form => {
                return form_errors::refusal(&raw, req.headers(), &self.origins, &errors.0)
            }
            Err(errors) => return error(StatusCode::UNPROCESSABLE_ENTITY, "validation failed", errors.0),
        };
        let redirect = submission.redirect.clone();
        let mut warnings = submission.warnings.clone();
        let channel = submission.source.channel.clone();
        let receipt = match capture(&self.store, &self.bus, submission, self.clock.now()).await {
            Ok(receipt) => receipt,
            Err(e) => {
                tracing::error!(error = %e, "could not store lead");
                let mut response = field_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily unavailable, please retry",
                    "body",
                    "nothing was stored",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return response;
            }
        };
        log_receipt(&receipt, &channel);
        count_capture(&receipt);

        if let (BodyKind::Form, Some(target)) = (kind, redirect) {
            if self.origins.allows_redirect(&target) {
                return Response::builder()
                    .status(StatusCode::SEE_OTHER)
                    .header(header::LOCATION, target)
                    .body(Body::Empty)
                    .expect("location checked by url parser");
            }
            warnings.push(FieldError::new(
                "redirect",
                "origin is not on the allow-list; not redirected",
            ));
        }
        json(
            StatusCode::ACCEPTED,
            &Accepted {
                lead_id: receipt.lead_id.as_str(),
                status: "received",
                warnings,
            },
        )
    }
}

pub(crate) fn unavailable(reason: &str) -> Response<Body> {
    let mut response = field_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily unavailable, please retry",
        "body",
        reason,
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// The client's address as API Gateway saw the connection. Never `X-Forwarded-For` or
/// any other header: the sender writes those.
fn client(req: &Request) -> String {
    let source_ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.as_deref(),
        _ => None,
    };
    client_key(source_ip)
}

/// The `charset` parameter of the content type, if any.
fn charset(req: &Request) -> Option<String> {
    let content_type = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

fn body_kind(req: &Request) -> Option<BodyKind> {
    let content_type = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/json" | "text/plain" => Some(BodyKind::Json),
        "application/x-www-form-urlencoded" => Some(BodyKind::Form),
        _ => None,
    }
}

/// What a stored submission adds to the business counts: a new lead is captured, or
/// invalid from the start; a repeat of a known submission (`duplicate`) adds nothing.
pub(crate) fn count_capture(receipt: &CaptureReceipt) {
    if receipt.duplicate {
        return;
    }
    let metric = match receipt.stage {
        Stage::Invalid => Business::LeadsInvalid,
        _ => Business::LeadsCaptured,
    };
    metrics::count(metric, 1);
}

fn log_receipt(receipt: &CaptureReceipt, channel: &str) {
    match &receipt.publish_error {
        None => tracing::info!(
            lead_id = %receipt.lead_id,
            stage = receipt.stage.as_str(),
            duplicate = receipt.duplicate,
            channel,
            "lead captured"
        ),
        Some(e) => tracing::warn!(
            lead_id = %receipt.lead_id,
            error = %e,
            "lead stored but lead.captured not sent; the outbox re-driver will send it"
        ),
    }
}
