//! The lead and what travels with it: contact, company, profile, source.

use crate::lead::events::EventKind;
use crate::{lead::qualification::Label, lead::qualification::Policy};
use crate::{lead::qualification::Score, lead::qualification::ScoredEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Time-sortable identifier (ULID text), so ids created together sort together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeadId(String);

/// A new ULID stamped `at`: ids made later sort later (leads, owner changes, imports).
pub fn ulid_at(at: DateTime<Utc>) -> String {
    let ms = at.timestamp_millis().max(0) as u64;
    ulid::Ulid::from_parts(ms, rand_u128()).to_string()
}

impl LeadId {
    pub fn generate(at: DateTime<Utc>) -> Self {
        Self(ulid_at(at))
    }
    pub fn parse(s: &str) -> Option<Self> {
        s.parse::<ulid::Ulid>().ok().map(|u| Self(u.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// One of `shards` (at least 1), by the random tail of the ULID: what spreads a
    /// spike's writes over several partitions (lead lists, the outbox, step records).
    pub fn shard(&self, shards: u8) -> u8 {
        self.0.bytes().last().map_or(0, |b| b % shards.max(1))
    }
}

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn rand_u128() -> u128 {
    // ulid's own generator; only the random half is used.
    ulid::Ulid::new().random()
}

/// Lifecycle stage (docs/src/rules/lifecycle.md#stages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Stored by intake, not yet cleaned/deduplicated.
    Received,
    /// Failed cleaning (junk, blacklist, honeypot); kept for review, never routed.
    Invalid,
    /// Raw lead that passed automatic cleaning (AQL).
    Aql,
    Mql,
    Sql,
    Converted,
    Nurture,
    Recycled,
    /// A repeat collected (归集) under an earlier source lead: kept whole, never routed.
    Merged,
}

/// How an owner change happened (docs/src/rules/lifecycle.md#ownership). On the lead it says how the
/// current owner got it: the owner report groups by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerChangeHow {
    /// Preset at creation (an existing customer's owner).
    Created,
    AutoAssigned,
    AdminAssigned,
    Claimed,
    Transferred,
    /// Recycled from a previous owner (SLA breach) to this one or to the pool.
    Recycled,
    /// The owner gave the lead back to its pool.
    ReturnedToPool,
    /// The owner a file named when the lead was imported.
    Imported,
    /// The owner let the lead go to marketing's nurture (a rep's `nurture`, or a
    /// clock's nurture breach): it leaves them without a new owner.
    Nurtured,
    /// A nurtured lead woke (new engagement, a repeat, its re-check came due) and
    /// routing gave it to a rep: by default not the one who let it go.
    Reactivated,
}

impl OwnerChangeHow {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerChangeHow::Created => "created",
            OwnerChangeHow::AutoAssigned => "auto_assigned",
            OwnerChangeHow::AdminAssigned => "admin_assigned",
            OwnerChangeHow::Claimed => "claimed",
            OwnerChangeHow::Transferred => "transferred",
            OwnerChangeHow::Recycled => "recycled",
            OwnerChangeHow::ReturnedToPool => "returned_to_pool",
            OwnerChangeHow::Imported => "imported",
            OwnerChangeHow::Nurtured => "nurtured",
            OwnerChangeHow::Reactivated => "reactivated",
        }
    }
}

/// A follow-up clock as last computed ([`crate::follow_up::sla::refresh`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClock {
    /// Which clock: `first_contact`, `mql_decision`, `sql_outcome`, `untouched`, …
    pub clock: String,
    /// T in "T + N".
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<crate::lead::ClockStatus>,
}

/// BANT qualification fields a rep fills in while following up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<String>,
}

impl Bant {
    pub fn is_empty(&self) -> bool {
        self == &Bant::default()
    }
    /// Fills in what `other` gives; returns whether anything changed.
    pub fn merge(&mut self, other: &Bant) -> bool {
        let before = self.clone();
        for (mine, theirs) in [
            (&mut self.budget, &other.budget),
            (&mut self.authority, &other.authority),
            (&mut self.need, &other.need),
            (&mut self.timeline, &other.timeline),
        ] {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
        *self != before
    }
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Received => "received",
            Stage::Invalid => "invalid",
            Stage::Aql => "aql",
            Stage::Mql => "mql",
            Stage::Sql => "sql",
            Stage::Converted => "converted",
            Stage::Nurture => "nurture",
            Stage::Recycled => "recycled",
            Stage::Merged => "merged",
        }
    }
}

/// Why a lead is in the invalid pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidReason {
    pub code: String,
    pub detail: String,
}

impl InvalidReason {
    pub fn honeypot() -> Self {
        Self {
            code: "honeypot".into(),
            detail: "the hidden `website` field was filled in".into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E.164, e.g. `+8613800138000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The extension written after the number (`010-6552 9988 转 123`): digits only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_ext: Option<String>,
    /// Lower-cased, trimmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    /// As typed.
    pub raw: String,
    /// Normalised core used for matching ("北京纷扬科技有限公司" → "纷扬").
    pub core: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// The keyword.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// Where a lead or touch came from; attribution works down to `utm.term`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    #[serde(default)]
    pub utm: Utm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    pub stage: Stage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_reason: Option<InvalidReason>,
    pub contact: Contact,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<Company>,
    #[serde(default)]
    pub profile: Profile,
    pub source: Source,
    /// Custom form fields the landing page sent that have no slot of their own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
    /// Contact values the visitor typed that could not be used (kept, not lost).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unusable: BTreeMap<String, String>,
    pub consent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic concurrency: every save expects the version it read.
    #[serde(default)]
    pub version: u64,
    /// The rep who owns the lead (assignment sets it; a customer match may preset it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<DedupInfo>,
    /// "One source, N repeats".
    #[serde(default)]
    pub repeat_count: u32,
    /// Engagement history as scored (newest last, bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<ScoredEvent>,
    /// The score as of the last change; readers recompute decay for "now".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<DateTime<Utc>>,
    /// The pool routing put the lead in (it waits there while it has no owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Since when the lead has been waiting in `pool` without an owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquisition: Option<OwnerChangeHow>,
    /// Who held the lead before the current owner (round robin skips them on recycling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_owner: Option<String>,
    /// The owner-change record that gave the current owner the lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_change_id: Option<String>,
    /// When the lead first entered each stage (`stage.as_str()` → time).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stage_at: BTreeMap<String, DateTime<Utc>>,
    /// The follow-up clocks running on the lead, as of its last change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sla: Vec<SlaClock>,
    /// The next instant a reminder or deadline is due (what the sweep's index holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_next_check: Option<DateTime<Utc>>,
    /// Reminders sent and breaches handled, per clock run (`remind:<key>`, `breach:<key>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sla_done: Vec<String>,
    #[serde(default, skip_serializing_if = "Bant::is_empty")]
    pub bant: Bant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bant_updated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_follow_up_at: Option<DateTime<Utc>>,
    /// P(converted) with its reasons, beside the rule score ([`crate::predict::modeling`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<crate::lead::qualification::LeadPrediction>,
    /// Set on leads that came from a file ([`crate::import`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<crate::lead::ImportRef>,
    /// Funnel steps already added to the funnel rows ([`crate::attribution::funnel`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub funnel_counted: Vec<String>,
    /// When the person's data was erased ([`crate::privacy::erasure`]): the lead stays, anonymised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
    /// Reviews of the invalid pool's verdict on this lead, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<InvalidReview>,
    /// While the lead is in nurture: since when, why and who let it go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nurture: Option<Nurture>,
    /// When the lead last woke from nurture; cleared when its next owner takes it, whose
    /// owner change is then `reactivated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reactivated_at: Option<DateTime<Utc>>,
}

/// Why and since when a lead is in marketing's nurture (docs/src/rules/nurture.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nurture {
    pub since: DateTime<Utc>,
    /// A rep's reason code, or `deadline:<clock>` for a clock that sent it.
    pub reason: String,
    /// The rep or manager who sent it; none when a clock did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// What a reviewer made of an invalid verdict (docs/src/rules/qualify.md#invalid-pool-review).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Not junk after all: qualified again as a new capture would be.
    Restored,
    /// Junk indeed.
    Confirmed,
}

/// One review of the invalid pool: who judged which verdict, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidReview {
    pub verdict: Verdict,
    /// The reason code that was reviewed.
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What dedup found for this lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DedupInfo {
    pub label: Label,
    pub policy: Policy,
    /// For a repeat: the source lead it is collected under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_of: Option<LeadId>,
    /// Another lead at the same company (tag only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_peer: Option<LeadId>,
    /// Link to an existing customer (existing-customer match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
}

impl Lead {
    /// Marks a decided change as the next version, changed at `now`. Every change a
    /// store saves goes through here, so version and timestamp always move together
    /// (the store's write condition is the version the change was decided from).
    pub fn revise(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now;
    }

    /// An empty `received` lead: the starting point for every capture path.
    pub fn new(id: LeadId, channel: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self {
            id,
            stage: Stage::Received,
            invalid_reason: None,
            contact: Contact::default(),
            company: None,
            profile: Profile::default(),
            source: Source {
                channel: channel.into(),
                ..Source::default()
            },
            extra: BTreeMap::new(),
            unusable: BTreeMap::new(),
            consent: false,
            submission_id: None,
            created_at: now,
            updated_at: now,
            version: 0,
            owner: None,
            dedup: None,
            repeat_count: 0,
            events: Vec::new(),
            score: None,
            last_activity_at: None,
            pool: None,
            waiting_since: None,
            owner_department: None,
            owner_since: None,
            acquisition: None,
            previous_owner: None,
            owner_change_id: None,
            stage_at: BTreeMap::from([(Stage::Received.as_str().to_string(), now)]),
            sla: Vec::new(),
            sla_next_check: None,
            sla_done: Vec::new(),
            bant: Bant::default(),
            bant_updated_at: None,
            last_follow_up_at: None,
            import: None,
            prediction: None,
            funnel_counted: Vec::new(),
            erased_at: None,
            reviews: Vec::new(),
            nurture: None,
            reactivated_at: None,
        }
    }

    /// The latest review, when it restored the lead: qualification then trusts a person
    /// over its cleaning rules.
    pub fn restored(&self) -> bool {
        self.reviews.last().is_some_and(|r| r.verdict == Verdict::Restored)
    }

    /// Moves to `stage`, remembering when it was first entered.
    pub fn set_stage(&mut self, stage: Stage, at: DateTime<Utc>) {
        self.stage = stage;
        self.stage_at.entry(stage.as_str().to_string()).or_insert(at);
    }

    /// A nurtured lead wakes: back in circulation (`recycled`, no owner) for routing to
    /// take, remembered as `reactivated` so its next owner change says so. The rep who
    /// let it go stays its previous owner, whom routing skips: it goes to someone else,
    /// or waits in its pool, where they may still claim it. The caller revises the lead.
    pub fn reactivate(&mut self, now: DateTime<Utc>) {
        // A lead nurtured before nurture took it from its owner still names them.
        if let Some(owner) = self.owner.take() {
            self.previous_owner = Some(owner);
            self.owner_department = None;
            self.owner_since = None;
            self.acquisition = None;
            self.owner_change_id = None;
        }
        self.nurture = None;
        self.reactivated_at = Some(now);
        self.set_stage(Stage::Recycled, now);
    }

    /// Since when the lead has been nurtured: its `nurture` record, or (a lead nurtured
    /// before that record existed) when it entered the stage.
    pub fn nurtured_since(&self) -> Option<DateTime<Utc>> {
        if self.stage != Stage::Nurture {
            return None;
        }
        self.nurture
            .as_ref()
            .map(|n| n.since)
            .or_else(|| self.stage_at.get(Stage::Nurture.as_str()).copied())
    }

    /// The rep whose holding cap (保有量) this lead counts against: its owner while the
    /// lead is still being worked.
    pub fn held_by(&self) -> Option<&str> {
        match self.stage {
            Stage::Aql | Stage::Mql | Stage::Sql | Stage::Recycled => self.owner.as_deref(),
            _ => None,
        }
    }

    /// Waiting in a pool for an owner (listed by the pool, claimable).
    pub fn waiting_in_pool(&self) -> Option<&str> {
        match (self.owner.is_none(), self.held_stage()) {
            (true, true) => self.pool.as_deref(),
            _ => None,
        }
    }

    fn held_stage(&self) -> bool {
        matches!(self.stage, Stage::Aql | Stage::Mql | Stage::Sql | Stage::Recycled)
    }
}

/// One interaction of a person with marketing; the raw material of attribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Touchpoint {
    /// `None` for an anonymous touch, held under `anon_key` until the person identifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<LeadId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anon_key: Option<String>,
    /// The event's id: the client's `event_id` or a generated one; touches are idempotent on it.
    pub id: String,
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStatus {
    Running,
    Satisfied,
    Breached,
}

/// Marks a lead as coming from an import: where to tally its outcome, and the owner the
/// file gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRef {
    pub id: String,
    pub line: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}
