//! What imports need stored: the job, each chunk's result, saved column mappings.

use crate::import::mapping::Mapping;
use crate::import::ChunkResult;
use crate::import::ImportJob;
use crate::import::Tally;
use crate::lead::ports::StoreError;
use std::future::Future;

/// Imports: the job, each chunk's result (once), dedup's tally, and saved mappings (a
/// mapping is saved as a versioned document: [`crate::lead::ports::ConfigHistory`]).
pub trait ImportStore: Send + Sync {
    fn create_import(&self, job: &ImportJob) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn import_job(&self, id: &str) -> impl Future<Output = Result<Option<ImportJob>, StoreError>> + Send;
    /// The most recent imports first.
    fn imports(&self, limit: usize) -> impl Future<Output = Result<Vec<ImportJob>, StoreError>> + Send;
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
    fn mappings(&self) -> impl Future<Output = Result<Vec<Mapping>, StoreError>> + Send;
}
