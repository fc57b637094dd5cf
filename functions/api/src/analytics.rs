//! Attribution, ROI and funnel routes: conversions in, campaigns and costs in, reports
//! and finance exports out. Reports read rollup rows only (see `domain::attribution::reports`).
//!
//! | route | who |
//! |---|---|
//! | `POST /v1/conversions`, `GET /v1/conversions/{id}` | managers, admins, finance, integrations |
//! | `DELETE /v1/conversions/{id}` (cancel) | managers, admins, finance |
//! | `GET /v1/campaigns`, `GET /v1/campaigns/{id}` | managers, admins, finance |
//! | `PUT /v1/campaigns/{id}` | managers, admins |
//! | `PUT /v1/campaigns/{id}/costs/{day}`, `POST /v1/costs` (CSV) | managers, admins, finance |
//! | `GET /v1/config/attribution` | managers, admins, finance |
//! | `PUT /v1/config/attribution` | admins |
//! | `GET /v1/exports/roi`, `GET /v1/reports/funnel`, `GET /v1/reports/invalid-reasons` | managers, admins, finance |
//! | `GET /v1/reports/owners` | managers, admins |

use crate::{
    decode_body, forbidden, invalid, json_object, not_found, saved_answer, with_path_id, Answer, Api, ApiStore,
};
use chrono::{Duration, NaiveDate};
use domain::lead::normalize::Region;
use domain::FieldError;
use domain::{assign::actions::Actor, assign::actions::Role};
use domain::{
    attribution::campaign::parse_cost_body, attribution::campaign::parse_cost_csv, attribution::campaign::parse_day,
    attribution::campaign::valid_campaign_id, attribution::campaign::Campaign, attribution::campaign::CostDay,
};
use domain::{attribution::conversion::cancel, attribution::conversion::parse_request};
use domain::{
    attribution::credit::publish, attribution::credit::record, attribution::credit::AttributionConfig,
    attribution::credit::RecordError, attribution::credit::Recorded,
};
use domain::{
    attribution::reports, attribution::reports::GroupBy, attribution::reports::Handling, attribution::reports::Period,
};
use domain::{lead::funnel::report_day, lead::funnel::FUNNEL};
use domain::{lead::ports::Clock, lead::ports::MessageBus, lead::ports::Saved, lead::ports::StoreError};
use intake::http::{error, field_error, json};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Reports and exports span at most this many days.
const MAX_REPORT_DAYS: i64 = 400;

/// Who may do what here.
pub(crate) struct Access {
    pub manages: bool,
    pub admin: bool,
    pub finance: bool,
    pub integration: bool,
}

impl Access {
    pub fn of(actor: &Actor) -> Self {
        Self {
            manages: actor.manages(),
            admin: actor.has(Role::Admin),
            finance: actor.has(Role::Finance),
            integration: actor.has(Role::Integration),
        }
    }
    pub fn reports(&self) -> bool {
        self.manages || self.finance
    }
}

/// Routes of this module that exist for some role (others get 403, not 404).
pub(crate) fn known_route(method: &Method, segments: &[&str]) -> bool {
    matches!(
        (method, segments),
        (&Method::POST, ["v1", "conversions" | "costs"])
            | (&Method::GET | &Method::DELETE, ["v1", "conversions", _])
            | (&Method::GET, ["v1", "campaigns"])
            | (&Method::GET | &Method::PUT, ["v1", "campaigns", _])
            | (&Method::PUT, ["v1", "campaigns", _, "costs", _])
            | (&Method::GET | &Method::PUT, ["v1", "config", "attribution"])
            | (&Method::GET, ["v1", "exports", "roi"])
            | (&Method::GET, ["v1", "reports", "funnel" | "owners" | "invalid-reasons"])
    )
}

fn status_of(outcome: &Recorded) -> (StatusCode, &'static str) {
    match outcome {
        Recorded::Created(_) => (StatusCode::CREATED, "created"),
        Recorded::Revised(_) => (StatusCode::OK, "revised"),
        Recorded::Unchanged(_) => (StatusCode::OK, "unchanged"),
    }
}

/// Inclusive report days `from`..`to` (YYYY-MM-DD; default the 30 days up to today).
fn days(req: &Request, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), Box<Response<Body>>> {
    let params = req.query_string_parameters();
    let parse = |name: &str, default: NaiveDate| match params.first(name) {
        None => Ok(default),
        Some(text) => {
            parse_day(text).ok_or_else(|| Box::new(invalid(vec![FieldError::new(name, "must be a date (YYYY-MM-DD)")])))
        }
    };
    let to = parse("to", today)?;
    let from = parse("from", to - Duration::days(29))?;
    if from > to {
        return Err(Box::new(invalid(vec![FieldError::new(
            "from",
            "must not be after `to`",
        )])));
    }
    if (to - from).num_days() >= MAX_REPORT_DAYS {
        return Err(Box::new(invalid(vec![FieldError::new(
            "from",
            format!("a report spans at most {MAX_REPORT_DAYS} days"),
        )])));
    }
    Ok((from, to))
}

fn group_by(req: &Request, default: GroupBy) -> Result<GroupBy, Box<Response<Body>>> {
    match req.query_string_parameters().first("group_by") {
        None => Ok(default),
        Some(text) => GroupBy::parse(text).ok_or_else(|| {
            Box::new(invalid(vec![FieldError::new(
                "group_by",
                "must be channel, campaign or keyword",
            )]))
        }),
    }
}

fn csv_response(filename: &str, text: String, items_read: usize) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        )
        .header("x-items-read", items_read.to_string())
        .body(Body::Text(text))
        .expect("static response parts are valid")
}

impl<S, B, C> Api<S, B, C>
where
    S: ApiStore,
    B: MessageBus,
    C: Clock,
{
    /// `None`: not a route of this module (or not for this caller's role).
    pub(crate) async fn analytics(
        &self,
        req: &Request,
        segments: &[&str],
        actor: &Actor,
        access: &Access,
    ) -> Option<Answer> {
        let reports = access.reports();
        let reporters = reports || access.integration;
        Some(match (req.method(), segments) {
            (&Method::POST, ["v1", "conversions"]) if reporters => self.post_conversion(req, actor).await,
            (&Method::GET, ["v1", "conversions", id]) if reporters => self.get_conversion(id).await,
            (&Method::DELETE, ["v1", "conversions", id]) if reports => self.cancel_conversion(id, actor).await,
            (&Method::GET, ["v1", "campaigns"]) if reports => {
                self.store.campaigns().await.map(|c| json(StatusCode::OK, &c))
            }
            (&Method::GET, ["v1", "campaigns", id]) if reports => match self.store.campaign(id).await {
                Ok(Some(c)) => Ok(json(StatusCode::OK, &c)),
                Ok(None) => Ok(not_found("id", "no campaign has this id")),
                Err(e) => Err(e),
            },
            (&Method::PUT, ["v1", "campaigns", id]) if access.manages => self.put_campaign(id, req).await,
            (&Method::PUT, ["v1", "campaigns", id, "costs", day]) if reports => self.put_costs(id, day, req).await,
            (&Method::POST, ["v1", "costs"]) if reports => self.upload_costs(req).await,
            (&Method::GET, ["v1", "config", "attribution"]) if reports => {
                self.store.attribution_config().await.map(|c| json(StatusCode::OK, &c))
            }
            (&Method::PUT, ["v1", "config", "attribution"]) if access.admin => self.put_attribution(req).await,
            (&Method::GET, ["v1", "exports", "roi"]) if reports => self.roi_export(req).await,
            (&Method::GET, ["v1", "reports", "funnel"]) if reports => self.funnel_report(req).await,
            (&Method::GET, ["v1", "reports", "invalid-reasons"]) if reports => self.invalid_reasons(req).await,
            (&Method::GET, ["v1", "reports", "owners"]) if access.manages => self.owners_report(req).await,
            _ => return None,
        })
    }

    async fn post_conversion(&self, req: &Request, actor: &Actor) -> Answer {
        let now = self.clock.now();
        let config = self.store.attribution_config().await?;
        let request = match parse_request(req.body().as_ref(), &config.currency, Region::CN, now) {
            Ok(r) => r,
            Err(errors) => return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, "validation failed", errors.0)),
        };
        Ok(match record(&self.store, &self.bus, &request, &actor.id, now).await {
            Ok(outcome) => {
                let (status, what) = status_of(&outcome);
                let c = outcome.conversion();
                tracing::info!(external_id = %c.external_id, revision = c.revision, outcome = what, "conversion recorded");
                json(status, &json!({"status": what, "conversion": c}))
            }
            Err(RecordError::NoLead { field }) => field_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation failed",
                field,
                "no lead matches; conversions are credited to a lead's marketing touches",
            ),
            Err(RecordError::Conflict) => field_error(
                StatusCode::CONFLICT,
                "the conversion changed while this request was handled",
                "external_id",
                "send it again",
            ),
            Err(RecordError::Store(e)) => return Err(e),
            Err(RecordError::Bus(e)) => {
                tracing::error!(error = %e, "conversion stored, message not sent");
                field_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "recorded but not yet queued for attribution",
                    "body",
                    "send the same request again (it is safe: conversions are idempotent on external_id)",
                )
            }
        })
    }

    async fn get_conversion(&self, id: &str) -> Answer {
        let Some(state) = self.store.conversion(id).await? else {
            return Ok(not_found("id", "no conversion has this external id"));
        };
        let mut revisions = Vec::new();
        for revision in 1..=state.current.revision {
            revisions.extend(self.store.conversion_revision(id, revision).await?);
        }
        Ok(json(
            StatusCode::OK,
            &json!({
                "conversion": state.current,
                "applied_revision": state.applied,
                "settled": state.applied == state.current.revision,
                "revisions": revisions,
            }),
        ))
    }

    async fn cancel_conversion(&self, id: &str, actor: &Actor) -> Answer {
        let now = self.clock.now();
        let Some(state) = self.store.conversion(id).await? else {
            return Ok(not_found("id", "no conversion has this external id"));
        };
        let current = match cancel(&state.current, &actor.id, now) {
            None => state.current,
            Some(next) => {
                if self.store.record_conversion(&next).await? == Saved::Conflict {
                    return Ok(field_error(
                        StatusCode::CONFLICT,
                        "the conversion changed",
                        "id",
                        "try again",
                    ));
                }
                next
            }
        };
        if let Err(e) = publish(&self.bus, &current, now).await {
            tracing::error!(error = %e, "cancellation stored, message not sent");
            return Ok(field_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "cancelled but not yet queued for attribution",
                "id",
                "send the same request again",
            ));
        }
        Ok(json(
            StatusCode::OK,
            &json!({"status": "cancelled", "conversion": current}),
        ))
    }

    async fn put_campaign(&self, id: &str, req: &Request) -> Answer {
        let value = match json_object(req).and_then(|v| with_path_id(v, id)) {
            Ok(v) => v,
            Err(response) => return Ok(*response),
        };
        let mut campaign: Campaign = match decode_body(value) {
            Ok(c) => c,
            Err(response) => return Ok(*response),
        };
        let errors = campaign.validate();
        if !errors.is_empty() {
            return Ok(invalid(errors));
        }
        campaign.updated_at = Some(self.clock.now());
        self.store.put_campaign(&campaign).await?;
        Ok(json(StatusCode::OK, &campaign))
    }

    async fn put_costs(&self, id: &str, day: &str, req: &Request) -> Answer {
        let mut errors = Vec::new();
        let day = parse_day(day);
        if day.is_none() {
            errors.push(FieldError::new("day", "must be a date (YYYY-MM-DD)"));
        }
        if !valid_campaign_id(id) || self.store.campaign(id).await?.is_none() {
            errors.push(FieldError::new(
                "id",
                "no campaign has this id (PUT /v1/campaigns/{id} first)",
            ));
        }
        let value = match json_object(req) {
            Ok(v) => v,
            Err(response) => return Ok(*response),
        };
        let lines = parse_cost_body(&value).unwrap_or_else(|e| {
            errors.extend(e);
            Vec::new()
        });
        let (Some(day), true) = (day, errors.is_empty()) else {
            return Ok(invalid(errors));
        };
        let cost = CostDay {
            campaign_id: id.to_string(),
            day,
            lines,
            updated_at: Some(self.clock.now()),
        };
        self.store.put_cost_day(&cost).await?;
        Ok(json(StatusCode::OK, &cost))
    }

    async fn upload_costs(&self, req: &Request) -> Answer {
        let Ok(text) = std::str::from_utf8(req.body().as_ref()) else {
            return Ok(field_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation failed",
                "body",
                "the sheet is not UTF-8 text: in Excel save it as \"CSV UTF-8\"",
            ));
        };
        let known: Vec<String> = self.store.campaigns().await?.into_iter().map(|c| c.id).collect();
        let sheet = parse_cost_csv(text, |id| known.iter().any(|k| k == id));
        let now = self.clock.now();
        for day in &sheet.days {
            let day = CostDay {
                updated_at: Some(now),
                ..day.clone()
            };
            self.store.put_cost_day(&day).await?;
        }
        let status = match (sheet.errors.is_empty(), sheet.days.is_empty()) {
            (true, _) => StatusCode::OK,
            (false, false) => StatusCode::MULTI_STATUS,
            (false, true) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let rejected: Vec<Value> = sheet
            .rejected_days
            .iter()
            .map(|(campaign, day)| json!({"campaign_id": campaign, "day": day}))
            .collect();
        Ok(json(
            status,
            &json!({
                "replaced_days": sheet.days.len(),
                "rejected_days": rejected,
                "errors": sheet.errors,
            }),
        ))
    }

    async fn put_attribution(&self, req: &Request) -> Answer {
        const ROUTE: &str = "/v1/config/attribution";
        let (config, based_on) = match self.versioned_document(req, ROUTE, AttributionConfig::validate) {
            Ok(found) => found,
            Err(response) => return Ok(*response),
        };
        let saved = self.store.save_attribution_config(&config).await?;
        Ok(saved_answer(saved, &config, based_on, ROUTE))
    }

    async fn roi_export(&self, req: &Request) -> Answer {
        let (from, to) = match days(req, report_day(self.clock.now())) {
            Ok(d) => d,
            Err(response) => return Ok(*response),
        };
        let by = match group_by(req, GroupBy::Campaign) {
            Ok(g) => g,
            Err(response) => return Ok(*response),
        };
        let params = req.query_string_parameters();
        let config = self.store.attribution_config().await?;
        let model = params.first("model").unwrap_or("u_shaped").to_string();
        if !config.models.contains_key(&model) {
            let names: Vec<&str> = config.models.keys().map(String::as_str).collect();
            return Ok(invalid(vec![FieldError::new(
                "model",
                format!("must be one of {}", names.join(", ")),
            )]));
        }
        let csv = match params.first("format").unwrap_or("json") {
            "csv" => true,
            "json" => false,
            _ => return Ok(invalid(vec![FieldError::new("format", "must be csv or json")])),
        };
        let credited = self.store.rollups(&model, from, to).await?;
        let funnel = self.store.rollups(FUNNEL, from, to).await?;
        let costs = self.store.costs(from, to).await?;
        let campaigns = self.store.campaigns().await?;
        let items_read = credited.items_read + funnel.items_read + costs.len() + campaigns.len();
        let rows = reports::roi_rows(by, &credited.rows, &funnel.rows, &costs, &campaigns);
        tracing::info!(%model, %from, %to, rows = rows.len(), items_read, "ROI export");
        if csv {
            let filename = format!("roi-{model}-{from}-{to}.csv");
            return Ok(csv_response(&filename, reports::roi_csv(&rows), items_read));
        }
        let body: Vec<Value> = rows.iter().map(reports::RoiRow::to_json).collect();
        Ok(json(
            StatusCode::OK,
            &json!({
                "from": from, "to": to, "model": model, "group_by": by,
                "currency": config.currency,
                "rows": body,
                "total": reports::total(&rows).to_json(),
                "items_read": items_read,
            }),
        ))
    }

    async fn funnel_report(&self, req: &Request) -> Answer {
        let (from, to) = match days(req, report_day(self.clock.now())) {
            Ok(d) => d,
            Err(response) => return Ok(*response),
        };
        let by = match group_by(req, GroupBy::Channel) {
            Ok(g) => g,
            Err(response) => return Ok(*response),
        };
        let period = match req.query_string_parameters().first("period") {
            None => Period::Month,
            Some(text) => match Period::parse(text) {
                Some(p) => p,
                None => {
                    return Ok(invalid(vec![FieldError::new(
                        "period",
                        "must be day, week, month, quarter or year",
                    )]))
                }
            },
        };
        let funnel = self.store.rollups(FUNNEL, from, to).await?;
        let campaigns = self.store.campaigns().await?;
        let rows: Vec<Value> = reports::funnel_rows(by, period, &funnel.rows, &campaigns)
            .iter()
            .map(reports::FunnelRow::to_json)
            .collect();
        Ok(json(
            StatusCode::OK,
            &json!({
                "from": from, "to": to, "group_by": by, "period": period,
                "rows": rows, "items_read": funnel.items_read,
                "reference": {"lead_to_mql": "0.4200", "mql_to_sql": "0.7500", "sql_to_order": "0.0700", "lead_to_order": "0.0246"},
            }),
        ))
    }

    async fn invalid_reasons(&self, req: &Request) -> Answer {
        let (from, to) = match days(req, report_day(self.clock.now())) {
            Ok(d) => d,
            Err(response) => return Ok(*response),
        };
        let length = to - from + Duration::days(1);
        let (previous_from, previous_to) = (from - length, from - Duration::days(1));
        let current = self.store.rollups(FUNNEL, from, to).await?;
        let previous = self.store.rollups(FUNNEL, previous_from, previous_to).await?;
        let campaigns = self.store.campaigns().await?;
        let rows = reports::invalid_reasons(&current.rows, &previous.rows, &campaigns);
        Ok(json(
            StatusCode::OK,
            &json!({
                "from": from, "to": to,
                "previous": {"from": previous_from, "to": previous_to},
                "rows": rows,
            }),
        ))
    }

    async fn owners_report(&self, req: &Request) -> Answer {
        let (from, to) = match self.period(req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let changes = self.store.owner_changes_between(from, to).await?;
        // Each lead (and, when an owner lost it, its history) is read once, however many
        // of its changes fall in the period.
        let mut leads = BTreeMap::new();
        let mut histories: BTreeMap<domain::LeadId, Vec<domain::assign::ports::OwnerChange>> = BTreeMap::new();
        let mut handled = Vec::new();
        for change in changes.into_iter().filter(|c| c.to.is_some()) {
            if !leads.contains_key(&change.lead_id) {
                let lead = self.store.get_lead(&change.lead_id).await?;
                leads.insert(change.lead_id.clone(), lead);
            }
            let Some(Some(lead)) = leads.get(&change.lead_id) else {
                continue;
            };
            let next = if lead.owner_change_id.as_deref() == Some(change.id.as_str()) {
                None
            } else {
                if !histories.contains_key(&change.lead_id) {
                    let history = self.store.owner_changes(&change.lead_id).await?;
                    histories.insert(change.lead_id.clone(), history);
                }
                histories[&change.lead_id].iter().find(|c| c.id > change.id).cloned()
            };
            let status: Handling = reports::handling(&change, lead, next.as_ref());
            handled.push((change, status));
        }
        let rows = reports::owner_rows(&handled);
        Ok(json(StatusCode::OK, &json!({"from": from, "to": to, "rows": rows})))
    }
}

/// 403 for a known analytics route the caller's role may not use.
pub(crate) fn refused(method: &Method, segments: &[&str]) -> Option<Result<Response<Body>, StoreError>> {
    known_route(method, segments).then(|| Ok(forbidden("your role may not use this route")))
}
