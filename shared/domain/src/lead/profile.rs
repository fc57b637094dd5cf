//! What a lead's free-text profile says about fit: the company's size range and the
//! contact's seniority, read the same way by rule scoring, routing and prediction.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seniority {
    Staff,
    Manager,
    Director,
    Vp,
    CLevel,
}

/// Company size as people type it ("500+", "50-499", "1000人以上", "约200人") → (min, max).
pub fn company_size_range(text: &str) -> Option<(u32, u32)> {
    let numbers: Vec<u32> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    let open_ended = text.contains('+') || text.contains("以上") || text.contains('>') || text.contains("more");
    let below = text.contains("以下") || text.contains('<') || text.contains("less");
    match numbers.as_slice() {
        [] => None,
        [n] if open_ended => Some((*n, u32::MAX)),
        [n] if below => Some((0, *n)),
        [n] => Some((*n, *n)),
        [lo, hi, ..] => Some(((*lo).min(*hi), (*lo).max(*hi))),
    }
}

/// Seniority read from a job title in Chinese or English.
pub fn seniority(title: &str) -> Seniority {
    let t = title.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    let word = |words: &[&str]| {
        t.split(|c: char| !c.is_alphanumeric())
            .any(|token| words.contains(&token))
    };
    // "副总经理" contains "总经理": deputies are checked first.
    if has(&["副总", "副董事长", "vice president"]) || word(&["vp", "svp", "evp", "avp"]) {
        return Seniority::Vp;
    }
    if has(&[
        "总裁",
        "董事长",
        "总经理",
        "创始人",
        "合伙人",
        "首席",
        "老板",
        "founder",
        "president",
        "chief",
    ]) || word(&["ceo", "cto", "cfo", "coo", "cio", "cmo", "owner", "partner"])
    {
        return Seniority::CLevel;
    }
    if has(&["总监", "director", "head of"]) {
        return Seniority::Director;
    }
    if has(&["经理", "主管", "manager", "lead"]) {
        return Seniority::Manager;
    }
    Seniority::Staff
}
