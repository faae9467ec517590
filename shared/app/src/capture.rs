//! Capturing a lead: a validated lead (parsed at the HTTP edge) → matched to its account,
//! stored or merged into the person's lead (one atomic write with its identity and idempotency
//! records), and queued for routing. If the queue is down the lead is still captured: it waits
//! for routing and the sweep re-queues it.

use std::sync::Arc;

use baton_adapters::{AccountDirectory, Captured, Error, Idempotency, LeadRepository, WorkQueue, metrics};
use baton_domain::normalize::Normalization;
use baton_domain::{Lead, RouteRequest, Stage, account};

/// The capture use case and what it needs.
#[derive(Clone)]
pub struct CaptureLeads {
    repo: Arc<dyn LeadRepository>,
    queue: Arc<dyn WorkQueue>,
    accounts: Option<Arc<dyn AccountDirectory>>,
}

impl CaptureLeads {
    pub fn new(repo: Arc<dyn LeadRepository>, queue: Arc<dyn WorkQueue>) -> Self {
        Self { repo, queue, accounts: None }
    }

    /// Matches each lead to these accounts, so it arrives with its account and owner.
    pub fn with_accounts(mut self, accounts: Arc<dyn AccountDirectory>) -> Self {
        self.accounts = Some(accounts);
        self
    }

    /// Matches the lead to its account ([`baton_domain::account::match_account`]: exact,
    /// subsidiary, parent or country-code domain, or the company name for free mail) from one
    /// bounded lookup, and records how, or the candidates when it was ambiguous. A directory
    /// failure only costs the enrichment: the lead is still captured.
    async fn match_account(&self, lead: &mut Lead) {
        let Some(accounts) = &self.accounts else { return };
        let keys = account::lookup_keys(lead);
        if keys.is_empty() {
            return;
        }
        let found = match accounts.find(&keys).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "account lookup failed; capturing without an account match");
                return;
            }
        };
        let Some((account, matching)) = account::match_account(lead, &found) else { return };
        let method = serde_json::to_value(matching.method).ok().and_then(|v| v.as_str().map(str::to_owned));
        let method = method.unwrap_or_default().replace('_', " ");
        match &account {
            Some(a) => lead.normalized.push(Normalization::new(
                "account",
                &matching.matched_on,
                &a.account_id,
                format!("matched by {method} ({:?} confidence)", matching.confidence).to_lowercase(),
            )),
            None => lead.normalized.push(Normalization::new(
                "account",
                &matching.matched_on,
                "",
                format!(
                    "ambiguous by {method}: {} accounts fit ({}); none chosen",
                    matching.fitting,
                    matching.candidates.iter().map(|c| c.account_id.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
        lead.account = account.map(|a| a.as_match());
        lead.account_matching = Some(matching);
    }

    /// Captures `lead` ([`LeadRepository::capture`]) and queues it for routing when it needs
    /// routing: a new lead (not spam), or a nurtured lead a new submission sent back. Fails only
    /// when nothing was stored.
    pub async fn capture(&self, mut lead: Lead, idempotency: Option<&Idempotency>) -> Result<Captured, Error> {
        let started = lead.captured_at;
        self.match_account(&mut lead).await;
        let outcome = self.repo.capture(&lead, idempotency).await?;
        match &outcome {
            Captured::Created(lead) if lead.stage == Stage::Spam => {
                tracing::info!("honeypot filled; stored as spam");
                metrics::count("LeadsCaptured", ("Outcome", "spam"), 1.0);
            }
            Captured::Created(lead) => {
                self.enqueue(lead).await;
                metrics::count("LeadsCaptured", ("Outcome", "created"), 1.0);
            }
            Captured::Merged(lead) => {
                metrics::count("LeadsCaptured", ("Outcome", "merged"), 1.0);
                tracing::info!(submissions = lead.submissions, "duplicate submission merged into the existing lead");
                if lead.stage == Stage::Captured && !lead.previous_decisions.is_empty() {
                    // A nurtured lead re-qualifies through routing (its first capture was queued already).
                    self.enqueue(lead).await;
                }
            }
            Captured::Replayed(_) | Captured::KeyReused { .. } => {}
        }
        metrics::latency("capture", chrono::Utc::now() - started);
        Ok(outcome)
    }

    async fn enqueue(&self, lead: &Lead) {
        let message =
            serde_json::to_string(&RouteRequest { lead_id: lead.id.clone() }).expect("a route request serializes");
        if let Err(e) = self.queue.send(&message).await {
            // Stored, so not lost: the lead waits for routing and the sweep re-queues it.
            tracing::warn!(error = %e, "routing queue unavailable; the SLA sweep will re-queue the lead");
        } else {
            tracing::info!("lead captured");
        }
    }
}
