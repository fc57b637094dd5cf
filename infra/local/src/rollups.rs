//! Marketing history for the dashboard benchmark (BENCHMARKS.md §11): registered
//! campaigns, and for each campaign and day a funnel row, a row of revenue credited by
//! the default model (`u_shaped`) and a cost day, written to the table as the rollup
//! writers leave them: the month rows too (funnel, credit and cost), and the day month
//! rows began set before 2025, as if all of it had been written since. The days are those of 2025 (a year the
//! demo's own data never touches), so the dashboard over 2025 reads exactly what was
//! seeded.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, NaiveDate};
use domain::attribution::campaign::{Campaign, CostDay, CostLine};
use domain::attribution::fold::{month_start, Grain};
use domain::attribution::ports::ReportStore;
use domain::{attribution::rollup::RollupRow, lead::funnel::SourceKey};
use leadflow_aws::keys::{FOLD_PK, FOLD_SINCE_SK, PK, SK};
use leadflow_aws::rollup::{cost_item, cost_month_items, rollup_item};
use std::collections::{BTreeMap, HashMap};

type Error = Box<dyn std::error::Error + Send + Sync>;

const CHANNELS: [&str; 6] = ["baidu_sem", "wechat", "douyin", "trade_show", "web_form", "partner"];
const BRANCHES: [&str; 4] = ["华东分公司", "华南分公司", "华北分公司", "西部分公司"];

/// The first seeded day.
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).expect("a valid date")
}

/// Writes `campaigns` campaigns × `days` days from 2025-01-01; returns the items written.
pub async fn seed(
    client: &aws_sdk_dynamodb::Client,
    store: &leadflow_aws::DynamoStore,
    table: &str,
    campaigns: usize,
    days: usize,
) -> Result<usize, Error> {
    let registry: Vec<Campaign> = (0..campaigns)
        .map(|i| Campaign {
            id: format!("bench-{i:03}"),
            channel: CHANNELS[i % CHANNELS.len()].to_string(),
            name: format!("基准活动 {i:03}"),
            keywords: Vec::new(),
            branch: Some(BRANCHES[i % BRANCHES.len()].to_string()),
            updated_at: None,
        })
        .collect();
    for campaign in &registry {
        store.put_campaign(campaign).await?;
    }
    let mut written = registry.len();
    // Month rows by (series, month, campaign), and month costs by (month, campaign).
    let mut months: BTreeMap<(String, NaiveDate, usize), RollupRow> = BTreeMap::new();
    let mut month_costs: BTreeMap<(NaiveDate, usize), CostDay> = BTreeMap::new();
    for d in 0..days {
        let day = first_day() + Duration::days(d as i64);
        let mut items = Vec::with_capacity(3 * registry.len());
        for (i, campaign) in registry.iter().enumerate() {
            let source = SourceKey {
                channel: campaign.channel.clone(),
                campaign: campaign.id.clone(),
                keyword: String::new(),
            };
            // Varied a little by campaign and day, so the charts have a shape.
            let leads = 20 + ((i * 7 + d * 3) % 25) as i64;
            let funnel = RollupRow::new("funnel", day, source.clone())
                .with("leads", leads)
                .with("mql", leads * 2 / 5)
                .with("sql", leads * 3 / 10)
                .with("opportunities", leads / 10)
                .with("orders", i64::from(d % 7 == 0))
                .with("invalid", 2)
                .with("invalid_no_intent", 1)
                .with("invalid_wrong_contact", 1);
            let credit = RollupRow::new("u_shaped", day, source).with("order_cents", 150_000 + (i as i64 % 9) * 10_000);
            for row in [&funnel, &credit] {
                let month = months
                    .entry((row.series.clone(), month_start(day), i))
                    .or_insert_with(|| RollupRow {
                        fields: Default::default(),
                        ..row.in_month()
                    });
                for (field, value) in &row.fields {
                    *month.fields.entry(field.clone()).or_default() += value;
                }
            }
            items.push(rollup_item(Grain::Day, &funnel));
            items.push(rollup_item(Grain::Day, &credit));
            let cost = CostDay {
                campaign_id: campaign.id.clone(),
                day,
                lines: vec![CostLine {
                    keyword: String::new(),
                    ad_spend_cents: 300_000 + (i as i64 % 5) * 50_000,
                    content_cents: 20_000,
                    labour_cents: 30_000,
                }],
                updated_at: None,
            };
            let month = month_costs.entry((month_start(day), i)).or_insert_with(|| CostDay {
                day: month_start(day),
                lines: vec![CostLine::default()],
                ..cost.clone()
            });
            month.lines[0].ad_spend_cents += cost.lines[0].ad_spend_cents;
            month.lines[0].content_cents += cost.lines[0].content_cents;
            month.lines[0].labour_cents += cost.lines[0].labour_cents;
            items.push(cost_item(&cost)?);
        }
        written += items.len();
        crate::bulk::put_items(client, table, items).await?;
    }
    let mut items: Vec<_> = months.values().map(|row| rollup_item(Grain::Month, row)).collect();
    items.extend(month_costs.values().flat_map(cost_month_items));
    items.push(HashMap::from([
        (PK.to_string(), AttributeValue::S(FOLD_PK.into())),
        (SK.to_string(), AttributeValue::S(FOLD_SINCE_SK.into())),
        (
            "since".to_string(),
            AttributeValue::S((first_day() - Duration::days(1)).to_string()),
        ),
    ]));
    written += items.len();
    crate::bulk::put_items(client, table, items).await?;
    Ok(written)
}
