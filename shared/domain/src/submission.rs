//! A form submission: decoded from JSON or `application/x-www-form-urlencoded`, then
//! validated into normalised lead data with every problem reported per field.
//!
//! Policy: a submission is rejected only when nothing usable can be made of it (no
//! usable contact, or a field that breaks a hard limit). A bad phone next to a good
//! e-mail is kept as `unusable` data with a warning, so nothing valid is lost.

use crate::company::core_name;
use crate::error::{FieldError, FieldErrors};
use crate::lead::{Company, Contact, Profile, Source, Utm};
use crate::normalize::{self, ContactError};
use phonenumber::country::Id as Country;
use std::collections::BTreeMap;
use thiserror::Error;

/// The honeypot: hidden from humans by the landing page's CSS, filled by bots.
pub const HONEYPOT_FIELD: &str = "website";
pub const MAX_EXTRA_FIELDS: usize = 20;
const MAX_EXTRA_KEY: usize = 64;
const MAX_EXTRA_VALUE: usize = 1000;

/// Known fields and their length limits (characters).
const LIMITS: &[(&str, usize)] = &[
    ("name", 100),
    ("phone", 40),
    ("email", 254),
    ("wechat", 64),
    ("company", 200),
    ("title", 100),
    ("industry", 100),
    ("province", 50),
    ("city", 50),
    ("company_size", 50),
    ("product", 200),
    ("message", 2000),
    ("channel", 64),
    ("campaign_id", 128),
    ("utm_source", 256),
    ("utm_medium", 256),
    ("utm_campaign", 256),
    ("utm_term", 256),
    ("utm_content", 256),
    ("referrer", 2048),
    ("landing_page", 2048),
    ("submission_id", 128),
    ("consent", 10),
    ("redirect", 2048),
    (HONEYPOT_FIELD, 2048),
];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("request body is empty")]
    Empty,
    #[error("request body is not valid UTF-8")]
    NotUtf8,
    #[error("request body is not valid JSON: {0}")]
    Json(String),
    #[error("request body must be a JSON object")]
    NotAnObject,
    #[error("request body is not valid form data")]
    Form,
}

/// Field name → value as sent (numbers and booleans already turned into text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSubmission {
    values: BTreeMap<String, String>,
    /// Fields whose JSON type cannot carry a value (objects, arrays).
    type_errors: Vec<FieldError>,
}

impl RawSubmission {
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut values = BTreeMap::new();
        for (k, v) in pairs {
            // First value wins when a form repeats a name.
            values.entry(k.into()).or_insert_with(|| v.into());
        }
        Self {
            values,
            type_errors: Vec::new(),
        }
    }

    pub fn from_json(body: &[u8]) -> Result<Self, DecodeError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(DecodeError::Empty);
        }
        let text = std::str::from_utf8(body).map_err(|_| DecodeError::NotUtf8)?;
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| DecodeError::Json(e.to_string()))?;
        let serde_json::Value::Object(map) = value else {
            return Err(DecodeError::NotAnObject);
        };
        Ok(Self::from_object(map))
    }

    /// Field name → JSON value; `null` is absent, objects and arrays are type errors.
    pub fn from_object(map: serde_json::Map<String, serde_json::Value>) -> Self {
        let mut raw = Self::default();
        for (key, value) in map {
            match value {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => {
                    raw.values.insert(key, s);
                }
                serde_json::Value::Number(n) => {
                    raw.values.insert(key, n.to_string());
                }
                serde_json::Value::Bool(b) => {
                    raw.values.insert(key, b.to_string());
                }
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => raw
                    .type_errors
                    .push(FieldError::new(key, "must be a string, number or boolean")),
            }
        }
        raw
    }

    pub fn from_form(body: &[u8]) -> Result<Self, DecodeError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(DecodeError::Empty);
        }
        std::str::from_utf8(body).map_err(|_| DecodeError::NotUtf8)?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| DecodeError::Form)?;
        if pairs
            .iter()
            .any(|(k, v)| k.contains('\u{FFFD}') || v.contains('\u{FFFD}'))
        {
            // Percent-encoded bytes that are not UTF-8 decode to U+FFFD: refuse rather than store mojibake.
            return Err(DecodeError::NotUtf8);
        }
        Ok(Self::from_pairs(pairs))
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.values.get(field).map(String::as_str)
    }

    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }
}

/// Normalises one kind of contact value in a default region.
type ContactCheck = fn(&str, Country) -> Result<String, ContactError>;

/// Tunables of validation; defaults match DOMAIN.md (China first).
#[derive(Debug, Clone)]
pub struct SubmissionRules {
    pub default_region: Country,
    pub default_channel: String,
}

impl Default for SubmissionRules {
    fn default() -> Self {
        Self {
            default_region: Country::CN,
            default_channel: "web_form".into(),
        }
    }
}

/// A validated, normalised submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub contact: Contact,
    pub company: Option<Company>,
    pub profile: Profile,
    pub source: Source,
    pub extra: BTreeMap<String, String>,
    /// Contact values that were sent but could not be used (kept for a human).
    pub unusable: BTreeMap<String, String>,
    pub consent: bool,
    pub submission_id: Option<String>,
    pub redirect: Option<String>,
    /// The honeypot was filled: store as invalid, answer as if accepted.
    pub honeypot: bool,
    /// Problems that did not stop the submission (e.g. a bad phone beside a good e-mail).
    pub warnings: Vec<FieldError>,
}

pub fn validate(raw: &RawSubmission, rules: &SubmissionRules) -> Result<Submission, FieldErrors> {
    let honeypot = raw.get(HONEYPOT_FIELD).is_some_and(|v| !v.trim().is_empty());
    let mut errors = FieldErrors(raw.type_errors.clone());
    let mut warnings = Vec::new();

    let text = |field: &str, errors: &mut FieldErrors| -> Option<String> {
        let value = raw.get(field)?;
        let limit = LIMITS.iter().find(|(f, _)| *f == field).map_or(256, |(_, l)| *l);
        if value.chars().count() > limit {
            errors.push(field, format!("must be at most {limit} characters"));
            return None;
        }
        normalize::text(value)
    };

    // Contacts: each one checked on its own, then judged together.
    let mut contact = Contact {
        name: text("name", &mut errors),
        ..Contact::default()
    };
    let mut unusable = BTreeMap::new();
    let mut contact_errors = Vec::new();
    let checks: [(&str, ContactCheck); 3] = [
        ("phone", normalize::phone_e164),
        ("email", |v, _| normalize::email(v)),
        ("wechat", normalize::wechat),
    ];
    for (field, check) in checks {
        let Some(value) = text(field, &mut errors) else {
            continue;
        };
        match check(&value, rules.default_region) {
            Ok(normalised) => match field {
                "phone" => contact.phone = Some(normalised),
                "email" => contact.email = Some(normalised),
                _ => contact.wechat = Some(normalised),
            },
            Err(reason) => {
                unusable.insert(field.to_string(), value);
                contact_errors.push(FieldError::new(field, reason));
            }
        }
    }
    let has_contact = contact.phone.is_some() || contact.email.is_some() || contact.wechat.is_some();
    if has_contact {
        warnings.extend(contact_errors);
    } else if contact_errors.is_empty() {
        errors.push("contact", "at least one of phone, email or wechat is required");
    } else {
        errors.0.extend(contact_errors);
    }

    let company = text("company", &mut errors).map(|raw| Company {
        core: core_name(&raw),
        raw,
    });
    let profile = Profile {
        title: text("title", &mut errors),
        industry: text("industry", &mut errors),
        province: text("province", &mut errors),
        city: text("city", &mut errors),
        company_size: text("company_size", &mut errors),
        product: text("product", &mut errors),
        message: text("message", &mut errors),
    };

    let channel = match text("channel", &mut errors) {
        None => rules.default_channel.clone(),
        Some(c) => {
            let slug = c.to_lowercase().replace([' ', '-'], "_");
            if slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                slug
            } else {
                errors.push("channel", "may contain only letters, digits, '_' and '.'");
                rules.default_channel.clone()
            }
        }
    };
    let source = Source {
        channel,
        campaign_id: text("campaign_id", &mut errors),
        utm: Utm {
            source: text("utm_source", &mut errors),
            medium: text("utm_medium", &mut errors),
            campaign: text("utm_campaign", &mut errors),
            term: text("utm_term", &mut errors),
            content: text("utm_content", &mut errors),
        },
        referrer: text("referrer", &mut errors),
        landing_page: text("landing_page", &mut errors),
    };

    let consent = match text("consent", &mut errors)
        .as_deref()
        .map(str::to_lowercase)
        .as_deref()
    {
        None | Some("false" | "0" | "off" | "no" | "n" | "否") => false,
        Some("true" | "1" | "on" | "yes" | "y" | "是" | "同意") => true,
        Some(_) => {
            errors.push("consent", "must be true or false");
            false
        }
    };

    let submission_id = text("submission_id", &mut errors);
    if let Some(id) = &submission_id {
        if !id.chars().all(|c| c.is_ascii_graphic()) {
            errors.push("submission_id", "may contain only printable ASCII without spaces");
        }
    }

    let redirect = text("redirect", &mut errors);
    let extra = extra_fields(raw, &mut errors);

    let submission_id = if honeypot {
        // Bots get the same 202 as people whatever they sent; nothing to report back.
        errors = FieldErrors::default();
        warnings.clear();
        submission_id.filter(|id| id.chars().all(|c| c.is_ascii_graphic()))
    } else {
        submission_id
    };
    errors.into_result(Submission {
        contact,
        company,
        profile,
        source,
        extra,
        unusable,
        consent,
        submission_id,
        redirect,
        honeypot,
        warnings,
    })
}

fn extra_fields(raw: &RawSubmission, errors: &mut FieldErrors) -> BTreeMap<String, String> {
    let mut extra = BTreeMap::new();
    for (key, value) in &raw.values {
        if LIMITS.iter().any(|(f, _)| f == key) {
            continue;
        }
        if key.chars().count() > MAX_EXTRA_KEY {
            errors.push(
                truncate(key, MAX_EXTRA_KEY),
                format!("custom field names must be at most {MAX_EXTRA_KEY} characters"),
            );
        } else if value.chars().count() > MAX_EXTRA_VALUE {
            errors.push(key.clone(), format!("must be at most {MAX_EXTRA_VALUE} characters"));
        } else if let Some(v) = normalize::text(value) {
            extra.insert(key.clone(), v);
        }
    }
    if extra.len() > MAX_EXTRA_FIELDS {
        errors.push(
            "body",
            format!(
                "at most {MAX_EXTRA_FIELDS} custom fields are accepted, got {}",
                extra.len()
            ),
        );
    }
    extra
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(pairs: &[(&str, &str)]) -> Result<Submission, FieldErrors> {
        validate(
            &RawSubmission::from_pairs(pairs.iter().copied()),
            &SubmissionRules::default(),
        )
    }

    fn fields(err: FieldErrors) -> Vec<String> {
        err.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_full_submission_is_normalised() {
        let s = valid(&[
            ("name", " 张三 "),
            ("phone", "138 0013 8000"),
            ("email", "Zhang@Example.com"),
            ("company", "北京纷扬科技有限公司"),
            ("utm_source", "baidu"),
            ("utm_term", "crm 软件"),
            ("consent", "on"),
            ("submission_id", "abc-123"),
            ("budget", "50万"),
        ])
        .unwrap();
        assert_eq!(s.contact.name.as_deref(), Some("张三"));
        assert_eq!(s.contact.phone.as_deref(), Some("+8613800138000"));
        assert_eq!(s.contact.email.as_deref(), Some("zhang@example.com"));
        assert_eq!(s.company.unwrap().core, "纷扬");
        assert_eq!(s.source.channel, "web_form");
        assert_eq!(s.source.utm.term.as_deref(), Some("crm 软件"));
        assert!(s.consent);
        assert_eq!(s.extra.get("budget").map(String::as_str), Some("50万"));
        assert!(s.warnings.is_empty());
    }

    #[test]
    fn table_of_rejections() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
        let cases: &[Case] = &[
            (&[("name", "x")], &["contact"]),
            (&[("phone", "12345")], &["phone"]),
            (&[("phone", "12345"), ("email", "nope")], &["phone", "email"]),
            (&[("email", "a@b.com"), ("consent", "maybe")], &["consent"]),
            (&[("email", "a@b.com"), ("channel", "渠道!")], &["channel"]),
            (
                &[("email", "a@b.com"), ("submission_id", "has space")],
                &["submission_id"],
            ),
        ];
        for (input, expected) in cases {
            let err = valid(input).expect_err(&format!("{input:?} should fail"));
            assert_eq!(fields(err), *expected, "{input:?}");
        }
    }

    #[test]
    fn too_long_fields_name_the_field_and_the_limit() {
        let long = "x".repeat(101);
        let err = valid(&[("email", "a@b.com"), ("name", &long)]).unwrap_err();
        assert_eq!(err.0, vec![FieldError::new("name", "must be at most 100 characters")]);
    }

    #[test]
    fn a_bad_phone_beside_a_good_email_is_kept_as_a_warning() {
        let s = valid(&[("phone", "12345"), ("email", "a@b.com")]).unwrap();
        assert_eq!(s.unusable.get("phone").map(String::as_str), Some("12345"));
        assert_eq!(
            s.warnings,
            vec![FieldError::new("phone", "is not a valid phone number")]
        );
    }

    #[test]
    fn honeypot_is_accepted_whatever_else_is_wrong() {
        let s = valid(&[("website", "http://spam"), ("phone", "bad")]).unwrap();
        assert!(s.honeypot);
        assert!(s.warnings.is_empty());
    }

    #[test]
    fn json_decoding_coerces_scalars_and_flags_structures() {
        let raw = RawSubmission::from_json(br#"{"phone": 13800138000, "consent": true, "utm": {"a":1}, "city": null}"#)
            .unwrap();
        assert_eq!(raw.get("phone"), Some("13800138000"));
        assert_eq!(raw.get("consent"), Some("true"));
        assert_eq!(raw.get("city"), None);
        let err = validate(&raw, &SubmissionRules::default()).unwrap_err();
        assert_eq!(fields(err), ["utm"]);
    }

    #[test]
    fn decoding_errors() {
        assert_eq!(RawSubmission::from_json(b"  "), Err(DecodeError::Empty));
        assert_eq!(RawSubmission::from_json(b"[1]"), Err(DecodeError::NotAnObject));
        assert!(matches!(RawSubmission::from_json(b"{"), Err(DecodeError::Json(_))));
        assert_eq!(RawSubmission::from_json(b"{\"a\":\"\xff\"}"), Err(DecodeError::NotUtf8));
        assert_eq!(RawSubmission::from_form(b"name=%FF"), Err(DecodeError::NotUtf8));
        let deep = "[".repeat(500);
        assert!(matches!(
            RawSubmission::from_json(deep.as_bytes()),
            Err(DecodeError::Json(_))
        ));
    }

    #[test]
    fn form_decoding_keeps_the_first_of_repeated_names() {
        let raw =
            RawSubmission::from_form("name=%E5%BC%A0%E4%B8%89&phone=138+0013+8000&name=other".as_bytes()).unwrap();
        assert_eq!(raw.get("name"), Some("张三"));
        assert_eq!(raw.get("phone"), Some("138 0013 8000"));
    }

    #[test]
    fn too_many_custom_fields() {
        let pairs: Vec<(String, String)> = (0..=MAX_EXTRA_FIELDS)
            .map(|i| (format!("q{i}"), "v".to_string()))
            .chain([("email".into(), "a@b.com".into())])
            .collect();
        let err = validate(&RawSubmission::from_pairs(pairs), &SubmissionRules::default()).unwrap_err();
        assert_eq!(fields(err), ["body"]);
    }
}
