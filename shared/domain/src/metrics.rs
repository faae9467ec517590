//! Handoff metrics, each with one definition: what a lead contributes ([`LeadFacts`]), and
//! aggregates that add leads one at a time and merge with each other ([`Aggregate`]), with
//! percentiles from a mergeable histogram ([`Histogram`]) stored with them, so a report never
//! needs the leads themselves. [`slices`] names the aggregates a lead is counted in: each
//! [`Period`] (day, ISO week, month, by capture date in UTC) × each [`Dimension`] (all, source,
//! campaign, segment, territory, priority, owner, team, ruleset); a date range is read by
//! merging the periods' aggregates, never by reading leads ([`tiles`]: whole months and edge
//! days). Stores keep each lead's latest [`Contribution`] and each slice's [`Counters`], which
//! change by [`changes`] when a lead's contribution does; [`Figures`] turns an aggregate into
//! the figures every view reports.
//!
//! # Definitions
//! - **Time to first touch** = capture → the first touch ([`crate::touch`] defines which kinds
//!   stop the clock; the earliest by its own time). It is the sum of:
//!   - **system delay**: capture → the owner was notified (Baton's part);
//!   - **human delay**: notified → the first touch (the rep's part; never negative: a touch
//!     recorded before the notification counts as 0).
//!
//!   The notification time is [`Lead::notified_at`] (the first owner's message sent); when it
//!   is unknown, the decision time stands in for it.
//! - **SLA attainment** = leads first touched by the due time of their first assignment ÷ leads
//!   whose outcome is known: touched, or untouched past that due time (a miss). A lead still
//!   untouched and not yet due at the end of the range is **pending**: counted apart, in neither
//!   part of the share. Warnings, breaches and reassignments are counted from the lead's SLA
//!   history.
//! - **Contact, meeting and opportunity rates** = leads with at least one event that counts as
//!   contacted / a meeting / an opportunity ÷ leads assigned to a rep. **Pipeline** is the sum of
//!   the amounts of `opportunity_created` events, per currency (a lead's latest amount counts).
//! - **The speed-to-lead curve**: the same three rates per response-time bucket of time to first
//!   touch ([`SpeedBucket`]: under 5 min, 5–30 min, 30–60 min, 1–24 h, over 24 h), each with its
//!   sample size. Untouched leads are in no bucket.
//! - Only leads assigned to a rep count (nurture, spam and disqualification at routing are
//!   counted as captured only). An event that arrives late changes the lead's facts: the
//!   aggregate takes the lead's old facts out and the new ones in ([`Aggregate::remove`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Lead, Rung, Timestamp, TouchKind};

/// How long a response took, in buckets, for the speed-to-lead curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeedBucket {
    Under5m,
    From5To30m,
    From30To60m,
    From1To24h,
    Over24h,
}

impl SpeedBucket {
    /// Every bucket, fastest first.
    pub const ALL: [SpeedBucket; 5] =
        [Self::Under5m, Self::From5To30m, Self::From30To60m, Self::From1To24h, Self::Over24h];

    /// The bucket of a response after `seconds` (each bucket includes its lower bound).
    pub fn of(seconds: u64) -> Self {
        match seconds {
            s if s < 5 * 60 => Self::Under5m,
            s if s < 30 * 60 => Self::From5To30m,
            s if s < 60 * 60 => Self::From30To60m,
            s if s < 24 * 3600 => Self::From1To24h,
            _ => Self::Over24h,
        }
    }

    /// A label for people, such as `5–30 min`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Under5m => "under 5 min",
            Self::From5To30m => "5–30 min",
            Self::From30To60m => "30–60 min",
            Self::From1To24h => "1–24 h",
            Self::Over24h => "over 24 h",
        }
    }
}

/// Where a lead stands against its SLA at the end of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaOutcome {
    /// Touched by the due time of its first assignment.
    Met,
    /// Touched after it, or untouched and past it.
    Missed,
    /// Untouched and not yet due: in neither part of the attainment share.
    Pending,
}

/// What one lead contributes to every metric, as of a time (the end of the range).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadFacts {
    pub captured_at: Timestamp,
    /// Capture → notified, in seconds.
    pub system_delay: Option<u64>,
    /// Notified → first touch, in seconds (0 when touched before the notification).
    pub human_delay: Option<u64>,
    /// Capture → first touch, in seconds.
    pub time_to_first_touch: Option<u64>,
    pub sla: SlaOutcome,
    pub contacted: bool,
    pub meeting: bool,
    pub opportunity: bool,
    /// The latest `opportunity_created` amount: currency and ten-thousandths of its unit.
    pub pipeline: Option<(String, i128)>,
    pub warnings: u32,
    pub breaches: u32,
    pub reassignments: u32,
}

fn seconds(from: Timestamp, to: Timestamp) -> u64 {
    u64::try_from((to - from).num_seconds()).unwrap_or(0)
}

impl LeadFacts {
    /// The facts of `lead` as of `as_of`, when it was assigned to a rep (else `None`), notified at
    /// `notified_at` (the decision time when unknown). Events after `as_of` are not counted.
    pub fn of(lead: &Lead, notified_at: Option<Timestamp>, as_of: Timestamp) -> Option<Self> {
        let decision = lead.decision().filter(|d| d.disposition.is_none())?;
        let notified = notified_at.unwrap_or(decision.decided_at).max(lead.captured_at);
        let events: Vec<_> = lead.touches.iter().filter(|t| t.at <= as_of).collect();
        let first = events.iter().filter(|t| t.kind.stops_the_clock()).map(|t| t.at).min();
        let due = lead.sla_history.first().map_or(decision.first_touch_due_at, |s| s.due_at);
        let sla = match first {
            Some(at) if at <= due => SlaOutcome::Met,
            Some(_) => SlaOutcome::Missed,
            None if as_of > due => SlaOutcome::Missed,
            None => SlaOutcome::Pending,
        };
        let pipeline = events
            .iter()
            .rev()
            .filter(|t| t.kind == TouchKind::OpportunityCreated)
            .find_map(|t| t.amount.as_ref())
            .map(|m| (m.currency.clone(), m.ten_thousandths()));
        let rungs = |rung: Rung| {
            let n = lead.sla_history.iter().filter(|s| s.rung == rung && s.at <= as_of).count();
            u32::try_from(n).unwrap_or(u32::MAX)
        };
        Some(Self {
            captured_at: lead.captured_at,
            system_delay: (notified <= as_of).then(|| seconds(lead.captured_at, notified)),
            human_delay: first.map(|at| seconds(notified, at.max(notified))),
            time_to_first_touch: first.map(|at| seconds(lead.captured_at, at)),
            sla,
            contacted: events.iter().any(|t| t.kind.counts_as_contacted()),
            meeting: events.iter().any(|t| t.kind.counts_as_meeting()),
            opportunity: events.iter().any(|t| t.kind.counts_as_opportunity()),
            pipeline,
            warnings: rungs(Rung::Warning),
            breaches: rungs(Rung::Breach),
            reassignments: rungs(Rung::Reassignment),
        })
    }

    /// The response-time bucket, when the lead was touched.
    pub fn bucket(&self) -> Option<SpeedBucket> {
        self.time_to_first_touch.map(SpeedBucket::of)
    }
}

/// A histogram of durations in seconds that merges by adding counts: exact below 64 s, then 32
/// buckets per power of two (every value within about 3% of its bucket's bounds), sparse.
/// Quantiles are read from the bucket bounds, so they agree with the exact value to that
/// precision, whatever the number of values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// Bucket index → how many values fell in it.
    pub counts: BTreeMap<u32, u64>,
}

const SUB_BUCKETS: u32 = 32;
const EXACT_BELOW: u64 = 64;

impl Histogram {
    /// The bucket of `value`.
    pub fn index(value: u64) -> u32 {
        if value < EXACT_BELOW {
            return value as u32;
        }
        let exponent = 63 - value.leading_zeros(); // ≥ 6
        let offset = ((value >> (exponent - 5)) & u64::from(SUB_BUCKETS - 1)) as u32;
        EXACT_BELOW as u32 + (exponent - 6) * SUB_BUCKETS + offset
    }

    /// The smallest value in bucket `index`.
    pub fn lower_bound(index: u32) -> u64 {
        if u64::from(index) < EXACT_BELOW {
            return u64::from(index);
        }
        let i = index - EXACT_BELOW as u32;
        let exponent = i / SUB_BUCKETS + 6;
        let offset = u64::from(i % SUB_BUCKETS);
        (1u64 << exponent) + (offset << (exponent - 5))
    }

    /// Adds one value.
    pub fn add(&mut self, value: u64) {
        *self.counts.entry(Self::index(value)).or_default() += 1;
    }

    /// Takes one value out (a lead whose facts changed); a value never added is ignored.
    pub fn remove(&mut self, value: u64) {
        let index = Self::index(value);
        if let Some(n) = self.counts.get_mut(&index) {
            *n -= 1;
            if *n == 0 {
                self.counts.remove(&index);
            }
        }
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (index, n) in &other.counts {
            *self.counts.entry(*index).or_default() += n;
        }
    }

    /// How many values it holds.
    pub fn len(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The `q` quantile (0.5 for the median), as the lower bound of the bucket holding the
    /// value of rank ⌈q·n⌉ (the nearest-rank definition); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, count) in &self.counts {
            seen += count;
            if seen >= rank {
                return Some(Self::lower_bound(*index));
            }
        }
        self.counts.keys().next_back().map(|i| Self::lower_bound(*i))
    }
}

/// Outcome counts for a set of leads: the sample and how many reached each outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcomes {
    pub leads: u64,
    pub contacted: u64,
    pub meetings: u64,
    pub opportunities: u64,
}

impl Outcomes {
    fn apply(&mut self, f: &LeadFacts, sign: i64) {
        let step = |n: &mut u64, yes: bool| {
            if yes {
                *n = n.saturating_add_signed(sign);
            }
        };
        step(&mut self.leads, true);
        step(&mut self.contacted, f.contacted);
        step(&mut self.meetings, f.meeting);
        step(&mut self.opportunities, f.opportunity);
    }

    fn merge(&mut self, o: &Outcomes) {
        self.leads += o.leads;
        self.contacted += o.contacted;
        self.meetings += o.meetings;
        self.opportunities += o.opportunities;
    }

    /// A count as a share of the sample (`None` for an empty sample).
    pub fn rate(&self, count: u64) -> Option<f64> {
        (self.leads > 0).then(|| count as f64 / self.leads as f64)
    }
}

/// Every metric for a set of leads (one slice: a day, a source, an owner, …), kept by adding
/// each lead's facts once and merged across slices by adding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregate {
    pub outcomes: Outcomes,
    pub system_delay: Histogram,
    pub human_delay: Histogram,
    pub time_to_first_touch: Histogram,
    pub sla_met: u64,
    pub sla_missed: u64,
    pub sla_pending: u64,
    pub warnings: u64,
    pub breaches: u64,
    pub reassignments: u64,
    /// Currency → the pipeline in ten-thousandths of its unit.
    pub pipeline: BTreeMap<String, i128>,
    /// The speed-to-lead curve: outcomes per response-time bucket.
    pub by_speed: BTreeMap<SpeedBucket, Outcomes>,
}

impl Aggregate {
    fn apply(&mut self, f: &LeadFacts, sign: i64) {
        let count = |n: &mut u64, by: u64| *n = n.saturating_add_signed(sign * by as i64);
        self.outcomes.apply(f, sign);
        for (histogram, value) in [
            (&mut self.system_delay, f.system_delay),
            (&mut self.human_delay, f.human_delay),
            (&mut self.time_to_first_touch, f.time_to_first_touch),
        ] {
            match (value, sign > 0) {
                (Some(v), true) => histogram.add(v),
                (Some(v), false) => histogram.remove(v),
                (None, _) => {}
            }
        }
        match f.sla {
            SlaOutcome::Met => count(&mut self.sla_met, 1),
            SlaOutcome::Missed => count(&mut self.sla_missed, 1),
            SlaOutcome::Pending => count(&mut self.sla_pending, 1),
        }
        count(&mut self.warnings, u64::from(f.warnings));
        count(&mut self.breaches, u64::from(f.breaches));
        count(&mut self.reassignments, u64::from(f.reassignments));
        if let Some((currency, amount)) = &f.pipeline {
            *self.pipeline.entry(currency.clone()).or_default() += i128::from(sign) * amount;
        }
        if let Some(bucket) = f.bucket() {
            self.by_speed.entry(bucket).or_default().apply(f, sign);
        }
    }

    /// Adds one lead's facts.
    pub fn add(&mut self, facts: &LeadFacts) {
        self.apply(facts, 1);
    }

    /// Takes out facts added before (a lead whose facts changed: remove the old, add the new).
    pub fn remove(&mut self, facts: &LeadFacts) {
        self.apply(facts, -1);
    }

    /// Adds every lead of `other`.
    pub fn merge(&mut self, other: &Aggregate) {
        self.outcomes.merge(&other.outcomes);
        self.system_delay.merge(&other.system_delay);
        self.human_delay.merge(&other.human_delay);
        self.time_to_first_touch.merge(&other.time_to_first_touch);
        self.sla_met += other.sla_met;
        self.sla_missed += other.sla_missed;
        self.sla_pending += other.sla_pending;
        self.warnings += other.warnings;
        self.breaches += other.breaches;
        self.reassignments += other.reassignments;
        for (currency, amount) in &other.pipeline {
            *self.pipeline.entry(currency.clone()).or_default() += amount;
        }
        for (bucket, outcomes) in &other.by_speed {
            self.by_speed.entry(*bucket).or_default().merge(outcomes);
        }
    }

    /// SLA attainment: met ÷ (met + missed); `None` when no lead's outcome is known yet.
    pub fn attainment(&self) -> Option<f64> {
        let known = self.sla_met + self.sla_missed;
        (known > 0).then(|| self.sla_met as f64 / known as f64)
    }
}

/// A calendar period a lead is counted in, by its capture date in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    /// ISO weeks, starting on Monday.
    Week,
    Month,
}

impl Period {
    pub const ALL: [Period; 3] = [Self::Day, Self::Week, Self::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// The first day of the period holding `at`.
    pub fn start(self, at: Timestamp) -> chrono::NaiveDate {
        self.first_day(at.date_naive())
    }

    /// The first day of the period holding `day`.
    pub fn first_day(self, day: chrono::NaiveDate) -> chrono::NaiveDate {
        use chrono::Datelike;
        match self {
            Self::Day => day,
            Self::Week => day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Self::Month => day.with_day(1).unwrap_or(day),
        }
    }
}

/// What a figure can be sliced by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Every lead: the whole team.
    All,
    /// `source.utm_source`.
    Source,
    /// `source.utm_campaign`.
    Campaign,
    /// The matched account's segment.
    Segment,
    /// The lead's country (its territory).
    Territory,
    Priority,
    Owner,
    /// The pool the owner was chosen from.
    Team,
    /// The ruleset and version that decided.
    Ruleset,
    /// An experiment's arm, `<experiment>:a` or `<experiment>:b`: a lead counts once in each
    /// experiment it takes part in, and in none when it takes part in none.
    Experiment,
}

impl Dimension {
    pub const ALL: [Dimension; 10] = [
        Self::All,
        Self::Source,
        Self::Campaign,
        Self::Segment,
        Self::Territory,
        Self::Priority,
        Self::Owner,
        Self::Team,
        Self::Ruleset,
        Self::Experiment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Source => "source",
            Self::Campaign => "campaign",
            Self::Segment => "segment",
            Self::Territory => "territory",
            Self::Priority => "priority",
            Self::Owner => "owner",
            Self::Team => "team",
            Self::Ruleset => "ruleset",
            Self::Experiment => "experiment",
        }
    }
}

/// The value a lead has where it has none for a dimension (no campaign, no account).
pub const NONE: &str = "(none)";

/// One aggregate a lead is counted in: a period, and a dimension's value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Slice {
    pub period: Period,
    pub start: chrono::NaiveDate,
    pub dimension: Dimension,
    pub value: String,
}

impl Slice {
    /// A stable text key, such as `day:2026-11-24:owner=rep-jonas`.
    pub fn key(&self) -> String {
        format!("{}:{}:{}={}", self.period.as_str(), self.start, self.dimension.as_str(), self.value)
    }
}

/// Every slice `lead` is counted in (each period × each dimension, by its capture time and its
/// current decision), or none when it was not assigned to a rep. A lead counts once per slice;
/// a reassigned lead counts for its current owner and team.
pub fn slices(lead: &Lead) -> Vec<Slice> {
    let Some(d) = lead.decision().filter(|d| d.disposition.is_none()) else { return Vec::new() };
    let value = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).unwrap_or(NONE).to_owned();
    let values = [
        (Dimension::All, "all".to_owned()),
        (Dimension::Source, value(lead.source.utm_source.as_deref())),
        (Dimension::Campaign, value(lead.source.utm_campaign.as_deref())),
        (Dimension::Segment, value(lead.account.as_ref().and_then(|a| a.segment.as_deref()))),
        (Dimension::Territory, value(lead.country.as_deref())),
        (Dimension::Priority, d.score.priority.as_str().to_owned()),
        (Dimension::Owner, d.owner.id.clone()),
        (Dimension::Team, value(d.pool.as_deref())),
        (Dimension::Ruleset, value(d.ruleset.as_deref())),
    ];
    let arms: Vec<(Dimension, String)> = d.experiments.iter().map(|a| (Dimension::Experiment, a.key())).collect();
    Period::ALL
        .into_iter()
        .flat_map(|period| {
            values.iter().chain(&arms).map(move |(dimension, value)| Slice {
                period,
                start: period.start(lead.captured_at),
                dimension: *dimension,
                value: value.clone(),
            })
        })
        .collect()
}

/// What one lead adds to the aggregates, as of a time: the slices it is counted in and its
/// facts there. Stores keep each lead's latest contribution, so a later one replaces it exactly
/// ([`changes`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub slices: Vec<Slice>,
    pub facts: LeadFacts,
}

impl Contribution {
    /// What `lead` contributes as of `as_of` (its notification time from the lead), or `None`
    /// when it was not assigned to a rep.
    pub fn of(lead: &Lead, as_of: Timestamp) -> Option<Self> {
        let facts = LeadFacts::of(lead, lead.notified_at, as_of)?;
        Some(Self { slices: slices(lead), facts })
    }

    /// The value of `dimension` for this lead (its day slice's), or [`NONE`].
    pub fn value(&self, dimension: Dimension) -> &str {
        self.slices
            .iter()
            .find(|s| s.period == Period::Day && s.dimension == dimension)
            .map_or(NONE, |s| s.value.as_str())
    }
}

/// An aggregate as named counters that add: how stores keep it, so that a lead's change is one
/// atomic addition per slice, whatever else is being added at the same time. The names:
/// `leads`, `contacted`, `meetings`, `opportunities`, `sla_met`, `sla_missed`, `sla_pending`,
/// `warnings`, `breaches`, `reassignments`; `sys_<bucket>`, `hum_<bucket>`, `ttft_<bucket>` for
/// the histograms' buckets; `pipe_<currency>` in ten-thousandths; `spd_<speed bucket>_<outcome>`
/// for the curve.
pub type Counters = BTreeMap<String, i64>;

const HISTOGRAMS: [&str; 3] = ["sys", "hum", "ttft"];
const OUTCOMES: [&str; 4] = ["leads", "contacted", "meetings", "opportunities"];

impl SpeedBucket {
    fn key(self) -> &'static str {
        match self {
            Self::Under5m => "under5m",
            Self::From5To30m => "5to30m",
            Self::From30To60m => "30to60m",
            Self::From1To24h => "1to24h",
            Self::Over24h => "over24h",
        }
    }
}

impl Outcomes {
    fn counts(&self) -> [u64; 4] {
        [self.leads, self.contacted, self.meetings, self.opportunities]
    }

    fn set(&mut self, name: &str, n: u64) {
        match name {
            "leads" => self.leads = n,
            "contacted" => self.contacted = n,
            "meetings" => self.meetings = n,
            "opportunities" => self.opportunities = n,
            _ => {}
        }
    }
}

impl Aggregate {
    /// The aggregate as counters (zero counters left out).
    pub fn counters(&self) -> Counters {
        let mut c = Counters::new();
        let mut put = |name: String, n: i64| {
            if n != 0 {
                c.insert(name, n);
            }
        };
        let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        for (name, n) in OUTCOMES.iter().zip(self.outcomes.counts()) {
            put((*name).to_owned(), signed(n));
        }
        for (name, n) in [
            ("sla_met", self.sla_met),
            ("sla_missed", self.sla_missed),
            ("sla_pending", self.sla_pending),
            ("warnings", self.warnings),
            ("breaches", self.breaches),
            ("reassignments", self.reassignments),
        ] {
            put(name.to_owned(), signed(n));
        }
        for (prefix, h) in HISTOGRAMS.iter().zip([&self.system_delay, &self.human_delay, &self.time_to_first_touch]) {
            for (index, n) in &h.counts {
                put(format!("{prefix}_{index}"), signed(*n));
            }
        }
        for (currency, amount) in &self.pipeline {
            put(format!("pipe_{currency}"), i64::try_from(*amount).unwrap_or(i64::MAX));
        }
        for (bucket, o) in &self.by_speed {
            for (name, n) in OUTCOMES.iter().zip(o.counts()) {
                put(format!("spd_{}_{name}", bucket.key()), signed(n));
            }
        }
        c
    }

    /// The aggregate the counters describe (unknown names and counts below zero are ignored).
    pub fn from_counters(counters: &Counters) -> Self {
        let mut a = Aggregate::default();
        for (name, n) in counters {
            let Ok(count) = u64::try_from(*n) else { continue };
            if count == 0 {
                continue;
            }
            match name.as_str() {
                "sla_met" => a.sla_met = count,
                "sla_missed" => a.sla_missed = count,
                "sla_pending" => a.sla_pending = count,
                "warnings" => a.warnings = count,
                "breaches" => a.breaches = count,
                "reassignments" => a.reassignments = count,
                o if OUTCOMES.contains(&o) => a.outcomes.set(o, count),
                other => {
                    let Some((prefix, rest)) = other.split_once('_') else { continue };
                    match prefix {
                        "pipe" => {
                            a.pipeline.insert(rest.to_owned(), i128::from(*n));
                        }
                        "spd" => {
                            let Some((bucket, outcome)) = rest.split_once('_') else { continue };
                            if let Some(b) = SpeedBucket::ALL.into_iter().find(|b| b.key() == bucket) {
                                a.by_speed.entry(b).or_default().set(outcome, count);
                            }
                        }
                        _ => {
                            let Ok(index) = rest.parse::<u32>() else { continue };
                            let h = match prefix {
                                "sys" => &mut a.system_delay,
                                "hum" => &mut a.human_delay,
                                "ttft" => &mut a.time_to_first_touch,
                                _ => continue,
                            };
                            h.counts.insert(index, count);
                        }
                    }
                }
            }
        }
        a
    }
}

impl LeadFacts {
    /// The lead's facts as counters: an aggregate of this one lead.
    pub fn counters(&self) -> Counters {
        let mut a = Aggregate::default();
        a.add(self);
        a.counters()
    }
}

/// What to add to each slice when a lead's contribution goes from `old` to `new`: new minus old
/// for the slices it stays in, the old taken out of slices it left (a reassigned lead's former
/// owner), the new added to those it joined. Slices whose counters do not change are left out.
pub fn changes(old: Option<&Contribution>, new: Option<&Contribution>) -> Vec<(Slice, Counters)> {
    let mut out: BTreeMap<Slice, Counters> = BTreeMap::new();
    for (contribution, sign) in [(old, -1i64), (new, 1)] {
        let Some(c) = contribution else { continue };
        let counters = c.facts.counters();
        for slice in &c.slices {
            let entry = out.entry(slice.clone()).or_default();
            for (name, n) in &counters {
                *entry.entry(name.clone()).or_default() += sign * n;
            }
        }
    }
    out.into_iter()
        .filter_map(|(slice, mut counters)| {
            counters.retain(|_, n| *n != 0);
            (!counters.is_empty()).then_some((slice, counters))
        })
        .collect()
}

/// The fewest aggregates that cover the days `from..=to` exactly: whole calendar months as
/// month aggregates, the days at either edge as day aggregates. A year is read from at most 12
/// month and about 60 day aggregates per value, however many leads it holds.
pub fn tiles(from: chrono::NaiveDate, to: chrono::NaiveDate) -> Vec<(Period, chrono::NaiveDate)> {
    use chrono::Datelike;
    let mut out = Vec::new();
    let mut day = from;
    while day <= to {
        if day.day() == 1 {
            let next = Period::Month.next(day);
            if next - chrono::Duration::days(1) <= to {
                out.push((Period::Month, day));
                day = next;
                continue;
            }
        }
        out.push((Period::Day, day));
        day += chrono::Duration::days(1);
    }
    out
}

impl Period {
    /// The first day of the period after the one starting at `start`.
    pub fn next(self, start: chrono::NaiveDate) -> chrono::NaiveDate {
        match self {
            Self::Day => start + chrono::Duration::days(1),
            Self::Week => start + chrono::Duration::days(7),
            Self::Month => start.checked_add_months(chrono::Months::new(1)).unwrap_or(start),
        }
    }

    /// The period named `name` (`day`, `week`, `month`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl Dimension {
    /// The dimension named `name` (`source`, `owner`, …).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }
}

/// The confidence level of every interval the metrics report.
pub const CONFIDENCE: f64 = 0.95;
/// The normal quantile for [`CONFIDENCE`] (two-sided).
const Z: f64 = 1.959_963_984_540_054;

/// A difference between two arms (B − A) with its 95% confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// The interval leaves out zero: unlikely to be noise (at 95%).
    pub clear: bool,
}

impl Difference {
    fn new(estimate: f64, low: f64, high: f64) -> Self {
        Self { estimate, low, high, clear: low > 0.0 || high < 0.0 }
    }
}

/// The Wilson score interval of `x` successes in `n` trials (n > 0).
fn wilson(x: u64, n: u64) -> (f64, f64) {
    let (x, n) = (x as f64, n as f64);
    let p = x / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The difference of two rates, `xb/nb − xa/na`, with Newcombe's hybrid score interval (from
/// each rate's Wilson interval), which keeps its coverage for small samples and rates near 0
/// or 1; `None` when an arm is empty.
pub fn rate_difference(xa: u64, na: u64, xb: u64, nb: u64) -> Option<Difference> {
    if na == 0 || nb == 0 {
        return None;
    }
    let (pa, pb) = (xa as f64 / na as f64, xb as f64 / nb as f64);
    let ((la, ua), (lb, ub)) = (wilson(xa, na), wilson(xb, nb));
    let d = pb - pa;
    let low = d - ((pb - lb).powi(2) + (ua - pa).powi(2)).sqrt();
    let high = d + ((ub - pb).powi(2) + (pa - la).powi(2)).sqrt();
    Some(Difference::new(d, low, high))
}

impl Histogram {
    /// The values' count, mean and sample variance, each value taken at the middle of its
    /// bucket (exact below 64 s, within about 1.5% above).
    pub fn moments(&self) -> (u64, f64, f64) {
        let n = self.len();
        if n == 0 {
            return (0, 0.0, 0.0);
        }
        let middle = |i: u32| {
            let (lo, hi) = (Self::lower_bound(i) as f64, Self::lower_bound(i + 1) as f64);
            if u64::from(i) < EXACT_BELOW { lo } else { (lo + hi - 1.0) / 2.0 }
        };
        let mean = self.counts.iter().map(|(i, c)| middle(*i) * *c as f64).sum::<f64>() / n as f64;
        let squares = self.counts.iter().map(|(i, c)| (middle(*i) - mean).powi(2) * *c as f64).sum::<f64>();
        (n, mean, if n > 1 { squares / (n - 1) as f64 } else { 0.0 })
    }
}

/// The difference of two histograms' means, B − A, with Welch's interval (normal quantile: the
/// samples an experiment needs are large enough); `None` when an arm has fewer than 2 values.
pub fn mean_difference(a: &Histogram, b: &Histogram) -> Option<Difference> {
    let ((na, ma, va), (nb, mb, vb)) = (a.moments(), b.moments());
    if na < 2 || nb < 2 {
        return None;
    }
    let d = mb - ma;
    let se = (va / na as f64 + vb / nb as f64).sqrt();
    Some(Difference::new(d, d - Z * se, d + Z * se))
}

/// One arm of an experiment, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmFigures {
    /// Leads assigned to a rep in this arm: the sample.
    pub leads: u64,
    pub meetings: u64,
    pub meeting_rate: Option<f64>,
    /// Leads first touched: the sample of the time to first touch.
    pub touched: u64,
    pub mean_time_to_first_touch_seconds: Option<f64>,
    pub median_time_to_first_touch_seconds: Option<u64>,
    pub sla_attainment: Option<f64>,
}

impl ArmFigures {
    pub fn of(a: &Aggregate) -> Self {
        let (touched, mean, _) = a.time_to_first_touch.moments();
        Self {
            leads: a.outcomes.leads,
            meetings: a.outcomes.meetings,
            meeting_rate: a.outcomes.rate(a.outcomes.meetings),
            touched,
            mean_time_to_first_touch_seconds: (touched > 0).then_some(mean),
            median_time_to_first_touch_seconds: a.time_to_first_touch.quantile(0.5),
            sla_attainment: a.attainment(),
        }
    }
}

/// An experiment's result: each arm's figures and the differences B − A in meeting rate and in
/// mean time to first touch, with 95% confidence intervals. A difference is `clear` when its
/// interval leaves out zero; until then, the arms are not told apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentResult {
    pub experiment: String,
    pub a: ArmFigures,
    pub b: ArmFigures,
    pub confidence: f64,
    /// B's meeting rate − A's (a share: 0.05 is five percentage points).
    pub meeting_rate_difference: Option<Difference>,
    /// B's mean time to first touch − A's, in seconds (negative: B is faster).
    pub time_to_first_touch_difference: Option<Difference>,
}

impl ExperimentResult {
    pub fn of(experiment: &str, a: &Aggregate, b: &Aggregate) -> Self {
        Self {
            experiment: experiment.to_owned(),
            a: ArmFigures::of(a),
            b: ArmFigures::of(b),
            confidence: CONFIDENCE,
            meeting_rate_difference: rate_difference(
                a.outcomes.meetings,
                a.outcomes.leads,
                b.outcomes.meetings,
                b.outcomes.leads,
            ),
            time_to_first_touch_difference: mean_difference(&a.time_to_first_touch, &b.time_to_first_touch),
        }
    }

    /// The results of every experiment in the aggregates of the experiment dimension (values
    /// `<experiment>:a` and `<experiment>:b`; an arm with no leads is empty), by name.
    pub fn all(by_arm: &BTreeMap<String, Aggregate>) -> Vec<Self> {
        let mut arms: BTreeMap<&str, [Aggregate; 2]> = BTreeMap::new();
        for (value, aggregate) in by_arm {
            let Some((name, arm)) = value.rsplit_once(':') else { continue };
            let i = match arm {
                "a" => 0,
                "b" => 1,
                _ => continue,
            };
            arms.entry(name).or_default()[i].merge(aggregate);
        }
        arms.into_iter().map(|(name, [a, b])| Self::of(name, &a, &b)).collect()
    }
}

/// A duration metric as reported: the sample size, median, p90, and how many fell in each
/// response-time bucket (by the histogram's buckets: a value within 3% of a bucket edge may be
/// counted on its other side).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Durations {
    pub count: u64,
    pub median_seconds: Option<u64>,
    pub p90_seconds: Option<u64>,
    pub distribution: Vec<BucketCount>,
}

/// How many values fell in one response-time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketCount {
    pub bucket: SpeedBucket,
    pub label: &'static str,
    pub count: u64,
}

/// One point of the speed-to-lead curve: the rates of the leads first touched within a bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedPoint {
    pub bucket: SpeedBucket,
    pub label: &'static str,
    #[serde(flatten)]
    pub rates: Rates,
}

impl Durations {
    pub fn of(h: &Histogram) -> Self {
        let mut distribution: Vec<BucketCount> =
            SpeedBucket::ALL.iter().map(|b| BucketCount { bucket: *b, label: b.label(), count: 0 }).collect();
        for (index, n) in &h.counts {
            let bucket = SpeedBucket::of(Histogram::lower_bound(*index));
            if let Some(entry) = distribution.iter_mut().find(|c| c.bucket == bucket) {
                entry.count += n;
            }
        }
        Self { count: h.len(), median_seconds: h.quantile(0.5), p90_seconds: h.quantile(0.9), distribution }
    }
}

/// Outcome counts with their rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rates {
    pub leads: u64,
    pub contacted: u64,
    pub meetings: u64,
    pub opportunities: u64,
    pub contact_rate: Option<f64>,
    pub meeting_rate: Option<f64>,
    pub opportunity_rate: Option<f64>,
}

impl Rates {
    pub fn of(o: &Outcomes) -> Self {
        Self {
            leads: o.leads,
            contacted: o.contacted,
            meetings: o.meetings,
            opportunities: o.opportunities,
            contact_rate: o.rate(o.contacted),
            meeting_rate: o.rate(o.meetings),
            opportunity_rate: o.rate(o.opportunities),
        }
    }
}

/// Every figure of an aggregate, as every view reports it (the API, the CSV export, the
/// dashboard): one place that turns counts into the figures the definitions name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub time_to_first_touch: Durations,
    pub system_delay: Durations,
    pub human_delay: Durations,
    /// Met ÷ (met + missed).
    pub sla_attainment: Option<f64>,
    pub sla_met: u64,
    pub sla_missed: u64,
    pub sla_pending: u64,
    pub warnings: u64,
    pub breaches: u64,
    pub reassignments: u64,
    pub outcomes: Rates,
    /// Currency → amount (in the currency's units).
    pub pipeline: BTreeMap<String, f64>,
    /// The speed-to-lead curve, fastest bucket first, every bucket present.
    pub speed_to_lead: Vec<SpeedPoint>,
}

impl Figures {
    pub fn of(a: &Aggregate) -> Self {
        Self {
            time_to_first_touch: Durations::of(&a.time_to_first_touch),
            system_delay: Durations::of(&a.system_delay),
            human_delay: Durations::of(&a.human_delay),
            sla_attainment: a.attainment(),
            sla_met: a.sla_met,
            sla_missed: a.sla_missed,
            sla_pending: a.sla_pending,
            warnings: a.warnings,
            breaches: a.breaches,
            reassignments: a.reassignments,
            outcomes: Rates::of(&a.outcomes),
            pipeline: a.pipeline.iter().map(|(c, n)| (c.clone(), *n as f64 / 10_000.0)).collect(),
            speed_to_lead: SpeedBucket::ALL
                .iter()
                .map(|b| SpeedPoint {
                    bucket: *b,
                    label: b.label(),
                    rates: Rates::of(&a.by_speed.get(b).cloned().unwrap_or_default()),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission, Money, Ruleset, Touch, decide};

    fn t(minutes: i64) -> Timestamp {
        "2026-11-24T09:00:00Z".parse::<Timestamp>().unwrap() + chrono::Duration::minutes(minutes)
    }

    /// A hot lead (15-minute target in the default ruleset) captured and decided at minute 0.
    fn assigned() -> Lead {
        let lead = LeadSubmission::from_json(
            br#"{"email":"a@corp.example","phone":"+49 30 1234567","job_title":"VP Engineering","country":"DE",
                "source":{"form_type":"demo_request"}}"#,
        )
        .unwrap()
        .into_lead(LeadId::generate(), t(0))
        .unwrap();
        let lead = lead.assign(decide(&lead, &Ruleset::default_ruleset(), t(0))).unwrap().lead;
        assert_eq!(lead.decision().unwrap().first_touch_due_at, t(15));
        lead
    }

    fn touch(lead: Lead, kind: TouchKind, minutes: i64) -> Lead {
        lead.touch(Touch::new(kind, t(minutes), "ana", "api")).unwrap().lead
    }

    #[test]
    fn time_to_first_touch_is_the_system_part_plus_the_human_part() {
        let lead = touch(assigned(), TouchKind::Called, 12);
        let f = LeadFacts::of(&lead, Some(t(0) + chrono::Duration::seconds(2)), t(60)).unwrap();
        assert_eq!((f.system_delay, f.human_delay, f.time_to_first_touch), (Some(2), Some(718), Some(720)));
        assert_eq!((f.sla, f.bucket()), (SlaOutcome::Met, Some(SpeedBucket::From5To30m)));
        assert!(!f.contacted, "a call logged is a touch, not a conversation");
    }

    #[test]
    fn an_open_lead_is_pending_until_its_due_time_and_missed_after() {
        let lead = assigned();
        assert_eq!(LeadFacts::of(&lead, None, t(10)).unwrap().sla, SlaOutcome::Pending);
        let missed = LeadFacts::of(&lead, None, t(16)).unwrap();
        assert_eq!((missed.sla, missed.time_to_first_touch, missed.bucket()), (SlaOutcome::Missed, None, None));
    }

    #[test]
    fn a_late_event_dated_earlier_moves_the_first_touch_and_events_after_the_range_do_not_count() {
        let lead = touch(assigned(), TouchKind::Called, 40);
        assert_eq!(LeadFacts::of(&lead, None, t(60)).unwrap().sla, SlaOutcome::Missed);
        let lead = touch(lead, TouchKind::Emailed, 3);
        let f = LeadFacts::of(&lead, None, t(60)).unwrap();
        assert_eq!((f.time_to_first_touch, f.sla), (Some(180), SlaOutcome::Met));
        let before = LeadFacts::of(&lead, None, t(2)).unwrap();
        assert_eq!((before.time_to_first_touch, before.sla), (None, SlaOutcome::Pending));
    }

    #[test]
    fn outcomes_use_the_one_definition_and_the_latest_amount_is_the_pipeline() {
        let mut lead = touch(assigned(), TouchKind::MeetingBooked, 4);
        for (amount, minutes) in [("1000", 50), ("2500.5", 90)] {
            let mut t = Touch::new(TouchKind::OpportunityCreated, t(minutes), "ana", "crm");
            t.amount = Some(Money::parse(amount, "EUR").unwrap());
            lead = lead.touch(t).unwrap().lead;
        }
        let f = LeadFacts::of(&lead, None, t(120)).unwrap();
        assert!(f.contacted && f.meeting && f.opportunity, "{f:?}");
        assert_eq!(f.pipeline, Some(("EUR".into(), 25_005_000)));
    }

    #[test]
    fn a_lead_is_counted_once_in_each_period_and_dimension() {
        let lead = assigned();
        let all = slices(&lead);
        // In every dimension but the experiments', which it takes no part in.
        assert_eq!(all.len(), Period::ALL.len() * (Dimension::ALL.len() - 1));
        let keys: Vec<String> = all.iter().map(Slice::key).collect();
        for key in [
            "day:2026-11-24:all=all",
            "week:2026-11-23:owner=rep-jonas",
            "month:2026-11-01:priority=hot",
            "day:2026-11-24:territory=DE",
            "day:2026-11-24:campaign=(none)",
            "day:2026-11-24:team=europe",
        ] {
            assert!(keys.contains(&key.to_owned()), "{key} not in {keys:?}");
        }
        let captured = LeadSubmission { email: Some("x@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), t(0))
            .unwrap();
        assert!(slices(&captured).is_empty(), "not assigned: in no slice");
        let mut decision = lead.decision().unwrap().clone();
        decision.experiments = ["x", "y"]
            .map(|e| crate::rules::ExperimentArm { experiment: e.into(), variant: crate::rules::Arm::B })
            .to_vec();
        let mut in_two = lead.clone();
        in_two.stage = crate::Stage::Assigned { decision };
        let keys: Vec<String> = slices(&in_two).iter().map(Slice::key).collect();
        assert_eq!(keys.len(), all.len() + 2 * Period::ALL.len(), "once per experiment it takes part in");
        assert!(keys.contains(&"week:2026-11-23:experiment=y:b".to_owned()), "{keys:?}");
    }

    #[test]
    fn rate_differences_match_newcombes_worked_example() {
        // Newcombe (1998), Statistics in Medicine 17:873, table II, example (a): 56/70 − 48/80,
        // method 10: 0.2000, 95% interval 0.0524 to 0.3339 (here as B − A).
        let d = rate_difference(48, 80, 56, 70).unwrap();
        assert!((d.estimate - 0.2).abs() < 1e-9);
        assert!((d.low - 0.0524).abs() < 5e-4 && (d.high - 0.3339).abs() < 5e-4, "{d:?}");
        assert!(d.clear);
        // Equal arms are never told apart.
        let same = rate_difference(30, 100, 30, 100).unwrap();
        assert!(!same.clear && same.low < 0.0 && same.high > 0.0);
        assert_eq!(rate_difference(0, 0, 1, 2), None, "an empty arm has no difference");
    }

    #[test]
    fn mean_differences_follow_welch_and_noise_is_not_clear() {
        let hist = |values: &[u64]| {
            let mut h = Histogram::default();
            values.iter().for_each(|v| h.add(*v));
            h
        };
        // Exact below 64 s: a = 10, 12, …, 28 (mean 19, variance 36.67), b = a + 20.
        let a: Vec<u64> = (0..10).map(|i| 10 + 2 * i).collect();
        let b: Vec<u64> = a.iter().map(|v| v + 20).collect();
        let d = mean_difference(&hist(&a), &hist(&b)).unwrap();
        let se = (2.0 * 36.666_666 / 10.0_f64).sqrt();
        assert!((d.estimate - 20.0).abs() < 1e-9);
        assert!((d.low - (20.0 - Z * se)).abs() < 1e-4 && d.clear, "{d:?}");
        let noise = mean_difference(&hist(&a), &hist(&a)).unwrap();
        assert!(!noise.clear && noise.estimate == 0.0);
        assert_eq!(mean_difference(&hist(&[5]), &hist(&b)), None);
    }

    #[test]
    fn experiment_results_pair_each_experiments_arms() {
        let mut by_arm = BTreeMap::new();
        let mut met = Aggregate::default();
        let mut facts = LeadFacts::of(&touch(assigned(), TouchKind::MeetingBooked, 3), None, t(60)).unwrap();
        for _ in 0..40 {
            met.add(&facts);
        }
        facts.meeting = false;
        facts.time_to_first_touch = Some(3600);
        let mut slow = Aggregate::default();
        for _ in 0..40 {
            slow.add(&facts);
        }
        by_arm.insert("call-hot:a".to_owned(), slow);
        by_arm.insert("call-hot:b".to_owned(), met);
        by_arm.insert("other:a".to_owned(), Aggregate::default());
        let results = ExperimentResult::all(&by_arm);
        assert_eq!(results.iter().map(|r| r.experiment.as_str()).collect::<Vec<_>>(), ["call-hot", "other"]);
        let r = &results[0];
        assert_eq!((r.a.leads, r.b.leads, r.b.meetings), (40, 40, 40));
        assert!(r.meeting_rate_difference.as_ref().unwrap().clear);
        assert!(r.time_to_first_touch_difference.as_ref().unwrap().estimate < -3000.0, "B is faster");
        assert_eq!(results[1].meeting_rate_difference, None, "no leads yet: no difference");
    }

    #[test]
    fn a_lead_not_assigned_to_a_rep_has_no_facts() {
        let lead = LeadSubmission { email: Some("x@gmail.com".into()), ..Default::default() }
            .into_lead(LeadId::generate(), t(0))
            .unwrap();
        assert_eq!(LeadFacts::of(&lead, None, t(10)), None, "captured, not decided");
    }

    #[test]
    fn the_histogram_is_exact_below_a_minute_and_within_three_percent_above() {
        for v in (0..64).chain([64, 65, 100, 1_000, 3_599, 86_400, 1_000_000, u64::from(u32::MAX)]) {
            let lower = Histogram::lower_bound(Histogram::index(v));
            assert!(lower <= v, "{v}: lower bound {lower}");
            assert!((v - lower) as f64 <= v as f64 / 32.0, "{v}: lower bound {lower}");
            assert_eq!(Histogram::index(lower), Histogram::index(v), "{v}");
        }
        assert_eq!(Histogram::lower_bound(Histogram::index(63)), 63);
    }

    #[test]
    fn quantiles_are_nearest_rank_and_merging_equals_adding_everything_to_one() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        let mut all = Histogram::default();
        for v in 1..=100u64 {
            if v % 3 == 0 {
                a.add(v)
            } else {
                b.add(v)
            }
            all.add(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
        assert_eq!(
            (all.quantile(0.5), all.quantile(0.9)),
            (Some(50), Some(90)),
            "50 is exact; 90 is in the bucket [90, 91]"
        );
        assert_eq!(Histogram::default().quantile(0.5), None);
        all.remove(100);
        assert_eq!(all.len(), 99);
    }

    #[test]
    fn an_aggregate_adds_removes_and_merges_to_the_same_figures() {
        let fast = LeadFacts::of(&touch(assigned(), TouchKind::Contacted, 2), None, t(60)).unwrap();
        let slow = LeadFacts::of(&touch(assigned(), TouchKind::Called, 120), None, t(180)).unwrap();
        let open = LeadFacts::of(&assigned(), None, t(5)).unwrap();
        let mut one = Aggregate::default();
        for f in [&fast, &slow, &open] {
            one.add(f);
        }
        assert_eq!((one.sla_met, one.sla_missed, one.sla_pending), (1, 1, 1));
        assert_eq!(one.attainment(), Some(0.5), "a pending lead is in neither part");
        assert_eq!(one.outcomes, Outcomes { leads: 3, contacted: 1, meetings: 0, opportunities: 0 });
        assert_eq!(
            one.by_speed[&SpeedBucket::Under5m],
            Outcomes { leads: 1, contacted: 1, meetings: 0, opportunities: 0 }
        );
        assert_eq!(one.by_speed[&SpeedBucket::From1To24h].leads, 1);
        assert_eq!(one.time_to_first_touch.len(), 2);

        let mut left = Aggregate::default();
        left.add(&fast);
        let mut right = Aggregate::default();
        right.add(&slow);
        right.add(&open);
        left.merge(&right);
        assert_eq!(left, one);

        one.remove(&open);
        let mut two = Aggregate::default();
        two.add(&fast);
        two.add(&slow);
        assert_eq!(one.outcomes, two.outcomes);
        assert_eq!((one.sla_pending, one.time_to_first_touch.clone()), (0, two.time_to_first_touch.clone()));
    }

    #[test]
    fn counters_add_up_to_the_aggregate_they_describe() {
        let mut lead = touch(assigned(), TouchKind::MeetingBooked, 4);
        let mut o = Touch::new(TouchKind::OpportunityCreated, t(30), "ana", "crm");
        o.amount = Some(Money::parse("1200", "USD").unwrap());
        lead = lead.touch(o).unwrap().lead;
        let facts = [
            LeadFacts::of(&lead, Some(t(1)), t(60)).unwrap(),
            LeadFacts::of(&touch(assigned(), TouchKind::Called, 120), None, t(180)).unwrap(),
            LeadFacts::of(&assigned(), None, t(5)).unwrap(),
        ];
        let mut aggregate = Aggregate::default();
        let mut sum = Counters::new();
        for f in &facts {
            aggregate.add(f);
            for (name, n) in f.counters() {
                *sum.entry(name).or_default() += n;
            }
        }
        assert_eq!(Aggregate::from_counters(&sum), aggregate);
        assert_eq!(aggregate.counters(), sum);
        assert_eq!(
            (sum["leads"], sum["meetings"], sum["pipe_USD"], sum["spd_under5m_meetings"]),
            (3, 1, 12_000_000, 1)
        );
    }

    #[test]
    fn a_reassigned_lead_moves_from_its_old_owner_to_its_new_one_and_stays_once_in_the_team() {
        let lead = assigned();
        let before = Contribution::of(&lead, t(5)).unwrap();
        let mut after = Contribution::of(&touch(lead, TouchKind::Contacted, 20), t(30)).unwrap();
        for s in after.slices.iter_mut().filter(|s| s.dimension == Dimension::Owner) {
            s.value = "rep-ana".into();
        }
        let moved = changes(Some(&before), Some(&after));
        let find = |key: &str| moved.iter().find(|(s, _)| s.key() == key).map(|(_, c)| c.clone());
        let old_owner = find("day:2026-11-24:owner=rep-jonas").unwrap();
        assert_eq!((old_owner["leads"], old_owner["sla_pending"]), (-1, -1), "taken out whole");
        let new_owner = find("day:2026-11-24:owner=rep-ana").unwrap();
        assert_eq!((new_owner["leads"], new_owner["contacted"], new_owner["sla_missed"]), (1, 1, 1));
        let all = find("day:2026-11-24:all=all").unwrap();
        assert_eq!(all.get("leads"), None, "still one lead in the whole team's count");
        assert_eq!((all["sla_pending"], all["sla_missed"], all["contacted"]), (-1, 1, 1));
        assert!(changes(Some(&after), Some(&after)).is_empty(), "a replay changes nothing");
        let gone = changes(Some(&after), None);
        assert_eq!(gone.len(), after.slices.len());
        assert!(gone.iter().all(|(_, c)| c["leads"] == -1));
    }

    #[test]
    fn a_range_is_tiled_by_whole_months_and_edge_days() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        let tiles = tiles(d("2026-01-30"), d("2026-04-02"));
        let expected: Vec<(Period, chrono::NaiveDate)> = vec![
            (Period::Day, d("2026-01-30")),
            (Period::Day, d("2026-01-31")),
            (Period::Month, d("2026-02-01")),
            (Period::Month, d("2026-03-01")),
            (Period::Day, d("2026-04-01")),
            (Period::Day, d("2026-04-02")),
        ];
        assert_eq!(tiles, expected);
        assert_eq!(super::tiles(d("2026-02-01"), d("2026-02-27")).len(), 27, "a partial month is days");
        assert!(super::tiles(d("2026-02-02"), d("2026-02-01")).is_empty());
    }

    #[test]
    fn only_the_first_notification_ends_the_system_delay() {
        let lead = assigned();
        let once = lead.notified(t(0) + chrono::Duration::seconds(3)).unwrap().lead;
        assert_eq!(once.notified(t(20)).unwrap_err(), crate::Refusal::AlreadyRecorded);
        let c = Contribution::of(&touch(once, TouchKind::Contacted, 1), t(60)).unwrap();
        assert_eq!((c.facts.system_delay, c.facts.human_delay), (Some(3), Some(57)));
        assert_eq!((c.value(Dimension::Owner), c.value(Dimension::Campaign)), ("rep-jonas", NONE));
        let captured = LeadSubmission { email: Some("x@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), t(0))
            .unwrap();
        assert!(captured.notified(t(1)).is_err(), "nobody to notify yet");
    }

    #[test]
    fn figures_report_the_definitions_with_every_bucket_present() {
        let mut a = Aggregate::default();
        a.add(&LeadFacts::of(&touch(assigned(), TouchKind::Contacted, 2), Some(t(0)), t(60)).unwrap());
        a.add(&LeadFacts::of(&touch(assigned(), TouchKind::MeetingBooked, 45), Some(t(0)), t(60)).unwrap());
        a.add(&LeadFacts::of(&assigned(), Some(t(0)), t(60)).unwrap());
        let f = Figures::of(&a);
        assert_eq!((f.time_to_first_touch.count, f.time_to_first_touch.median_seconds), (2, Some(120)));
        assert_eq!(f.time_to_first_touch.p90_seconds, Some(Histogram::lower_bound(Histogram::index(2700))));
        assert_eq!(f.sla_attainment, Some(1.0 / 3.0), "one met, one late, the open one past due is missed: 1 of 3");
        assert_eq!((f.sla_met, f.sla_missed), (1, 2));
        assert_eq!(f.outcomes.contact_rate, Some(2.0 / 3.0), "a meeting counts as contacted");
        assert_eq!(f.speed_to_lead.len(), 5);
        let first = &f.speed_to_lead[0];
        assert_eq!(first.bucket, SpeedBucket::Under5m);
        assert_eq!(first.rates, Rates::of(&Outcomes { leads: 1, contacted: 1, meetings: 0, opportunities: 0 }));
        assert_eq!(f.speed_to_lead[2].rates.meeting_rate, Some(1.0));
        assert_eq!(f.speed_to_lead[4].rates.leads, 0);
        let third = &f.time_to_first_touch.distribution[2];
        assert_eq!((third.bucket, third.count), (SpeedBucket::From30To60m, 1));
    }

    proptest::proptest! {
        /// Against the exact nearest-rank quantile of the sorted values: never above it, and
        /// within 1/32 of it; and splitting the values over two histograms changes nothing.
        #[test]
        fn quantiles_agree_with_the_sorted_values(values in proptest::collection::vec(0u64..10_000_000, 1..300), split in 0usize..300, q in 0.0f64..=1.0) {
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
            let exact = sorted[rank - 1];
            let (mut left, mut right, mut all) = (Histogram::default(), Histogram::default(), Histogram::default());
            for (i, v) in values.iter().enumerate() {
                if i < split { left.add(*v) } else { right.add(*v) }
                all.add(*v);
            }
            left.merge(&right);
            proptest::prop_assert_eq!(&left, &all);
            let got = all.quantile(q).unwrap();
            proptest::prop_assert!(got <= exact && (exact - got) as f64 <= exact as f64 / 32.0, "q {} exact {} got {}", q, exact, got);
        }
    }
}
