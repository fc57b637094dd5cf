//! The intake decoder: a body as JSON (`application/json`, `text/plain`) or a form
//! (`application/x-www-form-urlencoded`) becomes a raw submission, which is validated
//! into lead data, cleaned and stored as a lead. No panic anywhere on that path; the
//! decoder keeps every string value it was sent; what validation accepts is in
//! canonical form.
#![no_main]

use domain::capture::intake::lead_from_submission;
use domain::{qualify::clean::clean, qualify::clean::CleaningRules};
use domain::{lead::normalize, lead::normalize::Region};
use domain::{capture::submission::validate, capture::submission::RawSubmission, capture::submission::SubmissionRules};
use domain::LeadId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let raw = if kind & 1 == 0 {
        let decoded = RawSubmission::from_json(body);
        if let (Ok(raw), Ok(serde_json::Value::Object(map))) = (&decoded, serde_json::from_slice(body)) {
            for (key, value) in map {
                if let serde_json::Value::String(text) = value {
                    assert_eq!(raw.get(&key), Some(text.as_str()), "the decoder dropped {key:?}");
                }
            }
        }
        decoded
    } else {
        RawSubmission::from_form(body)
    };
    let Ok(raw) = raw else {
        return;
    };
    let rules = SubmissionRules::default();
    let Ok(submission) = validate(&raw, &rules) else {
        return;
    };
    let contact = &submission.contact;
    assert!(
        contact.phone.is_some() || contact.email.is_some() || contact.wechat.is_some() || submission.honeypot,
        "accepted without a usable contact: {raw:?}"
    );
    if let Some(phone) = &contact.phone {
        assert_eq!(normalize::phone_e164(phone, Region::CN).as_deref(), Ok(phone.as_str()));
    }
    if let Some(email) = &contact.email {
        assert_eq!(normalize::email(email).as_deref(), Ok(email.as_str()));
    }
    let now = chrono::DateTime::from_timestamp(1_767_225_600, 0).expect("a fixed time");
    let lead = lead_from_submission(LeadId::generate(now), submission, now);
    let _ = clean(&lead, &CleaningRules::default());
    let stored = serde_json::to_string(&lead).expect("a lead serialises");
    let back: domain::Lead = serde_json::from_str(&stored).expect("a stored lead reads back");
    assert_eq!(back, lead);
});
