//! The scheduled sweep. "Now" is the schedule's own event time, never the wall clock,
//! so a run can be replayed and tested at any instant. Each run: re-drives leads stuck
//! in `received`, re-offers leads waiting in pools that have room, and checks the SLA
//! clocks that are due (reminders, violations, breach actions). Each run that checks the
//! clocks counts `SlaReminders` and `SlaBreaches`, zeros included, so a gap in either
//! series means the sweep did not run (or could not read its clocks). A clock reminds
//! and breaches once, so a repeated schedule event counts nothing twice. Each run also
//! writes `CalendarDaysCovered`: how many days of holiday data the calendar in use that
//! runs out first has left, so an alarm asks for next year's schedule in time.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use domain::assign::auto::reoffer_waiting;
use domain::assign::deadlines::sweep_deadlines;
use domain::follow_up::calendar::COVERAGE_WARNING_DAYS;
use domain::{
    assign::ports::RoutingStore, follow_up::ports::SlaStore, lead::ports::LeadStore, lead::ports::MessageBus,
    lead::ports::StoreError,
};
use domain::{capture::intake::redrive_stuck, capture::intake::RedrivePolicy, capture::intake::RedriveReport};
use leadflow_aws::metrics::{self, Business, Level};

/// This function's name in its metrics (its binary's name).
pub const FUNCTION: &str = "sla-sweep";

/// Leads re-offered per pool per run, at most (the pool's free room caps it further).
pub const REOFFER_PER_POOL: usize = 100;
/// Due leads checked per run: a backlog drains over several runs, each well inside the
/// function's timeout.
pub const DUE_PER_RUN: usize = 500;
use serde::Serialize;

pub struct Sweep<S, B> {
    pub store: S,
    pub bus: B,
    pub redrive: RedrivePolicy,
    /// Due leads checked per run ([`DUE_PER_RUN`] in production).
    pub due_per_run: usize,
}

#[derive(Debug, Serialize)]
pub struct SweepReport {
    pub at: chrono::DateTime<chrono::Utc>,
    pub redriven: usize,
    pub redrive_failed: usize,
    /// Leads waiting in pools offered to assignment again (someone had room).
    pub reoffered: usize,
    /// Leads whose SLA clocks were due and re-checked.
    pub deadlines_checked: usize,
    pub breached: usize,
    pub reminded: usize,
    /// More clocks were due than one run takes: the next run continues.
    pub deadlines_pending: bool,
    /// Index entries read to find the due leads (the sweep's cost).
    pub due_entries_read: usize,
    /// The calendar in use whose holiday data runs out first, and its days left.
    pub calendar_coverage: Option<(String, i64)>,
}

impl<S: LeadStore + RoutingStore + SlaStore, B: MessageBus> Sweep<S, B> {
    pub async fn handle(&self, event: EventBridgeEvent<serde_json::Value>) -> Result<SweepReport, StoreError> {
        metrics::invoked(FUNCTION);
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
        let deadlines = match sweep_deadlines(&self.store, &self.bus, at, self.due_per_run).await {
            Ok(report) => {
                metrics::count_all(&[
                    (Business::SlaReminders, report.reminded as u64),
                    (Business::SlaBreaches, report.breached as u64),
                ]);
                report
            }
            Err(e) => {
                tracing::error!(error = %e, "checking due deadlines failed");
                Default::default()
            }
        };
        if deadlines.checked > 0 {
            tracing::info!(
                checked = deadlines.checked,
                breached = deadlines.breached,
                reminded = deadlines.reminded,
                failed = deadlines.failed,
                more = deadlines.more,
                entries_read = deadlines.entries_read,
                "checked due deadlines"
            );
        }
        let calendar_coverage = self.calendar_coverage(at).await;
        Ok(SweepReport {
            at,
            redriven: resent,
            redrive_failed: failed,
            reoffered,
            deadlines_checked: deadlines.checked,
            breached: deadlines.breached,
            reminded: deadlines.reminded,
            deadlines_pending: deadlines.more,
            due_entries_read: deadlines.entries_read,
            calendar_coverage,
        })
    }

    /// Writes `CalendarDaysCovered` for the calendar in use that runs out first, and
    /// warns while it has fewer than [`COVERAGE_WARNING_DAYS`] left.
    async fn calendar_coverage(&self, at: chrono::DateTime<chrono::Utc>) -> Option<(String, i64)> {
        let config = match self.store.sla_config().await {
            Ok(config) => config,
            Err(e) => {
                tracing::error!(error = %e, "reading the SLA calendars failed");
                return None;
            }
        };
        let (calendar, days) = config
            .coverage_in_use(at)
            .first()
            .map(|(id, days)| (id.to_string(), *days))?;
        metrics::level(Level::CalendarDaysCovered, days.max(0).unsigned_abs());
        if days < COVERAGE_WARNING_DAYS {
            tracing::warn!(
                calendar,
                days,
                "a calendar in use is running out of holiday data: load next year's schedule (PUT /v1/config/sla)"
            );
        }
        Some((calendar, days))
    }
}
