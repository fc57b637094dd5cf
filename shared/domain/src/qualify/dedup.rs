//! Dedup: which earlier lead or customer a new lead is, by the policies of docs/src/rules/qualify.md#dedup.
//!
//! - ToC, single-key dedup-update: phone = phone, WeChat = WeChat (or e-mail = e-mail),
//!   within the window. The earlier lead absorbs the new one, and its key fields are
//!   updated to the newest values.
//! - ToB, combined-key dedup-assign: (1) company = a customer's company, (2) phone = a
//!   customer contact's phone, giving existing-customer: the owner is the customer's owner
//!   and a link is recorded; (3) phone / e-mail / WeChat = a lead's, giving repeat:
//!   collected (归集) under the earliest source lead, which keeps its owner, and blanks
//!   are filled; (4) company = a lead's company, giving a tag only (new-customer): no
//!   merge, no reassignment. One refinement of that order: when the same person already
//!   has a lead inside the window, (3) wins over (1)/(2). That earlier lead already went
//!   through the customer match, so the person is collected rather than given a second
//!   lead.
//!
//! Everything here is pure: the store finds who holds which key, and this module
//! decides.

use crate::lead::qualification::{Label, Policy};
use crate::lead::{Lead, LeadId};
use crate::qualify::company::{core_name, region_prefix};
use chrono::{DateTime, Duration, Utc};
use pinyin::ToPinyinMulti;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupRules {
    pub default_policy: Policy,
    /// Channel → policy, overriding the default (e.g. `douyin_ad: to_c`).
    pub by_channel: BTreeMap<String, Policy>,
    /// Only leads created within this many days count as the same person.
    pub window_days: u32,
    /// Jaro-Winkler similarity from which two Latin company cores are the same company
    /// (Chinese cores are compared by reading: [`cores_match`]).
    pub fuzzy_company_threshold: f64,
}

impl Default for DedupRules {
    fn default() -> Self {
        Self {
            default_policy: Policy::ToB,
            by_channel: BTreeMap::new(),
            window_days: 180,
            fuzzy_company_threshold: 0.92,
        }
    }
}

impl DedupRules {
    pub fn policy_for(&self, channel: &str) -> Policy {
        self.by_channel.get(channel).copied().unwrap_or(self.default_policy)
    }
    pub fn window_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(i64::from(self.window_days))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Phone,
    Email,
    Wechat,
    Company,
}

/// `phone#+8613800138000`, `company#纷扬`: one dedup key item per value in the store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MatchKey {
    pub kind: KeyKind,
    pub value: String,
}

impl MatchKey {
    pub fn storage_key(&self) -> String {
        let kind = match self.kind {
            KeyKind::Phone => "phone",
            KeyKind::Email => "email",
            KeyKind::Wechat => "wechat",
            KeyKind::Company => "company",
        };
        format!("{kind}#{}", self.value)
    }
}

/// The contact keys of a lead (both policies match people by their contacts).
pub fn contact_keys(lead: &Lead) -> Vec<MatchKey> {
    let mut keys = Vec::new();
    let mut push = |kind, value: &Option<String>| {
        if let Some(v) = value {
            keys.push(MatchKey { kind, value: v.clone() });
        }
    };
    push(KeyKind::Phone, &lead.contact.phone);
    push(KeyKind::Email, &lead.contact.email);
    push(KeyKind::Wechat, &lead.contact.wechat);
    keys
}

/// The company key, when the core is specific enough to mean one company (two or more
/// characters: "纷扬", "acme").
pub fn company_key(lead: &Lead) -> Option<MatchKey> {
    // Recomputed rather than trusted: stored cores may predate a change of the normaliser.
    let core = core_name(&lead.company.as_ref()?.raw);
    (core.chars().count() >= 2).then_some(MatchKey {
        kind: KeyKind::Company,
        value: core,
    })
}

/// Candidates for fuzzy company matching share this block: the first character of a
/// Chinese core, the first two letters of a Latin one. Typos after the start still meet.
pub fn blocking_key(core: &str) -> String {
    let first = core.chars().next().map(|c| c.is_ascii()).unwrap_or(true);
    core.chars().take(if first { 2 } else { 1 }).collect()
}

/// How alike two cores are, 0–1, for ranking and display: Jaro-Winkler on the
/// characters, or on the reading when that is higher (纷扬 / 纷杨 read alike: 1.0).
pub fn similarity(a: &str, b: &str) -> f64 {
    let by_reading = {
        let longest = a.chars().count().max(b.chars().count()).max(1);
        1.0 - reading_distance(a, b).0 as f64 / longest as f64
    };
    strsim::jaro_winkler(a, b).max(by_reading)
}

/// Whether two different cores are one company misspelt (the cores of a typo, not of
/// two names). Chinese cores: an edit distance in which a character that reads the
/// same in pinyin (tones ignored: 扬/杨, 帆/凡) costs nothing, and other edits are
/// allowed only by length — none up to 4 characters, so 纷扬 / 纷飞 stay two companies,
/// one up to 8, two beyond; cores that start with different regions never match (山西电力 /
/// 陕西电力 read the same). Latin cores: Jaro-Winkler at least `threshold` and lengths
/// within two letters (so a brand and the brand plus a word, "brightwave" /
/// "brightwavepharma", stay apart).
pub fn cores_match(a: &str, b: &str, threshold: f64) -> bool {
    if a == b {
        return true;
    }
    if a.chars().count() < 2 || b.chars().count() < 2 {
        return false;
    }
    if a.chars().any(is_han) || b.chars().any(is_han) {
        if let (Some(ra), Some(rb)) = (region_prefix(a), region_prefix(b)) {
            if ra != rb {
                return false;
            }
        }
        let (edits, _) = reading_distance(a, b);
        let longest = a.chars().count().max(b.chars().count());
        let allowed = match longest {
            0..=4 => 0,
            5..=8 => 1,
            _ => 2,
        };
        return edits <= allowed;
    }
    a.len().abs_diff(b.len()) <= 2 && strsim::jaro_winkler(a, b) >= threshold
}

fn is_han(c: char) -> bool {
    c.to_pinyin_multi().is_some()
}

/// Whether two characters read alike: equal, or sharing a toneless pinyin reading
/// (any of a character's readings: 长 is chang and zhang).
fn reads_alike(a: char, b: char) -> bool {
    if a == b {
        return true;
    }
    match (a.to_pinyin_multi(), b.to_pinyin_multi()) {
        (Some(ra), Some(rb)) => ra.into_iter().any(|x| rb.into_iter().any(|y| x.plain() == y.plain())),
        _ => false,
    }
}

/// Levenshtein distance in which a substitution of characters that read alike is free:
/// (edits that cost, edits including free ones).
fn reading_distance(a: &str, b: &str) -> (usize, usize) {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<(usize, usize)> = (0..=b.len()).map(|j| (j, j)).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut row = vec![(i + 1, i + 1)];
        for (j, &cb) in b.iter().enumerate() {
            let substitute = if ca == cb {
                prev[j]
            } else if reads_alike(ca, cb) {
                (prev[j].0, prev[j].1 + 1)
            } else {
                (prev[j].0 + 1, prev[j].1 + 1)
            };
            let delete = (prev[j + 1].0 + 1, prev[j + 1].1 + 1);
            let insert = (row[j].0 + 1, row[j].1 + 1);
            row.push(substitute.min(delete).min(insert));
        }
        prev = row;
    }
    prev[b.len()]
}

/// Whether two company names, as typed, are one company for dedup: their cores are
/// equal (and at least two characters, as for a dedup key), or [`cores_match`] within one
/// block. The one decision for leads' company peers, measured by
/// `tests/company_pairs.rs`.
pub fn same_company(a: &str, b: &str, rules: &DedupRules) -> bool {
    let (a, b) = (core_name(a), core_name(b));
    if a.chars().count() < 2 || b.chars().count() < 2 {
        return false;
    }
    a == b || (blocking_key(&a) == blocking_key(&b) && cores_match(&a, &b, rules.fuzzy_company_threshold))
}

/// The lead whose core [`cores_match`] `core` most closely, other than `core` itself, if any.
pub fn best_fuzzy_match<'a>(core: &str, candidates: &'a [(String, LeadId)], threshold: f64) -> Option<&'a LeadId> {
    most_similar(core, candidates.iter().map(|(c, id)| (c.as_str(), id)), threshold)
}

/// The same choice among customers' cores (a block of them): the core that
/// [`cores_match`] `core` most closely, other than `core` itself, if any.
pub fn best_fuzzy_core<'a>(core: &str, candidates: &'a [String], threshold: f64) -> Option<&'a str> {
    most_similar(core, candidates.iter().map(|c| (c.as_str(), c.as_str())), threshold)
}

fn most_similar<'a, T>(core: &str, candidates: impl Iterator<Item = (&'a str, T)>, threshold: f64) -> Option<T> {
    candidates
        .filter(|(c, _)| *c != core && cores_match(core, c, threshold))
        .map(|(c, found)| (similarity(core, c), found))
        .max_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(_, found)| found)
}

/// A key already held by another lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub key: MatchKey,
    pub lead_id: LeadId,
    /// When the holding lead was created (the window is measured from it).
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerMatch {
    pub customer_id: String,
    pub owner: Option<String>,
    pub via: KeyKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A lead of its own. `company_peer`: another lead at the same company (tag only).
    New { label: Label, company_peer: Option<LeadId> },
    /// Matches a customer: owner and link come from it.
    ExistingCustomer(CustomerMatch),
    /// The same person as `source` (the earliest matching lead): collect under it.
    Repeat { source: LeadId },
}

/// Decides, from what the store found, what this lead is.
///
/// `holders` are contact-key holders other than the lead itself; those created before
/// `window_start` are ignored, so someone who comes back after the window is new again.
pub fn decide(
    policy: Policy,
    holders: &[Holder],
    customer: Option<CustomerMatch>,
    company_peer: Option<LeadId>,
    window_start: DateTime<Utc>,
) -> Outcome {
    let earliest = holders
        .iter()
        .filter(|h| h.key.kind != KeyKind::Company && h.since >= window_start)
        .min_by_key(|h| (h.since, h.lead_id.clone()));
    match policy {
        Policy::ToC => match earliest {
            Some(h) => Outcome::Repeat {
                source: h.lead_id.clone(),
            },
            None => Outcome::New {
                label: Label::PureNew,
                company_peer: None,
            },
        },
        Policy::ToB => {
            if let Some(h) = earliest {
                return Outcome::Repeat {
                    source: h.lead_id.clone(),
                };
            }
            if let Some(customer) = customer {
                return Outcome::ExistingCustomer(customer);
            }
            match company_peer {
                Some(peer) => Outcome::New {
                    label: Label::NewCustomer,
                    company_peer: Some(peer),
                },
                None => Outcome::New {
                    label: Label::PureNew,
                    company_peer: None,
                },
            }
        }
    }
}

/// Folds a repeat into its source without losing data. The repeat itself stays stored
/// whole; here the source gains what it lacked (ToB) or takes the newest values (ToC,
/// "dedup-update").
pub fn merge_into(source: &mut Lead, repeat: &Lead, policy: Policy) {
    fn take(target: &mut Option<String>, newer: &Option<String>, overwrite: bool) {
        if newer.is_some() && (overwrite || target.is_none()) {
            target.clone_from(newer);
        }
    }
    let overwrite = policy == Policy::ToC;
    take(&mut source.contact.name, &repeat.contact.name, overwrite);
    // Contacts are identities: fill blanks only, never replace the matched one.
    take(&mut source.contact.phone, &repeat.contact.phone, false);
    take(&mut source.contact.email, &repeat.contact.email, false);
    take(&mut source.contact.wechat, &repeat.contact.wechat, false);
    if repeat.company.is_some() && (overwrite || source.company.is_none()) {
        source.company.clone_from(&repeat.company);
    }
    let p = &repeat.profile;
    let s = &mut source.profile;
    take(&mut s.title, &p.title, overwrite);
    take(&mut s.industry, &p.industry, overwrite);
    take(&mut s.province, &p.province, overwrite);
    take(&mut s.city, &p.city, overwrite);
    take(&mut s.company_size, &p.company_size, overwrite);
    take(&mut s.product, &p.product, overwrite);
    take(&mut s.message, &p.message, overwrite);
    for (k, v) in &repeat.extra {
        if overwrite || !source.extra.contains_key(k) {
            source.extra.insert(k.clone(), v.clone());
        }
    }
    source.consent |= repeat.consent;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::Company;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn id(n: u8) -> LeadId {
        LeadId::generate(t("2026-01-01T00:00:00Z") + Duration::seconds(i64::from(n)))
    }

    fn holder(kind: KeyKind, lead: &LeadId, since: &str) -> Holder {
        Holder {
            key: MatchKey {
                kind,
                value: "x".into(),
            },
            lead_id: lead.clone(),
            since: t(since),
        }
    }

    const WINDOW: &str = "2026-05-01T00:00:00Z";

    #[test]
    fn tob_rules_in_order() {
        let (a, b) = (id(1), id(2));
        let customer = CustomerMatch {
            customer_id: "c1".into(),
            owner: Some("rep-1".into()),
            via: KeyKind::Company,
        };
        let phone_holder = [holder(KeyKind::Phone, &a, "2026-10-01T00:00:00Z")];
        let w = t(WINDOW);
        assert_eq!(
            decide(Policy::ToB, &[], Some(customer.clone()), Some(b.clone()), w),
            Outcome::ExistingCustomer(customer.clone()),
            "(1)/(2) customer before the company tag"
        );
        assert_eq!(
            decide(Policy::ToB, &phone_holder, Some(customer), None, w),
            Outcome::Repeat { source: a.clone() },
            "the same person with a lead in the window is collected, not given a second lead"
        );
        assert_eq!(
            decide(Policy::ToB, &phone_holder, None, Some(b.clone()), w),
            Outcome::Repeat { source: a.clone() },
            "(3)"
        );
        assert_eq!(
            decide(Policy::ToB, &[], None, Some(b.clone()), w),
            Outcome::New {
                label: Label::NewCustomer,
                company_peer: Some(b)
            },
            "(4) tag only"
        );
        assert_eq!(
            decide(Policy::ToB, &[], None, None, w),
            Outcome::New {
                label: Label::PureNew,
                company_peer: None
            }
        );
    }

    #[test]
    fn earliest_source_inside_the_window_wins() {
        let (old, early, late) = (id(1), id(2), id(3));
        let holders = [
            holder(KeyKind::Phone, &late, "2026-10-01T00:00:00Z"),
            holder(KeyKind::Email, &early, "2026-06-01T00:00:00Z"),
            holder(KeyKind::Wechat, &old, "2026-01-01T00:00:00Z"),
        ];
        assert_eq!(
            decide(Policy::ToC, &holders, None, None, t(WINDOW)),
            Outcome::Repeat { source: early }
        );
        let only_old = [holder(KeyKind::Phone, &old, "2026-01-01T00:00:00Z")];
        assert_eq!(
            decide(Policy::ToC, &only_old, None, None, t(WINDOW)),
            Outcome::New {
                label: Label::PureNew,
                company_peer: None
            },
            "outside the window: new again"
        );
    }

    #[test]
    fn toc_ignores_customers_and_companies() {
        let customer = CustomerMatch {
            customer_id: "c1".into(),
            owner: None,
            via: KeyKind::Company,
        };
        assert_eq!(
            decide(Policy::ToC, &[], Some(customer), Some(id(9)), t(WINDOW)),
            Outcome::New {
                label: Label::PureNew,
                company_peer: None
            }
        );
    }

    #[test]
    fn a_customers_core_is_chosen_as_a_leads_is() {
        let cores = ["纷扬", "纷飞", "acme", "广州地铁"].map(String::from);
        let leads: Vec<(String, LeadId)> = cores.iter().zip(1..).map(|(c, n)| (c.clone(), id(n))).collect();
        for (typed, expected) in [
            ("纷杨", Some("纷扬")),
            ("纷扬", None),
            ("纷云", None),
            ("acmee", Some("acme")),
            ("广州地帖", Some("广州地铁")),
            ("深圳地铁", None),
        ] {
            let core = best_fuzzy_core(typed, &cores, 0.92);
            assert_eq!(core, expected, "{typed}");
            let lead = best_fuzzy_match(typed, &leads, 0.92);
            assert_eq!(
                lead.map(|l| leads.iter().find(|(_, id)| id == l).unwrap().0.as_str()),
                core,
                "{typed}: customers and leads decide alike"
            );
        }
    }

    #[test]
    fn fuzzy_company_matching_catches_typos_within_a_block() {
        let a = id(1);
        let candidates = vec![("纷扬".to_string(), a.clone()), ("纷飞".to_string(), id(2))];
        assert_eq!(blocking_key("纷杨"), "纷");
        assert_eq!(blocking_key("acme"), "ac");
        assert_eq!(best_fuzzy_match("acmee", &[("acme".into(), a.clone())], 0.92), Some(&a));
        assert_eq!(best_fuzzy_match("acne", &[("acme".into(), a.clone())], 0.92), None);
        assert_eq!(
            best_fuzzy_match("纷扬", &candidates, 0.92),
            None,
            "an exact core is not a fuzzy match"
        );
        assert_eq!(
            best_fuzzy_match("纷杨", &candidates, 0.92),
            Some(&a),
            "a homophone (pinyin input's commonest slip) is one company"
        );
        assert!(
            !cores_match("纷扬", "纷飞", 0.92),
            "one other character in two is another company"
        );
        assert!(
            !cores_match("山西电力", "陕西电力", 0.92),
            "regions that read alike stay apart"
        );
        assert!(!cores_match("brightwave", "brightwavepharma", 0.92));
        let long = [("huaweitechnologies".to_string(), a.clone())];
        assert_eq!(best_fuzzy_match("huaweitechnolgies", &long, 0.92), Some(&a));
    }

    #[test]
    fn merge_fills_blanks_for_tob_and_updates_for_toc() {
        let now = t("2026-11-01T00:00:00Z");
        let mut source = Lead::new(id(1), "web_form", now);
        source.contact.phone = Some("+8613800138000".into());
        source.contact.name = Some("张三".into());
        source.profile.title = Some("经理".into());
        let mut repeat = Lead::new(id(2), "trade_show", now);
        repeat.contact.phone = Some("+8613800138000".into());
        repeat.contact.email = Some("zs@example.com".into());
        repeat.contact.name = Some("张三丰".into());
        repeat.profile.title = Some("总监".into());
        repeat.company = Some(Company {
            raw: "纷扬科技".into(),
            core: "纷扬".into(),
        });

        let mut tob = source.clone();
        merge_into(&mut tob, &repeat, Policy::ToB);
        assert_eq!(tob.contact.email.as_deref(), Some("zs@example.com"), "blank filled");
        assert_eq!(tob.contact.name.as_deref(), Some("张三"), "kept");
        assert_eq!(tob.profile.title.as_deref(), Some("经理"), "kept");
        assert!(tob.company.is_some());

        let mut toc = source.clone();
        merge_into(&mut toc, &repeat, Policy::ToC);
        assert_eq!(toc.contact.name.as_deref(), Some("张三丰"), "updated to the newest");
        assert_eq!(toc.profile.title.as_deref(), Some("总监"));
        assert_eq!(toc.contact.phone.as_deref(), Some("+8613800138000"));
    }
}
