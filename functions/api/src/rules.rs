//! The scoring and qualification rules, as data.

use crate::routes::Call;
use crate::versioned::versioned_body;
use crate::{Answer, Api, ApiStore};
use domain::lead::error::FieldErrors;
use domain::lead::versioned::{ConfigId, ConfigKind};
use domain::qualify::rules::Rules;
use domain::qualify::scoring::Sample;
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use leadflow_http::{decode_body, error, field_error, json, json_object};
use serde::Deserialize;
use serde_json::{json, Value};

/// `POST /v1/config/rules/try`: draft rules (the saved ones when absent) and a sample lead.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TryRules {
    #[serde(default)]
    rules: Option<Rules>,
    sample: Sample,
}

/// serde reads a struct from an array as well (`"sample": [null, null]` would be an empty
/// sample); the body's documents are objects, so anything else is named and refused.
fn not_objects(body: &Value) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if !matches!(body.get("rules"), None | Some(Value::Null | Value::Object(_))) {
        errors.push("rules", "must be a rules document (an object) or null");
    }
    match body.get("sample") {
        None | Some(Value::Object(_)) => {}
        Some(_) => errors.push("sample", "must be an object"),
    }
    if let Some(Value::Array(events)) = body.pointer("/sample/events") {
        for (i, _) in events.iter().enumerate().filter(|(_, e)| !e.is_object()) {
            errors.push(
                format!("sample.events[{i}]"),
                "must be an object: {\"kind\", \"days_ago\"}",
            );
        }
    }
    errors
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn get_rules(&self, _: &Call<'_>) -> Answer {
        self.store.rules().await.map(|r| json(StatusCode::OK, &r))
    }

    pub(crate) async fn put_rules(&self, call: &Call<'_>) -> Answer {
        let value = match versioned_body(call.req, "/v1/config/rules") {
            Ok(v) => v,
            Err(response) => return Ok(*response),
        };
        let rules: Rules = match serde_json::from_value(value) {
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
        self.save_versioned(call, ConfigId::of(ConfigKind::Rules), rules, "/v1/config/rules")
            .await
    }

    /// Scores a sample lead under draft rules and saves nothing, so whoever edits the
    /// rules sees the explanation lines a lead would get before anyone is scored by them.
    pub(crate) async fn try_rules(&self, call: &Call<'_>) -> Answer {
        let value = match json_object(call.req) {
            Ok(v) => v,
            Err(response) => return Ok(*response),
        };
        let misshapen = not_objects(&value);
        if !misshapen.is_empty() {
            return Ok(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation failed",
                misshapen.0,
            ));
        }
        let body: TryRules = match decode_body(value) {
            Ok(b) => b,
            Err(response) => return Ok(*response),
        };
        let rules = match body.rules {
            Some(draft) => draft,
            None => self.store.rules().await?,
        };
        let mut errors = FieldErrors::default();
        if let Err(found) = rules.validate() {
            for e in found.0 {
                errors.push(format!("rules.{}", e.field), e.reason);
            }
        }
        body.sample.validate("sample", &mut errors);
        if !errors.is_empty() {
            return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, "validation failed", errors.0));
        }
        let trial = body.sample.score(&rules.scoring, self.clock.now());
        Ok(json(
            StatusCode::OK,
            &json!({
                "score": trial.score,
                "explanation": trial.score.explanation(),
                "mql": trial.mql,
                "rules_version": rules.version,
            }),
        ))
    }
}
