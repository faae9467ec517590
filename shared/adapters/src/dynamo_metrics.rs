//! [`MetricsStore`] on the leads table (see [`crate::dynamo`] for the rest of its layout):
//! - each lead's latest contribution at `metrics#lead#<id>`: `rev` (the lead revision it is of)
//!   and `contribution` (JSON); while it counts somewhere, also `group_key` `facts#<capture day>`
//!   and `group_member` `<lead id>`, so the lead-level export reads a day's leads in id order;
//! - each slice's counters at `metrics#slice#<slice key>` ([`Slice::key`]): one number
//!   attribute `c_<counter>` per counter ([`Counters`]), `slice` (JSON), and `group_key`
//!   `slice#<period>#<dimension>` with `group_member` `<start>#<value>`, so the slices of one
//!   period and dimension over a range are one query of [`GROUP_INDEX`].
//!
//! A record is one transaction: the lead's item, conditioned on the revision read (or on its
//! absence), and an `ADD` of each slice's change ([`metrics::changes`]); at most
//! 1 + 2 × 27 items. `ADD`s commute, so concurrent leads never overwrite each other; a lost race
//! on the lead's own item reads again. The index is eventually consistent: a dashboard may lag a
//! write by the index's propagation (usually well under a second).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use baton_domain::LeadId;
use baton_domain::metrics::{self, Aggregate, Contribution, Counters, Dimension, Period, Slice};

use crate::Error;
use crate::dynamo::{Item, SERVICE, Transaction, get_item, put, sdk_error, transact};
use crate::ports::MetricsStore;

/// The sparse index of metrics items: partition `group_key`, sort `group_member`.
pub const GROUP_INDEX: &str = "by-group";

/// How many times a record is tried when another writer changed the lead's item first.
const ATTEMPTS: u32 = 8;

/// A [`MetricsStore`] on one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoMetrics {
    client: Client,
    table: String,
}

impl DynamoMetrics {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// The lead's recorded revision and contribution, if any.
    async fn recorded(&self, id: &LeadId) -> Result<Option<(u64, Option<Contribution>)>, Error> {
        let Some(item) = get_item(&self.client, &self.table, lead_key(id)).await? else { return Ok(None) };
        let rev = item
            .get("rev")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| Error::Corrupt(format!("metrics item of lead {id} has no `rev`")))?;
        let contribution = match item.get("contribution").and_then(|v| v.as_s().ok()) {
            Some(json) => Some(
                serde_json::from_str(json).map_err(|e| Error::Corrupt(format!("metrics item of lead {id}: {e}")))?,
            ),
            None => None,
        };
        Ok(Some((rev, contribution)))
    }

    fn lead_item(
        &self,
        id: &LeadId,
        revision: u64,
        contribution: Option<&Contribution>,
        old: Option<u64>,
    ) -> Result<TransactWriteItem, Error> {
        let mut item = Item::from([
            ("pk".to_owned(), AttributeValue::S(lead_key(id))),
            ("rev".to_owned(), AttributeValue::N(revision.to_string())),
        ]);
        if let Some(c) = contribution {
            let json = serde_json::to_string(c).map_err(|e| Error::Corrupt(e.to_string()))?;
            item.insert("contribution".into(), AttributeValue::S(json));
            item.insert("group_key".into(), AttributeValue::S(format!("facts#{}", c.facts.captured_at.date_naive())));
            item.insert("group_member".into(), AttributeValue::S(id.to_string()));
        }
        match old {
            None => put(&self.table, item, "attribute_not_exists(pk)", vec![]),
            Some(rev) => put(&self.table, item, "rev = :old", vec![(":old", AttributeValue::N(rev.to_string()))]),
        }
    }

    fn slice_update(&self, slice: &Slice, change: &Counters) -> Result<TransactWriteItem, Error> {
        let json = serde_json::to_string(slice).map_err(|e| Error::Corrupt(e.to_string()))?;
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("metrics#slice#{}", slice.key())))
            .expression_attribute_names("#g", "group_key")
            .expression_attribute_names("#m", "group_member")
            .expression_attribute_names("#s", "slice")
            .expression_attribute_values(":g", AttributeValue::S(group_key(slice.period, slice.dimension)))
            .expression_attribute_values(":m", AttributeValue::S(format!("{}#{}", slice.start, slice.value)))
            .expression_attribute_values(":s", AttributeValue::S(json));
        let mut adds = Vec::new();
        for (i, (name, n)) in change.iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#c{i}"), format!("c_{name}"))
                .expression_attribute_values(format!(":c{i}"), AttributeValue::N(n.to_string()));
            adds.push(format!("#c{i} :c{i}"));
        }
        let update = update
            .update_expression(format!("SET #g = :g, #m = :m, #s = :s ADD {}", adds.join(", ")))
            .build()
            .map_err(|e| Error::Rejected { service: SERVICE, detail: e.to_string() })?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The items of `group` in the index whose member meets `range` (on `group_member`, with
    /// its `values`), up to `limit`.
    async fn group(
        &self,
        group: String,
        range: &str,
        values: &[(&str, String)],
        limit: Option<i32>,
    ) -> Result<Vec<Item>, Error> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GROUP_INDEX)
                .key_condition_expression(format!("group_key = :g AND {range}"))
                .expression_attribute_values(":g", AttributeValue::S(group.clone()));
            for (name, v) in values {
                query = query.expression_attribute_values(*name, AttributeValue::S(v.clone()));
            }
            let out = query.set_limit(limit).set_exclusive_start_key(start).send().await.map_err(sdk_error)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            let full = limit.is_some_and(|l| items.len() >= l as usize);
            if start.is_none() || full {
                return Ok(items);
            }
        }
    }
}

fn lead_key(id: &LeadId) -> String {
    format!("metrics#lead#{id}")
}

fn group_key(period: Period, dimension: Dimension) -> String {
    format!("slice#{}#{}", period.as_str(), dimension.as_str())
}

/// A slice item's counters.
fn counters(item: &HashMap<String, AttributeValue>) -> Counters {
    item.iter()
        .filter_map(|(name, v)| {
            let counter = name.strip_prefix("c_")?;
            Some((counter.to_owned(), v.as_n().ok()?.parse().ok()?))
        })
        .collect()
}

#[async_trait]
impl MetricsStore for DynamoMetrics {
    async fn record(&self, id: &LeadId, revision: u64, contribution: Option<&Contribution>) -> Result<bool, Error> {
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let jitter = u64::from(chrono::Utc::now().timestamp_subsec_nanos()) % (10 << attempt.min(5));
                tokio::time::sleep(std::time::Duration::from_millis(1 + jitter)).await;
            }
            let recorded = self.recorded(id).await?;
            if recorded.as_ref().is_some_and(|(rev, _)| *rev >= revision) {
                return Ok(false);
            }
            let (old_rev, old) = recorded.map_or((None, None), |(rev, c)| (Some(rev), c));
            let mut items = vec![self.lead_item(id, revision, contribution, old_rev)?];
            for (slice, change) in metrics::changes(old.as_ref(), contribution) {
                items.push(self.slice_update(&slice, &change)?);
            }
            match transact(&self.client, items).await {
                Ok(Transaction::Done) => return Ok(true),
                Ok(Transaction::LostRace(_)) => continue,
                Err(e) if e.is_retryable() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Unavailable { service: SERVICE, detail: format!("too much contention on the metrics of lead {id}") })
    }

    async fn aggregates(
        &self,
        period: Period,
        dimension: Dimension,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<(Slice, Aggregate)>, Error> {
        // `$` sorts just after `#`: every value of the last day is below it.
        let values = [(":from", format!("{from}#")), (":to", format!("{to}$"))];
        let items =
            self.group(group_key(period, dimension), "group_member BETWEEN :from AND :to", &values, None).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let json = item
                .get("slice")
                .and_then(|v| v.as_s().ok())
                .ok_or_else(|| Error::Corrupt(format!("slice item {:?} has no `slice`", item.get("pk"))))?;
            let slice: Slice = serde_json::from_str(json).map_err(|e| Error::Corrupt(format!("slice item: {e}")))?;
            let aggregate = Aggregate::from_counters(&counters(&item));
            if aggregate != Aggregate::default() {
                out.push((slice, aggregate));
            }
        }
        out.sort_by(|(a, _), (b, _)| (a.start, &a.value).cmp(&(b.start, &b.value)));
        Ok(out)
    }

    async fn contributions(
        &self,
        day: chrono::NaiveDate,
        after: Option<&LeadId>,
        limit: usize,
    ) -> Result<Vec<(LeadId, Contribution)>, Error> {
        // Lead ids are hyphenated hex UUIDs: every one sorts after `-` (and `-` before them all).
        let after = after.map_or_else(|| "-".to_owned(), LeadId::to_string);
        let limit = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let items =
            self.group(format!("facts#{day}"), "group_member > :after", &[(":after", after)], Some(limit)).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in items.into_iter().take(limit as usize) {
            let id = item
                .get("group_member")
                .and_then(|v| v.as_s().ok())
                .ok_or_else(|| Error::Corrupt("a metrics lead item has no lead id".into()))
                .and_then(|id| LeadId::parse(id).map_err(Error::Corrupt))?;
            let json = item
                .get("contribution")
                .and_then(|v| v.as_s().ok())
                .ok_or_else(|| Error::Corrupt(format!("metrics item of lead {id} has no contribution")))?;
            let c =
                serde_json::from_str(json).map_err(|e| Error::Corrupt(format!("metrics item of lead {id}: {e}")))?;
            out.push((id, c));
        }
        Ok(out)
    }
}
