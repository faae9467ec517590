//! Staffing: the SLA attainment a roster can expect, hour by hour of the week, from a history's
//! arrival pattern, and what changes when members are away.
//!
//! The model, stated so that its results can be judged:
//! - **Arrivals**: the history's leads per pool and hour of the week (UTC), divided by the weeks
//!   the history spans, as a Poisson rate. Which pool a lead goes to is the ruleset's decision
//!   ([`super::replay::Replay`]); leads to a person or the fallback are left out.
//! - **Members on**: each pool member available in that hour by their working hours and days, in
//!   one reference week (10 March 2031, so with that week's daylight-saving offsets; out-of-office
//!   dates are left out: they are one-offs). Away members count as off.
//! - **Handling time**: the minutes a member spends on one lead before they can take the next,
//!   taken from the history's touches (the median gap between consecutive first touches, less
//!   than two hours apart, of leads the replay gives one owner: a rep working through a queue;
//!   the history does not say who really touched them), or given.
//! - **Target**: each lead's first-touch target from its replayed decision (due minus capture).
//! - **Queue**: the members of a pool as an M/M/c queue in each hour (Erlang C): the chance a lead
//!   waits longer than its target. A lead arriving when nobody is on waits until the next hour
//!   with someone on, and meets its target only if that leaves time.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Ruleset;
use super::pool;
use super::replay::{HistoricalLead, Replay, capture_order};

/// What the prediction assumed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assumptions {
    pub weeks: f64,
    pub handling_minutes: f64,
    /// `history` (from touches) or `given`.
    pub handling_from: &'static str,
    /// Gaps the handling time was taken from (0 when given or when there were too few).
    pub handling_samples: usize,
    pub away: Vec<String>,
}

/// One pool in one hour of the week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourForecast {
    pub pool: String,
    /// `Mon 09:00` (UTC).
    pub hour: String,
    /// Leads a week arriving in this hour.
    pub arrivals: f64,
    pub members_on: u32,
    /// The share of these leads predicted to be touched within their target, 0–1.
    pub attainment: f64,
}

/// A roster's forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub assumptions: Assumptions,
    /// Per pool, the predicted attainment over all its arrivals, 0–1.
    pub pools: Vec<(String, f64)>,
    /// Over every pool's arrivals.
    pub overall: f64,
    /// The hours with arrivals, worst first.
    pub hours: Vec<HourForecast>,
}

/// Erlang C: the chance an arrival waits at all, for `c` servers carrying `a` erlangs.
fn erlang_c(c: u32, a: f64) -> f64 {
    if c == 0 || a >= f64::from(c) {
        return 1.0;
    }
    // Erlang B by its stable recurrence, then C from B.
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let rho = a / f64::from(c);
    b / (1.0 - rho + rho * b)
}

/// The chance a lead waits at most `t` minutes, with `c` members on, `lambda` arrivals a minute
/// and `mu` leads a minute per member.
fn within(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    if c == 0 {
        return 0.0;
    }
    let a = lambda / mu;
    if a >= f64::from(c) {
        return 0.0; // the queue grows without end in this hour
    }
    let wait = erlang_c(c, a);
    (1.0 - wait * (-(f64::from(c) * mu - lambda) * t).exp()).clamp(0.0, 1.0)
}

/// The median gap between an owner's consecutive first touches under two hours apart.
pub fn handling_minutes(history: &[HistoricalLead], owners: &[String]) -> Option<(f64, usize)> {
    let mut by_owner: BTreeMap<&str, Vec<crate::Timestamp>> = BTreeMap::new();
    for (h, owner) in history.iter().zip(owners) {
        if let Some(at) = h.touched_at {
            by_owner.entry(owner.as_str()).or_default().push(at);
        }
    }
    let mut gaps: Vec<f64> = Vec::new();
    for times in by_owner.values_mut() {
        times.sort_unstable();
        for w in times.windows(2) {
            let gap = (w[1] - w[0]).num_seconds() as f64 / 60.0;
            if gap > 0.0 && gap < 120.0 {
                gaps.push(gap);
            }
        }
    }
    if gaps.len() < 5 {
        return None;
    }
    gaps.sort_by(f64::total_cmp);
    Some((gaps[gaps.len() / 2], gaps.len()))
}

/// The forecast for `ruleset`'s roster (less the `away` members) over `history`'s arrivals,
/// with `handling` minutes per lead when given (else from the history's touches, else 15).
pub fn forecast(ruleset: &Ruleset, history: &[HistoricalLead], away: &[String], handling: Option<f64>) -> Forecast {
    let mut replay = Replay::new(ruleset);
    let order = capture_order(history);
    let mut owners = vec![String::new(); history.len()];
    // Per (pool, hour of week): arrivals and the sum of their targets in minutes.
    let mut cells: BTreeMap<(String, usize), (f64, f64)> = BTreeMap::new();
    for &i in &order {
        let h = &history[i];
        let decision = replay.decide(&h.lead, h.touched_at);
        owners[i] = decision.owner.id.clone();
        if let Some(pool) = decision.pool.clone().filter(|p| ruleset.pools.contains_key(p)) {
            let target = (decision.first_touch_due_at - h.lead.captured_at).num_seconds() as f64 / 60.0;
            let cell = cells.entry((pool, pool::hour_of_week(h.lead.captured_at))).or_default();
            cell.0 += 1.0;
            cell.1 += target.max(0.0);
        }
    }
    let span = match (order.first(), order.last()) {
        (Some(&a), Some(&b)) => (history[b].lead.captured_at - history[a].lead.captured_at).num_seconds() as f64,
        _ => 0.0,
    };
    let weeks = (span / (7.0 * 86_400.0)).max(1.0);
    let (handling_minutes, handling_from, handling_samples) = match handling {
        Some(m) => (m.max(0.1), "given", 0),
        None => match handling_minutes(history, &owners) {
            Some((m, n)) => (m.max(0.1), "history", n),
            None => (15.0, "default (too few touches in the history)", 0),
        },
    };
    let mu = 1.0 / handling_minutes;
    // Each pool's members on, per hour of the week, worked out once.
    let roster: BTreeMap<&str, Vec<u32>> = ruleset
        .pools
        .iter()
        .map(|(name, p)| {
            let on = (0..168)
                .map(|h| p.members.iter().filter(|m| !away.contains(&m.id) && pool::works_in_hour(m, h)).count() as u32)
                .collect();
            (name.as_str(), on)
        })
        .collect();
    let on_at = |pool: &str, hour: usize| roster.get(pool).map_or(0, |on| on[hour % 168]);
    let mut hours = Vec::new();
    let mut per_pool: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for ((pool_name, hour), (count, target_sum)) in &cells {
        let arrivals = count / weeks;
        let lambda = arrivals / 60.0;
        let target = target_sum / count;
        let on = on_at(pool_name, *hour);
        let attainment = if on > 0 {
            within(on, lambda, mu, target)
        } else {
            // Nobody on: the lead waits for the next hour with someone on.
            let next = (1..168).find(|d| on_at(pool_name, (hour + d) % 168) > 0);
            match next {
                Some(d) if (d as f64 - 0.5) * 60.0 < target => {
                    let next_hour = (hour + d) % 168;
                    let waited = (d as f64 - 0.5) * 60.0;
                    let next_lambda = cells.get(&(pool_name.clone(), next_hour)).map_or(0.0, |c| c.0 / weeks / 60.0);
                    within(on_at(pool_name, next_hour), next_lambda + lambda, mu, target - waited)
                }
                _ => 0.0,
            }
        };
        let entry = per_pool.entry(pool_name.clone()).or_default();
        entry.0 += arrivals * attainment;
        entry.1 += arrivals;
        hours.push(HourForecast {
            pool: pool_name.clone(),
            hour: pool::hour_label(*hour),
            arrivals,
            members_on: on,
            attainment,
        });
    }
    hours.sort_by(|a, b| a.attainment.total_cmp(&b.attainment).then_with(|| b.arrivals.total_cmp(&a.arrivals)));
    let (met, all) = per_pool.values().fold((0.0, 0.0), |(m, a), (pm, pa)| (m + pm, a + pa));
    Forecast {
        assumptions: Assumptions { weeks, handling_minutes, handling_from, handling_samples, away: away.to_vec() },
        pools: per_pool.into_iter().map(|(p, (m, a))| (p, if a > 0.0 { m / a } else { 0.0 })).collect(),
        overall: if all > 0.0 { met / all } else { 0.0 },
        hours,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn erlang_c_matches_the_textbook() {
        // 2 servers, 1 erlang: C = 1/3.
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(erlang_c(1, 1.5), 1.0, "overloaded");
        // One server, rho 0.5, mu 1/min: P(wait <= t) = 1 - 0.5 e^{-0.5 t}.
        assert!((within(1, 0.5, 1.0, 2.0) - (1.0 - 0.5 * (-1.0f64).exp())).abs() < 1e-9);
        assert_eq!(within(0, 0.5, 1.0, 2.0), 0.0);
    }

    fn history(n: usize, minutes_apart: i64) -> Vec<HistoricalLead> {
        let start = Utc.with_ymd_and_hms(2026, 11, 2, 14, 0, 0).unwrap(); // a Monday, 14:00 UTC
        (0..n)
            .map(|i| {
                let at = start + Duration::minutes(i as i64 * minutes_apart);
                let body = format!(r#"{{"email":"p{i}@acme{i}.example","country":"US","employee_count":500,"source":{{"form_type":"demo_request"}}}}"#);
                let lead = crate::LeadSubmission::from_json(body.as_bytes())
                    .unwrap()
                    .into_lead(crate::LeadId::generate(), at)
                    .unwrap();
                HistoricalLead { lead, touched_at: Some(at + Duration::minutes(3)) }
            })
            .collect()
    }

    #[test]
    fn fewer_members_predict_lower_attainment() {
        let ruleset = Ruleset::default_ruleset();
        let h = history(40, 2);
        let full = forecast(&ruleset, &h, &[], Some(6.0));
        let short = forecast(&ruleset, &h, &["rep-riley".to_owned()], Some(6.0));
        assert_eq!(full.assumptions.handling_from, "given");
        assert!(full.overall > short.overall, "{} vs {}", full.overall, short.overall);
        assert!(short.hours.iter().all(|h| h.members_on == 1), "{:?}", short.hours);
        let nobody = forecast(&ruleset, &h, &["rep-riley".to_owned(), "rep-avery".to_owned()], Some(6.0));
        assert_eq!(nobody.overall, 0.0, "nobody on, nobody to answer");
    }

    #[test]
    fn the_handling_time_comes_from_the_touches_when_not_given() {
        let ruleset = Ruleset::default_ruleset();
        let f = forecast(&ruleset, &history(40, 4), &[], None);
        assert_eq!(f.assumptions.handling_from, "history");
        assert!(f.assumptions.handling_samples >= 5);
        assert!(f.assumptions.handling_minutes > 0.0 && f.assumptions.handling_minutes < 120.0);
    }
}
