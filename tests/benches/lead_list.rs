//! What a page of `GET /v1/leads` reads, at two table sizes: seeds leads into the
//! emulator's table as the adapters write them (list index keys included), then asks
//! the domain's list walker, on a metered adapter, for the first page of each of the
//! console's main lists. The claim: reads per page follow the page, not the table.
//!
//! `cargo bench -p leadflow-tests --bench lead_list` (LIST_BENCH_SIZES=10000,100000)
//!
//! Capacity is counted by the meter as DynamoDB bills it (keys-only index pages, then
//! one eventually consistent batch read of the leads named).

use chrono::{DateTime, Duration, Utc};
use domain::assign::actions::{Actor, Role};
use domain::assign::routing::{Pool, Rep, Strategy};
use domain::lead::qualification::{Grade, Score};
use domain::lead::{Contact, InvalidReason, Lead, LeadId, SlaClock, Stage};
use domain::workspace::list::list;
use domain::workspace::plan::{plan, Scope};
use domain::workspace::query::ListQuery;
use leadflow_tests::meter::Meter;
use leadflow_tests::{rep, Stack};
use std::time::Instant;

const REPS: usize = 20;
const POOLS: usize = 3;

fn now() -> DateTime<Utc> {
    "2026-12-04T10:00:00Z".parse().unwrap()
}

fn sizes() -> Vec<usize> {
    std::env::var("LIST_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .map(|n| n.trim().parse().expect("a size"))
        .collect()
}

/// Lead `i` of `n`: created evenly over the last 12 months; 60 % held by one of 20 reps
/// (two departments), 15 % waiting in one of three pools, 10 % invalid, the rest
/// merged; two in three scored; held leads with a running clock, some overdue.
fn lead(i: usize, n: usize) -> Lead {
    let created = now() - Duration::seconds((i as i64 * 365 * 86_400) / n as i64 + 60);
    let mut lead = Lead::new(LeadId::generate(created), ["form", "baidu", "douyin"][i % 3], created);
    lead.contact = Contact {
        name: Some(format!("客户{i}")),
        phone: Some(format!("+86139{:08}", i % 100_000_000)),
        ..Contact::default()
    };
    lead.stage = Stage::Mql;
    match i % 20 {
        0..=11 => {
            let rep = i % REPS;
            lead.owner = Some(format!("rep{rep}"));
            lead.owner_department = Some(if rep < REPS / 2 { "east" } else { "west" }.into());
            lead.sla = vec![SlaClock {
                clock: "first_contact".into(),
                started_at: created,
                due_at: Some(created + Duration::hours(4)),
                remind_at: None,
                status: None,
            }];
        }
        12..=14 => {
            lead.pool = Some(format!("pool{}", i % POOLS));
            lead.waiting_since = Some(created);
        }
        15 | 16 => {
            lead.stage = Stage::Invalid;
            lead.invalid_reason = Some(InvalidReason {
                code: ["impossible_contact", "blacklist_phone", "no_contact"][i % 3].into(),
                detail: String::new(),
            });
        }
        _ => lead.stage = Stage::Merged,
    }
    if !i.is_multiple_of(3) && lead.stage == Stage::Mql {
        lead.score = Some(Score {
            fit: (i % 60) as i32,
            grade: [Grade::A, Grade::B, Grade::C, Grade::D][i % 4],
            engagement: 20,
            level: (i % 4 + 1) as u8,
            cell: "B2".into(),
            fit_lines: Vec::new(),
            engagement_lines: Vec::new(),
            at: created,
        });
    }
    lead
}

fn roster() -> (Vec<Rep>, Vec<Pool>) {
    let mut reps: Vec<Rep> = (0..REPS)
        .map(|r| {
            let mut rep = rep(&format!("rep{r}"));
            rep.department = if r < REPS / 2 { "east" } else { "west" }.into();
            rep
        })
        .collect();
    let mut boss = rep("boss");
    boss.department = "east".into();
    reps.push(boss);
    let pools = (0..POOLS)
        .map(|p| Pool {
            id: format!("pool{p}"),
            name: format!("Pool {p}"),
            strategy: Strategy::RoundRobin,
            members: (0..REPS)
                .filter(|r| r % POOLS == p)
                .map(|r| format!("rep{r}"))
                .collect(),
            daily_cap: None,
            daily_claim_cap: None,
            webhook: None,
        })
        .collect();
    (reps, pools)
}

/// The console's main lists: (who, role, query).
const LISTS: &[(&str, Role, &str)] = &[
    ("rep1", Role::Rep, ""),
    ("rep1", Role::Rep, "owner=me&sort=sla_due"),
    ("rep1", Role::Rep, "owner=me&sla=overdue"),
    ("rep1", Role::Rep, "pool=pool1"),
    ("boss", Role::Manager, ""),
    ("boss", Role::Manager, "department=east&sort=-score"),
    ("root", Role::Admin, ""),
    ("root", Role::Admin, "sort=-score"),
    ("root", Role::Admin, "channel=baidu"),
    ("root", Role::Admin, "created_from=2026-11-01&stage=mql"),
    ("mk", Role::Marketing, "reason=impossible_contact"),
];

#[tokio::main]
async fn main() {
    let (reps, pools) = roster();
    println!("| list | leads in table | rows | index queries | leads read | read units |");
    println!("|---|---:|---:|---:|---:|---:|");
    for n in sizes() {
        let stack = Stack::start().await;
        let seeding = Instant::now();
        let mut batch = Vec::new();
        for i in 0..n {
            batch.push(leadflow_aws::item::lead_item(&lead(i, n)).expect("an item"));
            if batch.len() == 1_000 {
                stack.put_items(std::mem::take(&mut batch)).await;
            }
        }
        stack.put_items(batch).await;
        eprintln!("seeded {n} leads in {:?}", seeding.elapsed());
        let meter = Meter::default();
        let (store, _) = stack.metered(&meter);
        for (who, role, q) in LISTS {
            let actor = Actor {
                id: who.to_string(),
                roles: vec![*role],
            };
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
            let query = ListQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
            let scope = Scope::of(&actor, &reps, &pools).unwrap();
            let plan = plan(&query, &actor, &scope, &reps, &pools, now()).unwrap();
            meter.take(&[]);
            let page = list(&store, &query, &plan, &scope, who, now()).await.unwrap();
            let tally = meter.take(&[]);
            let label = if q.is_empty() {
                format!("{role:?}: default")
            } else {
                format!("{role:?}: {q}")
            };
            println!(
                "| {label} | {n} | {} | {} | {} | {:.1} |",
                page.leads.len(),
                page.queries,
                page.examined,
                tally.read_units
            );
        }
    }
}
