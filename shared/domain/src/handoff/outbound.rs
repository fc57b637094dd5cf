//! Outbound webhooks: who hears about converted leads (a CRM, a data warehouse), kept
//! as one versioned document an admin edits. Each delivery is signed as this project's
//! push sources sign theirs ([`crate::capture::hooks::sign`]): HMAC-SHA256 of
//! `<timestamp>.<body>` under the subscription's secret, so a receiver checks it the
//! same way.

use crate::capture::hooks::{sign, MIN_SECRET_CHARS, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::lead::error::{valid_id, FieldError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The event name a delivery carries in [`EVENT_HEADER`].
pub const EVENT_HEADER: &str = "x-leadflow-event";
/// The delivery's id, the same on every retry: the receiver's idempotency key.
pub const DELIVERY_HEADER: &str = "x-leadflow-delivery";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutboundEvent {
    #[serde(rename = "lead.converted")]
    LeadConverted,
}

impl OutboundEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundEvent::LeadConverted => "lead.converted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub id: String,
    /// HTTPS (or this machine, for local development).
    pub url: String,
    /// At least 32 characters; the receiver keeps the same one to check signatures.
    pub secret: String,
    pub events: Vec<OutboundEvent>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundWebhooks {
    #[serde(default)]
    pub version: u64,
    /// Required in a save, as the spec says: an empty list unsubscribes everyone, so it
    /// is never assumed.
    pub subscriptions: Vec<Subscription>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl OutboundWebhooks {
    /// Every problem, each naming its field.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (i, s) in self.subscriptions.iter().enumerate() {
            let field = |name: &str| format!("subscriptions[{i}].{name}");
            if !valid_id(&s.id) {
                errors.push(FieldError::new(field("id"), "must be 1-64 letters, digits, '-' or '_'"));
            } else if self.subscriptions[..i].iter().any(|o| o.id == s.id) {
                errors.push(FieldError::new(field("id"), "is used twice"));
            }
            match url::Url::parse(&s.url) {
                Ok(url) if url.scheme() == "https" => {}
                Ok(url)
                    if url.scheme() == "http"
                        && matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) => {}
                Ok(_) => errors.push(FieldError::new(
                    field("url"),
                    "must be https (http only to this machine)",
                )),
                Err(_) => errors.push(FieldError::new(field("url"), "is not a URL")),
            }
            if s.secret.chars().count() < MIN_SECRET_CHARS {
                errors.push(FieldError::new(
                    field("secret"),
                    format!("must be at least {MIN_SECRET_CHARS} characters"),
                ));
            }
            if s.events.is_empty() {
                errors.push(FieldError::new(field("events"), "must name at least one event"));
            }
        }
        errors
    }

    /// The active subscriptions to `event`.
    pub fn to(&self, event: OutboundEvent) -> impl Iterator<Item = &Subscription> {
        self.subscriptions
            .iter()
            .filter(move |s| s.active && s.events.contains(&event))
    }
}

impl crate::lead::versioned::Versioned for OutboundWebhooks {
    fn version(&self) -> u64 {
        self.version
    }
    fn stamp(&mut self, version: u64, at: DateTime<Utc>) {
        self.version = version;
        self.updated_at = Some(at);
    }
}

/// The headers of one delivery of `body` at `at`: content type, event, delivery id,
/// timestamp and signature.
pub fn signed_headers(
    subscription: &Subscription,
    event: OutboundEvent,
    delivery: &str,
    body: &[u8],
    at: DateTime<Utc>,
) -> Vec<(&'static str, String)> {
    let timestamp = at.timestamp();
    vec![
        ("content-type", "application/json".to_string()),
        (EVENT_HEADER, event.as_str().to_string()),
        (DELIVERY_HEADER, delivery.to_string()),
        (TIMESTAMP_HEADER, timestamp.to_string()),
        (SIGNATURE_HEADER, sign(&subscription.secret, timestamp, body)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription() -> Subscription {
        Subscription {
            id: "crm".into(),
            url: "https://crm.example.com/hooks/leadflow".into(),
            secret: "s".repeat(32),
            events: vec![OutboundEvent::LeadConverted],
            active: true,
        }
    }

    #[test]
    fn subscriptions_are_checked_field_by_field() {
        let ok = OutboundWebhooks {
            subscriptions: vec![subscription()],
            ..Default::default()
        };
        assert!(ok.validate().is_empty());
        let bad = OutboundWebhooks {
            subscriptions: vec![
                subscription(),
                Subscription {
                    url: "http://crm.example.com/".into(),
                    secret: "short".into(),
                    events: vec![],
                    ..subscription()
                },
            ],
            ..Default::default()
        };
        let fields: Vec<String> = bad.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "subscriptions[1].id",
                "subscriptions[1].url",
                "subscriptions[1].secret",
                "subscriptions[1].events"
            ]
        );
    }

    #[test]
    fn a_delivery_is_signed_as_push_sources_sign_theirs() {
        let at: DateTime<Utc> = "2026-06-01T02:00:00Z".parse().unwrap();
        let headers = signed_headers(&subscription(), OutboundEvent::LeadConverted, "d1", b"{}", at);
        let get = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        assert_eq!(get(TIMESTAMP_HEADER).as_deref(), Some("1780279200"));
        let verified = crate::capture::hooks::verify(
            &[subscription().secret],
            get(TIMESTAMP_HEADER).as_deref(),
            get(SIGNATURE_HEADER).as_deref(),
            b"{}",
            at,
        );
        assert!(verified.is_ok(), "{verified:?}");
    }
}
