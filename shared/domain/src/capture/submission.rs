//! A form submission: decoded from JSON or `application/x-www-form-urlencoded`, then
//! validated into normalised lead data with every problem reported per field.
//!
//! Policy: a submission is rejected only when nothing usable can be made of it (no
//! usable contact, or a field that breaks a hard limit). A bad phone next to a good
//! e-mail is kept as `unusable` data with a warning, so nothing valid is lost.

use crate::lead::{Company, Contact, Profile, Source, Utm};
use crate::qualify::company::core_name;
use crate::{lead::error::FieldError, lead::error::FieldErrors};
use crate::{lead::normalize, lead::normalize::ContactError};
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
    // Where a form post that fails validation is sent back to, and the form's language
    // (functions/intake's form_errors).
    ("error_redirect", 2048),
    ("lang", 16),
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
    #[error("charset {0} is not supported")]
    UnknownCharset(String),
    #[error("request body is not valid {0}")]
    NotInCharset(String),
}

/// The hidden form field browsers fill with the encoding they used (HTML's `_charset_`).
pub const CHARSET_FIELD: &str = "_charset_";

/// A UTF-8 byte-order mark some clients (and Windows editors) put first.
fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// The encoding a charset label names, if it is one we can decode (the WHATWG labels:
/// `gbk`, `gb2312`, `gb18030`, `big5`, `shift_jis`, `utf-16le`…).
fn encoding(label: &str) -> Result<&'static encoding_rs::Encoding, DecodeError> {
    match encoding_rs::Encoding::for_label(label.trim().as_bytes()) {
        Some(e) if e != encoding_rs::REPLACEMENT => Ok(e),
        _ => Err(DecodeError::UnknownCharset(truncate(label.trim(), 40))),
    }
}

/// `bytes` as text in `encoding`; malformed input is refused, never replaced.
fn decode_in(bytes: &[u8], encoding: &'static encoding_rs::Encoding) -> Result<String, DecodeError> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
        .ok_or_else(|| DecodeError::NotInCharset(encoding.name().to_string()))
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
        let body = strip_bom(body);
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(DecodeError::Empty);
        }
        let text = std::str::from_utf8(body).map_err(|_| DecodeError::NotUtf8)?;
        Self::from_json_text(text)
    }

    /// [`RawSubmission::from_json`] of a body the sender says is in `charset` (JSON is
    /// UTF-8 by its RFC, but a declared charset is honoured rather than misread).
    pub fn from_json_in(body: &[u8], charset: Option<&str>) -> Result<Self, DecodeError> {
        let encoding = match charset.map(encoding).transpose()? {
            None => return Self::from_json(body),
            Some(e) if e == encoding_rs::UTF_8 => return Self::from_json(body),
            Some(e) => e,
        };
        let text = decode_in(body, encoding)?;
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
        if text.trim().is_empty() {
            return Err(DecodeError::Empty);
        }
        Self::from_json_text(text)
    }

    fn from_json_text(text: &str) -> Result<Self, DecodeError> {
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
        let body = strip_bom(body);
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
        Ok(Self::from_pairs(pairs.into_iter().filter(|(k, _)| k != CHARSET_FIELD)))
    }

    /// A form post in `charset` (from the content type), else in the charset the
    /// browser wrote into a `_charset_` field, else UTF-8. A page served as GBK posts
    /// its form in GBK, percent-encoded: the bytes are decoded after percent-decoding.
    pub fn from_form_in(body: &[u8], charset: Option<&str>) -> Result<Self, DecodeError> {
        let body = strip_bom(body);
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(DecodeError::Empty);
        }
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = body
            .split(|b| *b == b'&')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let (k, v) = match part.iter().position(|b| *b == b'=') {
                    Some(i) => (&part[..i], &part[i + 1..]),
                    None => (part, &b""[..]),
                };
                (form_bytes(k), form_bytes(v))
            })
            .collect();
        let declared = charset.map(str::to_string).or_else(|| {
            pairs
                .iter()
                .find(|(k, _)| k == CHARSET_FIELD.as_bytes())
                .and_then(|(_, v)| std::str::from_utf8(v).ok().map(str::to_string))
        });
        let encoding = match declared.as_deref().map(encoding).transpose()? {
            None => return Self::from_form(body),
            Some(e) if e == encoding_rs::UTF_8 => return Self::from_form(body),
            Some(e) => e,
        };
        let mut decoded = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let key = decode_in(&k, encoding)?;
            if key != CHARSET_FIELD {
                decoded.push((key, decode_in(&v, encoding)?));
            }
        }
        Ok(Self::from_pairs(decoded))
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.values.get(field).map(String::as_str)
    }

    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }
}

/// Normalises one kind of contact value in a default region: its stored form, and a
/// phone's extension.
type ContactCheck = fn(&str, Country) -> Result<(String, Option<String>), ContactError>;

/// Tunables of validation; defaults as in docs/src/rules/capture.md#valid-submission (China first).
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

/// What a channel may be made of (after [`channel_slug`]).
pub const CHANNEL_RULE: &str = "may contain only letters, digits, '_' and '.'";

/// A channel as leads carry it: lower case, spaces and dashes as `_` ("Trade Show" →
/// `trade_show`); `None` if it holds anything else than letters, digits, `_` and `.`.
pub fn channel_slug(text: &str) -> Option<String> {
    let slug = text.to_lowercase().replace([' ', '-'], "_");
    slug.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        .then_some(slug)
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
        ("phone", normalize::phone_and_extension),
        ("email", |v, _| normalize::email(v).map(|e| (e, None))),
        ("wechat", |v, region| normalize::wechat(v, region).map(|w| (w, None))),
    ];
    for (field, check) in checks {
        let Some(value) = text(field, &mut errors) else {
            continue;
        };
        match check(&value, rules.default_region) {
            Ok((normalised, extension)) => match field {
                "phone" => {
                    contact.phone = Some(normalised);
                    contact.phone_ext = extension;
                }
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
        Some(c) => channel_slug(&c).unwrap_or_else(|| {
            errors.push("channel", CHANNEL_RULE);
            rules.default_channel.clone()
        }),
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
    let extra = extra_fields(raw, &mut errors, &mut warnings);

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

/// Custom fields: kept under their own names. A field with no name is dropped with a
/// warning: there is nothing to show it under, and DynamoDB refuses an empty map key
/// (the whole lead would be lost with it).
fn extra_fields(
    raw: &RawSubmission,
    errors: &mut FieldErrors,
    warnings: &mut Vec<FieldError>,
) -> BTreeMap<String, String> {
    let mut extra = BTreeMap::new();
    for (key, value) in &raw.values {
        if LIMITS.iter().any(|(f, _)| f == key) {
            continue;
        }
        if key.is_empty() {
            warnings.push(FieldError::new("body", "a custom field with an empty name was ignored"));
        } else if key.chars().count() > MAX_EXTRA_KEY {
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

/// One name or value of a form body: `+` is a space, `%XX` a byte.
fn form_bytes(part: &[u8]) -> Vec<u8> {
    let plus: Vec<u8> = part.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
    percent_encoding::percent_decode(&plus).collect()
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
    fn a_custom_field_without_a_name_is_dropped_with_a_warning_and_the_lead_kept() {
        let s = valid(&[("phone", "13800138000"), ("", "x"), ("budget", "50万")]).unwrap();
        assert_eq!(s.extra.keys().collect::<Vec<_>>(), ["budget"]);
        assert_eq!(
            s.warnings,
            vec![FieldError::new("body", "a custom field with an empty name was ignored")]
        );
    }

    #[test]
    fn a_phone_extension_is_kept_in_its_own_field() {
        for (written, number, ext) in [
            ("010-6552 9988 转 123", "+861065529988", Some("123")),
            ("010 65529988 分机：8", "+861065529988", Some("8")),
            ("+1 650-253-0000 ext. 12", "+16502530000", Some("12")),
            ("+44 20 7946 0958 x7", "+442079460958", Some("7")),
            ("(010) 6552-9988 #66", "+861065529988", Some("66")),
            ("138 0013 8000", "+8613800138000", None),
        ] {
            let s = valid(&[("phone", written)]).unwrap();
            assert_eq!(
                (s.contact.phone.as_deref(), s.contact.phone_ext.as_deref()),
                (Some(number), ext),
                "{written}"
            );
        }
        let err = valid(&[("phone", "010-6552 9988 转 abc")]).unwrap_err();
        assert_eq!(
            err.0[0].field, "phone",
            "a marker without digits after it is not an extension"
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
    fn byte_order_marks_are_skipped() {
        let json = RawSubmission::from_json(b"\xEF\xBB\xBF{\"email\": \"a@b.com\"}").unwrap();
        assert_eq!(json.get("email"), Some("a@b.com"));
        let form = RawSubmission::from_form(b"\xEF\xBB\xBFemail=a%40b.com").unwrap();
        assert_eq!(form.get("email"), Some("a@b.com"));
        assert_eq!(RawSubmission::from_json(b"\xEF\xBB\xBF"), Err(DecodeError::Empty));
        // UTF-16 with its BOM is not UTF-8.
        assert_eq!(
            RawSubmission::from_json(b"\xFF\xFE{\x00}\x00"),
            Err(DecodeError::NotUtf8)
        );
    }

    #[test]
    fn a_form_in_a_declared_charset_is_decoded_not_refused() {
        // 张三 in GBK is D5 C5 C8 FD, percent-encoded as a GBK page's browser sends it.
        let gbk = b"name=%D5%C5%C8%FD&phone=13800138000&company=%B1%B1%BE%A9";
        let raw = RawSubmission::from_form_in(gbk, Some("gbk")).unwrap();
        assert_eq!(raw.get("name"), Some("张三"));
        assert_eq!(raw.get("company"), Some("北京"));
        assert_eq!(raw.get("phone"), Some("13800138000"));
        // The browser's own `_charset_` field says the same, and is not kept as data.
        let labelled = b"_charset_=GBK&name=%D5%C5%C8%FD&phone=13800138000";
        let raw = RawSubmission::from_form_in(labelled, None).unwrap();
        assert_eq!(raw.get("name"), Some("张三"));
        assert_eq!(raw.get(CHARSET_FIELD), None);
        // Without a charset the same bytes are not UTF-8: refused, not stored as mojibake.
        assert_eq!(RawSubmission::from_form_in(gbk, None), Err(DecodeError::NotUtf8));
        assert_eq!(
            RawSubmission::from_form_in(gbk, Some("utf-8")),
            Err(DecodeError::NotUtf8)
        );
        // UTF-8 declared explicitly takes the ordinary path (and drops `_charset_`).
        let utf8 = RawSubmission::from_form_in(b"_charset_=UTF-8&name=%E5%BC%A0", Some("UTF-8")).unwrap();
        assert_eq!(utf8.get("name"), Some("张"));
        assert_eq!(utf8.get(CHARSET_FIELD), None);
        assert!(matches!(
            RawSubmission::from_form_in(b"name=x", Some("klingon")),
            Err(DecodeError::UnknownCharset(_))
        ));
        assert!(matches!(
            RawSubmission::from_form_in(b"name=x", Some("iso-2022-kr")),
            Err(DecodeError::UnknownCharset(_)),
        ));
        // A lone lead byte is not GBK either.
        assert_eq!(
            RawSubmission::from_form_in(b"name=%D5", Some("gbk")),
            Err(DecodeError::NotInCharset("GBK".into()))
        );
    }

    #[test]
    fn json_in_a_declared_charset() {
        let (gbk, _, _) = encoding_rs::GBK.encode("{\"name\": \"张三\", \"email\": \"a@b.com\"}");
        assert_eq!(
            RawSubmission::from_json_in(&gbk, Some("gbk")).unwrap().get("name"),
            Some("张三")
        );
        assert_eq!(
            RawSubmission::from_json_in(&gbk, Some("utf-8")),
            Err(DecodeError::NotUtf8)
        );
        assert_eq!(RawSubmission::from_json_in(&gbk, None), Err(DecodeError::NotUtf8));
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
