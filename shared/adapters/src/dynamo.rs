//! The DynamoDB adapters: [`LeadRepository`], [`DeliveryLedger`], [`Capacity`],
//! [`AccountDirectory`] and [`RulesetStore`], all in one table.
//!
//! One table, string partition key `pk`:
//! - leads at `lead#<id>`, mapped to and from [`Lead`] by `serde_dynamo`;
//! - delivery claims at `delivery#<key>`: `pending` with a `lease_until` (epoch ms) while a send is
//!   under way, `sent` after; expiring through the table's TTL;
//! - each owner's count of open leads (for `max_open` caps) at `counter#open#<owner id>`;
//! - identities at `identity#<email:…|phone:…>` → the person's lead id (deduplication);
//! - match keys at `match#<phone:…|person:…>` → the set `leads` of lead ids indexed under it
//!   (at most [`MAX_MATCH_SET`]), where possible duplicates are found ([`Lead::match_keys`]);
//! - the metrics ([`crate::dynamo_metrics`]): each lead's contribution at `metrics#lead#<id>`,
//!   each slice's counters at `metrics#slice#<slice key>`, both in the group index;
//! - idempotency records at `idempotency#<key id>:<key>` → lead id and body fingerprint, with
//!   `expires_at` (epoch seconds) for the table's TTL.
//!
//! Every lead item carries a `revision` that each write increments: every write of a lead is a
//! put of what a domain transition computed, conditioned on the revision it was computed from
//! (with the open-slot counter updates its effects name, in the same transaction). No
//! transition is re-derived here.
//!
//! A lead that is waiting for something carries `due_shard` (`<wait kind>#<shard>`, the shard
//! `00`..`15` a stable hash of the lead id: [`due_shard`]) and `wait_due_at` (fixed-width
//! RFC 3339, so text order is time order). The global secondary index [`DUE_INDEX`] is keyed by
//! them, so the leads waiting for one kind are spread over [`DUE_SHARDS`] index partitions instead
//! of all writing to one; leads that wait for nothing lack the attributes and so are absent from
//! the index. [`LeadRepository::overdue`] queries each shard for what is due by now and merges
//! them earliest first, which keeps sweeps proportional to the overdue leads, not the table.
//!
//! Items written before sharding carry `wait_kind` instead of `due_shard` and sit in the legacy
//! index [`WAIT_INDEX`] (`wait_kind`, `wait_due_at`). `overdue` reads it too (a table without it
//! just has no legacy items); every write is a whole-item put in the new shape, so an item moves to
//! the new index the next time it is written, and the legacy index can be dropped once empty.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, PutRequest, ReturnValue, TransactWriteItem, Update, WriteRequest,
};
use baton_domain::{Account, Effect, Lead, LeadId, Ruleset, Stage, Timestamp, WaitKind};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::ports::{
    AccountDirectory, Capacity, Captured, DeliveryKey, DeliveryLedger, Idempotency, LeadRepository, RulesetStore,
    RulesetVersion, Versioned, Written,
};

/// The name of the sparse, sharded due-time index: partition `due_shard` ([`due_partition`]),
/// sort `wait_due_at` ([`index_time`]), all attributes projected (a sweep reads the lead from it).
pub const DUE_INDEX: &str = "by-due";
/// The name of the legacy due-time index (partition `wait_kind`, sort `wait_due_at`). It holds
/// only items written before [`DUE_INDEX`] existed: nothing writes `wait_kind` any more, so each
/// leaves it when next written. Read by [`LeadRepository::overdue`] until it is dropped.
pub const WAIT_INDEX: &str = "by-wait";

/// How many index partitions the leads waiting for one kind are spread over.
///
/// Why 16: a DynamoDB partition sustains about 1,000 writes a second, and every lead write that
/// changes its wait rewrites its index entry (a few per lead over its life: captured, assigned,
/// escalated, touched, announced), so one partition caps a wait kind near a few hundred leads a
/// second. Sixteen shards give an order of magnitude of headroom over that, while a sweep costs
/// only 16 small queries per wait kind per run (once a minute).
///
/// Raising it is safe (every entry already written sits in a shard below the new count, and
/// `overdue` queries them all); lowering it would strand the entries in the shards dropped.
pub const DUE_SHARDS: u32 = 16;
pub(crate) const SERVICE: &str = "DynamoDB";

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Text form of an instant used in the index: always millisecond precision and `Z`.
pub fn index_time(at: Timestamp) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The shard (`0..DUE_SHARDS`) of lead `id`'s due-time index entry: 64-bit FNV-1a over the id's
/// UTF-8 bytes, its halves folded together (FNV's low bits alone spread less well), modulo
/// [`DUE_SHARDS`]. Stable across releases, platforms and processes (unlike std's hasher, which is
/// seeded at random): a lead keeps its shard for its life. Never fails.
pub fn due_shard(id: &LeadId) -> u32 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = id.as_str().bytes().fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    // The cast drops only the high half, already folded into the low one.
    let folded = ((hash >> 32) ^ hash) as u32;
    folded % DUE_SHARDS
}

/// The [`DUE_INDEX`] partition key of a wait of `kind` in `shard`: `<kind>#<shard, two digits>`
/// (`first_touch#07`).
pub fn due_partition(kind: WaitKind, shard: u32) -> String {
    format!("{}#{shard:02}", kind.as_str())
}

/// A lead as stored. Items written before sharding also carry `wait_kind` (the legacy index's
/// partition key); it is ignored when read and not written again, so a rewritten item leaves the
/// legacy index.
#[derive(Serialize, Deserialize)]
struct LeadItem {
    pk: String,
    #[serde(flatten)]
    lead: Lead,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    due_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wait_due_at: Option<String>,
    #[serde(default)]
    revision: u64,
    /// Items written before the outbox kept unannounced touches here: read into the outbox.
    #[serde(default, skip_serializing)]
    unannounced: Vec<baton_domain::Touch>,
}

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;
/// How many times a capture retries after losing a race (another write to the same person).
const CAPTURE_ATTEMPTS: usize = 8;
/// The most lead ids one match key records (a switchboard shared by a whole company): enough to
/// show a rep the candidates, bounded so the item stays small.
pub const MAX_MATCH_SET: usize = 100;
/// The most candidate leads a capture reads to record possible duplicates (one BatchGetItem).
pub const MAX_CANDIDATES: usize = baton_domain::duplicate::MAX_POSSIBLE_DUPLICATES;

fn to_item(lead: &Lead) -> Result<Item, Error> {
    lead_item(lead, 0)
}

/// The item [`DynamoLeadStore`] stores for `lead` at `revision`: the lead at `lead#<id>`, with
/// `due_shard` and `wait_due_at` when it waits for something (see the module docs). For tools and
/// tests that write leads in bulk (a BatchWriteItem has no conditions: the repository's own writes
/// go through its revision guard). Fails with [`Error::Corrupt`] when the lead cannot be mapped.
pub fn lead_item(lead: &Lead, revision: u64) -> Result<Item, Error> {
    let wait = lead.awaiting();
    let item = LeadItem {
        revision,
        pk: format!("lead#{}", lead.id),
        lead: lead.clone(),
        due_shard: wait.map(|w| due_partition(w.kind, due_shard(&lead.id))),
        wait_due_at: wait.map(|w| index_time(w.due_at)),
        unannounced: Vec::new(),
    };
    serde_dynamo::to_item(item).map_err(|e| Error::Corrupt(format!("lead {} cannot be stored: {e}", lead.id)))
}

fn from_item(item: Item) -> Result<Lead, Error> {
    from_item_with_revision(item).map(|(lead, _)| lead)
}

fn from_item_with_revision(item: Item) -> Result<(Lead, u64), Error> {
    let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let mut read = serde_dynamo::from_item::<_, LeadItem>(item)
        .map_err(|e| Error::Corrupt(format!("item `{pk}` is not a lead: {e}")))?;
    for touch in read.unannounced.drain(..) {
        let announcement = baton_domain::Announcement::Touched { touch };
        if !read.lead.outbox.contains(&announcement) {
            read.lead.outbox.push(announcement);
        }
    }
    Ok((read.lead, read.revision))
}

fn string_attr(item: &Item, name: &str) -> Result<String, Error> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| Error::Corrupt(format!("item `{:?}` has no string `{name}`", item.get("pk"))))
}

pub(crate) fn put(
    table: &str,
    item: Item,
    condition: &str,
    values: Vec<(&str, AttributeValue)>,
) -> Result<TransactWriteItem, Error> {
    let mut put = Put::builder().table_name(table).set_item(Some(item));
    if !condition.is_empty() {
        put = put.condition_expression(condition);
    }
    for (name, v) in values {
        put = put.expression_attribute_values(name, v);
    }
    let put = put.build().map_err(|e| Error::Rejected { service: SERVICE, detail: e.to_string() })?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The item at `pk`, read consistently.
pub(crate) async fn get_item(client: &Client, table: &str, pk: String) -> Result<Option<Item>, Error> {
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk))
        .consistent_read(true)
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(out.item)
}

/// Atomically adds one to the counter at `pk` (created at 0) and returns the new value.
async fn increment(client: &Client, table: &str, pk: String) -> Result<u64, Error> {
    let out = client
        .update_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.clone()))
        .update_expression("ADD #n :one")
        .expression_attribute_names("#n", "value")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(sdk_error)?;
    out.attributes
        .as_ref()
        .and_then(|a| a.get("value"))
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Error::Corrupt(format!("counter `{pk}` has no number")))
}

/// What a transaction's outcome means for its caller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Transaction {
    Done,
    /// A condition failed: someone else wrote first; read again and retry. One flag per item:
    /// whether that item's condition failed.
    LostRace(Vec<bool>),
}

/// Writes `items` in one transaction: [`Transaction::LostRace`] when a condition failed or
/// another transaction got in the way (nothing written).
pub(crate) async fn transact(client: &Client, items: Vec<TransactWriteItem>) -> Result<Transaction, Error> {
    match client.transact_write_items().set_transact_items(Some(items)).send().await {
        Ok(_) => Ok(Transaction::Done),
        Err(e) => {
            let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error() else {
                return Err(sdk_error(e));
            };
            let codes: Vec<&str> = c.cancellation_reasons().iter().filter_map(|r| r.code()).collect();
            cancellation(&codes)
        }
    }
}

/// What a cancelled transaction's reasons (one code per item) mean: lost to another writer (a
/// failed condition, a conflicting transaction), throttled (retryable: DynamoDB asks to slow
/// down), or refused for good (validation, size).
pub(crate) fn cancellation(codes: &[&str]) -> Result<Transaction, Error> {
    let throttled = ["ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"];
    if codes.iter().any(|code| throttled.contains(code)) {
        // Nothing was written: the same transaction may be sent again after a pause.
        return Err(Error::Throttled { service: SERVICE, retry_after: std::time::Duration::from_millis(50) });
    }
    if codes.iter().all(|code| matches!(*code, "None" | "ConditionalCheckFailed" | "TransactionConflict")) {
        return Ok(Transaction::LostRace(codes.iter().map(|c| *c == "ConditionalCheckFailed").collect()));
    }
    Err(Error::Rejected { service: SERVICE, detail: format!("transaction refused: {}", codes.join(", ")) })
}

/// An atomic `ADD` of `delta` to the counter at `pk`, if `condition` (on `#n`, the count) holds.
fn counter_add(
    table: &str,
    pk: String,
    delta: i64,
    condition: Option<(&str, u32)>,
) -> Result<TransactWriteItem, Error> {
    let mut update = Update::builder()
        .table_name(table)
        .key("pk", AttributeValue::S(pk))
        .update_expression("ADD #n :delta")
        .expression_attribute_names("#n", "value")
        .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()));
    if let Some((condition, max)) = condition {
        update = update
            .condition_expression(condition)
            .expression_attribute_values(":max", AttributeValue::N(max.to_string()));
    }
    let update = update.build().map_err(|e| Error::Rejected { service: SERVICE, detail: e.to_string() })?;
    Ok(TransactWriteItem::builder().update(update).build())
}

fn open_key(owner: &str) -> String {
    format!("counter#open#{owner}")
}

fn value<T: Serialize>(v: T) -> Result<AttributeValue, Error> {
    serde_dynamo::to_attribute_value(v).map_err(|e| Error::Corrupt(e.to_string()))
}

/// A validation error (an item too large, a number out of range) will fail again: permanent.
/// Everything else (throttling, outages, timeouts) may pass on a retry.
pub(crate) fn sdk_error<E, R>(err: SdkError<E, R>) -> Error
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    if err.code() == Some("ValidationException") {
        return Error::Rejected { service: SERVICE, detail: DisplayErrorContext(err).to_string() };
    }
    Error::unavailable(SERVICE, DisplayErrorContext(err))
}

/// A [`LeadRepository`] on one DynamoDB table (see the module docs for its layout).
#[derive(Debug, Clone)]
pub struct DynamoLeadStore {
    client: Client,
    table: String,
    /// Set once a query found the table without the legacy index [`WAIT_INDEX`], so later sweeps
    /// do not ask again (shared by clones).
    no_legacy_index: Arc<AtomicBool>,
}

impl DynamoLeadStore {
    /// A store on `table`, which must exist with the layout [`crate::provision::ensure_table`]
    /// creates (the legacy index [`WAIT_INDEX`] may be missing).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into(), no_legacy_index: Arc::default() }
    }
}

/// One index partition [`LeadRepository::overdue`] reads: its entries due by now, in due order,
/// a page at a time.
struct DueSource {
    index: &'static str,
    /// The partition key's attribute and value: `due_shard = <kind>#<shard>`, or (legacy)
    /// `wait_kind = <kind>`.
    key: (&'static str, String),
    /// The Limit of each query.
    page_size: i32,
    /// Read, not yet merged.
    page: VecDeque<Item>,
    /// Where the next query starts (DynamoDB's `LastEvaluatedKey`).
    start: Option<Item>,
    exhausted: bool,
}

impl DueSource {
    fn new(index: &'static str, key: (&'static str, String), page_size: usize) -> Self {
        let page_size = i32::try_from(page_size).unwrap_or(i32::MAX);
        Self { index, key, page_size, page: VecDeque::new(), start: None, exhausted: false }
    }

    /// Whether the next entry in due order may be here but is not read yet.
    fn needs_page(&self) -> bool {
        self.page.is_empty() && !self.exhausted
    }

    /// The due time of the next entry read, if any.
    fn head(&self) -> Option<&str> {
        self.page.front().map(|item| item.get("wait_due_at").and_then(|v| v.as_s().ok()).map_or("", String::as_str))
    }
}

/// Whether `err` says the queried index does not exist on the table: DynamoDB answers
/// `ValidationException: The table does not have the specified index: …`, moto
/// `ResourceNotFoundException: Invalid index: … Available indexes are: …`.
fn index_missing<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    match (err.code(), err.message()) {
        (Some("ValidationException"), Some(m)) => m.contains("specified index"),
        (Some("ResourceNotFoundException"), Some(m)) => m.contains("Invalid index"),
        _ => false,
    }
}

/// How many entries each shard query asks for when `limit` are wanted: the shard's even share
/// with half again as much for an uneven spread (so one query per shard usually suffices), at
/// least 8, at most `limit`.
fn shard_page_size(limit: usize) -> usize {
    (limit * 3 / 2).div_ceil(DUE_SHARDS as usize).max(8).min(limit)
}

impl DynamoLeadStore {
    async fn get_raw(&self, pk: String) -> Result<Option<Item>, Error> {
        get_item(&self.client, &self.table, pk).await
    }

    /// Reads `source`'s next page of entries due by `now` (an index time). A Limit-bounded query
    /// may return an empty page with a continuation key: that is followed until an entry or the
    /// end. A missing legacy index reads as an empty one.
    async fn read_due(&self, source: &mut DueSource, now: &str) -> Result<(), Error> {
        while source.needs_page() {
            let (attr, value) = &source.key;
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(source.index)
                .key_condition_expression(format!("{attr} = :key AND wait_due_at <= :now"))
                .expression_attribute_values(":key", AttributeValue::S(value.clone()))
                .expression_attribute_values(":now", AttributeValue::S(now.to_owned()))
                .limit(source.page_size)
                .set_exclusive_start_key(source.start.take())
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                Err(e) if source.index == WAIT_INDEX && index_missing(&e) => {
                    // A table created after sharding: there is nothing written before it.
                    self.no_legacy_index.store(true, Ordering::Relaxed);
                    source.exhausted = true;
                    return Ok(());
                }
                Err(e) => return Err(sdk_error(e)),
            };
            source.page.extend(out.items.unwrap_or_default());
            source.exhausted = out.last_evaluated_key.is_none();
            source.start = out.last_evaluated_key;
        }
        Ok(())
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Transaction, Error> {
        transact(&self.client, items).await
    }

    /// Writes `item` (the next revision) only if the stored one is still `revision`.
    fn revised_item(&self, item: Item, revision: u64) -> Result<TransactWriteItem, Error> {
        put(&self.table, item, "revision = :rev", vec![(":rev", AttributeValue::N(revision.to_string()))])
    }

    fn idempotency_put(&self, idem: &Idempotency, lead: &LeadId, now: Timestamp) -> Result<TransactWriteItem, Error> {
        let expires = now + chrono::Duration::hours(IDEMPOTENCY_TTL_HOURS);
        let item = HashMap::from([
            ("pk".to_owned(), AttributeValue::S(format!("idempotency#{}", idem.key))),
            ("lead_id".to_owned(), AttributeValue::S(lead.to_string())),
            ("fingerprint".to_owned(), AttributeValue::S(idem.fingerprint.clone())),
            ("expires_at".to_owned(), AttributeValue::N(expires.timestamp().to_string())),
        ]);
        // An expired record (the table's TTL deletes it eventually, not at once) may be replaced.
        put(
            &self.table,
            item,
            "attribute_not_exists(pk) OR expires_at < :now",
            vec![(":now", AttributeValue::N(now.timestamp().to_string()))],
        )
    }

    /// The items at `pks` that exist, by `pk` ([`get_many`]).
    async fn get_many(&self, pks: &[String]) -> Result<HashMap<String, Item>, Error> {
        get_many(&self.client, &self.table, pks).await
    }

    /// The lead ids a match item records.
    fn match_set(item: &Item) -> Result<Vec<LeadId>, Error> {
        match item.get("leads") {
            None => Ok(Vec::new()),
            Some(v) => v
                .as_ss()
                .map_err(|_| Error::Corrupt("a match item's `leads` is not a string set".into()))?
                .iter()
                .map(|id| LeadId::parse(id).map_err(Error::Corrupt))
                .collect(),
        }
    }

    /// The leads (at most `limit`) indexed under `keys`, other than those in `except`.
    async fn leads_under(&self, keys: &[String], except: &[&LeadId], limit: usize) -> Result<Vec<Lead>, Error> {
        let pks: Vec<String> = keys.iter().map(|k| format!("match#{k}")).collect();
        let sets = self.get_many(&pks).await?;
        self.candidates(&pks, &sets, except, limit).await
    }

    /// The leads named by the match items `sets` (under `pks`, in that order), other than
    /// `except`, at most `limit`, read in one batch.
    async fn candidates(
        &self,
        pks: &[String],
        sets: &HashMap<String, Item>,
        except: &[&LeadId],
        limit: usize,
    ) -> Result<Vec<Lead>, Error> {
        let mut ids: Vec<LeadId> = Vec::new();
        for pk in pks {
            for id in sets.get(pk).map(Self::match_set).transpose()?.unwrap_or_default() {
                if !except.contains(&&id) && !ids.contains(&id) && ids.len() < limit {
                    ids.push(id);
                }
            }
        }
        let lead_pks: Vec<String> = ids.iter().map(|id| format!("lead#{id}")).collect();
        let items = self.get_many(&lead_pks).await?;
        // A lead that cannot be read as one is skipped: it costs a hint, not the capture.
        Ok(lead_pks.iter().filter_map(|pk| items.get(pk).cloned()).filter_map(|item| from_item(item).ok()).collect())
    }

    /// Adds `lead` to the match item at `key` unless it is there already or the set is full.
    fn match_add(&self, key: &str, lead: &LeadId) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("match#{key}")))
            .update_expression("ADD #l :id")
            .condition_expression("attribute_not_exists(#l) OR NOT contains(#l, :one)")
            .expression_attribute_names("#l", "leads")
            .expression_attribute_values(":id", AttributeValue::Ss(vec![lead.to_string()]))
            .expression_attribute_values(":one", AttributeValue::S(lead.to_string()))
            .build()
            .map_err(|e| Error::Rejected { service: SERVICE, detail: e.to_string() })?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    async fn identity_owner(&self, identity: &str) -> Result<Option<LeadId>, Error> {
        match self.get_raw(format!("identity#{identity}")).await? {
            Some(record) => Ok(Some(LeadId::parse(&string_attr(&record, "lead_id")?).map_err(Error::Corrupt)?)),
            None => Ok(None),
        }
    }

    fn identity_claim(&self, identity: &str, lead: &LeadId) -> Result<TransactWriteItem, Error> {
        let claim = HashMap::from([
            ("pk".to_owned(), AttributeValue::S(format!("identity#{identity}"))),
            ("lead_id".to_owned(), AttributeValue::S(lead.to_string())),
        ]);
        put(&self.table, claim, "attribute_not_exists(pk)", vec![])
    }
}

/// Whether an idempotency record has outlived its time (at `now`).
fn expired(record: &Item, now: Timestamp) -> bool {
    record
        .get("expires_at")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .is_some_and(|at| at < now.timestamp())
}

/// The items at `pks` that exist, by `pk`, read consistently: one GetItem for one key, else
/// BatchGetItem (100 keys a call; keys it leaves unprocessed, by throttling or its 16 MB response
/// cap, are asked for again after a short backoff).
async fn get_many(client: &Client, table: &str, pks: &[String]) -> Result<HashMap<String, Item>, Error> {
    let mut found: HashMap<String, Item> = HashMap::new();
    if let [pk] = pks {
        found.extend(get_item(client, table, pk.clone()).await?.map(|item| (pk.clone(), item)));
        return Ok(found);
    }
    for chunk in pks.chunks(100) {
        let keys = chunk.iter().map(|pk| HashMap::from([("pk".to_owned(), AttributeValue::S(pk.clone()))]));
        let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
            .set_keys(Some(keys.collect()))
            .consistent_read(true)
            .build()
            .map_err(|e| Error::Rejected { service: SERVICE, detail: e.to_string() })?;
        let mut pending = HashMap::from([(table.to_owned(), request)]);
        for attempt in 0..=CAPTURE_ATTEMPTS {
            if attempt == CAPTURE_ATTEMPTS {
                return Err(Error::unavailable(SERVICE, "items left unprocessed after retries"));
            }
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let out = client.batch_get_item().set_request_items(Some(pending)).send().await.map_err(sdk_error)?;
            for item in out.responses.into_iter().flat_map(|mut r| r.remove(table)).flatten() {
                found.insert(string_attr(&item, "pk")?, item);
            }
            pending = out.unprocessed_keys.unwrap_or_default();
            pending.retain(|_, k| !k.keys.is_empty());
            if pending.is_empty() {
                break;
            }
        }
    }
    Ok(found)
}

/// A short, jittered pause before retrying a lost race: up to 10 ms × 2^attempt.
fn backoff(attempt: usize) -> std::time::Duration {
    let ceiling = 10u64 << attempt.min(6);
    let jitter =
        u64::from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos()));
    std::time::Duration::from_millis(1 + jitter % ceiling)
}

#[async_trait]
impl LeadRepository for DynamoLeadStore {
    async fn capture(&self, lead: &Lead, idempotency: Option<&Idempotency>) -> Result<Captured, Error> {
        let spam = lead.stage == Stage::Spam;
        let identities = if spam { Vec::new() } else { lead.identities() };
        let match_keys = if spam { Vec::new() } else { lead.match_keys() };
        for attempt in 0..CAPTURE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            if let Some(idem) = idempotency
                && let Some(record) = self.get_raw(format!("idempotency#{}", idem.key)).await?
                && !expired(&record, lead.captured_at)
            {
                let lead_id = LeadId::parse(&string_attr(&record, "lead_id")?).map_err(Error::Corrupt)?;
                if string_attr(&record, "fingerprint")? != idem.fingerprint {
                    return Ok(Captured::KeyReused { lead_id });
                }
                let original = self
                    .read(&lead_id)
                    .await?
                    .map(|v| v.lead)
                    .ok_or_else(|| Error::Corrupt(format!("idempotency record names missing lead {lead_id}")))?;
                return Ok(Captured::Replayed(original));
            }
            // Who already owns each of the person's identities (the email first), and which leads
            // are indexed under its match keys: one batch read.
            let identity_pks: Vec<String> = identities.iter().map(|i| format!("identity#{i}")).collect();
            let match_pks: Vec<String> = match_keys.iter().map(|k| format!("match#{k}")).collect();
            let found = self.get_many(&[identity_pks.clone(), match_pks.clone()].concat()).await?;
            let mut owners: Vec<(String, Option<LeadId>)> = Vec::with_capacity(identities.len());
            for (identity, pk) in identities.iter().zip(&identity_pks) {
                let owner = found.get(pk).map(|r| string_attr(r, "lead_id")).transpose()?;
                owners.push((identity.clone(), owner.map(|o| LeadId::parse(&o).map_err(Error::Corrupt)).transpose()?));
            }
            let mut items = Vec::new();
            // The person's lead: the email's owner; else the phone's, unless an email disagrees
            // (then this is someone else sharing the number: a new lead).
            let mut existing = None;
            if let Some(existing_id) = owners.iter().find_map(|(_, owner)| owner.clone()) {
                let Some(item) = self.get_raw(format!("lead#{existing_id}")).await? else {
                    return Err(Error::Corrupt(format!("identity record names missing lead {existing_id}")));
                };
                let (found, revision) = from_item_with_revision(item)?;
                if found.email == lead.email || found.same_person_by_phone(lead) {
                    existing = Some((found, revision));
                }
            }
            // Leads that may be the same person are recorded with the reason, never merged.
            let target = existing.as_ref().map_or(&lead.id, |(l, _)| &l.id);
            let candidates = self.candidates(&match_pks, &found, &[target, &lead.id], MAX_CANDIDATES).await?;
            let submitted = lead.clone().with_possible_duplicates(&candidates);
            let outcome = match existing {
                Some((existing, revision)) => {
                    let merged = existing.merge(&submitted).lead;
                    items.push(put(
                        &self.table,
                        lead_item(&merged, revision + 1)?,
                        "revision = :rev",
                        vec![(":rev", AttributeValue::N(revision.to_string()))],
                    )?);
                    // Claim the identities the merged lead has and nobody owns yet (a phone added
                    // to an email lead); one owned by another lead stays with it.
                    for identity in merged.identities() {
                        let owner = match owners.iter().find(|(i, _)| *i == identity) {
                            Some((_, owner)) => owner.clone(),
                            None => self.identity_owner(&identity).await?,
                        };
                        if owner.is_none() {
                            items.push(self.identity_claim(&identity, &merged.id)?);
                        }
                    }
                    Captured::Merged(merged)
                }
                None => {
                    items.push(put(&self.table, to_item(&submitted)?, "attribute_not_exists(pk)", vec![])?);
                    // A phone someone else's lead holds stays with it: shared, not taken over.
                    for (identity, _) in owners.iter().filter(|(_, owner)| owner.is_none()) {
                        items.push(self.identity_claim(identity, &lead.id)?);
                    }
                    Captured::Created(submitted)
                }
            };
            let (Captured::Created(written) | Captured::Merged(written)) = &outcome else {
                unreachable!("only writes reach here")
            };
            // Index the lead under the submission's match keys (read above); the keys it had
            // before were indexed when it got them.
            for key in written.match_keys().into_iter().filter(|k| match_keys.contains(k)) {
                let set = found.get(&format!("match#{key}")).map(Self::match_set).transpose()?.unwrap_or_default();
                if !set.contains(&written.id) && set.len() < MAX_MATCH_SET {
                    items.push(self.match_add(&key, &written.id)?);
                }
            }
            if let Some(idem) = idempotency {
                let (Captured::Created(l) | Captured::Merged(l)) = &outcome else {
                    unreachable!("only writes reach here")
                };
                items.push(self.idempotency_put(idem, &l.id, lead.captured_at)?);
            }
            match self.transact(items).await {
                Ok(Transaction::Done) => return Ok(outcome),
                Ok(Transaction::LostRace(_)) => continue,
                // Throttled: nothing was written, so the same capture is tried again after a pause.
                // (Not after a timeout, which may hide a write that did happen.)
                Err(e @ Error::Throttled { .. }) if attempt + 1 < CAPTURE_ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, "capture transaction not applied; retrying");
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::unavailable(SERVICE, "too much contention capturing the same person; retry"))
    }

    async fn similar(&self, lead: &Lead, limit: usize) -> Result<Vec<Lead>, Error> {
        self.leads_under(&lead.match_keys(), &[&lead.id], limit).await
    }

    async fn read(&self, id: &LeadId) -> Result<Option<Versioned>, Error> {
        let item = self.get_raw(format!("lead#{id}")).await?;
        Ok(item.map(from_item_with_revision).transpose()?.map(|(lead, revision)| Versioned { lead, revision }))
    }

    async fn update(&self, current: &Versioned, next: &Lead, effects: &[Effect]) -> Result<Written, Error> {
        let mut slots = Vec::new();
        for effect in effects {
            match effect {
                Effect::TakeOpenSlot { owner, max } => slots.push(counter_add(
                    &self.table,
                    open_key(owner),
                    1,
                    Some(("attribute_not_exists(#n) OR #n < :max", *max)),
                )?),
                // Unconditional, so a touch can never be refused by its counter (a count read
                // below zero reads as zero).
                Effect::ReleaseOpenSlot { owner } => slots.push(counter_add(&self.table, open_key(owner), -1, None)?),
                Effect::Publish(_) => {}
            }
        }
        let item = lead_item(next, current.revision + 1)?;
        if slots.is_empty() {
            // One conditional put: the common case costs one request.
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("revision = :rev")
                .expression_attribute_values(":rev", AttributeValue::N(current.revision.to_string()))
                .send()
                .await;
            return match result {
                Ok(_) => Ok(Written::Applied),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                    Ok(Written::Stale)
                }
                Err(e) => Err(sdk_error(e)),
            };
        }
        let mut items = vec![self.revised_item(item, current.revision)?];
        let takes: Vec<bool> = effects
            .iter()
            .filter(|e| !matches!(e, Effect::Publish(_)))
            .map(|e| matches!(e, Effect::TakeOpenSlot { .. }))
            .collect();
        items.extend(slots);
        match self.transact(items).await? {
            Transaction::Done => Ok(Written::Applied),
            Transaction::LostRace(failed) => {
                let lead_changed = failed.first().copied().unwrap_or(false);
                let slot_refused = failed.iter().skip(1).zip(&takes).any(|(f, take)| *f && *take);
                Ok(if slot_refused && !lead_changed { Written::AtCapacity } else { Written::Stale })
            }
        }
    }

    /// Queries every shard of `kind` in [`DUE_INDEX`] (and [`WAIT_INDEX`], for items written
    /// before sharding) for entries due by `now`, concurrently, and merges them earliest first:
    /// a source is read a page further only when its next entry could be the next in due order,
    /// so the items read stay near `limit` plus a page per shard, whatever the table holds. A lead
    /// found in both indexes (its entry moving between them) is returned once, at its newest
    /// revision; an unreadable item is reported and passed over.
    async fn overdue(&self, kind: WaitKind, now: Timestamp, limit: usize) -> Result<Vec<Lead>, Error> {
        if limit == 0 {
            return Ok(Vec::new()); // DynamoDB refuses Limit = 0
        }
        let now = index_time(now);
        let page_size = shard_page_size(limit);
        let mut sources: Vec<DueSource> = (0..DUE_SHARDS)
            .map(|shard| DueSource::new(DUE_INDEX, ("due_shard", due_partition(kind, shard)), page_size))
            .collect();
        if !self.no_legacy_index.load(Ordering::Relaxed) {
            // One partition holding every un-migrated lead of the kind: read up to `limit` at once.
            sources.push(DueSource::new(WAIT_INDEX, ("wait_kind", kind.as_str().to_owned()), limit));
        }
        let mut leads: Vec<(Lead, u64)> = Vec::new();
        let mut positions: HashMap<LeadId, usize> = HashMap::new();
        while leads.len() < limit {
            let reads = sources.iter_mut().filter(|s| s.needs_page()).map(|s| self.read_due(s, &now));
            for result in futures::future::join_all(reads).await {
                result?;
            }
            // Every source has its next entry read, or has none: the earliest head is next.
            let Some(next) = sources.iter_mut().filter(|s| s.head().is_some()).min_by(|a, b| a.head().cmp(&b.head()))
            else {
                break;
            };
            let Some(item) = next.page.pop_front() else { break };
            // One unreadable item must not stop every sweep: it is reported and passed over.
            match from_item_with_revision(item) {
                Ok((lead, revision)) => match positions.get(&lead.id) {
                    Some(&at) => {
                        if revision > leads[at].1 {
                            leads[at] = (lead, revision);
                        }
                    }
                    None => {
                        positions.insert(lead.id.clone(), leads.len());
                        leads.push((lead, revision));
                    }
                },
                Err(e) => {
                    tracing::error!(error = %e, "an overdue item is not a readable lead; passed over");
                    crate::metrics::count("CorruptLeads", ("Wait", kind.as_str()), 1.0);
                }
            }
        }
        Ok(leads.into_iter().map(|(lead, _)| lead).collect())
    }
}

/// A [`DeliveryLedger`] in the leads table: claims at `delivery#<key>`, `pending` with a
/// `lease_until` (epoch ms) while a send is under way, `sent` after; expiring through the TTL.
#[derive(Debug, Clone)]
pub struct DynamoLedger {
    client: Client,
    table: String,
}

impl DynamoLedger {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl DeliveryLedger for DynamoLedger {
    async fn claim(&self, key: &DeliveryKey, now: Timestamp, lease: chrono::Duration) -> Result<bool, Error> {
        // Claims are kept 30 days (the table's TTL removes them), far past any redelivery.
        let expires = (now + chrono::Duration::days(30)).timestamp();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(format!("delivery#{}", key.as_str())))
            .item("claimed_at", value(now)?)
            .item("state", AttributeValue::S("pending".into()))
            .item("lease_until", AttributeValue::N((now + lease).timestamp_millis().to_string()))
            .item("expires_at", AttributeValue::N(expires.to_string()))
            .condition_expression("attribute_not_exists(pk) OR (#state = :pending AND lease_until < :now)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp_millis().to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn confirm(&self, key: &DeliveryKey) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("delivery#{}", key.as_str())))
            // Idempotent: a replay sets the same state. A claim already gone (its TTL) is written
            // anew as sent, still expiring.
            .update_expression(
                "SET #state = :sent, expires_at = if_not_exists(expires_at, :expires) REMOVE lease_until",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sent", AttributeValue::S("sent".into()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N((chrono::Utc::now() + chrono::Duration::days(30)).timestamp().to_string()),
            )
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn release(&self, key: &DeliveryKey) -> Result<(), Error> {
        // Only a pending claim is given up: a confirmed delivery stays sent whatever happens.
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("delivery#{}", key.as_str())))
            .condition_expression("#state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(sdk_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_domain::LeadSubmission;
    use chrono::TimeZone;

    #[test]
    fn a_throttled_transaction_is_retryable_and_a_lost_race_is_not_an_error() {
        let throttled = cancellation(&["None", "ThrottlingError"]).unwrap_err();
        assert!(throttled.is_retryable(), "throttling inside a transaction must be retryable: {throttled:?}");
        assert!(matches!(throttled, Error::Throttled { .. }), "and known to have written nothing: {throttled:?}");
        let exceeded = cancellation(&["ProvisionedThroughputExceeded", "None"]).unwrap_err();
        assert!(exceeded.is_retryable(), "{exceeded:?}");
        assert_eq!(
            cancellation(&["ConditionalCheckFailed", "None"]).unwrap(),
            Transaction::LostRace(vec![true, false])
        );
        assert!(!cancellation(&["ValidationError"]).unwrap_err().is_retryable(), "a validation error is permanent");
    }

    #[test]
    fn index_times_sort_as_text_in_time_order() {
        let a = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let b = a + chrono::Duration::nanoseconds(1_500_000);
        let c = a + chrono::Duration::seconds(10);
        assert_eq!(index_time(a), "2026-11-24T09:00:00.000Z");
        assert!(index_time(a) < index_time(b) && index_time(b) < index_time(c));
    }

    #[test]
    fn a_lead_round_trips_through_an_item_with_its_wait() {
        let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), chrono::Utc::now())
            .unwrap();
        let item = to_item(&lead).unwrap();
        let shard = format!("routing#{:02}", due_shard(&lead.id));
        assert_eq!(item["due_shard"].as_s().unwrap(), &shard);
        assert_eq!(item["pk"].as_s().unwrap(), &format!("lead#{}", lead.id));
        assert_eq!(from_item(item).unwrap(), lead);
    }

    #[test]
    fn the_shard_of_a_lead_id_is_a_fixed_function_of_its_bytes() {
        // Pinned (and checked against an independent FNV-1a in Python): a release that changed
        // these would move every waiting lead's index entry.
        let fixed = |id: &str| due_shard(&LeadId::parse(id).unwrap());
        assert_eq!(fixed("00000000-0000-4000-8000-000000000000"), 9);
        assert_eq!(fixed("6f1c2a9e-3b7d-4e2f-9a41-5c8d7e0b1f23"), 10);
        assert_eq!(due_partition(WaitKind::FirstTouch, 7), "first_touch#07");
        assert_eq!(due_partition(WaitKind::Routing, 15), "routing#15");
    }

    #[test]
    fn lead_ids_spread_over_every_shard() {
        let mut per_shard = [0u32; DUE_SHARDS as usize];
        for _ in 0..1_600 {
            let shard = due_shard(&LeadId::generate());
            assert!(shard < DUE_SHARDS, "shard {shard} out of range");
            per_shard[shard as usize] += 1;
        }
        // 100 expected in each; fewer than 50 is a broken hash, not bad luck (p < 1e-8).
        assert!(per_shard.iter().all(|&n| n >= 50), "uneven spread over the shards: {per_shard:?}");
    }

    #[test]
    fn only_a_waiting_lead_carries_the_due_index_keys_and_none_carries_the_legacy_one() {
        let t0 = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), t0)
            .unwrap();
        let decision = baton_domain::decide(&lead, &baton_domain::Ruleset::default_ruleset(), t0);
        let assigned = lead.assign(decision).unwrap().lead;
        let wait = assigned.awaiting().expect("an assigned lead waits for its first touch");
        let item = lead_item(&assigned, 3).unwrap();
        assert_eq!(item["due_shard"].as_s().unwrap(), &due_partition(WaitKind::FirstTouch, due_shard(&lead.id)));
        assert_eq!(item["wait_due_at"].as_s().unwrap(), &index_time(wait.due_at));
        assert_eq!(item["revision"].as_n().unwrap(), "3");
        assert!(!item.contains_key("wait_kind"), "the legacy index key is written no more: {item:?}");

        let touch = baton_domain::Touch::new(baton_domain::TouchKind::Called, t0, "U1", "slack");
        let touched = assigned.touch(touch).unwrap().lead;
        let done = touched.announced(&touched.outbox[0]).lead;
        assert_eq!(done.awaiting(), None);
        let item = to_item(&done).unwrap();
        for key in ["due_shard", "wait_due_at", "wait_kind"] {
            assert!(!item.contains_key(key), "a lead waiting for nothing carries `{key}`: {item:?}");
        }
    }

    #[test]
    fn an_item_of_the_previous_release_reads_back_and_is_rewritten_in_the_sharded_shape() {
        let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), chrono::Utc::now())
            .unwrap();
        let mut old = to_item(&lead).unwrap();
        old.remove("due_shard");
        old.insert("wait_kind".into(), AttributeValue::S("routing".into()));
        let read = from_item(old).unwrap();
        assert_eq!(read, lead);
        let rewritten = to_item(&read).unwrap();
        assert!(!rewritten.contains_key("wait_kind") && rewritten.contains_key("due_shard"), "{rewritten:?}");
    }

    #[test]
    fn a_shard_query_asks_for_a_share_of_the_limit_with_room_for_an_uneven_spread() {
        assert_eq!(shard_page_size(200), 19);
        assert_eq!(shard_page_size(10), 8);
        assert_eq!(shard_page_size(3), 3);
        assert_eq!(shard_page_size(1), 1);
    }

    #[test]
    fn an_item_stored_before_the_stage_type_reads_back_with_its_stage_and_its_unannounced_touches() {
        let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), chrono::Utc::now())
            .unwrap();
        let decision = baton_domain::decide(&lead, &baton_domain::Ruleset::default_ruleset(), lead.captured_at);
        let touch = baton_domain::Touch::new(baton_domain::TouchKind::Called, lead.captured_at, "U1", "slack");
        // The shape the previous release wrote: flat status/decision/touched_at, and `unannounced`.
        let mut old = to_item(&lead).unwrap();
        old.insert("status".into(), AttributeValue::S("touched".into()));
        old.insert("decision".into(), serde_dynamo::to_attribute_value(&decision).unwrap());
        old.insert("touched_at".into(), serde_dynamo::to_attribute_value(touch.at).unwrap());
        old.insert("touches".into(), serde_dynamo::to_attribute_value(vec![touch.clone()]).unwrap());
        old.insert("unannounced".into(), serde_dynamo::to_attribute_value(vec![touch.clone()]).unwrap());
        let read = from_item(old).unwrap();
        assert_eq!(read.stage, baton_domain::Stage::Touched { decision, touched_at: touch.at, escalated_at: None });
        assert_eq!(read.outbox, [baton_domain::Announcement::Touched { touch }], "an unannounced touch is not lost");
        assert!(!to_item(&read).unwrap().contains_key("unannounced"), "written back in the new shape");
    }

    #[test]
    fn an_item_that_is_not_a_lead_is_reported_as_corrupt() {
        let item = HashMap::from([("pk".to_owned(), AttributeValue::S("lead#x".into()))]);
        let err = from_item(item).unwrap_err();
        assert!(matches!(&err, Error::Corrupt(m) if m.contains("lead#x")), "{err:?}");
    }
}

/// An [`AccountDirectory`] in the leads table: each account at `account#id:<account id>`, and
/// for each of its index keys ([`Account::index_keys`]) an item `account#<key>` with one
/// attribute `acct:<account id>` per account indexed there. A lookup reads the index items in one
/// batch and the accounts they name in a second, so an entry left behind by a re-import only
/// leads to the account as it is now. (Accounts imported before the index, at
/// `account#<domain>`, are still found by their domain, in the first batch.)
#[derive(Debug, Clone)]
pub struct DynamoAccounts {
    client: Client,
    table: String,
}

impl DynamoAccounts {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[derive(Serialize, Deserialize)]
struct AccountItem {
    pk: String,
    #[serde(flatten)]
    account: Account,
}

fn account_from(item: Item) -> Result<Account, Error> {
    let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    serde_dynamo::from_item::<_, AccountItem>(item)
        .map(|i| i.account)
        .map_err(|e| Error::Corrupt(format!("account `{pk}`: {e}")))
}

#[async_trait]
impl AccountDirectory for DynamoAccounts {
    async fn find(&self, keys: &[String]) -> Result<Vec<Account>, Error> {
        let mut pks: Vec<String> = keys.iter().map(|k| format!("account#{k}")).collect();
        // Accounts imported before the index live at their bare domain.
        pks.extend(keys.iter().filter_map(|k| k.strip_prefix("domain:")).map(|d| format!("account#{d}")));
        let index = get_many(&self.client, &self.table, &pks).await?;
        let mut ids: Vec<String> = Vec::new();
        let mut legacy: Vec<Account> = Vec::new();
        for pk in &pks {
            let Some(item) = index.get(pk) else { continue };
            if item.contains_key("account_id") {
                legacy.push(account_from(item.clone())?);
                continue;
            }
            let mut named: Vec<&String> = item.keys().filter(|a| a.starts_with("acct:")).collect();
            named.sort();
            for attr in named {
                let id = attr.trim_start_matches("acct:").to_owned();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        let record_pks: Vec<String> = ids.iter().map(|id| format!("account#id:{id}")).collect();
        let records = get_many(&self.client, &self.table, &record_pks).await?;
        let mut found: Vec<Account> = Vec::new();
        for pk in &record_pks {
            if let Some(item) = records.get(pk) {
                found.push(account_from(item.clone())?);
            }
        }
        for account in legacy {
            if !found.iter().any(|a| a.account_id == account.account_id) {
                found.push(account);
            }
        }
        Ok(found)
    }

    async fn put_accounts(&self, accounts: &[Account]) -> Result<(), Error> {
        // The records first (BatchWriteItem takes at most 25 items; unprocessed items are retried),
        // then the index: an index entry never names an account that is not there.
        for chunk in accounts.chunks(25) {
            let mut requests = Vec::with_capacity(chunk.len());
            for account in chunk {
                let item = serde_dynamo::to_item(AccountItem {
                    pk: format!("account#id:{}", account.account_id),
                    account: account.clone(),
                })
                .map_err(|e| Error::Corrupt(e.to_string()))?;
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| Error::Rejected { service: SERVICE, detail: e.to_string() })?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            let mut pending = Some(HashMap::from([(self.table.clone(), requests)]));
            for attempt in 0..8u32 {
                let Some(items) = pending.take().filter(|p| p.values().any(|v| !v.is_empty())) else { break };
                let out =
                    self.client.batch_write_item().set_request_items(Some(items)).send().await.map_err(sdk_error)?;
                pending = out.unprocessed_items;
                if pending.as_ref().is_some_and(|p| p.values().any(|v| !v.is_empty())) {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
            }
            if pending.is_some_and(|p| p.values().any(|v| !v.is_empty())) {
                return Err(Error::unavailable(SERVICE, "accounts left unprocessed after retries"));
            }
        }
        // One update per index key, naming up to 50 accounts (SET is idempotent: a replay
        // writes the same attributes again).
        let mut by_key: Vec<(String, Vec<&str>)> = Vec::new();
        for account in accounts {
            for key in account.index_keys() {
                match by_key.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, ids)) => ids.push(&account.account_id),
                    None => by_key.push((key, vec![&account.account_id])),
                }
            }
        }
        let mut updates = Vec::new();
        for (key, ids) in &by_key {
            for chunk in ids.chunks(50) {
                let sets: Vec<String> = (0..chunk.len()).map(|i| format!("#a{i} = :t")).collect();
                let mut update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", AttributeValue::S(format!("account#{key}")))
                    .update_expression(format!("SET {}", sets.join(", ")))
                    .expression_attribute_values(":t", AttributeValue::Bool(true));
                for (i, id) in chunk.iter().enumerate() {
                    update = update.expression_attribute_names(format!("#a{i}"), format!("acct:{id}"));
                }
                updates.push(update.send());
            }
        }
        // A few at a time, so an import of thousands of accounts neither crawls nor floods.
        let mut updates = updates.into_iter().peekable();
        while updates.peek().is_some() {
            let batch: Vec<_> = updates.by_ref().take(8).collect();
            for result in futures::future::join_all(batch).await {
                result.map_err(sdk_error)?;
            }
        }
        Ok(())
    }
}

/// [`Capacity`] in the leads table: turns at `counter#pool#<name>` (an atomic `ADD`), daily
/// slots at `counter#daily#<member>#<date>`, open slots at `counter#open#<owner>`.
#[derive(Debug, Clone)]
pub struct DynamoCounters {
    client: Client,
    table: String,
}

impl DynamoCounters {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl crate::ports::RateLimiter for DynamoCounters {
    async fn admit(
        &self,
        key: &str,
        window_start: Timestamp,
        window: std::time::Duration,
        max: u32,
    ) -> Result<bool, Error> {
        if max == 0 {
            return Ok(false);
        }
        // Kept an hour past the window's end, then removed by the table's TTL.
        let expires = window_start.timestamp() + i64::try_from(window.as_secs()).unwrap_or(i64::MAX / 2) + 3600;
        self.take_one(format!("counter#limit#{key}#{}", window_start.timestamp()), max, expires).await
    }
}

impl DynamoCounters {
    /// Adds one to the counter at `pk` unless it has reached `max` (one conditional write, so
    /// concurrent callers never pass `max` between them); `false` when it had. The item is
    /// removed by the table's TTL after `expires` (Unix seconds).
    async fn take_one(&self, pk: String, max: u32, expires: i64) -> Result<bool, Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .update_expression("ADD #n :one SET expires_at = :expires")
            .condition_expression("attribute_not_exists(#n) OR #n < :max")
            .expression_attribute_names("#n", "value")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(max.to_string()))
            .expression_attribute_values(":expires", AttributeValue::N(expires.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_error(e)),
        }
    }
}

#[async_trait]
impl Capacity for DynamoCounters {
    async fn open_count(&self, owner: &str) -> Result<u32, Error> {
        let Some(item) = get_item(&self.client, &self.table, open_key(owner)).await? else { return Ok(0) };
        let n = item.get("value").and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok()).unwrap_or(0);
        Ok(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
    }

    async fn next_turn(&self, pool: &str) -> Result<u64, Error> {
        Ok(increment(&self.client, &self.table, format!("counter#pool#{pool}")).await? - 1)
    }

    async fn claim_daily(&self, member: &str, day: chrono::NaiveDate, max: u32) -> Result<bool, Error> {
        if max == 0 {
            return Ok(false);
        }
        // Kept two days past the day, then removed by the table's TTL.
        let expires = day.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp()) + 3 * 86_400;
        self.take_one(format!("counter#daily#{member}#{day}"), max, expires).await
    }

    async fn release_daily(&self, member: &str, day: chrono::NaiveDate) -> Result<(), Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("counter#daily#{member}#{day}")))
            .update_expression("ADD #n :minus")
            .condition_expression("#n > :zero")
            .expression_attribute_names("#n", "value")
            .expression_attribute_values(":minus", AttributeValue::N("-1".into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(sdk_error(e)),
        }
    }
}

/// A [`RulesetStore`] in the leads table: versions at `ruleset#v<n>` (the document as JSON), the
/// version counter at `counter#rulesets`, the active version at `ruleset#active`.
#[derive(Debug, Clone)]
pub struct DynamoRulesets {
    client: Client,
    table: String,
}

impl DynamoRulesets {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    async fn get(&self, pk: String) -> Result<Option<Item>, Error> {
        get_item(&self.client, &self.table, pk).await
    }

    fn number(item: &Item, name: &str) -> Result<u32, Error> {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| Error::Corrupt(format!("`{name}` is not a number in {:?}", item.get("pk"))))
    }

    fn version_item(item: Item) -> Result<(Ruleset, Timestamp), Error> {
        let document = string_attr(&item, "document")?;
        // Validated when saved; read back as it was, so a later, stricter release still runs it.
        let ruleset: Ruleset = serde_json::from_str(&document)
            .map_err(|e| Error::Corrupt(format!("stored ruleset does not parse: {e}")))?;
        let saved_at = chrono::DateTime::parse_from_rfc3339(&string_attr(&item, "saved_at")?)
            .map_err(|e| Error::Corrupt(e.to_string()))?
            .to_utc();
        Ok((ruleset, saved_at))
    }
}

#[async_trait]
impl RulesetStore for DynamoRulesets {
    async fn save(&self, ruleset: &Ruleset, now: Timestamp) -> Result<u32, Error> {
        let version = u32::try_from(increment(&self.client, &self.table, "counter#rulesets".into()).await?)
            .map_err(|_| Error::Corrupt("the ruleset version counter overflowed".into()))?;
        let document = serde_json::to_string(ruleset).map_err(|e| Error::Corrupt(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(format!("ruleset#v{version}")))
            .item("version", AttributeValue::N(version.to_string()))
            .item("name", AttributeValue::S(ruleset.name.clone()))
            .item("saved_at", AttributeValue::S(index_time(now)))
            .item("document", AttributeValue::S(document))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(version)
    }

    async fn load(&self, version: u32) -> Result<Option<Ruleset>, Error> {
        self.get(format!("ruleset#v{version}")).await?.map(|i| Self::version_item(i).map(|(r, _)| r)).transpose()
    }

    async fn list(&self) -> Result<Vec<RulesetVersion>, Error> {
        let latest = match self.get("counter#rulesets".into()).await? {
            Some(item) => Self::number(&item, "value")?,
            None => return Ok(Vec::new()),
        };
        let active = self.get("ruleset#active".into()).await?.map(|i| Self::number(&i, "version")).transpose()?;
        let key = |version: u32| format!("ruleset#v{version}");
        let keys: Vec<String> = (1..=latest).map(key).collect();
        let mut found = get_many(&self.client, &self.table, &keys).await?;
        let mut out = Vec::with_capacity(found.len());
        for version in 1..=latest {
            if let Some(item) = found.remove(&key(version)) {
                let (ruleset, saved_at) = Self::version_item(item)?;
                out.push(RulesetVersion { version, name: ruleset.name, saved_at, active: active == Some(version) });
            }
        }
        Ok(out)
    }

    async fn activate(&self, version: u32) -> Result<bool, Error> {
        let exists = ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("ruleset#v{version}")))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| Error::Rejected { service: SERVICE, detail: e.to_string() })?;
        let pointer = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("ruleset#active".into())),
            ("version".to_owned(), AttributeValue::N(version.to_string())),
        ]);
        let items =
            vec![TransactWriteItem::builder().condition_check(exists).build(), put(&self.table, pointer, "", vec![])?];
        let store = DynamoLeadStore::new(self.client.clone(), self.table.clone());
        Ok(matches!(store.transact(items).await?, Transaction::Done))
    }

    async fn active(&self) -> Result<Option<(u32, Ruleset)>, Error> {
        let Some(pointer) = self.get("ruleset#active".into()).await? else { return Ok(None) };
        let version = Self::number(&pointer, "version")?;
        match self.load(version).await? {
            Some(ruleset) => Ok(Some((version, ruleset))),
            None => Err(Error::Corrupt(format!("the active ruleset v{version} is missing"))),
        }
    }
}
