//! One lead: its detail with the live score explained, and the actions on it.

use crate::routes::Call;
use crate::{forbidden, invalid, not_found, Answer, Api, ApiStore};
use domain::qualify::scoring::score;
use domain::LeadId;
use domain::{assign::actions::act, assign::actions::ActError, assign::actions::Action};
use domain::{handoff::convert::convert, handoff::convert::ConvertError};
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
        let explanation = live.explanation();
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
        let handoff = self.store.handoff(&lead_id).await?;
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
                "handoff": handoff,
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
        let now = self.clock.now();
        let done = if matches!(action, Action::Convert { .. }) {
            let currency = self.store.attribution_config().await?.currency;
            convert(&self.store, &self.bus, &lead_id, &action, actor, &currency, now)
                .await
                .map(|(lead, handoff)| (lead, Some(handoff)))
        } else {
            act(&self.store, &self.bus, &lead_id, &action, actor, now)
                .await
                .map(|lead| (lead, None))
                .map_err(ConvertError::Act)
        };
        match done {
            Ok((lead, handoff)) => {
                tracing::info!(lead_id = %lead.id, action = action.name(), by = %actor.id, stage = lead.stage.as_str(), "lead action");
                Ok(json(StatusCode::OK, &json!({ "lead": lead, "handoff": handoff })))
            }
            Err(ConvertError::Act(ActError::NotFound)) => Ok(not_found("id", "no lead has this id")),
            Err(ConvertError::Act(ActError::Forbidden(reason))) => Ok(forbidden(&reason)),
            Err(ConvertError::Act(ActError::Conflict(reason))) => {
                Ok(field_error(StatusCode::CONFLICT, "conflict", "action", &reason))
            }
            Err(ConvertError::Act(ActError::Invalid(e)) | ConvertError::Invalid(e)) => Ok(invalid(vec![e])),
            Err(ConvertError::Act(ActError::Contended)) => Ok(field_error(
                StatusCode::CONFLICT,
                "conflict",
                "action",
                "the lead kept changing; read it again and retry",
            )),
            Err(ConvertError::Act(ActError::Store(e)) | ConvertError::Store(e)) => Err(e),
            Err(ConvertError::Act(ActError::Bus(e))) => {
                // The change is saved; only the owner's notice is late (redelivery of
                // lead.ready or a retry re-announces it).
                tracing::warn!(error = %e, "saved, but the assignment notice was not queued");
                self.store
                    .get_lead(&lead_id)
                    .await
                    .map(|lead| json(StatusCode::OK, &json!({ "lead": lead, "handoff": null })))
            }
            Err(e @ (ConvertError::Bus(_) | ConvertError::Record(_))) => {
                // Converted, the hand-off not finished: every step is idempotent.
                tracing::error!(error = %e, lead_id = %lead_id, "converted, hand-off not finished");
                Ok(field_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "converted, but the hand-off is not finished",
                    "action",
                    "send the same request again (it is safe: the hand-off finishes once)",
                ))
            }
        }
    }
}
