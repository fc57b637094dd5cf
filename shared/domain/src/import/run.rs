//! Running an import: the dry run's report, splitting a file into chunks, and capturing
//! one chunk's rows (the import function does this per `import.chunk` message).

use super::row::{line_errors, prepare_row, row_key};
use super::sheet::Sheet;
use super::{Batch, ChunkResult, ImportJob, LineError, MAX_ERRORS_PER_CHUNK};
use crate::assign::routing::Rep;
use crate::capture::submission::SubmissionRules;
use crate::lead::messages::Row;
use crate::lead::ports::NewLead;
use crate::lead::ImportRef;
use crate::lead::{InvalidReason, Lead, LeadId, Stage};
use crate::{
    assign::ports::RoutingStore, import::ports::ImportStore, lead::ports::create_once, lead::ports::Creation,
    lead::ports::LeadStore, lead::ports::MessageBus, lead::ports::StoreError,
};
use crate::{capture::intake::capture_from, capture::intake::Origin};
use crate::{lead::messages::Envelope, lead::messages::Message};
use chrono::{DateTime, Utc};
use serde::Serialize;
use thiserror::Error;

/// The invalid reason of a row that failed validation.
pub const IMPORT_INVALID: &str = "import_invalid";

/// What a real run would do, line by line; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryRun {
    pub rows_total: u64,
    /// Rows that would be captured (dedup may still find some to be repeats or junk).
    pub valid: u64,
    /// Rows that would be kept as invalid leads, with `errors`.
    pub invalid: u64,
    /// Lines that are not CSV.
    pub unreadable: u64,
    /// The same row twice in the file: the later ones would be `unchanged`.
    pub repeated_in_file: u64,
    pub errors: Vec<LineError>,
    pub warnings: Vec<LineError>,
}

pub fn dry_run(sheet: &Sheet, batch: &Batch, reps: &[Rep], rules: &SubmissionRules, now: DateTime<Utc>) -> DryRun {
    let mut report = DryRun {
        rows_total: sheet.rows.len() as u64 + sheet.errors.len() as u64,
        valid: 0,
        invalid: 0,
        unreadable: sheet.errors.len() as u64,
        repeated_in_file: 0,
        errors: sheet.errors.clone(),
        warnings: Vec::new(),
    };
    let mut seen = std::collections::HashSet::new();
    for row in &sheet.rows {
        if !seen.insert(row_key(row, batch)) {
            report.repeated_in_file += 1;
            continue;
        }
        match prepare_row(row, batch, reps, rules, now) {
            Ok(prepared) => {
                report.valid += 1;
                report.warnings.extend(line_errors(row.line, &prepared.warnings));
            }
            Err(errors) => {
                report.invalid += 1;
                report.errors.extend(line_errors(row.line, &errors));
            }
        }
    }
    report.errors.sort_by_key(|e| e.line);
    report
}

/// The rows of `sheet` as chunk messages of `import_id`, numbered from 0.
pub fn chunk_messages(import_id: &str, rows: Vec<Row>, chunk_rows: usize, now: DateTime<Utc>) -> Vec<Envelope> {
    let mut messages = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Row> = rows.by_ref().take(chunk_rows.max(1)).collect();
        let message = Message::ImportChunk {
            import_id: import_id.to_string(),
            chunk: messages.len() as u64,
            rows: chunk,
        };
        messages.push(Envelope::new(message, now));
    }
    messages
}

#[derive(Debug, Error)]
pub enum ChunkError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The job record is missing: the chunk cannot be attributed (a bug or a deleted job).
    #[error("import {0} does not exist")]
    UnknownImport(String),
}

/// One delivery of a chunk: its counts, and whether this delivery is the one that
/// recorded them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRun {
    pub result: ChunkResult,
    /// `false`: an earlier delivery had recorded these counts already (a redelivery after
    /// the chunk was done): whatever reports them must not count them again.
    pub first: bool,
}

/// What happened to one row.
enum RowOutcome {
    Captured,
    Invalid,
    Unchanged,
}

fn invalid_row_lead(
    id: LeadId,
    row: &Row,
    reasons: &[LineError],
    key: String,
    job: &ImportJob,
    now: DateTime<Utc>,
) -> Lead {
    let mut lead = Lead::new(id, job.batch.channel.clone(), now);
    lead.set_stage(Stage::Invalid, now);
    lead.invalid_reason = Some(InvalidReason {
        code: IMPORT_INVALID.into(),
        detail: reasons
            .iter()
            .map(|e| format!("{}: {}", e.field, e.reason))
            .collect::<Vec<_>>()
            .join("; "),
    });
    // The row as it was, for a human to fix: nothing valid is lost.
    lead.unusable = row.fields.clone();
    lead.source.campaign_id = job.batch.campaign_id.clone();
    lead.submission_id = Some(key);
    lead.import = Some(ImportRef {
        id: job.id.clone(),
        line: row.line,
        owner: None,
    });
    lead
}

/// Captures the rows of one chunk and records the chunk's counts once ([`ChunkRun::first`]
/// says whether this delivery did).
///
/// Safe to run again (redelivery, a crash half-way): every row's submission id is its
/// content hash, so a row captured by an earlier attempt answers with its lead. If that
/// lead is this row of this import, the row counts as it did then (and its
/// `lead.captured` is sent again, in case the crash came before the send); otherwise the
/// row was imported before and counts as unchanged.
pub async fn process_chunk<S: LeadStore + ImportStore + RoutingStore, B: MessageBus>(
    store: &S,
    bus: &B,
    import_id: &str,
    chunk: u64,
    rows: &[Row],
    rules: &SubmissionRules,
    now: DateTime<Utc>,
) -> Result<ChunkRun, ChunkError> {
    let job = store
        .import_job(import_id)
        .await?
        .ok_or_else(|| ChunkError::UnknownImport(import_id.to_string()))?;
    let reps: Vec<Rep> = store.all_reps().await?.into_iter().map(|(rep, _)| rep).collect();
    let mut result = ChunkResult {
        chunk,
        rows: rows.len() as u64,
        ..ChunkResult::default()
    };
    for row in rows {
        let key = row_key(row, &job.batch);
        let this_row = ImportRef {
            id: job.id.clone(),
            line: row.line,
            owner: None,
        };
        let outcome = match prepare_row(row, &job.batch, &reps, rules, now) {
            Ok(mut prepared) => {
                prepared.submission.submission_id = Some(key);
                let origin = Origin {
                    created_at: prepared.created_at,
                    import: Some(ImportRef {
                        owner: prepared.owner.clone(),
                        ..this_row.clone()
                    }),
                };
                // A failed send leaves the lead `received`: the outbox re-driver sends it.
                let receipt = capture_from(store, bus, prepared.submission, origin, now).await?;
                let outcome = if receipt.duplicate {
                    earlier_attempt(store, bus, &receipt.lead_id, &this_row, now).await?
                } else {
                    RowOutcome::Captured
                };
                if !matches!(outcome, RowOutcome::Unchanged) {
                    push_bounded(&mut result.warnings, line_errors(row.line, &prepared.warnings));
                }
                outcome
            }
            Err(errors) => {
                let reasons = line_errors(row.line, &errors);
                let build = |id| NewLead::new(invalid_row_lead(id, row, &reasons, key.clone(), &job, now), None);
                let outcome = match create_once(store, now, build).await? {
                    Creation::Created(_) => RowOutcome::Invalid,
                    Creation::Duplicate(existing) => earlier_attempt(store, bus, &existing, &this_row, now).await?,
                };
                if !matches!(outcome, RowOutcome::Unchanged) {
                    push_bounded(&mut result.errors, reasons);
                }
                outcome
            }
        };
        match outcome {
            RowOutcome::Captured => result.captured += 1,
            RowOutcome::Invalid => result.invalid += 1,
            RowOutcome::Unchanged => result.unchanged += 1,
        }
    }
    // `false`: a redelivery after the result was recorded; it recorded the same counts.
    let first = store.put_chunk_result(import_id, &result).await?;
    Ok(ChunkRun { result, first })
}

fn push_bounded(list: &mut Vec<LineError>, more: Vec<LineError>) {
    let room = MAX_ERRORS_PER_CHUNK.saturating_sub(list.len());
    list.extend(more.into_iter().take(room));
}

/// A row whose submission id was taken: by this very row in an earlier attempt, or by
/// an earlier upload or line.
async fn earlier_attempt<S: LeadStore, B: MessageBus>(
    store: &S,
    bus: &B,
    lead_id: &LeadId,
    this_row: &ImportRef,
    now: DateTime<Utc>,
) -> Result<RowOutcome, StoreError> {
    let Some(lead) = store.get_lead(lead_id).await? else {
        return Ok(RowOutcome::Unchanged);
    };
    let same_row = lead
        .import
        .as_ref()
        .is_some_and(|i| i.id == this_row.id && i.line == this_row.line);
    if !same_row {
        return Ok(RowOutcome::Unchanged);
    }
    let invalid_here = lead.invalid_reason.as_ref().is_some_and(|r| r.code == IMPORT_INVALID);
    if invalid_here {
        return Ok(RowOutcome::Invalid);
    }
    if lead.stage == Stage::Received {
        let message = Message::LeadCaptured { lead_id: lead.id };
        // Best effort: the outbox re-driver sends it if this fails.
        let _ = bus.publish(&Envelope::new(message, now)).await;
    }
    Ok(RowOutcome::Captured)
}
