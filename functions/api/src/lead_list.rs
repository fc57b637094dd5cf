//! `GET /v1/leads`: the lead list and the duplicate check. The domain plans and walks
//! the list ([`domain::workspace`]); this module reads the query string, answers the
//! refusals (403 naming the filter a caller may not use, 422 naming a bad one) and
//! shapes rows, masked for a caller who does not own the lead.

use crate::routes::Call;
use crate::{forbidden, invalid, Answer, Api, ApiStore};
use domain::capture::submission::SubmissionRules;
use domain::workspace::list::{is_cursor, list, ListError};
use domain::workspace::plan::{plan, Refused, Scope};
use domain::workspace::query::ListQuery;
use domain::workspace::search::lookup;
use domain::workspace::view::Row;
use domain::FieldError;
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use lambda_http::RequestExt;
use leadflow_http::{field_error, json};
use serde_json::json;
use std::collections::HashMap;

/// The refusal a role with no lead list gets.
pub(crate) const NO_LIST: &str = "reps, managers, admins and marketing list leads";

const BAD_CURSOR: &str = "is not a cursor this list gave with these filters and this sort; start again without it";

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    /// `GET /v1/leads`: a page of the leads the caller may see, or (with `q`) the
    /// duplicate check.
    pub(crate) async fn list_leads(&self, call: &Call<'_>) -> Answer {
        let params = call.req.query_string_parameters();
        let mut pairs: Vec<(&str, &str)> = params.iter().collect();
        pairs.sort();
        let query = match ListQuery::parse(pairs) {
            Ok(query) => query,
            Err(errors) => return Ok(invalid(errors.0)),
        };
        // The shape the spec gives a cursor, checked before the duplicate check (which
        // has no pages) could pass over it.
        if query.cursor.as_deref().is_some_and(|c| !is_cursor(c)) {
            return Ok(invalid(vec![FieldError::new("cursor", BAD_CURSOR)]));
        }
        let roster: Vec<_> = self.store.all_reps().await?.into_iter().map(|(rep, _)| rep).collect();
        let pools = self.store.pools().await?;
        let Some(scope) = Scope::of(call.actor, &roster, &pools) else {
            return Ok(forbidden(NO_LIST));
        };
        let now = self.clock.now();
        if let Some(q) = &query.q {
            return self.duplicate_check(q, &scope).await;
        }
        let plan = match plan(&query, call.actor, &scope, &roster, &pools, now) {
            Ok(plan) => plan,
            Err(Refused(FieldError { field, reason })) => {
                return Ok(field_error(StatusCode::FORBIDDEN, "forbidden", &field, &reason))
            }
        };
        let page = match list(&self.store, &query, &plan, &scope, &call.actor.id, now).await {
            Ok(page) => page,
            Err(ListError::Store(e)) => return Err(e),
            Err(ListError::BadCursor) => return Ok(invalid(vec![FieldError::new("cursor", BAD_CURSOR)])),
        };
        tracing::info!(
            by = %call.actor.id,
            listed = page.leads.len(),
            examined = page.examined,
            queries = page.queries,
            "lead list"
        );
        let rows: Vec<Row> = page.leads.iter().map(|lead| Row::of(lead, &scope, now)).collect();
        Ok(json(
            StatusCode::OK,
            &json!({ "items": rows, "next_cursor": page.next_cursor }),
        ))
    }

    /// `GET /v1/leads?q=…`: who already has this person or company, masked as the list is.
    async fn duplicate_check(&self, q: &str, scope: &Scope) -> Answer {
        let rules = self.store.rules().await?;
        let region = SubmissionRules::default().default_region;
        let found = lookup(&self.store, q, region, rules.dedup.fuzzy_company_threshold).await?;
        let ids: Vec<_> = found.hits.iter().map(|h| h.lead_id.clone()).collect();
        let mut leads: HashMap<_, _> = self
            .store
            .leads_by_id(&ids)
            .await?
            .into_iter()
            .map(|lead| (lead.id.clone(), lead))
            .collect();
        let now = self.clock.now();
        let items: Vec<_> = found
            .hits
            .iter()
            .filter_map(|hit| {
                let lead = leads.remove(&hit.lead_id)?;
                Some(json!({
                    "lead": Row::of(&lead, scope, now),
                    "via": hit.via,
                    "similarity": hit.similarity,
                }))
            })
            .collect();
        Ok(json(
            StatusCode::OK,
            &json!({
                "read_as": found.read_as,
                "items": items,
                "customer": found.customer,
                "next_cursor": null,
            }),
        ))
    }
}
