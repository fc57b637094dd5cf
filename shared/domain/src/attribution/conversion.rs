//! Conversions (opportunities, orders, payments) as the CRM or the finance system
//! reports them: idempotent on the sender's `external_id`, corrected by re-sending.
//!
//! Every change of a conversion's facts makes a new revision; cancelling is a revision
//! too. Attribution turns each revision into rollup rows and applies only the
//! difference from the previous revision ([`crate::attribution::credit`]), so a changed amount, a
//! moved date or a cancelled order corrects the reports instead of adding to them.

use crate::attribution::money;
use crate::lead::error::FieldErrors;
use crate::lead::LeadId;
use crate::{lead::normalize, lead::normalize::Region};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversionKind {
    Opportunity,
    Order,
    Payment,
}

impl ConversionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversionKind::Opportunity => "opportunity",
            ConversionKind::Order => "order",
            ConversionKind::Payment => "payment",
        }
    }
    /// The funnel counter of this kind.
    pub fn count_field(self) -> &'static str {
        match self {
            ConversionKind::Opportunity => "opportunities",
            ConversionKind::Order => "orders",
            ConversionKind::Payment => "payments",
        }
    }
    /// The amount field, in funnel rows and model rows alike.
    pub fn cents_field(self) -> &'static str {
        match self {
            ConversionKind::Opportunity => "opportunity_cents",
            ConversionKind::Order => "order_cents",
            ConversionKind::Payment => "payment_cents",
        }
    }
}

/// How the sender names the lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadRef {
    Id(LeadId),
    /// E.164.
    Phone(String),
    Email(String),
}

/// A parsed `POST /v1/conversions` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionRequest {
    pub external_id: String,
    pub lead: LeadRef,
    pub kind: ConversionKind,
    pub amount_cents: i64,
    pub currency: String,
    pub occurred_at: DateTime<Utc>,
    pub cancelled: bool,
}

/// One revision of a conversion, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    pub external_id: String,
    /// 1 for the first report, +1 per change.
    pub revision: u64,
    pub lead_id: LeadId,
    pub kind: ConversionKind,
    pub amount_cents: i64,
    pub currency: String,
    pub occurred_at: DateTime<Utc>,
    #[serde(default)]
    pub cancelled: bool,
    pub recorded_at: DateTime<Utc>,
    /// Who reported it (a user or machine client id).
    pub recorded_by: String,
}

impl Conversion {
    fn same_facts(&self, lead_id: &LeadId, request: &ConversionRequest) -> bool {
        &self.lead_id == lead_id
            && self.kind == request.kind
            && self.amount_cents == request.amount_cents
            && self.currency == request.currency
            && self.occurred_at == request.occurred_at
            && self.cancelled == request.cancelled
    }
}

/// The next revision for `request` over `current`, or `None` when it says nothing new
/// (a duplicate delivery).
pub fn revise(
    current: Option<&Conversion>,
    lead_id: &LeadId,
    request: &ConversionRequest,
    by: &str,
    now: DateTime<Utc>,
) -> Option<Conversion> {
    if current.is_some_and(|c| c.same_facts(lead_id, request)) {
        return None;
    }
    Some(Conversion {
        external_id: request.external_id.clone(),
        revision: current.map_or(1, |c| c.revision + 1),
        lead_id: lead_id.clone(),
        kind: request.kind,
        amount_cents: request.amount_cents,
        currency: request.currency.clone(),
        occurred_at: request.occurred_at,
        cancelled: request.cancelled,
        recorded_at: now,
        recorded_by: by.to_string(),
    })
}

/// The same conversion, cancelled (a `DELETE`), or `None` if it already is.
pub fn cancel(current: &Conversion, by: &str, now: DateTime<Utc>) -> Option<Conversion> {
    (!current.cancelled).then(|| Conversion {
        revision: current.revision + 1,
        cancelled: true,
        recorded_at: now,
        recorded_by: by.to_string(),
        ..current.clone()
    })
}

/// `ORD-2026-0001`, `crm:opp:42`: what a sender's own ids look like.
pub fn valid_external_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'))
}

/// Parses and checks a conversion; every problem is reported with its field.
/// `currency` is the one the books are kept in: amounts in another are refused rather
/// than silently mixed.
pub fn parse_request(
    body: &[u8],
    currency: &str,
    region: Region,
    now: DateTime<Utc>,
) -> Result<ConversionRequest, FieldErrors> {
    let mut errors = FieldErrors::default();
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        Ok(_) => {
            errors.push("body", "must be a JSON object");
            return Err(errors);
        }
        Err(e) => {
            errors.push("body", format!("is not valid JSON: {e}"));
            return Err(errors);
        }
    };
    let text = |name: &str| value.get(name).and_then(serde_json::Value::as_str).map(str::trim);

    let external_id = text("external_id").unwrap_or_default().to_string();
    if !valid_external_id(&external_id) {
        errors.push(
            "external_id",
            "is required: 1-128 letters, digits or - _ . : / (your system's id, makes re-sending safe)",
        );
    }

    let lead = if let Some(id) = text("lead_id") {
        LeadId::parse(id).map(LeadRef::Id).or_else(|| {
            errors.push("lead_id", "is not a lead id");
            None
        })
    } else if let Some(phone) = text("phone") {
        normalize::phone_e164(phone, region).map(LeadRef::Phone).map_or_else(
            |e| {
                errors.push("phone", e);
                None
            },
            Some,
        )
    } else if let Some(email) = text("email") {
        normalize::email(email).map(LeadRef::Email).map_or_else(
            |e| {
                errors.push("email", e);
                None
            },
            Some,
        )
    } else {
        errors.push("lead_id", "name the lead by `lead_id`, `phone` or `email`");
        None
    };

    let kind = match value.get("kind").cloned().map(serde_json::from_value::<ConversionKind>) {
        Some(Ok(kind)) => Some(kind),
        _ => {
            errors.push("kind", "must be one of opportunity, order, payment");
            None
        }
    };

    let amount_cents = match value.get("amount").map(money::cents_from_json) {
        Some(Ok(cents)) => Some(cents),
        Some(Err(e)) => {
            errors.push("amount", e);
            None
        }
        None => {
            errors.push("amount", "is required");
            None
        }
    };

    let given_currency = text("currency")
        .map(str::to_ascii_uppercase)
        .unwrap_or_else(|| currency.to_string());
    if given_currency != currency {
        errors.push(
            "currency",
            format!("must be {currency}, the currency the books are kept in (convert before sending)"),
        );
    }

    let occurred_at = match text("occurred_at").map(DateTime::parse_from_rfc3339) {
        Some(Ok(t)) => {
            let t = t.with_timezone(&Utc);
            if t > now + Duration::days(1) {
                errors.push("occurred_at", "is in the future");
                None
            } else {
                Some(t)
            }
        }
        Some(Err(_)) => {
            errors.push(
                "occurred_at",
                "must be an RFC 3339 time with offset, e.g. 2026-03-01T10:00:00+08:00",
            );
            None
        }
        None => {
            errors.push("occurred_at", "is required");
            None
        }
    };

    let cancelled = match value.get("cancelled") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => {
            errors.push("cancelled", "must be true or false");
            false
        }
    };

    match (lead, kind, amount_cents, occurred_at) {
        (Some(lead), Some(kind), Some(amount_cents), Some(occurred_at)) if errors.is_empty() => Ok(ConversionRequest {
            external_id,
            lead,
            kind,
            amount_cents,
            currency: given_currency,
            occurred_at,
            cancelled,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-03-10T00:00:00Z".parse().unwrap()
    }

    fn parse(json: serde_json::Value) -> Result<ConversionRequest, FieldErrors> {
        parse_request(json.to_string().as_bytes(), "CNY", Region::CN, now())
    }

    fn fields(e: FieldErrors) -> Vec<String> {
        e.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_good_order() {
        let r = parse(serde_json::json!({
            "external_id": "ORD-1", "phone": "138 0013 8000", "kind": "order",
            "amount": "12,800.50", "currency": "cny", "occurred_at": "2026-03-05T10:00:00+08:00"
        }))
        .unwrap();
        assert_eq!(r.lead, LeadRef::Phone("+8613800138000".into()));
        assert_eq!(r.amount_cents, 1_280_050);
        assert_eq!(r.occurred_at, "2026-03-05T02:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert!(!r.cancelled);
    }

    #[test]
    fn every_problem_is_named() {
        let e = parse(serde_json::json!({
            "external_id": "has space", "kind": "refund", "amount": -5,
            "currency": "USD", "occurred_at": "yesterday"
        }))
        .unwrap_err();
        assert_eq!(
            fields(e),
            ["external_id", "lead_id", "kind", "amount", "currency", "occurred_at"]
        );
        let e = parse(serde_json::json!({
            "external_id": "X", "lead_id": "nope", "kind": "order", "amount": 1,
            "occurred_at": "2027-01-01T00:00:00Z"
        }))
        .unwrap_err();
        assert_eq!(fields(e), ["lead_id", "occurred_at"]);
        assert_eq!(
            fields(parse_request(b"[]", "CNY", Region::CN, now()).unwrap_err()),
            ["body"]
        );
    }

    #[test]
    fn revisions_only_for_new_facts() {
        let lead = LeadId::generate(now());
        let request = parse(serde_json::json!({
            "external_id": "ORD-1", "lead_id": lead.as_str(), "kind": "order",
            "amount": 100, "occurred_at": "2026-03-05T10:00:00Z"
        }))
        .unwrap();
        let first = revise(None, &lead, &request, "crm", now()).unwrap();
        assert_eq!(first.revision, 1);
        assert_eq!(revise(Some(&first), &lead, &request, "crm", now()), None, "a duplicate");
        let corrected = ConversionRequest {
            amount_cents: 8000,
            ..request
        };
        let second = revise(Some(&first), &lead, &corrected, "crm", now()).unwrap();
        assert_eq!((second.revision, second.amount_cents), (2, 8000));
        let third = cancel(&second, "finance", now()).unwrap();
        assert!(third.cancelled && third.revision == 3);
        assert_eq!(cancel(&third, "finance", now()), None);
    }
}
