//! Reps, with what they hold today (listed a page at a time, by id).

use crate::routes::{Call, REFUSED};
use crate::{forbidden, invalid, not_found, with_path_id, Answer, Api, ApiStore};
use domain::assign::auto::load_of;
use domain::assign::routing::Rep;
use domain::{lead::ports::Clock, lead::ports::MessageBus, lead::ports::Saved};
use lambda_http::http::StatusCode;
use leadflow_http::paging::{list_body, Paging};
use leadflow_http::{decode_body, field_error, json, json_object, no_content};
use serde_json::{json, Value};

fn rep_view(rep: &Rep, load: domain::assign::routing::RepLoad) -> Value {
    let mut view = serde_json::to_value(rep).expect("a rep serialises");
    view["holding"] = json!({
        "active_leads": load.active_leads,
        "holding_cap": rep.holding_cap(),
        "received_today": load.assigned_today,
        "daily_cap": rep.daily_cap,
    });
    view
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn list_reps(&self, call: &Call<'_>) -> Answer {
        let paging = match Paging::of(call.req) {
            Ok(p) => p,
            Err(response) => return Ok(*response),
        };
        let day = self.store.routing().await?.business_day(self.clock.now());
        let page = self.store.reps_page(paging.request()).await?;
        let page = page.map(|(rep, counters)| rep_view(&rep, load_of(counters, day)));
        Ok(json(StatusCode::OK, &list_body(&page)))
    }

    /// `GET /v1/reps/{id}`: managers, and the rep themself.
    pub(crate) async fn get_rep(&self, call: &Call<'_>) -> Answer {
        let id = call.param("id");
        if !(call.actor.manages() || call.actor.id == id) {
            return Ok(forbidden(REFUSED));
        }
        self.rep_answer(id).await
    }

    async fn rep_answer(&self, id: &str) -> Answer {
        let day = self.store.routing().await?.business_day(self.clock.now());
        Ok(match self.store.rep(id).await? {
            Some((rep, counters)) => json(StatusCode::OK, &rep_view(&rep, load_of(counters, day))),
            None => not_found("id", "no rep has this id"),
        })
    }

    pub(crate) async fn put_rep(&self, call: &Call<'_>) -> Answer {
        let id = call.param("id");
        let rep: Rep = match json_object(call.req)
            .and_then(|v| with_path_id(v, id))
            .and_then(decode_body)
        {
            Ok(rep) => rep,
            Err(response) => return Ok(*response),
        };
        let errors = rep.validate();
        if !errors.is_empty() {
            return Ok(invalid(errors));
        }
        self.store.put_rep(&rep).await?;
        tracing::info!(rep = %rep.id, "rep saved");
        self.rep_answer(id).await
    }

    pub(crate) async fn delete_rep(&self, call: &Call<'_>) -> Answer {
        Ok(match self.store.delete_rep(call.param("id")).await? {
            None => not_found("id", "no rep has this id"),
            Some(Saved::Conflict) => field_error(
                StatusCode::CONFLICT,
                "conflict",
                "id",
                "the rep still holds leads: transfer them or set `active: false`",
            ),
            Some(Saved::Saved) => no_content(),
        })
    }
}
