//! Reports and exports. The attribution ones (funnel, ROI, invalid reasons) read rollup
//! rows only (see `domain::attribution::reports`); SLA violations and recycle rates read their own
//! records; owners reads ownership changes.
//!
//! Every report covers a bounded span, so its cost is bounded: `from` more than the
//! span's maximum before `to` is moved up to it, and the answer's `from` says where the
//! report starts. A `from` after `to` is an empty span: a report with nothing in it.
//! (Neither is refused: `openapi.yaml` states each parameter alone, and any two valid
//! dates make a request it calls valid.)

use crate::routes::Call;
use crate::{invalid, Answer, Api, ApiStore};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::attribution::fold::Grain;
use domain::FieldError;
use domain::{
    attribution::reports, attribution::reports::GroupBy, attribution::reports::Handling, attribution::reports::Period,
};
use domain::{lead::funnel::report_day, lead::funnel::FUNNEL};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use leadflow_http::json;
use leadflow_http::paging::{next_cursor, Paging};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A report's `[from, to)`.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// Day reports and exports span at most this many days.
const MAX_REPORT_DAYS: i64 = 400;
/// Reports over a period of time span at most this long.
const MAX_PERIOD_DAYS: i64 = 366;

/// A day as the spec's `format: date` writes it (YYYY-MM-DD), nothing looser.
fn query_day(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let shaped = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
    shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

/// A time as the spec's `format: date` or `format: date-time` (RFC 3339) writes it.
fn query_time(text: &str) -> Option<DateTime<Utc>> {
    if let Some(day) = query_day(text) {
        return Some(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    let separated = matches!(text.as_bytes().get(10), Some(b'T' | b't'));
    separated
        .then(|| DateTime::parse_from_rfc3339(text).ok())
        .flatten()
        .map(|t| t.with_timezone(&Utc))
}

/// Inclusive report days `from`..`to` (YYYY-MM-DD; default the 30 days up to today), at
/// most `max_days`; `from` after `to` is an empty span.
pub(crate) fn days(
    req: &Request,
    today: NaiveDate,
    max_days: i64,
) -> Result<(NaiveDate, NaiveDate), Box<Response<Body>>> {
    let params = req.query_string_parameters();
    let parse = |name: &str| match params.first(name) {
        None => Ok(None),
        Some(text) => query_day(text)
            .map(Some)
            .ok_or_else(|| FieldError::new(name, "must be a date (YYYY-MM-DD)")),
    };
    let (to, from) = match (parse("to"), parse("from")) {
        (Ok(to), Ok(from)) => (to, from),
        (to, from) => {
            return Err(Box::new(invalid(
                [to.err(), from.err()].into_iter().flatten().collect(),
            )))
        }
    };
    let to = to.unwrap_or(today);
    let earliest = to - Duration::days(max_days - 1);
    let from = from.unwrap_or(to - Duration::days(29)).max(earliest);
    Ok((from, to))
}

fn group_by(req: &Request, default: GroupBy) -> Result<GroupBy, Box<Response<Body>>> {
    match req.query_string_parameters().first("group_by") {
        None => Ok(default),
        Some(text) => GroupBy::parse(text).ok_or_else(|| {
            Box::new(invalid(vec![FieldError::new(
                "group_by",
                "must be channel, campaign, keyword or branch",
            )]))
        }),
    }
}

fn period(req: &Request) -> Result<Period, Box<Response<Body>>> {
    match req.query_string_parameters().first("period") {
        None => Ok(Period::Month),
        Some(text) => Period::parse(text).ok_or_else(|| {
            Box::new(invalid(vec![FieldError::new(
                "period",
                "must be day, week, month, quarter or year",
            )]))
        }),
    }
}

/// The days just before `from..=to`, as many; an empty span's are as empty.
fn previous_span(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    if from <= to {
        let length = to - from + Duration::days(1);
        (from - length, from - Duration::days(1))
    } else {
        (from, to)
    }
}

fn reference() -> Value {
    Value::Object(
        reports::REFERENCE_RATES
            .iter()
            .map(|(name, rate)| (name.to_string(), json!(rate)))
            .collect(),
    )
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

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    /// `[from, to)` (RFC 3339 or YYYY-MM-DD; default the last 30 days), at most
    /// [`MAX_PERIOD_DAYS`]; `from` at or after `to` is an empty period.
    fn period(&self, req: &Request) -> Result<Span, Box<Response<Body>>> {
        let params = req.query_string_parameters();
        let parse = |name: &str| match params.first(name) {
            None => Ok(None),
            Some(text) => query_time(text)
                .map(Some)
                .ok_or_else(|| FieldError::new(name, "must be a date (YYYY-MM-DD) or RFC 3339 time")),
        };
        let (to, from) = match (parse("to"), parse("from")) {
            (Ok(to), Ok(from)) => (to, from),
            (to, from) => {
                return Err(Box::new(invalid(
                    [to.err(), from.err()].into_iter().flatten().collect(),
                )))
            }
        };
        let to = to.unwrap_or_else(|| self.clock.now());
        let earliest = to - Duration::days(MAX_PERIOD_DAYS);
        let from = from.unwrap_or(to - Duration::days(30)).max(earliest);
        Ok((from, to))
    }

    /// The rows of `series` over the days `from..=to`: none when `from` is after `to`.
    /// `finest`: the shortest period the answer is grouped by; with a month or longer, a
    /// whole month may come as one row.
    async fn rollups_over(
        &self,
        series: &str,
        from: NaiveDate,
        to: NaiveDate,
        finest: Grain,
    ) -> Result<domain::attribution::ports::RowsRead, domain::lead::ports::StoreError> {
        if from > to {
            return Ok(Default::default());
        }
        match finest {
            Grain::Day => self.store.rollups(series, from, to).await,
            Grain::Month => self.store.rollups_by_month(series, from, to).await,
        }
    }

    /// The cost days (whole months as one row) over `from..=to`: none when `from` is after `to`.
    async fn costs_over(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<domain::attribution::campaign::CostDay>, domain::lead::ports::StoreError> {
        if from > to {
            return Ok(Vec::new());
        }
        self.store.costs_by_month(from, to).await
    }

    pub(crate) async fn violations_report(&self, call: &Call<'_>) -> Answer {
        let req = call.req;
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
        let paging = match Paging::of(req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        // The counts cover the whole period; the evidence comes a page at a time.
        let violations = if from < to {
            self.store.violations(from, to).await?
        } else {
            Vec::new()
        };
        let key = |v: &domain::follow_up::ports::Violation| -> String {
            match group_by.as_str() {
                "department" => v.owner_department.clone().unwrap_or_else(|| "-".into()),
                "clock" => v.clock.clone(),
                "pool" => v.pool.clone().unwrap_or_else(|| "-".into()),
                _ => v.owner.clone(),
            }
        };
        let mut groups: BTreeMap<String, u64> = BTreeMap::new();
        for v in &violations {
            *groups.entry(key(v)).or_default() += 1;
        }
        let groups: Vec<Value> = groups
            .into_iter()
            .map(|(k, n)| json!({"key": k, "violations": n}))
            .collect();
        let page = self.store.violations_page(from, to, paging.request()).await?;
        Ok(json(
            StatusCode::OK,
            &json!({"from": from, "to": to, "group_by": group_by, "total": violations.len(), "groups": groups,
                    "violations": page.items, "next_cursor": next_cursor(page.next.as_deref())}),
        ))
    }

    pub(crate) async fn recycle_report(&self, call: &Call<'_>) -> Answer {
        let (from, to) = match self.period(call.req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let numbers = if from < to {
            self.store.pool_numbers(from.date_naive(), to.date_naive()).await?
        } else {
            BTreeMap::new()
        };
        let pools: Vec<Value> = numbers
            .into_iter()
            .map(|(pool, n)| {
                let (rate, health) = domain::follow_up::sla::recycle_health(n.handed_out, n.recycled);
                json!({"pool": pool, "handed_out": n.handed_out, "recycled": n.recycled, "recycle_rate": rate, "health": health})
            })
            .collect();
        Ok(json(
            StatusCode::OK,
            &json!({"from": from, "to": to, "band": [0.05, 0.15], "pools": pools}),
        ))
    }

    pub(crate) async fn roi_export(&self, call: &Call<'_>) -> Answer {
        let req = call.req;
        let (from, to) = match days(req, report_day(self.clock.now()), MAX_REPORT_DAYS) {
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
            // Models are configuration (GET /v1/config/attribution): one not configured is
            // not found, like any name that is not there.
            let names: Vec<&str> = config.models.keys().map(String::as_str).collect();
            return Ok(crate::not_found(
                "model",
                &format!("no attribution model has this name: one of {}", names.join(", ")),
            ));
        }
        let csv = match params.first("format").unwrap_or("json") {
            "csv" => true,
            "json" => false,
            _ => return Ok(invalid(vec![FieldError::new("format", "must be csv or json")])),
        };
        // Totals over the period: month rows will do.
        let credited = self.rollups_over(&model, from, to, Grain::Month).await?;
        let funnel = self.rollups_over(FUNNEL, from, to, Grain::Month).await?;
        let costs = self.costs_over(from, to).await?;
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

    pub(crate) async fn funnel_report(&self, call: &Call<'_>) -> Answer {
        let req = call.req;
        let (from, to) = match days(req, report_day(self.clock.now()), MAX_REPORT_DAYS) {
            Ok(d) => d,
            Err(response) => return Ok(*response),
        };
        let by = match group_by(req, GroupBy::Channel) {
            Ok(g) => g,
            Err(response) => return Ok(*response),
        };
        let period = match period(req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let funnel = self.rollups_over(FUNNEL, from, to, period.finest()).await?;
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
                "reference": reference(),
            }),
        ))
    }

    /// The marketing dashboard in one answer: the funnel by period and group, what each
    /// group cost per lead, MQL and SQL, and invalid reasons against the span before. The
    /// same numbers as the funnel report, the ROI export and the invalid-reasons report,
    /// from one read of the span's funnel rows instead of three, and no model's rows.
    pub(crate) async fn dashboard(&self, call: &Call<'_>) -> Answer {
        let req = call.req;
        let (from, to) = match days(req, report_day(self.clock.now()), MAX_REPORT_DAYS) {
            Ok(d) => d,
            Err(response) => return Ok(*response),
        };
        let (by, period) = match (group_by(req, GroupBy::Channel), period(req)) {
            (Ok(by), Ok(period)) => (by, period),
            (Err(response), _) | (_, Err(response)) => return Ok(*response),
        };
        let (previous_from, previous_to) = previous_span(from, to);
        // Four independent reads, asked at once: the page waits for the slowest, not the sum.
        let (funnel, previous, costs, campaigns) = tokio::try_join!(
            self.rollups_over(FUNNEL, from, to, period.finest()),
            self.rollups_over(FUNNEL, previous_from, previous_to, Grain::Month),
            self.costs_over(from, to),
            self.store.campaigns(),
        )?;
        let items_read = funnel.items_read + previous.items_read + costs.len() + campaigns.len();
        let funnel_rows: Vec<Value> = reports::funnel_rows(by, period, &funnel.rows, &campaigns)
            .iter()
            .map(reports::FunnelRow::to_json)
            .collect();
        let cost_rows = reports::roi_rows(by, &[], &funnel.rows, &costs, &campaigns);
        let reasons = reports::invalid_reasons(&funnel.rows, &previous.rows, &campaigns);
        tracing::info!(%from, %to, items_read, "marketing dashboard");
        Ok(json(
            StatusCode::OK,
            &json!({
                "from": from, "to": to, "group_by": by, "period": period,
                "previous": {"from": previous_from, "to": previous_to},
                "funnel": funnel_rows,
                "reference": reference(),
                "costs": cost_rows.iter().map(reports::RoiRow::cost_json).collect::<Vec<_>>(),
                "cost_total": reports::total(&cost_rows).cost_json(),
                "invalid_reasons": reasons,
                "items_read": items_read,
            }),
        ))
    }

    pub(crate) async fn invalid_reasons(&self, call: &Call<'_>) -> Answer {
        let (from, to) = match days(call.req, report_day(self.clock.now()), MAX_REPORT_DAYS) {
            Ok(d) => d,
            Err(response) => return Ok(*response),
        };
        let (previous_from, previous_to) = previous_span(from, to);
        let current = self.rollups_over(FUNNEL, from, to, Grain::Month).await?;
        let previous = self
            .rollups_over(FUNNEL, previous_from, previous_to, Grain::Month)
            .await?;
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

    pub(crate) async fn owners_report(&self, call: &Call<'_>) -> Answer {
        let (from, to) = match self.period(call.req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let changes = if from < to {
            self.store.owner_changes_between(from, to).await?
        } else {
            Vec::new()
        };
        // Each lead (and, when an owner lost it, its history) is read once, however many
        // of its changes fall in the period; still one read per lead: the ports offer no
        // batch read of leads.
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
