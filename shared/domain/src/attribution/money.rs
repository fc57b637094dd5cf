//! Money as integer cents: parsed from text exactly (no floating point on the way), and
//! printed back with two decimals.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("is empty")]
    Empty,
    #[error("is not an amount (digits, optionally `.` and at most two decimals)")]
    NotAnAmount,
    #[error("has more than two decimals")]
    TooPrecise,
    #[error("is too large")]
    TooLarge,
    #[error("may not be negative")]
    Negative,
}

/// `"1234"`, `"1,234.5"`, `"¥1234.56"`, `"-20.00"` → cents. Thousands separators and a
/// leading currency sign are tolerated because that is how spreadsheets print money.
pub fn parse_cents(text: &str) -> Result<i64, MoneyError> {
    let trimmed = text.trim();
    let (negative, rest) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let rest = rest.trim_start_matches(['¥', '￥']).replace(',', "");
    if rest.is_empty() {
        return Err(MoneyError::Empty);
    }
    let (units, decimals) = rest.split_once('.').unwrap_or((&rest, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(units) || !(decimals.is_empty() || digits(decimals)) {
        return Err(MoneyError::NotAnAmount);
    }
    if decimals.len() > 2 {
        return Err(MoneyError::TooPrecise);
    }
    let units: i64 = units.parse().map_err(|_| MoneyError::TooLarge)?;
    let fraction: i64 = format!("{decimals:0<2}").parse().map_err(|_| MoneyError::NotAnAmount)?;
    let cents = units
        .checked_mul(100)
        .and_then(|c| c.checked_add(fraction))
        // Leaves room to add a year of rows without overflow.
        .filter(|c| *c < 1_000_000_000_000_000)
        .ok_or(MoneyError::TooLarge)?;
    Ok(if negative { -cents } else { cents })
}

/// Like [`parse_cents`], refusing negative amounts.
pub fn parse_non_negative_cents(text: &str) -> Result<i64, MoneyError> {
    match parse_cents(text)? {
        c if c < 0 => Err(MoneyError::Negative),
        c => Ok(c),
    }
}

/// A JSON amount: a number (`1234.5`) or a string (`"1234.50"`).
pub fn cents_from_json(value: &serde_json::Value) -> Result<i64, MoneyError> {
    match value {
        // serde_json prints the shortest text that reads back as the same number, so
        // `1234.56` comes back as "1234.56", never "1234.5599999".
        serde_json::Value::Number(n) => parse_non_negative_cents(&n.to_string()),
        serde_json::Value::String(s) => parse_non_negative_cents(s),
        _ => Err(MoneyError::NotAnAmount),
    }
}

/// Cents as `"1234.56"` / `"-0.05"`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_as_people_write_them() {
        assert_eq!(parse_cents("1234"), Ok(123_400));
        assert_eq!(parse_cents("1,234.5"), Ok(123_450));
        assert_eq!(parse_cents(" ¥1234.56 "), Ok(123_456));
        assert_eq!(parse_cents("-20.00"), Ok(-2000));
        assert_eq!(parse_cents("0.07"), Ok(7));
        assert_eq!(parse_cents(""), Err(MoneyError::Empty));
        assert_eq!(parse_cents("12.345"), Err(MoneyError::TooPrecise));
        assert_eq!(parse_cents("1e5"), Err(MoneyError::NotAnAmount));
        assert_eq!(parse_cents("12."), Ok(1200));
        assert_eq!(parse_cents("abc"), Err(MoneyError::NotAnAmount));
        assert_eq!(parse_cents("99999999999999999999"), Err(MoneyError::TooLarge));
        assert_eq!(parse_non_negative_cents("-1"), Err(MoneyError::Negative));
    }

    #[test]
    fn json_numbers_and_strings() {
        assert_eq!(cents_from_json(&serde_json::json!(1234.56)), Ok(123_456));
        assert_eq!(cents_from_json(&serde_json::json!(0.1)), Ok(10));
        assert_eq!(cents_from_json(&serde_json::json!("88")), Ok(8800));
        assert_eq!(cents_from_json(&serde_json::json!(true)), Err(MoneyError::NotAnAmount));
    }

    proptest! {
        #[test]
        fn format_and_parse_round_trip(cents in -1_000_000_000_000i64..1_000_000_000_000) {
            prop_assert_eq!(parse_cents(&format_cents(cents)), Ok(cents));
        }
    }
}
