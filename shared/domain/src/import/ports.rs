//! What imports need stored: the job, each chunk's result, saved column mappings.

use crate::import::mapping::Mapping;
use crate::import::ChunkResult;
use crate::import::ImportJob;
use crate::import::Tally;
use crate::lead::ports::{Page, PageRequest, StoreError};
use std::future::Future;

/// Imports: the job, each chunk's result (once), dedup's tally, and saved mappings (a
/// mapping is saved as a versioned document: [`crate::lead::ports::ConfigHistory`]).
pub trait ImportStore: Send + Sync {
    fn create_import(&self, job: &ImportJob) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn import_job(&self, id: &str) -> impl Future<Output = Result<Option<ImportJob>, StoreError>> + Send;
    /// A page of imports, the most recent first (keyed by import id, a ULID).
    fn imports(&self, page: PageRequest<'_>) -> impl Future<Output = Result<Page<ImportJob>, StoreError>> + Send;
    /// `false` when the chunk's result was already recorded (nothing written).
    fn put_chunk_result(
        &self,
        import_id: &str,
        result: &ChunkResult,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn import_results(
        &self,
        import_id: &str,
    ) -> impl Future<Output = Result<(Vec<ChunkResult>, Tally), StoreError>> + Send;
    fn mapping(&self, name: &str) -> impl Future<Output = Result<Option<Mapping>, StoreError>> + Send;
    /// A page of saved mappings by name.
    fn mappings(&self, page: PageRequest<'_>) -> impl Future<Output = Result<Page<Mapping>, StoreError>> + Send;
}
