//! Metrics as CloudWatch embedded metric format (EMF): one JSON log line per data point, which
//! CloudWatch Logs turns into a metric without any API call from the function.

use serde_json::json;

/// The namespace Baton's metrics live in.
pub const NAMESPACE: &str = "Baton";

/// The EMF line recording `value` of `metric` (a count) with one dimension.
pub fn emf_line(metric: &str, dimension: (&str, &str), value: f64, at: chrono::DateTime<chrono::Utc>) -> String {
    let (name, dim_value) = dimension;
    let mut line = json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                // By the dimension, and in total (what alarms watch).
                "Dimensions": [[name], []],
                "Metrics": [{ "Name": metric, "Unit": "Count" }],
            }],
        },
    });
    line[name] = dim_value.into();
    line[metric] = value.into();
    line.to_string()
}

/// Emits one data point of a count metric on standard output (where Lambda sends it to CloudWatch Logs).
pub fn count(metric: &str, dimension: (&str, &str), value: f64) {
    println!("{}", emf_line(metric, dimension, value, chrono::Utc::now()));
}

#[cfg(test)]
mod tests {
    use super::*;

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
