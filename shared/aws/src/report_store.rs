//! DynamoDB adapter for [`ReportStore`]: campaigns, costs, rollup rows, funnel steps and
//! owner changes, read by month partition so a report's cost follows its range.

use crate::keys::*;
use crate::{
    item::corrupt, item::from_json, item::json, item::s, item::timestamp, item::unavailable, store::DynamoStore,
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::attribution::fold::month_start;
use domain::lead::funnel::FunnelStep;
use domain::lead::funnel::{report_day, FUNNEL};
use domain::{
    assign::ports::OwnerChange, attribution::ports::ReportStore, attribution::ports::RowsRead, lead::ports::StoreError,
};
use domain::{attribution::campaign::Campaign, attribution::campaign::CostDay};

use crate::paging::KeyRange;
use crate::rollup::*;
use domain::lead::ports::{Page, PageRequest};

/// The last day of the month starting `month`.
fn last_day(month: NaiveDate) -> NaiveDate {
    (month + chrono::Months::new(1)).pred_opt().expect("a month has days")
}
impl ReportStore for DynamoStore {
    async fn campaign(&self, id: &str) -> Result<Option<Campaign>, StoreError> {
        self.get_item(CAMPAIGNS_PK, id)
            .await?
            .map(|item| from_json(&item, "doc"))
            .transpose()
    }

    async fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        self.query_prefix(CAMPAIGNS_PK, "")
            .await?
            .iter()
            .map(|item| from_json(item, "doc"))
            .collect()
    }

    async fn campaigns_page(&self, page: PageRequest<'_>) -> Result<Page<Campaign>, StoreError> {
        let read = self.query_page(&KeyRange::partition(CAMPAIGNS_PK), page).await?;
        Ok(Page {
            items: read
                .items
                .iter()
                .map(|item| from_json(item, "doc"))
                .collect::<Result<_, _>>()?,
            next: read.next,
        })
    }

    async fn put_campaign(&self, campaign: &Campaign) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .item(PK, s(CAMPAIGNS_PK))
            .item(SK, s(campaign.id.clone()))
            .item("doc", s(json(campaign)?))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn put_cost_day(&self, cost: &CostDay) -> Result<(), StoreError> {
        // One item per campaign and day: replacing the day is one put.
        self.put(cost_item(cost)?).await
    }

    async fn costs(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<CostDay>, StoreError> {
        let mut out = Vec::new();
        for month in months(from, to) {
            for item in self
                .query_between(&cost_pk(month), &from.to_string(), &format!("{to}$"))
                .await?
            {
                out.push(from_json(&item, "doc")?);
            }
        }
        Ok(out)
    }

    async fn rollups(&self, series: &str, from: NaiveDate, to: NaiveDate) -> Result<RowsRead, StoreError> {
        let mut read = RowsRead::default();
        for month in months(from, to) {
            // `$` sorts right after `#`: the high bound takes every row of day `to`.
            let items = self
                .query_between(&rollup_pk(series, month), &from.to_string(), &format!("{to}$"))
                .await?;
            read.items_read += items.len();
            read.rows.extend(items.iter().map(rollup_row));
        }
        Ok(read)
    }

    async fn rollups_by_month(&self, series: &str, from: NaiveDate, to: NaiveDate) -> Result<RowsRead, StoreError> {
        // Month rows hold every step of the months after the fold's first day's month.
        let complete_after = match (series == FUNNEL, self.folded_since().await?) {
            (true, Some(since)) => month_start(since),
            _ => return self.rollups(series, from, to).await,
        };
        let whole: Vec<NaiveDate> = months(from, to)
            .into_iter()
            .filter(|m| *m > complete_after && *m >= from && last_day(*m) <= to)
            .collect();
        let (Some(&first), Some(&last)) = (whole.first(), whole.last()) else {
            return self.rollups(series, from, to).await;
        };
        let mut read = RowsRead::default();
        // Day rows before and after the whole months; month rows for them.
        if from < first {
            read = self
                .rollups(series, from, first.pred_opt().expect("not the first day"))
                .await?;
        }
        let items = self.month_items(series, first, last).await?;
        read.items_read += items.len();
        read.rows.extend(items.iter().map(rollup_row));
        if last_day(last) < to {
            let after = self
                .rollups(series, last_day(last).succ_opt().expect("a later day"), to)
                .await?;
            read.items_read += after.items_read;
            read.rows.extend(after.rows);
        }
        Ok(read)
    }

    async fn funnel_steps(&self, day: NaiveDate) -> Result<Vec<FunnelStep>, StoreError> {
        let mut steps = Vec::new();
        for partition in funnel_step_partitions(day) {
            for item in self.query_prefix(&partition, "").await? {
                steps.push(from_json(&item, "doc")?);
            }
        }
        Ok(steps)
    }

    async fn owner_changes_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<OwnerChange>, StoreError> {
        let mut out = Vec::new();
        let (low, high) = (timestamp(from), timestamp(to));
        for month in months(report_day(from), report_day(to)) {
            for item in self.gsi1_items(&owners_pk(month), Some((&low, &high))).await? {
                let change: OwnerChange = serde_dynamo::from_item(item).map_err(corrupt)?;
                if change.at >= from && change.at < to {
                    out.push(change);
                }
            }
        }
        Ok(out)
    }
}
