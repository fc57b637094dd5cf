//! DynamoDB adapter for [`ReportStore`]: campaigns, costs, rollup rows, funnel steps and
//! owner changes, read by month partition so a report's cost follows its range.

use crate::keys::*;
use crate::{
    item::corrupt, item::from_json, item::json, item::s, item::text, item::timestamp, item::unavailable,
    store::DynamoStore,
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::attribution::campaign::CostLine;
use domain::attribution::fold::month_start;
use domain::lead::funnel::report_day;
use domain::lead::funnel::FunnelStep;
use domain::{
    assign::ports::OwnerChange, attribution::ports::ReportStore, attribution::ports::RowsRead, lead::ports::StoreError,
};
use domain::{attribution::campaign::Campaign, attribution::campaign::CostDay};

use crate::paging::KeyRange;
use crate::rollup::*;
use domain::lead::ports::{Page, PageRequest};

/// Whole months of a range that month rows can answer, and the days around them.
struct MonthSpan {
    from: NaiveDate,
    to: NaiveDate,
    /// The first and last whole month (first days).
    first: NaiveDate,
    last: NaiveDate,
}

impl MonthSpan {
    /// The day ranges before and after the whole months.
    fn days(&self) -> Vec<(NaiveDate, NaiveDate)> {
        let mut out = Vec::new();
        if self.from < self.first {
            out.push((self.from, self.first.pred_opt().expect("not the first day")));
        }
        if last_day(self.last) < self.to {
            out.push((last_day(self.last).succ_opt().expect("a later day"), self.to));
        }
        out
    }
}

impl DynamoStore {
    /// The whole months of `[from, to]` that month rows hold completely: those after
    /// the month month rows began in (see [`FOLD_SINCE_SK`]). `None`: none.
    async fn month_span(&self, from: NaiveDate, to: NaiveDate) -> Result<Option<MonthSpan>, StoreError> {
        let Some(since) = self.folded_since().await? else {
            return Ok(None);
        };
        let whole: Vec<NaiveDate> = months(from, to)
            .into_iter()
            .filter(|m| *m > month_start(since) && *m >= from && last_day(*m) <= to)
            .collect();
        Ok(match (whole.first(), whole.last()) {
            (Some(&first), Some(&last)) => Some(MonthSpan { from, to, first, last }),
            _ => None,
        })
    }

    /// Month cost rows for the months `first..=last`, as one cost day per campaign and
    /// month (dated the 1st).
    async fn cost_months(&self, first: NaiveDate, last: NaiveDate) -> Result<Vec<CostDay>, StoreError> {
        let mut by_campaign: std::collections::BTreeMap<(NaiveDate, String), Vec<CostLine>> = Default::default();
        for item in self.months_by_year(cost_month_pk, first, last).await? {
            let month: NaiveDate = text(&item, "month")
                .and_then(|m| m.parse().ok())
                .ok_or_else(|| StoreError::Corrupt(format!("cost month row without a month: {:?}", text(&item, SK))))?;
            let amount = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok());
            by_campaign
                .entry((month, text(&item, "campaign").unwrap_or_default()))
                .or_default()
                .push(CostLine {
                    keyword: text(&item, "keyword").unwrap_or_default(),
                    ad_spend_cents: amount("ad_spend_cents").unwrap_or(0),
                    content_cents: amount("content_cents").unwrap_or(0),
                    labour_cents: amount("labour_cents").unwrap_or(0),
                });
        }
        Ok(by_campaign
            .into_iter()
            .map(|((day, campaign_id), lines)| CostDay {
                campaign_id,
                day,
                lines,
                updated_at: None,
            })
            .collect())
    }
}

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
        // One item per campaign and day, replaced whole; the month's row moves by the
        // difference, in the same transaction, which holds only if the day is still what
        // was read (another upload of the same day meanwhile: read again).
        let item = cost_item(cost)?;
        let (pk, sk) = (text(&item, PK).unwrap_or_default(), text(&item, SK).unwrap_or_default());
        for _ in 0..5 {
            let stored = self.get_item(&pk, &sk).await?;
            let before: Option<CostDay> = stored.as_ref().map(|i| from_json(i, DOC)).transpose()?;
            let mut writes = vec![put_replacing(self.table(), item.clone(), stored.as_ref())?];
            for change in cost_month_changes(before.as_ref(), cost) {
                writes.push(cost_month_update(self.table(), &change)?);
            }
            if self.transact_outcome(writes).await? {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(format!(
            "the costs of {} on {} kept changing while being replaced; retry",
            cost.campaign_id, cost.day
        )))
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
        let Some(span) = self.month_span(from, to).await? else {
            return self.rollups(series, from, to).await;
        };
        let mut read = RowsRead::default();
        for (first, last) in span.days() {
            let days = self.rollups(series, first, last).await?;
            read.items_read += days.items_read;
            read.rows.extend(days.rows);
        }
        let items = self.month_items(series, span.first, span.last).await?;
        read.items_read += items.len();
        read.rows.extend(items.iter().map(rollup_row));
        Ok(read)
    }

    async fn costs_by_month(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<CostDay>, StoreError> {
        let Some(span) = self.month_span(from, to).await? else {
            return self.costs(from, to).await;
        };
        let mut out = Vec::new();
        for (first, last) in span.days() {
            out.extend(self.costs(first, last).await?);
        }
        out.extend(self.cost_months(span.first, span.last).await?);
        Ok(out)
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
            for partition in owners_partitions(month) {
                for item in self.gsi1_items(&partition, Some((&low, &high))).await? {
                    let change: OwnerChange = serde_dynamo::from_item(item).map_err(corrupt)?;
                    if change.at >= from && change.at < to {
                        out.push(change);
                    }
                }
            }
        }
        // In time order (the port's promise), as one partition listed them before the shards.
        OwnerChange::sort_in_time_order(&mut out);
        Ok(out)
    }
}
