//! The API's one route table: every route the function answers, who may call it and
//! which handler answers it. Dispatch ([`crate::Api::handle`]) reads nothing else:
//!
//! - no route has the path (or none has it with this method): 404 `path`;
//! - the route exists but none of the caller's roles is listed: 403 `authorization`
//!   with the route's `refused` reason (so a caller learns the route exists, not
//!   whether the thing in the path does);
//! - otherwise the handler answers. A few handlers narrow further on the data itself
//!   (a rep reads their own lead, their own pool, themself).
//!
//! Two routes also let in callers on who they are rather than their role ([`Also`]),
//! as the API always has: the caller named by `GET /v1/reps/{id}`, and the members of
//! the pool of `GET /v1/pools/{id}/leads` (its handler checks membership).
//!
//! `tests/routes.rs` holds this table equal to `openapi.yaml` (paths, methods,
//! `x-leadflow-roles`) and to the api function's `HttpApi` events in
//! `infra/template.yaml`.

use crate::{Answer, Api, ApiStore};
use domain::{assign::actions::Actor, assign::actions::Role};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::Request;
use std::future::Future;
use std::pin::Pin;

/// The answer a handler is computing.
pub type Reply<'a> = Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

/// A handler: a method of [`Api`], generic over the ports like the rest of the API.
pub type Handler<S, B, C> = for<'a> fn(&'a Api<S, B, C>, &'a Call<'a>) -> Reply<'a>;

/// The path's `{…}` segments: (name in the template, value in the path).
pub type Params<'p> = Vec<(&'static str, &'p str)>;

/// The refusal most routes give a role they do not list.
pub const REFUSED: &str = "your role may not use this route";

pub struct Route<S, B, C> {
    /// `GET`, `POST`, `PUT` or `DELETE`, as the template and `openapi.yaml` write it.
    pub method: &'static str,
    /// The path template, `{name}` for a segment the handler reads with [`Call::param`].
    pub path: &'static str,
    /// The roles allowed through (`x-leadflow-roles`).
    pub roles: &'static [Role],
    /// The reason a 403 gives any other role.
    pub refused: &'static str,
    /// Who else gets through, whatever their role.
    pub also: Also,
    pub handler: Handler<S, B, C>,
}

/// Callers let through on who they are, whatever their roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Also {
    Nobody,
    /// The caller whose id is this path segment (`{id}`: reading yourself).
    CallerIs(&'static str),
    /// Members of the pool in the path: the handler reads the pool and refuses others.
    PoolMembers,
}

/// A request on its way to a handler: the request, the authenticated caller, and the
/// path's `{…}` segments.
pub struct Call<'a> {
    pub req: &'a Request,
    pub actor: &'a Actor,
    params: Params<'a>,
}

impl<'a> Call<'a> {
    /// The path segment the route's template names `{name}`.
    pub fn param(&self, name: &str) -> &'a str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("the route template has no {{{name}}}"))
    }
}

impl<S, B, C> Route<S, B, C> {
    /// Whether the caller holds one of the listed roles, or is let in by [`Also`].
    pub fn admits(&self, actor: &Actor, params: &Params<'_>) -> bool {
        self.roles.iter().any(|role| actor.has(*role))
            || match self.also {
                Also::Nobody => false,
                Also::CallerIs(name) => params.iter().any(|(n, v)| *n == name && *v == actor.id),
                Also::PoolMembers => true,
            }
    }

    /// The `{…}` segments, if `segments` (the path split on `/`) fits the template.
    pub fn matches<'p>(&self, segments: &[&'p str]) -> Option<Params<'p>> {
        let parts = template_segments(self.path);
        if parts.len() != segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (part, segment) in parts.iter().zip(segments) {
            match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => params.push((name, *segment)),
                None if part == segment => {}
                None => return None,
            }
        }
        Some(params)
    }
}

fn template_segments(path: &'static str) -> Vec<&'static str> {
    path.trim_start_matches('/').split('/').collect()
}

/// `route!(GET "/v1/x/{id}", [Manager, Admin], handler)`, optionally followed by
/// `refused: "…"` and/or `also: Also::…`.
macro_rules! route {
    ($method:ident $path:literal, [$($role:ident),*], $handler:ident) => {
        route!($method $path, [$($role),*], $handler, refused: REFUSED, also: Also::Nobody)
    };
    ($method:ident $path:literal, [$($role:ident),*], $handler:ident, refused: $refused:expr) => {
        route!($method $path, [$($role),*], $handler, refused: $refused, also: Also::Nobody)
    };
    ($method:ident $path:literal, [$($role:ident),*], $handler:ident, also: $also:expr) => {
        route!($method $path, [$($role),*], $handler, refused: REFUSED, also: $also)
    };
    ($method:ident $path:literal, [$($role:ident),*], $handler:ident, refused: $refused:expr, also: $also:expr) => {
        Route {
            method: stringify!($method),
            path: $path,
            roles: &[$(Role::$role),*],
            refused: $refused,
            also: $also,
            handler: |api, call| Box::pin(api.$handler(call)),
        }
    };
}

pub(crate) const POOL_MEMBERS: &str = "only the pool's members and managers see its leads";
const MODELS: &str = "managers and marketing read models, admins train and promote them";
const HOOKS: &str = "managers read hook sources, marketing and admins change them";
const IMPORTS: &str = "managers, marketing and admins import leads";
const ERASURES: &str = "only admins erase personal data and read erasures";
const JOBS: &str = "managers and admins move a rep's leads and read the jobs doing it";

impl<S, B, C> Api<S, B, C>
where
    S: ApiStore + 'static,
    B: MessageBus + 'static,
    C: Clock + 'static,
{
    /// Every route of the api function.
    #[rustfmt::skip]
    pub const ROUTES: &'static [Route<S, B, C>] = &[
        // leads (a rep: the leads they own and their pools'; the handler checks)
        route!(GET "/v1/leads", [Rep, Manager, Admin, Marketing], list_leads, refused: crate::lead_list::NO_LIST),
        route!(GET "/v1/leads/{id}", [Rep, Manager, Admin, Finance], get_lead),
        route!(POST "/v1/leads/{id}/actions", [Rep, Manager, Admin, Marketing], lead_action),
        // team
        route!(GET "/v1/reps", [Manager, Admin], list_reps),
        route!(GET "/v1/reps/{id}", [Manager, Admin, Rep], get_rep, also: Also::CallerIs("id")),
        route!(PUT "/v1/reps/{id}", [Manager, Admin], put_rep),
        route!(DELETE "/v1/reps/{id}", [Admin], delete_rep),
        route!(GET "/v1/pools", [Rep, Manager, Admin], list_pools),
        route!(GET "/v1/pools/{id}", [Manager, Admin], get_pool),
        route!(PUT "/v1/pools/{id}", [Admin], put_pool),
        route!(DELETE "/v1/pools/{id}", [Admin], delete_pool),
        route!(GET "/v1/pools/{id}/leads", [Rep, Manager, Admin], pool_leads, refused: POOL_MEMBERS, also: Also::PoolMembers),
        // configuration
        route!(GET "/v1/config/routing", [Manager, Admin], get_routing),
        route!(PUT "/v1/config/routing", [Manager, Admin], put_routing),
        route!(GET "/v1/config/rules", [Manager, Admin, Marketing], get_rules),
        route!(PUT "/v1/config/rules", [Admin, Marketing], put_rules),
        route!(POST "/v1/config/rules/try", [Manager, Admin, Marketing], try_rules),
        route!(GET "/v1/config/sla", [Manager, Admin], get_sla),
        route!(PUT "/v1/config/sla", [Admin], put_sla),
        route!(PUT "/v1/customers/{id}", [Admin], put_customer),
        // reports
        route!(GET "/v1/reports/violations", [Manager, Admin, Finance], violations_report),
        route!(GET "/v1/reports/recycle-rate", [Manager, Admin, Finance], recycle_report),
        route!(GET "/v1/reports/funnel", [Manager, Admin, Finance, Marketing], funnel_report),
        route!(GET "/v1/reports/dashboard", [Manager, Admin, Finance, Marketing], dashboard),
        route!(GET "/v1/reports/owners", [Manager, Admin], owners_report),
        route!(GET "/v1/reports/invalid-reasons", [Manager, Admin, Finance, Marketing], invalid_reasons),
        route!(GET "/v1/exports/roi", [Manager, Admin, Finance, Marketing, Exporter], roi_export),
        // attribution
        route!(POST "/v1/conversions", [Manager, Admin, Finance, Integration], post_conversion),
        route!(GET "/v1/conversions", [Manager, Admin, Finance], list_conversions),
        route!(GET "/v1/conversions/{id}", [Manager, Admin, Finance, Integration], get_conversion),
        route!(DELETE "/v1/conversions/{id}", [Manager, Admin, Finance], cancel_conversion),
        route!(GET "/v1/campaigns", [Manager, Admin, Finance, Marketing], list_campaigns),
        route!(GET "/v1/campaigns/{id}", [Manager, Admin, Finance, Marketing], get_campaign),
        route!(PUT "/v1/campaigns/{id}", [Manager, Admin, Marketing], put_campaign),
        route!(PUT "/v1/campaigns/{id}/costs/{day}", [Manager, Admin, Finance], put_costs),
        route!(POST "/v1/costs", [Manager, Admin, Finance], upload_costs),
        route!(GET "/v1/config/attribution", [Manager, Admin, Finance, Marketing], get_attribution),
        route!(PUT "/v1/config/attribution", [Admin], put_attribution),
        // the hand-off to a CRM: outbound webhooks
        route!(GET "/v1/config/webhooks", [Admin], get_webhooks),
        route!(PUT "/v1/config/webhooks", [Admin], put_webhooks),
        // imports
        route!(POST "/v1/imports", [Manager, Admin, Marketing], post_import, refused: IMPORTS),
        route!(GET "/v1/imports", [Manager, Admin, Marketing], list_imports, refused: IMPORTS),
        route!(GET "/v1/imports/{id}", [Manager, Admin, Marketing], import_progress, refused: IMPORTS),
        route!(GET "/v1/config/import-mappings", [Manager, Admin, Marketing], list_mappings, refused: IMPORTS),
        route!(PUT "/v1/config/import-mappings/{name}", [Manager, Admin, Marketing], put_mapping, refused: IMPORTS),
        // push sources
        route!(GET "/v1/config/hooks", [Manager, Admin, Marketing], list_hooks, refused: HOOKS),
        route!(GET "/v1/config/hooks/{source}", [Manager, Admin, Marketing], get_hook, refused: HOOKS),
        route!(PUT "/v1/config/hooks/{source}", [Admin, Marketing], put_hook, refused: HOOKS),
        // predictive scoring
        route!(GET "/v1/models", [Manager, Admin, Marketing], list_models, refused: MODELS),
        route!(POST "/v1/models/train", [Admin], request_training, refused: MODELS),
        route!(POST "/v1/models/promote", [Admin], promote_model, refused: MODELS),
        route!(PUT "/v1/config/models", [Admin], put_share, refused: MODELS),
        route!(GET "/v1/reports/models", [Manager, Admin, Finance, Marketing], models_report, refused: MODELS),
        // privacy
        route!(POST "/v1/erasures", [Admin], post_erasure, refused: ERASURES),
        route!(GET "/v1/erasures/{id}", [Admin], get_erasure, refused: ERASURES),
        // routing preview (reads only)
        route!(POST "/v1/routing/preview", [Manager, Admin], routing_preview, refused: crate::preview::PREVIEW),
        // configuration history (crate::history): reading a kind's versions takes the
        // roles that read it, a rollback the roles that change it
        route!(GET "/v1/config/rules/versions", [Manager, Admin, Marketing], rules_versions),
        route!(GET "/v1/config/rules/versions/{n}", [Manager, Admin, Marketing], rules_version),
        route!(POST "/v1/config/rules/rollback", [Admin, Marketing], rules_rollback),
        route!(GET "/v1/config/routing/versions", [Manager, Admin], routing_versions),
        route!(GET "/v1/config/routing/versions/{n}", [Manager, Admin], routing_version),
        route!(POST "/v1/config/routing/rollback", [Manager, Admin], routing_rollback),
        route!(GET "/v1/config/sla/versions", [Manager, Admin], sla_versions),
        route!(GET "/v1/config/sla/versions/{n}", [Manager, Admin], sla_version),
        route!(POST "/v1/config/sla/rollback", [Admin], sla_rollback),
        route!(GET "/v1/config/attribution/versions", [Manager, Admin, Finance, Marketing], attribution_versions),
        route!(GET "/v1/config/attribution/versions/{n}", [Manager, Admin, Finance, Marketing], attribution_version),
        route!(POST "/v1/config/attribution/rollback", [Admin], attribution_rollback),
        route!(GET "/v1/config/hooks/{source}/versions", [Manager, Admin, Marketing], hook_versions, refused: HOOKS),
        route!(GET "/v1/config/hooks/{source}/versions/{n}", [Manager, Admin, Marketing], hook_version, refused: HOOKS),
        route!(POST "/v1/config/hooks/{source}/rollback", [Admin, Marketing], hook_rollback, refused: HOOKS),
        route!(GET "/v1/config/import-mappings/{name}/versions", [Manager, Admin, Marketing], mapping_versions, refused: IMPORTS),
        route!(GET "/v1/config/import-mappings/{name}/versions/{n}", [Manager, Admin, Marketing], mapping_version, refused: IMPORTS),
        route!(POST "/v1/config/import-mappings/{name}/rollback", [Manager, Admin, Marketing], mapping_rollback, refused: IMPORTS),
        route!(GET "/v1/config/models/versions", [Manager, Admin, Marketing], models_versions, refused: MODELS),
        route!(GET "/v1/config/models/versions/{n}", [Manager, Admin, Marketing], models_version, refused: MODELS),
        route!(POST "/v1/config/models/rollback", [Admin], models_rollback, refused: MODELS),
        // roster changes as jobs
        route!(POST "/v1/reps/{id}/transfer", [Manager, Admin], post_transfer, refused: JOBS),
        route!(GET "/v1/jobs/{id}", [Manager, Admin], get_job, refused: JOBS),
        route!(POST "/v1/jobs/{id}/resume", [Manager, Admin], resume_job, refused: JOBS),
    ];

    /// The route `method` + `segments` names, with its `{…}` segments.
    pub(crate) fn route<'p>(method: &str, segments: &[&'p str]) -> Option<(&'static Route<S, B, C>, Params<'p>)> {
        Self::ROUTES
            .iter()
            .filter(|route| route.method == method)
            .find_map(|route| route.matches(segments).map(|params| (route, params)))
    }

    /// Answers `req` from `actor` with the route's handler, or refuses it.
    pub(crate) async fn dispatch(&self, req: &Request, actor: &Actor, segments: &[&str]) -> Option<Answer> {
        let (route, params) = Self::route(req.method().as_str(), segments)?;
        if !route.admits(actor, &params) {
            return Some(Ok(crate::forbidden(route.refused)));
        }
        let call = Call { req, actor, params };
        Some((route.handler)(self, &call).await)
    }
}

/// Whether two templates can name the same path (then the first would shadow the other).
pub fn overlap(a: &'static str, b: &'static str) -> bool {
    let (a, b) = (template_segments(a), template_segments(b));
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(x, y)| x == y || x.starts_with('{') || y.starts_with('{'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::lead::ports::FixedClock;
    use domain::memory::{InMemoryBus, InMemoryStore};

    type Table = Api<InMemoryStore, InMemoryBus, FixedClock>;

    #[test]
    fn no_route_shadows_another() {
        for (i, a) in Table::ROUTES.iter().enumerate() {
            for b in &Table::ROUTES[i + 1..] {
                assert!(
                    a.method != b.method || !overlap(a.path, b.path),
                    "{} {} and {} {} overlap",
                    a.method,
                    a.path,
                    b.method,
                    b.path
                );
            }
        }
    }

    /// The routes a role is listed on.
    fn routes_of(role: Role) -> Vec<(&'static str, &'static str)> {
        Table::ROUTES
            .iter()
            .filter(|route| route.roles.contains(&role))
            .map(|route| (route.method, route.path))
            .collect()
    }

    /// Written out so that widening a narrow role is a decision, not a slip of the table.
    #[test]
    fn marketing_and_machine_roles_reach_only_their_routes() {
        assert_eq!(
            routes_of(Role::Marketing),
            vec![
                ("GET", "/v1/leads"),
                ("POST", "/v1/leads/{id}/actions"),
                ("GET", "/v1/config/rules"),
                ("PUT", "/v1/config/rules"),
                ("POST", "/v1/config/rules/try"),
                ("GET", "/v1/reports/funnel"),
                ("GET", "/v1/reports/dashboard"),
                ("GET", "/v1/reports/invalid-reasons"),
                ("GET", "/v1/exports/roi"),
                ("GET", "/v1/campaigns"),
                ("GET", "/v1/campaigns/{id}"),
                ("PUT", "/v1/campaigns/{id}"),
                ("GET", "/v1/config/attribution"),
                ("POST", "/v1/imports"),
                ("GET", "/v1/imports"),
                ("GET", "/v1/imports/{id}"),
                ("GET", "/v1/config/import-mappings"),
                ("PUT", "/v1/config/import-mappings/{name}"),
                ("GET", "/v1/config/hooks"),
                ("GET", "/v1/config/hooks/{source}"),
                ("PUT", "/v1/config/hooks/{source}"),
                ("GET", "/v1/models"),
                ("GET", "/v1/reports/models"),
                // configuration history: the same reach as the configuration itself
                ("GET", "/v1/config/rules/versions"),
                ("GET", "/v1/config/rules/versions/{n}"),
                ("POST", "/v1/config/rules/rollback"),
                ("GET", "/v1/config/attribution/versions"),
                ("GET", "/v1/config/attribution/versions/{n}"),
                ("GET", "/v1/config/hooks/{source}/versions"),
                ("GET", "/v1/config/hooks/{source}/versions/{n}"),
                ("POST", "/v1/config/hooks/{source}/rollback"),
                ("GET", "/v1/config/import-mappings/{name}/versions"),
                ("GET", "/v1/config/import-mappings/{name}/versions/{n}"),
                ("POST", "/v1/config/import-mappings/{name}/rollback"),
                ("GET", "/v1/config/models/versions"),
                ("GET", "/v1/config/models/versions/{n}"),
            ]
        );
        assert_eq!(routes_of(Role::Exporter), vec![("GET", "/v1/exports/roi")]);
        assert_eq!(
            routes_of(Role::Integration),
            vec![("POST", "/v1/conversions"), ("GET", "/v1/conversions/{id}")]
        );
    }

    #[test]
    fn templates_bind_their_segments() {
        let (route, params) = Table::route("PUT", &["v1", "campaigns", "c1", "costs", "2026-11-01"]).unwrap();
        assert_eq!(route.path, "/v1/campaigns/{id}/costs/{day}");
        assert_eq!(params, vec![("id", "c1"), ("day", "2026-11-01")]);
        assert!(
            Table::route("POST", &["v1", "reps"]).is_none(),
            "a known path with another method is no route"
        );
        assert!(Table::route("GET", &["v1", "reps", "a", "b"]).is_none());
    }
}
