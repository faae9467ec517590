//! Baton's use cases: one function (or one small type) per thing the system does, over the
//! ports in [`baton_adapters::ports`]. The Lambda functions translate their event into a call
//! here and map the result back; `baton-local` wires the same use cases. No function crate
//! depends on another.
//!
//! Each use case reads, asks the domain for a transition ([`baton_domain::stage`]), writes what
//! the domain computed through [`lead::transition`] (a revision-guarded write with the counter
//! effects it names), then publishes the events the transition promised.
//!
//! # Layout
//! - [`lead`]: the read → transition → guarded write loop, and announcing from the outbox.
//! - [`capture`]: a validated lead → matched to its account, stored (or merged), queued for routing.
//! - [`assign`]: a route request → qualified, assigned by the ruleset (turns, daily and open caps), announced.
//! - [`deliver`]: an event → the owner's Slack message, the team summary, signed webhooks and email, each once.
//! - [`message`]: the Slack Block Kit rendering of each event, the team summary, the alert and the after-touch update.
//! - [`measure`]: after each event, the lead's contribution to the handoff metrics, replacing the one before.
//! - [`report`]: the metrics for a date range (totals, per value, a series) from the fewest aggregates that cover it.
//! - [`touch`]: a touch (button press or API call) → recorded with its outbox entry, then announced.
//! - [`sweep`]: overdue leads → re-queued for routing, escalated, or their outbox announced.

pub mod assign;
pub mod capture;
pub mod deliver;
pub mod lead;
pub mod measure;
pub mod message;
pub mod report;
pub mod sweep;
pub mod touch;
