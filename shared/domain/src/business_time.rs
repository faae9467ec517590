//! Business time: working hours, days and holidays in a time zone, and the arithmetic SLA targets
//! need ("one business hour after capture", "working time spent waiting").
//!
//! A ruleset declares a [`CalendarSpec`]; [`CalendarSpec::calendar`] checks it and gives the
//! usable [`Calendar`].
//!
//! # What "open" means
//! An instant is open when its **local** date (in the calendar's time zone) is a working day and
//! not a holiday, and its local time of day is in `[open, close)`. Everything else follows from
//! that one definition, including daylight-saving changes (the time zone rules come from
//! `chrono-tz`; no offset is ever computed by hand):
//! - **Gap** (clocks jump forward): a local time that does not exist is never reached. An opening
//!   time inside the gap opens at the first instant after the gap; a closing time inside the gap
//!   closes at the instant the clocks jump. A working day whose hours lie wholly in the gap has no
//!   working time.
//! - **Fold** (clocks go back, an hour is lived twice): each instant is judged by its local time.
//!   Working hours that contain the whole repeated hour gain it (a 25-hour Sunday on
//!   `00:00-24:00`); an opening or closing time inside the repeated hour is passed twice, so the
//!   calendar opens (or closes) at both occurrences and is closed in between for local times
//!   outside the hours. The working time of such a day can differ from [`Calendar::day_length`].
//!
//! # Cost
//! [`Calendar::add`] and [`Calendar::working_between`] walk the time line one week at a time,
//! computing each local day's open intervals as UTC instants; the cost grows with the number of
//! days covered, not minutes.

use std::ops::ControlFlow;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::rules::pool::{DAYS, date_range, hours};

/// A team's working calendar as a ruleset declares it (TOML/JSON), for example
/// ```toml
/// [calendars.emea]
/// timezone = "Europe/Berlin"
/// hours = "09:00-17:30"
/// days = ["mon", "tue", "wed", "thu", "fri"]
/// holidays = ["2026-12-25", "2026-12-24..2026-12-31"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// IANA time zone, such as `Europe/Berlin`.
    pub timezone: String,
    /// Working hours each working day, `HH:MM-HH:MM` (end after start; `24:00` allowed as end).
    pub hours: String,
    /// Working days (default mon..fri), lower-case three-letter names.
    #[serde(default = "weekdays")]
    pub days: Vec<String>,
    /// Dates off: `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD` (inclusive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
}

/// The default working days, Monday to Friday.
fn weekdays() -> Vec<String> {
    DAYS[..5].iter().map(|d| (*d).to_owned()).collect()
}

impl CalendarSpec {
    /// Every problem, each as (field name relative to the spec such as `hours`, `days[2]`,
    /// `holidays[0]`, `timezone`, message). Empty when the spec is usable.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.timezone.parse::<Tz>().is_err() {
            problems.push((
                "timezone".to_owned(),
                format!("`{}` is not an IANA time zone such as Europe/Berlin", self.timezone),
            ));
        }
        if let Err(e) = working_hours(&self.hours) {
            problems.push(("hours".to_owned(), e));
        }
        if self.days.is_empty() {
            problems.push((
                "days".to_owned(),
                "a calendar needs at least one working day, such as [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]"
                    .to_owned(),
            ));
        }
        for (i, d) in self.days.iter().enumerate() {
            if day_index(d).is_none() {
                problems.push((format!("days[{i}]"), format!("`{d}` is not a day: use {}", DAYS.join(", "))));
            }
        }
        for (i, h) in self.holidays.iter().enumerate() {
            if let Err(e) = date_range(h) {
                problems.push((format!("holidays[{i}]"), e));
            }
        }
        problems
    }

    /// The usable calendar, or the first problem's message (see [`CalendarSpec::problems`]).
    pub fn calendar(&self) -> Result<Calendar, String> {
        if let Some((_, message)) = self.problems().into_iter().next() {
            return Err(message);
        }
        let tz: Tz = self.timezone.parse().map_err(|_| "unreachable: time zone checked".to_owned())?;
        let (open, close) = working_hours(&self.hours)?;
        let mut days = [false; 7];
        for d in &self.days {
            if let Some(i) = day_index(d) {
                days[i] = true;
            }
        }
        let mut ranges = self.holidays.iter().map(|h| date_range(h)).collect::<Result<Vec<_>, _>>()?;
        ranges.sort();
        let mut holidays: Vec<(NaiveDate, NaiveDate)> = Vec::with_capacity(ranges.len());
        for (from, to) in ranges {
            match holidays.last_mut() {
                Some(last) if from <= last.1.succ_opt().unwrap_or(NaiveDate::MAX) => last.1 = last.1.max(to),
                _ => holidays.push((from, to)),
            }
        }
        Ok(Calendar { tz, days, open, close, holidays })
    }
}

/// Working hours as (open, close) minutes after midnight, close after open (no overnight shifts).
fn working_hours(text: &str) -> Result<(u32, u32), String> {
    let (open, close) = hours(text)
        .map_err(|_| format!("`{text}` is not HH:MM-HH:MM with the end after the start, such as 09:00-17:30"))?;
    if close < open {
        return Err(format!(
            "`{text}` ends before it starts: a calendar's hours cannot cross midnight (use 00:00-24:00 for whole days)"
        ));
    }
    Ok((open, close))
}

/// The day's index from Monday (0) to Sunday (6); case is ignored.
fn day_index(day: &str) -> Option<usize> {
    DAYS.iter().position(|d| d.eq_ignore_ascii_case(day))
}

const DAY_SECS: i64 = 24 * 60 * 60;
/// Days from 0001-01-01 (day 1 in chrono's count) to 1970-01-01.
const UNIX_EPOCH_FROM_CE: i64 = 719_163;
/// How far apart the time zone's offset is sampled; offset changes are found exactly (to the
/// second) between samples. Two changes that cancel out within this step would be missed; no
/// time zone has such changes.
const SAMPLE_SECS: i64 = 3 * 60 * 60;
/// The stretch of time examined at once.
const CHUNK_SECS: i64 = 7 * DAY_SECS;
/// A search that finds no working time for this long gives up (every day a holiday).
const NEVER_OPENS_SECS: i64 = 3 * 366 * DAY_SECS;
/// A search that has not placed the whole target this long after the start gives up.
const HORIZON_SECS: i64 = 100 * 366 * DAY_SECS;

/// A checked working calendar: a time zone, working weekdays, daily opening and closing local
/// times, and holidays. Built by [`CalendarSpec::calendar`].
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    tz: Tz,
    /// Working weekdays, Monday first.
    days: [bool; 7],
    /// Opening local time, minutes after midnight.
    open: u32,
    /// Closing local time, minutes after midnight (at most 24:00), after `open`.
    close: u32,
    /// Dates off, inclusive ranges, sorted and merged.
    holidays: Vec<(NaiveDate, NaiveDate)>,
}

impl Calendar {
    /// Whether `at` falls inside working time: its local day is a working day and not a holiday,
    /// and its local time of day is in `[open, close)`.
    pub fn is_open(&self, at: Timestamp) -> bool {
        // Local seconds since the epoch, by the zone's offset at `at` (this also works for
        // instants whose local time chrono cannot represent, at the ends of time).
        let local = at.timestamp() + self.offset_at(at.timestamp());
        let second = local.rem_euclid(DAY_SECS);
        self.works_on(local.div_euclid(DAY_SECS))
            && i64::from(self.open) * 60 <= second
            && second < i64::from(self.close) * 60
    }

    /// The earliest instant `t >= start` such that the working time in `[start, t)` equals
    /// `work`. A start outside working hours counts from the next opening; the answer is never
    /// inside a closed stretch except when it is the closing instant itself (a target that ends
    /// exactly at closing is due at closing, not at the next opening).
    ///
    /// A `work` of zero (or less) returns `start`. If the calendar stays closed for three years
    /// in a row from the point reached (for example every date a holiday), or the target would
    /// end more than a hundred years after `start`, the answer is `start + work` on the wall
    /// clock (saturating at the latest representable instant).
    pub fn add(&self, start: Timestamp, work: Duration) -> Timestamp {
        if work <= Duration::zero() {
            return start;
        }
        let mut left = work;
        self.walk(start, DateTime::<Utc>::MAX_UTC, true, |from, to| {
            let available = to - from;
            if left <= available {
                ControlFlow::Break(from + left)
            } else {
                left -= available;
                ControlFlow::Continue(())
            }
        })
        .unwrap_or_else(|| start.checked_add_signed(work).unwrap_or(DateTime::<Utc>::MAX_UTC))
    }

    /// The working time between `from` and `to` (zero when `to <= from`). The inverse of
    /// [`Calendar::add`]: `working_between(s, add(s, w)) == w`. Takes time linear in the number
    /// of days between the two instants.
    pub fn working_between(&self, from: Timestamp, to: Timestamp) -> Duration {
        let mut total = Duration::zero();
        if to > from {
            self.walk(from, to, false, |a, b| {
                total += b - a;
                ControlFlow::<()>::Continue(())
            });
        }
        total
    }

    /// The first instant at or after `at` that is open. Returns `at` itself when the calendar
    /// stays closed for three years from `at` (every date a holiday).
    pub fn next_open(&self, at: Timestamp) -> Timestamp {
        self.walk(at, DateTime::<Utc>::MAX_UTC, true, |from, _| ControlFlow::Break(from)).unwrap_or(at)
    }

    /// The length of one working day (close - open), used for targets written in days (`1d` in
    /// business time is one working day). A day with a daylight-saving change may hold more or
    /// less working time than this.
    pub fn day_length(&self) -> Duration {
        Duration::minutes(i64::from(self.close) - i64::from(self.open))
    }

    /// Whether local day number `day` (days since 1970-01-01) is a working day and not a holiday.
    fn works_on(&self, day: i64) -> bool {
        i32::try_from(day + UNIX_EPOCH_FROM_CE)
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .is_some_and(|date| self.works(date))
    }

    /// Whether the local date is a working day and not a holiday.
    fn works(&self, date: NaiveDate) -> bool {
        if !self.days[date.weekday().num_days_from_monday() as usize] {
            return false;
        }
        let i = self.holidays.partition_point(|(_, to)| *to < date);
        self.holidays.get(i).is_none_or(|(from, _)| *from > date)
    }

    /// Calls `visit` with each open interval `[a, b)` within `[from, until)`, in order (intervals
    /// may be split where the walk's chunks meet), until `visit` breaks. Returns the break value,
    /// or `None` when `until` is reached, or (when `give_up` is set) the calendar stays closed
    /// for [`NEVER_OPENS_SECS`] or the walk passes [`HORIZON_SECS`] after `from`.
    fn walk<B>(
        &self,
        from: Timestamp,
        until: Timestamp,
        give_up: bool,
        mut visit: impl FnMut(Timestamp, Timestamp) -> ControlFlow<B>,
    ) -> Option<B> {
        let last = DateTime::<Utc>::MAX_UTC.timestamp();
        let end =
            if until.timestamp_subsec_nanos() > 0 { until.timestamp().saturating_add(1) } else { until.timestamp() }
                .min(last);
        let mut chunk = from.timestamp();
        let mut last_open = chunk;
        while chunk < end {
            if give_up && (chunk - last_open >= NEVER_OPENS_SECS || chunk - from.timestamp() >= HORIZON_SECS) {
                return None;
            }
            let chunk_end = chunk.saturating_add(CHUNK_SECS).min(end);
            for (a, b) in self.intervals(chunk, chunk_end) {
                let a = instant(a).max(from);
                let b = instant(b).min(until);
                if a < b {
                    last_open = b.timestamp();
                    if let ControlFlow::Break(value) = visit(a, b) {
                        return Some(value);
                    }
                }
            }
            chunk = chunk_end;
        }
        None
    }

    /// The open intervals within `[from, to)` (seconds since the Unix epoch), in order, adjacent
    /// ones merged. For each stretch of constant UTC offset, each local day it touches
    /// contributes the instants whose local time is within that day's working hours.
    fn intervals(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        let mut out: Vec<(i64, i64)> = Vec::new();
        for (start, end, offset) in self.spans(from, to) {
            let first_day = (start + offset).div_euclid(DAY_SECS);
            let last_day = (end - 1 + offset).div_euclid(DAY_SECS);
            for day in first_day..=last_day {
                if !self.works_on(day) {
                    continue;
                }
                let a = (day * DAY_SECS + i64::from(self.open) * 60 - offset).max(start);
                let b = (day * DAY_SECS + i64::from(self.close) * 60 - offset).min(end);
                if a < b {
                    match out.last_mut() {
                        Some(previous) if previous.1 == a => previous.1 = b,
                        _ => out.push((a, b)),
                    }
                }
            }
        }
        out
    }

    /// `[from, to)` (seconds, `from < to`) cut where the time zone's UTC offset changes, each
    /// piece with its offset in seconds.
    fn spans(&self, from: i64, to: i64) -> Vec<(i64, i64, i64)> {
        let mut spans = Vec::new();
        let (mut start, mut offset) = (from, self.offset_at(from));
        let mut sample = from;
        while sample < to - 1 {
            let next = sample.saturating_add(SAMPLE_SECS).min(to - 1);
            let mut known = sample;
            while self.offset_at(next) != offset {
                // The offset is `offset` at `known` and differs at `next`: find the first second
                // where it changes.
                let (mut same, mut changed) = (known, next);
                while changed - same > 1 {
                    let mid = same + (changed - same) / 2;
                    if self.offset_at(mid) == offset {
                        same = mid;
                    } else {
                        changed = mid;
                    }
                }
                spans.push((start, changed, offset));
                (start, offset, known) = (changed, self.offset_at(changed), changed);
            }
            sample = next;
        }
        spans.push((start, to, offset));
        spans
    }

    /// The time zone's UTC offset (local minus UTC) at `second`, in seconds.
    fn offset_at(&self, second: i64) -> i64 {
        DateTime::from_timestamp(second, 0)
            .map_or(0, |t| i64::from(self.tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc()))
    }
}

/// The instant `second` seconds after the Unix epoch, clamped to the representable range.
fn instant(second: i64) -> Timestamp {
    DateTime::from_timestamp(second, 0).unwrap_or(if second < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn spec(timezone: &str, hours: &str, days: &[&str], holidays: &[&str]) -> CalendarSpec {
        CalendarSpec {
            timezone: timezone.into(),
            hours: hours.into(),
            days: days.iter().map(|d| (*d).to_owned()).collect(),
            holidays: holidays.iter().map(|h| (*h).to_owned()).collect(),
        }
    }

    fn calendar(timezone: &str, hours: &str, days: &[&str], holidays: &[&str]) -> Calendar {
        spec(timezone, hours, days, holidays).calendar().unwrap()
    }

    fn berlin_office(holidays: &[&str]) -> Calendar {
        calendar("Europe/Berlin", "09:00-17:00", &["mon", "tue", "wed", "thu", "fri"], holidays)
    }

    const EVERY_DAY: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    /// The instant of a local wall time that exists exactly once.
    fn local(timezone: &str, text: &str) -> Timestamp {
        let tz: Tz = timezone.parse().unwrap();
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
            .unwrap();
        tz.from_local_datetime(&naive).single().unwrap().with_timezone(&Utc)
    }

    fn utc(text: &str) -> Timestamp {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap().and_utc()
    }

    fn berlin(text: &str) -> Timestamp {
        local("Europe/Berlin", text)
    }

    fn h(hours: i64) -> Duration {
        Duration::hours(hours)
    }

    #[test]
    fn a_lead_captured_at_23_00_on_friday_with_a_one_hour_target_is_due_monday_at_10_00() {
        let cal = berlin_office(&[]);
        assert_eq!(cal.add(berlin("2026-11-20 23:00"), h(1)), berlin("2026-11-23 10:00"));
    }

    #[test]
    fn a_one_working_day_target_from_friday_night_is_due_monday_at_closing() {
        let cal = berlin_office(&[]);
        assert_eq!(cal.day_length(), h(8));
        assert_eq!(cal.add(berlin("2026-11-20 23:00"), cal.day_length()), berlin("2026-11-23 17:00"));
    }

    #[test]
    fn a_holiday_monday_pushes_the_target_to_tuesday() {
        let cal = berlin_office(&["2026-11-23"]);
        assert_eq!(cal.add(berlin("2026-11-20 23:00"), h(1)), berlin("2026-11-24 10:00"));
        assert_eq!(cal.add(berlin("2026-11-20 23:00"), h(8)), berlin("2026-11-24 17:00"));
    }

    #[test]
    fn a_holiday_range_is_skipped_as_a_whole() {
        let cal = berlin_office(&["2026-12-24..2026-12-31", "2026-12-25"]);
        assert_eq!(cal.add(berlin("2026-12-23 16:00"), h(2)), berlin("2027-01-01 10:00"));
    }

    #[test]
    fn a_start_inside_hours_that_crosses_the_close_continues_the_next_working_day() {
        let cal = berlin_office(&[]);
        assert_eq!(cal.add(berlin("2026-11-25 16:00"), h(2)), berlin("2026-11-26 10:00"));
        assert_eq!(cal.add(berlin("2026-11-27 16:30"), h(1)), berlin("2026-11-30 09:30"));
    }

    #[test]
    fn a_start_before_opening_counts_from_the_opening() {
        let cal = berlin_office(&[]);
        assert_eq!(cal.add(berlin("2026-11-24 06:15"), h(1)), berlin("2026-11-24 10:00"));
        assert_eq!(cal.next_open(berlin("2026-11-24 06:15")), berlin("2026-11-24 09:00"));
        assert_eq!(cal.next_open(berlin("2026-11-24 12:00")), berlin("2026-11-24 12:00"));
    }

    #[test]
    fn a_target_that_ends_at_closing_is_due_at_closing() {
        let cal = berlin_office(&[]);
        assert_eq!(cal.add(berlin("2026-11-24 16:00"), h(1)), berlin("2026-11-24 17:00"));
    }

    #[test]
    fn targets_spanning_several_days_and_weeks_count_only_working_time() {
        let cal = berlin_office(&[]);
        let monday = berlin("2026-11-23 09:00");
        assert_eq!(cal.add(monday, h(40)), berlin("2026-11-27 17:00"));
        assert_eq!(cal.add(monday, h(41)), berlin("2026-11-30 10:00"));
        assert_eq!(cal.add(monday, h(8 * 15)), berlin("2026-12-11 17:00"));
        assert_eq!(cal.working_between(monday, berlin("2026-12-14 09:00")), h(8 * 15));
    }

    #[test]
    fn zero_work_is_due_at_the_start_even_when_closed() {
        let cal = berlin_office(&[]);
        let saturday = berlin("2026-11-21 12:00");
        assert_eq!(cal.add(saturday, Duration::zero()), saturday);
        assert_eq!(cal.add(saturday, Duration::minutes(-5)), saturday);
    }

    #[test]
    fn seconds_and_fractions_of_a_second_are_kept() {
        let cal = berlin_office(&[]);
        let start = berlin("2026-11-24 16:59:45.5");
        assert_eq!(cal.add(start, Duration::seconds(30)), berlin("2026-11-25 09:00:15.5"));
        assert_eq!(cal.working_between(start, berlin("2026-11-25 09:00:15.5")), Duration::seconds(30));
        assert!(cal.is_open(berlin("2026-11-24 16:59:59.999")));
        assert!(!cal.is_open(berlin("2026-11-24 17:00:00")));
    }

    #[test]
    fn a_calendar_that_never_opens_answers_on_the_wall_clock() {
        let cal = berlin_office(&["2026-01-01..2035-12-31"]);
        let start = berlin("2026-11-20 23:00");
        assert_eq!(cal.add(start, h(1)), start + h(1));
        assert_eq!(cal.next_open(start), start);
        assert_eq!(cal.working_between(start, start + Duration::days(30)), Duration::zero());
    }

    #[test]
    fn berlin_spring_forward_weekend_moves_monday_opening_one_hour_earlier_in_utc() {
        let cal = berlin_office(&[]);
        // Friday 16:00 CET is 15:00 UTC; Monday 10:00 CEST is 08:00 UTC.
        assert_eq!(cal.add(berlin("2026-03-27 16:00"), h(2)), utc("2026-03-30 08:00"));
        assert_eq!(cal.working_between(berlin("2026-03-27 09:00"), berlin("2026-03-30 17:00")), h(16));
    }

    #[test]
    fn berlin_fall_back_weekend_moves_monday_opening_one_hour_later_in_utc() {
        let cal = berlin_office(&[]);
        // Friday 16:00 CEST is 14:00 UTC; Monday 10:00 CET is 09:00 UTC.
        assert_eq!(cal.add(berlin("2026-10-23 16:00"), h(2)), utc("2026-10-26 09:00"));
    }

    #[test]
    fn berlin_dst_sundays_last_23_and_25_working_hours_around_the_clock() {
        let cal = calendar("Europe/Berlin", "00:00-24:00", &EVERY_DAY, &[]);
        assert_eq!(cal.working_between(berlin("2026-03-29 00:00"), berlin("2026-03-30 00:00")), h(23));
        assert_eq!(cal.working_between(berlin("2026-10-25 00:00"), berlin("2026-10-26 00:00")), h(25));
        assert_eq!(cal.add(berlin("2026-03-29 00:00"), h(24)), berlin("2026-03-30 01:00"));
        assert_eq!(cal.add(berlin("2026-10-25 00:00"), h(24)), berlin("2026-10-25 23:00"));
    }

    #[test]
    fn hours_inside_the_spring_forward_gap_hold_no_working_time_that_day() {
        let cal = calendar("Europe/Berlin", "02:00-03:00", &EVERY_DAY, &[]);
        assert_eq!(cal.working_between(berlin("2026-03-29 00:00"), berlin("2026-03-30 00:00")), Duration::zero());
        // From Saturday night, the next working hour is Monday's.
        assert_eq!(cal.add(berlin("2026-03-28 23:00"), Duration::minutes(30)), berlin("2026-03-30 02:30"));
    }

    #[test]
    fn an_opening_inside_the_gap_opens_when_the_clocks_jump() {
        let cal = calendar("Europe/Berlin", "02:30-09:00", &EVERY_DAY, &[]);
        // 02:00 CET jumps to 03:00 CEST at 01:00 UTC: the calendar opens then.
        assert_eq!(cal.next_open(berlin("2026-03-29 00:00")), utc("2026-03-29 01:00"));
        assert_eq!(cal.working_between(berlin("2026-03-29 00:00"), berlin("2026-03-30 00:00")), h(6));
    }

    #[test]
    fn an_opening_inside_the_repeated_hour_opens_at_both_occurrences() {
        let cal = calendar("Europe/Berlin", "02:30-04:00", &EVERY_DAY, &[]);
        // 02:30-03:00 CEST (00:30-01:00 UTC), then the clocks go back to 02:00 CET: closed until
        // 02:30 CET (01:30 UTC), open until 04:00 CET (03:00 UTC).
        let sunday = berlin("2026-10-25 00:00");
        assert_eq!(cal.next_open(sunday), utc("2026-10-25 00:30"));
        assert!(!cal.is_open(utc("2026-10-25 01:15")));
        assert_eq!(cal.next_open(utc("2026-10-25 01:00")), utc("2026-10-25 01:30"));
        assert_eq!(cal.working_between(sunday, berlin("2026-10-26 00:00")), h(2));
        assert_eq!(cal.add(sunday, Duration::minutes(45)), utc("2026-10-25 01:45"));
    }

    #[test]
    fn a_closing_inside_the_repeated_hour_closes_at_both_occurrences() {
        let cal = calendar("Europe/Berlin", "00:00-02:30", &EVERY_DAY, &[]);
        let sunday = berlin("2026-10-25 00:00");
        // 00:00-02:30 CEST (22:00-00:30 UTC), then 02:00-02:30 CET (01:00-01:30 UTC).
        assert!(!cal.is_open(utc("2026-10-25 00:45")));
        assert!(cal.is_open(utc("2026-10-25 01:15")));
        assert_eq!(cal.working_between(sunday, berlin("2026-10-26 00:00")), h(3));
    }

    #[test]
    fn sydney_autumn_fall_back_in_april_moves_monday_opening_one_hour_later_in_utc() {
        let cal = calendar("Australia/Sydney", "09:00-17:00", &EVERY_DAY[..5], &[]);
        // Friday 16:00 AEDT (+11) is 05:00 UTC; Monday 10:00 AEST (+10) is 00:00 UTC.
        let friday = local("Australia/Sydney", "2026-04-03 16:00");
        assert_eq!(friday, utc("2026-04-03 05:00"));
        assert_eq!(cal.add(friday, h(2)), utc("2026-04-06 00:00"));
        let around = calendar("Australia/Sydney", "00:00-24:00", &EVERY_DAY, &[]);
        let sunday = local("Australia/Sydney", "2026-04-05 00:00");
        assert_eq!(around.working_between(sunday, local("Australia/Sydney", "2026-04-06 00:00")), h(25));
    }

    #[test]
    fn sydney_spring_forward_in_october_moves_monday_opening_one_hour_earlier_in_utc() {
        let cal = calendar("Australia/Sydney", "09:00-17:00", &EVERY_DAY[..5], &[]);
        // Friday 16:00 AEST (+10) is 06:00 UTC; Monday 10:00 AEDT (+11) is Sunday 23:00 UTC.
        let friday = local("Australia/Sydney", "2026-10-02 16:00");
        assert_eq!(friday, utc("2026-10-02 06:00"));
        assert_eq!(cal.add(friday, h(2)), utc("2026-10-04 23:00"));
        let around = calendar("Australia/Sydney", "00:00-24:00", &EVERY_DAY, &[]);
        let sunday = local("Australia/Sydney", "2026-10-04 00:00");
        assert_eq!(around.working_between(sunday, local("Australia/Sydney", "2026-10-05 00:00")), h(23));
    }

    #[test]
    fn new_york_dst_changes_follow_the_local_clock() {
        let office = calendar("America/New_York", "09:00-17:00", &EVERY_DAY[..5], &[]);
        // Friday 16:00 EST (-5) is 21:00 UTC; Monday 10:00 EDT (-4) is 14:00 UTC.
        assert_eq!(office.add(local("America/New_York", "2026-03-06 16:00"), h(2)), utc("2026-03-09 14:00"));
        // Friday 16:00 EDT is 20:00 UTC; Monday 10:00 EST is 15:00 UTC.
        assert_eq!(office.add(local("America/New_York", "2026-10-30 16:00"), h(2)), utc("2026-11-02 15:00"));
        let night = calendar("America/New_York", "01:00-02:00", &EVERY_DAY, &[]);
        let day = |d: &str| local("America/New_York", d);
        assert_eq!(night.working_between(day("2026-11-01 00:00"), day("2026-11-02 00:00")), h(2));
        let gap = calendar("America/New_York", "02:00-03:00", &EVERY_DAY, &[]);
        assert_eq!(gap.working_between(day("2026-03-08 00:00"), day("2026-03-09 00:00")), Duration::zero());
    }

    #[test]
    fn working_between_is_the_inverse_of_add() {
        let cals = [
            berlin_office(&["2026-12-24..2026-12-26"]),
            calendar("Australia/Sydney", "08:30-18:00", &["mon", "wed", "sat"], &["2026-10-05"]),
            calendar("America/New_York", "00:00-24:00", &EVERY_DAY, &[]),
            calendar("Asia/Kolkata", "10:00-19:30", &EVERY_DAY[..6], &[]),
        ];
        let starts = ["2026-03-27 23:10", "2026-10-03 12:00", "2026-10-30 08:59", "2026-12-23 16:30"];
        for cal in &cals {
            for start in starts.map(utc) {
                for minutes in [1, 59, 60, 480, 481, 2000, 10_000] {
                    let work = Duration::minutes(minutes);
                    let due = cal.add(start, work);
                    assert_eq!(cal.working_between(start, due), work, "{cal:?} {start} {minutes}");
                    assert!(due >= start);
                }
            }
        }
    }

    #[test]
    fn working_between_is_zero_when_the_end_is_not_after_the_start() {
        let cal = berlin_office(&[]);
        let t = berlin("2026-11-24 12:00");
        assert_eq!(cal.working_between(t, t), Duration::zero());
        assert_eq!(cal.working_between(t, t - h(2)), Duration::zero());
    }

    #[test]
    fn a_spec_parses_from_toml_with_weekdays_by_default() {
        let spec: CalendarSpec = toml::from_str(
            "timezone = \"Europe/Berlin\"\nhours = \"09:00-17:30\"\nholidays = [\"2026-12-25\", \"2026-12-24..2026-12-31\"]",
        )
        .unwrap();
        assert_eq!(spec.days, ["mon", "tue", "wed", "thu", "fri"]);
        assert!(spec.problems().is_empty());
        assert_eq!(spec.calendar().unwrap().day_length(), Duration::minutes(510));
        assert!(toml::from_str::<CalendarSpec>("timezone = \"UTC\"\nhours = \"09:00-17:00\"\nweekend = true").is_err());
    }

    #[test]
    fn invalid_specs_name_the_field_and_what_is_wrong() {
        let bad = spec("Mars/Olympus", "9-17", &["mon", "tues"], &["2026-13-01", "2026-12-31..2026-12-24"]);
        let problems = bad.problems();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["timezone", "hours", "days[1]", "holidays[0]", "holidays[1]"]);
        assert_eq!(problems[0].1, "`Mars/Olympus` is not an IANA time zone such as Europe/Berlin");
        assert!(problems[1].1.starts_with("`9-17` is not HH:MM-HH:MM"), "{}", problems[1].1);
        assert_eq!(problems[2].1, "`tues` is not a day: use mon, tue, wed, thu, fri, sat, sun");
        assert_eq!(problems[3].1, "`2026-13-01` is not a date like 2026-12-24");
        assert_eq!(problems[4].1, "`2026-12-31..2026-12-24` ends before it starts");
        assert_eq!(bad.calendar().unwrap_err(), problems[0].1);
    }

    #[test]
    fn a_calendar_needs_a_working_day_and_hours_within_one_day() {
        let no_days = spec("UTC", "09:00-17:00", &[], &[]);
        assert_eq!(no_days.problems()[0].0, "days");
        assert!(no_days.problems()[0].1.contains("at least one working day"));
        let overnight = spec("UTC", "22:00-06:00", &["mon"], &[]);
        assert_eq!(overnight.problems()[0].0, "hours");
        assert!(overnight.problems()[0].1.contains("ends before it starts"));
        for hours in ["17:00-17:00", "24:00-24:00", "", "-", "09:00", "25:00-26:00", "09:00-17:00-18:00"] {
            let problems = spec("UTC", hours, &["mon"], &[]).problems();
            assert_eq!(problems.len(), 1, "{hours}");
            assert_eq!(problems[0].0, "hours");
        }
        assert!(spec("UTC", "00:00-24:00", &["sun"], &[]).calendar().is_ok());
    }

    #[test]
    fn instants_at_the_ends_of_time_do_not_panic() {
        let cal = calendar("Pacific/Kiritimati", "00:00-24:00", &EVERY_DAY, &[]);
        let (first, last) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        let _ = cal.add(last - Duration::days(2), Duration::days(30));
        let _ = cal.add(first, Duration::days(3));
        let _ = cal.next_open(last);
        let _ = cal.is_open(first);
        let _ = cal.working_between(last - Duration::days(3), last);
        assert_eq!(cal.add(utc("2026-01-01 00:00"), Duration::MAX), last);
    }
}
