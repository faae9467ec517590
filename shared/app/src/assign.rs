//! Assigning a lead: a route request → the lead qualified and assigned by the ruleset, the
//! decision recorded once, the assignment announced.
//!
//! Per request: read the lead, plan and decide by the ruleset ([`engine`]: score,
//! qualification, owner or pool turn, first action, due time), and write the domain's
//! [`baton_domain::Lead::assign`] transition over the revision read (with the owner's open slot,
//! when capped, in the same write). A replayed request finds the lead decided and announces the
//! stored decision again, so a crash between recording and publishing cannot lose the
//! notification; deliveries are sent once each.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_adapters::{Capacity, Clock, EventPublisher, LeadRepository, RulesetStore, Versioned, Written, metrics};
use baton_domain::rules::{Member, engine, pool};
use baton_domain::{Announcement, Lead, LeadEvent, RouteRequest, Ruleset, Rung, Stage};

/// What [`Assign`] asks for a decision: given the lead as read and which members are full (and
/// why), the attempt to write, or `None` when the lead moved on.
type AttemptFn<'a> = dyn Fn(&Lead, &dyn Fn(&Member) -> Option<String>) -> Option<Attempt> + Sync + 'a;

/// Why one request could not be routed.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
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

impl AssignError {
    /// Whether a retry may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Adapter(a) if a.is_retryable())
    }
}

/// What routing one request did.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    /// This request assigned the lead.
    Assigned(Lead),
    /// The lead had been assigned before; its decision was announced again.
    Replayed(Lead),
    /// The lead is spam (a bot filled the honeypot): never routed, nothing announced.
    Ignored(Lead),
}

/// The assign use case and what it needs.
#[derive(Clone)]
pub struct Assign {
    repo: Arc<dyn LeadRepository>,
    publisher: Arc<dyn EventPublisher>,
    ruleset: Arc<Ruleset>,
    version: u32,
    capacity: Arc<dyn Capacity>,
    clock: Arc<dyn Clock>,
    rulesets: Option<Arc<dyn RulesetStore>>,
    cache_for: Duration,
    cached: Arc<Mutex<Option<CachedRuleset>>>,
}

/// The active ruleset as last read: when, its version, the ruleset.
type CachedRuleset = (Instant, u32, Arc<Ruleset>);

/// How long routing keeps using the active ruleset it read before reading it again.
pub const RULESET_CACHE: Duration = Duration::from_secs(30);

/// How many times a decision is tried again after another writer changed the lead first.
const ATTEMPTS: usize = 8;

/// One attempt at a decision: the decision, the transition that records it, and the member's
/// daily slot (member, their local day, the cap) it needs.
struct Attempt {
    decision: baton_domain::Decision,
    transition: baton_domain::Transition,
    daily: Option<(String, chrono::NaiveDate, u32)>,
}

/// What [`Assign::write_decision`] did.
enum Decided {
    /// The decision was written: the lead as now stored.
    Written(Lead),
    /// The lead moved on before a decision could be written (as now stored).
    Moved(Lead),
}

/// The daily slot a decision for member `m` at `now` needs, if they have a daily cap.
fn daily_slot(m: &Member, now: baton_domain::Timestamp) -> Option<(String, chrono::NaiveDate, u32)> {
    m.max_new_per_day.map(|max| (m.id.clone(), pool::local_day(m, now), max))
}

impl Assign {
    /// Assigns by `ruleset` (recorded on decisions as version `version`), taking pool turns and
    /// daily slots from `capacity`.
    pub fn new(
        repo: Arc<dyn LeadRepository>,
        publisher: Arc<dyn EventPublisher>,
        ruleset: Ruleset,
        version: u32,
        capacity: Arc<dyn Capacity>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            repo,
            publisher,
            ruleset: Arc::new(ruleset),
            version,
            capacity,
            clock,
            rulesets: None,
            cache_for: RULESET_CACHE,
            cached: Arc::default(),
        }
    }

    /// Routes by the active version in `rulesets` (read again after `cache_for`), and by the
    /// ruleset given to [`Assign::new`] while no version is active. A new activation applies
    /// without a redeploy; if the store cannot be read, the last version read stays in use.
    pub fn with_ruleset_store(mut self, rulesets: Arc<dyn RulesetStore>, cache_for: Duration) -> Self {
        self.rulesets = Some(rulesets);
        self.cache_for = cache_for;
        self
    }

    /// The ruleset to decide by now, and its version.
    async fn current_ruleset(&self) -> Result<(u32, Arc<Ruleset>), AssignError> {
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

    /// Whether lead `id` is stored with `decision` (after an error that may have hidden a write
    /// that did happen, such as a timeout). When the store cannot say, the answer is yes, so a
    /// slot is never given back for a lead the member may have.
    async fn went_to(&self, id: &baton_domain::LeadId, decision: &baton_domain::Decision) -> bool {
        match self.repo.get(id).await {
            Ok(Some(lead)) => lead.decision() == Some(decision),
            Ok(None) => false,
            Err(_) => true,
        }
    }

    /// Writes the decision `attempt` makes for the lead as read (`None`: the lead moved on, so
    /// nothing is written), by the rules every decision obeys: a capped member must also win one
    /// of today's slots (an atomic, conditional count), and the write takes one of their
    /// open-lead slots with the decision. When someone else took the last one, the member is
    /// marked full and the attempt is made again; each retry marks one more member full, so this
    /// ends within the pool's size (then a fallback, who takes no slot, gets the lead). A day's
    /// slot is given back whenever the decision was not written.
    async fn write_decision(
        &self,
        id: &baton_domain::LeadId,
        mut current: Versioned,
        attempt: &AttemptFn<'_>,
    ) -> Result<Decided, AssignError> {
        let mut full: Vec<(String, String)> = Vec::new();
        let mut stale = 0;
        loop {
            let reason = |m: &Member| full.iter().find(|(id, _)| *id == m.id).map(|(_, r)| r.clone());
            let Some(Attempt { decision, transition, daily }) = attempt(&current.lead, &reason) else {
                return Ok(Decided::Moved(current.lead));
            };
            let mut claimed = None;
            if let Some((member, day, max)) = daily {
                if !self.capacity.claim_daily(&member, day, max).await? {
                    full.push((member, format!("at daily capacity ({max})")));
                    continue;
                }
                claimed = Some((member, day));
            }
            let written = self.repo.update(&current, &transition.lead, &transition.effects).await;
            // Not written (stale, at capacity), or an error that may hide a write: then only
            // when the stored lead does not show this very decision.
            let not_written = match &written {
                Ok(Written::Applied) => false,
                Ok(Written::Stale | Written::AtCapacity) => true,
                Err(_) => !self.went_to(id, &decision).await,
            };
            if let Some((member, day)) = &claimed
                && not_written
            {
                // The lead did not go to the member after all: give the day's slot back.
                if let Err(e) = self.capacity.release_daily(member, *day).await {
                    tracing::warn!(member = %member, error = %e, "could not give back a daily slot");
                }
            }
            match written? {
                Written::Applied => return Ok(Decided::Written(transition.lead)),
                Written::AtCapacity => {
                    let max = decision.max_open.unwrap_or_default();
                    full.push((decision.owner.id.clone(), format!("at open-lead capacity ({max})")));
                }
                Written::Stale => {
                    stale += 1;
                    if stale >= ATTEMPTS {
                        return Err(baton_adapters::Error::Unavailable {
                            service: "lead repository",
                            detail: "too much contention recording the decision; retry".into(),
                        }
                        .into());
                    }
                }
            }
            // Someone else wrote the lead (or took the slot): decide again on what is stored.
            current = self.repo.read(id).await?.ok_or_else(|| AssignError::UnknownLead(id.to_string()))?;
        }
    }

    /// Reassigns lead `id`, escalated and past its grace period at the clock's now, to the next
    /// available member of its pool, or to the fallback queue ([`engine::reassignment`]), by the
    /// active ruleset and with the same capacity rules as a first assignment. The old owner's
    /// open slot is given back and the new owner's taken in the same write. `None` when the lead
    /// is no longer due for it (touched, or reassigned by another sweep).
    pub async fn reassign(&self, id: &baton_domain::LeadId) -> Result<Option<Lead>, AssignError> {
        let current = self.repo.read(id).await?.ok_or_else(|| AssignError::UnknownLead(id.to_string()))?;
        let now = self.clock.now();
        let due = |lead: &Lead| matches!(lead.next_rung(), Some((Rung::Reassignment, at)) if at <= now);
        if !due(&current.lead) {
            return Ok(None);
        }
        let (version, ruleset) = self.current_ruleset().await?;
        let pool = current.lead.decision().and_then(|d| d.pool.clone()).filter(|p| ruleset.pools.contains_key(p));
        let pointer = match &pool {
            Some(pool) => self.capacity.next_turn(pool).await?,
            None => 0,
        };
        let attempt = |lead: &Lead, full: &dyn Fn(&Member) -> Option<String>| {
            if !due(lead) {
                return None;
            }
            let (decision, reason) = engine::reassignment(&ruleset, lead, version, pointer, full, now)?;
            let daily = pool
                .as_deref()
                .and_then(|p| ruleset.pools.get(p))
                .and_then(|p| {
                    p.members.iter().find(|m| m.id == decision.owner.id && decision.rule != engine::FALLBACK_RULE)
                })
                .and_then(|m| daily_slot(m, now));
            let transition = lead.reassign(decision.clone(), &reason, now).ok()?;
            Some(Attempt { decision, transition, daily })
        };
        match self.write_decision(id, current, &attempt).await? {
            Decided::Written(lead) => {
                if let Some(d) = lead.decision() {
                    tracing::info!(owner = %d.owner.id, due = %d.first_touch_due_at, "lead reassigned after a missed first touch");
                }
                count_fallback(&lead);
                Ok(Some(lead))
            }
            Decided::Moved(_) => Ok(None),
        }
    }

    /// Routes one request body (a [`RouteRequest`] as JSON).
    pub async fn route_message(&self, body: &str) -> Result<Routed, AssignError> {
        let request: RouteRequest = serde_json::from_str(body).map_err(|e| AssignError::Malformed(e.to_string()))?;
        let id = request.lead_id;
        let current = self.repo.read(&id).await?.ok_or_else(|| AssignError::UnknownLead(id.to_string()))?;
        let routed = 'decided: {
            if current.lead.stage == Stage::Spam {
                tracing::info!("spam lead; not routed");
                return Ok(Routed::Ignored(current.lead));
            }
            if current.lead.stage != Stage::Captured {
                break 'decided Routed::Replayed(current.lead);
            }
            let (version, ruleset) = self.current_ruleset().await?;
            let plan = engine::plan(&ruleset, &current.lead);
            // The shared pointer makes turns fair across concurrent routers.
            let pointer = match plan.pool() {
                Some(pool) => self.capacity.next_turn(pool).await?,
                None => 0,
            };
            let now = self.clock.now();
            let attempt = |lead: &Lead, full: &dyn Fn(&Member) -> Option<String>| {
                let decision = plan.clone().decide(lead, version, pointer, full, now);
                let daily = plan.chosen_member(&decision).and_then(|m| daily_slot(m, now));
                let transition = lead.assign(decision.clone()).ok()?;
                Some(Attempt { decision, transition, daily })
            };
            match self.write_decision(&id, current, &attempt).await? {
                Decided::Written(lead) => Routed::Assigned(lead),
                Decided::Moved(lead) => Routed::Replayed(lead),
            }
        };
        let (Routed::Assigned(lead) | Routed::Replayed(lead) | Routed::Ignored(lead)) = &routed;
        // Announce while the assignment is current; once touched or escalated, newer events speak for it.
        let announcement = match lead.stage {
            Stage::Assigned { .. } => Some(Announcement::Assigned),
            Stage::Nurture { .. } => Some(Announcement::Nurture), // for a nurture program; no rep is told
            _ => None,
        };
        if let Some(announcement) = announcement {
            self.publisher.publish(&LeadEvent::announcing(lead, &announcement)).await?;
        }
        if let Routed::Assigned(lead) = &routed {
            let outcome = match lead.stage {
                Stage::Nurture { .. } => "nurture",
                Stage::Disqualified { .. } => "disqualified",
                _ => "assigned",
            };
            metrics::count("LeadsRouted", ("Outcome", outcome), 1.0);
            count_fallback(lead);
            metrics::latency("route", self.clock.now() - lead.captured_at);
        }
        if let Routed::Assigned(lead) = &routed
            && let Some(d) = lead.decision()
        {
            tracing::info!(owner = %d.owner.id, rule = %d.rule, pool = d.pool.as_deref().unwrap_or("-"), ruleset = d.ruleset.as_deref().unwrap_or("-"), score = d.score.points, priority = d.score.priority.as_str(), "lead assigned");
        }
        Ok(routed)
    }
}

/// Counts a decision that fell back to the fallback queue, by priority.
fn count_fallback(lead: &Lead) {
    if let Some(d) = lead.decision().filter(|d| d.rule == engine::FALLBACK_RULE) {
        metrics::count("FallbackUsed", ("Priority", d.score.priority.as_str()), 1.0);
    }
}
