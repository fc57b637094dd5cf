//! One row of a file → a submission, validated exactly like a web form, plus what only a
//! file carries: the original creation time and owner.

use super::{Batch, LineError};
use crate::assign::routing::Rep;
use crate::lead::error::FieldError;
use crate::lead::messages::Row;
use crate::{
    capture::submission::validate, capture::submission::RawSubmission, capture::submission::Submission,
    capture::submission::SubmissionRules,
};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};

/// A row ready to be captured.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRow {
    pub submission: Submission,
    /// When the lead was created in the system it comes from.
    pub created_at: Option<DateTime<Utc>>,
    /// A known, active rep the file names as owner.
    pub owner: Option<String>,
    /// Kept, with something ignored: a bad phone beside a good e-mail, an unknown owner.
    pub warnings: Vec<FieldError>,
}

/// The row's idempotency key: the same row of the same batch (same channel and campaign)
/// is the same submission, whichever upload it comes in, so re-uploading a file — or a
/// corrected copy of it — creates only the rows that are new.
pub fn row_key(row: &Row, batch: &Batch) -> String {
    let mut hash = Sha256::new();
    for part in [batch.channel.as_str(), batch.campaign_id.as_deref().unwrap_or("")] {
        hash.update(part.as_bytes());
        hash.update([0x1f]);
    }
    for (field, value) in &row.fields {
        hash.update(field.as_bytes());
        hash.update([0x1e]);
        hash.update(value.as_bytes());
        hash.update([0x1f]);
    }
    let digest = hash.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("imp-{hex}")
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// `First Name` + `Last Name`: "Ada Lovelace", but 张 + 三 → "张三" (family name first).
fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    match (first, last) {
        (Some(f), Some(l)) if has_cjk(f) && has_cjk(l) => Some(format!("{l}{f}")),
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_string()),
        (None, None) => None,
    }
}

/// Excel shows a long number it was not told is text as `1.38001E+10`: the digits are gone.
fn looks_like_scientific_notation(value: &str) -> bool {
    let v = value.to_ascii_uppercase();
    v.split_once("E+").is_some_and(|(mantissa, exp)| {
        !exp.is_empty()
            && exp.chars().all(|c| c.is_ascii_digit())
            && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
    "%Y年%m月%d日 %H:%M",
];
const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%Y年%m月%d日"];

/// An original creation time as spreadsheets and CRMs write it; times without an offset
/// are in the batch's time zone.
pub fn parse_created_at(value: &str, zone: Tz) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    // Salesforce's API format: 2026-03-05T06:30:00.000+0000.
    if let Ok(t) = DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    let naive = NAIVE_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
        .or_else(|| {
            DATE_FORMATS
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(value, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The rep a file names as owner: by id, or by name when exactly one rep has it.
fn resolve_owner(value: &str, reps: &[Rep]) -> Result<String, String> {
    let wanted = value.trim();
    let found: Vec<&Rep> = match reps.iter().find(|r| r.id == wanted) {
        Some(rep) => vec![rep],
        None => reps
            .iter()
            .filter(|r| r.name.trim().eq_ignore_ascii_case(wanted))
            .collect(),
    };
    match found.as_slice() {
        [rep] if rep.active => Ok(rep.id.clone()),
        [rep] => Err(format!("rep `{}` is not active; the lead is routed instead", rep.id)),
        [] => Err("is not a known rep's id or name; the lead is routed instead".into()),
        _ => Err("more than one rep has this name; the lead is routed instead".into()),
    }
}

/// Validates one row. `Err` lists every problem; the row is then kept as an invalid lead.
pub fn prepare_row(
    row: &Row,
    batch: &Batch,
    reps: &[Rep],
    rules: &SubmissionRules,
    now: DateTime<Utc>,
) -> Result<PreparedRow, Vec<FieldError>> {
    let get = |f: &str| row.fields.get(f).map(String::as_str);
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut warnings = Vec::new();
    for (field, value) in &row.fields {
        match field.as_str() {
            "first_name" | "last_name" | "mobile" | "created_at" | "owner" => {}
            other => {
                let key = other.strip_prefix("extra.").unwrap_or(other);
                pairs.push((key.to_string(), value.clone()));
            }
        }
    }
    if get("name").is_none() {
        if let Some(name) = full_name(get("first_name"), get("last_name")) {
            pairs.push(("name".into(), name));
        }
    }
    if let Some(mobile) = get("mobile") {
        let slot = if get("phone").is_none() { "phone" } else { "mobile" };
        pairs.push((slot.into(), mobile.to_string()));
    }
    pairs.push(("channel".into(), batch.channel.clone()));
    if let (None, Some(campaign)) = (get("campaign_id"), &batch.campaign_id) {
        pairs.push(("campaign_id".into(), campaign.clone()));
    }

    let created_at = match get("created_at") {
        None => None,
        Some(value) => match parse_created_at(value, batch.timezone) {
            Some(t) if t <= now + Duration::minutes(5) => Some(t),
            Some(_) => {
                warnings.push(FieldError::new(
                    "created_at",
                    "is in the future; the import time is used",
                ));
                None
            }
            None => {
                warnings.push(FieldError::new(
                    "created_at",
                    "is not a date and time (e.g. 2026-03-05 14:30 or 2026/3/5); the import time is used",
                ));
                None
            }
        },
    };
    let owner = get("owner").and_then(|value| match resolve_owner(value, reps) {
        Ok(id) => Some(id),
        Err(reason) => {
            warnings.push(FieldError::new("owner", reason));
            None
        }
    });

    let raw = RawSubmission::from_pairs(pairs);
    let explain = |mut e: FieldError| {
        let value = row
            .fields
            .get(&e.field)
            .or_else(|| row.fields.get("mobile").filter(|_| e.field == "phone"));
        if value.is_some_and(|v| looks_like_scientific_notation(v)) {
            e.reason = format!(
                "{}: Excel wrote the number in scientific notation and dropped digits; format the column as text and export again",
                e.reason
            );
        }
        e
    };
    match validate(&raw, rules) {
        Ok(mut submission) => {
            warnings.extend(submission.warnings.drain(..).map(explain));
            Ok(PreparedRow {
                submission,
                created_at,
                owner,
                warnings,
            })
        }
        Err(errors) => Err(errors.0.into_iter().map(explain).collect()),
    }
}

/// Field errors of `line`, as the import reports them.
pub fn line_errors(line: u64, errors: &[FieldError]) -> Vec<LineError> {
    errors
        .iter()
        .map(|e| LineError::new(line, e.field.clone(), e.reason.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::routing::Tier;
    use std::collections::BTreeMap;

    fn row(pairs: &[(&str, &str)]) -> Row {
        Row {
            line: 2,
            fields: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    fn batch() -> Batch {
        Batch {
            channel: "trade_show".into(),
            campaign_id: Some("expo-2026".into()),
            timezone: chrono_tz::Asia::Shanghai,
        }
    }

    fn rep(id: &str, name: &str, active: bool) -> Rep {
        let mut rep: Rep =
            serde_json::from_value(serde_json::json!({"id": id, "name": name, "tier": "regular"})).expect("rep");
        rep.active = active;
        assert_eq!(rep.tier, Tier::Regular);
        rep
    }

    fn now() -> DateTime<Utc> {
        "2026-11-23T08:00:00Z".parse().unwrap()
    }

    fn prepare(r: &Row) -> Result<PreparedRow, Vec<FieldError>> {
        let reps = [rep("bj-zhang", "张伟", true), rep("bj-old", "Old Hand", false)];
        prepare_row(r, &batch(), &reps, &SubmissionRules::default(), now())
    }

    #[test]
    fn a_salesforce_row_becomes_a_normalised_submission() {
        let p = prepare(&row(&[
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("mobile", "138 0013 8000"),
            ("email", "Ada@Example.com"),
            ("extra.lead_source", "Trade Show"),
            ("created_at", "3/5/2026 2:30 PM"),
            ("owner", "张伟"),
        ]))
        .unwrap();
        let s = &p.submission;
        assert_eq!(s.contact.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(s.contact.phone.as_deref(), Some("+8613800138000"));
        assert_eq!(s.source.channel, "trade_show");
        assert_eq!(s.source.campaign_id.as_deref(), Some("expo-2026"));
        assert_eq!(s.extra.get("lead_source").map(String::as_str), Some("Trade Show"));
        assert_eq!(p.created_at, Some("2026-03-05T06:30:00Z".parse().unwrap()));
        assert_eq!(p.owner.as_deref(), Some("bj-zhang"));
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn chinese_names_join_family_name_first() {
        let p = prepare(&row(&[
            ("first_name", "三"),
            ("last_name", "张"),
            ("phone", "13800138000"),
        ]))
        .unwrap();
        assert_eq!(p.submission.contact.name.as_deref(), Some("张三"));
    }

    #[test]
    fn times_as_spreadsheets_write_them() {
        let sh = chrono_tz::Asia::Shanghai;
        let expect: DateTime<Utc> = "2026-03-05T06:30:00Z".parse().unwrap();
        for v in [
            "2026-03-05 14:30",
            "2026/3/5 14:30",
            "2026-03-05 14:30:00",
            "2026-03-05T06:30:00Z",
            "2026-03-05T06:30:00.000+0000",
            "2026年3月5日 14:30",
        ] {
            assert_eq!(parse_created_at(v, sh), Some(expect), "{v}");
        }
        assert_eq!(
            parse_created_at("2026/3/5", sh),
            Some("2026-03-04T16:00:00Z".parse().unwrap())
        );
        assert_eq!(parse_created_at("yesterday", sh), None);
    }

    #[test]
    fn problems_that_do_not_stop_a_row_are_warnings() {
        let p = prepare(&row(&[
            ("email", "a@b.com"),
            ("phone", "1.38001E+10"),
            ("created_at", "2099-01-01"),
            ("owner", "Old Hand"),
        ]))
        .unwrap();
        let fields: Vec<&str> = p.warnings.iter().map(|w| w.field.as_str()).collect();
        assert_eq!(fields, ["created_at", "owner", "phone"]);
        assert!(p.warnings[2].reason.contains("scientific notation"));
        assert_eq!(p.created_at, None);
        assert_eq!(p.owner, None);
    }

    #[test]
    fn a_row_without_a_usable_contact_is_an_error_naming_the_field() {
        let errors = prepare(&row(&[("name", "张三"), ("phone", "12345")])).unwrap_err();
        assert_eq!(errors, vec![FieldError::new("phone", "is not a valid phone number")]);
        let errors = prepare(&row(&[("company", "x")])).unwrap_err();
        assert_eq!(errors[0].field, "contact");
    }

    #[test]
    fn the_row_key_depends_on_content_and_batch_not_on_the_line() {
        let a = row(&[("phone", "13800138000")]);
        let mut moved = a.clone();
        moved.line = 99;
        assert_eq!(row_key(&a, &batch()), row_key(&moved, &batch()));
        let other_campaign = Batch {
            campaign_id: None,
            ..batch()
        };
        assert_ne!(row_key(&a, &batch()), row_key(&a, &other_campaign));
        let b = Row {
            line: 2,
            fields: BTreeMap::from([("phone".into(), "13900139000".into())]),
        };
        assert_ne!(row_key(&a, &batch()), row_key(&b, &batch()));
        assert!(row_key(&a, &batch()).len() <= 128);
    }
}
