//! Funnel rollups folded from the step records lead writes leave behind, exactly once.
//!
//! A lead write stores its funnel steps as raw records and nothing else; the table's
//! stream delivers the new records in order, and [`fold_partition`] adds a batch of them
//! up into one write per rollup row, for the day and for the month. Counting in the
//! lead's own transaction cost two writes per lead per row; folding costs one per row per
//! batch, and the month rows (what a report over a year reads) come at no cost per lead.
//!
//! Exactly once: each partition of step records (one report day) has a mark, the
//! sequence number of the last record folded. Rows and mark move in one atomic write
//! that holds only if the mark is still where it was read, so a record delivered twice,
//! late or concurrently is skipped, and a fold cut short leaves the mark before every
//! record it did not add. Records of one partition key reach the stream in the order
//! they were written, with rising sequence numbers, which is all the mark relies on.

pub use crate::attribution::rollup::month_start;
use crate::attribution::rollup::{merge, RollupRow};
use crate::lead::funnel::{FunnelStep, SourceKey};
use crate::lead::ports::StoreError;
use chrono::NaiveDate;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::future::Future;

/// A stream record's sequence number: digits compared by value. DynamoDB's have 21 to 40
/// digits, more than an integer type holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sequence(String);

impl Sequence {
    /// `None` unless `text` is digits.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = text.trim_start_matches('0');
        Some(Self(if digits.is_empty() { "0" } else { digits }.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Ord for Sequence {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.0.len(), &self.0).cmp(&(other.0.len(), &other.0))
    }
}

impl PartialOrd for Sequence {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A step record as the stream delivers it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStep {
    pub sequence: Sequence,
    /// The step, or why the record could not be read (it is passed over, never retried:
    /// it would fail the same way every time).
    pub step: Result<FunnelStep, String>,
}

/// How long a rollup row adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grain {
    Day,
    /// Dated the month's first day.
    Month,
}

/// Where a partition's fold stands, and where one write moves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark<'a> {
    pub partition: &'a str,
    /// The mark as read (`None`: nothing folded yet).
    pub from: Option<&'a Sequence>,
    pub to: &'a Sequence,
}

/// The rows and marks of folded records.
pub trait FoldStore: Send + Sync {
    /// The last record folded from `partition`, read strongly.
    fn folded_through(&self, partition: &str) -> impl Future<Output = Result<Option<Sequence>, StoreError>> + Send;
    /// Adds `rows` and moves the mark from `mark.from` to `mark.to`, all or nothing.
    /// `Ok(false)`: the mark was not at `mark.from` (another delivery folded first), and
    /// nothing was written.
    fn fold(
        &self,
        mark: Mark<'_>,
        rows: &[(Grain, RollupRow)],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Rows one write may add: a DynamoDB transaction holds 100 items, one is the mark.
pub const ROWS_PER_WRITE: usize = 99;

/// What one partition's fold did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folded {
    /// Records added to the rows by this fold.
    pub folded: usize,
    /// Records folded before (a duplicate or late delivery).
    pub skipped: usize,
    /// Records passed over as unreadable.
    pub unreadable: usize,
    /// Atomic writes made.
    pub writes: usize,
}

/// A fold that stopped: records from `from` on were not added (the mark is before them).
#[derive(Debug)]
pub struct Unfolded {
    pub from: Sequence,
    pub error: StoreError,
    pub done: Folded,
}

/// The rows a record adds to: its day's and its month's.
fn rows_of(step: &FunnelStep) -> [(Grain, RollupRow); 2] {
    let day = step.row();
    let month = day.in_month();
    [(Grain::Day, day), (Grain::Month, month)]
}

fn identity(grain: Grain, row: &RollupRow) -> (Grain, String, NaiveDate, SourceKey) {
    (grain, row.series.clone(), row.day, row.source.clone())
}

/// Consecutive runs of `records`, each adding to at most [`ROWS_PER_WRITE`] rows.
fn writes<'a>(records: &[&'a StreamStep]) -> Vec<Vec<&'a StreamStep>> {
    let mut runs: Vec<Vec<&StreamStep>> = Vec::new();
    let mut rows = BTreeSet::new();
    for record in records {
        let adds: Vec<_> = match &record.step {
            Ok(step) => rows_of(step).iter().map(|(g, r)| identity(*g, r)).collect(),
            Err(_) => Vec::new(),
        };
        let new = adds.iter().filter(|a| !rows.contains(*a)).count();
        if runs.is_empty() || rows.len() + new > ROWS_PER_WRITE {
            runs.push(Vec::new());
            rows.clear();
        }
        rows.extend(adds);
        runs.last_mut().expect("pushed above").push(record);
    }
    runs
}

/// The rows a run of records adds up to, by grain.
pub fn fold_rows<'a>(records: impl IntoIterator<Item = &'a StreamStep>) -> Vec<(Grain, RollupRow)> {
    let (mut days, mut months) = (Vec::new(), Vec::new());
    for record in records {
        if let Ok(step) = &record.step {
            let [(_, day), (_, month)] = rows_of(step);
            days.push(day);
            months.push(month);
        }
    }
    let days = merge(days).into_iter().map(|r| (Grain::Day, r));
    days.chain(merge(months).into_iter().map(|r| (Grain::Month, r)))
        .collect()
}

/// Folds `records` of one partition (in stream order) into the rows, skipping those
/// folded before. Safe to run again with any of the same records, and alongside another
/// fold of the same partition.
pub async fn fold_partition<S: FoldStore>(
    store: &S,
    partition: &str,
    records: &[StreamStep],
) -> Result<Folded, Unfolded> {
    let mut done = Folded::default();
    // Where this fold has moved the mark to: the records after it are not known folded.
    let mut reached: Option<Sequence> = None;
    let after = |reached: &Option<Sequence>| {
        records
            .iter()
            .find(|r| reached.as_ref().is_none_or(|m| r.sequence > *m))
            .map(|r| r.sequence.clone())
    };
    loop {
        let through = match store.folded_through(partition).await {
            Ok(through) => through,
            Err(error) => match after(&reached) {
                Some(from) => return Err(Unfolded { from, error, done }),
                None => return Ok(done),
            },
        };
        let pending: Vec<&StreamStep> = records
            .iter()
            .filter(|r| through.as_ref().is_none_or(|t| r.sequence > *t))
            .collect();
        done.skipped = records.len() - pending.len() - done.folded;
        let mut mark = through;
        let mut overtaken = false;
        for run in writes(&pending) {
            let last = &run.last().expect("runs are not empty").sequence;
            let rows = fold_rows(run.iter().copied());
            let moved = Mark {
                partition,
                from: mark.as_ref(),
                to: last,
            };
            match store.fold(moved, &rows).await {
                Ok(true) => {
                    done.writes += 1;
                    done.folded += run.len();
                    done.unreadable += run.iter().filter(|r| r.step.is_err()).count();
                    mark = Some(last.clone());
                    reached = mark.clone();
                }
                Ok(false) => {
                    overtaken = true;
                    break;
                }
                Err(error) => {
                    let from = run[0].sequence.clone();
                    return Err(Unfolded { from, error, done });
                }
            }
        }
        if !overtaken {
            return Ok(done);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::funnel::FUNNEL;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// Rows and marks in memory, with a write that can be made to fail.
    #[derive(Default)]
    struct Rows {
        marks: Mutex<BTreeMap<String, Sequence>>,
        rows: Mutex<Vec<(Grain, RollupRow)>>,
        fail_write: Mutex<Option<usize>>,
        writes: Mutex<usize>,
        /// The next read of a mark answers "nothing folded yet".
        stale_read: Mutex<bool>,
    }

    impl FoldStore for Rows {
        async fn folded_through(&self, partition: &str) -> Result<Option<Sequence>, StoreError> {
            if std::mem::take(&mut *self.stale_read.lock().unwrap()) {
                return Ok(None);
            }
            Ok(self.marks.lock().unwrap().get(partition).cloned())
        }
        async fn fold(&self, mark: Mark<'_>, rows: &[(Grain, RollupRow)]) -> Result<bool, StoreError> {
            let mut writes = self.writes.lock().unwrap();
            *writes += 1;
            if *self.fail_write.lock().unwrap() == Some(*writes) {
                return Err(StoreError::Unavailable("cut".into()));
            }
            let mut marks = self.marks.lock().unwrap();
            if marks.get(mark.partition) != mark.from {
                return Ok(false);
            }
            marks.insert(mark.partition.to_string(), mark.to.clone());
            self.rows.lock().unwrap().extend(rows.iter().cloned());
            Ok(true)
        }
    }

    impl Rows {
        fn total(&self, grain: Grain) -> BTreeMap<String, i64> {
            let rows: Vec<RollupRow> = self
                .rows
                .lock()
                .unwrap()
                .iter()
                .filter(|(g, _)| *g == grain)
                .map(|(_, r)| r.clone())
                .collect();
            let mut total = BTreeMap::new();
            for row in merge(rows) {
                for (field, value) in row.fields {
                    *total.entry(format!("{}:{field}", row.source.campaign)).or_default() += value;
                }
            }
            total
        }
    }

    fn record(seq: u64, campaign: &str, field: &str) -> StreamStep {
        StreamStep {
            sequence: Sequence::parse(&format!("{}", 100_000_000_000_000_000_000_u128 + u128::from(seq))).unwrap(),
            step: Ok(FunnelStep {
                lead_id: crate::LeadId::generate("2026-03-25T02:00:00Z".parse().unwrap()),
                step: field.to_string(),
                day: "2026-03-25".parse().unwrap(),
                source: SourceKey {
                    channel: "baidu".into(),
                    campaign: campaign.into(),
                    keyword: String::new(),
                },
                fields: BTreeMap::from([(field.to_string(), 1)]),
            }),
        }
    }

    #[test]
    fn sequence_numbers_compare_by_value_past_any_integer_type() {
        let short = Sequence::parse("999999999999999999999").unwrap();
        let long = Sequence::parse("1000000000000000000000000000000000000000").unwrap();
        assert!(short < long);
        assert_eq!(Sequence::parse("00012"), Sequence::parse("12"));
        assert_eq!(Sequence::parse("12a"), None);
        assert_eq!(Sequence::parse(""), None);
    }

    #[tokio::test]
    async fn a_batch_adds_up_to_one_row_per_source_and_grain_and_again_adds_nothing() {
        let store = Rows::default();
        let batch = vec![
            record(1, "a", "leads"),
            record(2, "a", "leads"),
            record(3, "b", "leads"),
            record(4, "a", "mql"),
        ];
        let done = fold_partition(&store, "FSTEP#2026-03-25", &batch).await.unwrap();
        assert_eq!((done.folded, done.writes), (4, 1));
        let rows = store.rows.lock().unwrap().clone();
        assert_eq!(rows.len(), 4, "a and b, by day and by month: {rows:?}");
        assert!(rows.iter().all(|(_, r)| r.series == FUNNEL));
        let month = rows.iter().find(|(g, _)| *g == Grain::Month).unwrap();
        assert_eq!(month.1.day, "2026-03-01".parse::<NaiveDate>().unwrap());

        // The same batch again, and one overlapping it: only the new record counts.
        let again = fold_partition(&store, "FSTEP#2026-03-25", &batch).await.unwrap();
        assert_eq!((again.folded, again.skipped, again.writes), (0, 4, 0));
        let overlap = vec![record(3, "b", "leads"), record(4, "a", "mql"), record(5, "b", "mql")];
        let more = fold_partition(&store, "FSTEP#2026-03-25", &overlap).await.unwrap();
        assert_eq!((more.folded, more.skipped), (1, 2));
        let expected = BTreeMap::from([
            ("a:leads".to_string(), 2),
            ("a:mql".to_string(), 1),
            ("b:leads".to_string(), 1),
            ("b:mql".to_string(), 1),
        ]);
        assert_eq!(store.total(Grain::Day), expected);
        assert_eq!(store.total(Grain::Month), expected);
    }

    #[tokio::test]
    async fn a_fold_cut_short_resumes_where_its_mark_stands() {
        // 120 campaigns: 240 rows, three writes of at most 99.
        let batch: Vec<StreamStep> = (0..120).map(|i| record(i, &format!("c{i:03}"), "leads")).collect();
        let store = Rows::default();
        *store.fail_write.lock().unwrap() = Some(2);
        let cut = fold_partition(&store, "p", &batch).await.unwrap_err();
        assert_eq!(cut.done.writes, 1);
        assert_eq!(
            cut.from, batch[cut.done.folded].sequence,
            "the retry starts at the first record not added"
        );

        // Lambda delivers the batch again from the failed record, or from the start.
        let resumed = fold_partition(&store, "p", &batch).await.unwrap();
        assert_eq!(resumed.skipped, cut.done.folded);
        assert_eq!(resumed.folded + cut.done.folded, 120);
        let day = store.total(Grain::Day);
        assert_eq!(day.len(), 120);
        assert!(day.values().all(|n| *n == 1), "each counted once: {day:?}");
        assert_eq!(store.total(Grain::Month), day);
    }

    #[tokio::test]
    async fn an_unreadable_record_is_passed_over_and_the_rest_count() {
        let store = Rows::default();
        let mut bad = record(2, "a", "leads");
        bad.step = Err("doc is not a step".into());
        let batch = vec![record(1, "a", "leads"), bad, record(3, "a", "leads")];
        let done = fold_partition(&store, "p", &batch).await.unwrap();
        assert_eq!((done.folded, done.unreadable), (3, 1));
        assert_eq!(store.total(Grain::Day)["a:leads"], 2);
    }

    #[tokio::test]
    async fn a_fold_overtaken_by_another_delivery_adds_only_what_that_one_did_not() {
        let store = Rows::default();
        fold_partition(&store, "p", &[record(1, "a", "leads"), record(2, "a", "leads")])
            .await
            .unwrap();
        // This fold read the mark before the other delivery moved it: its write is
        // refused, it reads the mark again and adds only the third record.
        *store.stale_read.lock().unwrap() = true;
        let batch = [
            record(1, "a", "leads"),
            record(2, "a", "leads"),
            record(3, "a", "leads"),
        ];
        let done = fold_partition(&store, "p", &batch).await.unwrap();
        assert_eq!((done.folded, done.skipped, done.writes), (1, 2, 1));
        assert_eq!(store.total(Grain::Day)["a:leads"], 3);
    }
}
