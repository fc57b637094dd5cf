//! `GET /v1/leads` as the API takes it: every filter, the sort and the page, checked
//! field by field (an unknown parameter, a bad date or duration is a field error, never
//! ignored), and the test a stored lead must pass to be listed.

use crate::lead::qualification::Label;
use crate::lead::{Lead, Stage};
use crate::workspace::index::{next_due, Order};
use crate::FieldErrors;
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// Default and largest page.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// Whose leads: `me`, a rep id, or `none` (unowned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerFilter {
    Me,
    Rep(String),
    Nobody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaFilter {
    /// A running clock's deadline has passed.
    Overdue,
    /// A running clock is due within this long from now (not yet overdue).
    DueWithin(Duration),
    /// Both of the above at once: nothing.
    Never,
}

/// What to list. Empty filters list everything the caller may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub owner: Option<OwnerFilter>,
    pub pool: Option<String>,
    pub stage: Option<Stage>,
    pub cell: Option<String>,
    pub grade: Option<String>,
    pub label: Option<Label>,
    pub channel: Option<String>,
    pub campaign_id: Option<String>,
    pub utm_source: Option<String>,
    pub utm_term: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub updated_since: Option<DateTime<Utc>>,
    pub sla: Option<SlaFilter>,
    pub department: Option<String>,
    /// An invalid lead's reason code.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub order: Order,
    pub ascending: bool,
}

impl Default for Sort {
    /// Newest first.
    fn default() -> Self {
        Self {
            order: Order::Created,
            ascending: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub filters: Filters,
    pub sort: Sort,
    pub limit: usize,
    /// The opaque cursor as given (`None` or empty: the first page).
    pub cursor: Option<String>,
    /// `q=`: a search instead of a list.
    pub q: Option<String>,
}

/// The parameters `GET /v1/leads` accepts.
pub const PARAMETERS: &[&str] = &[
    "owner",
    "pool",
    "stage",
    "cell",
    "grade",
    "label",
    "channel",
    "campaign_id",
    "utm_source",
    "utm_term",
    "created_from",
    "created_to",
    "updated_since",
    "sla",
    "due_within",
    "department",
    "reason",
    "sort",
    "limit",
    "cursor",
    "q",
];

const ID_CHARS: &str = "1 to 64 letters, digits, `-` or `_`";

fn plain_id(value: &str) -> bool {
    crate::lead::error::valid_id(value)
}

/// `30m`, `4h`, `2d`, `1w`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    // The unit is the last character, whatever its width (`;Þ` is two bytes at the end).
    let unit_at = text.char_indices().last()?.0;
    let (digits, unit) = text.split_at(unit_at);
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    match unit {
        "m" => Some(Duration::minutes(n)),
        "h" => Some(Duration::hours(n)),
        "d" => Some(Duration::days(n)),
        "w" => Some(Duration::weeks(n)),
        _ => None,
    }
}

/// An RFC 3339 instant, or a day (its start, UTC).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    text.parse::<DateTime<Utc>>().ok().or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    })
}

fn parse_stage(text: &str) -> Option<Stage> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

fn parse_label(text: &str) -> Option<Label> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

impl ListQuery {
    /// Reads the query string's pairs; every problem at once.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = Filters::default();
        let mut sort = Sort::default();
        let mut limit = DEFAULT_LIMIT;
        let mut cursor = None;
        let mut q = None;
        let mut seen = std::collections::BTreeSet::new();
        let mut due_within = None;
        for (name, value) in pairs {
            if !PARAMETERS.contains(&name) {
                errors.push(name, "is not a filter of this list");
                continue;
            }
            if !seen.insert(name) {
                errors.push(name, "is given more than once");
                continue;
            }
            let mut text = |field: &str, target: &mut Option<String>, max: usize| {
                if value.is_empty() || value.chars().count() > max {
                    errors.push(field, format!("must be 1 to {max} characters"));
                } else {
                    *target = Some(value.to_string());
                }
            };
            match name {
                "owner" => match value {
                    "me" => f.owner = Some(OwnerFilter::Me),
                    "none" => f.owner = Some(OwnerFilter::Nobody),
                    id if plain_id(id) => f.owner = Some(OwnerFilter::Rep(id.to_string())),
                    _ => errors.push("owner", format!("must be `me`, `none` or a rep id ({ID_CHARS})")),
                },
                "pool" => {
                    if plain_id(value) {
                        f.pool = Some(value.to_string());
                    } else {
                        errors.push("pool", format!("must be a pool id ({ID_CHARS})"));
                    }
                }
                "department" => text("department", &mut f.department, 64),
                "stage" => match parse_stage(value) {
                    Some(stage) => f.stage = Some(stage),
                    None => errors.push(
                        "stage",
                        "must be one of received, invalid, aql, mql, sql, converted, nurture, recycled, merged",
                    ),
                },
                "cell" => {
                    let ok = value.len() == 2
                        && matches!(value.as_bytes()[0], b'A'..=b'D')
                        && matches!(value.as_bytes()[1], b'1'..=b'4');
                    if ok {
                        f.cell = Some(value.to_string());
                    } else {
                        errors.push("cell", "must be a grade A–D and a level 1–4, e.g. `B1`");
                    }
                }
                "grade" => match value {
                    "A" | "B" | "C" | "D" => f.grade = Some(value.to_string()),
                    _ => errors.push("grade", "must be A, B, C or D"),
                },
                "label" => match parse_label(value) {
                    Some(label) => f.label = Some(label),
                    None => errors.push(
                        "label",
                        "must be one of pure_new, new_customer, existing_customer, repeat",
                    ),
                },
                "channel" => text("channel", &mut f.channel, 64),
                "campaign_id" => text("campaign_id", &mut f.campaign_id, 128),
                "utm_source" => text("utm_source", &mut f.utm_source, 256),
                "utm_term" => text("utm_term", &mut f.utm_term, 256),
                "reason" => text("reason", &mut f.reason, 64),
                "created_from" | "created_to" | "updated_since" => match parse_time(value) {
                    Some(t) => match name {
                        "created_from" => f.created_from = Some(t),
                        "created_to" => f.created_to = Some(t),
                        _ => f.updated_since = Some(t),
                    },
                    None => errors.push(name, "must be a date (2026-12-01) or an RFC 3339 time"),
                },
                "sla" => match value {
                    "overdue" => f.sla = Some(SlaFilter::Overdue),
                    _ => errors.push("sla", "must be `overdue` (or use due_within=<duration>)"),
                },
                "due_within" => match parse_duration(value) {
                    Some(d) => due_within = Some(d),
                    _ => errors.push("due_within", "must be a duration such as 30m, 4h, 2d or 1w"),
                },
                "sort" => {
                    let (ascending, key) = match value.strip_prefix('-') {
                        Some(key) => (false, key),
                        None => (true, value),
                    };
                    let order = match key {
                        "created" => Some(Order::Created),
                        "sla_due" => Some(Order::Due),
                        "score" => Some(Order::Score),
                        _ => None,
                    };
                    match order {
                        Some(order) => sort = Sort { order, ascending },
                        None => errors.push(
                            "sort",
                            "must be created, sla_due or score, with `-` in front for descending",
                        ),
                    }
                }
                "limit" => match value.parse::<usize>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                    _ => errors.push("limit", format!("must be a number from 1 to {MAX_LIMIT}")),
                },
                "cursor" => {
                    if !value.is_empty() {
                        cursor = Some(value.to_string());
                    }
                }
                "q" => {
                    let trimmed = value.trim();
                    if trimmed.is_empty() || trimmed.chars().count() > 128 {
                        errors.push(
                            "q",
                            "must be 1 to 128 characters: a phone, e-mail, WeChat id or company name",
                        );
                    } else {
                        q = Some(trimmed.to_string());
                    }
                }
                _ => unreachable!("every listed parameter is handled"),
            }
        }
        // Filters that exclude each other list nothing, as any empty intersection does:
        // `sla=overdue` with `due_within`, `created_from` after `created_to`, a `reason`
        // (invalid leads only) with another stage.
        match (f.sla, due_within) {
            (Some(_), Some(_)) => f.sla = Some(SlaFilter::Never),
            (None, Some(d)) => f.sla = Some(SlaFilter::DueWithin(d)),
            _ => {}
        }
        errors.into_result(ListQuery {
            filters: f,
            sort,
            limit,
            cursor,
            q,
        })
    }
}

impl Filters {
    /// Whether `lead` passes every filter (ownership and pool filters included: the
    /// index a plan reads may be a moment behind the lead).
    pub fn matches(&self, lead: &Lead, me: &str, now: DateTime<Utc>) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| have == Some(w));
        let owner_ok = match &self.owner {
            None => true,
            Some(OwnerFilter::Me) => lead.owner.as_deref() == Some(me),
            Some(OwnerFilter::Rep(id)) => lead.owner.as_deref() == Some(id.as_str()),
            Some(OwnerFilter::Nobody) => lead.owner.is_none(),
        };
        let score = lead.score.as_ref();
        let sla_ok = match self.sla {
            None => true,
            Some(SlaFilter::Overdue) => next_due(lead).is_some_and(|due| due <= now),
            Some(SlaFilter::DueWithin(d)) => next_due(lead).is_some_and(|due| due > now && due <= now + d),
            Some(SlaFilter::Never) => false,
        };
        owner_ok
            && sla_ok
            && eq(&self.pool, lead.waiting_in_pool())
            && self.stage.is_none_or(|s| lead.stage == s)
            && eq(&self.cell, score.map(|s| s.cell.as_str()))
            && self
                .grade
                .as_deref()
                .is_none_or(|g| score.is_some_and(|s| format!("{:?}", s.grade) == g))
            && self
                .label
                .is_none_or(|l| lead.dedup.as_ref().is_some_and(|d| d.label == l))
            && eq(&self.channel, Some(lead.source.channel.as_str()))
            && eq(&self.campaign_id, lead.source.campaign_id.as_deref())
            && eq(&self.utm_source, lead.source.utm.source.as_deref())
            && eq(&self.utm_term, lead.source.utm.term.as_deref())
            && eq(&self.department, lead.owner_department.as_deref())
            && eq(&self.reason, lead.invalid_reason.as_ref().map(|r| r.code.as_str()))
            && self.created_from.is_none_or(|t| lead.created_at >= t)
            && self.created_to.is_none_or(|t| lead.created_at <= t)
            && self.updated_since.is_none_or(|t| lead.updated_at >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<ListQuery, FieldErrors> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
        ListQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    fn fields(q: &str) -> Vec<String> {
        parse(q).unwrap_err().0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn reads_every_filter() {
        let q = parse("owner=me&stage=mql&cell=B1&label=repeat&channel=baidu&due_within=4h&sort=-score&limit=20&created_from=2026-12-01").unwrap();
        assert_eq!(q.filters.owner, Some(OwnerFilter::Me));
        assert_eq!(q.filters.stage, Some(Stage::Mql));
        assert_eq!(q.filters.sla, Some(SlaFilter::DueWithin(Duration::hours(4))));
        assert_eq!(
            q.sort,
            Sort {
                order: Order::Score,
                ascending: false
            }
        );
        assert_eq!(q.limit, 20);
        assert_eq!(q.filters.created_from, Some("2026-12-01T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn names_each_bad_field() {
        assert_eq!(fields("colour=red"), ["colour"]);
        assert_eq!(
            fields("due_within=soon&limit=0&sort=name"),
            ["due_within", "limit", "sort"]
        );
        assert_eq!(fields("created_from=yesterday"), ["created_from"]);
        assert_eq!(fields("stage=won"), ["stage"]);
        assert_eq!(fields("owner=a%20b"), ["owner"]);
        assert_eq!(fields("limit=201"), ["limit"]);
        assert_eq!(fields("stage=mql&stage=sql"), ["stage"]);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Some(Duration::minutes(30)));
        assert_eq!(parse_duration("2d"), Some(Duration::days(2)));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("4x"), None);
        assert_eq!(parse_duration("99999h"), None);
        // Not ASCII: refused, not a panic on a byte boundary (Schemathesis found `;Þ`).
        assert_eq!(parse_duration(";Þ"), None);
        assert_eq!(parse_duration("3时"), None);
        assert_eq!(parse_duration("Þ"), None);
    }
}
