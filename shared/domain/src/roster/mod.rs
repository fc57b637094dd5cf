//! Roster changes (人员变动): a rep leaves, changes team or has their holding cap lowered,
//! and their open leads must go somewhere — to another rep, into a pool, or back through
//! routing — without a manager moving them one by one.
//!
//! A roster change is a **job**: stored once ([`job`]), run a chunk at a time by the
//! `assign` function on the ready queue ([`run`]), its progress readable while it runs.
//! The ready queue and `assign` because a job's work *is* assignment work: each lead's
//! move is the same owner change the `transfer` action or routing commits (one
//! implementation, [`crate::assign::actions::give_to_rep`] and
//! [`crate::assign::actions::send_to_pool`]), under the same caps and rep counters, with
//! the same `lead.assigned` notices on the same queue; no new queue, consumer or
//! permission set is needed, and a chunk is small enough (at most [`job::CHUNK_LEADS`]
//! leads) to sit between single-lead messages without holding them up.
//!
//! Safe under duplicate and concurrent delivery of a chunk, and resumable:
//! - every lead's outcome in a job (moved, skipped with a reason, failed) is recorded
//!   once, and counted in the same write: a move commits the lead under its version
//!   together with the outcome record, which may not exist yet; so no lead is moved or
//!   counted twice, whichever delivery gets there first;
//! - the job's cursor (where the walk of the rep's leads stands) and chunk number move
//!   by a conditional write on the chunk number and status read: of two deliveries of
//!   one chunk, one records it and sends the next; the other stops;
//! - a failed chunk is redelivered by SQS and starts again from the stored cursor (its
//!   leads already moved are skipped as recorded); on its last delivery the job is
//!   marked `failed`, and `POST /v1/jobs/{id}/resume` sends it on from where it stopped.
//!
//! - [`request`]: the transfer body as the API takes it, checked field by field; the
//!   filter is the lead list's ([`crate::workspace::query`]).
//! - [`job`]: the job record, its progress and counts.
//! - [`run`]: starting a job, running one chunk, failing and resuming.
//! - [`ports`]: what jobs need stored.

pub mod job;
pub mod ports;
pub mod request;
pub mod run;
