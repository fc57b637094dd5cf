//! Campaigns and what they cost, per day (one day by JSON, many by CSV upload).

use crate::routes::Call;
use crate::{invalid, not_found, with_path_id, Answer, Api, ApiStore};
use domain::import::sheet::decode_text;
use domain::FieldError;
use domain::{
    attribution::campaign::parse_cost_body, attribution::campaign::parse_cost_csv, attribution::campaign::parse_day,
    attribution::campaign::valid_campaign_id, attribution::campaign::Campaign, attribution::campaign::CostDay,
};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use leadflow_http::paging::{list_body, Paging};
use leadflow_http::{decode_body, field_error, json, json_object};
use serde_json::{json, Value};

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn list_campaigns(&self, call: &Call<'_>) -> Answer {
        let paging = match Paging::of(call.req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let page = self.store.campaigns_page(paging.request()).await?;
        Ok(json(StatusCode::OK, &list_body(&page)))
    }

    pub(crate) async fn get_campaign(&self, call: &Call<'_>) -> Answer {
        match self.store.campaign(call.param("id")).await {
            Ok(Some(c)) => Ok(json(StatusCode::OK, &c)),
            Ok(None) => Ok(not_found("id", "no campaign has this id")),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn put_campaign(&self, call: &Call<'_>) -> Answer {
        let value = match json_object(call.req).and_then(|v| with_path_id(v, call.param("id"))) {
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

    pub(crate) async fn put_costs(&self, call: &Call<'_>) -> Answer {
        let (id, day) = (call.param("id"), call.param("day"));
        if !valid_campaign_id(id) || self.store.campaign(id).await?.is_none() {
            return Ok(not_found(
                "id",
                "no campaign has this id (PUT /v1/campaigns/{id} first)",
            ));
        }
        let mut errors = Vec::new();
        let day = parse_day(day);
        if day.is_none() {
            errors.push(FieldError::new("day", "must be a date (YYYY-MM-DD)"));
        }
        let value = match json_object(call.req) {
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

    /// `POST /v1/costs[?dry_run=true]`: a sheet as Excel saves it (UTF-8 with or without
    /// BOM, or GBK), each (campaign, day) replaced whole; a dry run answers the same and
    /// saves nothing, so the console can show each line's error before anything is kept.
    pub(crate) async fn upload_costs(&self, call: &Call<'_>) -> Answer {
        let dry_run = match crate::dry_run(call.req) {
            Ok(flag) => flag,
            Err(e) => return Ok(invalid(vec![e])),
        };
        let text = match decode_text(call.req.body().as_ref()) {
            Ok((text, _)) => text,
            Err(e) => {
                return Ok(field_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation failed",
                    "body",
                    &e.to_string(),
                ))
            }
        };
        let known: Vec<String> = self.store.campaigns().await?.into_iter().map(|c| c.id).collect();
        let sheet = parse_cost_csv(&text, |id| known.iter().any(|k| k == id));
        let now = self.clock.now();
        if !dry_run {
            for day in &sheet.days {
                let day = CostDay {
                    updated_at: Some(now),
                    ..day.clone()
                };
                self.store.put_cost_day(&day).await?;
            }
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
                "dry_run": dry_run,
            }),
        ))
    }
}
