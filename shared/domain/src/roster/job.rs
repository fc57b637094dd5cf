//! A roster job as stored and read back: what was asked (its [`JobSpec`], written once),
//! where it stands ([`Progress`], moved by conditional writes on the chunk number and
//! status) and what it did (counters, one per [`Outcome`], each lead counted once).

use crate::assign::routing::OverCapPolicy;
use crate::roster::request::TransferRequest;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Index entries walked (leads examined) per chunk at most: one chunk message moves up
/// to this many leads, well inside the consumer's time limit.
pub const CHUNK_LEADS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Stored; no chunk has finished yet.
    Queued,
    Running,
    Done,
    /// A chunk failed on its last delivery, or the target is gone: `error` says why;
    /// `POST /v1/jobs/{id}/resume` sends it on from its cursor.
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }
    pub fn finished(self) -> bool {
        matches!(self, JobStatus::Done | JobStatus::Failed)
    }
}

/// What a job does to the rep's open leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    /// `POST /v1/reps/{id}/transfer`.
    Transfer { request: TransferRequest },
    /// A lowered holding cap: the extras back to their pools (`recycled`), in this order
    /// of creation (`newest_first` or `oldest_first`), until the rep is at the cap.
    Recycle { order: OverCapPolicy },
}

impl Work {
    pub fn kind(&self) -> &'static str {
        match self {
            Work::Transfer { .. } => "transfer",
            Work::Recycle { .. } => "recycle",
        }
    }
}

/// What was asked, written once when the job is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// ULID: sorts by time.
    pub id: String,
    /// Whose leads.
    pub rep: String,
    pub work: Work,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Where the job stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub status: JobStatus,
    /// The next chunk to run; chunks are numbered from 0.
    pub chunk: u64,
    /// The last position walked in the rep's leads; `None`: from the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Whether the message for `chunk` is known to be on the queue.
    pub next_queued: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Progress {
    /// A job just stored: chunk 0 not sent yet.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            status: JobStatus::Queued,
            chunk: 0,
            cursor: None,
            next_queued: false,
            error: None,
            updated_at: at,
        }
    }
}

/// Why a lead stayed with the rep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Someone else moved or claimed it since it was listed (or another job did).
    NotOwned,
    /// The receiving rep holds as many leads as their holding cap allows.
    TargetAtCap,
    /// The receiving rep was made inactive while the job ran.
    TargetInactive,
}

impl SkipReason {
    pub const ALL: [SkipReason; 3] = [
        SkipReason::NotOwned,
        SkipReason::TargetAtCap,
        SkipReason::TargetInactive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NotOwned => "not_owned",
            SkipReason::TargetAtCap => "target_at_cap",
            SkipReason::TargetInactive => "target_inactive",
        }
    }

    /// In words, for the progress answer.
    pub fn text(self) -> &'static str {
        match self {
            SkipReason::NotOwned => "no longer owned by the rep",
            SkipReason::TargetAtCap => "the target's holding cap is reached",
            SkipReason::TargetInactive => "the target rep is inactive",
        }
    }
}

/// One lead's outcome in a job: recorded once per job and lead, with its counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Owned by another rep now.
    ToRep,
    /// Waiting unowned in a pool now.
    ToPool,
    Skipped(SkipReason),
    /// Gave up after repeated write conflicts on the lead; it stays with the rep.
    Failed,
}

impl Outcome {
    /// The job's counter this outcome adds to.
    pub fn counter(self) -> String {
        match self {
            Outcome::ToRep => "to_rep".into(),
            Outcome::ToPool => "to_pool".into(),
            Outcome::Skipped(reason) => format!("skipped.{}", reason.as_str()),
            Outcome::Failed => "failed".into(),
        }
    }
}

/// A job as read back: what was asked, where it stands, and its counters by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub spec: JobSpec,
    pub progress: Progress,
    /// [`Outcome::counter`] → leads.
    pub counters: BTreeMap<String, u64>,
}

impl Job {
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.counters.get(&outcome.counter()).copied().unwrap_or(0)
    }

    /// `GET /v1/jobs/{id}`.
    pub fn view(&self) -> Value {
        let (to_rep, to_pool) = (self.count(Outcome::ToRep), self.count(Outcome::ToPool));
        let reasons: BTreeMap<&str, u64> = SkipReason::ALL
            .iter()
            .map(|r| (r.as_str(), self.count(Outcome::Skipped(*r))))
            .filter(|(_, n)| *n > 0)
            .collect();
        let skipped: u64 = reasons.values().sum();
        let mut view = json!({
            "job_id": self.spec.id,
            "kind": self.spec.work.kind(),
            "rep": self.spec.rep,
            "status": self.progress.status.as_str(),
            "progress": {
                "moved": to_rep + to_pool,
                "to_rep": to_rep,
                "to_pool": to_pool,
                "skipped": skipped,
                "skipped_by_reason": reasons,
                "failed": self.count(Outcome::Failed),
                "chunks_done": self.progress.chunk,
            },
            "next_chunk_queued": self.progress.next_queued,
            "cursor": self.progress.cursor,
            "error": self.progress.error,
            "created_by": self.spec.created_by,
            "created_at": self.spec.created_at,
            "updated_at": self.progress.updated_at,
        });
        view["request"] = match &self.spec.work {
            Work::Transfer { request } => json!({
                "to": request.to.to_json(),
                "filter": request.filter,
                "sla": request.sla,
                "note": request.note,
            }),
            Work::Recycle { order } => json!({ "order": order }),
        };
        view
    }
}
