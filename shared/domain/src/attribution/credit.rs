//! Crediting conversions to marketing: from a recorded conversion revision to rollup
//! rows, applied exactly once.
//!
//! 1. [`record`] (the API) stores a new revision when the facts changed and sends
//!    `conversion.recorded`; a duplicate changes nothing and re-sends (harmless).
//! 2. [`settle`] (the attribution function) brings a conversion's rollups up to its
//!    current revision, one revision at a time. For revision `r` it computes the
//!    revision's *plan*, the absolute rows it contributes (funnel counts and amounts,
//!    each model's credits), and stores it once: a retry reads the stored plan, so
//!    touches arriving later cannot make two workers add different numbers. It then adds
//!    `plan(r) - plan(r-1)` in chunks; each chunk is one transaction that also marks the
//!    chunk done on the revision, so a redelivered message adds nothing twice.
//!    Cancelling is a revision with an empty plan: it takes back what was added.

use crate::lead::error::FieldError;
use crate::lead::{Lead, LeadId, Stage, Touchpoint};
use crate::{
    attribution::conversion::Conversion, attribution::conversion::ConversionKind,
    attribution::conversion::ConversionRequest, attribution::conversion::LeadRef,
};
use crate::{
    attribution::multi_touch::attribute, attribution::multi_touch::in_window, attribution::multi_touch::Model,
    attribution::multi_touch::Touch,
};
use crate::{
    attribution::ports::ConversionStore, lead::ports::BusError, lead::ports::LeadStore, lead::ports::MessageBus,
    lead::ports::Saved, lead::ports::StoreError, qualify::ports::DedupStore,
};
use crate::{
    attribution::rollup::delta, attribution::rollup::merge, attribution::rollup::RollupRow, lead::funnel::report_day,
    lead::funnel::SourceKey, lead::funnel::FUNNEL,
};
use crate::{lead::messages::Envelope, lead::messages::Message};
use crate::{qualify::dedup::KeyKind, qualify::dedup::MatchKey};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use thiserror::Error;

/// Rows per transaction: DynamoDB takes 100 items, two go to the revision and its head.
pub const CHUNK_ROWS: usize = 90;

/// Which models run, over which window, in which currency (`CONFIG#attribution`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributionConfig {
    #[serde(default)]
    pub version: u64,
    /// Touches this many days before a conversion count (default 90).
    pub window_days: u32,
    /// The currency the books are kept in; conversions in another are refused.
    pub currency: String,
    /// Name → model. Every conversion is credited under each of them.
    pub models: BTreeMap<String, Model>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for AttributionConfig {
    fn default() -> Self {
        Self {
            version: 0,
            window_days: 90,
            currency: "CNY".into(),
            models: BTreeMap::from([
                ("first_touch".to_string(), Model::FirstTouch),
                ("last_touch".to_string(), Model::LastTouch),
                ("linear".to_string(), Model::Linear),
                ("u_shaped".to_string(), Model::U_SHAPED),
                ("w_shaped".to_string(), Model::W_SHAPED),
                ("time_decay".to_string(), Model::TimeDecay { half_life_days: 7 }),
            ]),
            updated_at: None,
        }
    }
}

impl AttributionConfig {
    pub const MAX_MODELS: usize = 12;

    pub fn window(&self) -> Duration {
        Duration::days(i64::from(self.window_days))
    }

    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !(1..=730).contains(&self.window_days) {
            errors.push(FieldError::new("window_days", "must be between 1 and 730"));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            errors.push(FieldError::new("currency", "must be an ISO 4217 code such as CNY"));
        }
        if self.models.is_empty() || self.models.len() > Self::MAX_MODELS {
            errors.push(FieldError::new(
                "models",
                format!("name between 1 and {} models", Self::MAX_MODELS),
            ));
        }
        for (name, model) in &self.models {
            let well_named = (1..=32).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !well_named || name == FUNNEL {
                errors.push(FieldError::new(
                    format!("models.{name}"),
                    "names are 1-32 of a-z, 0-9, _ (and not `funnel`)",
                ));
            }
            for e in model.validate() {
                errors.push(FieldError::new(format!("models.{name}"), e.reason));
            }
        }
        errors
    }
}

/// The absolute rows one conversion revision contributes.
///
/// - Funnel: the conversion counts once (`orders: 1`) with its amount, under the lead's
///   own source, on the conversion's report day.
/// - Each model: the amount split over the touches inside the window, added up per touch
///   source. Without a touch in the window the amount goes to `(unattributed)`, so
///   every model's rows still add up to the revenue.
///
/// `opportunity_at`: when the lead's opportunity was created (W-shaped's third anchor is
/// the last touch before it).
pub fn plan(
    conversion: &Conversion,
    lead: &Lead,
    touches: &[Touchpoint],
    opportunity_at: Option<DateTime<Utc>>,
    config: &AttributionConfig,
) -> Vec<RollupRow> {
    if conversion.cancelled {
        return Vec::new();
    }
    let day = report_day(conversion.occurred_at);
    let kind = conversion.kind;
    let amount = conversion.amount_cents;
    let mut rows = vec![RollupRow::new(FUNNEL, day, SourceKey::of(&lead.source))
        .with(kind.count_field(), 1)
        .with(kind.cents_field(), amount)];

    let sources: HashMap<&str, SourceKey> = touches
        .iter()
        .map(|t| (t.id.as_str(), SourceKey::of(&t.source)))
        .collect();
    let all: Vec<Touch> = touches
        .iter()
        .map(|t| Touch {
            id: t.id.clone(),
            at: t.occurred_at,
        })
        .collect();
    let counted = in_window(&all, conversion.occurred_at, config.window());
    let opportunity_touch = opportunity_at
        .filter(|_| kind != ConversionKind::Opportunity)
        .and_then(|at| counted.iter().rev().find(|t| t.at <= at))
        .map(|t| t.id.as_str());

    let unattributed = SourceKey::unattributed();
    let unknown = SourceKey::default();
    for (name, model) in &config.models {
        // Added up per source first: a thousand touches from a few campaigns make a few rows.
        let mut per_source: BTreeMap<&SourceKey, i64> = BTreeMap::new();
        if counted.is_empty() {
            per_source.insert(&unattributed, amount);
        }
        for credit in attribute(model, &counted, conversion.occurred_at, amount, opportunity_touch) {
            let source = sources.get(credit.touch_id.as_str()).unwrap_or(&unknown);
            *per_source.entry(source).or_default() += credit.cents;
        }
        rows.extend(
            per_source
                .into_iter()
                .map(|(source, cents)| RollupRow::new(name, day, source.clone()).with(kind.cents_field(), cents)),
        );
    }
    merge(rows)
}

/// The state of a conversion: its current revision and how far the rollups have got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversionState {
    pub current: Conversion,
    /// The last revision whose rows were added (0: none yet).
    pub applied: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkOutcome {
    Applied,
    /// Done before (a redelivery or a concurrent worker): nothing was added.
    AlreadyApplied,
    /// The previous revision is not applied yet: nothing was added.
    OutOfTurn,
}

#[derive(Debug, Error)]
pub enum CreditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("no conversion {0}")]
    UnknownConversion(String),
    #[error("conversion {0} names lead {1}, which does not exist")]
    UnknownLead(String, LeadId),
    #[error("conversion {0}: revision {1} is not applied yet; retry")]
    OutOfTurn(String, u64),
    #[error("conversion {0}: {1}")]
    Inconsistent(String, String),
}

/// What [`settle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settled {
    pub revisions: u64,
    pub rows: usize,
    pub chunks_skipped: usize,
}

pub trait CreditStore: ConversionStore + LeadStore + DedupStore {}
impl<T: ConversionStore + LeadStore + DedupStore> CreditStore for T {}

/// The lead a conversion is credited to: a collected repeat's source lead.
async fn crediting_lead<S: CreditStore>(store: &S, conversion: &Conversion) -> Result<Lead, CreditError> {
    let missing = || CreditError::UnknownLead(conversion.external_id.clone(), conversion.lead_id.clone());
    let lead = store.get_lead(&conversion.lead_id).await?.ok_or_else(missing)?;
    match (&lead.stage, lead.dedup.as_ref().and_then(|d| d.repeat_of.clone())) {
        (Stage::Merged, Some(source)) => Ok(store.get_lead(&source).await?.unwrap_or(lead)),
        _ => Ok(lead),
    }
}

/// The lead's touches and those of the repeats collected under it (anonymous touches
/// were moved under the lead when it identified itself), each once.
pub async fn lead_touches<S: LeadStore + DedupStore>(store: &S, lead: &LeadId) -> Result<Vec<Touchpoint>, StoreError> {
    let mut touches = store.touchpoints(lead).await?;
    for repeat in store.repeats_of(lead).await? {
        touches.extend(store.touchpoints(&repeat).await?);
    }
    let mut seen = std::collections::HashSet::new();
    touches.retain(|t| seen.insert(t.id.clone()));
    Ok(touches)
}

async fn compute_plan<S: CreditStore>(
    store: &S,
    conversion: &Conversion,
    config: &AttributionConfig,
) -> Result<Vec<RollupRow>, CreditError> {
    if conversion.cancelled {
        return Ok(Vec::new());
    }
    let lead = crediting_lead(store, conversion).await?;
    let touches = lead_touches(store, &lead.id).await?;
    let opportunity_at = store
        .lead_conversions(&lead.id)
        .await?
        .into_iter()
        .chain(if lead.id == conversion.lead_id {
            None
        } else {
            store.lead_conversions(&conversion.lead_id).await?.into_iter().next()
        })
        .filter(|c| c.kind == ConversionKind::Opportunity && !c.cancelled)
        .map(|c| c.occurred_at)
        .min();
    Ok(plan(conversion, &lead, &touches, opportunity_at, config))
}

/// Brings the rollups of conversion `external_id` up to its current revision.
pub async fn settle<S: CreditStore>(store: &S, external_id: &str) -> Result<Settled, CreditError> {
    let state = store
        .conversion(external_id)
        .await?
        .ok_or_else(|| CreditError::UnknownConversion(external_id.to_string()))?;
    let mut done = Settled::default();
    let mut config: Option<AttributionConfig> = None;
    let mut before: Vec<RollupRow> = match state.applied {
        0 => Vec::new(),
        r => store.plan(external_id, r).await?.ok_or_else(|| {
            CreditError::Inconsistent(external_id.into(), format!("applied revision {r} has no plan"))
        })?,
    };
    for revision in state.applied + 1..=state.current.revision {
        let rows = match store.plan(external_id, revision).await? {
            Some(rows) => rows,
            None => {
                let conversion = if revision == state.current.revision {
                    state.current.clone()
                } else {
                    store.conversion_revision(external_id, revision).await?.ok_or_else(|| {
                        CreditError::Inconsistent(external_id.into(), format!("revision {revision} is missing"))
                    })?
                };
                if config.is_none() {
                    config = Some(store.attribution_config().await?);
                }
                let computed = compute_plan(store, &conversion, config.as_ref().expect("just read")).await?;
                // Whoever stored a plan first wins; everyone adds that one.
                store.save_plan(external_id, revision, &computed).await?
            }
        };
        let change = delta(&rows, &before);
        for (chunk, part) in change.chunks(CHUNK_ROWS).enumerate() {
            match store.apply_chunk(external_id, revision, chunk, part).await? {
                ChunkOutcome::Applied => done.rows += part.len(),
                ChunkOutcome::AlreadyApplied => done.chunks_skipped += 1,
                ChunkOutcome::OutOfTurn => return Err(CreditError::OutOfTurn(external_id.into(), revision - 1)),
            }
        }
        // A lost race here means another worker finished the same revision.
        let _ = store.mark_applied(external_id, revision).await?;
        done.revisions += 1;
        before = rows;
    }
    Ok(done)
}

#[derive(Debug, Error)]
pub enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The named lead does not exist (`field` says how it was named).
    #[error("{field}: no lead matches")]
    NoLead { field: &'static str },
    /// Someone recorded another revision in between: read again.
    #[error("the conversion changed while this request was handled")]
    Conflict,
}

/// What [`record`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    Created(Conversion),
    Revised(Conversion),
    /// Nothing new: the stored revision is returned.
    Unchanged(Conversion),
}

async fn resolve_lead<S: LeadStore + DedupStore>(store: &S, lead: &LeadRef) -> Result<LeadId, RecordError> {
    let (kind, value, field) = match lead {
        LeadRef::Id(id) => {
            return match store.get_lead(id).await? {
                Some(_) => Ok(id.clone()),
                None => Err(RecordError::NoLead { field: "lead_id" }),
            }
        }
        LeadRef::Phone(phone) => (KeyKind::Phone, phone, "phone"),
        LeadRef::Email(email) => (KeyKind::Email, email, "email"),
    };
    let key = MatchKey {
        kind,
        value: value.clone(),
    };
    store
        .key_holders(&[key])
        .await?
        .into_iter()
        .next()
        .map(|h| h.lead_id)
        .ok_or(RecordError::NoLead { field })
}

/// Records a reported conversion (a new one, a correction or a duplicate) and sends it
/// to attribution. Write first, then send: a failed send fails the request, and the
/// sender's retry (a duplicate) sends again.
pub async fn record<S, B>(
    store: &S,
    bus: &B,
    request: &ConversionRequest,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Recorded, RecordError>
where
    S: ConversionStore + LeadStore + DedupStore,
    B: MessageBus,
{
    let lead_id = resolve_lead(store, &request.lead).await?;
    let current = store.conversion(&request.external_id).await?.map(|s| s.current);
    let outcome = match crate::attribution::conversion::revise(current.as_ref(), &lead_id, request, by, now) {
        None => Recorded::Unchanged(current.expect("unchanged means stored")),
        Some(next) => {
            if store.record_conversion(&next).await? == Saved::Conflict {
                return Err(RecordError::Conflict);
            }
            match next.revision {
                1 => Recorded::Created(next),
                _ => Recorded::Revised(next),
            }
        }
    };
    publish(bus, outcome.conversion(), now).await?;
    Ok(outcome)
}

/// Sends `conversion.recorded` for a stored revision.
pub async fn publish<B: MessageBus>(bus: &B, conversion: &Conversion, now: DateTime<Utc>) -> Result<(), BusError> {
    bus.publish(&Envelope::new(
        Message::ConversionRecorded {
            external_id: conversion.external_id.clone(),
            revision: conversion.revision,
        },
        now,
    ))
    .await
}

impl Recorded {
    pub fn conversion(&self) -> &Conversion {
        match self {
            Recorded::Created(c) | Recorded::Revised(c) | Recorded::Unchanged(c) => c,
        }
    }
}

impl crate::lead::versioned::Versioned for AttributionConfig {
    fn version(&self) -> u64 {
        self.version
    }
    fn stamp(&mut self, version: u64, at: chrono::DateTime<chrono::Utc>) {
        self.version = version;
        self.updated_at = Some(at);
    }
}
