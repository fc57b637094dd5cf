//! Business calendars (docs/src/rules/follow-up.md#calendars): which days are working days, in which time zone,
//! with dated exceptions, and deadline arithmetic in business time.
//!
//! Chinese public holidays move working days around (调休): a holiday closes weekdays
//! and a make-up working day opens a weekend day. So a day is a working day if it is
//! listed as a make-up day, else not if it is a listed holiday, else by its weekday.
//!
//! Two ways of counting a span, both skipping non-working days entirely:
//! - [`Counting::WorkingDays`] (default): every hour of a working day counts. "24 h"
//!   from Friday 15:00 before a holiday runs out at 15:00 on the first working day
//!   after it ("violations on holidays are skipped and roll over to working days").
//! - [`Counting::WorkingHours`]: only the calendar's working hours count ("1 h" from
//!   Friday 17:30 runs out at 09:30 on the next working day).
//!
//! A span of N working days is N × 24 h counted the first way.

use crate::lead::error::FieldError;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How far ahead deadline arithmetic looks before giving up (a calendar with no working
/// day at all would otherwise never end).
const MAX_DAYS: u32 = 3660;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatedException {
    pub date: NaiveDate,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessCalendar {
    pub id: String,
    pub name: String,
    pub time_zone: Tz,
    pub working_days: Vec<Weekday>,
    /// Used by [`Counting::WorkingHours`] spans; ordered, not overlapping.
    pub working_hours: Vec<Period>,
    /// Public holidays: these dates are closed whatever their weekday.
    #[serde(default)]
    pub holidays: Vec<DatedException>,
    /// Make-up working days (调休上班): these dates are open whatever their weekday.
    #[serde(default)]
    pub make_up_days: Vec<DatedException>,
    /// Where the dated exceptions come from (shown to admins).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// The last date the holiday data reaches: after it, every weekday counts as a
    /// working day, public holidays included. Official schedules come a year at a
    /// time, so when it is left out it is the 31 December of the last dated exception's
    /// year ([`BusinessCalendar::with_coverage`]); a calendar with no dated exceptions
    /// claims no holiday data and has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covers_until: Option<NaiveDate>,
}

/// Below this many days of holiday data ahead, a calendar in use is flagged (the sweep's
/// `CalendarDaysCovered` metric and its alarm): time to load next year's schedule.
pub const COVERAGE_WARNING_DAYS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "unit", content = "amount")]
pub enum Span {
    Minutes(u32),
    Hours(u32),
    WorkingDays(u32),
}

impl Span {
    fn duration(self) -> Duration {
        match self {
            Span::Minutes(m) => Duration::minutes(m.into()),
            Span::Hours(h) => Duration::hours(h.into()),
            Span::WorkingDays(d) => Duration::days(d.into()),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counting {
    /// Every hour of a working day counts; non-working days are skipped.
    #[default]
    WorkingDays,
    /// Only the calendar's working hours count.
    WorkingHours,
}

impl BusinessCalendar {
    /// The last date the holiday data reaches: `covers_until` as given, or the 31
    /// December of the last dated exception's year (none without any).
    pub fn coverage_end(&self) -> Option<NaiveDate> {
        self.covers_until.or_else(|| {
            self.holidays
                .iter()
                .chain(&self.make_up_days)
                .map(|d| d.date.year())
                .max()
                .and_then(|year| NaiveDate::from_ymd_opt(year, 12, 31))
        })
    }

    /// The calendar with `covers_until` stated ([`BusinessCalendar::coverage_end`]).
    pub fn with_coverage(mut self) -> Self {
        self.covers_until = self.coverage_end();
        self
    }

    /// Days of holiday data left after `at`'s date in the calendar's time zone (0 on its
    /// last covered day, negative once past it); `None` without holiday data.
    pub fn days_covered(&self, at: DateTime<Utc>) -> Option<i64> {
        let today = at.with_timezone(&self.time_zone).date_naive();
        self.coverage_end().map(|until| (until - today).num_days())
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.make_up_days.iter().any(|d| d.date == date) {
            return true;
        }
        if self.holidays.iter().any(|d| d.date == date) {
            return false;
        }
        self.working_days.contains(&date.weekday())
    }

    /// The instant local `time` on `date` happens (the first one if a DST change makes it
    /// ambiguous, the end of the gap if it makes it not exist).
    fn instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = date.and_time(time);
        match self.time_zone.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            chrono::LocalResult::None => {
                // In a spring-forward gap: an hour later exists.
                let later = local + Duration::hours(1);
                self.time_zone
                    .from_local_datetime(&later)
                    .earliest()
                    .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
            }
        }
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.time_zone).date_naive()
    }

    /// When `span`, counted from `start` in business time, runs out.
    pub fn add(&self, start: DateTime<Utc>, span: Span, counting: Counting) -> DateTime<Utc> {
        let counting = match span {
            Span::WorkingDays(_) => Counting::WorkingDays,
            _ => counting,
        };
        let mut left = span.duration();
        let mut cursor = start;
        let mut date = self.local_date(start);
        for _ in 0..MAX_DAYS {
            let next_midnight = self.instant(date.succ_opt().expect("date in range"), NaiveTime::MIN);
            if self.is_working_day(date) {
                let windows: Vec<(DateTime<Utc>, DateTime<Utc>)> = match counting {
                    Counting::WorkingDays => vec![(self.instant(date, NaiveTime::MIN), next_midnight)],
                    Counting::WorkingHours => self
                        .working_hours
                        .iter()
                        .map(|p| (self.instant(date, p.start), self.instant(date, p.end)))
                        .collect(),
                };
                for (open, close) in windows {
                    if close <= cursor {
                        continue;
                    }
                    let from = cursor.max(open);
                    let available = close - from;
                    if left <= available {
                        return from + left;
                    }
                    left -= available;
                    cursor = close;
                }
            }
            cursor = cursor.max(next_midnight);
            date = date.succ_opt().expect("date in range");
        }
        // No working time within ten years: the deadline never comes in practice.
        start + Duration::days(i64::from(MAX_DAYS))
    }

    /// Field errors an admin should see before the calendar is saved.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !crate::lead::error::valid_id(&self.id) {
            errors.push(FieldError::new("id", "must be 1-64 letters, digits, '-' or '_'"));
        }
        if self.working_days.is_empty() && self.make_up_days.is_empty() {
            errors.push(FieldError::new("working_days", "must name at least one day"));
        }
        for (i, period) in self.working_hours.iter().enumerate() {
            if period.end <= period.start {
                errors.push(FieldError::new(
                    format!("working_hours[{i}].end"),
                    "must be after start",
                ));
            } else if i > 0 && period.start < self.working_hours[i - 1].end {
                errors.push(FieldError::new(
                    format!("working_hours[{i}].start"),
                    "must not overlap the period before",
                ));
            }
        }
        if let Some(until) = self.covers_until {
            if self.holidays.iter().chain(&self.make_up_days).any(|d| d.date > until) {
                errors.push(FieldError::new(
                    "covers_until",
                    "is before a listed holiday or make-up day: it must reach every one",
                ));
            }
        }
        for (i, day) in self.make_up_days.iter().enumerate() {
            if self.holidays.iter().any(|h| h.date == day.date) {
                errors.push(FieldError::new(
                    format!("make_up_days[{i}].date"),
                    "is also listed as a holiday",
                ));
            }
        }
        errors
    }

    /// Mainland China: Monday–Friday, 09:00–12:00 and 13:00–18:00 Beijing time, with the
    /// State Council's holiday and make-up day schedules for 2025 and 2026.
    pub fn china_mainland() -> Self {
        let dates = |list: &[(&str, &str)]| -> Vec<DatedException> {
            list.iter()
                .map(|(date, name)| DatedException {
                    date: date.parse().expect("static date"),
                    name: name.to_string(),
                })
                .collect()
        };
        Self {
            id: "cn".into(),
            name: "中国大陆工作日".into(),
            time_zone: chrono_tz::Asia::Shanghai,
            working_days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
            working_hours: vec![
                Period {
                    start: NaiveTime::from_hms_opt(9, 0, 0).expect("static"),
                    end: NaiveTime::from_hms_opt(12, 0, 0).expect("static"),
                },
                Period {
                    start: NaiveTime::from_hms_opt(13, 0, 0).expect("static"),
                    end: NaiveTime::from_hms_opt(18, 0, 0).expect("static"),
                },
            ],
            holidays: dates(CN_HOLIDAYS),
            make_up_days: dates(CN_MAKE_UP_DAYS),
            source: "国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号, 2024-11-12); \
                     国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04)"
                .into(),
            covers_until: NaiveDate::from_ymd_opt(2026, 12, 31),
        }
    }
}

const CN_HOLIDAYS: &[(&str, &str)] = &[
    ("2025-01-01", "元旦"),
    ("2025-01-28", "春节"),
    ("2025-01-29", "春节"),
    ("2025-01-30", "春节"),
    ("2025-01-31", "春节"),
    ("2025-02-01", "春节"),
    ("2025-02-02", "春节"),
    ("2025-02-03", "春节"),
    ("2025-02-04", "春节"),
    ("2025-04-04", "清明节"),
    ("2025-04-05", "清明节"),
    ("2025-04-06", "清明节"),
    ("2025-05-01", "劳动节"),
    ("2025-05-02", "劳动节"),
    ("2025-05-03", "劳动节"),
    ("2025-05-04", "劳动节"),
    ("2025-05-05", "劳动节"),
    ("2025-05-31", "端午节"),
    ("2025-06-01", "端午节"),
    ("2025-06-02", "端午节"),
    ("2025-10-01", "国庆节、中秋节"),
    ("2025-10-02", "国庆节、中秋节"),
    ("2025-10-03", "国庆节、中秋节"),
    ("2025-10-04", "国庆节、中秋节"),
    ("2025-10-05", "国庆节、中秋节"),
    ("2025-10-06", "国庆节、中秋节"),
    ("2025-10-07", "国庆节、中秋节"),
    ("2025-10-08", "国庆节、中秋节"),
    ("2026-01-01", "元旦"),
    ("2026-01-02", "元旦"),
    ("2026-01-03", "元旦"),
    ("2026-02-15", "春节"),
    ("2026-02-16", "春节"),
    ("2026-02-17", "春节"),
    ("2026-02-18", "春节"),
    ("2026-02-19", "春节"),
    ("2026-02-20", "春节"),
    ("2026-02-21", "春节"),
    ("2026-02-22", "春节"),
    ("2026-02-23", "春节"),
    ("2026-04-04", "清明节"),
    ("2026-04-05", "清明节"),
    ("2026-04-06", "清明节"),
    ("2026-05-01", "劳动节"),
    ("2026-05-02", "劳动节"),
    ("2026-05-03", "劳动节"),
    ("2026-05-04", "劳动节"),
    ("2026-05-05", "劳动节"),
    ("2026-06-19", "端午节"),
    ("2026-06-20", "端午节"),
    ("2026-06-21", "端午节"),
    ("2026-09-25", "中秋节"),
    ("2026-09-26", "中秋节"),
    ("2026-09-27", "中秋节"),
    ("2026-10-01", "国庆节"),
    ("2026-10-02", "国庆节"),
    ("2026-10-03", "国庆节"),
    ("2026-10-04", "国庆节"),
    ("2026-10-05", "国庆节"),
    ("2026-10-06", "国庆节"),
    ("2026-10-07", "国庆节"),
];

const CN_MAKE_UP_DAYS: &[(&str, &str)] = &[
    ("2025-01-26", "春节调休上班"),
    ("2025-02-08", "春节调休上班"),
    ("2025-04-27", "劳动节调休上班"),
    ("2025-09-28", "国庆节调休上班"),
    ("2025-10-11", "国庆节调休上班"),
    ("2026-01-04", "元旦调休上班"),
    ("2026-02-14", "春节调休上班"),
    ("2026-02-28", "春节调休上班"),
    ("2026-05-09", "劳动节调休上班"),
    ("2026-09-20", "国庆节调休上班"),
    ("2026-10-10", "国庆节调休上班"),
];
