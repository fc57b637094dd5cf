//! Single-table key layout. One place, so the adapter, the docs and the tests agree.
//!
//! | item            | pk                 | sk                      | gsi1pk          | gsi1sk            |
//! |-----------------|--------------------|-------------------------|-----------------|-------------------|
//! | lead            | `LEAD#<id>`        | `LEAD`                  | `OUTBOX#<0..3>` while `received` | `<created_at>#<id>` |
//! | touchpoint      | `LEAD#<id>`        | `TP#<touch id>`         |                 |                   |
//! | submission id   | `SUB#<submission>` | `SUB`                   |                 |                   |
//! | repeat link     | `LEAD#<source>`    | `REPEAT#<repeat id>`    |                 |                   |
//! | dedup key       | `KEY#<kind>#<value>` | `KEY`                 |                 |                   |
//! | company block   | `CBLOCK#<block>`   | `<company core>`        |                 |                   |
//! | customer        | `CUST#<id>`        | `CUST`                  |                 |                   |
//! | customer key    | `CKEY#<kind>#<value>` | `CKEY`               |                 |                   |
//! | customer block  | `CUSTBLOCK#<block>` | `<company core>`       |                 |                   |
//! | hand-off        | `HANDOFF#<lead id>` | `HANDOFF`              |                 |                   |
//! | anonymous touch | `ANON#<key>`       | `TP#<touch id>`         |                 |                   |
//! | rules           | `CONFIG#rules`     | `CURRENT`, `V#<000001>` |                 |                   |
//! | routing rules   | `CONFIG#routing`   | `CURRENT`, `V#<000001>` |                 |                   |
//! | rep (profile; counters before 2026-12-07) | `REPS` | `<rep id>`      |                 |                   |
//! | rep counters    | `REPC#<rep id>`    | `COUNTERS`              |                 |                   |
//! | pool            | `POOLS`            | `<pool id>`             |                 |                   |
//! | pool counters   | `POOLSTATE#<pool>` | `STATE`                 |                 |                   |
//! | owner change    | `LEAD#<id>`        | `OWNER#<change id>`     | `OWNERS#<month>#<0..3>` | `<at>#<change id>[#<day>#<handed_out\|recycled>#<pool>]` |
//! | follow-up       | `LEAD#<id>`        | `FU#<follow-up id>`     |                 |                   |
//! | notice sent     | `NOTICE#<key>`     | `NOTICE`                |                 |                   |
//! | lead waiting    | (the lead item)    |                         | `POOL#<pool>` while unowned in a pool | `<waiting since>#<id>` |
//! | lead with a clock | (the lead item)  |                         | gsi2: `DUE#<day>#<0..3>` of its next SLA check | `<next check>#<id>` |
//! | SLA policies    | `CONFIG#sla`       | `CURRENT`, `V#<000001>` |                 |                   |
//! | sweep cursor    | `SWEEP#sla`        | `CURSOR`                |                 |                   |
//! | violation       | `VIOL#<due month>` | `<due at>#<violation id>` |               |                   |
//! | pool numbers, before 2026-12-07 (read, no longer written) | `STATS#<month>[#<0..3>]` | `<day>#<pool>` |  |                   |
//! | scored lead     | (the lead item)    |                         | gsi3: `COHORT#<created month>#<0..3>` | `<id>` |
//! | lead, listed    | (the lead item)    |                         | gsi4–gsi6: `gsi4pk` = its place | gsi4: `<created_at>#<id>`, gsi5: `<next deadline>#<id>`, gsi6: `<score>#…#<id>` |
//! | lead, by month  | (the lead item)    |                         | gsi7: `MADE#<created month>#<0..3>` | `<created_at>#<id>` |
//! | model version   | `CONFIG#models`    | `V#<000001>` (JSON)     |                 |                   |
//! | models in service | `CONFIG#models`  | `CURRENT` (revision)    |                 |                   |
//! | rate counter    | `RATE#<scope>#<subject>#<window>[#<share>]` | `RATE` (TTL) |     |                   |
//! | push source     | `CONFIG#hooks`     | `<source>`              |                 |                   |
//! | push source version | `CONFIG#hooks#<source>` | `V#<000001>` (no secrets) |    |                   |
//! | saved mapping   | `CONFIG#import-mappings` | `<name>`          |                 |                   |
//! | mapping version | `CONFIG#import-mappings#<name>` | `V#<000001>` |               |                   |
//! | models-in-service version | `CONFIG#models#in-service` | `V#<000001>` |            |                   |
//! | roster job      | `JOB#<id>`         | `JOB`                   |                 |                   |
//! | a lead's outcome in a job | `JOB#<id>` | `LEAD#<lead id>`     |                 |                   |
//!
//! Every versioned configuration document ([`config_items`]) is kept twice: the version
//! in use, and each version in its history partition under `V#<000001>` with who saved
//! it (`saved_by`), when (`saved_at`) and, for a rollback, what it restored
//! (`restored_from`). Rules, routing, SLA and attribution keep both in one partition
//! (`CURRENT` sorts before `V#`); the models' partition already numbers trained model
//! versions `V#…`, so the in-service choice keeps its history apart, and so do named
//! documents (one partition per source or mapping, listed newest first by one query).
//!
//! The outbox index is sparse (only `received` leads carry its keys) and sharded so a
//! campaign spike does not pile every write onto one index partition. The same index
//! lists the leads waiting in each pool (a lead is never in both). Reps and pools each
//! live in one partition: a team's worth of items, listed with one query. The second
//! index (`gsi2`) holds each lead's next SLA check in a day bucket, so the sweep reads
//! only what is due. The third (`gsi3`) lists scored leads by creation month, which
//! model training and the champion/challenger report read month by month.
//!
//! The list indexes (`gsi4`–`gsi7`, keys only) serve `GET /v1/leads`. A lead held,
//! waiting or invalid has a *place* (`gsi4pk`): `OWNER#<rep>`, `WAIT#<pool>` (waiting
//! unowned in a pool) or `INVALID#<month>#<shard>`; `gsi4` orders each place by
//! creation, and a rep's or pool's also by next deadline (`gsi5`, leads with a running
//! clock) and by score (`gsi6`, scored leads). `gsi7` lists every lead by creation
//! month, four shards a month. Other unowned leads have no place (items written before
//! 2026-12-06 may still carry `UNOWNED#…`; no list reads it).
//! Positions are the domain's (`domain::workspace::index::position`), so pages from
//! several partitions merge by comparing them.

use domain::assign::ports::PoolStat;
use domain::lead::versioned::{ConfigId, ConfigKind};
use domain::LeadId;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
/// DynamoDB TTL attribute (epoch seconds) for records that expire.
pub const TTL: &str = "expires_at";
/// A single conditional write's own id, to recognise it when its retry is refused
/// (`DynamoStore::put_once`, a roster job's progress). Later writes may replace or keep
/// it; it means nothing else.
pub const WRITE_ID: &str = "write_id";
/// A lead item's body: the whole lead, compressed (`crate::item::lead_item`). Beside it
/// only what DynamoDB itself reads: keys, index keys, and the attributes conditions and
/// operators use (`stage`, `version`).
pub const LEAD_BODY: &str = "body";
pub const OUTBOX_SHARDS: u8 = 4;

pub fn lead_pk(id: &LeadId) -> String {
    format!("LEAD#{id}")
}
/// The lead a key names: how index entries name their lead (every index projects the
/// table's keys, so the lead item stores no copy of its id).
pub fn lead_in_pk(pk: &str) -> Option<LeadId> {
    pk.strip_prefix("LEAD#").and_then(LeadId::parse)
}
pub const LEAD_SK: &str = "LEAD";
pub const TOUCH_SK_PREFIX: &str = "TP#";

pub fn submission_pk(submission_id: &str) -> String {
    format!("SUB#{submission_id}")
}
pub const SUBMISSION_SK: &str = "SUB";

pub fn outbox_pk(shard: u8) -> String {
    format!("OUTBOX#{shard}")
}

pub const REPEAT_SK_PREFIX: &str = "REPEAT#";
pub const KEY_SK: &str = "KEY";
pub fn key_pk(storage_key: &str) -> String {
    format!("KEY#{storage_key}")
}
pub fn block_pk(block: &str) -> String {
    format!("CBLOCK#{block}")
}
pub fn customer_pk(id: &str) -> String {
    format!("CUST#{id}")
}
pub const CUSTOMER_SK: &str = "CUST";
pub fn customer_key_pk(kind: &str, value: &str) -> String {
    format!("CKEY#{kind}#{value}")
}
pub const CUSTOMER_KEY_SK: &str = "CKEY";
pub fn customer_block_pk(block: &str) -> String {
    format!("CUSTBLOCK#{block}")
}
pub fn anon_pk(anon_key: &str) -> String {
    format!("ANON#{anon_key}")
}
pub fn touch_sk(touch_id: &str) -> String {
    format!("{TOUCH_SK_PREFIX}{touch_id}")
}
pub const RULES_PK: &str = "CONFIG#rules";
pub const RULES_CURRENT_SK: &str = "CURRENT";
pub fn rules_version_sk(version: u64) -> String {
    format!("{VERSION_SK_PREFIX}{version:06}")
}
/// The attribute of records kept whole as JSON (`crate::item::doc_item`): config and
/// job records.
pub const DOC: &str = "doc";
/// Versions in a configuration document's history partition: `V#000001`.
pub const VERSION_SK_PREFIX: &str = "V#";
pub const HOOKS_PK: &str = "CONFIG#hooks";
pub const MAPPINGS_PK: &str = "CONFIG#import-mappings";

/// Where a versioned configuration document and its versions are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigItems {
    /// The item of the version in use.
    pub pk: String,
    pub sk: String,
    /// The attribute holding the document's JSON (in use and in each version).
    pub attribute: &'static str,
    /// The number attribute of the version in use: the condition of the next save.
    pub version_attribute: &'static str,
    /// The partition of its versions (`V#<000001>`).
    pub history_pk: String,
}

pub fn config_items(config: &ConfigId) -> ConfigItems {
    let name = config.name.as_deref().unwrap_or_default();
    let once = |pk: &str, attribute| ConfigItems {
        pk: pk.to_string(),
        sk: RULES_CURRENT_SK.to_string(),
        attribute,
        version_attribute: "version",
        history_pk: pk.to_string(),
    };
    let named = |pk: &str| ConfigItems {
        pk: pk.to_string(),
        sk: name.to_string(),
        attribute: DOC,
        version_attribute: "version",
        history_pk: format!("{pk}#{name}"),
    };
    match config.kind {
        ConfigKind::Rules => once(RULES_PK, "rules"),
        ConfigKind::Routing => once(ROUTING_PK, "routing"),
        ConfigKind::Sla => once(SLA_PK, "sla"),
        ConfigKind::Attribution => once(ATTRIBUTION_PK, "config"),
        ConfigKind::Hooks => named(HOOKS_PK),
        ConfigKind::ImportMappings => named(MAPPINGS_PK),
        ConfigKind::Webhooks => once(WEBHOOKS_PK, WEBHOOKS_ATTRIBUTE),
        ConfigKind::Models => ConfigItems {
            pk: MODELS_PK.to_string(),
            sk: MODELS_IN_SERVICE_SK.to_string(),
            attribute: DOC,
            version_attribute: "revision",
            history_pk: format!("{MODELS_PK}#in-service"),
        },
    }
}
pub const ROUTING_PK: &str = "CONFIG#routing";
pub const WEBHOOKS_PK: &str = "CONFIG#webhooks";
pub const WEBHOOKS_ATTRIBUTE: &str = "webhooks";
pub fn handoff_pk(lead: &LeadId) -> String {
    format!("HANDOFF#{lead}")
}
pub const HANDOFF_SK: &str = "HANDOFF";
/// Every rep's profile, one partition for them all (listed whole by the team views).
pub const REPS_PK: &str = "REPS";
/// A rep's counters (`active_leads`, `received#<day>`), in a partition of the rep's own:
/// every assignment updates them, and in `REPS`, where they were kept until 2026-12-07
/// (and where those counts still are, read as a base), 1,000 assignments a second would
/// take 2,000 write units of the partition's 1,000.
pub fn rep_counters_pk(rep: &str) -> String {
    format!("REPC#{rep}")
}
pub const REP_COUNTERS_SK: &str = "COUNTERS";
pub const POOLS_PK: &str = "POOLS";
pub fn pool_state_pk(pool: &str) -> String {
    format!("POOLSTATE#{pool}")
}
pub const POOL_STATE_SK: &str = "STATE";
pub fn pool_waiting_pk(pool: &str) -> String {
    format!("POOL#{pool}")
}
pub const OWNER_CHANGE_SK_PREFIX: &str = "OWNER#";
pub fn owner_change_sk(id: &str) -> String {
    format!("{OWNER_CHANGE_SK_PREFIX}{id}")
}
pub const FOLLOW_UP_SK_PREFIX: &str = "FU#";
pub fn follow_up_sk(id: &str) -> String {
    format!("{FOLLOW_UP_SK_PREFIX}{id}")
}
pub fn notice_pk(key: &str) -> String {
    format!("NOTICE#{key}")
}
pub const NOTICE_SK: &str = "NOTICE";
pub const SLA_PK: &str = "CONFIG#sla";
pub const GSI2: &str = "gsi2";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";
/// A (UTC) day of the due index: `DUE#2026-04-07`. The sweep's cursor names the day it
/// stands at this way; before shards, it was the day's one partition, which the sweep
/// still reads (an entry there moves to a shard when its lead is next saved).
pub fn due_bucket(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("DUE#{}", at.format("%Y-%m-%d"))
}
pub const DUE_SHARDS: u8 = 4;
/// The due index's partition for a lead's next check: its (UTC) day and a shard by the
/// lead's id, `DUE#2026-04-07#2`, so a campaign spike's first-contact clocks are spread
/// over four index partitions instead of one a day.
pub fn due_partition(at: chrono::DateTime<chrono::Utc>, id: &LeadId) -> String {
    due_shard(at, id.shard(DUE_SHARDS))
}
pub fn due_shard(at: chrono::DateTime<chrono::Utc>, shard: u8) -> String {
    shard_of(&due_bucket(at), shard)
}
pub const GSI3: &str = "gsi3";
pub const GSI3_PK: &str = "gsi3pk";
pub const GSI3_SK: &str = "gsi3sk";
pub const COHORT_SHARDS: u8 = 4;
/// The scored-leads index's partition: creation month and a shard by the ULID's tail,
/// so a campaign spike does not pile onto one index partition: `COHORT#2026-04#2`.
pub fn cohort_pk(created: chrono::DateTime<chrono::Utc>, id: &LeadId) -> String {
    cohort_partition(created, id.shard(COHORT_SHARDS))
}
pub fn cohort_partition(month: chrono::DateTime<chrono::Utc>, shard: u8) -> String {
    shard_of(&format!("COHORT#{}", month.format("%Y-%m")), shard)
}
pub const MODELS_PK: &str = "CONFIG#models";
pub const MODELS_IN_SERVICE_SK: &str = "CURRENT";
pub const MODEL_SK_PREFIX: &str = "V#";
pub fn model_sk(version: u32) -> String {
    format!("{MODEL_SK_PREFIX}{version:06}")
}
pub const SWEEP_CURSOR_PK: &str = "SWEEP#sla";
pub const SWEEP_CURSOR_SK: &str = "CURSOR";
/// Violations by the month their deadline fell in.
pub fn violation_pk(due: chrono::DateTime<chrono::Utc>) -> String {
    format!("VIOL#{}", due.format("%Y-%m"))
}
/// Per-pool daily numbers (leads handed out, leads recycled) were counters until
/// 2026-12-07: over this many partitions a month by lead, each holding its share of a
/// pool's day (`STATS#2026-04#2` / `2026-04-07#beijing`), and before that in
/// `STATS#<month>` alone. Nothing writes them now (each change is counted where it is
/// listed: [`owner_listing_sk`]); the report still adds them in.
pub const STATS_SHARDS: u8 = 4;
fn stats_of(day: chrono::NaiveDate) -> String {
    format!("STATS#{}", month_of(day))
}
/// Every partition of a month's pool counters: the shares, and the one partition they
/// were counted in before the shares (2026-12-07).
pub fn stats_partitions(day: chrono::NaiveDate) -> Vec<String> {
    unsharded_and_shards(stats_of(day), STATS_SHARDS)
}
/// The pool counters' attribute names, and the word an owner change's listing counts in.
pub const HANDED_OUT: &str = "handed_out";
pub const RECYCLED: &str = "recycled";

// ------------------------------------------------------------- attribution and reports

pub const ATTRIBUTION_PK: &str = "CONFIG#attribution";
pub fn conversion_pk(external_id: &str) -> String {
    format!("CONV#{external_id}")
}
pub const CONVERSION_HEAD_SK: &str = "HEAD";
pub fn revision_sk(revision: u64) -> String {
    format!("REV#{revision:06}")
}
/// The conversions of a lead, listed under it (W-shaped needs its opportunity).
pub const LEAD_CONVERSION_SK_PREFIX: &str = "CONV#";
pub fn lead_conversion_sk(external_id: &str) -> String {
    format!("{LEAD_CONVERSION_SK_PREFIX}{external_id}")
}
/// gsi1: conversions by the report day of their current revision (reconciliation).
pub fn conversion_day_pk(day: chrono::NaiveDate) -> String {
    format!("CONVDAY#{day}")
}
pub fn rollup_pk(series: &str, day: chrono::NaiveDate) -> String {
    format!("ROLLUP#{series}#{}", month_of(day))
}
/// Month rows of a series, a year to a partition (sort key `<yyyy-mm>#<source>`).
pub fn rollup_month_pk(series: &str, day: chrono::NaiveDate) -> String {
    format!("ROLLUPM#{series}#{}", day.format("%Y"))
}
/// The fold marks of the step partitions (`domain::attribution::fold`), one item each,
/// and [`FOLD_SINCE_SK`].
pub const FOLD_PK: &str = "FOLD";
/// The first day the fold added up (`since`): the day month rows began to be kept (for
/// the funnel's steps, conversion credits and costs alike). Month rows hold everything of
/// the months after that day's month, and only some of that month's and earlier ones
/// (written before month rows existed, into day rows only).
pub const FOLD_SINCE_SK: &str = "SINCE";
/// Step records of a day are spread over this many partitions by lead: at 1,000 leads a
/// second they take about 2,000 write units a second, and one partition takes 1,000. Each
/// partition of a delivered batch costs the fold a write of its own, so no more than
/// needed.
pub const STEP_SHARDS: u8 = 4;
fn funnel_steps_of(day: chrono::NaiveDate) -> String {
    format!("FSTEP#{day}")
}
pub fn funnel_step_pk(day: chrono::NaiveDate, lead: &LeadId) -> String {
    shard_of(&funnel_steps_of(day), lead.shard(STEP_SHARDS))
}
/// The one partition a day's step records were written to before they were sharded.
pub fn funnel_step_unsharded_pk(day: chrono::NaiveDate) -> String {
    funnel_steps_of(day)
}
/// Every partition of a day's step records: the shards, and the one partition steps
/// were written to before they were sharded.
pub fn funnel_step_partitions(day: chrono::NaiveDate) -> Vec<String> {
    unsharded_and_shards(funnel_steps_of(day), STEP_SHARDS)
}
pub const CAMPAIGNS_PK: &str = "CAMPAIGNS";
pub fn cost_pk(day: chrono::NaiveDate) -> String {
    format!("COST#{}", month_of(day))
}
/// A campaign's costs by month, a year to a partition (sort key
/// `<yyyy-mm>#<campaign>#<keyword>`), kept beside the cost days.
pub fn cost_month_pk(day: chrono::NaiveDate) -> String {
    format!("COSTM#{}", day.format("%Y"))
}
/// Owner changes of a month are listed over this many gsi1 partitions by lead: at 1,000
/// assignments a second one partition would take every one of its 1,000 write units.
pub const OWNERS_SHARDS: u8 = 4;
fn owners_of(day: chrono::NaiveDate) -> String {
    format!("OWNERS#{}", month_of(day))
}
/// gsi1: an owner change listed under the month it happened in (the owners report).
pub fn owners_pk(day: chrono::NaiveDate, lead: &LeadId) -> String {
    shard_of(&owners_of(day), lead.shard(OWNERS_SHARDS))
}
/// Every gsi1 partition of a month's owner changes: the shards, and the one partition
/// they were listed in before they were sharded (2026-12-06).
pub fn owners_partitions(day: chrono::NaiveDate) -> Vec<String> {
    unsharded_and_shards(owners_of(day), OWNERS_SHARDS)
}
/// gsi1 sort key of an owner change: `<at>#<change id>`, where `at` is the change's
/// timestamp. A change that counts in its pool's numbers for a day says so after it:
/// `#<day>#handed_out#<pool>` or `#<day>#recycled#<pool>`. The recycle-rate report adds
/// the numbers up from the index alone, so no counter is written beside the change
/// (a transactional update of 2 write units an assignment until 2026-12-07).
pub fn owner_listing_sk(at: &str, change: &str, counts: Option<&PoolStat>) -> String {
    match counts {
        None => format!("{at}#{change}"),
        Some(stat) => {
            let tally = if stat.recycled { RECYCLED } else { HANDED_OUT };
            format!("{at}#{change}#{}#{tally}#{}", stat.day, stat.pool)
        }
    }
}
/// What an owner change's listing counts: its day, whether it is a recycle (else a lead
/// handed out) and the pool. `None` for a change that counts nothing, or one listed
/// before its listing counted (its count is a `STATS#…` counter).
pub fn counted_in_listing(sk: &str) -> Option<(chrono::NaiveDate, bool, &str)> {
    // The pool is the rest of the key, whatever it holds.
    let mut parts = sk.splitn(5, '#');
    let (_at, _change) = (parts.next()?, parts.next()?);
    let day = parts.next()?.parse().ok()?;
    let recycled = match parts.next()? {
        RECYCLED => true,
        HANDED_OUT => false,
        _ => return None,
    };
    Some((day, recycled, parts.next()?))
}

/// One shard of a partition spread by lead: `<base>#<shard>`.
fn shard_of(base: &str, shard: u8) -> String {
    format!("{base}#{shard}")
}
/// Every partition of a family spread over `shards`: the unsharded `<base>` first (where
/// entries written before the shards stay), then each shard.
fn unsharded_and_shards(base: String, shards: u8) -> Vec<String> {
    let each: Vec<String> = (0..shards).map(|shard| shard_of(&base, shard)).collect();
    std::iter::once(base).chain(each).collect()
}

/// Days are grouped into months for partitions; a report over a year reads 12 of them.
pub(crate) fn month_of(day: chrono::NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

/// A roster job (`domain::roster`), and each lead's outcome under it.
pub fn job_pk(id: &str) -> String {
    format!("JOB#{id}")
}
pub const JOB_SK: &str = "JOB";
pub fn job_lead_sk(lead: &LeadId) -> String {
    format!("LEAD#{lead}")
}

/// The list indexes (docs/src/developers/lead-lists.md).
pub const GSI4: &str = "gsi4";
pub const GSI5: &str = "gsi5";
pub const GSI6: &str = "gsi6";
pub const GSI7: &str = "gsi7";
/// The place: partition key of gsi4, gsi5 and gsi6.
pub const PLACE: &str = "gsi4pk";
/// Position by creation: sort key of gsi4 and gsi7.
pub const BY_CREATED: &str = "gsi4sk";
pub const BY_DUE: &str = "gsi5sk";
pub const BY_SCORE: &str = "gsi6sk";
/// The month bucket: partition key of gsi7.
pub const MADE: &str = "gsi7pk";

/// A list partition's key.
pub fn list_partition(partition: &domain::workspace::index::Partition) -> String {
    use domain::workspace::index::Partition;
    match partition {
        Partition::Owner(rep) => format!("OWNER#{rep}"),
        Partition::Pool(pool) => format!("WAIT#{pool}"),
        Partition::Invalid(b) => format!("INVALID#{}#{}", b.month.label(), b.shard),
        Partition::Timeline(b) => format!("MADE#{}#{}", b.month.label(), b.shard),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(pool: &str, recycled: bool) -> PoolStat {
        PoolStat {
            pool: pool.into(),
            day: "2026-04-07".parse().unwrap(),
            recycled,
        }
    }

    #[test]
    fn an_owner_change_listing_reads_back_what_it_counts() {
        let at = "2026-04-07T01:02:03.456Z";
        for (counts, pool, tally) in [
            (stat("beijing", false), "beijing", "handed_out"),
            (stat("华北", true), "华北", "recycled"),
        ] {
            let sk = owner_listing_sk(at, "01JCHANGE", Some(&counts));
            assert_eq!(
                sk,
                format!("{at}#01JCHANGE#2026-04-07#{tally}#{pool}"),
                "sorts by time as before"
            );
            assert_eq!(
                counted_in_listing(&sk),
                Some((counts.day, counts.recycled, pool)),
                "{sk}"
            );
        }
    }

    #[test]
    fn a_listing_that_counts_nothing_reads_as_nothing() {
        let plain = owner_listing_sk("2026-04-07T01:02:03.456Z", "01JCHANGE", None);
        assert_eq!(
            plain, "2026-04-07T01:02:03.456Z#01JCHANGE",
            "the format listings had before"
        );
        assert_eq!(counted_in_listing(&plain), None);
        assert_eq!(
            counted_in_listing("2026-04-07T01:02:03.456Z#01J#2026-04-07#moved#p"),
            None
        );
        assert_eq!(
            counted_in_listing("2026-04-07T01:02:03.456Z#01J#someday#recycled#p"),
            None
        );
    }
}
