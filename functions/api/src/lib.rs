//! The authenticated API. Thin: authorise, decode, call the store/domain, answer.
//!
//! - `GET /v1/leads/{id}`: the lead, its score recomputed for now (decay) with the
//!   explanation lines, the repeats collected under it and its touchpoints.
//! - `GET /v1/config/rules`, `PUT /v1/config/rules`: scoring tables, cleaning lists and
//!   dedup policy as versioned data. A PUT carries the version it was based on; a stale
//!   one gets 409.
//! - `PUT /v1/customers/{id}`: an existing customer for ToB matching.
//!
//! Until role-based JWT arrives with assignment, every route needs the admin bearer
//! token (`API_TOKEN`).

use domain::company::core_name;
use domain::normalize;
use domain::ports::{Clock, Customer, DedupStore, LeadStore, RulesStore, Saved, TouchStore};
use domain::rules::Rules;
use domain::scoring::score;
use domain::{FieldError, LeadId};
use intake::http::{error, field_error, json};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

pub struct Api<S, C> {
    pub store: S,
    pub clock: C,
    /// Empty: every request is refused (a deployment that forgot to set it stays closed).
    pub admin_token: String,
}

/// The request body as a JSON object, or the 400 to answer.
fn json_object(req: &Request) -> Result<serde_json::Value, Box<Response<Body>>> {
    let bad = |reason: &str| {
        Box::new(field_error(
            StatusCode::BAD_REQUEST,
            "invalid request body",
            "body",
            reason,
        ))
    };
    match serde_json::from_slice::<serde_json::Value>(req.body().as_ref()) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) => Err(bad("must be a JSON object")),
        Err(e) => Err(bad(&e.to_string())),
    }
}

/// Compares without an early exit, so response time does not reveal the matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Deserialize)]
struct CustomerBody {
    name: String,
    #[serde(default)]
    contact_phones: Vec<String>,
    #[serde(default)]
    owner: Option<String>,
}

impl<S: LeadStore + DedupStore + RulesStore + TouchStore, C: Clock> Api<S, C> {
    pub async fn handle(&self, req: Request) -> Response<Body> {
        if !self.authorised(&req) {
            let mut response = field_error(
                StatusCode::UNAUTHORIZED,
                "unauthorised",
                "authorization",
                "a valid bearer token is required",
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("static"));
            return response;
        }
        let path = req.uri().path().trim_end_matches('/').to_string();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let result = match (req.method(), segments.as_slice()) {
            (&Method::GET, ["v1", "leads", id]) => self.get_lead(id).await,
            (&Method::GET, ["v1", "config", "rules"]) => self.get_rules().await,
            (&Method::PUT, ["v1", "config", "rules"]) => self.put_rules(&req).await,
            (&Method::PUT, ["v1", "customers", id]) => self.put_customer(id, &req).await,
            _ => Ok(field_error(StatusCode::NOT_FOUND, "not found", "path", "no such route")),
        };
        result.unwrap_or_else(|e| {
            tracing::error!(error = %e, "storage failed");
            field_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily unavailable, please retry",
                "body",
                "nothing was changed",
            )
        })
    }

    fn authorised(&self, req: &Request) -> bool {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        !self.admin_token.is_empty() && constant_time_eq(presented.as_bytes(), self.admin_token.as_bytes())
    }

    async fn get_lead(&self, id: &str) -> Result<Response<Body>, domain::ports::StoreError> {
        let Some(lead_id) = LeadId::parse(id) else {
            return Ok(field_error(
                StatusCode::BAD_REQUEST,
                "invalid lead id",
                "id",
                "is not a lead id",
            ));
        };
        let Some(lead) = self.store.get_lead(&lead_id).await? else {
            return Ok(field_error(
                StatusCode::NOT_FOUND,
                "not found",
                "id",
                "no lead has this id",
            ));
        };
        let rules = self.store.rules().await?;
        let now = self.clock.now();
        let live = score(&lead, &lead.events, &rules.scoring, now);
        let explanation: Vec<String> = live
            .fit_lines
            .iter()
            .chain(&live.engagement_lines)
            .map(|l| l.text())
            .collect();
        let mut repeats = Vec::new();
        for repeat_id in self.store.repeats_of(&lead_id).await? {
            if let Some(r) = self.store.get_lead(&repeat_id).await? {
                repeats.push(json!({"lead_id": r.id, "created_at": r.created_at, "channel": r.source.channel, "campaign_id": r.source.campaign_id}));
            }
        }
        let touchpoints = self.store.touchpoints(&lead_id).await?;
        Ok(json(
            StatusCode::OK,
            &json!({
                "lead": lead,
                "score": live,
                "explanation": explanation,
                "repeats": repeats,
                "touchpoints": touchpoints,
            }),
        ))
    }

    async fn get_rules(&self) -> Result<Response<Body>, domain::ports::StoreError> {
        Ok(json(StatusCode::OK, &self.store.rules().await?))
    }

    async fn put_rules(&self, req: &Request) -> Result<Response<Body>, domain::ports::StoreError> {
        let value = match json_object(req) {
            Ok(v) => v,
            Err(response) => return Ok(*response),
        };
        if !value.is_object() {
            return Ok(field_error(
                StatusCode::BAD_REQUEST,
                "invalid request body",
                "body",
                "must be a JSON object",
            ));
        }
        if !value.get("version").is_some_and(serde_json::Value::is_u64) {
            return Ok(field_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation failed",
                "version",
                "is required: the version you read (GET /v1/config/rules)",
            ));
        }
        let mut rules: Rules = match serde_json::from_value(value) {
            Ok(r) => r,
            Err(e) => {
                return Ok(field_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation failed",
                    "body",
                    &e.to_string(),
                ))
            }
        };
        if let Err(errors) = rules.validate() {
            return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, "validation failed", errors.0));
        }
        // The body carries the version it was based on; it is saved as the next one.
        let based_on = rules.version;
        rules.version = based_on + 1;
        rules.updated_at = Some(self.clock.now());
        match self.store.save_rules(&rules).await? {
            Saved::Saved => {
                tracing::info!(version = rules.version, "rules saved");
                Ok(json(StatusCode::OK, &rules))
            }
            Saved::Conflict => Ok(field_error(
                StatusCode::CONFLICT,
                "the rules changed since you read them",
                "version",
                &format!("version {based_on} is not the current version; GET the rules again and reapply your edit"),
            )),
        }
    }

    async fn put_customer(&self, id: &str, req: &Request) -> Result<Response<Body>, domain::ports::StoreError> {
        let body: CustomerBody = match json_object(req).map(serde_json::from_value) {
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
            return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, "validation failed", errors));
        }
        let customer = Customer {
            id: id.to_string(),
            name: body.name,
            company_core,
            contact_phones: phones,
            owner: body.owner,
        };
        self.store.put_customer(&customer).await?;
        Ok(json(StatusCode::OK, &customer))
    }
}
