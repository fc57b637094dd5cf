//! Conversions (orders, contracts) reported against leads, and their cancellation.

use crate::routes::Call;
use crate::{not_found, Answer, Api, ApiStore};
use domain::lead::funnel::report_day;
use domain::lead::normalize::Region;
use domain::{attribution::conversion::cancel, attribution::conversion::parse_request};
use domain::{
    attribution::credit::publish, attribution::credit::record, attribution::credit::RecordError,
    attribution::credit::Recorded,
};
use domain::{lead::ports::Clock, lead::ports::MessageBus, lead::ports::Saved};
use lambda_http::http::StatusCode;
use leadflow_http::{error, field_error, json};
use serde_json::json;

/// A conversions list spans at most a quarter's days: it reads one index query per day.
const MAX_LIST_DAYS: i64 = 92;

fn status_of(outcome: &Recorded) -> (StatusCode, &'static str) {
    match outcome {
        Recorded::Created(_) => (StatusCode::CREATED, "created"),
        Recorded::Revised(_) => (StatusCode::OK, "revised"),
        Recorded::Unchanged(_) => (StatusCode::OK, "unchanged"),
    }
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn post_conversion(&self, call: &Call<'_>) -> Answer {
        let now = self.clock.now();
        let config = self.store.attribution_config().await?;
        let request = match parse_request(call.req.body().as_ref(), &config.currency, Region::CN, now) {
            Ok(r) => r,
            Err(errors) => return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, "validation failed", errors.0)),
        };
        Ok(
            match record(&self.store, &self.bus, &request, &call.actor.id, now).await {
                Ok(outcome) => {
                    let (status, what) = status_of(&outcome);
                    let c = outcome.conversion();
                    tracing::info!(external_id = %c.external_id, revision = c.revision, outcome = what, "conversion recorded");
                    json(status, &json!({"status": what, "conversion": c}))
                }
                // Well-formed, but no stored lead matches: the data decides, so 404 naming it.
                Err(RecordError::NoLead { field }) => field_error(
                    StatusCode::NOT_FOUND,
                    "not found",
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
            },
        )
    }

    /// The conversions whose current revision happened on the report days `from..=to`,
    /// newest first, cancelled ones included (finance reconciles against both).
    pub(crate) async fn list_conversions(&self, call: &Call<'_>) -> Answer {
        let (from, to) = match crate::reports::days(call.req, report_day(self.clock.now()), MAX_LIST_DAYS) {
            Ok(d) => d,
            Err(response) => return Ok(*response),
        };
        let mut states = Vec::new();
        for day in from.iter_days().take_while(|d| *d <= to) {
            states.extend(self.store.conversions_on(day).await?);
        }
        states.sort_by(|a, b| {
            (b.current.occurred_at, &b.current.external_id).cmp(&(a.current.occurred_at, &a.current.external_id))
        });
        let items: Vec<_> = states
            .iter()
            .map(|state| {
                json!({
                    "conversion": state.current,
                    "applied_revision": state.applied,
                    "settled": state.applied == state.current.revision,
                })
            })
            .collect();
        Ok(json(
            StatusCode::OK,
            &json!({"from": from, "to": to, "conversions": items}),
        ))
    }

    pub(crate) async fn get_conversion(&self, call: &Call<'_>) -> Answer {
        let id = call.param("id");
        let Some(state) = self.store.conversion(id).await? else {
            return Ok(not_found("id", "no conversion has this external id"));
        };
        // One read per revision: the ports offer no read of all of a conversion's revisions.
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

    pub(crate) async fn cancel_conversion(&self, call: &Call<'_>) -> Answer {
        let id = call.param("id");
        let now = self.clock.now();
        let Some(state) = self.store.conversion(id).await? else {
            return Ok(not_found("id", "no conversion has this external id"));
        };
        let current = match cancel(&state.current, &call.actor.id, now) {
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
}
