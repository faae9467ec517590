//! Reading the handoff metrics for a date range: totals and per-value figures from the fewest
//! aggregates that cover the range ([`metrics::tiles`]: whole months, and days at the edges),
//! and a series per day, week or month. Each read is a handful of queries whatever the number
//! of leads in the range: its cost follows the periods and values read, never the leads.

use std::collections::BTreeMap;

use baton_adapters::{Error, MetricsStore};
use baton_domain::metrics::{self, Aggregate, Dimension, Period};
use chrono::NaiveDate;

/// The report reader.
#[derive(Clone, Copy)]
pub struct Report<'a> {
    store: &'a dyn MetricsStore,
}

impl<'a> Report<'a> {
    pub fn new(store: &'a dyn MetricsStore) -> Self {
        Self { store }
    }

    /// Each value of `dimension` over the days `from..=to`, with its aggregate: at most one
    /// query for the whole months and one for each edge's run of days.
    pub async fn by(
        &self,
        dimension: Dimension,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<String, Aggregate>, Error> {
        let tiles = metrics::tiles(from, to);
        let mut out: BTreeMap<String, Aggregate> = BTreeMap::new();
        for (period, first, last) in runs(&tiles) {
            for (slice, aggregate) in self.store.aggregates(period, dimension, first, last).await? {
                out.entry(slice.value).or_default().merge(&aggregate);
            }
        }
        Ok(out)
    }

    /// Every lead captured in `from..=to`.
    pub async fn total(&self, from: NaiveDate, to: NaiveDate) -> Result<Aggregate, Error> {
        Ok(self.by(Dimension::All, from, to).await?.remove("all").unwrap_or_default())
    }

    /// The whole team per `period` (each period that holds a day of the range, whole), in start
    /// order; periods without leads are present and empty.
    pub async fn series(
        &self,
        period: Period,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, Aggregate)>, Error> {
        let start = period.first_day(from);
        let mut found: BTreeMap<NaiveDate, Aggregate> = self
            .store
            .aggregates(period, Dimension::All, start, to)
            .await?
            .into_iter()
            .map(|(s, a)| (s.start, a))
            .collect();
        let mut out = Vec::new();
        let mut at = start;
        while at <= to {
            out.push((at, found.remove(&at).unwrap_or_default()));
            at = period.next(at);
        }
        Ok(out)
    }
}

/// The tiles as contiguous runs of one period: (period, first start, last start).
fn runs(tiles: &[(Period, NaiveDate)]) -> Vec<(Period, NaiveDate, NaiveDate)> {
    let mut out: Vec<(Period, NaiveDate, NaiveDate)> = Vec::new();
    for (period, start) in tiles {
        match out.last_mut() {
            Some((p, _, last)) if p == period && period.next(*last) == *start => *last = *start,
            _ => out.push((*period, *start, *start)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_reads_one_run_of_months_between_two_runs_of_days() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let runs = runs(&metrics::tiles(d("2026-01-20"), d("2026-06-03")));
        assert_eq!(
            runs,
            vec![
                (Period::Day, d("2026-01-20"), d("2026-01-31")),
                (Period::Month, d("2026-02-01"), d("2026-05-01")),
                (Period::Day, d("2026-06-01"), d("2026-06-03")),
            ]
        );
    }
}
