//! Predictive scoring: the models in service and every version's training metrics;
//! queueing a training run (202; the new version becomes the challenger); promoting the
//! challenger to champion; the challenger's share (`{"challenger_share": 0.9}`); and
//! champion vs challenger by score decile (`?from=2026-10&to=2026-11`).

use crate::routes::Call;
use crate::{invalid, Answer, Api, ApiStore};
use chrono::NaiveDate;
use domain::lead::ulid_at;
use domain::FieldError;
use domain::{lead::messages::Envelope, lead::messages::Message};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use domain::{
    predict::modeling::arms_report, predict::modeling::months_back, predict::modeling::promote,
    predict::modeling::set_challenger_share, predict::modeling::ModelingError, predict::modeling::HISTORY_MONTHS,
};
use lambda_http::http::StatusCode;
use lambda_http::RequestExt;
use leadflow_http::paging::{next_cursor, Paging};
use leadflow_http::{decode_body, field_error, json, json_object};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    challenger_share: f64,
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    /// The models in service, and a page of the trained versions, oldest first.
    pub(crate) async fn list_models(&self, call: &Call<'_>) -> Answer {
        let paging = match Paging::of(call.req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let in_service = self.store.in_service().await?.unwrap_or_default();
        let page = self.store.models(paging.request()).await?;
        let versions: Vec<_> = page
            .items
            .into_iter()
            .map(|m| json!({"version": m.version, "metrics": m.metrics, "base_rate": m.base_rate, "prior_weight": m.prior_weight}))
            .collect();
        Ok(json(
            StatusCode::OK,
            &json!({"in_service": in_service, "versions": versions, "next_cursor": next_cursor(page.next.as_deref())}),
        ))
    }

    pub(crate) async fn request_training(&self, call: &Call<'_>) -> Answer {
        let actor = call.actor;
        let now = self.clock.now();
        let request_id = ulid_at(now);
        let message = Message::ModelTrain {
            request_id: request_id.clone(),
            requested_by: actor.id.clone(),
        };
        if let Err(e) = self.bus.publish(&Envelope::new(message, now)).await {
            tracing::error!(error = %e, "could not queue a training run");
            return Ok(field_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily unavailable, please retry",
                "body",
                "the training run was not queued",
            ));
        }
        Ok(json(
            StatusCode::ACCEPTED,
            &json!({"request_id": request_id, "status": "queued"}),
        ))
    }

    pub(crate) async fn promote_model(&self, call: &Call<'_>) -> Answer {
        self.modeling_answer(promote(&self.store, &call.actor.id, self.clock.now()).await)
    }

    pub(crate) async fn put_share(&self, call: &Call<'_>) -> Answer {
        let body: ShareBody = match json_object(call.req).and_then(decode_body) {
            Ok(b) => b,
            Err(response) => return Ok(*response),
        };
        let errors = domain::predict::modeling::share_errors(body.challenger_share);
        if !errors.is_empty() {
            return Ok(invalid(errors));
        }
        let (by, now) = (&call.actor.id, self.clock.now());
        self.modeling_answer(set_challenger_share(&self.store, body.challenger_share, by, now).await)
    }

    fn modeling_answer(&self, result: Result<domain::predict::modeling::InService, ModelingError>) -> Answer {
        match result {
            Ok(in_service) => Ok(json(StatusCode::OK, &in_service)),
            Err(ModelingError::Store(e)) => Err(e),
            Err(e @ (ModelingError::NoChallenger | ModelingError::Conflict)) => Ok(field_error(
                StatusCode::CONFLICT,
                "conflict",
                "challenger",
                &e.to_string(),
            )),
        }
    }

    pub(crate) async fn models_report(&self, call: &Call<'_>) -> Answer {
        let now = self.clock.now();
        let params = call.req.query_string_parameters();
        let month = |name: &str| -> Result<Option<NaiveDate>, FieldError> {
            params
                .first(name)
                .map(|m| {
                    NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
                        .map_err(|_| FieldError::new(name, "must be a month like 2026-10"))
                })
                .transpose()
        };
        let (from, to) = match (month("from"), month("to")) {
            (Ok(from), Ok(to)) => (from, to),
            (from, to) => return Ok(invalid([from.err(), to.err()].into_iter().flatten().collect())),
        };
        // Default: this month and the last, the 30-day comparison of docs/src/rules/predict.md#ab.
        let months: Vec<NaiveDate> = match (from, to) {
            (None, None) => months_back(now, 2),
            _ => months_back(now, HISTORY_MONTHS)
                .into_iter()
                .filter(|m| from.is_none_or(|f| *m >= f) && to.is_none_or(|t| *m <= t))
                .collect(),
        };
        let report = arms_report(&self.store, &months, now).await?;
        let in_service = self.store.in_service().await?.unwrap_or_default();
        let names: Vec<String> = months.iter().map(|m| m.format("%Y-%m").to_string()).collect();
        Ok(json(
            StatusCode::OK,
            &json!({"months": names, "in_service": in_service, "arms": report}),
        ))
    }
}
