//! `POST /v1/routing/preview`: where a lead would be routed now and why — the pool and
//! the rule that chose it, each rule, the rep, each rep with the reason they were skipped.
//! The decision and its reasons are the domain's ([`domain::assign::preview`]), taken
//! by the same steps as assignment; this only reads the body and answers. It writes
//! nothing: strategy state is read, never advanced.

use crate::routes::Call;
use crate::{invalid, not_found, Answer, Api, ApiStore};
use domain::assign::preview::{preview, DescribedLead, Subject};
use domain::lead::LeadId;
use domain::FieldError;
use domain::{lead::ports::Clock, lead::ports::MessageBus};
use lambda_http::http::StatusCode;
use leadflow_http::{json, json_object};
use serde_json::Value;

/// Who may preview, in a 403: the preview shows the team's shifts, absences and loads.
pub(crate) const PREVIEW: &str = "managers and admins preview routing";

/// The body: `{"lead_id": "<ULID>"}` or `{"lead": {…}}`, nothing else.
fn subject_from(body: &Value) -> Result<Subject, Vec<FieldError>> {
    let object = body.as_object().map(|o| {
        o.iter()
            .filter(|(_, v)| !v.is_null())
            .collect::<Vec<(&String, &Value)>>()
    });
    let object = object.unwrap_or_default();
    let unknown: Vec<FieldError> = object
        .iter()
        .filter(|(k, _)| *k != "lead_id" && *k != "lead")
        .map(|(k, _)| FieldError::new(k.as_str(), "unknown field: a preview takes `lead_id` or `lead`"))
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let get = |name: &str| object.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    match (get("lead_id"), get("lead")) {
        (Some(_), Some(_)) => Err(vec![FieldError::new(
            "body",
            "give either `lead_id` (a stored lead) or `lead` (a described one), not both",
        )]),
        (None, None) => Err(vec![FieldError::new(
            "body",
            "give `lead_id` (a stored lead) or `lead` (a described one)",
        )]),
        (Some(id), None) => id
            .as_str()
            .and_then(LeadId::parse)
            .map(Subject::Stored)
            .ok_or_else(|| vec![FieldError::new("lead_id", "must be a lead id (a ULID)")]),
        (None, Some(lead)) => DescribedLead::from_json(lead, "lead").map(|d| Subject::Described(Box::new(d))),
    }
}

impl<S: ApiStore, B: MessageBus, C: Clock> Api<S, B, C> {
    pub(crate) async fn routing_preview(&self, call: &Call<'_>) -> Answer {
        let body = match json_object(call.req) {
            Ok(body) => body,
            Err(response) => return Ok(*response),
        };
        let subject = match subject_from(&body) {
            Ok(subject) => subject,
            Err(errors) => return Ok(invalid(errors)),
        };
        Ok(match preview(&self.store, &subject, self.clock.now()).await? {
            Some(preview) => json(StatusCode::OK, &preview),
            None => not_found("lead_id", "no lead has this id"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(body: Value) -> Vec<String> {
        subject_from(&body).unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_body_names_one_subject_and_nothing_else() {
        assert_eq!(fields(json!({})), ["body"]);
        assert_eq!(
            fields(json!({"lead_id": "01M82P55JZ0A21HC6YSZ0PKEW7", "lead": {}})),
            ["body"]
        );
        assert_eq!(fields(json!({"lead_id": "nope"})), ["lead_id"]);
        assert_eq!(fields(json!({"lead_id": 7})), ["lead_id"]);
        assert_eq!(fields(json!({"lead": {}, "at": "now"})), ["at"]);
        assert_eq!(fields(json!({"lead": {"city": "深圳"}})), ["lead.city"]);
        assert_eq!(fields(json!({"lead": []})), ["lead"]);
        assert!(matches!(
            subject_from(&json!({"lead_id": "01M82P55JZ0A21HC6YSZ0PKEW7", "lead": null})),
            Ok(Subject::Stored(_))
        ));
        assert!(matches!(
            subject_from(&json!({"lead": {"province": "北京"}})),
            Ok(Subject::Described(_))
        ));
    }
}
