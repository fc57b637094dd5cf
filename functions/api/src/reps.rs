//! Reps (listed a page at a time, by id), with what they hold today: against their
//! holding cap (`over_cap` when an admin lowered it below what they hold), and the
//! recycle job a lowered cap starts when the routing configuration's `over_cap` policy
//! says so.

use crate::routes::{Call, REFUSED};
use crate::{forbidden, invalid, not_found, with_path_id, Answer, Api, ApiStore};
use domain::assign::auto::load_of;
use domain::assign::routing::{OverCapPolicy, Rep};
use domain::roster::job::Work;
use domain::roster::run::{start, Started};
use domain::{lead::ports::Clock, lead::ports::MessageBus, lead::ports::Saved, lead::ports::StoreError};
use lambda_http::http::StatusCode;
use leadflow_http::paging::{list_body, Paging};
use leadflow_http::{decode_body, field_error, json, json_object, no_content};
use serde_json::{json, Value};

fn rep_view(rep: &Rep, load: domain::assign::routing::RepLoad) -> Value {
    let mut view = serde_json::to_value(rep).expect("a rep serialises");
    let over_by = load.active_leads.saturating_sub(rep.holding_cap());
    view["holding"] = json!({
        "active_leads": load.active_leads,
        "holding_cap": rep.holding_cap(),
        "received_today": load.assigned_today,
        "daily_cap": rep.daily_cap,
        "over_cap": over_by > 0,
        "over_cap_by": over_by,
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
        Ok(match self.rep_value(id).await? {
            Some(view) => json(StatusCode::OK, &view),
            None => not_found("id", "no rep has this id"),
        })
    }

    async fn rep_value(&self, id: &str) -> Result<Option<Value>, StoreError> {
        let day = self.store.routing().await?.business_day(self.clock.now());
        Ok(self
            .store
            .rep(id)
            .await?
            .map(|(rep, counters)| rep_view(&rep, load_of(counters, day))))
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
        let before = self.store.rep(id).await?.map(|(rep, _)| rep.holding_cap());
        self.store.put_rep(&rep).await?;
        tracing::info!(rep = %rep.id, "rep saved");
        let lowered = before.is_some_and(|cap| cap > rep.holding_cap());
        let recycle_job = match lowered {
            true => self.recycle_extras(&rep, &call.actor.id).await?,
            false => None,
        };
        let Some(mut view) = self.rep_value(id).await? else {
            return Ok(not_found("id", "no rep has this id"));
        };
        if let Some(job_id) = recycle_job {
            view["recycle_job_id"] = json!(job_id);
        }
        Ok(json(StatusCode::OK, &view))
    }

    /// A lowered cap below what the rep holds: under the `over_cap` policy
    /// (`newest_first`, `oldest_first`), a job recycles the extras to their pools; under
    /// `never` they stay and the rep shows `over_cap`. The started job's id.
    async fn recycle_extras(&self, rep: &Rep, by: &str) -> Result<Option<String>, StoreError> {
        let order = self.store.routing().await?.over_cap;
        let held = self.store.rep(&rep.id).await?.map_or(0, |(_, c)| c.active_leads);
        if order == OverCapPolicy::Never || held <= rep.holding_cap() {
            return Ok(None);
        }
        let Started { job, queued } = start(
            &self.store,
            &self.bus,
            &rep.id,
            Work::Recycle { order },
            by,
            self.clock.now(),
        )
        .await?;
        if !queued {
            tracing::error!(job_id = %job.spec.id, rep = %rep.id, "recycle job stored; its chunk could not be queued (resume it)");
        }
        tracing::info!(job_id = %job.spec.id, rep = %rep.id, held, cap = rep.holding_cap(), "recycle job started");
        Ok(Some(job.spec.id))
    }

    pub(crate) async fn delete_rep(&self, call: &Call<'_>) -> Answer {
        Ok(match self.store.delete_rep(call.param("id")).await? {
            None => not_found("id", "no rep has this id"),
            Some(Saved::Conflict) => field_error(
                StatusCode::CONFLICT,
                "conflict",
                "id",
                "the rep still holds leads: move them with POST /v1/reps/{id}/transfer (or set `active: false`)",
            ),
            Some(Saved::Saved) => no_content(),
        })
    }
}
