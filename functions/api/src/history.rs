//! Configuration history: every saved version of each versioned configuration (scoring
//! rules, routing, SLA policies and calendars, attribution, each push source, each saved
//! import mapping, the models in service), with who saved it, when and which top-level
//! fields changed; and a rollback to one of them, which is saved as a new version.
//!
//! One route per kind and action, so the route table holds each kind's roles: reading
//! versions takes the roles that read the configuration, a rollback the roles that change
//! it. The handlers are shared:
//!
//! - `GET …/versions?limit=&cursor=`: newest first, `limit` 1–200 (default 50); pass a
//!   page's `next_cursor` back as `cursor` for the older versions.
//! - `GET …/versions/{n}`: one version, with its document.
//! - `POST …/rollback` `{"to": n}`: 201 with the new version; 200 with the current one
//!   when it already has version n's document (a retried rollback saves nothing); 409
//!   when another version was saved meanwhile (nothing saved); 422 naming the fields when
//!   version n fails today's checks (a pool deleted since, say).

use crate::routes::Call;
use crate::{invalid, not_found, Answer, Api, ApiStore};
use domain::assign::routing::RoutingConfig;
use domain::attribution::credit::AttributionConfig;
use domain::follow_up::sla::SlaConfig;
use domain::import::mapping::Mapping;
use domain::lead::versioned::{
    reread, rollback, ConfigId, ConfigKind, Rollback, RollbackError, Versioned, DEFAULT_PAGE, MAX_PAGE,
};
use domain::predict::modeling::roll_back_in_service;
use domain::qualify::rules::Rules;
use domain::FieldError;
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use lambda_http::{Body, RequestExt, Response};
use leadflow_http::{field_error, json, json_object};
use serde_json::Value;

/// Longest name a source or mapping can have (longer ones were never saved).
const MAX_NAME: usize = 64;

fn unprocessable(field: &str, reason: &str) -> Box<Response<Body>> {
    Box::new(invalid(vec![FieldError::new(field, reason)]))
}

/// `?limit=&cursor=`: the page size and the version to list below.
fn page_of(call: &Call<'_>) -> Result<(usize, Option<u64>), Box<Response<Body>>> {
    let params = call.req.query_string_parameters();
    let limit = match params.first("limit").map(str::parse::<usize>) {
        None => DEFAULT_PAGE,
        Some(Ok(n)) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => return Err(unprocessable("limit", "must be a number from 1 to 200")),
    };
    // `cursor=` (empty) is the first page, as elsewhere. A cursor is a version number as
    // written by `next_cursor`: 1-19 digits, no leading zero (the spec's pattern, exactly).
    let written = |c: &str| (1..=19).contains(&c.len()) && !c.starts_with('0') && c.bytes().all(|b| b.is_ascii_digit());
    let cursor = match params.first("cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(c) if written(c) => c.parse::<u64>().ok(),
        Some(_) => {
            return Err(unprocessable(
                "cursor",
                "must be the next_cursor of the page before (or left out for the newest versions)",
            ))
        }
    };
    Ok((limit, cursor))
}

/// `{"to": n}`: the version a rollback restores.
fn rollback_target(call: &Call<'_>) -> Result<u64, Box<Response<Body>>> {
    let body = json_object(call.req)?;
    if let Some(other) = body.as_object().into_iter().flat_map(|o| o.keys()).find(|k| *k != "to") {
        return Err(unprocessable(other, "is not a rollback field: the body is {\"to\": n}"));
    }
    // JSON has one number type: `3.0` is the integer 3 (as JSON Schema reads it).
    const EXACT: f64 = 9_007_199_254_740_991.0;
    let whole = |f: f64| (f.fract() == 0.0 && (1.0..=EXACT).contains(&f)).then_some(f as u64);
    let to = body.get("to");
    to.and_then(Value::as_u64)
        .or_else(|| to.and_then(Value::as_f64).and_then(whole))
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            unprocessable(
                "to",
                "is required: the number of the version to restore (1 or more), from the versions list",
            )
        })
}

/// The handlers listing and reading one kind's versions (their routes hold the roles).
macro_rules! history_reads {
    ($($kind:ident: $list:ident, $read:ident;)*) => {
        impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
            $(
                pub(crate) async fn $list(&self, call: &Call<'_>) -> Answer {
                    self.config_versions(call, ConfigKind::$kind).await
                }
                pub(crate) async fn $read(&self, call: &Call<'_>) -> Answer {
                    self.config_version(call, ConfigKind::$kind).await
                }
            )*
        }
    };
}

history_reads! {
    Rules: rules_versions, rules_version;
    Routing: routing_versions, routing_version;
    Sla: sla_versions, sla_version;
    Attribution: attribution_versions, attribution_version;
    Hooks: hook_versions, hook_version;
    ImportMappings: mapping_versions, mapping_version;
    Models: models_versions, models_version;
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    /// The document the path names: for a push source or a mapping, one that exists
    /// (404 naming the path segment otherwise; presets are not saved, so have no versions).
    async fn history_config(
        &self,
        call: &Call<'_>,
        kind: ConfigKind,
    ) -> Result<Result<ConfigId, Box<Response<Body>>>, domain::lead::ports::StoreError> {
        Ok(match kind {
            ConfigKind::Hooks => {
                let name = call.param("source");
                let found = name.len() <= MAX_NAME && self.store.hook_source(name).await?.is_some();
                if found {
                    Ok(ConfigId::named(kind, name))
                } else {
                    Err(Box::new(not_found("source", "no hook source has this name")))
                }
            }
            ConfigKind::ImportMappings => {
                let name = call.param("name");
                let found = name.len() <= MAX_NAME && self.store.mapping(name).await?.is_some();
                if found {
                    Ok(ConfigId::named(kind, name))
                } else {
                    Err(Box::new(not_found(
                        "name",
                        "no saved mapping has this name (presets are not saved and have no versions)",
                    )))
                }
            }
            _ => Ok(ConfigId::of(kind)),
        })
    }

    async fn config_versions(&self, call: &Call<'_>, kind: ConfigKind) -> Answer {
        let (limit, cursor) = match page_of(call) {
            Ok(page) => page,
            Err(response) => return Ok(*response),
        };
        let config = match self.history_config(call, kind).await? {
            Ok(config) => config,
            Err(response) => return Ok(*response),
        };
        let page = domain::lead::versioned::versions(&self.store, &config, cursor, limit).await?;
        Ok(json(StatusCode::OK, &page))
    }

    async fn config_version(&self, call: &Call<'_>, kind: ConfigKind) -> Answer {
        let Some(n) = call.param("n").parse::<u64>().ok().filter(|n| *n >= 1) else {
            return Ok(*unprocessable("n", "must be a version number (1 or more)"));
        };
        let config = match self.history_config(call, kind).await? {
            Ok(config) => config,
            Err(response) => return Ok(*response),
        };
        Ok(match domain::lead::versioned::version(&self.store, &config, n).await? {
            Some(version) => json(StatusCode::OK, &version),
            None => not_found("n", &format!("no version {n} of this configuration is kept")),
        })
    }

    fn rollback_answer(&self, config: &ConfigId, result: Result<Rollback, RollbackError>) -> Answer {
        match result {
            Ok(Rollback::Restored(version)) => {
                tracing::info!(
                    kind = config.kind.as_str(),
                    version = version.version,
                    restored_from = version.restored_from,
                    "configuration rolled back"
                );
                Ok(json(StatusCode::CREATED, &version))
            }
            Ok(Rollback::Unchanged(current)) => Ok(json(StatusCode::OK, &current)),
            Err(RollbackError::NoSuchVersion(n)) => Ok(not_found(
                "to",
                &format!("no version {n} of this configuration is kept"),
            )),
            // The request (`{"to": n}`) is well-formed; the old document conflicts with
            // today's data or rules (a pool deleted since): 409 naming its fields.
            Err(RollbackError::Invalid { errors, .. }) => Ok(leadflow_http::error(
                StatusCode::CONFLICT,
                "the version no longer fits today's data",
                errors,
            )),
            Err(RollbackError::Conflict { to, based_on }) => Ok(field_error(
                StatusCode::CONFLICT,
                "the configuration changed while rolling back",
                "to",
                &format!(
                    "version {based_on} was replaced while version {to} was being restored on top of it; \
                     nothing was saved: read the versions again and retry"
                ),
            )),
            Err(RollbackError::Store(e)) => Err(e),
        }
    }

    /// Version `to` of `config` restored on top of `current`, if `restore` accepts it.
    async fn roll_back<T: Versioned + serde::Serialize>(
        &self,
        call: &Call<'_>,
        to: u64,
        config: ConfigId,
        current: T,
        restore: impl FnOnce(&T, Value) -> Result<T, Vec<FieldError>>,
    ) -> Answer {
        let now = self.clock.now();
        let result = rollback(&self.store, &config, current, to, &call.actor.id, now, restore).await;
        self.rollback_answer(&config, result)
    }

    pub(crate) async fn rules_rollback(&self, call: &Call<'_>) -> Answer {
        let to = match rollback_target(call) {
            Ok(to) => to,
            Err(response) => return Ok(*response),
        };
        let current = self.store.rules().await?;
        self.roll_back(call, to, ConfigId::of(ConfigKind::Rules), current, |_, kept| {
            reread(kept, |r: &Rules| r.validate().err().map(|e| e.0).unwrap_or_default())
        })
        .await
    }

    pub(crate) async fn routing_rollback(&self, call: &Call<'_>) -> Answer {
        let to = match rollback_target(call) {
            Ok(to) => to,
            Err(response) => return Ok(*response),
        };
        let pools: Vec<String> = self.store.pools().await?.into_iter().map(|p| p.id).collect();
        let current = self.store.routing().await?;
        self.roll_back(call, to, ConfigId::of(ConfigKind::Routing), current, |_, kept| {
            reread(kept, |c: &RoutingConfig| c.validate(&pools))
        })
        .await
    }

    pub(crate) async fn sla_rollback(&self, call: &Call<'_>) -> Answer {
        let to = match rollback_target(call) {
            Ok(to) => to,
            Err(response) => return Ok(*response),
        };
        let current = self.store.sla_config().await?;
        self.roll_back(call, to, ConfigId::of(ConfigKind::Sla), current, |_, kept| {
            reread(kept, SlaConfig::validate)
        })
        .await
    }

    pub(crate) async fn attribution_rollback(&self, call: &Call<'_>) -> Answer {
        let to = match rollback_target(call) {
            Ok(to) => to,
            Err(response) => return Ok(*response),
        };
        let current = self.store.attribution_config().await?;
        self.roll_back(call, to, ConfigId::of(ConfigKind::Attribution), current, |_, kept| {
            reread(kept, AttributionConfig::validate)
        })
        .await
    }

    /// A source's channel, campaign, mapping and switch as they were; its secrets as
    /// they are (see [`domain::capture::hooks::HookSource::restore`]).
    pub(crate) async fn hook_rollback(&self, call: &Call<'_>) -> Answer {
        let to = match rollback_target(call) {
            Ok(to) => to,
            Err(response) => return Ok(*response),
        };
        let name = call.param("source");
        let current = if name.len() <= MAX_NAME {
            self.store.hook_source(name).await?
        } else {
            None
        };
        let Some(current) = current else {
            return Ok(not_found("source", "no hook source has this name"));
        };
        let now = self.clock.now();
        self.roll_back(
            call,
            to,
            ConfigId::named(ConfigKind::Hooks, name),
            current,
            |current, kept| current.restore(kept, now),
        )
        .await
    }

    pub(crate) async fn mapping_rollback(&self, call: &Call<'_>) -> Answer {
        let to = match rollback_target(call) {
            Ok(to) => to,
            Err(response) => return Ok(*response),
        };
        let name = call.param("name");
        let current = if name.len() <= MAX_NAME {
            self.store.mapping(name).await?
        } else {
            None
        };
        let Some(current) = current else {
            return Ok(not_found(
                "name",
                "no saved mapping has this name (presets are not saved and have no versions)",
            ));
        };
        let config = ConfigId::named(ConfigKind::ImportMappings, name);
        self.roll_back(call, to, config, current, |_: &Mapping, kept| {
            reread(kept, Mapping::validate)
        })
        .await
    }

    /// The champion, challenger and share of revision `to` back in service.
    pub(crate) async fn models_rollback(&self, call: &Call<'_>) -> Answer {
        let to = match rollback_target(call) {
            Ok(to) => to,
            Err(response) => return Ok(*response),
        };
        let config = ConfigId::of(ConfigKind::Models);
        let result = roll_back_in_service(&self.store, to, &call.actor.id, self.clock.now()).await;
        self.rollback_answer(&config, result)
    }
}
