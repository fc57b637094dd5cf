//! Push source configuration (signed webhooks, served by intake): every source or one,
//! secrets shown as fingerprints; a PUT creates or changes one, and a new `secret`
//! rotates. Each save is a version of the source, kept without its secrets
//! ([`crate::history`]); a PUT naming the `version` it read gets 409 if it is stale.

use crate::routes::Call;
use crate::versioned::stale_version;
use crate::{invalid, not_found, Answer, Api, ApiStore};
use domain::lead::versioned::{ConfigId, ConfigKind, Versioned};
use domain::{capture::hooks::HookSource, capture::hooks::HookSourceChange, capture::hooks::HookSourceView};
use domain::{lead::ports::Clock, lead::ports::MessageBus, lead::ports::Saved};
use lambda_http::http::StatusCode;
use leadflow_http::paging::{list_body, Paging};
use leadflow_http::{decode_body, json, json_object};

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn list_hooks(&self, call: &Call<'_>) -> Answer {
        let paging = match Paging::of(call.req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let page = self.store.hook_sources(paging.request()).await?;
        let views = page.map(|source| -> HookSourceView { source.view() });
        Ok(json(StatusCode::OK, &list_body(&views)))
    }

    pub(crate) async fn get_hook(&self, call: &Call<'_>) -> Answer {
        self.store
            .hook_source(call.param("source"))
            .await
            .map(|found| match found {
                Some(source) => json(StatusCode::OK, &source.view()),
                None => not_found("source", "no hook source has this name"),
            })
    }

    pub(crate) async fn put_hook(&self, call: &Call<'_>) -> Answer {
        let name = call.param("source");
        let change: HookSourceChange = match json_object(call.req).and_then(decode_body) {
            Ok(change) => change,
            Err(response) => return Ok(*response),
        };
        let route = format!("/v1/config/hooks/{name}");
        let current = self.store.hook_source(name).await?;
        let stored = current.as_ref().map_or(0, |c| c.version);
        if change.version.is_some_and(|read| read != stored) {
            return Ok(stale_version(change.version.unwrap_or_default(), &route));
        }
        let created = current.is_none();
        let now = self.clock.now();
        let mut source = match HookSource::apply(name, current, change, now) {
            Ok(source) => source,
            Err(errors) => return Ok(invalid(errors.0)),
        };
        let based_on = source.next_version(now);
        let config = ConfigId::named(ConfigKind::Hooks, name);
        match domain::lead::versioned::save(&self.store, &config, &source, &call.actor.id, now).await? {
            Saved::Saved => {
                tracing::info!(
                    source = name,
                    created,
                    version = source.version,
                    secrets = source.secrets.len(),
                    "hook source saved"
                );
                let status = if created { StatusCode::CREATED } else { StatusCode::OK };
                Ok(json(status, &source.view()))
            }
            // Someone saved the source between the read and this save.
            Saved::Conflict => Ok(stale_version(based_on, &route)),
        }
    }
}
