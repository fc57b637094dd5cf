//! Properties of the normalisers: idempotent, and blind to formatting noise.

use domain::qualify::company::core_name;
use domain::{
    lead::normalize::email, lead::normalize::fold_width, lead::normalize::phone_e164,
    lead::normalize::phone_e164_general, lead::normalize::text, lead::normalize::wechat,
};
use phonenumber::country::Id as Country;
use proptest::prelude::*;

/// A Chinese mobile number: 1, a carrier digit 3-9, nine more digits.
fn cn_mobile() -> impl Strategy<Value = String> {
    (3u8..=9, proptest::collection::vec(0u8..=9, 9))
        .prop_map(|(second, rest)| format!("1{second}{}", rest.iter().map(|d| d.to_string()).collect::<String>()))
}

/// Re-types a number the ways people do: prefixes, separators, full-width digits.
fn noisy(number: &str, prefix: usize, separator: usize, full_width: bool) -> String {
    let prefix = ["", "+86", "+86 ", "0086", "0086-", "86", "(+86) "][prefix];
    let sep = ["", " ", "-", ".", "\u{3000}"][separator];
    let grouped = format!("{}{sep}{}{sep}{}", &number[..3], &number[3..7], &number[7..]);
    let typed = format!("{prefix}{grouped}");
    if full_width {
        typed
            .chars()
            .map(|c| match c {
                '0'..='9' | '+' | '-' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                _ => c,
            })
            .collect()
    } else {
        typed
    }
}

proptest! {
    /// The one-pass `text` means exactly: fold widths, then collapse whitespace runs.
    #[test]
    fn text_is_folded_and_collapsed(input in "[ a-zA-Z0-9\u{3000}\u{FF01}-\u{FF5E}\t\n北京。，]{0,40}") {
        let expected = fold_width(&input).split_whitespace().collect::<Vec<_>>().join(" ");
        prop_assert_eq!(text(&input), (!expected.is_empty()).then_some(expected));
    }

    /// The Chinese-mobile fast path answers exactly as libphonenumber's general parse,
    /// for allocated and unallocated ranges alike, with or without +86, in any region.
    #[test]
    fn the_mobile_fast_path_agrees_with_libphonenumber(
        digits in proptest::collection::vec(0u8..=9, 10), plus86: bool, region_cn: bool,
    ) {
        let national = format!("1{}", digits.iter().map(|d| d.to_string()).collect::<String>());
        let candidate = if plus86 { format!("+86{national}") } else { national };
        let region = if region_cn { Country::CN } else { Country::US };
        prop_assert_eq!(phone_e164(&candidate, region), phone_e164_general(&candidate, region));
    }

    #[test]
    fn formatting_noise_never_changes_the_phone_key(
        number in cn_mobile(), prefix in 0usize..7, separator in 0usize..5, full_width: bool,
    ) {
        let clean = phone_e164(&number, Country::CN);
        // Not every generated prefix is an allocated range; noise must agree either way.
        let typed = noisy(&number, prefix, separator, full_width);
        prop_assert_eq!(phone_e164(&typed, Country::CN), clean);
    }

    #[test]
    fn phone_normalisation_is_idempotent(input in "[0-9+ ()\\-]{0,20}") {
        if let Ok(once) = phone_e164(&input, Country::CN) {
            prop_assert_eq!(phone_e164(&once, Country::CN), Ok(once.clone()));
        }
    }

    #[test]
    fn email_normalisation_is_idempotent(local in "[A-Za-z0-9._%+-]{1,20}", domain in "[A-Za-z0-9-]{1,15}\\.[A-Za-z]{2,6}", pad in " {0,3}") {
        let input = format!("{pad}{local}@{domain}{pad}");
        if let Ok(once) = email(&input) {
            prop_assert_eq!(email(&once), Ok(once.clone()));
            prop_assert_eq!(email(&input.to_uppercase()), Ok(once));
        }
    }

    #[test]
    fn wechat_normalisation_is_idempotent(input in "[A-Za-z][A-Za-z0-9_-]{0,22}") {
        if let Ok(once) = wechat(&input, Country::CN) {
            prop_assert_eq!(wechat(&once, Country::CN), Ok(once.clone()));
        }
    }

    #[test]
    fn text_normalisation_is_idempotent(input in "\\PC{0,40}") {
        if let Some(once) = text(&input) {
            prop_assert_eq!(text(&once), Some(once.clone()));
        }
    }

    #[test]
    fn company_core_is_idempotent(input in "\\PC{0,30}") {
        let once = core_name(&input);
        prop_assert_eq!(core_name(&once), once.clone());
    }

    #[test]
    fn company_core_ignores_spacing_width_and_case(
        name in prop::sample::select(vec!["北京纷扬科技有限公司", "Acme Technologies Co., Ltd.", "上海云帆信息技术有限公司", "深圳市腾云网络科技有限公司"]),
        spaces in 0usize..3,
    ) {
        // People put spaces between Chinese characters and extra spaces between words,
        // not inside Latin words.
        let pad = " ".repeat(spaces);
        let spaced: String = name
            .chars()
            .flat_map(|c| {
                let gap = if c.is_ascii() { if c == ' ' { pad.clone() } else { String::new() } } else { pad.clone() };
                std::iter::once(c).chain(gap.chars().collect::<Vec<_>>())
            })
            .collect();
        let widened: String = name.chars().map(|c| if c.is_ascii_graphic() { char::from_u32(c as u32 + 0xFEE0).unwrap_or(c) } else { c }).collect();
        prop_assert_eq!(core_name(&spaced), core_name(name));
        prop_assert_eq!(core_name(&widened), core_name(name));
        prop_assert_eq!(core_name(&name.to_uppercase()), core_name(name));
        prop_assert_eq!(fold_width(&widened), name);
    }
}
