//! The versioned JSON envelope every queue message travels in.
//!
//! `{"v":1,"id":"lead.captured:01J…","type":"lead.captured","at":"…","data":{"lead_id":"01J…"}}`
//!
//! Consumers refuse other versions (the message goes to the DLQ for a human) rather than
//! guess. Ids are deterministic per fact, so a re-sent message is recognisably the same.

use crate::lead::LeadId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u32,
    pub id: String,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub message: Message,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Message {
    /// Intake stored a lead in `received`; dedup-score takes it from here.
    #[serde(rename = "lead.captured")]
    LeadCaptured { lead_id: LeadId },
    /// A behaviour event was recorded for the lead: re-score it.
    #[serde(rename = "lead.engaged")]
    LeadEngaged { lead_id: LeadId, event_id: String },
    /// The person came back (a repeat) and the source lead has an owner: tell them.
    #[serde(rename = "lead.returned")]
    LeadReturned { lead_id: LeadId, repeat_id: LeadId },
    /// The owner's lead woke from sleep (`event_id` is the touch that woke it): tell them.
    #[serde(rename = "lead.woke")]
    LeadWoke { lead_id: LeadId, event_id: String },
    /// The lead needs an owner (new, a repeat whose source has none, crossed MQL, woke up).
    #[serde(rename = "lead.ready")]
    LeadReady {
        lead_id: LeadId,
        reason: ReadyReason,
        /// The lead's version when it became ready: one message per fact.
        version: u64,
    },
    /// The lead got a new owner: send the owner's (or pool's) webhook notice, once.
    #[serde(rename = "lead.assigned")]
    LeadAssigned { lead_id: LeadId, change_id: String },
    /// The lead converted and its hand-off is stored: deliver it to the outbound
    /// webhooks ([`crate::handoff::deliver`]).
    #[serde(rename = "lead.converted")]
    LeadConverted { lead_id: LeadId },
    /// A follow-up deadline is near: remind the owner.
    #[serde(rename = "sla.reminder")]
    SlaReminder {
        lead_id: LeadId,
        clock: String,
        due_at: DateTime<Utc>,
    },
    /// A deadline was missed: tell the owner and the pool's manager channel.
    #[serde(rename = "sla.breached")]
    SlaBreached {
        lead_id: LeadId,
        violation_id: String,
        owner: String,
    },
    /// A conversion revision was recorded: credit it to marketing.
    #[serde(rename = "conversion.recorded")]
    ConversionRecorded { external_id: String, revision: u64 },
    /// Rows of an accepted import to capture ([`crate::import::run::process_chunk`]).
    #[serde(rename = "import.chunk")]
    ImportChunk {
        import_id: String,
        chunk: u64,
        rows: Vec<crate::lead::messages::Row>,
    },
    /// An admin asked for a model training run ([`crate::predict::modeling::train_challenger`]).
    #[serde(rename = "model.train")]
    ModelTrain { request_id: String, requested_by: String },
    /// Run chunk `chunk` of a roster job (a transfer, a recycle to a lowered cap):
    /// [`crate::roster::run::run_chunk`].
    #[serde(rename = "job.chunk")]
    JobChunk { job_id: String, chunk: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadyReason {
    New,
    Repeat,
    Mql,
    Woke,
    /// Offered again while it waits in a pool (the sweep, when someone may be free).
    Waiting,
    /// Recycled from an owner who missed a deadline: to the next rep.
    Recycled,
}

/// Which queue a message belongs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// lead.captured and lead.engaged → dedup-score.
    Capture,
    /// lead.ready, lead.returned, lead.woke, lead.assigned, lead.converted, the SLA notices and job.chunk → assign
    /// (routing, owner notices, roster jobs).
    Ready,
    /// conversion.recorded → attribution.
    Conversions,
    /// import.chunk → import.
    Import,
    /// model.train → train.
    Models,
}

impl Message {
    pub fn type_name(&self) -> &'static str {
        match self {
            Message::LeadCaptured { .. } => "lead.captured",
            Message::LeadEngaged { .. } => "lead.engaged",
            Message::LeadReady { .. } => "lead.ready",
            Message::LeadReturned { .. } => "lead.returned",
            Message::LeadWoke { .. } => "lead.woke",
            Message::LeadConverted { .. } => "lead.converted",
            Message::LeadAssigned { .. } => "lead.assigned",
            Message::SlaReminder { .. } => "sla.reminder",
            Message::SlaBreached { .. } => "sla.breached",
            Message::ConversionRecorded { .. } => "conversion.recorded",
            Message::ImportChunk { .. } => "import.chunk",
            Message::ModelTrain { .. } => "model.train",
            Message::JobChunk { .. } => "job.chunk",
        }
    }
    pub fn topic(&self) -> Topic {
        match self {
            Message::LeadCaptured { .. } | Message::LeadEngaged { .. } => Topic::Capture,
            Message::LeadReady { .. }
            | Message::LeadReturned { .. }
            | Message::LeadWoke { .. }
            | Message::LeadConverted { .. }
            | Message::LeadAssigned { .. }
            | Message::SlaReminder { .. }
            | Message::SlaBreached { .. }
            | Message::JobChunk { .. } => Topic::Ready,
            Message::ConversionRecorded { .. } => Topic::Conversions,
            Message::ImportChunk { .. } => Topic::Import,
            Message::ModelTrain { .. } => Topic::Models,
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("message is not valid JSON: {0}")]
    NotJson(String),
    #[error("message schema version {0} is not supported (expected {SCHEMA_VERSION})")]
    UnsupportedVersion(u64),
    #[error("message does not match schema v{SCHEMA_VERSION}: {0}")]
    Malformed(String),
}

impl Envelope {
    pub fn new(message: Message, at: DateTime<Utc>) -> Self {
        let id = match &message {
            Message::LeadCaptured { lead_id } => format!("{}:{lead_id}", message.type_name()),
            Message::LeadEngaged { event_id, .. } => format!("{}:{event_id}", message.type_name()),
            Message::LeadReady { lead_id, version, .. } => format!("{}:{lead_id}:{version}", message.type_name()),
            Message::LeadReturned { repeat_id, .. } => format!("{}:{repeat_id}", message.type_name()),
            Message::LeadWoke { event_id, .. } => format!("{}:{event_id}", message.type_name()),
            Message::LeadConverted { lead_id } => format!("{}:{lead_id}", message.type_name()),
            Message::LeadAssigned { change_id, .. } => format!("{}:{change_id}", message.type_name()),
            Message::SlaReminder { lead_id, clock, due_at } => {
                format!("{}:{lead_id}:{clock}:{}", message.type_name(), due_at.timestamp())
            }
            Message::SlaBreached { violation_id, .. } => format!("{}:{violation_id}", message.type_name()),
            Message::ConversionRecorded { external_id, revision } => {
                format!("{}:{external_id}:{revision}", message.type_name())
            }
            Message::ImportChunk { import_id, chunk, .. } => format!("{}:{import_id}:{chunk}", message.type_name()),
            Message::ModelTrain { request_id, .. } => format!("{}:{request_id}", message.type_name()),
            Message::JobChunk { job_id, chunk } => format!("{}:{job_id}:{chunk}", message.type_name()),
        };
        Self {
            v: SCHEMA_VERSION,
            id,
            at,
            message,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("envelope serialises")
    }

    pub fn from_json(body: &str) -> Result<Self, EnvelopeError> {
        let value: serde_json::Value = serde_json::from_str(body).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
        match value.get("v").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            Some(v) => return Err(EnvelopeError::UnsupportedVersion(v)),
            None => return Err(EnvelopeError::Malformed("missing numeric `v`".into())),
        }
        serde_json::from_value(value).map_err(|e| EnvelopeError::Malformed(e.to_string()))
    }
}

/// One data row: lead field → value as in the file, with its line number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub line: u64,
    pub fields: std::collections::BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wire_shape() {
        let at = "2026-11-22T08:00:00Z".parse().unwrap();
        let lead_id = LeadId::parse("01JD0000000000000000000000").unwrap();
        let env = Envelope::new(
            Message::LeadCaptured {
                lead_id: lead_id.clone(),
            },
            at,
        );
        let json = env.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["v"], 1);
        assert_eq!(value["type"], "lead.captured");
        assert_eq!(value["data"]["lead_id"], lead_id.as_str());
        assert_eq!(value["id"], format!("lead.captured:{lead_id}"));
        assert_eq!(Envelope::from_json(&json).unwrap(), env);
    }

    #[test]
    fn versions_and_garbage_are_refused() {
        assert_eq!(
            Envelope::from_json(r#"{"v":2,"type":"lead.captured"}"#),
            Err(EnvelopeError::UnsupportedVersion(2))
        );
        assert!(matches!(Envelope::from_json("nope"), Err(EnvelopeError::NotJson(_))));
        assert!(matches!(
            Envelope::from_json(r#"{"v":1,"type":"x"}"#),
            Err(EnvelopeError::Malformed(_))
        ));
    }
}
