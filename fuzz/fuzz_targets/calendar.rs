//! Business calendars, as admins send them (JSON in the SLA configuration), and the
//! deadline arithmetic on them. Two shapes of input, by the first byte:
//! - even: the rest is JSON for a calendar: it must parse or be refused, never panic;
//! - odd: the bytes build a calendar (any time zone, weekdays, hours, holidays and
//!   make-up days), which must survive a JSON round trip unchanged.
//!
//! A calendar that validates then answers deadlines for starts from 2000 to 2100 and
//! spans up to a year: never before the start, and with whole days counted, never
//! sooner than the span itself (closed days only add time).
#![no_main]

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use domain::{follow_up::calendar::BusinessCalendar, follow_up::calendar::Counting, follow_up::calendar::DatedException, follow_up::calendar::Period, follow_up::calendar::Span};
use libfuzzer_sys::fuzz_target;

/// A little reader over the fuzzer's bytes: zeroes once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn time(b: &mut Bytes) -> NaiveTime {
    // Quarter hours of a day, and now and then a time to the second.
    let quarter = u32::from(b.u8()) % 96;
    NaiveTime::from_hms_opt(quarter / 4, (quarter % 4) * 15, u32::from(b.u8().is_multiple_of(4)) * 17).expect("in range")
}

fn day(b: &mut Bytes) -> DatedException {
    let base = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");
    DatedException {
        date: base + Duration::days(i64::from(b.u16() % 36_600)),
        name: String::new(),
    }
}

fn built(b: &mut Bytes) -> BusinessCalendar {
    let zones = chrono_tz::TZ_VARIANTS;
    let time_zone = zones[usize::from(b.u16()) % zones.len()];
    let mask = b.u8();
    let working_days = WEEKDAYS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, d)| *d)
        .collect();
    let working_hours = (0..b.u8() % 4)
        .map(|_| Period {
            start: time(b),
            end: time(b),
        })
        .collect();
    let holidays = (0..b.u8() % 8).map(|_| day(b)).collect();
    let make_up_days = (0..b.u8() % 4).map(|_| day(b)).collect();
    BusinessCalendar {
        id: "fuzz".into(),
        name: "fuzz".into(),
        time_zone,
        working_days,
        working_hours,
        holidays,
        make_up_days,
        source: String::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let calendar = if b.u8() & 1 == 0 {
        let Ok(calendar) = serde_json::from_slice::<BusinessCalendar>(b.0) else {
            return;
        };
        calendar
    } else {
        let calendar = built(&mut b);
        let json = serde_json::to_string(&calendar).expect("a calendar serialises");
        let back: BusinessCalendar = serde_json::from_str(&json).expect("a calendar reads back");
        assert_eq!(back, calendar);
        calendar
    };
    if !calendar.validate().is_empty() {
        return;
    }
    let start =
        DateTime::<Utc>::from_timestamp(946_684_800 + i64::from(b.u32() % 3_155_760_000), 0).expect("2000 to 2100");
    let amount = b.u32();
    let span = match b.u8() % 3 {
        0 => Span::Minutes(amount % (366 * 24 * 60)),
        1 => Span::Hours(amount % (366 * 24)),
        _ => Span::WorkingDays(amount % 366),
    };
    let counting = if b.u8() & 1 == 0 {
        Counting::WorkingDays
    } else {
        Counting::WorkingHours
    };
    let deadline = calendar.add(start, span, counting);
    assert!(
        deadline >= start,
        "{span:?} from {start} ran out before it began: {deadline}"
    );
    let whole_days = matches!(span, Span::WorkingDays(_)) || counting == Counting::WorkingDays;
    let length = match span {
        Span::Minutes(m) => Duration::minutes(m.into()),
        Span::Hours(h) => Duration::hours(h.into()),
        Span::WorkingDays(d) => Duration::days(d.into()),
    };
    if whole_days {
        assert!(
            deadline >= start + length,
            "{span:?} from {start} ran out early: {deadline}"
        );
    }
});
