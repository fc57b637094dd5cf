//! Attribution: a consumer of the conversions queue, the fold of funnel steps into
//! rollups ([`rollup`]), and the nightly reconciliation.
//! Thin: decode, hand over to the domain ([`domain::attribution::credit::settle`],
//! [`domain::attribution::reconcile::reconcile_day`]), report.
//!
//! A `conversion.recorded` message only names the conversion; `settle` reads its state
//! and applies whatever revisions are not applied yet, so messages may arrive twice, late
//! or out of order. Failures are reported per message (partial batch response).

pub mod rollup;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::lead::funnel::report_day;
use domain::lead::messages::Message;
use domain::{
    attribution::credit::settle, attribution::credit::CreditError, attribution::credit::CreditStore,
    attribution::credit::Settled,
};
use domain::{attribution::ports::ReportStore, lead::ports::StoreError};
use domain::{attribution::reconcile::reconcile_day, attribution::reconcile::Reconciliation};
use leadflow_aws::batch::{envelope, for_each_message, UnreadableMessage};
use leadflow_aws::metrics;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MessageError {
    #[error(transparent)]
    Unreadable(#[from] UnreadableMessage),
    #[error("{0} messages do not belong on the conversions queue")]
    WrongQueue(&'static str),
    #[error(transparent)]
    Credit(#[from] CreditError),
}

/// This function's name in its metrics (its binary's name).
pub const FUNCTION: &str = "attribution";
/// The nightly reconciliation's name in its metrics (its binary's name).
pub const RECONCILE_FUNCTION: &str = "reconcile";

pub struct Attribution<S> {
    pub store: S,
}

impl<S: CreditStore + ReportStore> Attribution<S> {
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        metrics::invoked(FUNCTION);
        for_each_message(FUNCTION, event, |record| {
            Box::pin(async move { self.process(&record).await })
        })
        .await
    }

    async fn process(&self, record: &SqsMessage) -> Result<Settled, MessageError> {
        match envelope(record)?.message {
            Message::ConversionRecorded { external_id, .. } => Ok(settle(&self.store, &external_id).await?),
            other => Err(MessageError::WrongQueue(other.type_name())),
        }
    }

    /// Reconciles `day` (default: yesterday in the report zone) and logs the result;
    /// drift is logged at error level, which the drift alarm counts.
    pub async fn reconcile(&self, day: Option<NaiveDate>, now: DateTime<Utc>) -> Result<Reconciliation, StoreError> {
        metrics::invoked(RECONCILE_FUNCTION);
        let day = day.unwrap_or_else(|| report_day(now) - Duration::days(1));
        let result = reconcile_day(&self.store, day).await?;
        if result.drift.is_empty() {
            tracing::info!(
                %day,
                rows = result.rows_expected,
                pending = result.pending_conversions,
                "rollups reconciled: no drift"
            );
        } else {
            for row in &result.drift {
                tracing::error!(
                    %day,
                    series = %row.series,
                    channel = %row.source.channel,
                    campaign = %row.source.campaign,
                    fields = ?row.fields,
                    "rollup drift: stored minus recomputed"
                );
            }
        }
        Ok(result)
    }
}

/// The day a reconciliation event asks for: `{"day": "2026-03-25"}` at the top or in
/// `detail` (an EventBridge event); none means yesterday.
pub fn requested_day(event: &serde_json::Value) -> Option<NaiveDate> {
    event
        .get("day")
        .or_else(|| event.get("detail").and_then(|d| d.get("day")))
        .and_then(serde_json::Value::as_str)
        .and_then(|d| d.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_days() {
        assert_eq!(
            requested_day(&serde_json::json!({"day": "2026-03-25"})),
            Some("2026-03-25".parse().unwrap())
        );
        assert_eq!(
            requested_day(&serde_json::json!({"detail": {"day": "2026-03-24"}})),
            Some("2026-03-24".parse().unwrap())
        );
        assert_eq!(
            requested_day(&serde_json::json!({"detail-type": "Scheduled Event"})),
            None
        );
    }
}
