//! Pools: who they hold and the leads waiting in them (both listed a page at a time),
//! with what is left of a pool's daily claim allowance; a rep lists only their own pools.

use crate::routes::{Call, POOL_MEMBERS};
use crate::{forbidden, invalid, not_found, with_path_id, Answer, Api, ApiStore};
use domain::assign::routing::Pool;
use domain::lead::mask;
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use leadflow_http::paging::{list_body, next_cursor, Paging};
use leadflow_http::{decode_body, field_error, json, json_object, no_content};
use serde_json::{json, Value};

/// A waiting lead as a pool lists it: enough to choose, contact details masked.
fn pool_entry(lead: &domain::Lead) -> Value {
    json!({
        "lead_id": lead.id,
        "stage": lead.stage.as_str(),
        "cell": lead.score.as_ref().map(|s| s.cell.clone()),
        "company": lead.company.as_ref().map(|c| c.raw.clone()),
        "province": lead.profile.province,
        "industry": lead.profile.industry,
        "channel": lead.source.channel,
        "phone": lead.contact.phone.as_deref().map(mask::phone),
        "email": lead.contact.email.as_deref().map(mask::email),
        "created_at": lead.created_at,
        "waiting_since": lead.waiting_since,
        "previous_owner": lead.previous_owner,
    })
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    /// `GET /v1/pools/{id}/leads`: managers, and the pool's members (whatever their role).
    pub(crate) async fn pool_leads(&self, call: &Call<'_>) -> Answer {
        let (id, req, actor) = (call.param("id"), call.req, call.actor);
        let pool = self.store.pool(id).await?;
        let member = pool.as_ref().is_some_and(|p| p.members.contains(&actor.id));
        if !(actor.manages() || member) {
            return Ok(forbidden(POOL_MEMBERS));
        }
        if pool.is_none() {
            return Ok(not_found("id", "no pool has this id"));
        }
        let paging = match Paging::of(req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let claims = match pool.as_ref().and_then(|p| p.daily_claim_cap) {
            Some(cap) => {
                let day = self.store.routing().await?.business_day(self.clock.now());
                let claimed = self.store.pool_state(id, day).await?.claimed_today;
                json!({ "daily_cap": cap, "claimed_today": claimed, "left": cap.saturating_sub(claimed) })
            }
            None => json!({ "daily_cap": null, "claimed_today": null, "left": null }),
        };
        let page = self.store.waiting_in_pool(id, paging.request()).await?;
        let mut leads = Vec::with_capacity(page.items.len());
        // One read per lead: the ports offer no batch read of leads.
        for lead_id in page.items {
            // The index is eventually consistent: skip a lead that was claimed meanwhile.
            if let Some(lead) = self.store.get_lead(&lead_id).await? {
                if lead.waiting_in_pool() == Some(id) {
                    leads.push(pool_entry(&lead));
                }
            }
        }
        Ok(json(
            StatusCode::OK,
            &json!({ "pool": id, "claims": claims, "leads": leads, "next_cursor": next_cursor(page.next.as_deref()) }),
        ))
    }

    pub(crate) async fn list_pools(&self, call: &Call<'_>) -> Answer {
        let paging = match Paging::of(call.req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let mut page = self.store.pools_page(paging.request()).await?;
        // A rep sees the pools they claim from; a page may then hold fewer than `limit`.
        if !call.actor.manages() {
            page.items.retain(|pool| pool.members.contains(&call.actor.id));
        }
        Ok(json(StatusCode::OK, &list_body(&page)))
    }

    pub(crate) async fn get_pool(&self, call: &Call<'_>) -> Answer {
        Ok(match self.store.pool(call.param("id")).await? {
            Some(pool) => json(StatusCode::OK, &pool),
            None => not_found("id", "no pool has this id"),
        })
    }

    pub(crate) async fn put_pool(&self, call: &Call<'_>) -> Answer {
        let id = call.param("id");
        let pool: Pool = match json_object(call.req)
            .and_then(|v| with_path_id(v, id))
            .and_then(decode_body)
        {
            Ok(pool) => pool,
            Err(response) => return Ok(*response),
        };
        let errors = pool.validate();
        if !errors.is_empty() {
            return Ok(invalid(errors));
        }
        // A well-formed pool naming reps that do not exist (yet) conflicts with the team
        // as it is: 409, so 422 stays for what the request itself gets wrong.
        let known: Vec<String> = self
            .store
            .reps(&pool.members)
            .await?
            .into_iter()
            .map(|(rep, _)| rep.id)
            .collect();
        let unknown = pool.unknown_members(&known);
        if !unknown.is_empty() {
            return Ok(leadflow_http::error(StatusCode::CONFLICT, "conflict", unknown));
        }
        self.store.put_pool(&pool).await?;
        tracing::info!(pool = %pool.id, members = pool.members.len(), "pool saved");
        Ok(json(StatusCode::OK, &pool))
    }

    pub(crate) async fn delete_pool(&self, call: &Call<'_>) -> Answer {
        let id = call.param("id");
        let routing = self.store.routing().await?;
        if routing.uses_pool(id) {
            return Ok(field_error(
                StatusCode::CONFLICT,
                "conflict",
                "id",
                "routing rules send leads to this pool: change them first",
            ));
        }
        Ok(if self.store.delete_pool(id).await? {
            no_content()
        } else {
            not_found("id", "no pool has this id")
        })
    }
}
