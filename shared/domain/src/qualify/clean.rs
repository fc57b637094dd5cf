//! Cleaning: junk is recognised, labelled with a reason and kept in the invalid pool for
//! a human. Nothing is silently dropped, and nothing invalid is ever routed.

use crate::lead::{InvalidReason, Lead};
use crate::qualify::company::core_name;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleaningRules {
    /// E.164 numbers.
    pub blacklist_phones: BTreeSet<String>,
    /// Lower-case domains (disposable mailboxes by default).
    pub blacklist_email_domains: BTreeSet<String>,
    /// Company names; compared by their core, so any spelling matches.
    pub blacklist_companies: BTreeSet<String>,
    /// Matched case-insensitively in every free-text field.
    pub sensitive_words: Vec<String>,
}

impl Default for CleaningRules {
    fn default() -> Self {
        let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Self {
            blacklist_phones: BTreeSet::new(),
            blacklist_email_domains: set(&[
                "mailinator.com",
                "guerrillamail.com",
                "10minutemail.com",
                "yopmail.com",
                "tempmail.com",
                "trashmail.com",
                "sharklasers.com",
            ]),
            blacklist_companies: BTreeSet::new(),
            sensitive_words: [
                "诈骗",
                "赌博",
                "博彩",
                "色情",
                "毒品",
                "代开发票",
                "刷单",
                "洗钱",
                "办证",
                "枪支",
                "fraud",
                "scam",
                "casino",
                "viagra",
                "porn",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }
}

fn reason(code: &str, detail: String) -> InvalidReason {
    InvalidReason {
        code: code.into(),
        detail,
    }
}

/// A number no person has: seven or more equal digits in a row, or a long straight run
/// (13888888888, 13912345678). libphonenumber accepts these; sales cannot call them.
pub fn implausible_phone(e164: &str) -> bool {
    let digits: Vec<u8> = e164.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    let subscriber = &digits[digits.len().saturating_sub(8)..];
    let repeated = digits.windows(7).any(|w| w.iter().all(|d| *d == w[0]));
    let straight = subscriber.windows(2).all(|w| w[1] == w[0] + 1) || subscriber.windows(2).all(|w| w[0] == w[1] + 1);
    repeated || (subscriber.len() == 8 && straight)
}

/// The first reason this lead is junk, if it is.
pub fn clean(lead: &Lead, rules: &CleaningRules) -> Option<InvalidReason> {
    let phones = [
        lead.contact.phone.as_deref(),
        lead.contact.wechat.as_deref().filter(|w| w.starts_with('+')),
    ];
    for phone in phones.into_iter().flatten() {
        if rules.blacklist_phones.contains(phone) {
            return Some(reason("blacklist_phone", "phone number is on the blacklist".into()));
        }
        if implausible_phone(phone) {
            return Some(reason("impossible_contact", "phone number is not plausible".into()));
        }
    }
    if let Some(domain) = lead
        .contact
        .email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d)
    {
        if rules.blacklist_email_domains.contains(domain) {
            return Some(reason(
                "blacklist_email_domain",
                format!("e-mail domain {domain} is on the blacklist"),
            ));
        }
    }
    if let Some(company) = &lead.company {
        if rules.blacklist_companies.iter().any(|b| core_name(b) == company.core) {
            return Some(reason("blacklist_company", "company is on the blacklist".into()));
        }
    }
    if lead.contact.phone.is_none() && lead.contact.email.is_none() && lead.contact.wechat.is_none() {
        return Some(reason("no_contact", "no usable phone, e-mail or WeChat id".into()));
    }
    let texts = [
        ("name", lead.contact.name.as_deref()),
        ("company", lead.company.as_ref().map(|c| c.raw.as_str())),
        ("title", lead.profile.title.as_deref()),
        ("industry", lead.profile.industry.as_deref()),
        ("product", lead.profile.product.as_deref()),
        ("message", lead.profile.message.as_deref()),
        ("city", lead.profile.city.as_deref()),
        ("province", lead.profile.province.as_deref()),
    ];
    let extras = lead.extra.iter().map(|(k, v)| (k.as_str(), Some(v.as_str())));
    // Lower-cased once per lead, not once per field and word.
    let words: Vec<(String, &String)> = rules.sensitive_words.iter().map(|w| (w.to_lowercase(), w)).collect();
    for (field, text) in texts.into_iter().chain(extras) {
        let Some(text) = text else { continue };
        // Most text (Chinese) has no case at all: lower-case only when there is some.
        let lowered = if text.chars().any(char::is_uppercase) {
            std::borrow::Cow::Owned(text.to_lowercase())
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        if let Some((_, word)) = words.iter().find(|(lower, _)| lowered.contains(lower.as_str())) {
            return Some(reason(
                "sensitive_word",
                format!("{field} contains the sensitive word {word:?}"),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::{Company, LeadId};

    fn lead() -> Lead {
        let now = "2026-11-01T00:00:00Z".parse().unwrap();
        let mut lead = Lead::new(LeadId::generate(now), "web_form", now);
        lead.contact.phone = Some("+8613800138000".into());
        lead
    }

    #[test]
    fn junk_is_named_by_its_reason() {
        let mut rules = CleaningRules::default();
        rules.blacklist_phones.insert("+8613900139000".into());
        rules.blacklist_companies.insert("骗子科技有限公司".into());
        assert_eq!(clean(&lead(), &rules), None);

        type Mutation = Box<dyn Fn(&mut Lead)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (
                Box::new(|l| l.contact.phone = Some("+8613900139000".into())),
                "blacklist_phone",
            ),
            (
                Box::new(|l| l.contact.phone = Some("+8613888888888".into())),
                "impossible_contact",
            ),
            (
                Box::new(|l| l.contact.phone = Some("+8613912345678".into())),
                "impossible_contact",
            ),
            (
                Box::new(|l| l.contact.email = Some("x@mailinator.com".into())),
                "blacklist_email_domain",
            ),
            (
                Box::new(|l| {
                    l.company = Some(Company {
                        raw: "北京骗子".into(),
                        core: "骗子".into(),
                    })
                }),
                "blacklist_company",
            ),
            (
                Box::new(|l| l.profile.message = Some("低价代开发票".into())),
                "sensitive_word",
            ),
            (
                Box::new(|l| l.contact.name = Some("Casino King".into())),
                "sensitive_word",
            ),
            (
                Box::new(|l| {
                    l.extra.insert("note".into(), "scam offer".into());
                }),
                "sensitive_word",
            ),
            (Box::new(|l| l.contact.phone = None), "no_contact"),
        ];
        for (mutate, code) in cases {
            let mut l = lead();
            mutate(&mut l);
            assert_eq!(clean(&l, &rules).map(|r| r.code), Some(code.to_string()));
        }
    }

    #[test]
    fn real_numbers_are_plausible() {
        for ok in ["+8613800138000", "+861065521234", "+14155552671", "+8613512345670"] {
            assert!(!implausible_phone(ok), "{ok}");
        }
    }
}
