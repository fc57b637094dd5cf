//! Finance and funnel reports, pure: they add up rollup rows (never leads), so their cost
//! follows the rows in range.

use crate::assign::ports::OwnerChange;
use crate::attribution::fold::Grain;
use crate::attribution::money::format_cents;
use crate::lead::{Lead, OwnerChangeHow, Stage};
use crate::{attribution::campaign::Campaign, attribution::campaign::CostDay};
use crate::{attribution::rollup::RollupRow, lead::funnel::SourceKey};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Channel,
    Campaign,
    Keyword,
    /// The branch (department) of the campaign that brought the lead, touch or cost
    /// (`Campaign::branch`); sources without one add up under an empty branch.
    Branch,
}

impl GroupBy {
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
    }
}

/// A report group: the source as the grouping keeps it, and the branch of the campaign
/// behind it (empty when grouping by channel, or when the campaign names none).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    pub branch: String,
    pub source: SourceKey,
}

/// Puts sources into report groups. A registered campaign's channel wins over what a
/// page tagged, so a campaign's leads, revenue and cost land in one row; its branch
/// comes from the campaign too.
pub struct Grouping<'a> {
    pub by: GroupBy,
    campaigns: HashMap<&'a str, &'a Campaign>,
}

impl<'a> Grouping<'a> {
    pub fn new(by: GroupBy, campaigns: &'a [Campaign]) -> Self {
        Self {
            by,
            campaigns: campaigns.iter().map(|c| (c.id.as_str(), c)).collect(),
        }
    }
    pub fn key(&self, source: &SourceKey) -> GroupKey {
        let campaign = self.campaigns.get(source.campaign.as_str());
        let channel = campaign
            .map_or(source.channel.as_str(), |c| c.channel.as_str())
            .to_string();
        let branch = || campaign.and_then(|c| c.branch.clone()).unwrap_or_default();
        match self.by {
            GroupBy::Channel => GroupKey {
                branch: String::new(),
                source: SourceKey {
                    channel,
                    ..SourceKey::default()
                },
            },
            GroupBy::Branch => GroupKey {
                branch: branch(),
                source: SourceKey::default(),
            },
            GroupBy::Campaign => GroupKey {
                branch: branch(),
                source: SourceKey {
                    channel,
                    campaign: source.campaign.clone(),
                    keyword: String::new(),
                },
            },
            GroupBy::Keyword => GroupKey {
                branch: branch(),
                source: SourceKey {
                    channel,
                    ..source.clone()
                },
            },
        }
    }
}

/// One export row: the sums, and the ratios finance asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoiRow {
    pub branch: String,
    pub channel: String,
    pub campaign: String,
    pub campaign_name: String,
    pub keyword: String,
    pub cost_cents: i64,
    pub leads: i64,
    pub mql: i64,
    pub sql: i64,
    pub opportunities: i64,
    pub orders: i64,
    /// Order amounts credited to this group by the chosen model.
    pub revenue_cents: i64,
    /// Payments credited to this group by the chosen model.
    pub paid_cents: i64,
}

fn ratio(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator != 0).then(|| numerator as f64 / denominator as f64)
}

/// Cents divided, rounded half away from zero; `None` when dividing by zero.
fn per(cents: i64, count: i64) -> Option<i64> {
    (count != 0).then(|| {
        let (c, n) = (i128::from(cents), i128::from(count));
        ((2 * c + n.signum() * c.signum() * n.abs()) / (2 * n)) as i64
    })
}

impl RoiRow {
    pub fn cpl_cents(&self) -> Option<i64> {
        per(self.cost_cents, self.leads)
    }
    pub fn cost_per_mql_cents(&self) -> Option<i64> {
        per(self.cost_cents, self.mql)
    }
    pub fn cost_per_sql_cents(&self) -> Option<i64> {
        per(self.cost_cents, self.sql)
    }
    /// (revenue − cost) / cost; none when nothing was spent (not infinity).
    pub fn roi(&self) -> Option<f64> {
        ratio(self.revenue_cents - self.cost_cents, self.cost_cents)
    }
    pub fn rates(&self) -> [(&'static str, Option<f64>); 4] {
        [
            ("lead_to_mql", ratio(self.mql, self.leads)),
            ("mql_to_sql", ratio(self.sql, self.mql)),
            ("sql_to_order", ratio(self.orders, self.sql)),
            ("lead_to_order", ratio(self.orders, self.leads)),
        ]
    }

    fn add(&mut self, other: &RoiRow) {
        self.cost_cents += other.cost_cents;
        self.leads += other.leads;
        self.mql += other.mql;
        self.sql += other.sql;
        self.opportunities += other.opportunities;
        self.orders += other.orders;
        self.revenue_cents += other.revenue_cents;
        self.paid_cents += other.paid_cents;
    }

    /// The row as JSON, with the ratios (money as decimal strings, ratios to 4 places).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = self.cost_json();
        v["opportunities"] = self.opportunities.into();
        v["orders"] = self.orders.into();
        v["attributed_revenue"] = format_cents(self.revenue_cents).into();
        v["paid_amount"] = format_cents(self.paid_cents).into();
        v["roi"] = self.roi().map(four_places).into();
        for (name, rate) in self.rates() {
            v[name] = serde_json::json!(rate.map(four_places));
        }
        v
    }

    /// What the row spent and what each lead, MQL and SQL cost: the export's row without
    /// credited money, for a report that reads no model's rows.
    pub fn cost_json(&self) -> serde_json::Value {
        let money = |c: Option<i64>| c.map(format_cents);
        serde_json::json!({
            "branch": self.branch,
            "channel": self.channel,
            "campaign": self.campaign,
            "campaign_name": self.campaign_name,
            "keyword": self.keyword,
            "cost": format_cents(self.cost_cents),
            "leads": self.leads,
            "mql": self.mql,
            "sql": self.sql,
            "cpl": money(self.cpl_cents()),
            "cost_per_mql": money(self.cost_per_mql_cents()),
            "cost_per_sql": money(self.cost_per_sql_cents()),
        })
    }
}

fn four_places(x: f64) -> String {
    format!("{x:.4}")
}

/// Report groups, filled row by row. Each distinct source is mapped to its group once:
/// a year of rows comes from a few hundred sources.
struct Groups<'a> {
    grouping: Grouping<'a>,
    by_source: HashMap<&'a SourceKey, usize>,
    by_key: HashMap<GroupKey, usize>,
    rows: Vec<(GroupKey, RoiRow)>,
}

impl<'a> Groups<'a> {
    fn row(&mut self, source: &'a SourceKey) -> &mut RoiRow {
        let slot = match self.by_source.get(source) {
            Some(slot) => *slot,
            None => {
                let key = self.grouping.key(source);
                let rows = &mut self.rows;
                let slot = *self.by_key.entry(key.clone()).or_insert_with(|| {
                    rows.push((key, RoiRow::default()));
                    rows.len() - 1
                });
                self.by_source.insert(source, slot);
                slot
            }
        };
        &mut self.rows[slot].1
    }
}

/// The export: cost, funnel and one model's credited amounts, grouped (sorted by group).
pub fn roi_rows(
    by: GroupBy,
    model_rows: &[RollupRow],
    funnel_rows: &[RollupRow],
    costs: &[CostDay],
    campaigns: &[Campaign],
) -> Vec<RoiRow> {
    // Cost lines name a campaign and keyword; their source is built once per line here.
    // The channel is left to the grouping, which takes a registered campaign's own.
    let cost_sources: Vec<(SourceKey, i64)> = costs
        .iter()
        .flat_map(|day| {
            day.lines.iter().map(|line| {
                let source = SourceKey {
                    channel: String::new(),
                    campaign: day.campaign_id.clone(),
                    keyword: line.keyword.clone(),
                };
                (source, line.total_cents())
            })
        })
        .collect();
    let mut groups = Groups {
        grouping: Grouping::new(by, campaigns),
        by_source: HashMap::new(),
        by_key: HashMap::new(),
        rows: Vec::new(),
    };
    for row in funnel_rows {
        let r = groups.row(&row.source);
        r.leads += row.get("leads");
        r.mql += row.get("mql");
        r.sql += row.get("sql");
        r.opportunities += row.get("opportunities");
        r.orders += row.get("orders");
    }
    for row in model_rows {
        let r = groups.row(&row.source);
        r.revenue_cents += row.get("order_cents");
        r.paid_cents += row.get("payment_cents");
    }
    for (source, cents) in &cost_sources {
        let cost = &mut groups.row(source).cost_cents;
        *cost = cost.saturating_add(*cents);
    }
    let names: HashMap<&str, &str> = campaigns.iter().map(|c| (c.id.as_str(), c.name.as_str())).collect();
    let mut rows: Vec<RoiRow> = groups
        .rows
        .into_iter()
        .map(|(key, mut row)| {
            row.campaign_name = names
                .get(key.source.campaign.as_str())
                .copied()
                .unwrap_or_default()
                .to_string();
            row.branch = key.branch;
            row.channel = key.source.channel;
            row.campaign = key.source.campaign;
            row.keyword = key.source.keyword;
            row
        })
        .collect();
    // By source; grouped by branch, the source is empty and the branch orders the rows.
    rows.sort_by(|a, b| {
        (&a.channel, &a.campaign, &a.keyword, &a.branch).cmp(&(&b.channel, &b.campaign, &b.keyword, &b.branch))
    });
    rows
}

/// All rows added up (the export's total line).
pub fn total(rows: &[RoiRow]) -> RoiRow {
    let mut sum = RoiRow {
        channel: "(total)".into(),
        ..RoiRow::default()
    };
    rows.iter().for_each(|r| sum.add(r));
    sum
}

pub const ROI_CSV_HEADER: [&str; 21] = [
    "channel",
    "campaign",
    "campaign_name",
    "keyword",
    "branch",
    "cost",
    "leads",
    "mql",
    "sql",
    "opportunities",
    "orders",
    "attributed_revenue",
    "paid_amount",
    "cpl",
    "cost_per_mql",
    "cost_per_sql",
    "lead_to_mql",
    "mql_to_sql",
    "sql_to_order",
    "lead_to_order",
    "roi",
];

/// The export as CSV that Excel opens cleanly: a UTF-8 byte-order mark (without it Excel
/// reads Chinese as mojibake), CRLF line ends, fields quoted where needed, money with
/// two decimals, empty cells where a ratio has no denominator.
pub fn roi_csv(rows: &[RoiRow]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(ROI_CSV_HEADER).expect("writing to memory");
    for row in rows {
        let v = row.to_json();
        let cells: Vec<String> = ROI_CSV_HEADER
            .iter()
            .map(|name| match &v[*name] {
                // Names, keywords and ids come from forms and ad platforms: never formulas.
                serde_json::Value::String(s) => crate::attribution::export::safe_cell(s).into_owned(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect();
        writer.write_record(&cells).expect("writing to memory");
    }
    let bytes = writer.into_inner().expect("writing to memory");
    format!("\u{feff}{}", String::from_utf8(bytes).expect("all cells are UTF-8"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Period {
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
    }
    /// The finest rows a report by this period can be built from: a month or longer
    /// takes whole months as one row.
    pub fn finest(self) -> Grain {
        match self {
            Period::Day | Period::Week => Grain::Day,
            Period::Month | Period::Quarter | Period::Year => Grain::Month,
        }
    }
    /// The label of the period holding `day`: `2026-03-02`, `2026-W10`, `2026-03`,
    /// `2026-Q1`, `2026`. Weeks are ISO weeks (Monday to Sunday).
    pub fn label(self, day: NaiveDate) -> String {
        match self {
            Period::Day => day.to_string(),
            Period::Week => {
                let w = day.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Period::Month => day.format("%Y-%m").to_string(),
            Period::Quarter => format!("{}-Q{}", day.year(), day.month0() / 3 + 1),
            Period::Year => day.year().to_string(),
        }
    }
}

/// The published reference ratios a funnel can be drawn against (leads to MQL, MQL to
/// SQL, SQL to order, and the product of the three: leads to order).
pub const REFERENCE_RATES: [(&str, &str); 4] = [
    ("lead_to_mql", "0.4200"),
    ("mql_to_sql", "0.7500"),
    ("sql_to_order", "0.0700"),
    ("lead_to_order", "0.0246"),
];

/// The funnel counters a report shows, in order.
pub const FUNNEL_FIELDS: [&str; 11] = [
    "leads",
    "mql",
    "sql",
    "opportunities",
    "orders",
    "payments",
    "opportunity_cents",
    "order_cents",
    "payment_cents",
    "invalid",
    "repeats",
];

/// One funnel report row: a period and a group, the counters and the stage rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelRow {
    pub period: String,
    pub branch: String,
    pub channel: String,
    pub campaign: String,
    pub keyword: String,
    pub counts: BTreeMap<String, i64>,
}

impl FunnelRow {
    pub fn to_json(&self) -> serde_json::Value {
        let n = |f: &str| self.counts.get(f).copied().unwrap_or(0);
        let mut v = serde_json::json!({
            "period": self.period,
            "branch": self.branch,
            "channel": self.channel,
            "campaign": self.campaign,
            "keyword": self.keyword,
        });
        for field in FUNNEL_FIELDS {
            v[field.trim_end_matches("_cents")] = match field.ends_with("_cents") {
                true => serde_json::json!(format_cents(n(field))),
                false => serde_json::json!(n(field)),
            };
        }
        v["rates"] = serde_json::json!({
            "lead_to_mql": ratio(n("mql"), n("leads")).map(four_places),
            "mql_to_sql": ratio(n("sql"), n("mql")).map(four_places),
            "sql_to_opportunity": ratio(n("opportunities"), n("sql")).map(four_places),
            "sql_to_order": ratio(n("orders"), n("sql")).map(four_places),
            "lead_to_order": ratio(n("orders"), n("leads")).map(four_places),
        });
        v
    }
}

pub fn funnel_rows(by: GroupBy, period: Period, rows: &[RollupRow], campaigns: &[Campaign]) -> Vec<FunnelRow> {
    let grouping = Grouping::new(by, campaigns);
    let mut groups: BTreeMap<(String, GroupKey), BTreeMap<String, i64>> = BTreeMap::new();
    for row in rows {
        let counts = groups
            .entry((period.label(row.day), grouping.key(&row.source)))
            .or_default();
        for field in FUNNEL_FIELDS {
            *counts.entry(field.to_string()).or_default() += row.get(field);
        }
    }
    groups
        .into_iter()
        .map(|((period, key), counts)| FunnelRow {
            period,
            branch: key.branch,
            channel: key.source.channel,
            campaign: key.source.campaign,
            keyword: key.source.keyword,
            counts,
        })
        .collect()
}

/// Invalid-reason counts per channel: this period against the one before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidReasons {
    pub channel: String,
    pub reason: String,
    pub current: i64,
    pub previous: i64,
}

pub fn invalid_reasons(current: &[RollupRow], previous: &[RollupRow], campaigns: &[Campaign]) -> Vec<InvalidReasons> {
    let grouping = Grouping::new(GroupBy::Channel, campaigns);
    let mut counts: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for (rows, is_current) in [(current, true), (previous, false)] {
        for row in rows {
            for (field, n) in &row.fields {
                if let Some(reason) = field.strip_prefix("invalid_") {
                    let entry = counts
                        .entry((grouping.key(&row.source).source.channel, reason.to_string()))
                        .or_default();
                    if is_current {
                        entry.0 += n;
                    } else {
                        entry.1 += n;
                    }
                }
            }
        }
    }
    counts
        .into_iter()
        .map(|((channel, reason), (current, previous))| InvalidReasons {
            channel,
            reason,
            current,
            previous,
        })
        .collect()
}

/// What became of a lead in the hands of an owner (the status columns of the owner report: docs/src/rules/attribution.md#owner-report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handling {
    /// Still held, no follow-up logged since the owner got it.
    Pending,
    /// Still held and followed up (or nurtured).
    Following,
    Converted,
    Invalid,
    /// The owner gave it back to the pool (or it was taken from the pool by another).
    Returned,
    /// Moved to another owner by a transfer or an admin.
    Transferred,
    /// Taken back after a missed deadline (recycled).
    Voided,
}

impl Handling {
    pub const ALL: [Handling; 7] = [
        Handling::Pending,
        Handling::Following,
        Handling::Converted,
        Handling::Invalid,
        Handling::Returned,
        Handling::Transferred,
        Handling::Voided,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Handling::Pending => "pending",
            Handling::Following => "following",
            Handling::Converted => "converted",
            Handling::Invalid => "invalid",
            Handling::Returned => "returned",
            Handling::Transferred => "transferred",
            Handling::Voided => "voided",
        }
    }
}

/// The status of `change` (an owner getting `lead`): from the lead if the owner still
/// holds it, else from the change that ended it (`next`).
pub fn handling(change: &OwnerChange, lead: &Lead, next: Option<&OwnerChange>) -> Handling {
    if lead.owner_change_id.as_deref() == Some(change.id.as_str()) {
        return match lead.stage {
            Stage::Converted => Handling::Converted,
            Stage::Invalid => Handling::Invalid,
            _ if lead.last_follow_up_at.is_some_and(|t| t >= change.at) || lead.stage == Stage::Nurture => {
                Handling::Following
            }
            _ => Handling::Pending,
        };
    }
    match next.map(|n| n.how) {
        Some(OwnerChangeHow::Recycled) => Handling::Voided,
        Some(OwnerChangeHow::ReturnedToPool) => Handling::Returned,
        _ => Handling::Transferred,
    }
}

/// Per owner and acquisition method: how many of the leads they got ended how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerRow {
    pub owner: String,
    pub acquisition: OwnerChangeHow,
    pub counts: BTreeMap<&'static str, u64>,
    pub total: u64,
}

pub fn owner_rows(handled: &[(OwnerChange, Handling)]) -> Vec<OwnerRow> {
    let mut rows: BTreeMap<(String, &'static str), OwnerRow> = BTreeMap::new();
    for (change, status) in handled {
        let Some(owner) = change.to.clone() else { continue };
        let row = rows
            .entry((owner.clone(), change.how.as_str()))
            .or_insert_with(|| OwnerRow {
                owner,
                acquisition: change.how,
                counts: Handling::ALL.iter().map(|h| (h.as_str(), 0)).collect(),
                total: 0,
            });
        *row.counts.entry(status.as_str()).or_default() += 1;
        row.total += 1;
    }
    rows.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(channel: &str, campaign: &str, keyword: &str) -> SourceKey {
        SourceKey {
            channel: channel.into(),
            campaign: campaign.into(),
            keyword: keyword.into(),
        }
    }
    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn branches_add_up_their_campaigns_leads_revenue_and_cost() {
        let campaign = |id: &str, branch: Option<&str>| Campaign {
            id: id.into(),
            channel: "baidu_sem".into(),
            name: id.into(),
            keywords: vec![],
            branch: branch.map(str::to_string),
            updated_at: None,
        };
        let campaigns = vec![
            campaign("gz-expo", Some("华南分公司")),
            campaign("sz-sem", Some("华南分公司")),
            campaign("bj-sem", Some("华北分公司")),
            campaign("brand", None),
        ];
        let funnel = vec![
            RollupRow::new("funnel", day("2026-03-01"), src("expo", "gz-expo", ""))
                .with("leads", 4)
                .with("mql", 2),
            RollupRow::new("funnel", day("2026-03-02"), src("baidu", "sz-sem", "crm"))
                .with("leads", 6)
                .with("mql", 1),
            RollupRow::new("funnel", day("2026-03-01"), src("baidu", "bj-sem", "")).with("leads", 3),
            RollupRow::new("funnel", day("2026-03-01"), src("wechat", "", "")).with("leads", 5),
            RollupRow::new("funnel", day("2026-03-01"), src("baidu", "brand", "")).with("leads", 1),
        ];
        let credit = vec![
            RollupRow::new("linear", day("2026-03-05"), src("baidu_sem", "sz-sem", "")).with("order_cents", 90_000),
            RollupRow::new("linear", day("2026-03-05"), src("baidu_sem", "bj-sem", "")).with("order_cents", 10_000),
        ];
        let cost = |campaign: &str, cents: i64| CostDay {
            campaign_id: campaign.into(),
            day: day("2026-03-01"),
            lines: vec![crate::attribution::campaign::CostLine {
                keyword: String::new(),
                ad_spend_cents: cents,
                content_cents: 0,
                labour_cents: 0,
            }],
            updated_at: None,
        };
        let costs = vec![cost("gz-expo", 20_000), cost("sz-sem", 30_000), cost("bj-sem", 6_000)];
        let rows = roi_rows(GroupBy::Branch, &credit, &funnel, &costs, &campaigns);
        let got: Vec<(&str, &str, i64, i64, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.branch.as_str(),
                    r.channel.as_str(),
                    r.leads,
                    r.cost_cents,
                    r.revenue_cents,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("", "", 6, 0, 0),
                ("华北分公司", "", 3, 6_000, 10_000),
                ("华南分公司", "", 10, 50_000, 90_000)
            ],
            "sources without a campaign's branch add up under none"
        );
        // By campaign, each row names its branch too.
        let by_campaign = roi_rows(GroupBy::Campaign, &credit, &funnel, &costs, &campaigns);
        let sz = by_campaign.iter().find(|r| r.campaign == "sz-sem").unwrap();
        assert_eq!(sz.branch, "华南分公司");
        let funnel_by_branch = funnel_rows(GroupBy::Branch, Period::Month, &funnel, &campaigns);
        let south = funnel_by_branch.iter().find(|r| r.branch == "华南分公司").unwrap();
        assert_eq!(
            (south.period.as_str(), south.counts["leads"], south.counts["mql"]),
            ("2026-03", 10, 3)
        );
        assert_eq!(GroupBy::parse("branch"), Some(GroupBy::Branch));
    }

    #[test]
    fn roi_rows_join_cost_funnel_and_credit() {
        let campaigns = vec![Campaign {
            id: "spring".into(),
            channel: "baidu_sem".into(),
            name: "春季, \"CRM\" 推广".into(),
            keywords: vec![],
            branch: None,
            updated_at: None,
        }];
        let funnel = vec![
            // Tagged `baidu` by the page; the registry says baidu_sem.
            RollupRow::new("funnel", day("2026-03-01"), src("baidu", "spring", "crm"))
                .with("leads", 10)
                .with("mql", 4)
                .with("sql", 3)
                .with("orders", 1),
            RollupRow::new("funnel", day("2026-03-01"), src("wechat", "", "")).with("leads", 5),
        ];
        let credit = vec![
            RollupRow::new("u_shaped", day("2026-03-05"), src("baidu_sem", "spring", "")).with("order_cents", 600_000),
            RollupRow::new("u_shaped", day("2026-03-05"), src("wechat", "", "")).with("order_cents", 400_000),
        ];
        let costs = vec![CostDay {
            campaign_id: "spring".into(),
            day: day("2026-03-01"),
            lines: vec![crate::attribution::campaign::CostLine {
                keyword: "crm".into(),
                ad_spend_cents: 200_000,
                content_cents: 50_000,
                labour_cents: 50_000,
            }],
            updated_at: None,
        }];
        let rows = roi_rows(GroupBy::Campaign, &credit, &funnel, &costs, &campaigns);
        assert_eq!(rows.len(), 2);
        let spring = &rows[0];
        assert_eq!(
            (spring.channel.as_str(), spring.campaign.as_str()),
            ("baidu_sem", "spring")
        );
        assert_eq!(
            (spring.cost_cents, spring.leads, spring.revenue_cents),
            (300_000, 10, 600_000)
        );
        assert_eq!(spring.cpl_cents(), Some(30_000));
        assert_eq!(spring.cost_per_sql_cents(), Some(100_000));
        assert_eq!(spring.roi(), Some(1.0));
        let wechat = &rows[1];
        assert_eq!(wechat.roi(), None, "no cost: no ROI, not infinity");

        let csv = roi_csv(&rows);
        assert!(csv.starts_with('\u{feff}'));
        let mut lines = csv.trim_start_matches('\u{feff}').split("\r\n");
        assert_eq!(lines.next().unwrap(), ROI_CSV_HEADER.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "baidu_sem,spring,\"春季, \"\"CRM\"\" 推广\",,,3000.00,10,4,3,0,1,6000.00,0.00,300.00,750.00,1000.00,0.4000,0.7500,0.3333,0.1000,1.0000"
        );
        assert_eq!(
            lines.next().unwrap(),
            "wechat,,,,,0.00,5,0,0,0,0,4000.00,0.00,0.00,,,0.0000,,,0.0000,"
        );
    }

    #[test]
    fn the_roi_csv_neutralises_formulas_and_keeps_negative_numbers() {
        let row = RoiRow {
            branch: "=1+1".into(),
            channel: "@evil".into(),
            campaign: "=HYPERLINK(\"https://evil.example\",\"x\")".into(),
            campaign_name: "+cmd".into(),
            keyword: "-2+3".into(),
            cost_cents: 100_000,
            leads: 4,
            mql: 0,
            sql: 0,
            opportunities: 0,
            orders: 0,
            revenue_cents: 75_000,
            paid_cents: 0,
        };
        let csv = roi_csv(&[row]);
        let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[0], "'@evil");
        assert_eq!(&record[1], "'=HYPERLINK(\"https://evil.example\",\"x\")");
        assert_eq!(&record[2], "'+cmd");
        assert_eq!(&record[3], "'-2+3");
        assert_eq!(&record[4], "'=1+1");
        assert_eq!(&record[20], "-0.2500", "a negative ROI stays a number");
    }

    #[test]
    fn per_rounds_half_away_from_zero() {
        assert_eq!(per(10, 3), Some(3));
        assert_eq!(per(5, 2), Some(3));
        assert_eq!(per(-5, 2), Some(-3));
        assert_eq!(per(1, 0), None);
    }

    #[test]
    fn periods() {
        let d = day("2026-03-02");
        assert_eq!(Period::Week.label(d), "2026-W10");
        assert_eq!(Period::Quarter.label(d), "2026-Q1");
        assert_eq!(Period::Week.label(day("2027-01-01")), "2026-W53");
    }

    #[test]
    fn what_became_of_each_lead_an_owner_got() {
        use crate::lead::LeadId;
        let at: chrono::DateTime<chrono::Utc> = "2026-03-01T02:00:00Z".parse().unwrap();
        let change = |id: &str, to: &str, how| OwnerChange {
            id: id.into(),
            lead_id: LeadId::generate(at),
            from: None,
            to: Some(to.into()),
            how,
            by: None,
            pool: None,
            note: None,
            at,
        };
        let got = change("01", "zhang", OwnerChangeHow::AutoAssigned);
        let mut lead = Lead::new(got.lead_id.clone(), "web", at);
        lead.set_stage(Stage::Aql, at);
        lead.owner_change_id = Some("01".into());
        assert_eq!(handling(&got, &lead, None), Handling::Pending);
        lead.last_follow_up_at = Some(at + chrono::Duration::hours(1));
        assert_eq!(handling(&got, &lead, None), Handling::Following);
        lead.set_stage(Stage::Converted, at);
        assert_eq!(handling(&got, &lead, None), Handling::Converted);

        // Ended by the next change: how it ended is the status.
        lead.owner_change_id = Some("02".into());
        let recycled = change("02", "li", OwnerChangeHow::Recycled);
        assert_eq!(handling(&got, &lead, Some(&recycled)), Handling::Voided);
        let returned = change("02", "li", OwnerChangeHow::ReturnedToPool);
        assert_eq!(handling(&got, &lead, Some(&returned)), Handling::Returned);
        let moved = change("02", "li", OwnerChangeHow::Transferred);
        assert_eq!(handling(&got, &lead, Some(&moved)), Handling::Transferred);

        let rows = owner_rows(&[
            (got.clone(), Handling::Voided),
            (change("03", "zhang", OwnerChangeHow::AutoAssigned), Handling::Pending),
            (change("04", "zhang", OwnerChangeHow::Claimed), Handling::Following),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].acquisition, rows[0].total), (OwnerChangeHow::AutoAssigned, 2));
        assert_eq!(
            (
                rows[0].counts["voided"],
                rows[0].counts["pending"],
                rows[0].counts["converted"]
            ),
            (1, 1, 0)
        );
        assert_eq!(rows[1].acquisition, OwnerChangeHow::Claimed);
    }

    #[test]
    fn invalid_reasons_against_the_previous_period() {
        let now = vec![RollupRow::new("funnel", day("2026-04-01"), src("baidu", "", ""))
            .with("invalid", 3)
            .with("invalid_no_intent", 2)
            .with("invalid_wrong_contact", 1)];
        let before =
            vec![RollupRow::new("funnel", day("2026-01-01"), src("baidu", "", "")).with("invalid_no_intent", 5)];
        let r = invalid_reasons(&now, &before, &[]);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].reason.as_str(), r[0].current, r[0].previous), ("no_intent", 2, 5));
        assert_eq!(
            (r[1].reason.as_str(), r[1].current, r[1].previous),
            ("wrong_contact", 1, 0)
        );
    }
}
