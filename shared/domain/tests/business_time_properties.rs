//! Business-time arithmetic agrees with a brute-force oracle that walks the time line minute by
//! minute, judging each UTC minute only by `chrono-tz`'s local date and time: a working weekday,
//! not a holiday, local time of day within the hours. Calendars are random (time zones with and
//! without daylight saving, in both hemispheres and with a half-hour offset; random working days,
//! hours and holidays) and starts cluster around the daylight-saving changes of 2026 and 2027.

use baton_domain::Timestamp;
use baton_domain::business_time::{Calendar, CalendarSpec};
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

const ZONES: [&str; 4] = ["Europe/Berlin", "Australia/Sydney", "America/New_York", "Asia/Kolkata"];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Dates of the daylight-saving changes of 2026 and 2027 in the zones above (Kolkata has none).
const CHANGES: [(i32, u32, u32); 12] = [
    (2026, 3, 29),
    (2026, 10, 25),
    (2027, 3, 28),
    (2027, 10, 31),
    (2026, 4, 5),
    (2026, 10, 4),
    (2027, 4, 4),
    (2027, 10, 3),
    (2026, 3, 8),
    (2026, 11, 1),
    (2027, 3, 14),
    (2027, 11, 7),
];

/// The oracle gives up (and the case is skipped) past this many minutes of walking.
const MAX_STEPS: i64 = 60 * 24 * 45;

/// A random calendar as the spec a ruleset would hold, with the plain values the oracle uses.
#[derive(Debug, Clone)]
struct Case {
    spec: CalendarSpec,
    tz: Tz,
    days: [bool; 7],
    open: u32,
    close: u32,
    holidays: Vec<(NaiveDate, NaiveDate)>,
}

impl Case {
    fn calendar(&self) -> Calendar {
        self.spec.calendar().expect("generated specs are valid")
    }

    /// The oracle's idea of "open" for the minute starting at `at`.
    fn open_at(&self, at: Timestamp) -> bool {
        let local = at.with_timezone(&self.tz);
        let date = local.date_naive();
        let minute = local.hour() * 60 + local.minute();
        self.days[date.weekday().num_days_from_monday() as usize]
            && !self.holidays.iter().any(|(a, b)| *a <= date && date <= *b)
            && self.open <= minute
            && minute < self.close
    }

    /// The end of the `work`-th open minute from `start`, or `None` past the step bound.
    fn add(&self, start: Timestamp, work: i64) -> Option<Timestamp> {
        if work == 0 {
            return Some(start);
        }
        let mut counted = 0;
        for step in 0..MAX_STEPS {
            let minute = start + Duration::minutes(step);
            if self.open_at(minute) {
                counted += 1;
                if counted == work {
                    return Some(minute + Duration::minutes(1));
                }
            }
        }
        None
    }

    /// The number of open minutes in `[from, from + minutes)`.
    fn working_minutes(&self, from: Timestamp, minutes: i64) -> i64 {
        (0..minutes).filter(|m| self.open_at(from + Duration::minutes(*m))).count() as i64
    }
}

/// Opening and closing minutes, often on or around the 02:00-03:00 daylight-saving hour.
fn hours() -> impl Strategy<Value = (u32, u32)> {
    let near_change = prop::sample::select(vec![0u32, 60, 90, 120, 130, 150, 170, 180, 210, 540, 1020, 1440]);
    let minute = prop_oneof![near_change, (0u32..=96).prop_map(|q| q * 15), 0u32..=1440];
    (minute.clone(), minute).prop_filter_map("end after start", |(a, b)| {
        let (open, close) = (a.min(b), a.max(b));
        (open < close && open < 1440).then_some((open, close))
    })
}

/// A date near a daylight-saving change (or anywhere in 2026-2027), and a minute of that day.
fn start() -> impl Strategy<Value = Timestamp> {
    let near = (prop::sample::select(CHANGES.to_vec()), -9i64..=3)
        .prop_map(|((y, m, d), shift)| NaiveDate::from_ymd_opt(y, m, d).unwrap() + Duration::days(shift));
    let anywhere = (0i64..730).prop_map(|d| NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(d));
    (prop_oneof![3 => near, 1 => anywhere], 0i64..1440).prop_map(|(date, minute)| {
        Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap()) + Duration::minutes(minute)
    })
}

fn case(around: Timestamp) -> impl Strategy<Value = Case> {
    let day = around.date_naive();
    let holiday = (-2i64..14, 0i64..4).prop_map(move |(from, len)| {
        let a = day + Duration::days(from);
        (a, a + Duration::days(len))
    });
    (
        prop::sample::select(ZONES.to_vec()),
        prop::array::uniform7(prop::bool::weighted(0.6)).prop_filter("a working day", |d| d.iter().any(|w| *w)),
        hours(),
        prop::collection::vec(holiday, 0..3),
    )
        .prop_map(|(zone, days, (open, close), holidays)| {
            let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
            let spec = CalendarSpec {
                timezone: zone.to_owned(),
                hours: format!("{}-{}", hm(open), hm(close)),
                days: DAYS.iter().zip(days).filter(|(_, w)| *w).map(|(d, _)| (*d).to_owned()).collect(),
                holidays: holidays
                    .iter()
                    .map(|(a, b)| if a == b { a.to_string() } else { format!("{a}..{b}") })
                    .collect(),
            };
            Case { spec, tz: zone.parse().unwrap(), days, open, close, holidays }
        })
}

fn start_and_case() -> impl Strategy<Value = (Timestamp, Case)> {
    start().prop_flat_map(|at| (Just(at), case(at)))
}

/// Named so that `cargo test -p baton-domain business_time` runs these too.
mod business_time {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn add_agrees_with_the_minute_by_minute_oracle((start, case) in start_and_case(), days in 0u32..=3, fraction in 0u32..=100) {
            let calendar = case.calendar();
            let day = i64::from(case.close - case.open);
            let work = (day * i64::from(days) + day * i64::from(fraction) / 100).clamp(0, 3 * day);
            if let Some(expected) = case.add(start, work) {
                let due = calendar.add(start, Duration::minutes(work));
                prop_assert_eq!(due, expected, "{:?} from {} plus {} min", case.spec, start, work);
                prop_assert_eq!(calendar.working_between(start, due), Duration::minutes(work));
            }
        }

        #[test]
        fn working_between_agrees_with_the_minute_by_minute_oracle((start, case) in start_and_case(), minutes in 0i64..(60 * 24 * 10)) {
            let calendar = case.calendar();
            let expected = case.working_minutes(start, minutes);
            prop_assert_eq!(
                calendar.working_between(start, start + Duration::minutes(minutes)),
                Duration::minutes(expected),
                "{:?} from {} for {} min", case.spec, start, minutes
            );
        }

        #[test]
        fn is_open_and_next_open_agree_with_the_oracle((start, case) in start_and_case(), second in 0i64..60, probes in prop::collection::vec(0i64..(60 * 24 * 3), 1..40)) {
            let calendar = case.calendar();
            for minute in probes {
                let at = start + Duration::minutes(minute) + Duration::seconds(second);
                prop_assert_eq!(calendar.is_open(at), case.open_at(at), "{:?} at {}", case.spec, at);
            }
            let next = (0..MAX_STEPS).map(|m| start + Duration::minutes(m)).find(|m| case.open_at(*m));
            if let Some(next) = next {
                prop_assert_eq!(calendar.next_open(start), next, "{:?} from {}", case.spec, start);
            }
        }
    }
}
