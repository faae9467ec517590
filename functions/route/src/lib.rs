//! Route: an SQS batch of [`RouteRequest`]s → each lead qualified, assigned, recorded and announced.
//!
//! Per message: load the lead, plan and decide by the ruleset ([`engine`]: score, qualification,
//! owner or pool turn, first action, due time), record the
//! decision with a conditional write (a replay cannot reassign), and publish `lead.assigned`.
//! A replayed message republishes the stored decision, so a crash between recording and
//! publishing cannot lose the notification; notify sends each event once.
//!
//! Failures are reported per record ([`SqsBatchResponse`]), so one bad message does not make
//! the whole batch retry; a message that keeps failing lands in the dead-letter queue.
//!
//! # Layout
//! Everything is in this file: [`Route`] (the handler), [`RouteError`], [`Config`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use baton_adapters::config::{ConfigError, required};
use baton_adapters::{Clock, EventPublisher, LeadStore, PoolCounters, Recorded, RulesetStore};
use baton_domain::rules::{Disposition, Member, engine, pool};
use baton_domain::{Lead, LeadEvent, LeadStatus, RouteRequest, Ruleset};

/// Route's environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the leads table.
    pub table_name: String,
    /// `TOPIC_ARN`: where lead events are published.
    pub topic_arn: String,
}

impl Config {
    /// Reads the configuration; fails naming the first missing variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self { table_name: required("TABLE_NAME")?, topic_arn: required("TOPIC_ARN")? })
    }
}

/// Why one message could not be routed.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// The message is not a route request; it will never succeed (it goes to the dead-letter queue).
    #[error("message is not a route request: {0}")]
    Malformed(String),
    /// No lead has the requested id; it will never succeed.
    #[error("lead {0} does not exist")]
    UnknownLead(String),
    /// A store or publisher failed; a retry may succeed.
    #[error(transparent)]
    Adapter(#[from] baton_adapters::Error),
}

/// What routing one message did.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    /// This message assigned the lead.
    Assigned(Lead),
    /// The lead had been assigned before; its decision was announced again.
    Replayed(Lead),
    /// The lead is spam (a bot filled the honeypot): never routed, nothing announced.
    Ignored(Lead),
}

/// The route handler and what it needs.
#[derive(Clone)]
pub struct Route {
    store: Arc<dyn LeadStore>,
    publisher: Arc<dyn EventPublisher>,
    ruleset: Arc<Ruleset>,
    version: u32,
    counters: Arc<dyn PoolCounters>,
    clock: Arc<dyn Clock>,
    rulesets: Option<Arc<dyn RulesetStore>>,
    cache_for: Duration,
    cached: Arc<Mutex<Option<CachedRuleset>>>,
}

/// The active ruleset as last read: when, its version, the ruleset.
type CachedRuleset = (Instant, u32, Arc<Ruleset>);

/// How long routing keeps using the active ruleset it read before reading it again.
pub const RULESET_CACHE: Duration = Duration::from_secs(30);

impl Route {
    /// A router deciding by `ruleset` (recorded on decisions as version `version`), taking pool
    /// turns from `counters`.
    pub fn new(
        store: Arc<dyn LeadStore>,
        publisher: Arc<dyn EventPublisher>,
        ruleset: Ruleset,
        version: u32,
        counters: Arc<dyn PoolCounters>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            publisher,
            ruleset: Arc::new(ruleset),
            version,
            counters,
            clock,
            rulesets: None,
            cache_for: RULESET_CACHE,
            cached: Arc::default(),
        }
    }

    /// Routes by the active version in `rulesets` (read again after `cache_for`), and by the
    /// ruleset given to [`Route::new`] while no version is active. A new activation applies
    /// without a redeploy; if the store cannot be read, the last version read stays in use.
    pub fn with_ruleset_store(mut self, rulesets: Arc<dyn RulesetStore>, cache_for: Duration) -> Self {
        self.rulesets = Some(rulesets);
        self.cache_for = cache_for;
        self
    }

    /// The ruleset to decide by now, and its version.
    async fn current_ruleset(&self) -> Result<(u32, Arc<Ruleset>), RouteError> {
        let Some(store) = &self.rulesets else { return Ok((self.version, self.ruleset.clone())) };
        let cached = self.cached.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some((read_at, version, ruleset)) = &cached
            && read_at.elapsed() < self.cache_for
        {
            return Ok((*version, ruleset.clone()));
        }
        let current = match store.active().await {
            Ok(Some((version, ruleset))) => (version, Arc::new(ruleset)),
            Ok(None) => (self.version, self.ruleset.clone()),
            Err(e) => match cached {
                Some((_, version, ruleset)) => {
                    tracing::warn!(error = %e, version, "cannot read the active ruleset; keeping the last one read");
                    return Ok((version, ruleset));
                }
                None => return Err(e.into()),
            },
        };
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), current.0, current.1.clone()));
        Ok(current)
    }

    /// Routes every record of a batch; the response names the records that failed.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            let id = record.message_id.clone().unwrap_or_default();
            let body = record.body.as_deref().unwrap_or_default();
            if let Err(e) = self.route_message(body).await {
                tracing::error!(message_id = %id, error = %e, retryable = matches!(e, RouteError::Adapter(ref a) if a.is_retryable()), "routing failed");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    /// Whether lead `id` is stored as assigned to `member` (after an error that may have hidden a
    /// write that did happen, such as a timeout). When the store cannot say, the answer is yes,
    /// so a slot is never given back for a lead the member may have.
    async fn went_to(&self, id: &baton_domain::LeadId, member: &str) -> bool {
        match self.store.get(id).await {
            Ok(Some(lead)) => lead.decision.is_some_and(|d| d.owner.id == member),
            Ok(None) => false,
            Err(_) => true,
        }
    }

    /// Routes one message body.
    pub async fn route_message(&self, body: &str) -> Result<Routed, RouteError> {
        let request: RouteRequest = serde_json::from_str(body).map_err(|e| RouteError::Malformed(e.to_string()))?;
        let id = request.lead_id;
        let lead = self.store.get(&id).await?.ok_or_else(|| RouteError::UnknownLead(id.to_string()))?;
        if lead.status == LeadStatus::Spam {
            tracing::info!(lead_id = %lead.id, "spam lead; not routed");
            return Ok(Routed::Ignored(lead));
        }
        let routed = if lead.decision.is_some() {
            Routed::Replayed(lead)
        } else {
            let (version, ruleset) = self.current_ruleset().await?;
            let plan = engine::plan(&ruleset, &lead);
            // The shared pointer makes turns fair across concurrent routers.
            let pointer = match plan.pool() {
                Some(pool) => self.counters.next(pool).await?,
                None => 0,
            };
            let now = self.clock.now();
            // A capped member must also win one of today's slots (an atomic, conditional count),
            // and the store takes one of their open-lead slots with the decision. When someone
            // else took the last one, the member is skipped as full and the turn moves on; each
            // retry marks one more member full, so this ends within the pool's size (then the
            // fallback, who takes no slot, gets the lead).
            let mut full: Vec<(String, String)> = Vec::new();
            loop {
                let reason = |m: &Member| full.iter().find(|(id, _)| *id == m.id).map(|(_, r)| r.clone());
                let decision = plan.clone().decide(&lead, version, pointer, &reason, now);
                let chosen = plan.chosen_member(&decision);
                let mut claimed = None;
                if let Some(m) = chosen
                    && let Some(max) = m.max_new_per_day
                {
                    let day = pool::local_day(m, now);
                    if !self.counters.claim_daily(&m.id, day, max).await? {
                        full.push((m.id.clone(), format!("at daily capacity ({max})")));
                        continue;
                    }
                    claimed = Some((m.id.clone(), day));
                }
                let recorded = self.store.record_decision(&id, &decision).await;
                if let Some((member, day)) = &claimed
                    && !matches!(recorded, Ok(Recorded::Applied(_)))
                    && !self.went_to(&id, member).await
                {
                    // The lead did not go to the member after all: give the day's slot back.
                    if let Err(e) = self.counters.release_daily(member, *day).await {
                        tracing::warn!(member = %member, error = %e, "could not give back a daily slot");
                    }
                }
                match recorded? {
                    Recorded::Applied(lead) => break Routed::Assigned(lead),
                    Recorded::AlreadyDecided(lead) => break Routed::Replayed(lead),
                    Recorded::Missing => return Err(RouteError::UnknownLead(id.to_string())),
                    Recorded::AtCapacity => {
                        let max = decision.max_open.unwrap_or_default();
                        full.push((decision.owner.id.clone(), format!("at open-lead capacity ({max})")));
                    }
                }
            }
        };
        let (Routed::Assigned(lead) | Routed::Replayed(lead) | Routed::Ignored(lead)) = &routed;
        let disposition = lead.decision.as_ref().map(|d| d.disposition);
        if disposition == Some(None) && lead.escalated_at.is_none() && lead.touched_at.is_none() {
            // Announce while the assignment is current; once touched or escalated, newer events speak for it.
            self.publisher.publish(&LeadEvent::Assigned { lead: lead.clone() }).await?;
        } else if disposition == Some(Some(Disposition::Nurture)) && lead.status == LeadStatus::Nurture {
            // For a nurture program subscribed to the topic; no rep is told.
            self.publisher.publish(&LeadEvent::Nurture { lead: lead.clone() }).await?;
        }
        if let Routed::Assigned(lead) = &routed {
            let d = lead.decision.as_ref().expect("an assigned lead has a decision");
            tracing::info!(lead_id = %lead.id, owner = %d.owner.id, rule = %d.rule, pool = d.pool.as_deref().unwrap_or("-"), ruleset = d.ruleset.as_deref().unwrap_or("-"), score = d.score.points, priority = d.score.priority.as_str(), "lead assigned");
        }
        Ok(routed)
    }
}
