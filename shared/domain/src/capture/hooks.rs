//! Signed server-to-server pushes: ad platforms (Baidu, Toutiao/Douyin, Tencent) and
//! partners post their form leads to `POST /v1/hooks/{source}`.
//!
//! A push is trusted only if it carries `X-Leadflow-Timestamp` (Unix seconds) and
//! `X-Leadflow-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">` under the
//! source's secret. The timestamp must be within [`MAX_CLOCK_SKEW`] of ours and a
//! signature is accepted once, so a captured request cannot be replayed; the signature
//! is compared in constant time. Anything else is refused before a byte is stored.
//!
//! A trusted push is mapped to form fields by the source's [`HookSource::mapping`]
//! (lead field → dotted JSON path) and then goes through the same validation and
//! [`capture`](crate::capture::intake) as a form. A push that validation refuses is kept as an
//! `invalid` lead with its values: a platform cannot fix it, and it was paid for.

use crate::lead::ports::NewLead;
use crate::lead::{InvalidReason, Lead, LeadId, Stage};
use crate::{capture::intake::capture, capture::intake::CaptureReceipt};
use crate::{
    capture::ports::HookStore, lead::ports::create_once, lead::ports::Creation, lead::ports::LeadStore,
    lead::ports::MessageBus, lead::ports::StoreError,
};
use crate::{
    capture::submission::validate, capture::submission::DecodeError, capture::submission::RawSubmission,
    capture::submission::SubmissionRules, capture::submission::HONEYPOT_FIELD,
};
use crate::{lead::error::FieldError, lead::error::FieldErrors};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use thiserror::Error;

pub const TIMESTAMP_HEADER: &str = "x-leadflow-timestamp";
pub const SIGNATURE_HEADER: &str = "x-leadflow-signature";
/// How far a push's timestamp may be from our clock, either way.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);
/// Platforms send every question of the form; still far below anything a lead needs.
pub const MAX_HOOK_BODY_BYTES: usize = 64 * 1024;
/// The invalid reason of a push that validation refused.
pub const HOOK_INVALID: &str = "hook_invalid";
/// 256 bits as hex or base64 is 43+ characters; 32 keeps guessable secrets out.
pub const MIN_SECRET_CHARS: usize = 32;
const MAX_PATH_SEGMENTS: usize = 12;
/// Fields a push may not set: the source decides the channel, and a platform's
/// `website` question must never land in the bot trap.
const RESERVED_TARGETS: &[&str] = &["channel", "redirect", HONEYPOT_FIELD];

type HmacSha256 = Hmac<Sha256>;

/// One pushing system: its secret(s), channel and how its JSON maps to lead fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookSource {
    pub name: String,
    /// Bumped on every save ([`crate::lead::versioned`]); 0 for a source saved before
    /// versions were kept.
    #[serde(default)]
    pub version: u64,
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// Lead field (`phone`, `email`, `company`, a custom field…) → dotted path into the
    /// pushed JSON (`data.mobile`, `answers.0.value`). `submission_id` names the
    /// platform's own lead id: a re-sent lead is then recognised whatever its signature.
    pub mapping: BTreeMap<String, String>,
    /// Newest first. Two during a rotation, so the platform can switch at its own pace.
    pub secrets: Vec<String>,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
}

/// What an admin sends to create or change a source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSourceChange {
    pub channel: String,
    #[serde(default)]
    pub campaign_id: Option<String>,
    pub mapping: BTreeMap<String, String>,
    /// Required for a new source. A different secret becomes the current one and the
    /// old one stays valid until `retire_previous_secret`.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub retire_previous_secret: bool,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The version read (`GET`): when given, a save on top of another version is refused.
    #[serde(default)]
    pub version: Option<u64>,
}

/// A source as the API shows it: secrets never leave the store, only fingerprints.
#[derive(Debug, Clone, Serialize)]
pub struct HookSourceView {
    pub name: String,
    pub version: u64,
    pub channel: String,
    pub campaign_id: Option<String>,
    pub mapping: BTreeMap<String, String>,
    /// First 8 hex digits of each secret's SHA-256, newest first.
    pub secret_fingerprints: Vec<String>,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
}

impl HookSource {
    /// Applies an admin's change to the current source (if any), or every problem found.
    pub fn apply(
        name: &str,
        current: Option<HookSource>,
        change: HookSourceChange,
        now: DateTime<Utc>,
    ) -> Result<HookSource, FieldErrors> {
        let mut errors = FieldErrors::default();
        if !is_slug(name, 64) {
            errors.push("source", "must be 1 to 64 of a-z, 0-9, '_', '-' and '.'");
        }
        let channel = change.channel.trim().to_lowercase();
        if !is_slug(&channel, 64) || channel.contains('-') {
            errors.push("channel", "must be 1 to 64 of a-z, 0-9, '_' and '.'");
        }
        if change
            .campaign_id
            .as_ref()
            .is_some_and(|c| c.is_empty() || c.chars().count() > 128)
        {
            errors.push("campaign_id", "must be 1 to 128 characters");
        }
        for error in mapping_errors(&change.mapping) {
            errors.0.push(error);
        }
        let mut secrets = current.as_ref().map(|c| c.secrets.clone()).unwrap_or_default();
        match change.secret {
            Some(secret) if secret.chars().count() < MIN_SECRET_CHARS || secret.chars().any(char::is_whitespace) => {
                errors.push(
                    "secret",
                    format!("must be at least {MIN_SECRET_CHARS} characters without spaces"),
                );
            }
            Some(secret) if secrets.first() != Some(&secret) => {
                secrets.insert(0, secret);
                secrets.truncate(2);
            }
            Some(_) => {}
            None if secrets.is_empty() => errors.push("secret", "is required for a new source"),
            None => {}
        }
        if change.retire_previous_secret {
            secrets.truncate(1);
        }
        let enabled = change
            .enabled
            .unwrap_or_else(|| current.as_ref().is_none_or(|c| c.enabled));
        errors.into_result(HookSource {
            name: name.to_string(),
            version: current.as_ref().map_or(0, |c| c.version),
            channel,
            campaign_id: change.campaign_id,
            mapping: change.mapping,
            secrets,
            enabled,
            updated_at: now,
        })
    }

    pub fn view(&self) -> HookSourceView {
        HookSourceView {
            name: self.name.clone(),
            version: self.version,
            channel: self.channel.clone(),
            campaign_id: self.campaign_id.clone(),
            mapping: self.mapping.clone(),
            secret_fingerprints: self.secrets.iter().map(|s| fingerprint(s)).collect(),
            enabled: self.enabled,
            updated_at: self.updated_at,
        }
    }
}

/// What a hook source's history keeps of a version: the view, so secrets stay out.
impl crate::lead::versioned::Versioned for HookSource {
    fn version(&self) -> u64 {
        self.version
    }
    fn stamp(&mut self, version: u64, at: DateTime<Utc>) {
        self.version = version;
        self.updated_at = at;
    }
    fn kept(&self) -> Value {
        serde_json::to_value(self.view()).expect("a hook source's view serialises")
    }
}

/// The fields of a kept version a rollback puts back.
#[derive(Deserialize)]
struct KeptSource {
    channel: String,
    campaign_id: Option<String>,
    mapping: BTreeMap<String, String>,
    enabled: bool,
}

impl HookSource {
    /// This source with a kept version's channel, campaign, mapping and switch, checked
    /// by today's rules. Secrets are never rolled back: the history keeps only their
    /// fingerprints, and a secret retired because it leaked must stay retired.
    pub fn restore(&self, kept: Value, now: DateTime<Utc>) -> Result<HookSource, Vec<FieldError>> {
        let kept: KeptSource = crate::lead::versioned::reread(kept, |_| Vec::new())?;
        let change = HookSourceChange {
            channel: kept.channel,
            campaign_id: kept.campaign_id,
            mapping: kept.mapping,
            enabled: Some(kept.enabled),
            ..HookSourceChange::default()
        };
        HookSource::apply(&self.name, Some(self.clone()), change, now).map_err(|e| e.0)
    }
}

fn is_slug(value: &str, max: usize) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
}

fn fingerprint(secret: &str) -> String {
    hex::encode(&Sha256::digest(secret.as_bytes())[..4])
}

fn mapping_errors(mapping: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !["phone", "email", "wechat"].iter().any(|f| mapping.contains_key(*f)) {
        errors.push(FieldError::new(
            "mapping",
            "must map at least one of phone, email or wechat",
        ));
    }
    for (target, path) in mapping {
        let field = format!("mapping.{target}");
        if target.is_empty() || target.chars().count() > 64 {
            errors.push(FieldError::new(field, "field names are 1 to 64 characters"));
        } else if RESERVED_TARGETS.contains(&target.as_str()) {
            errors.push(FieldError::new(field, "is set by the source, not by the push"));
        } else if path.is_empty() || path.split('.').any(str::is_empty) {
            errors.push(FieldError::new(field, "must be a dotted path such as data.mobile"));
        } else if path.split('.').count() > MAX_PATH_SEGMENTS {
            errors.push(FieldError::new(
                field,
                format!("paths have at most {MAX_PATH_SEGMENTS} segments"),
            ));
        }
    }
    errors
}

/// `sha256=<hex>`: what a pushing system puts in [`SIGNATURE_HEADER`].
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    #[error("is missing")]
    Missing(&'static str),
    #[error("{1}")]
    Malformed(&'static str, &'static str),
    #[error("is {0} s away from the server's clock (at most 300 s): re-sign the push")]
    Stale(i64),
    #[error("does not match the body under this source's secret")]
    Mismatch,
    #[error("was already used: every push is signed afresh")]
    Replayed,
}

impl SignatureError {
    /// The header the caller should look at.
    pub fn header(&self) -> &'static str {
        match self {
            Self::Missing(h) | Self::Malformed(h, _) => h,
            Self::Stale(_) => TIMESTAMP_HEADER,
            Self::Mismatch | Self::Replayed => SIGNATURE_HEADER,
        }
    }
}

/// A push whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub timestamp: DateTime<Utc>,
    /// The signature as hex: the replay record's key.
    pub signature: String,
}

impl Verified {
    /// A replay record must outlive the window in which its timestamp is accepted.
    pub fn replay_expiry(&self) -> DateTime<Utc> {
        self.timestamp + MAX_CLOCK_SKEW + MAX_CLOCK_SKEW
    }
}

/// Checks timestamp and signature against each of `secrets`. Header values as sent.
pub fn verify(
    secrets: &[String],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Verified, SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::Missing(TIMESTAMP_HEADER))?;
    let signature = signature.ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed(TIMESTAMP_HEADER, "must be Unix time in seconds"))?;
    let signed_at =
        DateTime::from_timestamp(seconds, 0).ok_or(SignatureError::Malformed(TIMESTAMP_HEADER, "is out of range"))?;
    let hex_digest = signature
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed(SIGNATURE_HEADER, "must start with sha256="))?;
    let digest = hex::decode(hex_digest)
        .ok()
        .filter(|d| d.len() == 32)
        .ok_or(SignatureError::Malformed(
            SIGNATURE_HEADER,
            "must be 64 hex digits after sha256=",
        ))?;
    let skew = (now - signed_at).num_seconds();
    if skew.abs() > MAX_CLOCK_SKEW.num_seconds() {
        return Err(SignatureError::Stale(skew));
    }
    // `verify_slice` compares in constant time; trying each secret leaks only how many
    // secrets there are, which is not a secret.
    let matches = secrets
        .iter()
        .filter(|secret| mac(secret, seconds, body).verify_slice(&digest).is_ok())
        .count();
    if matches == 0 {
        return Err(SignatureError::Mismatch);
    }
    Ok(Verified {
        timestamp: signed_at,
        signature: hex::encode(digest),
    })
}

/// The pushed JSON as form fields, by the source's mapping. The channel and campaign
/// come from the source; the submission id is derived from the platform's lead id (or
/// the body) so a re-sent lead is captured once.
pub fn map_push(source: &HookSource, body: &[u8]) -> Result<RawSubmission, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::NotUtf8)?;
    let pushed: Value = serde_json::from_str(text).map_err(|e| DecodeError::Json(e.to_string()))?;
    let mut fields = serde_json::Map::new();
    for (target, path) in &source.mapping {
        if let Some(value) = lookup(&pushed, path) {
            fields.insert(target.clone(), value.clone());
        }
    }
    let platform_id = match fields.remove("submission_id") {
        Some(Value::String(id)) => id,
        Some(Value::Number(id)) => id.to_string(),
        _ => text.to_string(),
    };
    fields.insert("submission_id".into(), push_key(&source.name, &platform_id).into());
    fields.insert("channel".into(), source.channel.clone().into());
    if let Some(campaign) = &source.campaign_id {
        fields.entry("campaign_id").or_insert_with(|| campaign.clone().into());
    }
    Ok(RawSubmission::from_object(fields))
}

/// `a.b.0.c`: object keys, and array indexes where the value is an array.
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |at, segment| match at {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// The submission id of a push: the same platform lead from the same source is one lead.
pub fn push_key(source: &str, platform_id: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(source.as_bytes());
    hash.update([0]);
    hash.update(platform_id.as_bytes());
    format!("hook-{}", hex::encode(&hash.finalize()[..16]))
}

#[derive(Debug, Error)]
pub enum PushError {
    #[error("no hook source is configured under this name")]
    UnknownSource,
    #[error("this hook source is disabled")]
    Disabled,
    #[error("{header} {0}", header = .0.header())]
    Signature(SignatureError),
    #[error(transparent)]
    Body(#[from] DecodeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushReceipt {
    Captured(CaptureReceipt),
    /// Kept as an `invalid` lead; the errors say why.
    Invalid {
        lead_id: LeadId,
        errors: Vec<FieldError>,
        /// The platform had pushed this lead before: this is the earlier invalid lead,
        /// nothing new was written.
        duplicate: bool,
    },
}

/// Verifies, records the signature against replay, then captures the push like a form.
/// Nothing is stored unless the signature holds; if storing the lead fails the replay
/// record is withdrawn, so the platform's retry of the same request succeeds.
pub async fn receive_push<S: LeadStore + HookStore, B: MessageBus>(
    store: &S,
    bus: &B,
    source_name: &str,
    headers: (Option<&str>, Option<&str>),
    body: &[u8],
    rules: &SubmissionRules,
    now: DateTime<Utc>,
) -> Result<PushReceipt, PushError> {
    let source = store.hook_source(source_name).await?.ok_or(PushError::UnknownSource)?;
    if !source.enabled {
        return Err(PushError::Disabled);
    }
    let verified = verify(&source.secrets, headers.0, headers.1, body, now).map_err(PushError::Signature)?;
    if !store
        .claim_push(&source.name, &verified.signature, verified.replay_expiry())
        .await?
    {
        return Err(PushError::Signature(SignatureError::Replayed));
    }
    let stored = store_push(store, bus, &source, body, rules, now).await;
    if matches!(stored, Err(PushError::Store(_))) {
        // Best effort: if this fails too, the platform's retry is refused as a replay
        // until it re-signs, which its retry normally does.
        let _ = store.release_push(&source.name, &verified.signature).await;
    }
    stored
}

async fn store_push<S: LeadStore, B: MessageBus>(
    store: &S,
    bus: &B,
    source: &HookSource,
    body: &[u8],
    rules: &SubmissionRules,
    now: DateTime<Utc>,
) -> Result<PushReceipt, PushError> {
    let raw = map_push(source, body)?;
    match validate(&raw, rules) {
        Ok(submission) => Ok(PushReceipt::Captured(capture(store, bus, submission, now).await?)),
        Err(errors) => {
            let build = |id| NewLead::new(invalid_push_lead(id, source, &raw, &errors.0, now), None);
            let (lead_id, duplicate) = match create_once(store, now, build).await? {
                Creation::Created(lead) => (lead.id, false),
                Creation::Duplicate(existing) => (existing, true),
            };
            Ok(PushReceipt::Invalid {
                lead_id,
                errors: errors.0,
                duplicate,
            })
        }
    }
}

fn invalid_push_lead(
    id: LeadId,
    source: &HookSource,
    raw: &RawSubmission,
    errors: &[FieldError],
    now: DateTime<Utc>,
) -> Lead {
    let mut lead = Lead::new(id, source.channel.clone(), now);
    lead.set_stage(Stage::Invalid, now);
    lead.invalid_reason = Some(InvalidReason {
        code: HOOK_INVALID.into(),
        detail: errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.reason))
            .collect::<Vec<_>>()
            .join("; "),
    });
    let mut values = raw.values().clone();
    lead.submission_id = values.remove("submission_id");
    lead.source.campaign_id = values.remove("campaign_id");
    values.remove("channel");
    // The push as mapped, for a human to fix: nothing valid is lost.
    lead.unusable = values;
    lead
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::ports::HookStore;
    use crate::lead::versioned::{save, ConfigId, ConfigKind, Versioned};
    use crate::memory::{InMemoryBus, InMemoryStore};
    use chrono::TimeZone;
    use proptest::prelude::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
    }

    fn source() -> HookSource {
        let change = HookSourceChange {
            channel: "toutiao".into(),
            campaign_id: Some("c-618".into()),
            mapping: BTreeMap::from([
                ("name".into(), "data.name".into()),
                ("phone".into(), "data.telphone".into()),
                ("company".into(), "data.answers.0.value".into()),
                ("submission_id".into(), "data.clue_id".into()),
            ]),
            secret: Some(SECRET.into()),
            ..HookSourceChange::default()
        };
        HookSource::apply("toutiao", None, change, now()).unwrap()
    }

    fn signed(body: &[u8], at: DateTime<Utc>) -> (String, String) {
        let ts = at.timestamp();
        (ts.to_string(), sign(SECRET, ts, body))
    }

    fn check(secrets: &[String], ts: &str, sig: &str, body: &[u8]) -> Result<Verified, SignatureError> {
        verify(secrets, Some(ts), Some(sig), body, now())
    }

    #[test]
    fn a_good_signature_verifies_and_a_tampered_body_does_not() {
        let secrets = vec![SECRET.to_string()];
        let (ts, sig) = signed(b"{\"a\":1}", now());
        assert!(check(&secrets, &ts, &sig, b"{\"a\":1}").is_ok());
        assert_eq!(check(&secrets, &ts, &sig, b"{\"a\":2}"), Err(SignatureError::Mismatch));
        let other = vec!["another-secret-of-at-least-32-chars!!".to_string()];
        assert_eq!(check(&other, &ts, &sig, b"{\"a\":1}"), Err(SignatureError::Mismatch));
    }

    #[test]
    fn the_timestamp_is_part_of_the_signature() {
        let secrets = vec![SECRET.to_string()];
        let (_, sig) = signed(b"{}", now());
        let later = (now().timestamp() + 1).to_string();
        assert_eq!(check(&secrets, &later, &sig, b"{}"), Err(SignatureError::Mismatch));
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let secrets = vec![SECRET.to_string()];
        let old = now() - Duration::seconds(301);
        let (ts, sig) = signed(b"{}", old);
        assert_eq!(check(&secrets, &ts, &sig, b"{}"), Err(SignatureError::Stale(301)));
        let (ts, sig) = signed(b"{}", now() + Duration::seconds(400));
        assert_eq!(check(&secrets, &ts, &sig, b"{}"), Err(SignatureError::Stale(-400)));
        let (ts, sig) = signed(b"{}", now() - Duration::seconds(299));
        assert!(check(&secrets, &ts, &sig, b"{}").is_ok());
    }

    #[test]
    fn missing_and_malformed_headers_name_the_header() {
        let secrets = vec![SECRET.to_string()];
        let (ts, sig) = signed(b"{}", now());
        let missing = verify(&secrets, None, Some(&sig), b"{}", now()).unwrap_err();
        assert_eq!(missing.header(), TIMESTAMP_HEADER);
        let missing = verify(&secrets, Some(&ts), None, b"{}", now()).unwrap_err();
        assert_eq!(missing.header(), SIGNATURE_HEADER);
        for bad in ["md5=abc", "sha256=zz", "sha256=abcd", &sig[7..]] {
            let e = check(&secrets, &ts, bad, b"{}").unwrap_err();
            assert!(
                matches!(e, SignatureError::Malformed(SIGNATURE_HEADER, _)),
                "{bad}: {e:?}"
            );
        }
        let e = check(&secrets, "yesterday", &sig, b"{}").unwrap_err();
        assert!(matches!(e, SignatureError::Malformed(TIMESTAMP_HEADER, _)));
    }

    #[test]
    fn both_secrets_verify_during_a_rotation_until_the_old_one_is_retired() {
        let first = source();
        let new_secret = "fedcba9876543210fedcba9876543210";
        let rotate = |retire| HookSourceChange {
            channel: "toutiao".into(),
            mapping: first.mapping.clone(),
            secret: Some(new_secret.into()),
            retire_previous_secret: retire,
            ..HookSourceChange::default()
        };
        let rotated = HookSource::apply("toutiao", Some(first.clone()), rotate(false), now()).unwrap();
        assert_eq!(rotated.secrets, vec![new_secret.to_string(), SECRET.to_string()]);
        let (ts, old_sig) = signed(b"{}", now());
        assert!(check(&rotated.secrets, &ts, &old_sig, b"{}").is_ok());
        let retired = HookSource::apply("toutiao", Some(rotated), rotate(true), now()).unwrap();
        assert_eq!(retired.secrets, vec![new_secret.to_string()]);
        assert_eq!(
            check(&retired.secrets, &ts, &old_sig, b"{}"),
            Err(SignatureError::Mismatch)
        );
        assert!(!format!("{:?}", retired.view()).contains(new_secret));
    }

    #[test]
    fn a_bad_source_change_names_every_problem() {
        let change = HookSourceChange {
            channel: "Trade Show!".into(),
            mapping: BTreeMap::from([
                ("website".into(), "data.site".into()),
                ("name".into(), "data..name".into()),
            ]),
            secret: Some("short".into()),
            ..HookSourceChange::default()
        };
        let errors = HookSource::apply("Bad Name", None, change, now()).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "source",
                "channel",
                "mapping",
                "mapping.name",
                "mapping.website",
                "secret"
            ]
        );
    }

    #[test]
    fn a_push_maps_nested_paths_and_array_indexes() {
        let body = r#"{"data":{"name":"王伟","telphone":13800138000,"clue_id":"7301",
            "answers":[{"value":"北京纷扬科技有限公司"}],"channel":"spoofed"}}"#
            .as_bytes();
        let raw = map_push(&source(), body).unwrap();
        assert_eq!(raw.get("name"), Some("王伟"));
        assert_eq!(raw.get("phone"), Some("13800138000"));
        assert_eq!(raw.get("company"), Some("北京纷扬科技有限公司"));
        assert_eq!(raw.get("channel"), Some("toutiao"));
        assert_eq!(raw.get("campaign_id"), Some("c-618"));
        assert_eq!(raw.get("submission_id"), Some(push_key("toutiao", "7301").as_str()));
        let sub = validate(&raw, &SubmissionRules::default()).unwrap();
        assert_eq!(sub.contact.phone.as_deref(), Some("+8613800138000"));
    }

    #[test]
    fn an_object_where_text_belongs_is_a_field_error() {
        let raw = map_push(&source(), br#"{"data":{"telphone":{"area":"010"}}}"#).unwrap();
        let errors = validate(&raw, &SubmissionRules::default()).unwrap_err();
        assert!(errors.0.iter().any(|e| e.field == "phone"), "{errors:?}");
    }

    fn push_headers(body: &[u8], at: DateTime<Utc>) -> (String, String) {
        signed(body, at)
    }

    async fn store_with_source() -> InMemoryStore {
        let store = InMemoryStore::default();
        let mut source = source();
        source.next_version(now());
        let config = ConfigId::named(ConfigKind::Hooks, "toutiao");
        save(&store, &config, &source, "ops-wang", now()).await.unwrap();
        store
    }

    #[tokio::test]
    async fn a_signed_push_becomes_a_lead_once_and_its_replay_is_refused() {
        let (store, bus) = (store_with_source().await, InMemoryBus::default());
        let body = r#"{"data":{"name":"王伟","telphone":"13800138000","clue_id":"7301"}}"#.as_bytes();
        let (ts, sig) = push_headers(body, now());
        let rules = SubmissionRules::default();
        let receipt = receive_push(&store, &bus, "toutiao", (Some(&ts), Some(&sig)), body, &rules, now())
            .await
            .unwrap();
        let PushReceipt::Captured(receipt) = receipt else {
            panic!("captured expected")
        };
        let lead = store.get_lead(&receipt.lead_id).await.unwrap().unwrap();
        assert_eq!(lead.source.channel, "toutiao");
        assert_eq!(bus.sent().len(), 1);

        let replay = receive_push(&store, &bus, "toutiao", (Some(&ts), Some(&sig)), body, &rules, now()).await;
        assert!(matches!(replay, Err(PushError::Signature(SignatureError::Replayed))));

        // The platform re-sends the same lead, freshly signed: the same lead answers.
        let later = now() + Duration::seconds(30);
        let (ts, sig) = push_headers(body, later);
        let again = receive_push(&store, &bus, "toutiao", (Some(&ts), Some(&sig)), body, &rules, later)
            .await
            .unwrap();
        assert!(matches!(again, PushReceipt::Captured(r) if r.duplicate && r.lead_id == receipt.lead_id));
        assert_eq!(store.lead_count(), 1);
    }

    #[tokio::test]
    async fn a_forged_or_unknown_push_stores_nothing() {
        let (store, bus) = (store_with_source().await, InMemoryBus::default());
        let body = br#"{"data":{"telphone":"13800138000"}}"#;
        let (ts, _) = push_headers(body, now());
        let forged = sign("not-the-secret-but-long-enough-to-pass", now().timestamp(), body);
        let rules = SubmissionRules::default();
        let refused = receive_push(&store, &bus, "toutiao", (Some(&ts), Some(&forged)), body, &rules, now()).await;
        assert!(matches!(refused, Err(PushError::Signature(SignatureError::Mismatch))));
        let unsigned = receive_push(&store, &bus, "toutiao", (None, None), body, &rules, now()).await;
        assert!(matches!(
            unsigned,
            Err(PushError::Signature(SignatureError::Missing(_)))
        ));
        let unknown = receive_push(&store, &bus, "baidu", (Some(&ts), Some(&forged)), body, &rules, now()).await;
        assert!(matches!(unknown, Err(PushError::UnknownSource)));
        assert_eq!(store.lead_count(), 0);
        assert!(bus.sent().is_empty());
    }

    #[tokio::test]
    async fn a_push_without_a_usable_contact_is_kept_as_invalid() {
        let (store, bus) = (store_with_source().await, InMemoryBus::default());
        let body = r#"{"data":{"name":"测试","telphone":"12","clue_id":"9"}}"#.as_bytes();
        let (ts, sig) = push_headers(body, now());
        let rules = SubmissionRules::default();
        let receipt = receive_push(&store, &bus, "toutiao", (Some(&ts), Some(&sig)), body, &rules, now())
            .await
            .unwrap();
        let PushReceipt::Invalid {
            lead_id,
            errors,
            duplicate: false,
        } = receipt
        else {
            panic!("a new invalid lead expected: {receipt:?}")
        };
        assert_eq!(errors[0].field, "phone");
        let lead = store.get_lead(&lead_id).await.unwrap().unwrap();
        assert_eq!(lead.stage, Stage::Invalid);
        assert_eq!(lead.invalid_reason.unwrap().code, HOOK_INVALID);
        assert_eq!(lead.unusable.get("phone").map(String::as_str), Some("12"));
        assert_eq!(lead.source.channel, "toutiao");
        assert!(bus.sent().is_empty(), "invalid leads are never routed");

        // The platform re-sends it, freshly signed: the same invalid lead answers.
        let later = now() + Duration::seconds(30);
        let (ts, sig) = push_headers(body, later);
        let again = receive_push(&store, &bus, "toutiao", (Some(&ts), Some(&sig)), body, &rules, later)
            .await
            .unwrap();
        assert!(
            matches!(again, PushReceipt::Invalid { duplicate: true, lead_id: ref l, .. } if *l == lead_id),
            "{again:?}"
        );
        assert_eq!(store.lead_count(), 1);
    }

    proptest! {
        #[test]
        fn any_body_verifies_under_its_signature_and_no_flipped_byte_does(
            body in proptest::collection::vec(any::<u8>(), 0..256),
            flip in any::<prop::sample::Index>(),
        ) {
            let secrets = vec![SECRET.to_string()];
            let (ts, sig) = signed(&body, now());
            prop_assert!(check(&secrets, &ts, &sig, &body).is_ok());
            if !body.is_empty() {
                let mut tampered = body.clone();
                let i = flip.index(tampered.len());
                tampered[i] ^= 0x01;
                prop_assert_eq!(check(&secrets, &ts, &sig, &tampered), Err(SignatureError::Mismatch));
            }
        }
    }

    /// A rollback puts back what a version routed (channel, mapping, switch) and
    /// leaves the secrets as they are now: history keeps only their fingerprints.
    #[tokio::test]
    async fn a_rollback_restores_the_mapping_and_keeps_todays_secrets() {
        let store = store_with_source().await;
        let config = ConfigId::named(ConfigKind::Hooks, "toutiao");
        let mut changed = HookSource::apply(
            "toutiao",
            store.hook_source("toutiao").await.unwrap(),
            HookSourceChange {
                channel: "douyin".into(),
                mapping: BTreeMap::from([("phone".into(), "tel".into())]),
                secret: Some("a-newer-secret-0123456789abcdef0123".into()),
                retire_previous_secret: true,
                ..HookSourceChange::default()
            },
            now(),
        )
        .unwrap();
        changed.next_version(now());
        save(&store, &config, &changed, "ops-li", now()).await.unwrap();
        let kept = crate::lead::versioned::version(&store, &config, 1)
            .await
            .unwrap()
            .unwrap();
        let document = kept.document.unwrap();
        assert!(document.get("secrets").is_none() && !document.to_string().contains(SECRET));

        let restored = changed.restore(document, now()).unwrap();
        assert_eq!((restored.channel.as_str(), restored.mapping.len()), ("toutiao", 4));
        assert_eq!(restored.secrets, changed.secrets, "the leaked secret stays retired");
        assert_eq!(restored.version, 2, "stamped as the next version when saved");
    }
}
