//! Versioned configuration documents (routing, rules, SLA policies, attribution): a PUT
//! names the version it read and is saved as the next one, kept in the history with the
//! caller as its author ([`crate::history`]); a stale one gets 409.

use crate::routes::Call;
use crate::{invalid, Answer, Api, ApiStore};
use domain::lead::versioned::{ConfigId, Versioned};
use domain::FieldError;
use domain::{lead::ports::Clock, lead::ports::MessageBus, lead::ports::Saved};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use leadflow_http::{decode_body, field_error, json, json_object};
use serde_json::Value;

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

/// A configuration document the api saves with optimistic versioning.
pub(crate) trait Document: Versioned + serde::de::DeserializeOwned + serde::Serialize {}
impl<T: Versioned + serde::de::DeserializeOwned + serde::Serialize> Document for T {}

/// 200 with the saved document, or 409 when someone saved another version in between.
pub(crate) fn saved_answer<T: Document>(saved: Saved, document: &T, based_on: u64, route: &str) -> Response<Body> {
    match saved {
        Saved::Saved => {
            tracing::info!(version = document.version(), route, "configuration saved");
            json(StatusCode::OK, document)
        }
        Saved::Conflict => stale_version(based_on, route),
    }
}

pub(crate) fn stale_version(based_on: u64, route: &str) -> Response<Body> {
    field_error(
        StatusCode::CONFLICT,
        "the configuration changed since you read it",
        "version",
        &format!("version {based_on} is not the current version; GET {route} again and reapply your edit"),
    )
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    /// A versioned configuration PUT, decoded and checked by `validate`: the document
    /// to save ([`Api::save_versioned`]), or the answer to give (400, 422).
    pub(crate) fn versioned_document<T: Document>(
        &self,
        req: &Request,
        route: &str,
        validate: impl FnOnce(&T) -> Vec<FieldError>,
    ) -> Result<T, Box<Response<Body>>> {
        let document: T = decode_body(versioned_body(req, route)?)?;
        let errors = validate(&document);
        if !errors.is_empty() {
            return Err(Box::new(invalid(errors)));
        }
        Ok(document)
    }

    /// Saves `document` (as read: it carries the version it was based on) as the next
    /// version of `config`, by the caller: 200 with it, or 409 if it is stale.
    pub(crate) async fn save_versioned<T: Document>(
        &self,
        call: &Call<'_>,
        config: ConfigId,
        mut document: T,
        route: &str,
    ) -> Answer {
        let now = self.clock.now();
        let based_on = document.next_version(now);
        let saved = domain::lead::versioned::save(&self.store, &config, &document, &call.actor.id, now).await?;
        Ok(saved_answer(saved, &document, based_on, route))
    }
}
