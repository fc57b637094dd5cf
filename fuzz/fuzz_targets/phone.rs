//! The phone, e-mail, WeChat and free-text normalisers: no panic on any text, and each
//! is idempotent (normalising its own output returns it unchanged, as normalize.rs
//! promises); a phone's E.164 form is one libphonenumber itself accepts.
#![no_main]

use domain::{lead::normalize, lead::normalize::Region};
use libfuzzer_sys::fuzz_target;

/// Default regions a deployment may configure: China first, then a few with other
/// numbering plans (the fast path only runs for CN).
const REGIONS: [Region; 4] = [Region::CN, Region::US, Region::HK, Region::GB];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(input) = std::str::from_utf8(rest) else {
        return;
    };
    let region = REGIONS[usize::from(pick) % REGIONS.len()];

    if let Ok(e164) = normalize::phone_e164(input, region) {
        assert!(e164.starts_with('+'), "{input:?} -> {e164:?}");
        assert_eq!(
            normalize::phone_e164(&e164, region).as_deref(),
            Ok(e164.as_str()),
            "{input:?}"
        );
        assert_eq!(
            normalize::phone_e164_general(&e164, region).as_deref(),
            Ok(e164.as_str()),
            "the fast path and libphonenumber disagree on {input:?}"
        );
        // The cleaner reads every stored number.
        let _ = domain::qualify::clean::implausible_phone(&e164);
    }
    if let Ok(email) = normalize::email(input) {
        assert_eq!(normalize::email(&email).as_deref(), Ok(email.as_str()), "{input:?}");
    }
    if let Ok(wechat) = normalize::wechat(input, region) {
        assert_eq!(
            normalize::wechat(&wechat, region).as_deref(),
            Ok(wechat.as_str()),
            "{input:?}"
        );
    }
    if let Some(text) = normalize::text(input) {
        assert_eq!(normalize::text(&text).as_deref(), Some(text.as_str()), "{input:?}");
    }
});
