//! Where a lead is listed. Every lead is on the *timeline* of the month it was created;
//! a lead held by a rep, waiting in a pool or invalid is also in that *place*. In each
//! partition it has a position per order the partition keeps (created, next deadline,
//! score); the store keys its list indexes on exactly these values, so the domain can
//! merge pages from several partitions by comparing positions.
//!
//! Other unowned leads (received, merged, unrouted, nurtured) have no place: no list
//! walks one (a list of them walks the timeline), and every index entry is a write the
//! lead pays for; a new lead would pay for one on its way in and again on its way out.
//!
//! Invalid leads and the timeline are bucketed by creation month and spread over
//! [`SHARDS`] shards, so a campaign spike's writes do not land on one index partition.

use crate::lead::qualification::Grade;
use crate::lead::{ClockStatus, Lead, Stage};
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};

/// Shards of each month bucket.
pub const SHARDS: u8 = 4;

/// A month bucket of a time-bucketed partition: `(year, month)` and a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bucket {
    pub month: Month,
    pub shard: u8,
}

/// A calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn of(t: DateTime<Utc>) -> Self {
        Self {
            year: t.year(),
            month: t.month(),
        }
    }
    pub fn previous(self) -> Self {
        match self.month {
            1 => Self {
                year: self.year - 1,
                month: 12,
            },
            m => Self {
                year: self.year,
                month: m - 1,
            },
        }
    }
    pub fn next(self) -> Self {
        match self.month {
            12 => Self {
                year: self.year + 1,
                month: 1,
            },
            m => Self {
                year: self.year,
                month: m + 1,
            },
        }
    }
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a valid month")
    }
    /// `2026-12`.
    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

/// A partition of the list indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Partition {
    /// Leads a rep holds.
    Owner(String),
    /// Leads waiting unowned in a pool.
    Pool(String),
    /// Invalid leads by creation month.
    Invalid(Bucket),
    /// Every lead by creation month.
    Timeline(Bucket),
}

impl Partition {
    /// A stable text name (the cursor remembers positions by it).
    pub fn name(&self) -> String {
        match self {
            Partition::Owner(rep) => format!("o:{rep}"),
            Partition::Pool(pool) => format!("p:{pool}"),
            Partition::Invalid(b) => format!("i:{}:{}", b.month.label(), b.shard),
            Partition::Timeline(b) => format!("t:{}:{}", b.month.label(), b.shard),
        }
    }

    /// Whether the partition keeps `order`: a rep's and a pool's leads are sorted every
    /// way; the invalid pool and the timeline only by creation (no list asks them for
    /// deadlines or scores, so no entry is written for one).
    pub fn keeps(&self, order: Order) -> bool {
        match self {
            Partition::Owner(_) | Partition::Pool(_) => true,
            Partition::Invalid(_) | Partition::Timeline(_) => order == Order::Created,
        }
    }
}

/// The orders a list can be sorted in; each is an index over the same places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    Created,
    /// The earliest deadline of a running follow-up clock: only leads with one.
    Due,
    /// Rule score (grade, level, fit): only scored leads.
    Score,
}

fn bucket(lead: &Lead) -> Bucket {
    Bucket {
        month: Month::of(lead.created_at),
        shard: lead.id.shard(SHARDS),
    }
}

/// The lead's place, if it has one (at most one). An invalid lead is in the invalid
/// pool even when a rep who marked it still owns it; an unowned lead not waiting in a
/// pool is on the timeline only.
pub fn place(lead: &Lead) -> Option<Partition> {
    if lead.stage == Stage::Invalid {
        Some(Partition::Invalid(bucket(lead)))
    } else if let Some(owner) = &lead.owner {
        Some(Partition::Owner(owner.clone()))
    } else {
        lead.waiting_in_pool().map(|pool| Partition::Pool(pool.to_string()))
    }
}

/// Whether the lead is listed in `partition` (on its timeline, or in its place).
pub fn listed_in(lead: &Lead, partition: &Partition) -> bool {
    match partition {
        Partition::Timeline(_) => &timeline(lead) == partition,
        _ => place(lead).as_ref() == Some(partition),
    }
}

/// The lead's timeline partition.
pub fn timeline(lead: &Lead) -> Partition {
    Partition::Timeline(bucket(lead))
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The earliest deadline among the lead's running clocks.
pub fn next_due(lead: &Lead) -> Option<DateTime<Utc>> {
    lead.sla
        .iter()
        .filter(|c| matches!(c.status, None | Some(ClockStatus::Running)))
        .filter_map(|c| c.due_at)
        .min()
}

/// The lead's position in `order`, ascending; `None` when the order does not list it.
/// Ties break on the id, so positions are unique.
pub fn position(lead: &Lead, order: Order) -> Option<String> {
    match order {
        Order::Created => Some(format!("{}#{}", stamp(lead.created_at), lead.id)),
        Order::Due => next_due(lead).map(|due| format!("{}#{}", stamp(due), lead.id)),
        Order::Score => lead.score.as_ref().map(|s| {
            // Strength 0 (D4) … 15 (A1), then fit: ascending is weakest first.
            let grade = match s.grade {
                Grade::A => 3,
                Grade::B => 2,
                Grade::C => 1,
                Grade::D => 0,
            };
            let strength = grade * 4 + (4 - i32::from(s.level.clamp(1, 4)));
            let fit = (s.fit + 10_000).clamp(0, 99_999);
            format!("{strength:02}#{fit:05}#{}#{}", stamp(lead.created_at), lead.id)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::{LeadId, SlaClock};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_lead_is_in_at_most_one_place_and_always_on_its_timeline() {
        let now = t("2026-12-04T10:00:00Z");
        let mut lead = Lead::new(LeadId::generate(now), "form", now);
        assert_eq!(place(&lead), None, "received: not placed until qualified");
        assert!(listed_in(&lead, &timeline(&lead)));
        lead.stage = Stage::Invalid;
        assert!(matches!(place(&lead), Some(Partition::Invalid(b)) if b.month.label() == "2026-12"));
        lead.stage = Stage::Mql;
        lead.pool = Some("east".into());
        assert_eq!(place(&lead), Some(Partition::Pool("east".into())));
        lead.owner = Some("zhang".into());
        assert_eq!(place(&lead), Some(Partition::Owner("zhang".into())));
        assert!(listed_in(&lead, &Partition::Owner("zhang".into())));
        assert!(!listed_in(&lead, &Partition::Pool("east".into())));
        lead.stage = Stage::Invalid;
        assert!(
            matches!(place(&lead), Some(Partition::Invalid(_))),
            "marked invalid by its owner"
        );
        lead.owner = None;
        for stage in [Stage::Merged, Stage::Nurture, Stage::Recycled] {
            lead.stage = stage;
            lead.pool = None;
            assert_eq!(place(&lead), None, "{stage:?} without a pool: the timeline only");
            assert!(listed_in(&lead, &timeline(&lead)));
        }
    }

    #[test]
    fn only_reps_and_pools_keep_deadline_and_score_orders() {
        let bucket = Bucket {
            month: Month { year: 2026, month: 12 },
            shard: 0,
        };
        for order in [Order::Created, Order::Due, Order::Score] {
            assert!(Partition::Owner("zhang".into()).keeps(order));
            assert!(Partition::Pool("east".into()).keeps(order));
            let created = order == Order::Created;
            assert_eq!(Partition::Invalid(bucket).keeps(order), created);
            assert_eq!(Partition::Timeline(bucket).keeps(order), created);
        }
    }

    #[test]
    fn positions_sort_as_the_orders_say() {
        let now = t("2026-12-04T10:00:00Z");
        let mut lead = Lead::new(LeadId::generate(now), "form", now);
        assert!(position(&lead, Order::Due).is_none(), "no clock, not in the due order");
        assert!(
            position(&lead, Order::Score).is_none(),
            "unscored, not in the score order"
        );
        let clock = |due: &str, status| SlaClock {
            clock: "first_contact".into(),
            started_at: now,
            due_at: Some(t(due)),
            remind_at: None,
            status,
        };
        lead.sla = vec![
            clock("2026-12-04T11:00:00Z", Some(ClockStatus::Satisfied)),
            clock("2026-12-04T12:00:00Z", Some(ClockStatus::Running)),
            clock("2026-12-04T13:00:00Z", None),
        ];
        assert_eq!(
            next_due(&lead),
            Some(t("2026-12-04T12:00:00Z")),
            "satisfied clocks do not count"
        );
        let earlier = Lead::new(
            LeadId::generate(t("2026-12-03T10:00:00Z")),
            "form",
            t("2026-12-03T10:00:00Z"),
        );
        assert!(position(&earlier, Order::Created) < position(&lead, Order::Created));
    }
}
