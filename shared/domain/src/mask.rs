//! Masks for personal data in logs: enough to tell two people apart when debugging,
//! not enough to contact them.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_a_hint() {
        assert_eq!(phone("+8613800138000"), "+86138****8000");
        assert_eq!(phone("12345"), "*****");
        assert_eq!(email("zhang.san@example.com"), "z***@example.com");
        assert_eq!(email("nonsense"), "***");
    }
}
