//! Data-subject erasure (PIPL art. 47, GDPR art. 17): a person's personal data is
//! removed from every lead of theirs, while each lead stays as an anonymised record
//! (id, source, stage, owner, score, timestamps, `erased_at`) so the funnel, attribution
//! and ROI numbers, which count leads by source and day, still add up.
//!
//! How a person's leads are found:
//! - the dedup keys of the identifiers (phone, e-mail, WeChat, normalised exactly as a
//!   form's are): the lead that holds each key;
//! - one read of every lead ([`ErasureStore::scan_leads`]): leads whose contact holds an
//!   identifier but no longer holds its key (a lead from before the dedup window, whose
//!   key a later lead took), and invalid leads, whose raw values (kept as `unusable`
//!   or `extra` for a human) are checked here for the identifiers ([`Person::mentions`]);
//! - lead ids the requester names;
//! - each found lead's repeats and the source it repeats (dedup's own verdict that they
//!   are the same person). No further closure: a second phone found on a repeat is not
//!   chased to other leads, since a shared switchboard number would pull in colleagues.
//!
//! What is erased, per lead: contact (name, phone, e-mail, WeChat), job title, the
//! free-text message, custom fields and unusable raw values, BANT notes, the invalid
//! reason's detail (its code stays: the funnel counts by it), referrer and landing page
//! (URLs may carry an e-mail in their query); its touchpoints' visitor id, referrer and
//! landing page; its owner changes' and follow-ups' free-text notes; the dedup key
//! items it holds (so the person is matched no more: a new submission is a new lead);
//! its submission record (for an imported row that is a hash of the row, phone
//! included). Kept: company (the organisation, not the person; ToB matching of
//! colleagues relies on it), industry, province, city, size, product, channel, campaign,
//! UTM, stage history, owner, score and prediction, import reference.
//!
//! Audit and idempotency: the request's identifiers are kept only as keyed hashes
//! (HMAC-SHA256 under a key the store holds), and the erasure's id is such a hash of the
//! whole request (identifiers, lead ids, reference). The plan (which leads, what counts)
//! is claimed as a `running` record before anything changes; every step after it is
//! idempotent, so a duplicate request, concurrent or later, finishes the same plan and
//! answers with the same record, and a crashed run is finished by its retry.

use crate::handoff::convert::Handoff;
use crate::handoff::ports::HandoffStore;
use crate::lead::error::FieldErrors;
use crate::lead::retry::Attempts;
use crate::lead::{Lead, LeadId, Stage, Touchpoint};
use crate::qualify::customer::Customer;
use crate::{
    assign::ports::RoutingStore, lead::ports::LeadStore, lead::ports::Saved, lead::ports::StoreError,
    privacy::ports::ErasureStore, privacy::ports::LeadErasure, privacy::ports::LeadScan, qualify::ports::DedupStore,
};
use crate::{lead::normalize, lead::normalize::Region};
use crate::{qualify::dedup::contact_keys, qualify::dedup::KeyKind, qualify::dedup::MatchKey};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// How often one lead's write is retried when it keeps changing underneath.
const MAX_ATTEMPTS: u32 = 4;
/// A request names at most this many leads itself.
pub const MAX_LEAD_IDS: usize = 100;
const MAX_REFERENCE: usize = 64;

/// The request as sent (`POST /v1/erasures`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureBody {
    /// The data-subject request's ticket (`DSR-2026-0042`): a new ticket is a new erasure.
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub wechat: Option<String>,
    #[serde(default)]
    pub lead_ids: Vec<String>,
}

/// A person's identifiers, normalised as dedup normalises a form's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
}

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRequest {
    pub reference: String,
    pub person: Person,
    pub lead_ids: BTreeSet<LeadId>,
}

/// Checks and normalises a request, naming every field that is wrong.
pub fn validate(body: &ErasureBody, region: Region) -> Result<ErasureRequest, FieldErrors> {
    let mut errors = FieldErrors::default();
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let mut person = Person::default();
    if let Some(phone) = given(&body.phone) {
        match normalize::phone_e164(phone, region) {
            Ok(p) => person.phone = Some(p),
            Err(e) => errors.push("phone", e),
        }
    }
    if let Some(email) = given(&body.email) {
        match normalize::email(email) {
            Ok(e) => person.email = Some(e),
            Err(e) => errors.push("email", e),
        }
    }
    if let Some(wechat) = given(&body.wechat) {
        match normalize::wechat(wechat, region) {
            Ok(w) => person.wechat = Some(w),
            Err(e) => errors.push("wechat", e),
        }
    }
    let mut lead_ids = BTreeSet::new();
    if body.lead_ids.len() > MAX_LEAD_IDS {
        errors.push("lead_ids", format!("must name at most {MAX_LEAD_IDS} leads"));
    }
    for (i, id) in body.lead_ids.iter().enumerate() {
        match LeadId::parse(id.trim()) {
            Some(id) => {
                lead_ids.insert(id);
            }
            None => errors.push(format!("lead_ids.{i}"), "is not a lead id"),
        }
    }
    let identified = person != Person::default() || !lead_ids.is_empty();
    if !identified && errors.is_empty() {
        errors.push("phone", "one of phone, email, wechat or lead_ids is required");
    }
    let reference = given(&body.reference).unwrap_or_default().to_string();
    if reference.is_empty() {
        errors.push(
            "reference",
            "is required: the data-subject request's ticket, e.g. DSR-2026-0042",
        );
    } else if reference.chars().count() > MAX_REFERENCE
        || !reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:#".contains(c))
    {
        errors.push(
            "reference",
            format!("must be at most {MAX_REFERENCE} letters, digits or - _ . / : #"),
        );
    } else if person.mentions(&reference, region) {
        // The audit record keeps the reference as it is: it must not be the identifier.
        errors.push("reference", "must not contain the person's identifiers");
    }
    errors.into_result(ErasureRequest {
        reference,
        person,
        lead_ids,
    })
}

impl Person {
    /// The dedup keys the person's leads hold.
    pub fn keys(&self) -> Vec<MatchKey> {
        [
            (KeyKind::Phone, &self.phone),
            (KeyKind::Email, &self.email),
            (KeyKind::Wechat, &self.wechat),
        ]
        .into_iter()
        .filter_map(|(kind, value)| value.clone().map(|value| MatchKey { kind, value }))
        .collect()
    }

    /// Whether a lead's contact holds one of the identifiers.
    pub fn is_contact_of(&self, lead: &Lead) -> bool {
        let same = |mine: &Option<String>, theirs: &Option<String>| mine.is_some() && mine == theirs;
        same(&self.phone, &lead.contact.phone)
            || same(&self.email, &lead.contact.email)
            || same(&self.wechat, &lead.contact.wechat)
            // A WeChat id given as a phone number is stored as that phone.
            || same(&self.phone, &lead.contact.wechat)
    }

    /// Whether a raw value (as a visitor typed it, possibly invalid) is one of the
    /// identifiers: it normalises to one, or its digits contain the phone's national
    /// number (`138-0013-8000 ext`), or it contains the e-mail address.
    pub fn mentions(&self, value: &str, region: Region) -> bool {
        if let Some(phone) = &self.phone {
            if normalize::phone_e164(value, region).as_ref() == Ok(phone) {
                return true;
            }
            let digits: String = normalize::fold_width(value)
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            if national_number(phone).is_some_and(|n| digits.contains(&n)) {
                return true;
            }
        }
        if let Some(email) = &self.email {
            if normalize::fold_width(value).to_lowercase().contains(email.as_str()) {
                return true;
            }
        }
        if let Some(wechat) = &self.wechat {
            if normalize::wechat(value, region).as_ref() == Ok(wechat) {
                return true;
            }
        }
        false
    }

    /// Whether an invalid lead's kept raw values name the person.
    fn in_raw_values(&self, lead: &Lead, region: Region) -> bool {
        self.is_contact_of(lead)
            || lead
                .unusable
                .values()
                .chain(lead.extra.values())
                .chain(lead.contact.name.iter())
                .chain(lead.profile.message.iter())
                .any(|v| self.mentions(v, region))
    }
}

/// The national significant number of an E.164 phone (`+8613800138000` → `13800138000`),
/// when it is long enough not to turn up by chance in other digits.
fn national_number(e164: &str) -> Option<String> {
    let parsed = phonenumber::parse(None, e164).ok()?;
    let national = parsed.national().value().to_string();
    (national.len() >= 7).then_some(national)
}

// ------------------------------------------------------------------ what is erased

/// The lead without the person's data. Pure; erasing an erased lead changes nothing
/// but the bookkeeping fields, which [`has_personal_data`] ignores.
/// A hand-off without the person: no contact, and a customer named after them (a person's
/// own customer) named by its id instead. The company, the opportunity and who converted
/// it stay, as the lead's numbers do.
pub fn scrub_handoff(mut handoff: Handoff, lead: &Lead) -> Handoff {
    if lead.contact.name.as_deref() == Some(handoff.customer_name.as_str()) {
        handoff.customer_name = handoff.customer_id.clone();
    }
    handoff.contact = Default::default();
    handoff
}

/// The customer a conversion created, without the person: their phone off its contact
/// phones (returned, so their keys go too) and, for a person's own customer, their name.
pub fn scrub_customer(mut customer: Customer, lead: &Lead) -> (Customer, Vec<String>) {
    let (gone, kept): (Vec<String>, Vec<String>) = customer
        .contact_phones
        .into_iter()
        .partition(|p| lead.contact.phone.as_deref() == Some(p.as_str()));
    customer.contact_phones = kept;
    if lead.contact.name.as_deref() == Some(customer.name.as_str()) {
        customer.name = customer.id.clone();
    }
    (customer, gone)
}

pub fn scrub(lead: &Lead, now: DateTime<Utc>) -> Lead {
    let mut out = lead.clone();
    out.contact = Default::default();
    out.profile.title = None;
    out.profile.message = None;
    out.extra.clear();
    out.unusable.clear();
    out.bant = Default::default();
    out.source.referrer = None;
    out.source.landing_page = None;
    out.submission_id = None;
    if let Some(reason) = &mut out.invalid_reason {
        // The detail may quote what was typed; the code is what the funnel counts by.
        reason.detail = "erased".into();
    }
    out.erased_at = Some(lead.erased_at.unwrap_or(now));
    out.revise(now);
    out
}

/// Whether the lead still holds anything [`scrub`] removes.
pub fn has_personal_data(lead: &Lead) -> bool {
    let mut scrubbed = scrub(lead, lead.updated_at);
    scrubbed.version = lead.version;
    scrubbed.erased_at = lead.erased_at;
    scrubbed != *lead
}

pub fn scrub_touch(touch: &Touchpoint) -> Touchpoint {
    let mut out = touch.clone();
    out.anon_key = None;
    out.source.referrer = None;
    out.source.landing_page = None;
    out
}

// ------------------------------------------------------------------ the record

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureStatus {
    /// Planned and claimed; the leads are being erased.
    Running,
    Done,
}

/// An identifier as the audit keeps it: its kind and a keyed hash of its normalised value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashedIdentifier {
    pub kind: KeyKind,
    /// Hex HMAC-SHA256 under the store's erasure key.
    pub hmac: String,
}

/// What was found and erased (fixed when the erasure is planned).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureCounts {
    /// Every lead of the person (they stay, anonymised).
    pub leads: u64,
    /// Of those, repeats collected under a source lead.
    pub repeats: u64,
    /// Of those, invalid leads (found by their raw values or contact).
    pub invalid_leads: u64,
    /// Of those, leads an earlier erasure had already erased.
    pub already_erased: u64,
    pub touchpoints: u64,
    /// Owner-change and follow-up records whose notes were dropped.
    pub notes: u64,
    pub dedup_keys: u64,
    pub submission_records: u64,
}

/// The audit record: who, when, which leads, how much; never the identifiers themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureRecord {
    pub id: String,
    pub reference: String,
    pub status: ErasureStatus,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    pub subject: Vec<HashedIdentifier>,
    pub lead_ids: Vec<LeadId>,
    pub counts: ErasureCounts,
}

type HmacSha256 = Hmac<Sha256>;

/// A fresh key for the audit's hashes: 160 random bits from ulid's generator (a CSPRNG).
pub fn new_key() -> Vec<u8> {
    let (a, b) = (ulid::Ulid::new().random(), ulid::Ulid::new().random());
    // Each ULID carries 80 random bits in its low bits.
    [a.to_be_bytes(), b.to_be_bytes()].concat()
}

fn keyed_hash(key: &[u8], parts: &[&str]) -> String {
    // HMAC takes a key of any length; an empty one is refused upstream by the store.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part.as_bytes());
        mac.update(&[0x1f]);
    }
    hex::encode(mac.finalize().into_bytes())
}

fn kind_name(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Phone => "phone",
        KeyKind::Email => "email",
        KeyKind::Wechat => "wechat",
        KeyKind::Company => "company",
    }
}

/// The keyed hash an auditor recomputes to answer "was this number erased?".
pub fn hash_identifier(key: &[u8], kind: KeyKind, value: &str) -> String {
    keyed_hash(key, &[kind_name(kind), value])
}

/// The erasure's id: the same request (identifiers, leads, reference) is the same erasure.
pub fn erasure_id(key: &[u8], request: &ErasureRequest) -> String {
    let mut parts = vec!["erasure".to_string(), request.reference.clone()];
    for k in request.person.keys() {
        parts.push(k.storage_key());
    }
    parts.extend(request.lead_ids.iter().map(|id| format!("lead#{id}")));
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    format!("era_{}", &keyed_hash(key, &parts)[..32])
}

// ------------------------------------------------------------------ the use case

#[derive(Debug, Error)]
pub enum ErasureError {
    #[error("no lead has the id {0}")]
    UnknownLead(LeadId),
    #[error("the lead {0} kept changing; retry the erasure")]
    Contended(LeadId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How the answer came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This request planned and carried out the erasure.
    Erased,
    /// The same request had been made: its record, unchanged (nothing was written unless
    /// the earlier run had not finished, in which case this one finished it).
    Repeated,
}

/// Everything the erasure reads and writes.
pub trait ErasurePorts: ErasureStore + LeadStore + DedupStore + RoutingStore + HandoffStore {}
impl<T: ErasureStore + LeadStore + DedupStore + RoutingStore + HandoffStore> ErasurePorts for T {}

/// Erases the person of `request`; see the module documentation.
pub async fn erase<S: ErasurePorts>(
    store: &S,
    request: &ErasureRequest,
    region: Region,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(ErasureRecord, Outcome), ErasureError> {
    // Named leads must exist before anything is written (the key, on first use).
    for id in &request.lead_ids {
        if store.get_lead(id).await?.is_none() {
            return Err(ErasureError::UnknownLead(id.clone()));
        }
    }
    let key = store.erasure_key().await?;
    let id = erasure_id(&key, request);
    if let Some(stored) = store.erasure(&id).await? {
        if stored.status == ErasureStatus::Done {
            return Ok((stored, Outcome::Repeated));
        }
        return finish(store, stored, now).await.map(|r| (r, Outcome::Repeated));
    }
    let leads = find_leads(store, request, region).await?;
    let planned = ErasureRecord {
        id,
        reference: request.reference.clone(),
        status: ErasureStatus::Running,
        requested_by: by.to_string(),
        requested_at: now,
        completed_at: None,
        subject: request
            .person
            .keys()
            .iter()
            .map(|k| HashedIdentifier {
                kind: k.kind,
                hmac: hash_identifier(&key, k.kind, &k.value),
            })
            .collect(),
        lead_ids: leads.keys().cloned().collect(),
        counts: count(store, &leads).await?,
    };
    match store.claim_erasure(&planned).await? {
        // A duplicate got there first: carry out its plan, answer with its record.
        Some(stored) if stored.status == ErasureStatus::Done => Ok((stored, Outcome::Repeated)),
        Some(stored) => finish(store, stored, now).await.map(|r| (r, Outcome::Repeated)),
        None => finish(store, planned, now).await.map(|r| (r, Outcome::Erased)),
    }
}

/// Every lead of the person, by id.
async fn find_leads<S: ErasurePorts>(
    store: &S,
    request: &ErasureRequest,
    region: Region,
) -> Result<BTreeMap<LeadId, Lead>, ErasureError> {
    let person = &request.person;
    let mut found = BTreeMap::new();
    for id in &request.lead_ids {
        let lead = store
            .get_lead(id)
            .await?
            .ok_or_else(|| ErasureError::UnknownLead(id.clone()))?;
        found.insert(id.clone(), lead);
    }
    let keys = person.keys();
    if !keys.is_empty() {
        for holder in store.key_holders(&keys).await? {
            if let Some(lead) = store.get_lead(&holder.lead_id).await? {
                found.insert(lead.id.clone(), lead);
            }
        }
        let scan = LeadScan {
            phones: person.phone.iter().cloned().collect(),
            emails: person.email.iter().cloned().collect(),
            wechats: person.wechat.iter().chain(person.phone.iter()).cloned().collect(),
        };
        for lead in store.scan_leads(&scan).await? {
            let theirs =
                person.is_contact_of(&lead) || (lead.stage == Stage::Invalid && person.in_raw_values(&lead, region));
            if theirs {
                found.insert(lead.id.clone(), lead);
            }
        }
    }
    // Dedup's verdict that they are the same person: repeats and the source they repeat.
    let mut related = BTreeSet::new();
    for lead in found.values() {
        related.extend(store.repeats_of(&lead.id).await?);
        if let Some(source) = lead.dedup.as_ref().and_then(|d| d.repeat_of.clone()) {
            related.insert(source.clone());
            related.extend(store.repeats_of(&source).await?);
        }
    }
    related.retain(|id| !found.contains_key(id));
    for id in related {
        if let Some(lead) = store.get_lead(&id).await? {
            found.insert(id, lead);
        }
    }
    Ok(found)
}

async fn count<S: ErasurePorts>(store: &S, leads: &BTreeMap<LeadId, Lead>) -> Result<ErasureCounts, StoreError> {
    let mut counts = ErasureCounts::default();
    let mut keys = Vec::new();
    for lead in leads.values() {
        counts.leads += 1;
        counts.repeats += u64::from(lead.stage == Stage::Merged);
        counts.invalid_leads += u64::from(lead.stage == Stage::Invalid);
        counts.already_erased += u64::from(lead.erased_at.is_some());
        counts.touchpoints += store.touchpoints(&lead.id).await?.len() as u64;
        counts.notes += notes(store, &lead.id).await?.len() as u64;
        if let Some(sid) = &lead.submission_id {
            counts.submission_records += u64::from(store.lead_for_submission(sid).await?.as_ref() == Some(&lead.id));
        }
        keys.extend(contact_keys(lead));
    }
    keys.sort();
    keys.dedup();
    counts.dedup_keys = store
        .key_holders(&keys)
        .await?
        .iter()
        .filter(|h| leads.contains_key(&h.lead_id))
        .count() as u64;
    Ok(counts)
}

/// The owner-change and follow-up records of a lead that hold notes: (kind, id).
async fn notes<S: ErasurePorts>(store: &S, lead: &LeadId) -> Result<Vec<(bool, String)>, StoreError> {
    let mut out = Vec::new();
    for change in store.owner_changes(lead).await? {
        if change.note.is_some() {
            out.push((true, change.id));
        }
    }
    for follow_up in store.follow_ups(lead).await? {
        if follow_up.note.is_some() || !follow_up.bant.is_empty() {
            out.push((false, follow_up.id));
        }
    }
    Ok(out)
}

/// Carries out a claimed plan (idempotent) and marks it done.
async fn finish<S: ErasurePorts>(
    store: &S,
    record: ErasureRecord,
    now: DateTime<Utc>,
) -> Result<ErasureRecord, ErasureError> {
    for id in &record.lead_ids {
        erase_one(store, id, &record.lead_ids, now).await?;
    }
    let done = ErasureRecord {
        status: ErasureStatus::Done,
        completed_at: Some(now),
        ..record
    };
    match store.complete_erasure(&done).await? {
        Saved::Saved => Ok(done),
        // A concurrent duplicate finished first: its record is the answer.
        Saved::Conflict => Ok(store.erasure(&done.id).await?.unwrap_or(done)),
    }
}

async fn erase_one<S: ErasurePorts>(
    store: &S,
    id: &LeadId,
    all: &[LeadId],
    now: DateTime<Utc>,
) -> Result<(), ErasureError> {
    let mut attempts = Attempts::up_to(MAX_ATTEMPTS);
    while attempts.next_attempt().await {
        let Some(lead) = store.get_lead(id).await? else {
            return Ok(());
        };
        if !has_personal_data(&lead) && lead.erased_at.is_some() {
            // Erased already (by an earlier run or a concurrent duplicate); its keys and
            // submission record went before or with it.
            return Ok(());
        }
        // Keys first: once the lead is scrubbed nothing says which keys were its.
        let held: Vec<(MatchKey, LeadId)> = store
            .key_holders(&contact_keys(&lead))
            .await?
            .into_iter()
            .filter(|h| all.contains(&h.lead_id))
            .map(|h| (h.key, h.lead_id))
            .collect();
        store.release_keys(&held).await?;
        let touches = store.touchpoints(id).await?.iter().map(scrub_touch).collect();
        let notes = notes(store, id).await?;
        let stored_handoff = store.handoff(id).await?;
        let customer = match stored_handoff.as_ref().filter(|h| h.customer_created) {
            Some(h) => store.customer(&h.customer_id).await?.map(|c| scrub_customer(c, &lead)),
            None => None,
        };
        let handoff = stored_handoff.map(|h| scrub_handoff(h, &lead));
        let (scrubbed, funnel) = crate::lead::funnel::count(scrub(&lead, now));
        let erasure = LeadErasure {
            lead: scrubbed,
            expected_version: lead.version,
            funnel,
            touches,
            owner_change_ids: notes.iter().filter(|(o, _)| *o).map(|(_, id)| id.clone()).collect(),
            follow_up_ids: notes.iter().filter(|(o, _)| !*o).map(|(_, id)| id.clone()).collect(),
            submission_id: lead.submission_id.clone(),
            handoff,
            customer,
        };
        if store.erase_lead(&erasure).await? == Saved::Saved {
            if lead.stage == Stage::Received {
                // A qualification under way claims keys before it decides: one that read
                // the lead before it was scrubbed may have claimed after the release above.
                let mine: Vec<_> = contact_keys(&lead).into_iter().map(|k| (k, id.clone())).collect();
                store.release_keys(&mine).await?;
            }
            return Ok(());
        }
    }
    Err(ErasureError::Contended(id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::intake::capture;
    use crate::lead::qualification::Label;
    use crate::lead::InvalidReason;
    use crate::memory::{InMemoryBus, InMemoryStore};
    use crate::qualify::pipeline::qualify_captured;
    use crate::{attribution::ports::ReportStore, attribution::ports::RowsRead, privacy::ports::ErasureStore};
    use crate::{
        capture::submission::validate as validate_form, capture::submission::RawSubmission,
        capture::submission::SubmissionRules,
    };
    use chrono::{Duration, NaiveDate};

    const PHONE: &str = "+8613800138000";
    const EMAIL: &str = "zhang.san@fenyang.cn";
    const NAME: &str = "张三丰";

    fn now() -> DateTime<Utc> {
        "2026-11-20T09:00:00Z".parse().unwrap()
    }

    fn body(pairs: &[(&str, &str)]) -> ErasureBody {
        let mut body = ErasureBody {
            reference: Some("DSR-2026-0042".into()),
            ..ErasureBody::default()
        };
        for (k, v) in pairs {
            let text = v.to_string();
            let v = Some(text.clone());
            match *k {
                "reference" => body.reference = v,
                "phone" => body.phone = v,
                "email" => body.email = v,
                "wechat" => body.wechat = v,
                "lead_id" => body.lead_ids.push(text),
                _ => unreachable!(),
            }
        }
        body
    }

    fn request(pairs: &[(&str, &str)]) -> ErasureRequest {
        validate(&body(pairs), Region::CN).expect("valid request")
    }

    async fn submit(store: &InMemoryStore, at: DateTime<Utc>, pairs: &[(&str, &str)]) -> LeadId {
        let bus = InMemoryBus::default();
        let sub = validate_form(
            &RawSubmission::from_pairs(pairs.iter().copied()),
            &SubmissionRules::default(),
        )
        .unwrap();
        let receipt = capture(store, &bus, sub, at).await.unwrap();
        qualify_captured(store, &bus, &receipt.lead_id, at).await.unwrap();
        receipt.lead_id
    }

    /// The person three ways (a form, a repeat, another channel), an invalid push that
    /// kept their phone as typed, a lead from before the dedup window, and someone else.
    async fn world() -> (InMemoryStore, Vec<LeadId>, LeadId) {
        let store = InMemoryStore::default();
        let first = submit(
            &store,
            now(),
            &[
                ("name", NAME),
                ("phone", "138 0013 8000"),
                ("title", "副总裁"),
                ("message", "请联系张三丰"),
                ("submission_id", "form-1"),
                ("referrer", "https://example.cn/?email=zhang.san@fenyang.cn"),
            ],
        )
        .await;
        let repeat = submit(
            &store,
            now() + Duration::minutes(5),
            &[("phone", "+86-138-0013-8000"), ("email", EMAIL), ("name", NAME)],
        )
        .await;
        let other_channel = submit(
            &store,
            now() + Duration::minutes(9),
            &[
                ("email", "ZHANG.SAN@fenyang.cn"),
                ("channel", "douyin_ad"),
                ("wechat", "zs_fenyang"),
            ],
        )
        .await;
        let mut invalid = Lead::new(LeadId::generate(now()), "toutiao", now());
        invalid.set_stage(Stage::Invalid, now());
        invalid.invalid_reason = Some(InvalidReason {
            code: "hook_invalid".into(),
            detail: "phone: is not a valid phone number".into(),
        });
        invalid.unusable.insert("phone".into(), "138-0013-8000 转 8".into());
        invalid.unusable.insert("name".into(), NAME.into());
        // As if stored by intake, which counts its funnel steps with it.
        let invalid = crate::lead::funnel::with_counted(&invalid, &crate::lead::funnel::uncounted(&invalid));
        store.insert_lead(invalid.clone());
        let old_at = now() - Duration::days(400);
        let mut old = Lead::new(LeadId::generate(old_at), "web_form", old_at);
        old.contact.phone = Some(PHONE.into());
        store.insert_lead(old.clone());
        let someone_else = submit(
            &store,
            now() + Duration::minutes(20),
            &[
                ("name", "李四"),
                ("phone", "13900139000"),
                ("email", "li.si@example.com"),
            ],
        )
        .await;
        let mine = vec![first, repeat, other_channel, invalid.id, old.id];
        (store, mine, someone_else)
    }

    async fn funnel(store: &InMemoryStore) -> RowsRead {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        store
            .rollups("funnel", day("2025-01-01"), day("2026-12-31"))
            .await
            .unwrap()
    }

    /// Everything the store says about a lead, as text: what must not mention the person.
    async fn everything_about(store: &InMemoryStore, id: &LeadId) -> String {
        let lead = store.get_lead(id).await.unwrap().unwrap();
        let touches = store.touchpoints(id).await.unwrap();
        serde_json::to_string(&(lead, touches)).unwrap()
    }

    #[tokio::test]
    async fn every_lead_of_the_person_is_anonymised_and_the_numbers_stay() {
        let (store, mine, someone_else) = world().await;
        let funnel_before = funnel(&store).await;
        let other_before = everything_about(&store, &someone_else).await;
        let request = request(&[("phone", "138-0013-8000"), ("email", "Zhang.San@Fenyang.cn")]);

        let (record, outcome) = erase(&store, &request, Region::CN, "admin-1", now()).await.unwrap();

        assert_eq!(outcome, Outcome::Erased);
        assert_eq!(record.status, ErasureStatus::Done);
        let mut expected = mine.clone();
        expected.sort();
        assert_eq!(record.lead_ids, expected, "the five leads of the person, no more");
        assert_eq!(
            record.counts,
            ErasureCounts {
                leads: 5,
                repeats: 2,
                invalid_leads: 1,
                already_erased: 0,
                touchpoints: 3,
                notes: 0,
                dedup_keys: 3,
                submission_records: 1,
            }
        );
        for id in &mine {
            let text = everything_about(&store, id).await;
            for secret in [
                PHONE,
                "13800138000",
                "138-0013-8000",
                EMAIL,
                "zhang.san",
                NAME,
                "副总裁",
                "zs_fenyang",
            ] {
                assert!(!text.contains(secret), "{secret} left in {text}");
            }
            let lead = store.get_lead(id).await.unwrap().unwrap();
            assert_eq!(lead.erased_at, Some(now()));
        }
        assert_eq!(everything_about(&store, &someone_else).await, other_before);
        assert_eq!(funnel(&store).await, funnel_before, "the funnel rows are unchanged");
        let keys = request.person.keys();
        assert!(
            store.key_holders(&keys).await.unwrap().is_empty(),
            "the person's keys are gone"
        );
        assert_eq!(store.lead_for_submission("form-1").await.unwrap(), None);
        // The audit holds keyed hashes, never the identifiers.
        let audit = serde_json::to_string(&store.erasure(&record.id).await.unwrap().unwrap()).unwrap();
        assert!(!audit.contains(PHONE) && !audit.contains(EMAIL) && !audit.contains("13800138000"));
        let key = store.erasure_key().await.unwrap();
        assert_eq!(record.subject[0].hmac, hash_identifier(&key, KeyKind::Phone, PHONE));
    }

    #[tokio::test]
    async fn the_same_request_again_changes_nothing_and_answers_the_same() {
        let (store, _, _) = world().await;
        let request = request(&[("phone", "13800138000")]);
        let (first, _) = erase(&store, &request, Region::CN, "admin-1", now()).await.unwrap();
        let leads = store.leads();
        let later = now() + Duration::hours(1);
        let (again, outcome) = erase(&store, &request, Region::CN, "admin-2", later).await.unwrap();
        assert_eq!(outcome, Outcome::Repeated);
        assert_eq!(again, first);
        assert_eq!(store.leads(), leads, "no lead was written again");

        // A new ticket for the same person finds the leads only by id, erased already.
        let ids: Vec<String> = first.lead_ids.iter().map(ToString::to_string).collect();
        let mut pairs: Vec<(&str, &str)> = ids.iter().map(|id| ("lead_id", id.as_str())).collect();
        pairs.push(("reference", "DSR-2026-0043"));
        let (second, outcome) = erase(&store, &request_of(&pairs), Region::CN, "admin-1", later)
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Erased);
        assert_ne!(second.id, first.id);
        assert_eq!(second.counts.already_erased, second.counts.leads);
        assert_eq!(store.leads(), leads, "erased leads are not written again");
    }

    fn request_of(pairs: &[(&str, &str)]) -> ErasureRequest {
        request(pairs)
    }

    #[tokio::test]
    async fn an_erased_person_who_comes_back_is_a_new_lead() {
        let (store, _, _) = world().await;
        erase(&store, &request(&[("phone", PHONE)]), Region::CN, "admin-1", now())
            .await
            .unwrap();
        let back = submit(&store, now() + Duration::days(1), &[("phone", "13800138000")]).await;
        let lead = store.get_lead(&back).await.unwrap().unwrap();
        assert_eq!(lead.dedup.unwrap().label, Label::PureNew);
        assert_eq!(lead.contact.phone.as_deref(), Some(PHONE));
    }

    #[tokio::test]
    async fn a_converted_leads_hand_off_loses_the_person_and_keeps_the_deal() {
        use crate::handoff::convert::{opportunity_id, Contact, Handoff, Opportunity};
        use crate::handoff::ports::HandoffStore;
        let (store, mine, _) = world().await;
        let lead = store.get_lead(&mine[0]).await.unwrap().unwrap();
        let handoff = Handoff {
            lead_id: lead.id.clone(),
            customer_id: format!("lead-{}", lead.id),
            customer_name: NAME.into(),
            customer_created: true,
            contact: Contact {
                name: Some(NAME.into()),
                phone: Some(PHONE.into()),
                ..Contact::default()
            },
            opportunity: Opportunity {
                id: opportunity_id(&lead.id),
                amount_cents: 10_000,
                currency: "CNY".into(),
                expected_close: None,
            },
            owner: Some("zhang".into()),
            converted_by: "zhang".into(),
            converted_at: now(),
            delivered_to: vec![],
        };
        store.create_handoff(&handoff).await.unwrap();
        let person = Customer {
            id: handoff.customer_id.clone(),
            name: NAME.into(),
            company_core: String::new(),
            contact_phones: vec![PHONE.into()],
            owner: Some("zhang".into()),
        };
        crate::qualify::ports::DedupStore::put_customer(&store, &person)
            .await
            .unwrap();
        store.mark_delivered(&lead.id, "crm").await.unwrap();
        erase(&store, &request(&[("phone", PHONE)]), Region::CN, "admin-1", now())
            .await
            .unwrap();
        let kept = store.handoff(&lead.id).await.unwrap().unwrap();
        let customer = store.customer(&handoff.customer_id).await.unwrap().unwrap();
        assert_eq!(
            (customer.name.as_str(), customer.contact_phones.len()),
            (customer.id.as_str(), 0)
        );
        let found = crate::qualify::ports::DedupStore::customer_match(&store, Some(PHONE), None)
            .await
            .unwrap();
        assert_eq!(found, None, "the person's phone finds no customer");
        assert_eq!(kept.contact, Contact::default());
        assert_eq!(
            kept.customer_name, kept.customer_id,
            "a person's own customer is named by its id"
        );
        assert_eq!(
            (kept.opportunity, kept.delivered_to),
            (handoff.opportunity, vec!["crm".to_string()])
        );
    }

    #[tokio::test]
    async fn an_erased_lead_that_was_never_qualified_is_left_alone_by_dedup() {
        let store = InMemoryStore::default();
        let bus = InMemoryBus::default();
        let sub = validate_form(
            &RawSubmission::from_pairs([("phone", "13800138000")]),
            &SubmissionRules::default(),
        )
        .unwrap();
        let id = capture(&store, &bus, sub, now()).await.unwrap().lead_id;
        erase(&store, &request(&[("lead_id", id.as_str())]), Region::CN, "a", now())
            .await
            .unwrap();
        let got = qualify_captured(&store, &bus, &id, now()).await.unwrap();
        assert_eq!(got, crate::qualify::pipeline::Qualified::Unchanged);
        assert!(!has_personal_data(&store.get_lead(&id).await.unwrap().unwrap()));
    }

    #[test]
    fn requests_are_checked_field_by_field() {
        let fields = |pairs: &[(&str, &str)]| -> Vec<String> {
            validate(&body(pairs), Region::CN)
                .unwrap_err()
                .0
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(fields(&[]), ["phone"], "someone must be named");
        assert_eq!(fields(&[("phone", "12345")]), ["phone"]);
        assert_eq!(fields(&[("email", "nobody@localhost")]), ["email"]);
        assert_eq!(fields(&[("lead_id", "nope")]), ["lead_ids.0"]);
        assert_eq!(fields(&[("phone", PHONE), ("reference", "")]), ["reference"]);
        assert_eq!(fields(&[("phone", PHONE), ("reference", "张三的请求")]), ["reference"]);
        assert_eq!(
            fields(&[("phone", PHONE), ("reference", "DSR-13800138000")]),
            ["reference"],
            "the reference is kept as is, so it may not carry the identifier"
        );
        let ok = request(&[
            ("phone", "８６１３８００１３８０００"),
            ("email", " Zhang.San@Fenyang.CN "),
        ]);
        assert_eq!(ok.person.phone.as_deref(), Some(PHONE));
        assert_eq!(ok.person.email.as_deref(), Some(EMAIL));
    }

    #[test]
    fn raw_values_are_matched_by_what_they_normalise_to_or_contain() {
        let person = Person {
            phone: Some(PHONE.into()),
            email: Some(EMAIL.into()),
            wechat: None,
        };
        for raw in [
            "138 0013 8000",
            "0086-138-0013-8000",
            "138-0013-8000 转 8",
            "mail: Zhang.San@fenyang.cn",
        ] {
            assert!(person.mentions(raw, Region::CN), "{raw}");
        }
        for raw in ["13900139000", "1380013", "zhang@fenyang.cn"] {
            assert!(!person.mentions(raw, Region::CN), "{raw}");
        }
    }

    #[test]
    fn the_id_is_the_request_and_hashes_depend_on_the_key() {
        let a = request(&[("phone", PHONE)]);
        let b = request(&[("phone", "13800138000")]);
        assert_eq!(erasure_id(b"k1", &a), erasure_id(b"k1", &b), "same person, same ticket");
        assert_ne!(erasure_id(b"k1", &a), erasure_id(b"k2", &a));
        let c = request(&[("phone", PHONE), ("reference", "DSR-2")]);
        assert_ne!(erasure_id(b"k1", &a), erasure_id(b"k1", &c));
        assert_ne!(
            hash_identifier(b"k1", KeyKind::Phone, PHONE),
            hash_identifier(b"k2", KeyKind::Phone, PHONE)
        );
    }
}
