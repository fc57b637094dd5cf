//! The scheduled sweep. "Now" is the schedule's own event time, never the wall clock,
//! so a run can be replayed and tested at any instant.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use domain::assign::reoffer_waiting;
use domain::capture::{redrive_stuck, RedrivePolicy, RedriveReport};
use domain::ports::{LeadStore, MessageBus, RoutingStore, StoreError};

/// Leads re-offered per pool per run, at most (the pool's free room caps it further).
pub const REOFFER_PER_POOL: usize = 100;
use serde::Serialize;

pub struct Sweep<S, B> {
    pub store: S,
    pub bus: B,
    pub redrive: RedrivePolicy,
}

#[derive(Debug, Serialize)]
pub struct SweepReport {
    pub at: chrono::DateTime<chrono::Utc>,
    pub redriven: usize,
    pub redrive_failed: usize,
    /// Leads waiting in pools offered to assignment again (someone had room).
    pub reoffered: usize,
}

impl<S: LeadStore + RoutingStore, B: MessageBus> Sweep<S, B> {
    pub async fn handle(&self, event: EventBridgeEvent<serde_json::Value>) -> Result<SweepReport, StoreError> {
        let at = event.time.unwrap_or_else(chrono::Utc::now);
        let RedriveReport { found, resent, failed } = redrive_stuck(&self.store, &self.bus, at, self.redrive).await?;
        if found > 0 {
            tracing::warn!(found, resent, failed, "re-drove leads stuck in received");
        }
        // A failure here must not hide the redrive's result; the next run tries again.
        let reoffered = match reoffer_waiting(&self.store, &self.bus, at, REOFFER_PER_POOL).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "re-offering waiting leads failed");
                0
            }
        };
        Ok(SweepReport {
            at,
            redriven: resent,
            redrive_failed: failed,
            reoffered,
        })
    }
}
