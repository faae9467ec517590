//! Choosing a pool member: round robin (or weighted round robin) from a shared pointer, skipping
//! members who are paused, out of office, outside their working hours or at their daily cap.
//!
//! The pointer comes from outside (an atomic counter in the store, so concurrent routers never
//! take the same slot); everything else here is a pure function of the pool, the time and each
//! member's count of new leads today.

use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{Member, Pool, Strategy};
use crate::Timestamp;

/// A member passed over, and why; recorded on the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Skip {
    pub member: String,
    pub reason: String,
}

/// The largest member weight (a pool's turn order has one slot per unit of weight).
pub const MAX_WEIGHT: u32 = 100;

pub(crate) const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Working hours as minutes after midnight: `09:00-17:30`, `00:00-24:00` (all day) or an
/// overnight shift such as `22:00-06:00`.
pub(crate) fn hours(text: &str) -> Result<(u32, u32), String> {
    let (from, to) = text.split_once('-').ok_or_else(|| format!("hours `{text}` is not like 09:00-17:30"))?;
    let parse = |t: &str| {
        let t = t.trim();
        if t == "24:00" {
            return Ok(24 * 60);
        }
        NaiveTime::parse_from_str(t, "%H:%M")
            .map(|time| time.hour() * 60 + time.minute())
            .map_err(|_| format!("`{t}` in hours `{text}` is not HH:MM"))
    };
    let (from, to) = (parse(from)?, parse(to)?);
    if from == to || from == 24 * 60 {
        return Err(format!("hours `{text}` are empty or start at 24:00"));
    }
    Ok((from, to))
}

pub(crate) fn date_range(text: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let parse = |t: &str| {
        NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
            .map_err(|_| format!("`{}` is not a date like 2026-12-24", t.trim()))
    };
    match text.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (parse(a)?, parse(b)?);
            if a > b {
                return Err(format!("`{text}` ends before it starts"));
            }
            Ok((a, b))
        }
        None => parse(text).map(|d| (d, d)),
    }
}

/// What is wrong with a member's settings, if anything.
pub fn check_member(m: &Member) -> Vec<String> {
    let mut problems = Vec::new();
    if m.timezone.parse::<Tz>().is_err() {
        problems.push(format!("timezone `{}` is not an IANA time zone such as Europe/Berlin", m.timezone));
    }
    if let Some(h) = &m.hours
        && let Err(e) = hours(h)
    {
        problems.push(e);
    }
    for d in &m.days {
        if !DAYS.contains(&d.to_ascii_lowercase().as_str()) {
            problems.push(format!("day `{d}` is not one of mon, tue, wed, thu, fri, sat, sun"));
        }
    }
    for o in &m.out_of_office {
        if let Err(e) = date_range(o) {
            problems.push(e);
        }
    }
    if m.weight == 0 {
        problems.push("weight 0 would never receive a lead; remove the member or pause it".into());
    }
    if m.weight > MAX_WEIGHT {
        problems.push(format!("weight {} is above {MAX_WEIGHT}", m.weight));
    }
    if let Some(link) = &m.meeting_link
        && (!link.starts_with("https://") || link.chars().any(|c| c.is_whitespace() || "<>|".contains(c)))
    {
        problems.push(format!("meeting_link `{link}` must be an https:// URL without spaces, <, > or |"));
    }
    if m.id.trim().is_empty() || m.name.trim().is_empty() {
        problems.push("a member needs a non-empty id and name".into());
    }
    problems
}

/// The hour of the week of `at` in UTC: 0 (Monday 00:00) to 167.
pub fn hour_of_week(at: Timestamp) -> usize {
    at.weekday().num_days_from_monday() as usize * 24 + at.hour() as usize
}

/// `Mon 09:00` for an hour of the week (UTC).
pub fn hour_label(hour: usize) -> String {
    const LABELS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    format!("{} {:02}:00", LABELS[hour / 24 % 7], hour % 24)
}

/// Whether `m` works in `hour` of the week (UTC) by their working hours and days: checked in
/// the middle of that hour of a reference week (10 March 2031, so with that week's
/// daylight-saving offsets), with out-of-office dates left out (they are one-offs). A paused
/// member works no hour.
pub fn works_in_hour(m: &Member, hour: usize) -> bool {
    let monday = chrono::Utc.with_ymd_and_hms(2031, 3, 10, 0, 0, 0).single().expect("a valid date");
    let at = monday + chrono::Duration::hours(hour as i64) + chrono::Duration::minutes(30);
    let mut m = m.clone();
    m.out_of_office.clear();
    unavailable(&m, at).is_none()
}

/// The member's local date (for daily caps), by their time zone.
pub fn local_day(m: &Member, now: Timestamp) -> NaiveDate {
    let tz: Tz = m.timezone.parse().unwrap_or(chrono_tz::UTC);
    now.with_timezone(&tz).date_naive()
}

/// Why a member cannot take a lead at `now`, if they cannot.
pub fn unavailable(m: &Member, now: Timestamp) -> Option<String> {
    if m.paused {
        return Some("paused".into());
    }
    let tz: Tz = m.timezone.parse().unwrap_or(chrono_tz::UTC);
    let local = now.with_timezone(&tz);
    let today = local.date_naive();
    if m.out_of_office.iter().filter_map(|o| date_range(o).ok()).any(|(a, b)| a <= today && today <= b) {
        return Some("out of office".into());
    }
    let weekday = DAYS[local.weekday().num_days_from_monday() as usize];
    if !m.days.is_empty() && !m.days.iter().any(|d| d.eq_ignore_ascii_case(weekday)) {
        return Some(format!("not a working day ({weekday} in {})", m.timezone));
    }
    if let Some((from, to)) = m.hours.as_deref().and_then(|h| hours(h).ok()) {
        let now_minute = local.hour() * 60 + local.minute();
        let working =
            if from < to { from <= now_minute && now_minute < to } else { now_minute >= from || now_minute < to };
        if !working {
            let (h, min) = (local.hour(), local.minute());
            return Some(format!("outside working hours ({h:02}:{min:02} in {})", m.timezone));
        }
    }
    None
}

/// The pool's slots in turn order: each member once (round robin) or `weight` times, spread out
/// (weighted: smooth interleaving, so weights 2:1 give a, b, a, not a, a, b).
pub fn slots(pool: &Pool) -> Vec<usize> {
    match pool.strategy {
        Strategy::RoundRobin => (0..pool.members.len()).collect(),
        Strategy::Weighted => {
            let weights: Vec<i64> = pool.members.iter().map(|m| i64::from(m.weight.max(1))).collect();
            let total: i64 = weights.iter().sum();
            let mut current = vec![0i64; weights.len()];
            (0..total)
                .map(|_| {
                    for (c, w) in current.iter_mut().zip(&weights) {
                        *c += w;
                    }
                    let best = (0..current.len()).max_by_key(|&i| (current[i], std::cmp::Reverse(i))).unwrap_or(0);
                    current[best] -= total;
                    best
                })
                .collect()
        }
    }
}

/// Picks the member for slot `pointer`. Members unavailable at `now` or `full` (at a capacity
/// cap: the reason) leave the turn order, so the others share their turns evenly (nobody
/// inherits an absent or full member's turns); the pointer's slot among the rest is chosen.
/// Returns the member (or `None` when nobody can take the lead) and everyone passed over, with
/// the reason, in pool order.
pub fn choose<'p>(
    pool: &'p Pool,
    pointer: u64,
    now: Timestamp,
    full: &dyn Fn(&Member) -> Option<String>,
) -> (Option<&'p Member>, Vec<Skip>) {
    let out: Vec<Option<String>> = pool.members.iter().map(|m| unavailable(m, now).or_else(|| full(m))).collect();
    let skipped: Vec<Skip> = pool
        .members
        .iter()
        .zip(&out)
        .filter_map(|(m, reason)| reason.clone().map(|reason| Skip { member: m.id.clone(), reason }))
        .collect();
    let turns: Vec<usize> = slots(pool).into_iter().filter(|&i| out[i].is_none()).collect();
    if turns.is_empty() {
        return (None, skipped);
    }
    let chosen = turns[(pointer % turns.len() as u64) as usize];
    (Some(&pool.members[chosen]), skipped)
}

/// The reason a member with `count` new leads today is full, if their daily cap is reached.
pub fn daily_full(m: &Member, count: u32) -> Option<String> {
    m.max_new_per_day.filter(|max| count >= *max).map(|max| format!("at daily capacity ({max})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn member(id: &str) -> Member {
        Member {
            id: id.into(),
            name: id.to_uppercase(),
            weight: 1,
            max_new_per_day: None,
            max_open: None,
            timezone: "UTC".into(),
            hours: None,
            days: vec![],
            out_of_office: vec![],
            paused: false,
            slack: None,
            meeting_link: None,
            email: None,
        }
    }

    fn pool(members: Vec<Member>, strategy: Strategy) -> Pool {
        Pool { strategy, members, fallback: None, calendar: None, team_channel: None, manager: None }
    }

    fn monday_10_utc() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()
    }

    #[test]
    fn round_robin_takes_members_in_turn() {
        let p = pool(vec![member("a"), member("b"), member("c")], Strategy::RoundRobin);
        let picks: Vec<&str> =
            (0..6).map(|n| choose(&p, n, monday_10_utc(), &|_| None).0.unwrap().id.as_str()).collect();
        assert_eq!(picks, ["a", "b", "c", "a", "b", "c"]);
    }

    #[test]
    fn a_full_member_leaves_the_turns_to_be_shared_evenly() {
        let p = pool(vec![member("a"), member("b"), member("c")], Strategy::RoundRobin);
        let full = |m: &Member| (m.id == "a").then(|| "at daily capacity (1)".to_owned());
        let mut counts = std::collections::HashMap::new();
        for n in 0..300 {
            *counts.entry(choose(&p, n, monday_10_utc(), &full).0.unwrap().id.clone()).or_insert(0) += 1;
        }
        assert_eq!((counts.get("a"), counts["b"], counts["c"]), (None, 150, 150));
    }

    #[test]
    fn weights_are_interleaved_not_bunched() {
        let mut a = member("a");
        a.weight = 2;
        let p = pool(vec![a, member("b")], Strategy::Weighted);
        assert_eq!(slots(&p), [0, 1, 0]);
    }

    #[test]
    fn unavailable_members_are_skipped_with_their_reason() {
        let mut paused = member("paused");
        paused.paused = true;
        let mut away = member("away");
        away.out_of_office = vec!["2026-11-20..2026-11-27".into()];
        let mut asleep = member("asleep");
        asleep.timezone = "America/Los_Angeles".into();
        asleep.hours = Some("09:00-17:00".into());
        let mut full = member("full");
        full.max_new_per_day = Some(3);
        let p = pool(vec![paused, away, asleep, full, member("free")], Strategy::RoundRobin);
        let (chosen, skipped) = choose(&p, 0, monday_10_utc(), &|m| daily_full(m, if m.id == "full" { 3 } else { 0 }));
        assert_eq!(chosen.unwrap().id, "free");
        let reasons: Vec<(&str, &str)> = skipped.iter().map(|s| (s.member.as_str(), s.reason.as_str())).collect();
        assert_eq!(
            reasons,
            [
                ("paused", "paused"),
                ("away", "out of office"),
                ("asleep", "outside working hours (02:00 in America/Los_Angeles)"),
                ("full", "at daily capacity (3)")
            ]
        );
    }

    #[test]
    fn nobody_available_is_none_with_every_reason() {
        let mut weekend = member("weekend");
        weekend.days = vec!["sat".into(), "sun".into()];
        let p = pool(vec![weekend], Strategy::RoundRobin);
        let (chosen, skipped) = choose(&p, 7, monday_10_utc(), &|_| None);
        assert!(chosen.is_none());
        assert_eq!(skipped[0].reason, "not a working day (mon in UTC)");
    }

    #[test]
    fn overnight_shifts_and_whole_days_are_working_hours() {
        let mut night = member("night");
        night.hours = Some("22:00-06:00".into());
        let at = |h| chrono::Utc.with_ymd_and_hms(2026, 11, 23, h, 30, 0).unwrap();
        assert_eq!(unavailable(&night, at(23)), None);
        assert_eq!(unavailable(&night, at(5)), None);
        assert!(unavailable(&night, at(12)).is_some());
        let mut always = member("always");
        always.hours = Some("00:00-24:00".into());
        assert_eq!(unavailable(&always, at(23)), None);
        assert!(check_member(&always).is_empty());
    }

    #[test]
    fn member_settings_are_checked() {
        let mut m = member("x");
        m.timezone = "Mars/Olympus".into();
        m.hours = Some("17:00-17:00".into());
        m.days = vec!["funday".into()];
        m.out_of_office = vec!["2026-13-01".into()];
        assert_eq!(check_member(&m).len(), 4);
    }
}
