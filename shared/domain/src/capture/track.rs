//! Behaviour tracking: an event becomes a touchpoint of its lead (found by id, phone or
//! e-mail), or an anonymous touch held until the person identifies, and the lead is
//! re-scored asynchronously (`lead.engaged`).

use crate::lead::error::FieldErrors;
use crate::lead::events::EventKind;
use crate::lead::normalize;
use crate::lead::{LeadId, Source, Touchpoint, Utm};
use crate::{capture::submission::RawSubmission, capture::submission::SubmissionRules};
use crate::{lead::messages::Envelope, lead::messages::Message};
use crate::{
    lead::ports::BusError, lead::ports::LeadStore, lead::ports::MessageBus, lead::ports::StoreError,
    lead::ports::TouchStore, qualify::ports::DedupStore,
};
use crate::{qualify::dedup::KeyKind, qualify::dedup::MatchKey};
use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

/// Events from the future (clock skew) are accepted up to this far ahead.
const MAX_SKEW: Duration = Duration::minutes(5);
/// Older events are history imports, not tracking.
const MAX_AGE_DAYS: i64 = 400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Lead(LeadId),
    Contact(MatchKey),
    Visitor(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrackedEvent {
    pub kind: EventKind,
    pub event_id: Option<String>,
    /// Most specific first: lead id, phone, e-mail, anonymous visitor id.
    pub identities: Vec<Identity>,
    pub occurred_at: DateTime<Utc>,
    pub source: Source,
}

pub fn validate_event(
    raw: &RawSubmission,
    rules: &SubmissionRules,
    now: DateTime<Utc>,
) -> Result<TrackedEvent, FieldErrors> {
    let mut errors = FieldErrors::default();
    let text = |f: &str| raw.get(f).and_then(normalize::text);
    let kind = match text("event") {
        None => {
            errors.push("event", "is required");
            None
        }
        Some(k) => match k.parse::<EventKind>() {
            Ok(kind) => Some(kind),
            Err(()) => {
                let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                errors.push("event", format!("must be one of {}", known.join(", ")));
                None
            }
        },
    };
    let mut identities = Vec::new();
    if let Some(id) = text("lead_id") {
        match LeadId::parse(&id) {
            Some(id) => identities.push(Identity::Lead(id)),
            None => errors.push("lead_id", "is not a lead id"),
        }
    }
    if let Some(phone) = text("phone") {
        match normalize::phone_e164(&phone, rules.default_region) {
            Ok(p) => identities.push(Identity::Contact(MatchKey {
                kind: KeyKind::Phone,
                value: p,
            })),
            Err(e) => errors.push("phone", e),
        }
    }
    if let Some(email) = text("email") {
        match normalize::email(&email) {
            Ok(e) => identities.push(Identity::Contact(MatchKey {
                kind: KeyKind::Email,
                value: e,
            })),
            Err(e) => errors.push("email", e),
        }
    }
    if let Some(visitor) = text("anonymous_id") {
        if visitor.len() <= 128 && visitor.chars().all(|c| c.is_ascii_graphic()) {
            identities.push(Identity::Visitor(visitor));
        } else {
            errors.push("anonymous_id", "must be at most 128 printable ASCII characters");
        }
    }
    if identities.is_empty() && errors.is_empty() {
        errors.push("lead_id", "one of lead_id, phone, email or anonymous_id is required");
    }
    let event_id = text("event_id");
    if let Some(id) = &event_id {
        if id.len() > 128 || !id.chars().all(|c| c.is_ascii_graphic()) {
            errors.push("event_id", "must be at most 128 printable ASCII characters");
        }
    }
    let occurred_at = match text("occurred_at") {
        None => now,
        Some(t) => match DateTime::parse_from_rfc3339(&t) {
            Ok(at) => {
                let at = at.with_timezone(&Utc);
                if at > now + MAX_SKEW {
                    errors.push("occurred_at", "is in the future");
                } else if at < now - Duration::days(MAX_AGE_DAYS) {
                    errors.push("occurred_at", format!("is more than {MAX_AGE_DAYS} days ago"));
                }
                at
            }
            Err(_) => {
                errors.push(
                    "occurred_at",
                    "must be an RFC 3339 timestamp, e.g. 2026-11-22T08:00:00+08:00",
                );
                now
            }
        },
    };
    let source = Source {
        channel: text("channel").unwrap_or_else(|| "web".into()).to_lowercase(),
        campaign_id: text("campaign_id"),
        utm: Utm {
            source: text("utm_source"),
            medium: text("utm_medium"),
            campaign: text("utm_campaign"),
            term: text("utm_term"),
            content: text("utm_content"),
        },
        referrer: text("referrer"),
        landing_page: text("landing_page"),
    };
    for (field, value) in [
        ("channel", &Some(source.channel.clone())),
        ("referrer", &source.referrer),
        ("landing_page", &source.landing_page),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 2048) {
            errors.push(field, "must be at most 2048 characters");
        }
    }
    match kind {
        Some(kind) if errors.is_empty() => Ok(TrackedEvent {
            kind,
            event_id,
            identities,
            occurred_at,
            source,
        }),
        _ => Err(errors),
    }
}

#[derive(Debug, Error)]
pub enum TrackError {
    #[error("no lead has id {0}")]
    UnknownLead(LeadId),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackReceipt {
    pub event_id: String,
    /// `None`: kept as an anonymous touch until the person identifies.
    pub lead_id: Option<LeadId>,
    pub duplicate: bool,
}

pub async fn track<S, B>(
    store: &S,
    bus: &B,
    event: TrackedEvent,
    now: DateTime<Utc>,
) -> Result<TrackReceipt, TrackError>
where
    S: LeadStore + DedupStore + TouchStore,
    B: MessageBus,
{
    let mut lead_id = None;
    let mut anon_key = None;
    for identity in &event.identities {
        match identity {
            Identity::Lead(id) => {
                store
                    .get_lead(id)
                    .await?
                    .ok_or_else(|| TrackError::UnknownLead(id.clone()))?;
                lead_id = Some(id.clone());
                break;
            }
            Identity::Contact(key) => {
                if let Some(holder) = store.key_holders(std::slice::from_ref(key)).await?.into_iter().next() {
                    lead_id = Some(holder.lead_id);
                    break;
                }
                anon_key.get_or_insert_with(|| key.storage_key());
            }
            Identity::Visitor(visitor) => {
                anon_key.get_or_insert_with(|| format!("anon#{visitor}"));
            }
        }
    }
    let event_id = event
        .event_id
        .clone()
        .unwrap_or_else(|| format!("ev-{}", LeadId::generate(now)));
    let touch = Touchpoint {
        anon_key: if lead_id.is_some() { None } else { anon_key },
        lead_id: lead_id.clone(),
        id: event_id.clone(),
        kind: event.kind,
        occurred_at: event.occurred_at,
        source: event.source,
    };
    let inserted = store.put_touch(&touch).await?;
    if let Some(lead_id) = &lead_id {
        // Sent on retries too: re-scoring is idempotent per event id.
        let message = Message::LeadEngaged {
            lead_id: lead_id.clone(),
            event_id: event_id.clone(),
        };
        bus.publish(&Envelope::new(message, now)).await?;
    }
    Ok(TrackReceipt {
        event_id,
        lead_id,
        duplicate: !inserted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-22T08:00:00Z".parse().unwrap()
    }

    fn check(json: &str) -> Result<TrackedEvent, Vec<String>> {
        let raw = RawSubmission::from_json(json.as_bytes()).unwrap();
        validate_event(&raw, &SubmissionRules::default(), now()).map_err(|e| e.0.into_iter().map(|f| f.field).collect())
    }

    #[test]
    fn good_events_and_their_identities() {
        let e = check(r#"{"event":"page_view","phone":"138 0013 8000","utm_source":"baidu"}"#).unwrap();
        assert_eq!(e.kind, EventKind::PageView);
        assert_eq!(
            e.identities,
            [Identity::Contact(MatchKey {
                kind: KeyKind::Phone,
                value: "+8613800138000".into()
            })]
        );
        assert_eq!(e.occurred_at, now());
        let e = check(r#"{"event":"email_open","anonymous_id":"v-123","occurred_at":"2026-11-22T15:00:00+08:00"}"#)
            .unwrap();
        assert_eq!(e.occurred_at, now() - Duration::hours(1));
    }

    #[test]
    fn bad_events_name_their_fields() {
        assert_eq!(check(r#"{"phone":"13800138000"}"#).unwrap_err(), ["event"]);
        assert_eq!(
            check(r#"{"event":"dance","phone":"13800138000"}"#).unwrap_err(),
            ["event"]
        );
        assert_eq!(check(r#"{"event":"page_view"}"#).unwrap_err(), ["lead_id"]);
        assert_eq!(
            check(r#"{"event":"page_view","lead_id":"nope"}"#).unwrap_err(),
            ["lead_id"]
        );
        assert_eq!(check(r#"{"event":"page_view","phone":"123"}"#).unwrap_err(), ["phone"]);
        assert_eq!(
            check(r#"{"event":"page_view","email":"x@y.com","occurred_at":"yesterday"}"#).unwrap_err(),
            ["occurred_at"]
        );
        assert_eq!(
            check(r#"{"event":"page_view","email":"x@y.com","occurred_at":"2027-01-01T00:00:00Z"}"#).unwrap_err(),
            ["occurred_at"]
        );
    }
}
