//! Converting a lead and handing it to the CRM: the `convert` action moves the stage
//! ([`crate::assign::actions`]); then the customer is linked (the one dedup matched, or
//! the one its company or phone names, by dedup's rule for the same company) or created, the contact taken from the lead, an
//! opportunity opened as a conversion of kind `opportunity` (so ROI counts it without
//! anyone posting it), the hand-off stored once, and `lead.converted` queued for the
//! outbound webhooks ([`crate::handoff::deliver`]).
//!
//! Each step is idempotent, so a request that failed halfway is simply sent again: a
//! converted lead without its hand-off finishes it, one with it re-sends what follows
//! (the conversion is keyed by the lead, the message by its id, the webhook marks by
//! subscription and lead).

use crate::assign::actions::{act, may_work, ActError, Action, Actor};
use crate::assign::ports::RoutingStore;
use crate::attribution::conversion::{ConversionKind, ConversionRequest, LeadRef};
use crate::attribution::credit::{record, RecordError};
use crate::attribution::money::cents_from_json;
use crate::attribution::ports::ConversionStore;
use crate::follow_up::ports::SlaStore;
use crate::handoff::ports::HandoffStore;
use crate::lead::error::FieldError;
use crate::lead::ports::{BusError, LeadStore, MessageBus, Saved, StoreError};
use crate::lead::{Lead, LeadId, Stage};
use crate::qualify::company::core_name;
use crate::qualify::customer::{matching_customer, Customer};
use crate::qualify::ports::{DedupStore, RulesStore};
use crate::{lead::messages::Envelope, lead::messages::Message};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The person the CRM gets as the customer's contact, as the lead has them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub title: Option<String>,
}

/// The opportunity a conversion opens: its conversion's external id, amount in the
/// books' currency and expected close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opportunity {
    pub id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub expected_close: Option<NaiveDate>,
}

/// What a conversion handed to the CRM, stored once per lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    pub lead_id: LeadId,
    pub customer_id: String,
    pub customer_name: String,
    /// This conversion created the customer (else it linked an existing one).
    pub customer_created: bool,
    pub contact: Contact,
    pub opportunity: Opportunity,
    pub owner: Option<String>,
    pub converted_by: String,
    pub converted_at: DateTime<Utc>,
    /// The outbound webhook subscriptions that have it ([`crate::handoff::deliver`]).
    #[serde(default)]
    pub delivered_to: Vec<String>,
}

/// The opportunity fields of a `convert` action, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpportunityInput {
    pub amount_cents: i64,
    pub expected_close: Option<NaiveDate>,
}

/// `amount` (in the books' currency, 0 when not yet known) and `expected_close` of a
/// `convert` action; `None` for any other action.
pub fn opportunity_input(action: &Action) -> Option<Result<OpportunityInput, FieldError>> {
    let Action::Convert {
        amount, expected_close, ..
    } = action
    else {
        return None;
    };
    Some(match amount.as_ref().map(cents_from_json).transpose() {
        Ok(cents) if cents.is_some_and(|c| c < 0) => Err(FieldError::new("amount", "must not be negative")),
        Ok(cents) => Ok(OpportunityInput {
            amount_cents: cents.unwrap_or(0),
            expected_close: *expected_close,
        }),
        Err(e) => Err(FieldError::new("amount", e.to_string())),
    })
}

#[derive(Debug, Error)]
pub enum ConvertError {
    #[error(transparent)]
    Act(#[from] ActError),
    #[error("{}: {}", .0.field, .0.reason)]
    Invalid(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("the opportunity could not be recorded: {0}")]
    Record(String),
}

impl From<RecordError> for ConvertError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Store(e) => ConvertError::Store(e),
            RecordError::Bus(e) => ConvertError::Bus(e),
            other => ConvertError::Record(other.to_string()),
        }
    }
}

/// The opportunity's conversion id: one per lead.
pub fn opportunity_id(lead: &LeadId) -> String {
    format!("lead:{lead}:opportunity")
}

/// Converts `lead_id` for `actor` (`action` is a `convert`) and hands it off; returns the
/// lead as saved and its hand-off. `currency` is the books'.
pub async fn convert<S, B>(
    store: &S,
    bus: &B,
    lead_id: &LeadId,
    action: &Action,
    actor: &Actor,
    currency: &str,
    now: DateTime<Utc>,
) -> Result<(Lead, Handoff), ConvertError>
where
    S: LeadStore + RoutingStore + SlaStore + DedupStore + RulesStore + ConversionStore + HandoffStore,
    B: MessageBus,
{
    let input = match opportunity_input(action) {
        Some(Ok(input)) => input,
        Some(Err(e)) => return Err(ConvertError::Invalid(e)),
        None => return Err(ConvertError::Invalid(FieldError::new("action", "must be convert"))),
    };
    let current = store.get_lead(lead_id).await?.ok_or(ActError::NotFound)?;
    let lead = if current.stage == Stage::Converted {
        // A retry of a conversion that failed after its stage moved: finish it.
        may_work(actor, &current)?;
        current
    } else {
        match act(store, bus, lead_id, action, actor, now).await {
            Ok(lead) => lead,
            // The same conversion sent twice at once: the other request moved the stage.
            Err(ActError::Conflict(reason)) => match store.get_lead(lead_id).await? {
                Some(lead) if lead.stage == Stage::Converted => {
                    may_work(actor, &lead)?;
                    lead
                }
                _ => return Err(ActError::Conflict(reason).into()),
            },
            Err(e) => return Err(e.into()),
        }
    };
    let handoff = match store.handoff(lead_id).await? {
        Some(existing) => existing,
        None => {
            let mut fresh = hand_off(store, &lead, input, actor, currency, now).await?;
            // Erased meanwhile (the lead above was read before): the person stays out.
            if store.get_lead(lead_id).await?.is_some_and(|l| l.erased_at.is_some()) {
                fresh.contact = Contact::default();
            }
            match store.create_handoff(&fresh).await? {
                Saved::Saved => fresh,
                Saved::Conflict => store.handoff(lead_id).await?.unwrap_or(fresh),
            }
        }
    };
    let request = ConversionRequest {
        external_id: handoff.opportunity.id.clone(),
        lead: LeadRef::Id(lead.id.clone()),
        kind: ConversionKind::Opportunity,
        amount_cents: handoff.opportunity.amount_cents,
        currency: handoff.opportunity.currency.clone(),
        occurred_at: handoff.converted_at,
        cancelled: false,
    };
    // Recorded once: a later revision (finance corrected or cancelled it) is the truth,
    // and a conversion sent again must not undo it. Revision 1 is recorded again, which
    // changes nothing and re-queues it for attribution if that send had failed.
    let recorded = store.conversion(&handoff.opportunity.id).await?;
    if recorded.is_none_or(|c| c.current.revision == 1) {
        record(store, bus, &request, &handoff.converted_by, now).await?;
    }
    let message = Message::LeadConverted {
        lead_id: lead.id.clone(),
    };
    bus.publish(&Envelope::new(message, now)).await?;
    Ok((lead, handoff))
}

/// The hand-off of `lead`: its customer linked or created (with the lead's phone as a
/// contact phone and its owner as the owner), its contact and its opportunity.
async fn hand_off<S: DedupStore + RulesStore + HandoffStore>(
    store: &S,
    lead: &Lead,
    input: OpportunityInput,
    actor: &Actor,
    currency: &str,
    now: DateTime<Utc>,
) -> Result<Handoff, StoreError> {
    let company = lead.company.as_ref().map(|c| c.raw.clone());
    let core = company.as_deref().map(core_name).filter(|c| c.chars().count() >= 2);
    let known = match lead.dedup.as_ref().and_then(|d| d.customer_id.clone()) {
        Some(id) => Some(id),
        None => {
            let threshold = store.rules().await?.dedup.fuzzy_company_threshold;
            matching_customer(store, lead.contact.phone.as_deref(), core.as_deref(), threshold)
                .await?
                .map(|m| m.customer_id)
        }
    };
    let name = company
        .clone()
        .or_else(|| lead.contact.name.clone())
        .unwrap_or_else(|| lead.id.to_string());
    let (customer_id, name, created) = match known {
        Some(id) => {
            // The CRM knows the customer by its own name, not by the lead's spelling.
            let stored = store.customer(&id).await?.map_or(name, |c| c.name);
            (id, stored, false)
        }
        None => {
            let customer = Customer {
                id: format!("lead-{}", lead.id),
                name: name.clone(),
                company_core: core.unwrap_or_default(),
                contact_phones: lead.contact.phone.iter().cloned().collect(),
                owner: lead.owner.clone(),
            };
            store.put_customer(&customer).await?;
            (customer.id, name, true)
        }
    };
    Ok(Handoff {
        lead_id: lead.id.clone(),
        customer_id,
        customer_name: name,
        customer_created: created,
        contact: Contact {
            name: lead.contact.name.clone(),
            phone: lead.contact.phone.clone(),
            email: lead.contact.email.clone(),
            wechat: lead.contact.wechat.clone(),
            title: lead.profile.title.clone(),
        },
        opportunity: Opportunity {
            id: opportunity_id(&lead.id),
            amount_cents: input.amount_cents,
            currency: currency.to_string(),
            expected_close: input.expected_close,
        },
        owner: lead.owner.clone(),
        converted_by: actor.id.clone(),
        converted_at: lead.stage_at.get(Stage::Converted.as_str()).copied().unwrap_or(now),
        delivered_to: Vec::new(),
    })
}
