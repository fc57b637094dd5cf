//! Which partitions of which list index answer a query for a caller, and what the
//! caller may see at all. A plan never reads more than the page needs from a partition:
//! the filters that pick the partitions (owner, pool, department, the invalid pool) cost
//! nothing, the others are checked on the leads read (docs/src/developers/lead-lists.md).

use crate::assign::actions::{Actor, Role};
use crate::assign::routing::{Pool, Rep};
use crate::lead::{Lead, Stage};
use crate::workspace::index::{Bucket, Month, Order, Partition, SHARDS};
use crate::workspace::query::{ListQuery, OwnerFilter};
use crate::FieldError;
use chrono::{DateTime, Utc};

/// How many months a time-bucketed list covers when `created_from` is not given.
pub const DEFAULT_MONTHS: u32 = 24;

/// What the caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Admins, and managers with no department on the roster: every lead.
    All,
    /// Managers: the leads of their departments' reps, and unowned leads.
    Departments {
        departments: Vec<String>,
        reps: Vec<String>,
    },
    /// Reps: the leads they hold and those waiting in their pools.
    Rep { id: String, pools: Vec<String> },
    /// Marketing: every lead, to follow the funnel from a channel to its leads, with
    /// contact data masked except in the invalid pool, which they review.
    Marketing,
}

impl Scope {
    /// The caller's scope; `None` for a role that lists no leads.
    pub fn of(actor: &Actor, roster: &[Rep], pools: &[Pool]) -> Option<Self> {
        if actor.has(Role::Admin) {
            return Some(Scope::All);
        }
        if actor.has(Role::Manager) {
            let departments: Vec<String> = roster
                .iter()
                .filter(|r| r.id == actor.id && !r.department.is_empty())
                .map(|r| r.department.clone())
                .collect();
            if departments.is_empty() {
                return Some(Scope::All);
            }
            let reps = roster
                .iter()
                .filter(|r| departments.contains(&r.department))
                .map(|r| r.id.clone())
                .collect();
            return Some(Scope::Departments { departments, reps });
        }
        if actor.has(Role::Rep) {
            let pools = pools
                .iter()
                .filter(|p| p.members.contains(&actor.id))
                .map(|p| p.id.clone())
                .collect();
            return Some(Scope::Rep {
                id: actor.id.clone(),
                pools,
            });
        }
        actor.has(Role::Marketing).then_some(Scope::Marketing)
    }

    pub fn admits(&self, lead: &Lead) -> bool {
        match self {
            Scope::All => true,
            Scope::Departments { departments, reps } => match &lead.owner {
                None => true,
                Some(owner) => {
                    reps.contains(owner) || lead.owner_department.as_ref().is_some_and(|d| departments.contains(d))
                }
            },
            Scope::Rep { id, pools } => {
                lead.owner.as_deref() == Some(id.as_str())
                    || lead
                        .waiting_in_pool()
                        .is_some_and(|p| pools.iter().any(|mine| mine == p))
            }
            Scope::Marketing => true,
        }
    }

    /// Whether the caller may see the lead's contact data unmasked: a rep their own
    /// leads', marketing the invalid pool's (to judge a wrong number), everyone else all.
    pub fn sees_contact(&self, lead: &Lead) -> bool {
        match self {
            Scope::Rep { id, .. } => lead.owner.as_deref() == Some(id.as_str()),
            Scope::Marketing => lead.stage == Stage::Invalid,
            _ => true,
        }
    }
}

/// The kinds of month-bucketed partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buckets {
    Invalid,
    Timeline,
}

impl Buckets {
    pub fn partitions(self, month: Month) -> Vec<Partition> {
        (0..SHARDS)
            .map(|shard| {
                let bucket = Bucket { month, shard };
                match self {
                    Buckets::Invalid => Partition::Invalid(bucket),
                    Buckets::Timeline => Partition::Timeline(bucket),
                }
            })
            .collect()
    }
}

/// How a list is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Walk {
    /// One merge over these partitions.
    Places(Vec<Partition>),
    /// Month by month from `from` to `to` (newest first when descending), the shards of
    /// each month merged. Created order only.
    Months { kind: Buckets, from: Month, to: Month },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub order: Order,
    pub ascending: bool,
    pub walk: Walk,
}

/// A filter naming leads the caller may not see: the API answers 403 with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub FieldError);

fn refuse(field: &str, reason: &str) -> Result<Plan, Refused> {
    Err(Refused(FieldError::new(field, reason)))
}

/// The plan for `query` by `actor` in `scope`; `roster` and `pools` are the team.
pub fn plan(
    query: &ListQuery,
    actor: &Actor,
    scope: &Scope,
    roster: &[Rep],
    pools: &[Pool],
    now: DateTime<Utc>,
) -> Result<Plan, Refused> {
    let f = &query.filters;
    let (order, ascending) = (query.sort.order, query.sort.ascending);
    let owner = match &f.owner {
        Some(OwnerFilter::Me) => Some(actor.id.clone()),
        Some(OwnerFilter::Rep(id)) => Some(id.clone()),
        _ => None,
    };
    match scope {
        Scope::Rep { id, pools: mine } => {
            if owner.as_ref().is_some_and(|o| o != id) {
                return refuse("owner", "reps list their own leads (owner=me)");
            }
            if f.pool.as_ref().is_some_and(|p| !mine.contains(p)) {
                return refuse("pool", "you are not a member of this pool");
            }
            if f.department.is_some() {
                return refuse("department", "reps list their own leads and their pools'");
            }
        }
        Scope::Departments { departments, reps } => {
            if f.department.as_ref().is_some_and(|d| !departments.contains(d)) {
                return refuse("department", "managers list their own departments");
            }
            if owner.as_ref().is_some_and(|o| !reps.contains(o)) {
                return refuse("owner", "this rep is not in your departments");
            }
        }
        _ => {}
    }
    // Nothing is created in the future: a later `created_to` lists up to now.
    let to = Month::of(f.created_to.map_or(now, |t| t.min(now)));
    let from = match f.created_from {
        Some(t) => Month::of(t),
        None => (1..DEFAULT_MONTHS).fold(to, |m, _| m.previous()),
    };
    let months = |kind| match order {
        Order::Created => Walk::Months { kind, from, to },
        // Neither invalid leads nor the timeline are kept in these orders.
        Order::Due | Order::Score => Walk::Places(Vec::new()),
    };
    let every_place = || {
        let mut places: Vec<Partition> = roster.iter().map(|r| Partition::Owner(r.id.clone())).collect();
        places.extend(pools.iter().map(|p| Partition::Pool(p.id.clone())));
        places
    };
    let walk = if let Some(owner) = owner {
        Walk::Places(vec![Partition::Owner(owner)])
    } else if let Some(pool) = &f.pool {
        Walk::Places(vec![Partition::Pool(pool.clone())])
    } else if f.stage == Some(Stage::Invalid) || f.reason.is_some() {
        // Only invalid leads have a reason: the invalid pool holds them all.
        months(Buckets::Invalid)
    } else if let Some(department) = &f.department {
        Walk::Places(
            roster
                .iter()
                .filter(|r| &r.department == department)
                .map(|r| Partition::Owner(r.id.clone()))
                .collect(),
        )
    } else {
        match scope {
            Scope::Rep { id, pools: mine } => {
                let mut places = vec![Partition::Owner(id.clone())];
                places.extend(mine.iter().map(|p| Partition::Pool(p.clone())));
                Walk::Places(places)
            }
            Scope::Departments { reps, .. } if f.owner.is_none() => {
                let mut places: Vec<Partition> = reps.iter().map(|r| Partition::Owner(r.clone())).collect();
                places.extend(pools.iter().map(|p| Partition::Pool(p.id.clone())));
                Walk::Places(places)
            }
            _ => match order {
                Order::Created => months(Buckets::Timeline),
                Order::Due | Order::Score => Walk::Places(every_place()),
            },
        }
    };
    Ok(Plan { order, ascending, walk })
}
