//! Masks for personal data in logs and for callers who may not see it: enough to tell two people apart when debugging,
//! not enough to contact them.

use regex::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

/// `+8613800138000` → `+86138****8000`.
pub fn phone(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..chars.len() - 8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// `张三丰` → `张**`, `wxid_zhang` → `w*********`: the first character only.
pub fn name(value: &str) -> String {
    let mut chars = value.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// `zhang.san@example.com` → `z***@example.com`.
pub fn email(value: &str) -> String {
    match value.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// `text` with every e-mail-shaped and phone-shaped run masked as above. For texts that
/// may echo input, such as a queue message's parse error (serde quotes the value it could
/// not read) or the id in "lead … does not exist", before they are logged.
pub fn redact(text: &str) -> Cow<'_, str> {
    static SHAPES: OnceLock<(Regex, Regex)> = OnceLock::new();
    let (emails, phones) = SHAPES.get_or_init(|| {
        (
            Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+").expect("static pattern"),
            // Seven digits or more, spaced or dashed as people write numbers.
            Regex::new(r"\+?[0-9](?:[ \-]?[0-9]){6,}").expect("static pattern"),
        )
    });
    // Separators dropped first, so a spaced number hides as many digits as a plain one.
    let digits = |m: &regex::Captures| phone(&m[0].replace([' ', '-'], ""));
    match emails.replace_all(text, |m: &regex::Captures| email(&m[0])) {
        Cow::Borrowed(_) => phones.replace_all(text, digits),
        Cow::Owned(masked) => Cow::Owned(phones.replace_all(&masked, digits).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_masks_contacts_inside_text() {
        assert_eq!(
            redact("lead Li.Na@Example-Corp.cn does not exist"),
            "lead L***@Example-Corp.cn does not exist"
        );
        assert_eq!(
            redact("unknown variant `+86 158 6677 1029`, expected one of `lead.captured`"),
            "unknown variant `+86158****1029`, expected one of `lead.captured`"
        );
        assert_eq!(redact("13911223344 and 139-1122-3344"), "139****3344 and 139****3344");
        let plain = "message does not match schema v1: missing field `lead_id` at line 1 column 87";
        assert!(
            matches!(redact(plain), Cow::Borrowed(_)),
            "nothing to mask, nothing copied"
        );
    }

    #[test]
    fn masks_keep_only_a_hint() {
        assert_eq!(phone("+8613800138000"), "+86138****8000");
        assert_eq!(phone("12345"), "*****");
        assert_eq!(email("zhang.san@example.com"), "z***@example.com");
        assert_eq!(email("nonsense"), "***");
        assert_eq!(name("张三丰"), "张**");
        assert_eq!(name(""), "");
    }
}
