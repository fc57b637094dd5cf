//! Business-time arithmetic: weekends, a 9-day holiday, make-up Saturdays, working-hour
//! edges, a DST-free zone (Beijing) and a DST zone (New York).

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc, Weekday};
use domain::{
    follow_up::calendar::BusinessCalendar, follow_up::calendar::Counting, follow_up::calendar::Period,
    follow_up::calendar::Span,
};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn cn() -> BusinessCalendar {
    BusinessCalendar::china_mainland()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn which_days_work() {
    let cal = cn();
    assert!(cal.is_working_day(day("2026-11-20")), "a Friday");
    assert!(!cal.is_working_day(day("2026-11-21")), "a Saturday");
    assert!(!cal.is_working_day(day("2026-02-16")), "Spring Festival Monday");
    assert!(
        cal.is_working_day(day("2026-02-14")),
        "make-up Saturday before Spring Festival"
    );
    assert!(
        cal.is_working_day(day("2026-09-20")),
        "make-up Sunday before National Day"
    );
    assert!(
        !cal.is_working_day(day("2025-10-08")),
        "National Day + Mid-Autumn 2025, a Wednesday"
    );
    assert_eq!(
        cal.holidays
            .iter()
            .filter(|h| h.date.format("%Y").to_string() == "2026")
            .count(),
        33
    );
    assert!(cal.validate().is_empty());
}

#[test]
fn twenty_four_hours_skip_the_weekend_and_keep_the_hour() {
    let cal = cn();
    let friday_3pm = t("2026-11-20T15:00:00+08:00");
    assert_eq!(
        cal.add(friday_3pm, Span::Hours(24), Counting::WorkingDays),
        t("2026-11-23T15:00:00+08:00")
    );
    let tuesday = t("2026-11-24T10:00:00+08:00");
    assert_eq!(
        cal.add(tuesday, Span::Hours(24), Counting::WorkingDays),
        t("2026-11-25T10:00:00+08:00")
    );
    // Assigned on a Saturday: the clock starts on Monday at midnight.
    let saturday = t("2026-11-21T11:00:00+08:00");
    assert_eq!(
        cal.add(saturday, Span::Hours(24), Counting::WorkingDays),
        t("2026-11-24T00:00:00+08:00")
    );
}

#[test]
fn a_friday_before_a_holiday_breaches_after_it_at_the_same_hour() {
    let cal = cn();
    // Qingming 2026: Saturday 4 to Monday 6 April.
    let friday = t("2026-04-03T15:00:00+08:00");
    assert_eq!(
        cal.add(friday, Span::Hours(24), Counting::WorkingDays),
        t("2026-04-07T15:00:00+08:00")
    );
    // The 9-day Spring Festival (15 to 23 February 2026), from its make-up Saturday.
    let make_up_saturday = t("2026-02-14T15:00:00+08:00");
    assert_eq!(
        cal.add(make_up_saturday, Span::Hours(24), Counting::WorkingDays),
        t("2026-02-24T15:00:00+08:00")
    );
    // The Friday before it runs into the make-up Saturday.
    let friday = t("2026-02-13T15:00:00+08:00");
    assert_eq!(
        cal.add(friday, Span::Hours(24), Counting::WorkingDays),
        t("2026-02-14T15:00:00+08:00")
    );
}

#[test]
fn working_days_count_whole_days() {
    let cal = cn();
    let monday = t("2026-11-23T10:00:00+08:00");
    assert_eq!(
        cal.add(monday, Span::WorkingDays(3), Counting::WorkingHours),
        t("2026-11-26T10:00:00+08:00")
    );
    let thursday = t("2026-11-26T10:00:00+08:00");
    assert_eq!(
        cal.add(thursday, Span::WorkingDays(3), Counting::WorkingDays),
        t("2026-12-01T10:00:00+08:00")
    );
    // Seven working days from the last day before National Day 2026 (1-7 October,
    // make-up Saturday 10 October).
    let before = t("2026-09-30T10:00:00+08:00");
    assert_eq!(
        cal.add(before, Span::WorkingDays(7), Counting::WorkingDays),
        t("2026-10-15T10:00:00+08:00")
    );
}

#[test]
fn working_hours_stop_for_lunch_nights_and_holidays() {
    let cal = cn();
    let h = |s| cal.add(t(s), Span::Hours(1), Counting::WorkingHours);
    assert_eq!(
        h("2026-11-23T11:30:00+08:00"),
        t("2026-11-23T13:30:00+08:00"),
        "over lunch"
    );
    assert_eq!(
        h("2026-11-23T18:00:00+08:00"),
        t("2026-11-24T10:00:00+08:00"),
        "from closing time"
    );
    assert_eq!(
        h("2026-11-23T08:00:00+08:00"),
        t("2026-11-23T10:00:00+08:00"),
        "before opening"
    );
    assert_eq!(
        h("2026-11-20T17:30:00+08:00"),
        t("2026-11-23T09:30:00+08:00"),
        "Friday evening"
    );
    assert_eq!(
        h("2026-02-13T17:30:00+08:00"),
        t("2026-02-14T09:30:00+08:00"),
        "make-up Saturday"
    );
    assert_eq!(
        cal.add(
            t("2026-11-23T09:00:00+08:00"),
            Span::Minutes(8 * 60),
            Counting::WorkingHours
        ),
        t("2026-11-23T18:00:00+08:00"),
        "a full working day ends at closing time"
    );
}

#[test]
fn a_zone_with_daylight_saving_counts_real_hours() {
    let new_york = BusinessCalendar {
        id: "us-ny".into(),
        name: "New York".into(),
        time_zone: chrono_tz::America::New_York,
        working_days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
        working_hours: vec![Period {
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
        }],
        holidays: Vec::new(),
        make_up_days: Vec::new(),
        source: String::new(),
        covers_until: None,
    };
    // Friday 6 March 2026 15:00 EST; clocks go forward on Sunday 8 March.
    let friday = t("2026-03-06T15:00:00-05:00");
    assert_eq!(
        new_york.add(friday, Span::Hours(24), Counting::WorkingDays),
        t("2026-03-09T15:00:00-04:00"),
        "15:00 local on Monday, now EDT"
    );
    assert_eq!(
        new_york.add(friday, Span::Hours(3), Counting::WorkingHours),
        t("2026-03-09T10:00:00-04:00")
    );
    // Autumn: Friday 30 October 2026 16:00 EDT; clocks go back on Sunday 1 November.
    let autumn = t("2026-10-30T16:00:00-04:00");
    assert_eq!(
        new_york.add(autumn, Span::Hours(24), Counting::WorkingDays),
        t("2026-11-02T16:00:00-05:00")
    );
}

#[test]
fn bad_calendars_are_refused_by_field() {
    let mut cal = cn();
    cal.working_hours.swap(0, 1);
    cal.make_up_days.push(cal.holidays[0].clone());
    let fields: Vec<String> = cal.validate().into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["working_hours[1].start", "make_up_days[11].date"]);
}

#[test]
fn a_calendar_says_how_far_its_holiday_data_reaches() {
    // The built-in schedule is the State Council's 2025 and 2026 notices.
    let cal = cn();
    assert_eq!(cal.covers_until, Some(day("2026-12-31")));
    assert_eq!(cal.days_covered(t("2026-12-05T10:00:00+08:00")), Some(26));
    // The date is Beijing's: 23:30 UTC on 30 December is already the 31st there.
    assert_eq!(cal.days_covered(t("2026-12-30T23:30:00Z")), Some(0));
    assert_eq!(cal.days_covered(t("2027-01-02T10:00:00+08:00")), Some(-2));
    assert!(
        cal.is_working_day(day("2027-01-01")),
        "past its data a holiday is a weekday like any other: why it must be flagged"
    );

    // Left out, it is the end of the last listed year; no dated exception, no data.
    let mut loaded = cn();
    loaded.covers_until = None;
    assert_eq!(loaded.clone().with_coverage().covers_until, Some(day("2026-12-31")));
    loaded.holidays.retain(|h| h.date.year() == 2025);
    loaded.make_up_days.retain(|h| h.date.year() == 2025);
    assert_eq!(loaded.with_coverage().covers_until, Some(day("2025-12-31")));
    let mut none = cn();
    none.covers_until = None;
    none.holidays.clear();
    none.make_up_days.clear();
    assert_eq!(none.days_covered(t("2026-12-05T10:00:00+08:00")), None);

    // It must reach every dated exception it lists.
    let mut short = cn();
    short.covers_until = Some(day("2026-06-30"));
    let fields: Vec<String> = short.validate().into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["covers_until"]);
}
