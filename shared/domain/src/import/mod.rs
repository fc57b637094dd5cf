//! Bulk import: trade-show lists and CRM migrations go through the same validation,
//! cleaning, dedup, scoring and routing as a web form.
//!
//! 1. The API reads the file ([`sheet::read_sheet`]) through a [`mapping::Mapping`]. A dry
//!    run validates every row ([`row::prepare_row`]) and reports line-level errors; a
//!    real run stores an [`ImportJob`] and sends the rows in chunks (`import.chunk`).
//! 2. The import function captures each row of a chunk ([`run::process_chunk`]): a new
//!    `received` lead and `lead.captured`, exactly like intake, or an `invalid` lead
//!    that keeps the row and the reasons. Each row's submission id is its content hash
//!    ([`row::row_key`]), so a redelivered chunk or a re-uploaded file writes nothing
//!    twice. The chunk's counts are recorded once.
//! 3. dedup-score decides new, repeat or junk for each imported lead and tallies the
//!    outcome on the import in the same transaction as the decision.

pub mod mapping;
pub mod ports;
pub mod row;
pub mod run;
pub mod sheet;

use crate::qualify::ports::PipelineOutcome;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Lambda takes at most 6 MB in a synchronous request and API Gateway base64-encodes a
/// binary body (×4/3): 4 MiB of CSV fits either way.
pub const MAX_IMPORT_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_IMPORT_ROWS: usize = 50_000;
/// Rows per `import.chunk` message: well under SQS's 256 KB at the field limits.
pub const CHUNK_ROWS: usize = 100;
/// Line errors kept per chunk (the counts stay exact beyond it).
pub const MAX_ERRORS_PER_CHUNK: usize = 100;

/// A problem on one line of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    pub line: u64,
    pub field: String,
    pub reason: String,
}

impl LineError {
    pub fn new(line: u64, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            line,
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Why a file cannot be imported at all (nothing is written).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is neither UTF-8 (with or without BOM), UTF-16 with BOM, nor GBK/GB18030")]
    Encoding,
    #[error("the file has no header line")]
    NoHeader,
    #[error("the header line is not valid CSV: {0}")]
    Csv(String),
    #[error("the column `{0}` appears twice")]
    DuplicateHeader(String),
    #[error("mapping `{mapping}` finds no phone, mobile, email or wechat column in the header line")]
    NoContactColumn { mapping: String },
    #[error("the file has more than {0} rows; split it")]
    TooManyRows(usize),
}

impl ImportError {
    /// The request field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            ImportError::NoContactColumn { .. } | ImportError::DuplicateHeader(_) => "mapping",
            _ => "body",
        }
    }
}

/// What a whole file's rows share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// Times in the file without an offset are in this zone.
    pub timezone: Tz,
}

/// An import as stored when it is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportJob {
    /// ULID: sorts by time.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    pub batch: Batch,
    pub mapping: String,
    pub encoding: String,
    pub rows_total: u64,
    pub chunks: u64,
    /// Lines that were not CSV: counted as failed, never sent.
    #[serde(default)]
    pub unreadable: Vec<LineError>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// What one chunk did, recorded once per chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkResult {
    pub chunk: u64,
    pub rows: u64,
    /// New leads sent into the pipeline (dedup decides what they become).
    pub captured: u64,
    /// Rows kept as invalid leads because they failed validation.
    pub invalid: u64,
    /// Rows an earlier upload (or an earlier line of this file) already imported.
    pub unchanged: u64,
    /// Rows that could not be stored at all.
    pub failed: u64,
    /// Validation errors (the row is kept as invalid), up to [`MAX_ERRORS_PER_CHUNK`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<LineError>,
    /// Problems that did not stop a row, up to [`MAX_ERRORS_PER_CHUNK`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<LineError>,
}

/// dedup-score's outcomes for an import's leads, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub new: u64,
    pub repeat: u64,
    pub junk: u64,
}

impl Tally {
    pub fn add(&mut self, outcome: PipelineOutcome, n: u64) {
        match outcome {
            PipelineOutcome::New => self.new += n,
            PipelineOutcome::Repeat => self.repeat += n,
            PipelineOutcome::Junk => self.junk += n,
        }
    }
}

/// The progress report: every row is in exactly one of created, repeats, invalid,
/// unchanged, failed and pending, so they add up to `rows_total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub import_id: String,
    pub status: &'static str,
    pub rows_total: u64,
    pub rows_processed: u64,
    /// New leads (they are routed like any lead, or kept by the file's owner).
    pub created: u64,
    /// Collected under an earlier lead of the same person, not duplicated.
    pub repeats: u64,
    /// Kept as invalid leads: failed validation here, or cleaning in the pipeline.
    pub invalid: u64,
    /// Imported before (same row, same channel and campaign): nothing written.
    pub unchanged: u64,
    pub failed: u64,
    /// Not yet read, or captured and not yet through dedup.
    pub pending: u64,
    pub errors: Vec<LineError>,
    pub warnings: Vec<LineError>,
}

impl Progress {
    pub fn of(job: &ImportJob, chunks: &[ChunkResult], tally: Tally) -> Progress {
        let sum = |f: fn(&ChunkResult) -> u64| chunks.iter().map(f).sum::<u64>();
        let unreadable = job.unreadable.len() as u64;
        let captured = sum(|c| c.captured);
        let decided = tally.new + tally.repeat + tally.junk;
        let failed = sum(|c| c.failed) + unreadable;
        let rows_processed = sum(|c| c.rows) + unreadable;
        let settled = decided + sum(|c| c.invalid) + sum(|c| c.unchanged) + failed;
        let pending = (job.rows_total + unreadable).saturating_sub(settled);
        let status = if pending > 0 || captured > decided {
            "processing"
        } else {
            "done"
        };
        let mut errors: Vec<LineError> = job.unreadable.clone();
        errors.extend(chunks.iter().flat_map(|c| c.errors.iter().cloned()));
        errors.sort_by_key(|e| e.line);
        let mut warnings: Vec<LineError> = chunks.iter().flat_map(|c| c.warnings.iter().cloned()).collect();
        warnings.sort_by_key(|e| e.line);
        Progress {
            import_id: job.id.clone(),
            status,
            rows_total: job.rows_total + unreadable,
            rows_processed,
            created: tally.new,
            repeats: tally.repeat,
            invalid: sum(|c| c.invalid) + tally.junk,
            unchanged: sum(|c| c.unchanged),
            failed,
            pending,
            errors,
            warnings,
        }
    }
}
