//! A webhook push mapped into form fields by its source's mapping, then validated like a
//! form: no panic; a mapped push always carries the source's channel and a submission id
//! derived from the source, so a re-sent lead is captured once.
#![no_main]

use domain::{capture::hooks::map_push, capture::hooks::HookSource};
use domain::{capture::submission::validate, capture::submission::SubmissionRules};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let mapping: BTreeMap<String, String> = [
        ("phone", "data.mobile"),
        ("email", "data.contact.email"),
        ("name", "answers.0.value"),
        ("company", "answers.1.value"),
        ("submission_id", "lead_id"),
        ("campaign_id", "ad.campaign"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let source = HookSource {
        name: "douyin".into(),
        version: 1,
        channel: "douyin".into(),
        campaign_id: Some("spring-2026".into()),
        mapping,
        secrets: vec!["s".into()],
        enabled: true,
        updated_at: chrono::DateTime::from_timestamp(1_767_225_600, 0).expect("a fixed time"),
    };
    let Ok(raw) = map_push(&source, data) else {
        return;
    };
    assert_eq!(raw.get("channel"), Some("douyin"));
    assert!(raw.get("submission_id").is_some_and(|id| !id.is_empty()));
    assert!(raw.get("campaign_id").is_some());
    // The same body maps to the same id (re-sent pushes are one lead).
    let again = map_push(&source, data).expect("it mapped once");
    assert_eq!(again.get("submission_id"), raw.get("submission_id"));
    let _ = validate(&raw, &SubmissionRules::default());
});
