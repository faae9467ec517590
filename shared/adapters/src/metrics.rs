//! Metrics as CloudWatch embedded metric format (EMF): one JSON log line per data point, which
//! CloudWatch Logs turns into a metric without any API call from the function.
//!
//! | metric | dimension | emitted by |
//! |---|---|---|
//! | `LeadsCaptured` | `Outcome` (`created`, `merged`, `spam`) | capture |
//! | `LeadsRouted` | `Outcome` (`assigned`, `nurture`, `disqualified`) | route |
//! | `FallbackUsed` | `Priority` (the fallback queue took the lead) | route |
//! | `SlaWarnings`, `SlaBreaches`, `Reassignments` | `Wait` (`first_touch`) | SLA sweep |
//! | `StageLatency` (ms) | `Stage` (`capture`, `route`, `notify`) | capture, route, notify |
//! | `NotificationFailures` | `Channel` | notify |
//! | `CorruptLeads` | `Wait` | SLA sweep |

use std::cell::RefCell;

use serde_json::json;

/// The namespace Baton's metrics live in.
pub const NAMESPACE: &str = "Baton";

/// What a metric's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// The EMF line recording `value` of `metric` (a count) with one dimension.
pub fn emf_line(metric: &str, dimension: (&str, &str), value: f64, at: chrono::DateTime<chrono::Utc>) -> String {
    emf_line_in(metric, Unit::Count, dimension, value, at)
}

/// The EMF line recording `value` of `metric` in `unit`, by one dimension and in total.
pub fn emf_line_in(
    metric: &str,
    unit: Unit,
    dimension: (&str, &str),
    value: f64,
    at: chrono::DateTime<chrono::Utc>,
) -> String {
    let (name, dim_value) = dimension;
    let mut line = json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                // By the dimension, and in total (what alarms watch).
                "Dimensions": [[name], []],
                "Metrics": [{ "Name": metric, "Unit": unit.as_str() }],
            }],
        },
    });
    line[name] = dim_value.into();
    line[metric] = value.into();
    line.to_string()
}

thread_local! {
    /// Lines emitted on this thread while a [`Tap`] is open (tests read what the functions emit
    /// through it; a test's single-threaded runtime keeps its work on its own thread).
    static TAPPED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

fn emit(line: String) {
    TAPPED.with(|t| {
        if let Some(lines) = t.borrow_mut().as_mut() {
            lines.push(line.clone());
        }
    });
    // In Lambda, standard output goes to CloudWatch Logs, which reads the line as a metric;
    // elsewhere (baton-local, tests) the line is only traced, so a terminal is not flooded.
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        println!("{line}");
    } else {
        tracing::debug!(target: "baton::metrics", "{line}");
    }
}

/// Emits one data point of a count metric (on standard output in Lambda, which sends it to CloudWatch Logs).
pub fn count(metric: &str, dimension: (&str, &str), value: f64) {
    emit(emf_line(metric, dimension, value, chrono::Utc::now()));
}

/// Emits how long `stage` took for one lead (`StageLatency`, in milliseconds, by `Stage`):
/// `capture` (the request), `route` (capture → decision), `notify` (capture → the owner's
/// message sent).
pub fn latency(stage: &str, elapsed: chrono::Duration) {
    let ms = elapsed.num_microseconds().map_or(elapsed.num_milliseconds() as f64, |us| us as f64 / 1000.0);
    emit(emf_line_in("StageLatency", Unit::Milliseconds, ("Stage", stage), ms.max(0.0), chrono::Utc::now()));
}

/// Records every metric line emitted on this thread from now until it is dropped (opening a
/// second replaces the first's record). For tests: other tests' threads do not reach it.
pub struct Tap(());

impl Tap {
    pub fn open() -> Self {
        TAPPED.with(|t| *t.borrow_mut() = Some(Vec::new()));
        Self(())
    }

    /// The data points recorded so far: (metric, dimension value, value).
    pub fn points(&self) -> Vec<(String, String, f64)> {
        let lines = TAPPED.with(|t| t.borrow().clone().unwrap_or_default());
        lines
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| {
                let m = &v["_aws"]["CloudWatchMetrics"][0];
                let metric = m["Metrics"][0]["Name"].as_str()?.to_owned();
                let dim = m["Dimensions"][0][0].as_str()?;
                Some((metric.clone(), v[dim].as_str()?.to_owned(), v[&metric].as_f64()?))
            })
            .collect()
    }

    /// The sum of `metric`'s values with dimension value `value`.
    pub fn sum(&self, metric: &str, value: &str) -> f64 {
        self.points().iter().filter(|(m, v, _)| m == metric && v == value).map(|(_, _, n)| n).sum()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        TAPPED.with(|t| *t.borrow_mut() = None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latency_is_in_milliseconds_and_a_tap_reads_it_back() {
        let tap = Tap::open();
        latency("route", chrono::Duration::microseconds(2_500));
        count("LeadsRouted", ("Outcome", "assigned"), 1.0);
        assert_eq!(
            tap.points(),
            [("StageLatency".into(), "route".into(), 2.5), ("LeadsRouted".into(), "assigned".into(), 1.0)]
        );
        let line: serde_json::Value = serde_json::from_str(&emf_line_in(
            "StageLatency",
            Unit::Milliseconds,
            ("Stage", "route"),
            2.5,
            chrono::Utc::now(),
        ))
        .unwrap();
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"], "Milliseconds");
    }

    #[test]
    fn an_emf_line_names_its_metric_dimension_and_value() {
        let at = chrono::DateTime::from_timestamp(1_795_511_700, 0).unwrap();
        let line: serde_json::Value =
            serde_json::from_str(&emf_line("NotificationFailures", ("Channel", "slack"), 1.0, at)).unwrap();
        assert_eq!(line["_aws"]["Timestamp"], 1_795_511_700_000i64);
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Baton");
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["Channel"], []]));
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "NotificationFailures");
        assert_eq!((line["Channel"].as_str(), line["NotificationFailures"].as_f64()), (Some("slack"), Some(1.0)));
    }
}
