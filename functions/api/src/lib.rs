//! The authenticated API. Thin: authenticate, authorise by role, decode, call the
//! domain, answer. Every route needs a bearer JWT ([`auth`]); staff roles are `rep`,
//! `manager`, `admin`, `finance`, `marketing`; machine clients are `integration` (reports
//! conversions) or `exporter` (pulls the ROI export).
//!
//! Which routes exist and who may call each is [`routes`]' table, the only place a
//! route is declared in Rust; each resource's handlers live in their own module.
//!
//! Versioned configuration (rules, routing, SLA policies, attribution) is saved with
//! the version it was based on; a stale one gets 409 ([`versioned`]). Every version of
//! every versioned configuration stays readable and can be rolled back to ([`history`]).

pub mod auth;
pub mod routes;
pub mod versioned;

mod attribution;
mod campaigns;
mod conversions;
mod customers;
mod erasures;
mod history;
mod hooks;
mod imports;
mod jobs;
mod lead_list;
mod leads;
mod models;
mod pools;
mod preview;
mod reports;
mod reps;
mod routing;
mod rules;
mod sla;
mod webhooks;

use auth::{AuthError, Verifier};
use domain::handoff::ports::HandoffStore;
use domain::lead::messages::Topic;
use domain::FieldError;
use domain::{
    assign::ports::RoutingStore, attribution::ports::ConversionStore, attribution::ports::ReportStore,
    capture::ports::HookStore, follow_up::ports::SlaStore, import::ports::ImportStore, lead::ports::Clock,
    lead::ports::ConfigHistory, lead::ports::LeadStore, lead::ports::MessageBus, lead::ports::StoreError,
    lead::ports::TouchStore, predict::ports::ModelStore, privacy::ports::ErasureStore, qualify::ports::DedupStore,
    qualify::ports::RulesStore, roster::ports::JobStore, workspace::ports::LeadIndex,
};
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};
use leadflow_aws::metrics;
use leadflow_http::{error, field_error};
use serde_json::Value;

/// The longest path segment looked up (percent-encoded, as it arrives): the longest sort
/// key DynamoDB takes. Ids of up to 128 ASCII characters, the spec's, fit with room.
const MAX_SEGMENT_BYTES: usize = 1024;

/// This function's name in its metrics (its binary's name).
pub const FUNCTION: &str = "api";

/// The queues the api sends to, each with the environment variable holding its URL:
/// `main` wires exactly these, and the tests wire the same list.
pub const QUEUES: [(Topic, &str); 5] = [
    // A restored invalid lead starts over: lead.captured, as intake sends it.
    (Topic::Capture, "CAPTURE_QUEUE_URL"),
    (Topic::Ready, "READY_QUEUE_URL"),
    (Topic::Conversions, "CONVERSIONS_QUEUE_URL"),
    (Topic::Import, "IMPORT_QUEUE_URL"),
    (Topic::Models, "MODEL_QUEUE_URL"),
];

pub struct Api<S, B, C> {
    pub store: S,
    pub bus: B,
    pub clock: C,
    pub verifier: Verifier,
}

/// Everything the API reads and writes.
pub trait ApiStore:
    LeadStore
    + DedupStore
    + RulesStore
    + TouchStore
    + RoutingStore
    + SlaStore
    + ConversionStore
    + ReportStore
    + ImportStore
    + HookStore
    + ModelStore
    + ErasureStore
    + LeadIndex
    + ConfigHistory
    + JobStore
    + HandoffStore
{
}
impl<T> ApiStore for T where
    T: LeadStore
        + DedupStore
        + RulesStore
        + TouchStore
        + RoutingStore
        + SlaStore
        + ConversionStore
        + ReportStore
        + ImportStore
        + HookStore
        + ModelStore
        + ErasureStore
        + LeadIndex
        + ConfigHistory
        + JobStore
        + HandoffStore
{
}

pub(crate) type Answer = Result<Response<Body>, StoreError>;

fn unavailable(e: &StoreError) -> Response<Body> {
    tracing::error!(error = %e, "storage failed");
    field_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily unavailable, please retry",
        "body",
        "nothing was changed",
    )
}

pub(crate) fn forbidden(reason: &str) -> Response<Body> {
    field_error(StatusCode::FORBIDDEN, "forbidden", "authorization", reason)
}

pub(crate) fn not_found(field: &str, reason: &str) -> Response<Body> {
    field_error(StatusCode::NOT_FOUND, "not found", field, reason)
}

pub(crate) fn invalid(errors: Vec<FieldError>) -> Response<Body> {
    error(StatusCode::UNPROCESSABLE_ENTITY, "validation failed", errors)
}

/// `?dry_run=true|false` (absent: false): check and answer without saving.
pub(crate) fn dry_run(req: &Request) -> Result<bool, FieldError> {
    use lambda_http::RequestExt;
    match req.query_string_parameters().first("dry_run") {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(FieldError::new("dry_run", "must be true or false")),
    }
}

fn unauthorised(e: &AuthError) -> Response<Body> {
    let mut response = field_error(
        StatusCode::UNAUTHORIZED,
        "unauthorised",
        "authorization",
        &e.to_string(),
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("static"));
    response
}

/// Puts the path id into the body, refusing a body that names another: a 409 naming `id`,
/// because the body's `id` is well-formed on its own and conflicts only with the path.
pub(crate) fn with_path_id(mut value: Value, id: &str) -> Result<Value, Box<Response<Body>>> {
    match value.get("id") {
        Some(Value::String(given)) if given != id => Err(Box::new(field_error(
            StatusCode::CONFLICT,
            "the body names another id than the path",
            "id",
            "must match the id in the path (or be left out)",
        ))),
        _ => {
            value["id"] = Value::String(id.to_string());
            Ok(value)
        }
    }
}

impl<S, B, C> Api<S, B, C>
where
    S: ApiStore + 'static,
    B: MessageBus + 'static,
    C: Clock + 'static,
{
    /// Authenticates the caller, then answers from the route table ([`routes`]). The
    /// ports are `'static` because the table is a constant of handlers over them.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        metrics::invoked(FUNCTION);
        let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let actor = match self.verifier.actor(authorization) {
            Ok(actor) => actor,
            Err(AuthError::NoRole) => return forbidden("the token carries no role"),
            Err(e) => return unauthorised(&e),
        };
        let path = req.uri().path().trim_end_matches('/').to_string();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        // No id is this long (the spec's ids are at most 128 characters), and no store
        // key may be: answer before a store refuses it.
        if segments.iter().any(|s| s.len() > MAX_SEGMENT_BYTES) {
            return not_found("path", "a path segment is longer than any id");
        }
        match self.dispatch(&req, &actor, &segments).await {
            Some(answer) => answer.unwrap_or_else(|e| unavailable(&e)),
            None => not_found("path", "no such route"),
        }
    }
}
