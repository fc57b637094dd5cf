//! What the finance export reads and how long it takes: seeds one year of rollups for
//! 500 campaigns into the emulator (rows of one model, funnel rows and cost days, every
//! campaign on every day) and runs the export's reads and aggregation for a month, a
//! quarter and the year.
//!
//! `cargo bench -p leadflow-tests --bench roi_export` (ROI_BENCH_CAMPAIGNS, ROI_BENCH_DAYS
//! to resize). The point is the count: items read are the rollup rows in range (plus the
//! campaigns), whatever the number of leads behind them.

use chrono::{Duration, NaiveDate};
use domain::attribution::fold::Grain;
use domain::attribution::ports::ReportStore;
use domain::{attribution::campaign::Campaign, attribution::campaign::CostDay, attribution::campaign::CostLine};
use domain::{attribution::reports::roi_csv, attribution::reports::roi_rows, attribution::reports::GroupBy};
use domain::{attribution::rollup::RollupRow, lead::funnel::SourceKey};
use leadflow_aws::rollup::{cost_item, rollup_item};
use leadflow_tests::Stack;
use std::time::Instant;

fn count(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let campaigns = count("ROI_BENCH_CAMPAIGNS", 500);
    let days = count("ROI_BENCH_DAYS", 365);
    let stack = Stack::start().await;
    let store = stack.store();
    let first: NaiveDate = "2025-01-01".parse().unwrap();
    let seeded = Instant::now();
    let registry: Vec<Campaign> = (0..campaigns)
        .map(|i| Campaign {
            id: format!("campaign-{i:03}"),
            channel: format!("channel-{}", i % 12),
            name: format!("活动 {i}"),
            keywords: Vec::new(),
            branch: None,
            updated_at: None,
        })
        .collect();
    for c in &registry {
        store.put_campaign(c).await.unwrap();
    }
    for d in 0..days {
        let day = first + Duration::days(d as i64);
        let mut items = Vec::new();
        for c in &registry {
            let source = SourceKey {
                channel: c.channel.clone(),
                campaign: c.id.clone(),
                keyword: String::new(),
            };
            items.push(rollup_item(
                Grain::Day,
                &RollupRow::new("u_shaped", day, source.clone()).with("order_cents", 123_456),
            ));
            items.push(rollup_item(
                Grain::Day,
                &RollupRow::new("funnel", day, source)
                    .with("leads", 40)
                    .with("mql", 17)
                    .with("orders", 1),
            ));
            items.push(
                cost_item(&CostDay {
                    campaign_id: c.id.clone(),
                    day,
                    lines: vec![CostLine {
                        keyword: String::new(),
                        ad_spend_cents: 500_000,
                        content_cents: 0,
                        labour_cents: 0,
                    }],
                    updated_at: None,
                })
                .unwrap(),
            );
        }
        stack.put_items(items).await;
    }
    println!(
        "seeded {} rollup rows and {} cost days for {campaigns} campaigns x {days} days in {:.0?}",
        2 * campaigns * days,
        campaigns * days,
        seeded.elapsed()
    );

    let spans = [("month", 31), ("quarter", 90), ("whole seeded period", days)];
    for (label, span) in spans.into_iter().filter(|(_, span)| *span <= days) {
        let (from, to) = (first, first + Duration::days(span as i64 - 1));
        let started = Instant::now();
        let credit = store.rollups("u_shaped", from, to).await.unwrap();
        let funnel = store.rollups("funnel", from, to).await.unwrap();
        let costs = store.costs(from, to).await.unwrap();
        let known = store.campaigns().await.unwrap();
        let read = started.elapsed();
        let items = credit.items_read + funnel.items_read + costs.len() + known.len();
        let aggregated = Instant::now();
        let rows = roi_rows(GroupBy::Campaign, &credit.rows, &funnel.rows, &costs, &known);
        let csv = roi_csv(&rows);
        println!(
            "{label:>7} ({span} days): {items} items read in {read:.1?} (emulator); aggregate + CSV {:.1?}; {} rows, {} KB",
            aggregated.elapsed(),
            rows.len(),
            csv.len() / 1024
        );
        assert_eq!(
            items,
            3 * campaigns * span + campaigns,
            "reads follow the rollup rows in range"
        );
    }
}
