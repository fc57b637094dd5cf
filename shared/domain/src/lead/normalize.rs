//! Normalisation of contact data into the canonical forms used for storage and matching.
//!
//! Every function here is pure and idempotent: normalising a normalised value returns it
//! unchanged (the property tests hold us to that).

use phonenumber::country::Id as Country;

/// A phone numbering region (ISO 3166), e.g. `Region::CN`.
pub use phonenumber::country::Id as Region;
use phonenumber::Mode;
use std::str::FromStr;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContactError {
    #[error("is empty")]
    Empty,
    #[error("is not a valid phone number")]
    InvalidPhone,
    #[error("is not a valid e-mail address")]
    InvalidEmail,
    #[error("is not a valid WeChat id (6-20 letters, digits, '_' or '-', starting with a letter, or a phone number)")]
    InvalidWechat,
}

/// Folds full-width ASCII variants (common from Chinese IMEs) to ASCII and the
/// ideographic space to a space; leaves everything else alone.
pub fn fold_width(input: &str) -> String {
    input.chars().map(fold_char).collect()
}

fn fold_char(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Phone number to E.164 (`+8613800138000`). Numbers without a country code are read
/// in `default_region` (CN unless configured); `0086`, `86`-prefixed mobiles and `+86`
/// all arrive at the same value.
pub fn phone_e164(input: &str, default_region: Country) -> Result<String, ContactError> {
    let folded = fold_width(input);
    let mut digits = String::with_capacity(folded.len());
    for c in folded.trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() => digits.push('+'),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{2010}'..='\u{2015}' => {}
            _ => return Err(ContactError::InvalidPhone),
        }
    }
    if digits.is_empty() {
        return Err(ContactError::Empty);
    }
    let candidate = if let Some(rest) = digits.strip_prefix("00") {
        format!("+{rest}")
    } else if default_region == Country::CN && digits.len() == 13 && digits.starts_with("861") {
        // "8613800138000": a Chinese mobile written with its country code but no '+'.
        format!("+{digits}")
    } else {
        digits
    };
    if let Some(e164) = chinese_mobile(&candidate, default_region) {
        return Ok(e164);
    }
    phone_e164_general(&candidate, default_region)
}

/// A phone number and the extension written after it: `ext 12`, `ext. 12`, `x12`, `#12`,
/// `转123` or `分机123` (any case, spaces allowed). The extension is digits only, at most
/// 10; the number is read by [`phone_e164`].
pub fn phone_and_extension(input: &str, default_region: Country) -> Result<(String, Option<String>), ContactError> {
    let folded = fold_width(input);
    // ASCII-only lower-casing keeps every byte offset the same in both strings.
    let lower = folded.to_ascii_lowercase();
    let split = ["分机", "转", "ext.", "ext", "x", "#"].iter().find_map(|marker| {
        let at = lower.rfind(marker)?;
        let extension = lower[at + marker.len()..]
            .trim()
            .trim_start_matches(['.', ':', '：'])
            .trim();
        (!extension.is_empty() && extension.len() <= 10 && extension.bytes().all(|b| b.is_ascii_digit()))
            .then(|| (&folded[..at], extension.to_string()))
    });
    match split {
        Some((number, extension)) => Ok((phone_e164(number, default_region)?, Some(extension))),
        None => Ok((phone_e164(&folded, default_region)?, None)),
    }
}

/// libphonenumber's parse and validation, for any number in any region. A number
/// written with its country code (`+…`) is read without a default region: the crate
/// applies the default region's national-prefix rules to it otherwise, and refuses valid
/// numbers of other countries (`+33 1 23 45 67 89` under CN).
pub fn phone_e164_general(candidate: &str, default_region: Country) -> Result<String, ContactError> {
    let region = (!candidate.starts_with('+')).then_some(default_region);
    let parsed = phonenumber::parse(region, candidate).map_err(|_| ContactError::InvalidPhone)?;
    if !phonenumber::is_valid(&parsed) {
        return Err(ContactError::InvalidPhone);
    }
    Ok(parsed.format().mode(Mode::E164).to_string())
}

/// Most leads carry a Chinese mobile number, and the general parse costs about 11 µs (the
/// crate looks each of its regexes up by pattern text). This answers those from the same
/// metadata's mobile pattern, compiled once, in well under a microsecond. Anything it does
/// not recognise goes the general way, so the results are the same (a property test
/// compares both paths).
fn chinese_mobile(candidate: &str, default_region: Country) -> Option<String> {
    static MOBILE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    // Only for deployments reading numbers in China: the crate's general path treats
    // `+86` numbers differently under other default regions, and this must not differ.
    if default_region != Country::CN {
        return None;
    }
    let national = candidate.strip_prefix("+86").unwrap_or(candidate);
    if national.len() != 11 || !national.starts_with('1') || !national.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mobile = MOBILE.get_or_init(|| {
        let pattern = phonenumber::metadata::DATABASE
            .by_id("CN")?
            .descriptors()
            .mobile()?
            .national_number()
            .as_str()
            // The metadata lays its patterns out over several lines.
            .split_whitespace()
            .collect::<String>();
        regex::Regex::new(&format!("^(?:{pattern})$")).ok()
    });
    mobile
        .as_ref()
        .filter(|m| m.is_match(national))
        .map(|_| format!("+86{national}"))
}

/// Parses an ISO 3166 region code ("CN", "us") for [`phone_e164`].
pub fn region(code: &str) -> Option<Country> {
    Country::from_str(&code.trim().to_ascii_uppercase()).ok()
}

/// E-mail trimmed and lower-cased; must have a dotted domain (no `user@localhost`).
pub fn email(input: &str) -> Result<String, ContactError> {
    let value = fold_width(input).trim().to_lowercase();
    if value.is_empty() {
        return Err(ContactError::Empty);
    }
    let parsed = email_address::EmailAddress::from_str(&value).map_err(|_| ContactError::InvalidEmail)?;
    let domain = parsed.domain();
    let dotted = domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !dotted || value.chars().any(char::is_whitespace) {
        return Err(ContactError::InvalidEmail);
    }
    Ok(value)
}

/// WeChat id: 6-20 chars of letters, digits, `_`, `-`, starting with a letter (WeChat's
/// own rule). Many people give their phone number instead ("微信同手机号"), so a valid
/// phone number is accepted and stored in E.164.
pub fn wechat(input: &str, default_region: Country) -> Result<String, ContactError> {
    let value = fold_width(input).trim().to_string();
    if value.is_empty() {
        return Err(ContactError::Empty);
    }
    let well_formed = (6..=20).contains(&value.chars().count())
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if well_formed {
        return Ok(value.to_ascii_lowercase());
    }
    phone_e164(&value, default_region).map_err(|_| ContactError::InvalidWechat)
}

/// Free text: width-folded, trimmed, inner runs of whitespace collapsed to one space.
/// Returns `None` for text that is empty after trimming.
pub fn text(input: &str) -> Option<String> {
    // One pass, one allocation: every field of every lead comes through here.
    let mut out = String::with_capacity(input.len());
    let mut space = false;
    for c in input.chars().map(fold_char) {
        if c.is_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CN: Country = Country::CN;

    #[test]
    fn chinese_mobiles_take_the_fast_path_and_others_do_not() {
        assert_eq!(chinese_mobile("13800138000", CN).as_deref(), Some("+8613800138000"));
        assert_eq!(chinese_mobile("+8619912345678", CN).as_deref(), Some("+8619912345678"));
        assert_eq!(chinese_mobile("13800138000", Country::US), None, "a US default region");
        assert_eq!(chinese_mobile("01012345678", CN), None, "a Beijing landline");
        assert_eq!(chinese_mobile("10012345678", CN), None, "not an allocated mobile range");
    }

    #[test]
    fn phones_in_common_formats_reach_one_e164() {
        let cases = [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "+86-138-0013-8000",
            "0086 138 0013 8000",
            "008613800138000",
            "8613800138000",
            "８６１３８００１３８０００",
            "１３８　００１３　８０００",
            "＋８６ １３８００１３８０００",
            "(+86) 138.0013.8000",
            "  13800138000  ",
        ];
        for case in cases {
            assert_eq!(phone_e164(case, CN).as_deref(), Ok("+8613800138000"), "{case:?}");
        }
    }

    #[test]
    fn landlines_and_foreign_numbers() {
        assert_eq!(phone_e164("010-6552 1234", CN).as_deref(), Ok("+861065521234"));
        assert_eq!(phone_e164("(021) 5049 1234", CN).as_deref(), Ok("+862150491234"));
        assert_eq!(phone_e164("+1 (415) 555-2671", CN).as_deref(), Ok("+14155552671"));
        assert_eq!(phone_e164("+44 20 7946 0958", CN).as_deref(), Ok("+442079460958"));
        let us = region("us").unwrap();
        assert_eq!(phone_e164("(415) 555-2671", us).as_deref(), Ok("+14155552671"));
    }

    #[test]
    fn malformed_phones_are_rejected_with_a_reason() {
        for bad in [
            "12345",
            "1380013800",
            "138001380001",
            "abc",
            "138-0013-800x",
            "+",
            "++8613800138000",
            "00000000000",
        ] {
            assert_eq!(phone_e164(bad, CN), Err(ContactError::InvalidPhone), "{bad:?}");
        }
        assert_eq!(phone_e164("  - ", CN), Err(ContactError::Empty));
    }

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            email("  Zhang.San@Example.COM ").as_deref(),
            Ok("zhang.san@example.com")
        );
        assert_eq!(email("ｚｓ＠ｅｘａｍｐｌｅ．ｃｎ").as_deref(), Ok("zs@example.cn"));
        for bad in [
            "zhang",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "@x.com",
            "a@.com",
            "a@x..com",
            "user@localhost",
        ] {
            assert_eq!(email(bad), Err(ContactError::InvalidEmail), "{bad:?}");
        }
        assert_eq!(email("   "), Err(ContactError::Empty));
    }

    #[test]
    fn wechat_ids_and_phone_numbers_as_wechat() {
        assert_eq!(wechat(" ZhangSan_88 ", CN).as_deref(), Ok("zhangsan_88"));
        assert_eq!(wechat("138 0013 8000", CN).as_deref(), Ok("+8613800138000"));
        for bad in ["abc", "1abcdef", "zhang san", "a234567890123456789012", "张三微信"] {
            assert_eq!(wechat(bad, CN), Err(ContactError::InvalidWechat), "{bad:?}");
        }
    }

    #[test]
    fn text_is_folded_and_collapsed() {
        assert_eq!(text("  张三 \t  经理 ").as_deref(), Some("张三 经理"));
        assert_eq!(text("ＡＢＣ　公司").as_deref(), Some("ABC 公司"));
        assert_eq!(text(" \n "), None);
    }
}
