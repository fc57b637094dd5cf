//! Capture: a validated submission becomes a stored `received` lead plus a
//! `lead.captured` message (or an `invalid` lead that is never routed).
//!
//! Write-then-send: the lead is stored first. If the send fails the lead stays
//! `received` and the outbox re-driver ([`redrive_stuck`]) sends it again later, so an
//! accepted lead is never lost between the two.

use crate::capture::submission::Submission;
use crate::lead::events::EventKind;
use crate::lead::ports::NewLead;
use crate::lead::{InvalidReason, Lead, LeadId, Stage, Touchpoint};
use crate::{lead::messages::Envelope, lead::messages::Message};
use crate::{
    lead::ports::create_once, lead::ports::Creation, lead::ports::LeadStore, lead::ports::MessageBus,
    lead::ports::StoreError,
};
use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureReceipt {
    pub lead_id: LeadId,
    pub stage: Stage,
    /// The submission id had been seen: this is the earlier lead, nothing new was written.
    pub duplicate: bool,
    /// Why the message was not sent, if it was not (the lead waits for the re-driver).
    pub publish_error: Option<String>,
}

/// Where a captured lead comes from, when not a live form post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The lead's creation time in the system it comes from (an import's file).
    pub created_at: Option<DateTime<Utc>>,
    pub import: Option<crate::lead::ImportRef>,
}

pub fn lead_from_submission(id: LeadId, sub: Submission, now: DateTime<Utc>) -> Lead {
    lead_from(id, sub, Origin::default(), now)
}

fn lead_from(id: LeadId, sub: Submission, origin: Origin, now: DateTime<Utc>) -> Lead {
    let (stage, invalid_reason) = if sub.honeypot {
        (Stage::Invalid, Some(InvalidReason::honeypot()))
    } else {
        (Stage::Received, None)
    };
    let mut lead = Lead::new(id, sub.source.channel.clone(), now);
    lead.set_stage(stage, now);
    lead.invalid_reason = invalid_reason;
    lead.contact = sub.contact;
    lead.company = sub.company;
    lead.profile = sub.profile;
    lead.source = sub.source;
    lead.extra = sub.extra;
    lead.unusable = sub.unusable;
    lead.consent = sub.consent;
    lead.submission_id = sub.submission_id;
    if let Some(created_at) = origin.created_at {
        lead.created_at = created_at;
        lead.stage_at.insert(Stage::Received.as_str().to_string(), created_at);
    }
    lead.import = origin.import;
    lead
}

pub async fn capture<S: LeadStore, B: MessageBus>(
    store: &S,
    bus: &B,
    submission: Submission,
    now: DateTime<Utc>,
) -> Result<CaptureReceipt, StoreError> {
    capture_from(store, bus, submission, Origin::default(), now).await
}

/// [`capture`] of a lead that has an [`Origin`] (an imported row).
pub async fn capture_from<S: LeadStore, B: MessageBus>(
    store: &S,
    bus: &B,
    submission: Submission,
    origin: Origin,
    now: DateTime<Utc>,
) -> Result<CaptureReceipt, StoreError> {
    // No read first: the store's conditional write detects a used submission id and
    // answers with the earlier lead, so a new lead costs no extra round trip.
    let build = |id: LeadId| {
        let lead = lead_from(id, submission.clone(), origin.clone(), now);
        // Bots get no touchpoint: they would pollute attribution.
        let touch = (lead.stage == Stage::Received).then(|| Touchpoint {
            lead_id: Some(lead.id.clone()),
            anon_key: None,
            id: format!("{}-form", lead.id),
            kind: EventKind::FormSubmit,
            occurred_at: lead.created_at,
            source: lead.source.clone(),
        });
        NewLead::new(lead, touch)
    };
    let lead = match create_once(store, now, build).await? {
        Creation::Duplicate(existing) => return Ok(duplicate(existing)),
        Creation::Created(lead) => *lead,
    };
    let publish_error = if lead.stage == Stage::Received {
        let envelope = Envelope::new(
            Message::LeadCaptured {
                lead_id: lead.id.clone(),
            },
            now,
        );
        bus.publish(&envelope).await.err().map(|e| e.to_string())
    } else {
        None
    };
    Ok(CaptureReceipt {
        lead_id: lead.id,
        stage: lead.stage,
        duplicate: false,
        publish_error,
    })
}

fn duplicate(lead_id: LeadId) -> CaptureReceipt {
    CaptureReceipt {
        lead_id,
        stage: Stage::Received,
        duplicate: true,
        publish_error: None,
    }
}

/// How the outbox re-driver behaves.
#[derive(Debug, Clone, Copy)]
pub struct RedrivePolicy {
    /// A lead younger than this is probably still in flight: leave it alone.
    pub grace: Duration,
    /// After this many re-sends a lead stays put for a human (the DLQ alarm will be ringing).
    pub max_redrives: u32,
    /// Bounded work per run.
    pub batch: usize,
}

impl Default for RedrivePolicy {
    fn default() -> Self {
        Self {
            grace: Duration::minutes(5),
            max_redrives: 5,
            batch: 100,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedriveReport {
    pub found: usize,
    pub resent: usize,
    pub failed: usize,
}

/// Re-sends `lead.captured` for leads stuck in `received` (the send after the write
/// failed, or the message was lost). Consumers are idempotent, so a lead that was in
/// fact delivered and is merely slow costs one duplicate message, nothing more.
pub async fn redrive_stuck<S: LeadStore, B: MessageBus>(
    store: &S,
    bus: &B,
    now: DateTime<Utc>,
    policy: RedrivePolicy,
) -> Result<RedriveReport, StoreError> {
    let stuck = store
        .stuck_in_received(now - policy.grace, policy.max_redrives, policy.batch)
        .await?;
    let mut report = RedriveReport {
        found: stuck.len(),
        ..RedriveReport::default()
    };
    for lead_id in stuck {
        let envelope = Envelope::new(
            Message::LeadCaptured {
                lead_id: lead_id.clone(),
            },
            now,
        );
        match bus.publish(&envelope).await {
            Ok(()) => {
                store.record_redrive(&lead_id).await?;
                report.resent += 1;
            }
            Err(_) => report.failed += 1,
        }
    }
    Ok(report)
}
