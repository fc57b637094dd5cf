//! Model training. Two triggers, one use case ([`train_challenger`]): the monthly
//! schedule (an EventBridge event; skipped if a model is younger than 20 days, so a
//! duplicate trigger costs nothing) and an admin's `model.train` on the model queue
//! (always trains). The new version goes into service as the challenger.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use domain::lead::messages::Message;
use domain::lead::ports::ConfigHistory;
use domain::predict::ports::ModelStore;
use domain::{
    predict::modeling::train_challenger, predict::modeling::ModelingError, predict::modeling::TrainReport,
    predict::modeling::Trigger, predict::modeling::SCHEDULE,
};
use leadflow_aws::batch::{envelope, for_each_message, UnreadableMessage};
use leadflow_aws::metrics;
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MessageError {
    #[error(transparent)]
    Unreadable(#[from] UnreadableMessage),
    #[error("{0} messages do not belong on the model queue")]
    WrongQueue(&'static str),
    #[error(transparent)]
    Training(#[from] ModelingError),
}

/// This function's name in its metrics (its binary's name).
pub const FUNCTION: &str = "train";

pub struct Train<S> {
    pub store: S,
}

impl<S: ModelStore + ConfigHistory> Train<S> {
    /// An SQS batch (`Records`) or a scheduled event; answers the batch response for SQS.
    pub async fn handle(&self, event: Value, now: DateTime<Utc>) -> Result<Value, ModelingError> {
        metrics::invoked(FUNCTION);
        if event.get("Records").is_some() {
            let batch: SqsEvent = serde_json::from_value(event).unwrap_or_default();
            let response = self.requested(batch, now).await;
            return Ok(serde_json::to_value(response).expect("a batch response serialises"));
        }
        let report = train_challenger(&self.store, Trigger::Schedule, SCHEDULE, now).await?;
        log(&report, "schedule");
        Ok(serde_json::to_value(&report).expect("a report serialises"))
    }

    async fn requested(&self, batch: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        for_each_message(FUNCTION, batch, |record| {
            Box::pin(async move { self.process(&record, now).await })
        })
        .await
    }

    async fn process(&self, record: &SqsMessage, now: DateTime<Utc>) -> Result<u32, MessageError> {
        let (request_id, requested_by) = match envelope(record)?.message {
            Message::ModelTrain {
                request_id,
                requested_by,
            } => (request_id, requested_by),
            other => return Err(MessageError::WrongQueue(other.type_name())),
        };
        // A redelivered request after a finished run trains once more: harmless, and
        // rarer than the cost of remembering requests. The new challenger is kept in the
        // models' history as put in service by the admin who asked.
        let report = train_challenger(&self.store, Trigger::Admin, &requested_by, now).await?;
        log(&report, &request_id);
        Ok(match report {
            TrainReport::Trained { version, .. } => version,
            TrainReport::Skipped { latest_version, .. } => latest_version,
        })
    }
}

fn log(report: &TrainReport, trigger: &str) {
    match report {
        TrainReport::Trained {
            version,
            metrics,
            leads_read,
            ..
        } => tracing::info!(
            trigger,
            version,
            leads_read,
            training_size = metrics.training_size,
            holdout_size = metrics.holdout_size,
            auc = ?metrics.auc,
            log_loss = ?metrics.log_loss,
            "model trained; in service as the challenger"
        ),
        TrainReport::Skipped {
            latest_version,
            days_ago,
        } => {
            tracing::info!(
                trigger,
                latest_version,
                days_ago,
                "training skipped: a recent model exists"
            )
        }
    }
}
