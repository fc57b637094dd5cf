//! Push source configuration (signed webhooks, served by intake): every source or one,
//! secrets shown as fingerprints; a PUT creates or changes one, and a new `secret`
//! rotates.

use crate::routes::Call;
use crate::{invalid, not_found, Answer, Api, ApiStore};
use domain::{capture::hooks::HookSource, capture::hooks::HookSourceChange, capture::hooks::HookSourceView};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
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
        let current = self.store.hook_source(name).await?;
        let created = current.is_none();
        match HookSource::apply(name, current, change, self.clock.now()) {
            Ok(source) => {
                self.store.save_hook_source(&source).await?;
                tracing::info!(
                    source = name,
                    created,
                    secrets = source.secrets.len(),
                    "hook source saved"
                );
                let status = if created { StatusCode::CREATED } else { StatusCode::OK };
                Ok(json(status, &source.view()))
            }
            Err(errors) => Ok(invalid(errors.0)),
        }
    }
}
