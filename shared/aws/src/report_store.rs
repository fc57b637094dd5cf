//! DynamoDB adapter for [`ReportStore`]: campaigns, costs, rollup rows, funnel steps and
//! owner changes, read by month partition so a report's cost follows its range.

use crate::keys::*;
use crate::{
    item::corrupt, item::from_json, item::json, item::s, item::timestamp, item::unavailable, store::DynamoStore,
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::lead::funnel::report_day;
use domain::lead::funnel::FunnelStep;
use domain::{
    assign::ports::OwnerChange, attribution::ports::ReportStore, attribution::ports::RowsRead, lead::ports::StoreError,
};
use domain::{attribution::campaign::Campaign, attribution::campaign::CostDay};

use crate::paging::KeyRange;
use crate::rollup::*;
use domain::lead::ports::{Page, PageRequest};
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

    async fn funnel_steps(&self, day: NaiveDate) -> Result<Vec<FunnelStep>, StoreError> {
        self.query_prefix(&funnel_step_pk(day), "")
            .await?
            .iter()
            .map(|item| from_json(item, "doc"))
            .collect()
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
