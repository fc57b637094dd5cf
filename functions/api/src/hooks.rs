//! Push source configuration (signed webhooks, served by intake):
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /v1/config/hooks` | managers, admins | every source, secrets as fingerprints |
//! | `GET /v1/config/hooks/{source}` | managers, admins | one source |
//! | `PUT /v1/config/hooks/{source}` | admins | create or change; a new `secret` rotates |

use crate::{decode_body, invalid, json_object, not_found, Answer, Api, ApiStore};
use domain::{assign::actions::Actor, assign::actions::Role};
use domain::{capture::hooks::HookSource, capture::hooks::HookSourceChange, capture::hooks::HookSourceView};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use intake::http::json;
use lambda_http::http::{Method, StatusCode};
use lambda_http::Request;

/// Routes of this module that exist for some role (others get 403, not 404).
pub(crate) fn known_route(method: &Method, segments: &[&str]) -> bool {
    matches!(
        (method, segments),
        (&Method::GET, ["v1", "config", "hooks"]) | (&Method::GET | &Method::PUT, ["v1", "config", "hooks", _])
    )
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn hooks(&self, req: &Request, segments: &[&str], actor: &Actor) -> Option<Answer> {
        Some(match (req.method(), segments) {
            (&Method::GET, ["v1", "config", "hooks"]) if actor.manages() => {
                self.store.hook_sources().await.map(|all| {
                    let views: Vec<HookSourceView> = all.iter().map(HookSource::view).collect();
                    json(StatusCode::OK, &views)
                })
            }
            (&Method::GET, ["v1", "config", "hooks", name]) if actor.manages() => {
                self.store.hook_source(name).await.map(|found| match found {
                    Some(source) => json(StatusCode::OK, &source.view()),
                    None => not_found("source", "no hook source has this name"),
                })
            }
            (&Method::PUT, ["v1", "config", "hooks", name]) if actor.has(Role::Admin) => self.put_hook(name, req).await,
            _ => return None,
        })
    }

    async fn put_hook(&self, name: &str, req: &Request) -> Answer {
        let change: HookSourceChange = match json_object(req).and_then(decode_body) {
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
