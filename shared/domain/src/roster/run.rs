//! Running roster jobs: starting one (stored, then its first chunk sent), running one
//! chunk of it (the `assign` function, per `job.chunk` message), failing it and resuming
//! it. How each step stays safe under redelivery is in [`crate::roster`]'s overview.
//!
//! A chunk walks the rep's leads in their list partition ([`Partition::Owner`], by
//! creation) from the stored cursor, at most [`CHUNK_LEADS`] entries, and moves each lead
//! that is still the rep's, open (held against their cap) and passes the filters. Every
//! lead is read afresh and moved by one conditional commit, so the index being a moment
//! behind never moves a lead twice or moves one that left.

use crate::assign::actions::{give_to_rep, send_to_pool, NotReceiving};
use crate::assign::auto::load_of;
use crate::assign::ports::{JobMark, LeadChange, PoolTake, RoutingStore};
use crate::assign::routing::{
    choose_pool, route_excluding, Decision, OverCapPolicy, Rep, RepLoad, RoutingConfig, WaitReason,
};
use crate::follow_up::ports::SlaStore;
use crate::follow_up::sla::{self, SlaConfig};
use crate::lead::funnel;
use crate::lead::messages::{Envelope, Message};
use crate::lead::ports::{BusError, LeadStore, MessageBus, Saved, StoreError};
use crate::lead::retry::Attempts;
use crate::lead::{Lead, LeadId, OwnerChangeHow};
use crate::roster::job::{Job, JobSpec, JobStatus, Outcome, Progress, SkipReason, Work, CHUNK_LEADS};
use crate::roster::ports::JobStore;
use crate::roster::request::{SlaOnMove, Target, TransferRequest};
use crate::workspace::index::{Order, Partition};
use crate::workspace::ports::LeadIndex;
use crate::workspace::query::Filters;
use crate::FieldError;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use thiserror::Error;

/// A job whose next chunk was sent this long ago without a trace may be resumed by hand
/// even though it looks queued (its message may have been lost with a failed marking).
pub const STALLED_AFTER: Duration = Duration::minutes(15);

#[derive(Debug, Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The chunk names no stored job: a bug, or a job deleted by hand.
    #[error("job {0} does not exist")]
    UnknownJob(String),
}

/// Why a well-formed transfer's target cannot take the leads, by what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRefused {
    /// The rep or pool it names does not exist (the API answers 404 naming the field).
    Missing(FieldError),
    /// It names the rep whose leads move, or an inactive rep (409 naming the field).
    Conflict(FieldError),
}

/// Checks a transfer's target against the store: the rep or pool it names must exist; a
/// rep must be active and not the one whose leads move.
pub async fn check_target<S: RoutingStore>(
    store: &S,
    from: &str,
    request: &TransferRequest,
) -> Result<Option<TargetRefused>, StoreError> {
    let missing = |field: &str, what: &str| {
        Some(TargetRefused::Missing(FieldError::new(
            field,
            format!("no {what} has this id"),
        )))
    };
    Ok(match &request.to {
        Target::Rep(to) if to == from => Some(TargetRefused::Conflict(FieldError::new(
            "to.rep",
            "is the rep whose leads move",
        ))),
        Target::Rep(to) => match store.rep(to).await? {
            None => missing("to.rep", "rep"),
            Some((rep, _)) if !rep.active => Some(TargetRefused::Conflict(FieldError::new(
                "to.rep",
                "the rep is inactive",
            ))),
            Some(_) => None,
        },
        Target::Pool(pool) => match store.pool(pool).await? {
            None => missing("to.pool", "pool"),
            Some(_) => None,
        },
        Target::Routing => None,
    })
}

/// A job just started.
#[derive(Debug, Clone)]
pub struct Started {
    pub job: Job,
    /// `false`: stored, but its first chunk could not be sent; `resume` sends it.
    pub queued: bool,
}

/// Stores a job on `rep`'s leads and sends its first chunk.
pub async fn start<S: JobStore, B: MessageBus>(
    store: &S,
    bus: &B,
    rep: &str,
    work: Work,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Started, StoreError> {
    let spec = JobSpec {
        id: crate::lead::ulid_at(now),
        rep: rep.to_string(),
        work,
        created_by: by.to_string(),
        created_at: now,
    };
    let progress = Progress::new(now);
    store.create_job(&spec, &progress).await?;
    let mut job = Job {
        spec,
        progress,
        counters: BTreeMap::new(),
    };
    match enqueue(store, bus, &job, now).await {
        Ok(progress) => {
            job.progress = progress;
            Ok(Started { job, queued: true })
        }
        Err(JobError::Bus(_)) => Ok(Started { job, queued: false }),
        Err(JobError::Store(e)) => Err(e),
        Err(JobError::UnknownJob(_)) => unreachable!("enqueue reads no job"),
    }
}

/// Sends the message for the job's next chunk and notes that it is queued (a conflict
/// there means the chunk already ran: nothing to note).
async fn enqueue<S: JobStore, B: MessageBus>(
    store: &S,
    bus: &B,
    job: &Job,
    now: DateTime<Utc>,
) -> Result<Progress, JobError> {
    let message = Message::JobChunk {
        job_id: job.spec.id.clone(),
        chunk: job.progress.chunk,
    };
    bus.publish(&Envelope::new(message, now)).await?;
    let next = Progress {
        next_queued: true,
        updated_at: now,
        ..job.progress.clone()
    };
    store.save_progress(&job.spec.id, &job.progress, &next).await?;
    Ok(next)
}

/// What one delivery of a chunk did (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkRun {
    /// This delivery ran the chunk and recorded it; the counts are the leads whose
    /// outcome it recorded.
    Ran {
        job_id: String,
        chunk: u64,
        moved: u64,
        skipped: u64,
        failed: u64,
        examined: usize,
        /// Moves whose `lead.assigned` notice could not be sent (the move stands).
        notices_unsent: u64,
        done: bool,
    },
    /// Another delivery recorded this chunk, or the job is finished: nothing recorded.
    Stale { job_id: String, chunk: u64 },
    /// The job cannot go on (its target is gone or inactive): it is marked failed.
    Failed { job_id: String, reason: String },
}

/// Runs chunk `chunk` of job `job_id`.
pub async fn run_chunk<S, B>(
    store: &S,
    bus: &B,
    job_id: &str,
    chunk: u64,
    now: DateTime<Utc>,
) -> Result<ChunkRun, JobError>
where
    S: LeadStore + RoutingStore + SlaStore + LeadIndex + JobStore,
    B: MessageBus,
{
    let job = store
        .job(job_id)
        .await?
        .ok_or_else(|| JobError::UnknownJob(job_id.to_string()))?;
    let stale = || ChunkRun::Stale {
        job_id: job_id.to_string(),
        chunk,
    };
    let progress = &job.progress;
    if progress.status.finished() || chunk > progress.chunk {
        return Ok(stale());
    }
    if chunk < progress.chunk {
        // A repeat of a recorded chunk. If the delivery that recorded it stopped before
        // sending the next one, this one sends it.
        if chunk + 1 == progress.chunk && !progress.next_queued {
            enqueue(store, bus, &job, now).await?;
        }
        return Ok(stale());
    }
    let mover = Mover::new(store, bus, &job, now).await?;
    if let Some(reason) = mover.target_gone().await? {
        fail(store, job_id, &reason, now).await?;
        return Ok(ChunkRun::Failed {
            job_id: job_id.to_string(),
            reason,
        });
    }
    let ascending = !matches!(
        job.spec.work,
        Work::Recycle {
            order: OverCapPolicy::NewestFirst
        }
    );
    let entries = store
        .list_entries(
            &Partition::Owner(job.spec.rep.clone()),
            Order::Created,
            ascending,
            progress.cursor.as_deref(),
            CHUNK_LEADS,
        )
        .await?;
    let mut done = entries.len() < CHUNK_LEADS;
    let (mut cursor, mut examined) = (progress.cursor.clone(), 0);
    let (mut moved, mut skipped, mut failed) = (0, 0, 0);
    for entry in &entries {
        match mover.move_lead(&entry.lead).await? {
            Moved::CapReached => {
                done = true;
                break;
            }
            Moved::Recorded(Outcome::ToRep | Outcome::ToPool) => moved += 1,
            Moved::Recorded(Outcome::Skipped(_)) => skipped += 1,
            Moved::Recorded(Outcome::Failed) => failed += 1,
            Moved::AlreadyRecorded | Moved::NotInJob => {}
        }
        examined += 1;
        cursor = Some(entry.position.clone());
    }
    let next = Progress {
        status: if done { JobStatus::Done } else { JobStatus::Running },
        chunk: chunk + 1,
        cursor,
        next_queued: done,
        error: None,
        updated_at: now,
    };
    let notices_unsent = mover.unsent.load(AtomicOrdering::Relaxed);
    if store.save_progress(job_id, progress, &next).await? == Saved::Conflict {
        return Ok(stale());
    }
    if !done {
        let job = Job {
            progress: next,
            ..job.clone()
        };
        enqueue(store, bus, &job, now).await?;
    }
    Ok(ChunkRun::Ran {
        job_id: job_id.to_string(),
        chunk,
        moved,
        skipped,
        failed,
        examined,
        notices_unsent,
        done,
    })
}

/// Marks the job failed with `reason` (the consumer, on a chunk's last delivery; a
/// chunk whose target is gone). `false` if it was finished already or moved meanwhile.
pub async fn fail<S: JobStore>(store: &S, job_id: &str, reason: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let Some(job) = store.job(job_id).await? else {
        return Ok(false);
    };
    if job.progress.status.finished() {
        return Ok(false);
    }
    let next = Progress {
        status: JobStatus::Failed,
        next_queued: false,
        error: Some(reason.to_string()),
        updated_at: now,
        ..job.progress.clone()
    };
    Ok(store.save_progress(job_id, &job.progress, &next).await? == Saved::Saved)
}

#[derive(Debug, Error)]
pub enum ResumeError {
    #[error("no job has this id")]
    NotFound,
    /// 409: nothing to resume now.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// `POST /v1/jobs/{id}/resume`: a failed job goes on from its cursor; a job whose next
/// chunk was never sent (or not heard of for [`STALLED_AFTER`]) gets it sent. A running
/// job with its chunk on the queue, and a finished one, are refused.
pub async fn resume<S: JobStore, B: MessageBus>(
    store: &S,
    bus: &B,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<Job, ResumeError> {
    let mut job = store.job(job_id).await?.ok_or(ResumeError::NotFound)?;
    let progress = job.progress.clone();
    match progress.status {
        JobStatus::Done => return Err(ResumeError::Conflict("the job is done: nothing to resume".into())),
        JobStatus::Failed => {
            let next = Progress {
                status: if progress.chunk == 0 {
                    JobStatus::Queued
                } else {
                    JobStatus::Running
                },
                next_queued: false,
                error: None,
                updated_at: now,
                ..progress.clone()
            };
            if store.save_progress(job_id, &progress, &next).await? == Saved::Conflict {
                return Err(ResumeError::Conflict("the job changed meanwhile: read it again".into()));
            }
            job.progress = next;
        }
        JobStatus::Queued | JobStatus::Running => {
            if progress.next_queued && now - progress.updated_at < STALLED_AFTER {
                return Err(ResumeError::Conflict(
                    "the job is running: its next chunk is on the queue".into(),
                ));
            }
        }
    }
    job.progress = match enqueue(store, bus, &job, now).await {
        Ok(progress) => progress,
        Err(JobError::Store(e)) => return Err(e.into()),
        Err(JobError::Bus(e)) => return Err(e.into()),
        Err(JobError::UnknownJob(_)) => return Err(ResumeError::NotFound),
    };
    Ok(job)
}

/// One lead's fate in a chunk.
enum Moved {
    /// This delivery recorded the lead's outcome (and, for a move, moved it).
    Recorded(Outcome),
    /// The job already had an outcome for the lead (another delivery's): nothing done.
    AlreadyRecorded,
    /// Not the job's to move: gone, closed (converted, nurtured…), or filtered out.
    NotInJob,
    /// Recycling: the rep is at their cap; the job is done.
    CapReached,
}

/// What one chunk needs to move leads: the job, the configuration read once per chunk.
struct Mover<'a, S, B> {
    store: &'a S,
    bus: &'a B,
    job: &'a Job,
    now: DateTime<Utc>,
    day: NaiveDate,
    routing: RoutingConfig,
    sla_config: SlaConfig,
    filters: Filters,
    /// Notices that could not be sent.
    unsent: AtomicU64,
}

impl<'a, S, B> Mover<'a, S, B>
where
    S: LeadStore + RoutingStore + SlaStore + JobStore,
    B: MessageBus,
{
    async fn new(store: &'a S, bus: &'a B, job: &'a Job, now: DateTime<Utc>) -> Result<Self, StoreError> {
        let routing = store.routing().await?;
        let filters = match &job.spec.work {
            Work::Transfer { request } => request.filters(),
            Work::Recycle { .. } => Filters::default(),
        };
        Ok(Self {
            store,
            bus,
            job,
            now,
            day: routing.business_day(now),
            sla_config: store.sla_config().await?,
            routing,
            filters,
            unsent: AtomicU64::new(0),
        })
    }

    fn rep(&self) -> &str {
        &self.job.spec.rep
    }

    fn request(&self) -> Option<&TransferRequest> {
        match &self.job.spec.work {
            Work::Transfer { request } => Some(request),
            Work::Recycle { .. } => None,
        }
    }

    /// Why the job cannot go on, if its target rep or pool is gone or the rep inactive.
    async fn target_gone(&self) -> Result<Option<String>, StoreError> {
        Ok(match self.request().map(|r| &r.to) {
            Some(Target::Rep(to)) => match self.store.rep(to).await? {
                None => Some(format!("rep {to} no longer exists")),
                Some((rep, _)) if !rep.active => Some(format!(
                    "rep {to} is inactive: make them active, or start a transfer elsewhere, then resume"
                )),
                Some(_) => None,
            },
            Some(Target::Pool(pool)) => match self.store.pool(pool).await? {
                None => Some(format!("pool {pool} no longer exists")),
                Some(_) => None,
            },
            Some(Target::Routing) | None => None,
        })
    }

    fn mark(&self, lead: &LeadId, outcome: Outcome) -> JobMark {
        JobMark {
            job_id: self.job.spec.id.clone(),
            lead_id: lead.clone(),
            outcome: outcome.counter(),
            at: self.now,
        }
    }

    /// Records an outcome that moves nothing, once.
    async fn record(&self, lead: &LeadId, outcome: Outcome) -> Result<Moved, StoreError> {
        Ok(if self.store.record_outcome(&self.mark(lead, outcome)).await? {
            Moved::Recorded(outcome)
        } else {
            Moved::AlreadyRecorded
        })
    }

    async fn move_lead(&self, id: &LeadId) -> Result<Moved, StoreError> {
        let mut attempts = Attempts::new();
        while attempts.next_attempt().await {
            let Some(lead) = self.store.get_lead(id).await? else {
                return Ok(Moved::NotInJob);
            };
            if lead.owner.as_deref() != Some(self.rep()) {
                // Listed under the rep a moment ago, someone else's now (or this job's
                // move by another delivery, already recorded: then nothing counts).
                let transfer = self.request().is_some();
                return if transfer && self.filters.matches(&lead, self.rep(), self.now) {
                    self.record(id, Outcome::Skipped(SkipReason::NotOwned)).await
                } else {
                    Ok(Moved::NotInJob)
                };
            }
            if lead.held_by() != Some(self.rep()) || !self.filters.matches(&lead, self.rep(), self.now) {
                return Ok(Moved::NotInJob);
            }
            let mut next = lead.clone();
            let mut change = LeadChange::new(&lead, lead.clone(), self.day);
            let outcome = match self.plan(&lead, &mut next, &mut change).await? {
                Plan::Move(outcome) => outcome,
                Plan::Skip(reason) => return self.record(id, Outcome::Skipped(reason)).await,
                Plan::CapReached => return Ok(Moved::CapReached),
            };
            self.clocks(&lead, &mut next);
            let (next, steps) = funnel::count(next);
            change.lead = next;
            change.funnel = steps;
            change.job = Some(self.mark(id, outcome));
            match self.store.commit_change(&change).await? {
                Saved::Saved => {
                    self.announce(&change.lead).await;
                    return Ok(Moved::Recorded(outcome));
                }
                // The lead moved on, a cap filled, or another delivery recorded this
                // lead's outcome first (then there is nothing left to do).
                Saved::Conflict => {
                    if self.store.has_outcome(&self.job.spec.id, id).await? {
                        return Ok(Moved::AlreadyRecorded);
                    }
                }
            }
        }
        self.record(id, Outcome::Failed).await
    }

    /// Where this lead goes, written into `next` and `change` by the same code the
    /// lead actions use.
    async fn plan(&self, lead: &Lead, next: &mut Lead, change: &mut LeadChange) -> Result<Plan, StoreError> {
        let by = self.job.spec.created_by.as_str();
        let now = self.now;
        let Some(request) = self.request() else {
            // Recycling down to a lowered cap: one lead at a time, while the rep is over it.
            let Some((holder, counters)) = self.store.rep(self.rep()).await? else {
                return Ok(Plan::CapReached);
            };
            let cap = holder.holding_cap();
            if counters.active_leads <= cap {
                return Ok(Plan::CapReached);
            }
            let pool = lead.pool.clone().unwrap_or_else(|| self.routing.default_pool.clone());
            let note = format!("over the holding cap ({cap})");
            send_to_pool(lead, next, change, &pool, OwnerChangeHow::Recycled, by, Some(note), now);
            change.release_floor = Some(cap);
            return Ok(Plan::Move(Outcome::ToPool));
        };
        let note = request.note.clone();
        Ok(match &request.to {
            Target::Rep(to) => {
                let Some((receiver, counters)) = self.store.rep(to).await? else {
                    return Ok(Plan::Skip(SkipReason::TargetInactive));
                };
                let how = OwnerChangeHow::Transferred;
                match give_to_rep(lead, next, change, &receiver, counters, how, by, note, now) {
                    Ok(()) => Plan::Move(Outcome::ToRep),
                    Err(NotReceiving::AtHoldingCap(_)) => Plan::Skip(SkipReason::TargetAtCap),
                    Err(NotReceiving::Inactive) => Plan::Skip(SkipReason::TargetInactive),
                }
            }
            Target::Pool(pool) => {
                send_to_pool(lead, next, change, pool, OwnerChangeHow::Transferred, by, note, now);
                Plan::Move(Outcome::ToPool)
            }
            Target::Routing => self.route(lead, next, change, note).await?,
        })
    }

    /// Through routing: the pool the rules choose now, the rep its strategy picks among
    /// the eligible members, never the rep the leads leave; if nobody is eligible the
    /// lead waits in that pool. Routed like any assignment: the move counts against the
    /// receiver's and the pool's daily caps and turns the pool's rotation.
    async fn route(
        &self,
        lead: &Lead,
        next: &mut Lead,
        change: &mut LeadChange,
        note: Option<String>,
    ) -> Result<Plan, StoreError> {
        let (by, now) = (self.job.spec.created_by.as_str(), self.now);
        let how = OwnerChangeHow::Transferred;
        let pool_id = choose_pool(lead, &self.routing).to_string();
        let Some(pool) = self.store.pool(&pool_id).await? else {
            let note = note.or_else(|| Some(format!("routing: {}", WaitReason::PoolNotConfigured.text())));
            send_to_pool(lead, next, change, &pool_id, how, by, note, now);
            return Ok(Plan::Move(Outcome::ToPool));
        };
        let members = self.store.reps(&pool.members).await?;
        let loads: BTreeMap<String, RepLoad> = members
            .iter()
            .map(|(rep, counters)| (rep.id.clone(), load_of(*counters, self.day)))
            .collect();
        let reps: BTreeMap<String, Rep> = members.iter().map(|(rep, _)| (rep.id.clone(), rep.clone())).collect();
        let state = self.store.pool_state(&pool.id, self.day).await?;
        let grade = lead.score.as_ref().map(|s| (s.grade, s.level));
        let leaving = [self.rep().to_string()];
        let (decision, next_state) = route_excluding(&pool, &reps, &loads, &state, grade, now, &leaving);
        Ok(match decision {
            Decision::Assign { rep } => {
                let (receiver, counters) = members
                    .iter()
                    .find(|(r, _)| r.id == rep)
                    .expect("routing picks a member");
                next.pool = Some(pool.id.clone());
                match give_to_rep(lead, next, change, receiver, *counters, how, by, note, now) {
                    Ok(()) => {}
                    Err(NotReceiving::AtHoldingCap(_)) => return Ok(Plan::Skip(SkipReason::TargetAtCap)),
                    Err(NotReceiving::Inactive) => return Ok(Plan::Skip(SkipReason::TargetInactive)),
                }
                if let Some(charge) = change.charge.as_mut() {
                    charge.counts_today = true;
                }
                let served_after = next_state.assigned.get(&rep).copied().unwrap_or(1);
                change.pool_take = Some(PoolTake::Assigned {
                    pool: pool.id.clone(),
                    rep,
                    levelled_from: served_after.saturating_sub(1),
                    daily_cap: pool.daily_cap,
                });
                Plan::Move(Outcome::ToRep)
            }
            Decision::Wait { reason } => {
                let note = note.or_else(|| Some(format!("routing: {}", reason.text())));
                send_to_pool(lead, next, change, &pool.id, how, by, note, now);
                Plan::Move(Outcome::ToPool)
            }
        })
    }

    /// The clocks after the move, by the request's SLA policy: restarted for the new
    /// owner (the owner change is their T), or kept as the previous owner's deadlines.
    fn clocks(&self, before: &Lead, next: &mut Lead) {
        let keep = self.request().is_some_and(|r| r.sla == SlaOnMove::Keep);
        if keep && next.owner.is_some() {
            next.owner_since = before.owner_since.or(next.owner_since);
        }
        sla::refresh(next, &self.sla_config, self.now);
    }

    /// The new owner's notice, as a transfer by hand sends it. Best effort: the lead
    /// has moved, and a failed send must not move it again or fail the chunk.
    async fn announce(&self, lead: &Lead) {
        let (Some(_), Some(change_id)) = (&lead.owner, &lead.owner_change_id) else {
            return;
        };
        let message = Message::LeadAssigned {
            lead_id: lead.id.clone(),
            change_id: change_id.clone(),
        };
        if self.bus.publish(&Envelope::new(message, self.now)).await.is_err() {
            self.unsent.fetch_add(1, AtomicOrdering::Relaxed);
        }
    }
}

/// Where a lead goes, decided.
enum Plan {
    Move(Outcome),
    Skip(SkipReason),
    CapReached,
}
