//! Predictive scoring routes:
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /v1/models` | managers, admins | models in service and every version's training metrics |
//! | `POST /v1/models/train` | admins | queue a training run (202); the new version becomes the challenger |
//! | `POST /v1/models/promote` | admins | the challenger becomes the champion |
//! | `PUT /v1/config/models` | admins | `{"challenger_share": 0.9}` |
//! | `GET /v1/reports/models?from=2026-10&to=2026-11` | managers, admins, finance | champion vs challenger by score decile |

use crate::{decode_body, invalid, json_object, Answer, Api, ApiStore};
use chrono::NaiveDate;
use domain::lead::ulid_at;
use domain::FieldError;
use domain::{assign::actions::Actor, assign::actions::Role};
use domain::{lead::messages::Envelope, lead::messages::Message};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use domain::{
    predict::modeling::arms_report, predict::modeling::months_back, predict::modeling::promote,
    predict::modeling::set_challenger_share, predict::modeling::ModelingError, predict::modeling::HISTORY_MONTHS,
};
use intake::http::{field_error, json};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Request, RequestExt};
use serde::Deserialize;
use serde_json::json;

/// Routes of this module that exist for some role (others get 403, not 404).
pub(crate) fn known_route(method: &Method, segments: &[&str]) -> bool {
    matches!(
        (method, segments),
        (&Method::GET, ["v1", "models"])
            | (&Method::POST, ["v1", "models", "train" | "promote"])
            | (&Method::PUT, ["v1", "config", "models"])
            | (&Method::GET, ["v1", "reports", "models"])
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    challenger_share: f64,
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn models(&self, req: &Request, segments: &[&str], actor: &Actor) -> Option<Answer> {
        let admin = actor.has(Role::Admin);
        Some(match (req.method(), segments) {
            (&Method::GET, ["v1", "models"]) if actor.manages() => self.list_models().await,
            (&Method::POST, ["v1", "models", "train"]) if admin => self.request_training(actor).await,
            (&Method::POST, ["v1", "models", "promote"]) if admin => self.modeling_answer(promote(&self.store).await),
            (&Method::PUT, ["v1", "config", "models"]) if admin => self.put_share(req).await,
            (&Method::GET, ["v1", "reports", "models"]) if actor.manages() || actor.has(Role::Finance) => {
                self.models_report(req).await
            }
            _ => return None,
        })
    }

    async fn list_models(&self) -> Answer {
        let in_service = self.store.in_service().await?.unwrap_or_default();
        let versions: Vec<_> = self
            .store
            .models()
            .await?
            .into_iter()
            .map(|m| json!({"version": m.version, "metrics": m.metrics, "base_rate": m.base_rate, "prior_weight": m.prior_weight}))
            .collect();
        Ok(json(
            StatusCode::OK,
            &json!({"in_service": in_service, "versions": versions}),
        ))
    }

    async fn request_training(&self, actor: &Actor) -> Answer {
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

    async fn put_share(&self, req: &Request) -> Answer {
        let body: ShareBody = match json_object(req).and_then(decode_body) {
            Ok(b) => b,
            Err(response) => return Ok(*response),
        };
        if !(0.0..=1.0).contains(&body.challenger_share) {
            return Ok(invalid(vec![FieldError::new(
                "challenger_share",
                "must be between 0 and 1",
            )]));
        }
        self.modeling_answer(set_challenger_share(&self.store, body.challenger_share).await)
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

    async fn models_report(&self, req: &Request) -> Answer {
        let now = self.clock.now();
        let params = req.query_string_parameters();
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
        // Default: this month and the last, about the seeds' 30-day comparison.
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
