//! The authenticated API. Thin: authenticate, authorise by role, decode, call the
//! domain, answer. Every route needs a bearer JWT ([`auth`]); roles are `rep`,
//! `manager`, `admin`, `finance`.
//!
//! | route | who |
//! |---|---|
//! | `GET /v1/leads/{id}` | the owner, managers, admins, finance |
//! | `POST /v1/leads/{id}/actions` | owner/claimer (rep), managers, admins |
//! | `GET /v1/pools/{id}/leads` | the pool's members, managers, admins |
//! | `GET /v1/reps`, `GET /v1/reps/{id}` | managers, admins (a rep: themself) |
//! | `PUT`/`DELETE /v1/reps/{id}` | admins |
//! | `GET /v1/pools`, `GET /v1/pools/{id}` | managers, admins |
//! | `PUT`/`DELETE /v1/pools/{id}` | admins |
//! | `GET /v1/config/routing`, `GET /v1/config/rules` | managers, admins |
//! | `PUT /v1/config/routing`, `PUT /v1/config/rules`, `PUT /v1/customers/{id}` | admins |
//! | `POST /v1/erasures`, `GET /v1/erasures/{id}` | admins ([`erasures`]) |
//!
//! Versioned configuration (rules, routing) is saved with the version it was based on;
//! a stale one gets 409.

pub mod analytics;
pub mod auth;
pub mod erasures;
pub mod hooks;
pub mod imports;
pub mod models;

use auth::{AuthError, Verifier};
use chrono::{DateTime, Utc};
use domain::assign::auto::load_of;
use domain::follow_up::sla::SlaConfig;
use domain::lead::mask;
use domain::lead::normalize;
use domain::qualify::company::core_name;
use domain::qualify::rules::Rules;
use domain::qualify::scoring::score;
use domain::{
    assign::actions::act, assign::actions::ActError, assign::actions::Action, assign::actions::Actor,
    assign::actions::Role,
};
use domain::{
    assign::ports::RoutingStore, attribution::ports::ConversionStore, attribution::ports::ReportStore,
    capture::ports::HookStore, follow_up::ports::SlaStore, import::ports::ImportStore, lead::ports::Clock,
    lead::ports::LeadStore, lead::ports::MessageBus, lead::ports::Saved, lead::ports::StoreError,
    lead::ports::TouchStore, predict::ports::ModelStore, privacy::ports::ErasureStore, qualify::ports::Customer,
    qualify::ports::DedupStore, qualify::ports::RulesStore,
};
use domain::{assign::routing::Pool, assign::routing::Rep, assign::routing::RoutingConfig};
use domain::{FieldError, LeadId};
use intake::http::{error, field_error, json};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use serde_json::{json, Value};

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
{
}

pub(crate) type Answer = Result<Response<Body>, StoreError>;
/// A report's `[from, to)`.
type Period = (DateTime<Utc>, DateTime<Utc>);

/// The request body as a JSON object, or the 400 to answer.
pub(crate) fn json_object(req: &Request) -> Result<Value, Box<Response<Body>>> {
    let bad = |reason: &str| {
        Box::new(field_error(
            StatusCode::BAD_REQUEST,
            "invalid request body",
            "body",
            reason,
        ))
    };
    match serde_json::from_slice::<Value>(req.body().as_ref()) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) => Err(bad("must be a JSON object")),
        Err(e) => Err(bad(&e.to_string())),
    }
}

/// Decodes a JSON object body into `T`; 422 naming the field for a shape error.
pub(crate) fn decode_body<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Box<Response<Body>>> {
    serde_json::from_value(value.clone()).map_err(|e| {
        let text = e.to_string();
        Box::new(field_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation failed",
            &offending_field(&text, &value),
            &text,
        ))
    })
}

/// The field a serde error is about: it names fields in backticks ("unknown field
/// `wieght`", "missing field `tier`"); for "unknown variant `bored`" the field is the
/// top-level key holding that value.
fn offending_field(error: &str, body: &Value) -> String {
    let quoted = error.split('`').nth(1).unwrap_or_default();
    if error.starts_with("unknown variant") {
        let holder = body
            .as_object()
            .and_then(|o| o.iter().find(|(_, v)| v.as_str() == Some(quoted)))
            .map(|(k, _)| k.clone());
        return holder.unwrap_or_else(|| "body".into());
    }
    if quoted.is_empty() {
        "body".into()
    } else {
        quoted.to_string()
    }
}

fn parse_lead_id(id: &str) -> Result<LeadId, Box<Response<Body>>> {
    LeadId::parse(id).ok_or_else(|| {
        Box::new(field_error(
            StatusCode::BAD_REQUEST,
            "invalid lead id",
            "id",
            "is not a lead id",
        ))
    })
}

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

/// Puts the path id into the body, refusing a body that names another.
pub(crate) fn with_path_id(mut value: Value, id: &str) -> Result<Value, Box<Response<Body>>> {
    match value.get("id") {
        Some(Value::String(given)) if given != id => Err(Box::new(field_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation failed",
            "id",
            "must match the id in the path (or be left out)",
        ))),
        _ => {
            value["id"] = Value::String(id.to_string());
            Ok(value)
        }
    }
}

/// A waiting lead as a pool lists it: enough to choose, contact details masked.
fn pool_entry(lead: &domain::Lead) -> Value {
    json!({
        "lead_id": lead.id,
        "stage": lead.stage.as_str(),
        "cell": lead.score.as_ref().map(|s| s.cell.clone()),
        "company": lead.company.as_ref().map(|c| c.raw.clone()),
        "province": lead.profile.province,
        "industry": lead.profile.industry,
        "channel": lead.source.channel,
        "phone": lead.contact.phone.as_deref().map(mask::phone),
        "email": lead.contact.email.as_deref().map(mask::email),
        "created_at": lead.created_at,
        "waiting_since": lead.waiting_since,
        "previous_owner": lead.previous_owner,
    })
}

#[derive(Deserialize)]
struct CustomerBody {
    name: String,
    #[serde(default)]
    contact_phones: Vec<String>,
    #[serde(default)]
    owner: Option<String>,
}

impl<S, B, C> Api<S, B, C>
where
    S: ApiStore,
    B: MessageBus,
    C: Clock,
{
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let actor = match self.verifier.actor(authorization) {
            Ok(actor) => actor,
            Err(AuthError::NoRole) => return forbidden("the token carries no role"),
            Err(e) => return unauthorised(&e),
        };
        let path = req.uri().path().trim_end_matches('/').to_string();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let access = analytics::Access::of(&actor);
        let (admin, manages, reports) = (access.admin, access.manages, access.reports());
        if let Some(answer) = self.models(&req, &segments, &actor).await {
            return answer.unwrap_or_else(|e| unavailable(&e));
        }
        if let Some(answer) = self.erasures(&req, &segments, &actor).await {
            return answer.unwrap_or_else(|e| unavailable(&e));
        }
        if let Some(answer) = self.hooks(&req, &segments, &actor).await {
            return answer.unwrap_or_else(|e| unavailable(&e));
        }
        if let Some(answer) = self.imports(&req, &segments, &actor).await {
            return answer.unwrap_or_else(|e| unavailable(&e));
        }
        if let Some(answer) = self.analytics(&req, &segments, &actor, &access).await {
            return answer.unwrap_or_else(|e| unavailable(&e));
        }
        // Integrations (and finance, for actions) never touch leads: refused before the
        // lead is looked up, so the answer does not tell whether it exists.
        let works_leads = manages || actor.has(Role::Rep);
        let reads_leads = works_leads || actor.has(Role::Finance);
        let result = match (req.method(), segments.as_slice()) {
            (&Method::GET, ["v1", "leads", id]) if reads_leads => self.get_lead(id, &actor).await,
            (&Method::POST, ["v1", "leads", id, "actions"]) if works_leads => self.lead_action(id, &req, &actor).await,
            (&Method::GET, ["v1", "pools", id, "leads"]) => self.pool_leads(id, &req, &actor).await,
            (&Method::GET, ["v1", "reps"]) if manages => self.list_reps().await,
            (&Method::GET, ["v1", "reps", id]) if manages || actor.id == *id => self.get_rep(id).await,
            (&Method::PUT, ["v1", "reps", id]) if admin => self.put_rep(id, &req).await,
            (&Method::DELETE, ["v1", "reps", id]) if admin => self.delete_rep(id).await,
            (&Method::GET, ["v1", "pools"]) if manages => self.store.pools().await.map(|p| json(StatusCode::OK, &p)),
            (&Method::GET, ["v1", "pools", id]) if manages => self.get_pool(id).await,
            (&Method::PUT, ["v1", "pools", id]) if admin => self.put_pool(id, &req).await,
            (&Method::DELETE, ["v1", "pools", id]) if admin => self.delete_pool(id).await,
            (&Method::GET, ["v1", "config", "routing"]) if manages => {
                self.store.routing().await.map(|r| json(StatusCode::OK, &r))
            }
            (&Method::PUT, ["v1", "config", "routing"]) if admin => self.put_routing(&req).await,
            (&Method::GET, ["v1", "config", "sla"]) if manages => {
                self.store.sla_config().await.map(|c| json(StatusCode::OK, &c))
            }
            (&Method::PUT, ["v1", "config", "sla"]) if admin => self.put_sla(&req).await,
            (&Method::GET, ["v1", "reports", "violations"]) if reports => self.violations_report(&req).await,
            (&Method::GET, ["v1", "reports", "recycle-rate"]) if reports => self.recycle_report(&req).await,
            (&Method::GET, ["v1", "config", "rules"]) if manages => {
                self.store.rules().await.map(|r| json(StatusCode::OK, &r))
            }
            (&Method::PUT, ["v1", "config", "rules"]) if admin => self.put_rules(&req).await,
            (&Method::PUT, ["v1", "customers", id]) if admin => self.put_customer(id, &req).await,
            (_, ["v1", "leads" | "reps" | "pools" | "config" | "customers" | "reports", ..])
                if known_route(req.method(), &segments) =>
            {
                Ok(forbidden("your role may not use this route"))
            }
            (method, segments) if models::known_route(method, segments) => {
                Ok(forbidden("managers read models, admins train and promote them"))
            }
            (method, segments) if hooks::known_route(method, segments) => {
                Ok(forbidden("managers read and admins change hook sources"))
            }
            (method, segments) if imports::known_route(method, segments) => {
                Ok(forbidden("managers and admins import leads"))
            }
            (method, segments) => {
                analytics::refused(method, segments).unwrap_or_else(|| Ok(not_found("path", "no such route")))
            }
        };
        result.unwrap_or_else(|e| unavailable(&e))
    }

    async fn get_lead(&self, id: &str, actor: &Actor) -> Answer {
        let lead_id = match parse_lead_id(id) {
            Ok(id) => id,
            Err(response) => return Ok(*response),
        };
        let Some(lead) = self.store.get_lead(&lead_id).await? else {
            return Ok(not_found("id", "no lead has this id"));
        };
        if !actor.may_read(&lead) {
            return Ok(forbidden("reps see the leads they own"));
        }
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
        let owner_changes = self.store.owner_changes(&lead_id).await?;
        let follow_ups = self.store.follow_ups(&lead_id).await?;
        Ok(json(
            StatusCode::OK,
            &json!({
                "lead": lead,
                "score": live,
                "explanation": explanation,
                "repeats": repeats,
                "touchpoints": touchpoints,
                "owner_changes": owner_changes,
                "follow_ups": follow_ups,
            }),
        ))
    }

    async fn lead_action(&self, id: &str, req: &Request, actor: &Actor) -> Answer {
        let lead_id = match parse_lead_id(id) {
            Ok(id) => id,
            Err(response) => return Ok(*response),
        };
        let action: Action = match json_object(req).and_then(decode_body) {
            Ok(action) => action,
            Err(response) => return Ok(*response),
        };
        let errors = action.validate();
        if !errors.is_empty() {
            return Ok(invalid(errors));
        }
        match act(&self.store, &self.bus, &lead_id, &action, actor, self.clock.now()).await {
            Ok(lead) => {
                tracing::info!(lead_id = %lead.id, action = action.name(), by = %actor.id, stage = lead.stage.as_str(), "lead action");
                Ok(json(StatusCode::OK, &json!({ "lead": lead })))
            }
            Err(ActError::NotFound) => Ok(not_found("id", "no lead has this id")),
            Err(ActError::Forbidden(reason)) => Ok(forbidden(&reason)),
            Err(ActError::Conflict(reason)) => Ok(field_error(StatusCode::CONFLICT, "conflict", "action", &reason)),
            Err(ActError::Invalid(e)) => Ok(invalid(vec![e])),
            Err(ActError::Contended) => Ok(field_error(
                StatusCode::CONFLICT,
                "conflict",
                "action",
                "the lead kept changing; read it again and retry",
            )),
            Err(ActError::Store(e)) => Err(e),
            Err(ActError::Bus(e)) => {
                // The change is saved; only the owner's notice is late (redelivery of
                // lead.ready or a retry re-announces it).
                tracing::warn!(error = %e, "saved, but the assignment notice was not queued");
                self.store
                    .get_lead(&lead_id)
                    .await
                    .map(|lead| json(StatusCode::OK, &json!({ "lead": lead })))
            }
        }
    }

    async fn pool_leads(&self, id: &str, req: &Request, actor: &Actor) -> Answer {
        let pool = self.store.pool(id).await?;
        let member = pool.as_ref().is_some_and(|p| p.members.contains(&actor.id));
        if !(actor.manages() || member) {
            return Ok(forbidden("only the pool's members and managers see its leads"));
        }
        let params = req.query_string_parameters();
        let limit = match params.first("limit").map(str::parse::<usize>) {
            None => 50,
            Some(Ok(n)) if (1..=200).contains(&n) => n,
            Some(_) => {
                return Ok(invalid(vec![FieldError::new(
                    "limit",
                    "must be a number from 1 to 200",
                )]));
            }
        };
        // `cursor=` (empty) is the first page: the store cannot page after an empty key.
        let after = params.first("cursor").filter(|c| !c.is_empty());
        let (ids, cursor) = self.store.waiting_in_pool(id, after, limit).await?;
        let mut leads = Vec::with_capacity(ids.len());
        for lead_id in ids {
            // The index is eventually consistent: skip a lead that was claimed meanwhile.
            if let Some(lead) = self.store.get_lead(&lead_id).await? {
                if lead.waiting_in_pool() == Some(id) {
                    leads.push(pool_entry(&lead));
                }
            }
        }
        Ok(json(
            StatusCode::OK,
            &json!({ "pool": id, "leads": leads, "next_cursor": cursor }),
        ))
    }

    async fn list_reps(&self) -> Answer {
        let day = self.store.routing().await?.business_day(self.clock.now());
        let reps: Vec<Value> = self
            .store
            .all_reps()
            .await?
            .into_iter()
            .map(|(rep, counters)| rep_view(&rep, load_of(counters, day)))
            .collect();
        Ok(json(StatusCode::OK, &reps))
    }

    async fn get_rep(&self, id: &str) -> Answer {
        let day = self.store.routing().await?.business_day(self.clock.now());
        Ok(match self.store.rep(id).await? {
            Some((rep, counters)) => json(StatusCode::OK, &rep_view(&rep, load_of(counters, day))),
            None => not_found("id", "no rep has this id"),
        })
    }

    async fn put_rep(&self, id: &str, req: &Request) -> Answer {
        let rep: Rep = match json_object(req).and_then(|v| with_path_id(v, id)).and_then(decode_body) {
            Ok(rep) => rep,
            Err(response) => return Ok(*response),
        };
        let errors = rep.validate();
        if !errors.is_empty() {
            return Ok(invalid(errors));
        }
        self.store.put_rep(&rep).await?;
        tracing::info!(rep = %rep.id, "rep saved");
        self.get_rep(id).await
    }

    async fn delete_rep(&self, id: &str) -> Answer {
        Ok(match self.store.delete_rep(id).await? {
            None => not_found("id", "no rep has this id"),
            Some(Saved::Conflict) => field_error(
                StatusCode::CONFLICT,
                "conflict",
                "id",
                "the rep still holds leads: transfer them or set `active: false`",
            ),
            Some(Saved::Saved) => Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Body::Empty)
                .expect("static response parts are valid"),
        })
    }

    async fn get_pool(&self, id: &str) -> Answer {
        Ok(match self.store.pool(id).await? {
            Some(pool) => json(StatusCode::OK, &pool),
            None => not_found("id", "no pool has this id"),
        })
    }

    async fn put_pool(&self, id: &str, req: &Request) -> Answer {
        let pool: Pool = match json_object(req).and_then(|v| with_path_id(v, id)).and_then(decode_body) {
            Ok(pool) => pool,
            Err(response) => return Ok(*response),
        };
        let mut errors = pool.validate();
        let known: Vec<String> = self
            .store
            .reps(&pool.members)
            .await?
            .into_iter()
            .map(|(rep, _)| rep.id)
            .collect();
        for (i, member) in pool.members.iter().enumerate() {
            if !known.contains(member) {
                errors.push(FieldError::new(format!("members[{i}]"), "no rep has this id"));
            }
        }
        if !errors.is_empty() {
            return Ok(invalid(errors));
        }
        self.store.put_pool(&pool).await?;
        tracing::info!(pool = %pool.id, members = pool.members.len(), "pool saved");
        Ok(json(StatusCode::OK, &pool))
    }

    async fn delete_pool(&self, id: &str) -> Answer {
        let routing = self.store.routing().await?;
        if routing.default_pool == id || routing.rules.iter().any(|r| r.pool == id) {
            return Ok(field_error(
                StatusCode::CONFLICT,
                "conflict",
                "id",
                "routing rules send leads to this pool: change them first",
            ));
        }
        Ok(if self.store.delete_pool(id).await? {
            Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Body::Empty)
                .expect("static response parts are valid")
        } else {
            not_found("id", "no pool has this id")
        })
    }

    async fn put_sla(&self, req: &Request) -> Answer {
        const ROUTE: &str = "/v1/config/sla";
        let (config, based_on) = match self.versioned_document(req, ROUTE, SlaConfig::validate) {
            Ok(found) => found,
            Err(response) => return Ok(*response),
        };
        let saved = self.store.save_sla_config(&config).await?;
        Ok(saved_answer(saved, &config, based_on, ROUTE))
    }

    /// A versioned configuration PUT, decoded, checked by `validate` and stamped: the
    /// document to save as the next version, and the version it was based on; or the
    /// answer to give (400, 422).
    pub(crate) fn versioned_document<T: Versioned>(
        &self,
        req: &Request,
        route: &str,
        validate: impl FnOnce(&T) -> Vec<FieldError>,
    ) -> Result<(T, u64), Box<Response<Body>>> {
        let mut document: T = decode_body(versioned_body(req, route)?)?;
        let errors = validate(&document);
        if !errors.is_empty() {
            return Err(Box::new(invalid(errors)));
        }
        let based_on = document.version();
        document.stamp(based_on + 1, self.clock.now());
        Ok((document, based_on))
    }

    /// `from`/`to` (RFC 3339 or YYYY-MM-DD; default the last 30 days).
    pub(crate) fn period(&self, req: &Request) -> Result<Period, Box<Response<Body>>> {
        let params = req.query_string_parameters();
        let parse = |name: &str, default: DateTime<Utc>| -> Result<DateTime<Utc>, Box<Response<Body>>> {
            match params.first(name) {
                None => Ok(default),
                Some(text) => text
                    .parse::<DateTime<Utc>>()
                    .ok()
                    .or_else(|| {
                        text.parse::<chrono::NaiveDate>()
                            .ok()
                            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                    })
                    .ok_or_else(|| {
                        Box::new(invalid(vec![FieldError::new(
                            name,
                            "must be a date (YYYY-MM-DD) or RFC 3339 time",
                        )]))
                    }),
            }
        };
        let now = self.clock.now();
        let to = parse("to", now)?;
        let from = parse("from", to - chrono::Duration::days(30))?;
        if from >= to {
            return Err(Box::new(invalid(vec![FieldError::new("from", "must be before `to`")])));
        }
        if to - from > chrono::Duration::days(366) {
            return Err(Box::new(invalid(vec![FieldError::new(
                "from",
                "the period may span at most a year",
            )])));
        }
        Ok((from, to))
    }

    async fn violations_report(&self, req: &Request) -> Answer {
        let (from, to) = match self.period(req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let group_by = req
            .query_string_parameters()
            .first("group_by")
            .unwrap_or("rep")
            .to_string();
        if !matches!(group_by.as_str(), "rep" | "department" | "clock" | "pool") {
            return Ok(invalid(vec![FieldError::new(
                "group_by",
                "must be rep, department, clock or pool",
            )]));
        }
        let violations = self.store.violations(from, to).await?;
        let key = |v: &domain::follow_up::ports::Violation| -> String {
            match group_by.as_str() {
                "department" => v.owner_department.clone().unwrap_or_else(|| "-".into()),
                "clock" => v.clock.clone(),
                "pool" => v.pool.clone().unwrap_or_else(|| "-".into()),
                _ => v.owner.clone(),
            }
        };
        let mut groups: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
        for v in &violations {
            *groups.entry(key(v)).or_default() += 1;
        }
        let groups: Vec<Value> = groups
            .into_iter()
            .map(|(k, n)| json!({"key": k, "violations": n}))
            .collect();
        Ok(json(
            StatusCode::OK,
            &json!({"from": from, "to": to, "group_by": group_by, "total": violations.len(), "groups": groups, "violations": violations}),
        ))
    }

    async fn recycle_report(&self, req: &Request) -> Answer {
        let (from, to) = match self.period(req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let numbers = self.store.pool_numbers(from.date_naive(), to.date_naive()).await?;
        let pools: Vec<Value> = numbers
            .into_iter()
            .map(|(pool, n)| {
                let rate = if n.handed_out == 0 { 0.0 } else { n.recycled as f64 / n.handed_out as f64 };
                // DOMAIN.md §4: above 15 % the rules are too loose, below 5 % too strict.
                let health = if n.handed_out == 0 {
                    "no_data"
                } else if rate > 0.15 {
                    "too_loose"
                } else if rate < 0.05 {
                    "too_strict"
                } else {
                    "healthy"
                };
                json!({"pool": pool, "handed_out": n.handed_out, "recycled": n.recycled, "recycle_rate": rate, "health": health})
            })
            .collect();
        Ok(json(
            StatusCode::OK,
            &json!({"from": from, "to": to, "band": [0.05, 0.15], "pools": pools}),
        ))
    }

    async fn put_routing(&self, req: &Request) -> Answer {
        const ROUTE: &str = "/v1/config/routing";
        let pools: Vec<String> = self.store.pools().await?.into_iter().map(|p| p.id).collect();
        let (config, based_on) = match self.versioned_document(req, ROUTE, |c: &RoutingConfig| c.validate(&pools)) {
            Ok(found) => found,
            Err(response) => return Ok(*response),
        };
        let saved = self.store.save_routing(&config).await?;
        Ok(saved_answer(saved, &config, based_on, ROUTE))
    }

    async fn put_rules(&self, req: &Request) -> Answer {
        let value = match versioned_body(req, "/v1/config/rules") {
            Ok(v) => v,
            Err(response) => return Ok(*response),
        };
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
            Saved::Conflict => Ok(stale_version(based_on.into(), "/v1/config/rules")),
        }
    }

    async fn put_customer(&self, id: &str, req: &Request) -> Answer {
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

/// The body of a versioned configuration PUT: a JSON object carrying the `version` it
/// was based on (read from `GET route`).
pub(crate) fn versioned_body(req: &Request, route: &str) -> Result<Value, Box<Response<Body>>> {
    let value = json_object(req)?;
    if !value.get("version").is_some_and(Value::is_u64) {
        return Err(Box::new(field_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation failed",
            "version",
            &format!("is required: the version you read (GET {route})"),
        )));
    }
    Ok(value)
}

/// A configuration document saved with optimistic versioning (routing, SLA policies,
/// attribution models): a PUT names the version it read and is saved as the next one.
pub(crate) trait Versioned: serde::de::DeserializeOwned + serde::Serialize {
    fn version(&self) -> u64;
    fn stamp(&mut self, version: u64, at: DateTime<Utc>);
}

macro_rules! versioned {
    ($($t:ty),*) => {$(
        impl Versioned for $t {
            fn version(&self) -> u64 {
                self.version
            }
            fn stamp(&mut self, version: u64, at: DateTime<Utc>) {
                self.version = version;
                self.updated_at = Some(at);
            }
        }
    )*};
}
versioned!(RoutingConfig, SlaConfig, domain::attribution::credit::AttributionConfig);

/// 200 with the saved document, or 409 when someone saved another version in between.
pub(crate) fn saved_answer<T: Versioned>(saved: Saved, document: &T, based_on: u64, route: &str) -> Response<Body> {
    match saved {
        Saved::Saved => {
            tracing::info!(version = document.version(), route, "configuration saved");
            json(StatusCode::OK, document)
        }
        Saved::Conflict => stale_version(based_on, route),
    }
}

fn stale_version(based_on: u64, route: &str) -> Response<Body> {
    field_error(
        StatusCode::CONFLICT,
        "the configuration changed since you read it",
        "version",
        &format!("version {based_on} is not the current version; GET {route} again and reapply your edit"),
    )
}

fn rep_view(rep: &Rep, load: domain::assign::routing::RepLoad) -> Value {
    let mut view = serde_json::to_value(rep).expect("a rep serialises");
    view["holding"] = json!({
        "active_leads": load.active_leads,
        "holding_cap": rep.holding_cap(),
        "received_today": load.assigned_today,
        "daily_cap": rep.daily_cap,
    });
    view
}

/// Whether `method` + `segments` is a route that exists (for some role): such requests
/// get 403, not 404.
fn known_route(method: &Method, segments: &[&str]) -> bool {
    matches!(
        (method, segments),
        (
            &Method::GET | &Method::PUT | &Method::DELETE,
            ["v1", "reps" | "pools", _]
        ) | (&Method::GET, ["v1", "reps" | "pools"])
            | (&Method::GET, ["v1", "leads", _])
            | (&Method::POST, ["v1", "leads", _, "actions"])
            | (
                &Method::GET | &Method::PUT,
                ["v1", "config", "routing" | "rules" | "sla"]
            )
            | (&Method::GET, ["v1", "reports", "violations" | "recycle-rate"])
            | (&Method::PUT, ["v1", "customers", _])
    )
}
