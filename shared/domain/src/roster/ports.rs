//! What roster jobs need stored: the job (its spec once, its progress by compare-and-set,
//! its counters) and each lead's outcome, once per job. A lead that moves records its
//! outcome inside its own commit ([`crate::assign::ports::LeadChange::job`]); a lead that
//! stays records it here.

use crate::assign::ports::JobMark;
use crate::lead::ports::{Saved, StoreError};
use crate::lead::LeadId;
use crate::roster::job::{Job, JobSpec, Progress};
use std::future::Future;

pub trait JobStore: Send + Sync {
    /// Stores a new job (its id is fresh: an existing one is never overwritten).
    fn create_job(&self, spec: &JobSpec, progress: &Progress) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn job(&self, id: &str) -> impl Future<Output = Result<Option<Job>, StoreError>> + Send;

    /// Saves `next` if the stored progress still has `expected`'s chunk and status;
    /// `Saved::Conflict` (nothing written) if another delivery or a resume moved it.
    fn save_progress(
        &self,
        id: &str,
        expected: &Progress,
        next: &Progress,
    ) -> impl Future<Output = Result<Saved, StoreError>> + Send;

    /// Records the outcome of a lead that did not move (skipped, failed) and counts it,
    /// unless the job already has an outcome for the lead: then nothing is written and
    /// the answer is `false`.
    fn record_outcome(&self, mark: &JobMark) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Whether the job has recorded an outcome for the lead (read consistently).
    fn has_outcome(&self, job_id: &str, lead: &LeadId) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
