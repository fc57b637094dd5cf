//! Campaigns and what they cost (docs/src/rules/attribution.md#costs: ad spend, content production, labour),
//! per campaign and day, optionally per keyword. A day's costs are replaced as a whole,
//! so re-uploading a corrected sheet never adds to it.

use crate::lead::error::FieldError;
use crate::{attribution::money, attribution::money::MoneyError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    #[serde(default)]
    pub id: String,
    /// The channel its leads and touches arrive on (`baidu_sem`, `wechat`, …).
    pub channel: String,
    pub name: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The branch or department that runs it (华南分公司, 渠道部): reports grouped by
    /// branch add up its leads, revenue and cost under this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// `spring-2026`, `baidu_crm_01`: ids as landing pages send them in `campaign_id`.
pub fn valid_campaign_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Campaign {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !valid_campaign_id(&self.id) {
            errors.push(FieldError::new("id", "1-64 letters, digits, - _ or ."));
        }
        if self.channel.trim().is_empty() || self.channel.chars().count() > 64 {
            errors.push(FieldError::new("channel", "is required (at most 64 characters)"));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            errors.push(FieldError::new("name", "is required (at most 200 characters)"));
        }
        if self.keywords.len() > 500 {
            errors.push(FieldError::new("keywords", "at most 500"));
        }
        if self
            .keywords
            .iter()
            .any(|k| k.trim().is_empty() || k.chars().count() > 100)
        {
            errors.push(FieldError::new("keywords", "each 1-100 characters"));
        }
        if let Some(branch) = &self.branch {
            if branch.trim().is_empty() || branch.chars().count() > 64 {
                errors.push(FieldError::new("branch", "1-64 characters, or left out"));
            }
        }
        errors
    }
}

/// One line of a day's cost: the whole campaign (`keyword` empty) or one keyword.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostLine {
    #[serde(default)]
    pub keyword: String,
    pub ad_spend_cents: i64,
    pub content_cents: i64,
    pub labour_cents: i64,
}

impl CostLine {
    /// Saturating: each amount may be close to the parser's cap, and the sheet does not
    /// limit how many lines a day has.
    pub fn total_cents(&self) -> i64 {
        self.ad_spend_cents
            .saturating_add(self.content_cents)
            .saturating_add(self.labour_cents)
    }
}

/// A campaign's costs on one day: replaced as a whole on every upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostDay {
    pub campaign_id: String,
    pub day: NaiveDate,
    pub lines: Vec<CostLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl CostDay {
    pub fn total_cents(&self) -> i64 {
        self.lines
            .iter()
            .map(CostLine::total_cents)
            .fold(0, i64::saturating_add)
    }
}

fn amount(value: Option<&serde_json::Value>, field: String, errors: &mut Vec<FieldError>) -> i64 {
    match value {
        None | Some(serde_json::Value::Null) => 0,
        Some(v) => money::cents_from_json(v).unwrap_or_else(|e| {
            errors.push(FieldError::new(field, e));
            0
        }),
    }
}

/// A `PUT /v1/campaigns/{id}/costs/{day}` body: `{"ad_spend": …, "content": …,
/// "labour": …}` for the whole campaign, or `{"lines": [{"keyword": …, …}]}`.
pub fn parse_cost_body(value: &serde_json::Value) -> Result<Vec<CostLine>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let line = |v: &serde_json::Value, prefix: &str, errors: &mut Vec<FieldError>| CostLine {
        keyword: v
            .get("keyword")
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_string(),
        ad_spend_cents: amount(v.get("ad_spend"), format!("{prefix}ad_spend"), errors),
        content_cents: amount(v.get("content"), format!("{prefix}content"), errors),
        labour_cents: amount(v.get("labour"), format!("{prefix}labour"), errors),
    };
    let lines = match value.get("lines") {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| line(v, &format!("lines[{i}]."), &mut errors))
            .collect(),
        Some(_) => {
            errors.push(FieldError::new("lines", "must be a list"));
            Vec::new()
        }
        None => vec![line(value, "", &mut errors)],
    };
    check_lines(&lines, "lines", &mut errors);
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

fn check_lines(lines: &[CostLine], field: &str, errors: &mut Vec<FieldError>) {
    let mut seen = std::collections::BTreeSet::new();
    for l in lines {
        if !seen.insert(l.keyword.as_str()) {
            errors.push(FieldError::new(
                field,
                format!("keyword `{}` appears twice on the same day", l.keyword),
            ));
        }
    }
}

/// A problem on one line of an uploaded sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// 1-based, counting the header as line 1 (as a spreadsheet shows it).
    pub line: u64,
    pub field: String,
    pub reason: String,
}

/// An uploaded sheet, read: the days whose every line is good, and the problems.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostSheet {
    pub days: Vec<CostDay>,
    pub errors: Vec<LineError>,
    /// (campaign, day) groups held back because one of their lines is bad: a day is
    /// replaced as a whole, so half a day is never written.
    pub rejected_days: Vec<(String, NaiveDate)>,
}

pub const CSV_COLUMNS: [&str; 6] = ["campaign_id", "day", "keyword", "ad_spend", "content", "labour"];

/// Reads a cost sheet: a header naming the columns (any order; `keyword`, `content` and
/// `labour` optional), then one line per campaign, day and keyword. Excel's UTF-8 BOM is
/// fine. `known_campaign` says whether a campaign id is registered.
pub fn parse_cost_csv(text: &str, known_campaign: impl Fn(&str) -> bool) -> CostSheet {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sheet = CostSheet::default();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.to_ascii_lowercase()).collect(),
        Err(e) => {
            sheet.errors.push(LineError {
                line: 1,
                field: "header".into(),
                reason: e.to_string(),
            });
            return sheet;
        }
    };
    let column = |name: &str| header.iter().position(|h| h == name);
    for required in ["campaign_id", "day", "ad_spend"] {
        if column(required).is_none() {
            sheet.errors.push(LineError {
                line: 1,
                field: required.into(),
                reason: format!("column is missing (columns: {})", CSV_COLUMNS.join(", ")),
            });
        }
    }
    if let Some(unknown) = header.iter().find(|h| !CSV_COLUMNS.contains(&h.as_str())) {
        sheet.errors.push(LineError {
            line: 1,
            field: unknown.clone(),
            reason: format!("unknown column (columns: {})", CSV_COLUMNS.join(", ")),
        });
    }
    if !sheet.errors.is_empty() {
        return sheet;
    }

    let mut groups: BTreeMap<(String, NaiveDate), Vec<CostLine>> = BTreeMap::new();
    let mut bad_groups = std::collections::BTreeSet::new();
    for (index, record) in reader.records().enumerate() {
        let line = index as u64 + 2;
        let mut fail = |field: &str, reason: String| {
            sheet.errors.push(LineError {
                line,
                field: field.to_string(),
                reason,
            })
        };
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                fail("line", e.to_string());
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cell = |name: &str| column(name).and_then(|i| record.get(i)).unwrap_or("");
        let campaign = cell("campaign_id").to_string();
        let mut ok = true;
        if !valid_campaign_id(&campaign) {
            fail("campaign_id", "is not a campaign id".into());
            ok = false;
        } else if !known_campaign(&campaign) {
            fail(
                "campaign_id",
                format!("campaign `{campaign}` is not registered (PUT /v1/campaigns/{campaign} first)"),
            );
            ok = false;
        }
        let day = match parse_day(cell("day")) {
            Some(d) => Some(d),
            None => {
                fail("day", format!("`{}` is not a date (YYYY-MM-DD)", cell("day")));
                None
            }
        };
        let mut money_cell = |name: &str, required: bool| -> i64 {
            let text = cell(name);
            if text.is_empty() && !required {
                return 0;
            }
            money::parse_non_negative_cents(text).unwrap_or_else(|e: MoneyError| {
                fail(name, format!("`{text}` {e}"));
                ok = false;
                0
            })
        };
        let cost = CostLine {
            keyword: cell("keyword").to_string(),
            ad_spend_cents: money_cell("ad_spend", true),
            content_cents: money_cell("content", false),
            labour_cents: money_cell("labour", false),
        };
        // A line without a day belongs to no day: it is reported, and holds nothing back.
        if let Some(day) = day {
            let key = (campaign, day);
            let lines = groups.entry(key.clone()).or_default();
            if lines.iter().any(|l| l.keyword == cost.keyword) {
                fail(
                    "keyword",
                    format!("`{}` appears twice for this campaign and day", cost.keyword),
                );
                ok = false;
            }
            if !ok {
                bad_groups.insert(key);
            }
            lines.push(cost);
        }
    }
    for ((campaign_id, day), lines) in groups {
        if bad_groups.contains(&(campaign_id.clone(), day)) {
            sheet.rejected_days.push((campaign_id, day));
        } else {
            sheet.days.push(CostDay {
                campaign_id,
                day,
                lines,
                updated_at: None,
            });
        }
    }
    sheet
}

/// `2026-03-01` or `2026/3/1` (how Excel in a Chinese locale writes dates).
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y/%m/%d"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_of_amounts_near_the_cap_adds_up_without_overflow() {
        // Each amount is under the parser's cap (10^15 cents), and a sheet may give a day
        // any number of keyword lines: 3,100 of them passed i64::MAX, a panic in debug
        // builds and a negative cost in release.
        let mut text = String::from("campaign_id,day,keyword,ad_spend,content,labour\n");
        for i in 0..3100 {
            text.push_str(&format!(
                "big-1,2026-03-01,k{i},9999999999999.99,9999999999999.99,9999999999999.99\n"
            ));
        }
        let sheet = parse_cost_csv(&text, |_| true);
        assert!(sheet.errors.is_empty(), "{:?}", &sheet.errors[..1]);
        assert_eq!(sheet.days[0].lines[0].total_cents(), 3 * 999_999_999_999_999);
        assert_eq!(sheet.days[0].total_cents(), i64::MAX);
    }

    #[test]
    fn a_sheet_with_good_and_bad_lines() {
        let csv = "\u{feff}campaign_id,day,keyword,ad_spend,content,labour\n\
                   spring,2026-03-01,CRM系统,\"1,200.50\",300,\n\
                   spring,2026-03-01,,100,,50\n\
                   spring,2026/3/2,CRM系统,abc,0,0\n\
                   spring,2026-03-02,销售管理,10,0,0\n\
                   ghost,2026-03-01,,5,0,0\n\
                   spring,03/01/2026,,5,0,0\n";
        let sheet = parse_cost_csv(csv, |c| c == "spring");
        assert_eq!(sheet.days.len(), 1, "{sheet:?}");
        let day = &sheet.days[0];
        assert_eq!(day.day, "2026-03-01".parse().unwrap());
        assert_eq!(day.lines[0].keyword, "CRM系统");
        assert_eq!(day.lines[0].ad_spend_cents, 120_050);
        assert_eq!(day.total_cents(), 120_050 + 30_000 + 10_000 + 5_000);
        let where_: Vec<(u64, &str)> = sheet.errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(where_, [(4, "ad_spend"), (6, "campaign_id"), (7, "day")]);
        // 2026-03-02 had a bad line: the whole day is held back, the good line too.
        assert_eq!(sheet.rejected_days.len(), 2);
    }

    #[test]
    fn headers_are_checked_first() {
        let sheet = parse_cost_csv("campaign,day,spend\nx,2026-03-01,1\n", |_| true);
        assert!(sheet.days.is_empty());
        let fields: Vec<&str> = sheet.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["campaign_id", "ad_spend", "campaign"]);
    }

    #[test]
    fn json_bodies() {
        let lines = parse_cost_body(&serde_json::json!({"ad_spend": 100, "labour": "20.5"})).unwrap();
        assert_eq!(lines[0].total_cents(), 12_050);
        let e = parse_cost_body(&serde_json::json!({"lines": [{"keyword": "a", "ad_spend": -1}, {"keyword": "a"}]}))
            .unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["lines[0].ad_spend", "lines"]);
    }

    #[test]
    fn campaigns_are_checked() {
        let c = Campaign {
            id: "bad id".into(),
            channel: "".into(),
            name: "春季".into(),
            keywords: vec![" ".into()],
            branch: Some(" ".into()),
            updated_at: None,
        };
        let fields: Vec<String> = c.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["id", "channel", "keywords", "branch"]);
    }
}
