//! Walks a [`Plan`] a page at a time. Entries come from each partition in order and are
//! merged by position; the leads they name are read in one batch and checked against
//! the filters and the caller's scope as they are now. The cursor is the last position
//! consumed (and the month, on a month walk), so a page never repeats or skips an entry
//! however the partitions interleave.
//!
//! A page costs: one index query per partition (a few more if filters reject many
//! leads), and one read per lead examined. It stops early — a short page with a
//! cursor — after [`EXAMINE_PER_PAGE`] leads or [`QUERIES_PER_PAGE`] index queries, so a
//! filter that matches little never turns into a table scan.

use crate::lead::ports::StoreError;
use crate::lead::{Lead, LeadId};
use crate::workspace::index::{listed_in, position, Month, Order, Partition};
use crate::workspace::plan::{Plan, Scope, Walk};
use crate::workspace::ports::{Entry, LeadIndex};
use crate::workspace::query::ListQuery;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};

/// Leads read (and checked) at most per page.
pub const EXAMINE_PER_PAGE: usize = 1_000;
/// Index queries at most per page.
pub const QUERIES_PER_PAGE: usize = 64;

/// Where the next page starts: `<month>~<position>`, either side possibly empty
/// (`2026-11~2026-11-30T08:00:00.000Z#01M…`, `~` alone: the start). Readable text, but
/// opaque to clients. Every string of that shape is a valid cursor — a made-up one only
/// moves where the walk starts, and scope and filters apply as always.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Cursor {
    /// The month being walked, on a month walk.
    month: Option<Month>,
    /// The last position consumed.
    after: Option<String>,
}

/// The characters of a position (and so of a cursor).
fn position_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '#' | '_' | '+' | '-')
}

impl Cursor {
    fn encode(&self) -> String {
        format!(
            "{}~{}",
            self.month.map(Month::label).unwrap_or_default(),
            self.after.as_deref().unwrap_or_default()
        )
    }

    fn decode(text: &str) -> Option<Self> {
        let (month, after) = text.split_once('~')?;
        let month = match month {
            "" => None,
            label => Some(parse_month(label)?),
        };
        if after.len() > 200 || !after.chars().all(position_char) {
            return None;
        }
        Some(Cursor {
            month,
            after: (!after.is_empty()).then(|| after.to_string()),
        })
    }
}

/// Whether `text` has a list cursor's shape (a month and a position), whatever list gave it.
pub fn is_cursor(text: &str) -> bool {
    Cursor::decode(text).is_some()
}

#[derive(Debug)]
pub enum ListError {
    Store(StoreError),
    /// Not of a cursor's shape.
    BadCursor,
}

impl From<StoreError> for ListError {
    fn from(e: StoreError) -> Self {
        ListError::Store(e)
    }
}

#[derive(Debug, Default)]
pub struct Page {
    pub leads: Vec<Lead>,
    /// `None`: nothing more.
    pub next_cursor: Option<String>,
    /// Leads read to fill the page (the filters' cost).
    pub examined: usize,
    pub queries: usize,
}

/// Where a walk stopped.
enum Stop {
    /// The page is full or a budget ran out: resume after this position.
    At(Option<String>),
    /// Every partition is exhausted.
    Exhausted,
}

/// A page of `query` as `plan` reads it, for `me` in `scope`.
pub async fn list<S: LeadIndex>(
    store: &S,
    query: &ListQuery,
    plan: &Plan,
    scope: &Scope,
    me: &str,
    now: DateTime<Utc>,
) -> Result<Page, ListError> {
    let cursor = match query.cursor.as_deref() {
        None => None,
        Some(text) => Some(Cursor::decode(text).ok_or(ListError::BadCursor)?),
    };
    let mut page = Page::default();
    let mut walker = Walker {
        store,
        query,
        order: plan.order,
        ascending: plan.ascending,
        scope,
        me,
        now,
        page: &mut page,
    };
    let cursor = cursor.unwrap_or_default();
    let next = match &plan.walk {
        Walk::Places(partitions) => match walker.merge(partitions, cursor.after).await? {
            Stop::Exhausted => None,
            Stop::At(after) => Some(Cursor { month: None, after }),
        },
        Walk::Months { kind, from, to } => {
            let mut month = cursor.month.unwrap_or(if plan.ascending { *from } else { *to });
            let mut after = cursor.after;
            let mut next = None;
            while (*from..=*to).contains(&month) {
                match walker.merge(&kind.partitions(month), after.take()).await? {
                    Stop::At(after) => {
                        next = Some(Cursor {
                            month: Some(month),
                            after,
                        });
                        break;
                    }
                    Stop::Exhausted => {
                        month = if plan.ascending { month.next() } else { month.previous() };
                        if walker.out_of_budget() && (*from..=*to).contains(&month) {
                            next = Some(Cursor {
                                month: Some(month),
                                after: None,
                            });
                            break;
                        }
                    }
                }
            }
            next
        }
    };
    page.next_cursor = next.map(|c| c.encode());
    Ok(page)
}

fn parse_month(label: &str) -> Option<Month> {
    let (year, month) = label.split_once('-')?;
    let month = Month {
        year: year.parse().ok()?,
        month: month.parse().ok()?,
    };
    (1..=12).contains(&month.month).then_some(month)
}

struct Walker<'a, S> {
    store: &'a S,
    query: &'a ListQuery,
    order: Order,
    ascending: bool,
    scope: &'a Scope,
    me: &'a str,
    now: DateTime<Utc>,
    page: &'a mut Page,
}

/// One partition's entries read so far and not yet consumed.
struct Head {
    partition: Partition,
    entries: VecDeque<Entry>,
    /// The position to read after when `entries` runs out; `None` with `more` false: done.
    read_after: Option<String>,
    more: bool,
}

impl<S: LeadIndex> Walker<'_, S> {
    fn out_of_budget(&self) -> bool {
        self.page.examined >= EXAMINE_PER_PAGE || self.page.queries >= QUERIES_PER_PAGE
    }

    fn full(&self) -> bool {
        self.page.leads.len() >= self.query.limit
    }

    /// Before `b` in the walking direction.
    fn before(&self, a: &str, b: &str) -> bool {
        if self.ascending {
            a < b
        } else {
            a > b
        }
    }

    async fn refill(&mut self, head: &mut Head, chunk: usize) -> Result<(), StoreError> {
        let entries = self
            .store
            .list_entries(
                &head.partition,
                self.order,
                self.ascending,
                head.read_after.as_deref(),
                chunk,
            )
            .await?;
        self.page.queries += 1;
        head.more = entries.len() == chunk;
        if let Some(last) = entries.last() {
            head.read_after = Some(last.position.clone());
        }
        head.entries.extend(entries);
        Ok(())
    }

    /// Merges `partitions` from after `after` until the page is full, a budget runs
    /// out, or they are exhausted.
    async fn merge(&mut self, partitions: &[Partition], after: Option<String>) -> Result<Stop, StoreError> {
        let want = self.query.limit.saturating_sub(self.page.leads.len());
        // Enough from each partition that one round usually fills the page.
        let chunk = (want * 2 / partitions.len().max(1) + 2).clamp(5, 200);
        let mut heads: Vec<Head> = partitions
            .iter()
            .map(|p| Head {
                partition: p.clone(),
                entries: VecDeque::new(),
                read_after: after.clone(),
                more: true,
            })
            .collect();
        let mut last = after;
        loop {
            // Every partition that may hold more must show its next entry before any is taken.
            for head in heads.iter_mut().filter(|h| h.entries.is_empty() && h.more) {
                if self.out_of_budget() {
                    return Ok(Stop::At(last));
                }
                self.refill(head, chunk).await?;
            }
            // The next batch: the smallest heads in walking order, as many as the page still wants.
            let mut batch: Vec<(usize, Entry)> = Vec::new();
            let want = self.query.limit - self.page.leads.len();
            while batch.len() < want.max(1) {
                let next = heads
                    .iter()
                    .enumerate()
                    .filter_map(|(i, h)| h.entries.front().map(|e| (i, e)))
                    .reduce(|best, cand| {
                        if self.before(&cand.1.position, &best.1.position) {
                            cand
                        } else {
                            best
                        }
                    })
                    .map(|(i, _)| i);
                let Some(i) = next else { break };
                let entry = heads[i].entries.pop_front().expect("a head");
                batch.push((i, entry));
                if heads[i].entries.is_empty() && heads[i].more {
                    break; // its next entry must be read before anything after it is taken
                }
            }
            if batch.is_empty() {
                return Ok(Stop::Exhausted);
            }
            let ids: Vec<LeadId> = batch.iter().map(|(_, e)| e.lead.clone()).collect();
            let mut fresh: HashMap<LeadId, Lead> = self
                .store
                .leads_by_id(&ids)
                .await?
                .into_iter()
                .map(|l| (l.id.clone(), l))
                .collect();
            self.page.examined += ids.len();
            for (i, entry) in batch {
                last = Some(entry.position.clone());
                if let Some(lead) = fresh.remove(&entry.lead) {
                    let listed = position(&lead, self.order).as_deref() == Some(entry.position.as_str())
                        && listed_in(&lead, &heads[i].partition)
                        && self.scope.admits(&lead)
                        && self.query.filters.matches(&lead, self.me, self.now);
                    if listed {
                        self.page.leads.push(lead);
                    }
                }
                if self.full() {
                    return Ok(Stop::At(last));
                }
            }
            if self.out_of_budget() {
                return Ok(Stop::At(last));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::actions::{Actor, Role};
    use crate::assign::routing::{Pool, Rep, Strategy, Tier};
    use crate::lead::qualification::{Grade, Score};
    use crate::lead::{InvalidReason, SlaClock, Stage};
    use crate::memory::InMemoryStore;
    use crate::workspace::plan::plan;
    use chrono::Duration;

    fn now() -> DateTime<Utc> {
        "2026-12-04T10:00:00Z".parse().unwrap()
    }

    fn rep(id: &str, department: &str) -> Rep {
        Rep {
            id: id.into(),
            name: id.into(),
            team: String::new(),
            department: department.into(),
            tier: Tier::Regular,
            weight: 1,
            holding_cap: None,
            daily_cap: None,
            working_hours: None,
            out_of_office: Vec::new(),
            webhook: None,
            active: true,
        }
    }

    fn pool(id: &str, members: &[&str]) -> Pool {
        Pool {
            id: id.into(),
            name: id.into(),
            strategy: Strategy::RoundRobin,
            members: members.iter().map(|m| m.to_string()).collect(),
            daily_cap: None,
            daily_claim_cap: None,
            webhook: None,
        }
    }

    /// 400 leads over three months, every place and stage, some scored, some with clocks.
    fn store() -> InMemoryStore {
        let store = InMemoryStore::default();
        let owners = [Some("a"), Some("b"), Some("c"), None];
        let stages = [
            Stage::Mql,
            Stage::Sql,
            Stage::Invalid,
            Stage::Aql,
            Stage::Merged,
            Stage::Converted,
        ];
        for i in 0..400u32 {
            let created = now() - Duration::hours(i64::from(i) * 5 + 1);
            let mut lead = Lead::new(LeadId::generate(created), ["form", "baidu"][i as usize % 2], created);
            lead.stage = stages[i as usize % stages.len()];
            if lead.stage == Stage::Invalid {
                lead.invalid_reason = Some(InvalidReason {
                    code: ["sequential_phone", "blacklist"][(i / 6) as usize % 2].into(),
                    detail: String::new(),
                });
            } else {
                lead.owner = owners[(i / 5) as usize % 4].map(str::to_string);
                lead.owner_department = lead
                    .owner
                    .as_deref()
                    .map(|o| if o == "c" { "west" } else { "east" }.into());
                if lead.owner.is_none() {
                    lead.pool = Some(["p1", "p2"][i as usize % 2].into());
                }
            }
            if i % 3 != 0 {
                lead.score = Some(Score {
                    fit: (i % 50) as i32,
                    grade: [Grade::A, Grade::B, Grade::C, Grade::D][i as usize % 4],
                    engagement: 0,
                    level: (i % 4 + 1) as u8,
                    cell: String::new(),
                    fit_lines: Vec::new(),
                    engagement_lines: Vec::new(),
                    at: created,
                });
            }
            if i % 4 == 1 {
                lead.sla = vec![SlaClock {
                    clock: "first_contact".into(),
                    started_at: created,
                    due_at: Some(now() + Duration::minutes(i64::from(i) * 7 - 900)),
                    remind_at: None,
                    status: None,
                }];
            }
            store.insert_lead(lead);
        }
        store
    }

    /// Whether `plan` reads the partition the lead is in (what the walk can see at all).
    fn in_walk(lead: &Lead, plan: &Plan) -> bool {
        match &plan.walk {
            Walk::Places(places) => places.iter().any(|p| listed_in(lead, p)),
            Walk::Months { kind, from, to } => {
                let month = Month::of(lead.created_at);
                (*from..=*to).contains(&month) && kind.partitions(month).iter().any(|p| listed_in(lead, p))
            }
        }
    }

    /// Every page of `q` by `actor`, limit 7, against the leads filtered and sorted directly.
    async fn walks_every_page(store: &InMemoryStore, actor: &Actor, q: &str) {
        let roster = vec![
            rep("a", "east"),
            rep("b", "east"),
            rep("c", "west"),
            rep("boss", "east"),
        ];
        let pools = vec![pool("p1", &["a"]), pool("p2", &["b", "c"])];
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
        let mut query = ListQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
        query.limit = 7;
        let scope = Scope::of(actor, &roster, &pools).unwrap();
        let plan = plan(&query, actor, &scope, &roster, &pools, now()).unwrap();
        let all = store.leads();
        let mut expected: Vec<(String, LeadId)> = all
            .iter()
            .filter(|l| scope.admits(l) && query.filters.matches(l, &actor.id, now()) && in_walk(l, &plan))
            .filter_map(|l| position(l, plan.order).map(|p| (p, l.id.clone())))
            .collect();
        expected.sort();
        if !plan.ascending {
            expected.reverse();
        }
        let expected: Vec<LeadId> = expected.into_iter().map(|(_, id)| id).collect();
        let mut got = Vec::new();
        let mut pages = 0;
        loop {
            let page = list(store, &query, &plan, &scope, &actor.id, now()).await.unwrap();
            assert!(page.leads.len() <= 7);
            got.extend(page.leads.iter().map(|l| l.id.clone()));
            pages += 1;
            assert!(pages < 200, "{q}: the walk does not end");
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
        }
        assert!(
            !expected.is_empty() || q.contains("sla_due"),
            "{q}: the case lists something"
        );
        assert_eq!(got, expected, "{q} as {:?}", actor.roles);
    }

    fn actor(id: &str, role: Role) -> Actor {
        Actor {
            id: id.into(),
            roles: vec![role],
        }
    }

    #[tokio::test]
    async fn pages_never_repeat_or_skip_a_lead() {
        let store = store();
        let cases = [
            (actor("root", Role::Admin), "sort=-created"),
            (actor("root", Role::Admin), "sort=created&channel=baidu"),
            (actor("root", Role::Admin), "sort=-score"),
            (actor("root", Role::Admin), "sort=sla_due&sla=overdue"),
            (actor("root", Role::Admin), "owner=none"),
            (actor("root", Role::Admin), "stage=invalid&reason=blacklist"),
            (actor("root", Role::Admin), "department=west&sort=-score"),
            (actor("a", Role::Rep), "sort=-created"),
            (actor("a", Role::Rep), "owner=me&sort=sla_due"),
            (actor("b", Role::Rep), "pool=p2&sort=score"),
            (actor("boss", Role::Manager), "sort=-created"),
            (actor("boss", Role::Manager), "owner=none&stage=mql"),
            (actor("mk", Role::Marketing), "stage=invalid&sort=created"),
            (actor("mk", Role::Marketing), "reason=blacklist"),
        ];
        for (actor, q) in &cases {
            walks_every_page(&store, actor, q).await;
        }
    }

    #[tokio::test]
    async fn a_cursor_is_a_month_and_a_position() {
        let store = store();
        let admin = actor("root", Role::Admin);
        let scope = Scope::All;
        let mut query = ListQuery::parse([("stage", "mql"), ("limit", "5")]).unwrap();
        let p = plan(&query, &admin, &scope, &[], &[], now()).unwrap();
        let first = list(&store, &query, &p, &scope, "root", now()).await.unwrap();
        let cursor = first.next_cursor.expect("more than one page");
        assert!(
            cursor.starts_with("2026-1") && cursor.contains("~2026-"),
            "a month and a position: {cursor}"
        );
        assert_eq!(Cursor::decode(&cursor).unwrap().encode(), cursor);
        for bad in ["no-tilde", "2026-13~", "2026-12~a b", "x~"] {
            query.cursor = Some(bad.into());
            assert!(
                matches!(
                    list(&store, &query, &p, &scope, "root", now()).await,
                    Err(ListError::BadCursor)
                ),
                "{bad}"
            );
        }
        query.cursor = Some("~".into());
        let again = list(&store, &query, &p, &scope, "root", now()).await.unwrap();
        assert_eq!(again.leads, first.leads, "`~` is the start");
    }

    #[tokio::test]
    async fn a_filter_that_matches_little_stops_at_the_budget() {
        let store = InMemoryStore::default();
        for i in 0..1_500 {
            let created = now() - Duration::minutes(i);
            store.insert_lead(Lead::new(LeadId::generate(created), "form", created));
        }
        let admin = actor("root", Role::Admin);
        let query = ListQuery::parse([("channel", "nowhere")]).unwrap();
        let p = plan(&query, &admin, &Scope::All, &[], &[], now()).unwrap();
        let page = list(&store, &query, &p, &Scope::All, "root", now()).await.unwrap();
        assert!(page.leads.is_empty());
        assert!(page.examined <= EXAMINE_PER_PAGE + 200, "examined {}", page.examined);
        assert!(page.next_cursor.is_some(), "a short page says there may be more");
    }
}
