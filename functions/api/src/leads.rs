//! One lead: its detail with the live score explained, and the actions on it.

use crate::routes::Call;
use crate::{forbidden, invalid, not_found, Answer, Api, ApiStore};
use domain::qualify::scoring::score;
use domain::LeadId;
use domain::{assign::actions::act, assign::actions::ActError, assign::actions::Action};
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use leadflow_http::{decode_body, field_error, json, json_object};
use serde_json::json;

fn parse_lead_id(id: &str) -> Result<LeadId, Box<Response<Body>>> {
    LeadId::parse(id).ok_or_else(|| {
        Box::new(field_error(
            StatusCode::BAD_REQUEST,
            "invalid lead id",
            "id",
            "is not a lead id",
        ))
    })
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    /// `GET /v1/leads/{id}`: a rep reads only the leads they own.
    pub(crate) async fn get_lead(&self, call: &Call<'_>) -> Answer {
        let actor = call.actor;
        let lead_id = match parse_lead_id(call.param("id")) {
            Ok(id) => id,
            Err(response) => return Ok(*response),
        };
        let Some(lead) = self.store.get_lead(&lead_id).await? else {
            return Ok(not_found("id", "no lead has this id"));
        };
        if !actor.may_read(&lead) {
            return Ok(forbidden("reps see the leads they own"));
        }
        let rules = self.store.rules().await?;
        let now = self.clock.now();
        let live = score(&lead, &lead.events, &rules.scoring, now);
        let explanation: Vec<String> = live
            .fit_lines
            .iter()
            .chain(&live.engagement_lines)
            .map(|l| l.text())
            .collect();
        // One read per repeat: the ports offer no batch read of leads.
        let mut repeats = Vec::new();
        for repeat_id in self.store.repeats_of(&lead_id).await? {
            if let Some(r) = self.store.get_lead(&repeat_id).await? {
                repeats.push(json!({"lead_id": r.id, "created_at": r.created_at, "channel": r.source.channel, "campaign_id": r.source.campaign_id}));
            }
        }
        let touchpoints = self.store.touchpoints(&lead_id).await?;
        let owner_changes = self.store.owner_changes(&lead_id).await?;
        let follow_ups = self.store.follow_ups(&lead_id).await?;
        Ok(json(
            StatusCode::OK,
            &json!({
                "lead": lead,
                "score": live,
                "explanation": explanation,
                "repeats": repeats,
                "touchpoints": touchpoints,
                "owner_changes": owner_changes,
                "follow_ups": follow_ups,
            }),
        ))
    }

    /// `POST /v1/leads/{id}/actions`: the domain decides who may do what to the lead.
    pub(crate) async fn lead_action(&self, call: &Call<'_>) -> Answer {
        let (req, actor) = (call.req, call.actor);
        let lead_id = match parse_lead_id(call.param("id")) {
            Ok(id) => id,
            Err(response) => return Ok(*response),
        };
        let action: Action = match json_object(req).and_then(decode_body) {
            Ok(action) => action,
            Err(response) => return Ok(*response),
        };
        let errors = action.validate();
        if !errors.is_empty() {
            return Ok(invalid(errors));
        }
        match act(&self.store, &self.bus, &lead_id, &action, actor, self.clock.now()).await {
            Ok(lead) => {
                tracing::info!(lead_id = %lead.id, action = action.name(), by = %actor.id, stage = lead.stage.as_str(), "lead action");
                Ok(json(StatusCode::OK, &json!({ "lead": lead })))
            }
            Err(ActError::NotFound) => Ok(not_found("id", "no lead has this id")),
            Err(ActError::Forbidden(reason)) => Ok(forbidden(&reason)),
            Err(ActError::Conflict(reason)) => Ok(field_error(StatusCode::CONFLICT, "conflict", "action", &reason)),
            Err(ActError::Invalid(e)) => Ok(invalid(vec![e])),
            Err(ActError::Contended) => Ok(field_error(
                StatusCode::CONFLICT,
                "conflict",
                "action",
                "the lead kept changing; read it again and retry",
            )),
            Err(ActError::Store(e)) => Err(e),
            Err(ActError::Bus(e)) => {
                // The change is saved; only the owner's notice is late (redelivery of
                // lead.ready or a retry re-announces it).
                tracing::warn!(error = %e, "saved, but the assignment notice was not queued");
                self.store
                    .get_lead(&lead_id)
                    .await
                    .map(|lead| json(StatusCode::OK, &json!({ "lead": lead })))
            }
        }
    }
}
