//! Baton's domain: everything a lead's journey decides, with no I/O.
//!
//! Nothing here knows about AWS, Lambda, HTTP or an async runtime. Functions take
//! the current time as an argument and return values that name the effects an
//! adapter must perform, so every rule is testable with plain unit tests.
//!
//! # Layout
//! - [`account`]: known companies (CSV/JSON import) that leads are matched to by domain.
//! - [`duplicate`]: possible duplicates (same phone, same name at the same company), flagged, never merged.
//! - [`lead`]: the lead record, its identifiers and validated value types ([`Email`], [`Phone`]).
//! - [`stage`]: the lead's lifecycle: its [`Stage`] and every transition, each returning the new
//!   lead and the [`Effect`]s the write must perform.
//! - [`contract`]: the versioned `POST /leads` contract: parsing and field-level validation.
//! - [`score`]: scores (itemized reasons) and priorities.
//! - [`assign`]: who can own a lead ([`Owner`]).
//! - [`rules`]: the ruleset as data (scoring, qualification, routing, pools, SLA) and its engine.
//! - [`sla`]: first-touch targets, the escalation ladder (warning, breach, reassignment) and the
//!   single thing a lead is waiting for at any time.
//! - [`business_time`]: team calendars (working hours, days, holidays in a time zone) and
//!   business-time arithmetic for SLA targets.
//! - [`decision`]: the routing decision (score + owner + first action + due time).
//! - [`touch`]: touches and outcomes (and the one definition of what stops the clock and what
//!   counts as contacted, meeting and opportunity), and the first-action task.
//! - [`outcome`]: outcome and touch events as submitted (API, batches, CSV), parsed and checked into [`Touch`]es.
//! - [`metrics`]: handoff metrics with one definition each (system and human delay, SLA
//!   attainment, outcome rates, the speed-to-lead curve) and mergeable aggregates.
//! - [`normalize`]: normalization and enrichment of submitted values.
//! - [`text`]: Unicode NFC and invisible-character removal for names and identity keys.
//! - [`handoff`]: what the visitor's thank-you page may see of their lead (state, rep's name and
//!   booking link).
//! - [`event`]: the public, versioned event contract ([`LeadEvent`] with a bounded [`LeadView`]).

pub mod account;
pub mod assign;
pub mod business_time;
pub mod contract;
pub mod decision;
pub mod duplicate;
pub mod event;
pub mod handoff;
pub mod lead;
pub mod metrics;
pub mod normalize;
pub mod outcome;
pub mod rules;
pub mod score;
pub mod sla;
pub mod stage;
pub mod text;
pub mod touch;

pub use account::Account;
pub use assign::Owner;
pub use contract::{ContractError, FieldError, LeadSubmission, RouteRequest};
pub use decision::{Decision, FirstAction, decide};
pub use duplicate::{DuplicateReason, PossibleDuplicate};
pub use event::{EVENT_VERSION, EventType, LeadEvent, LeadView, MAX_EVENT_BYTES, NotificationFailure};
pub use lead::{
    AccountMatch, Attribution, Consent, Email, Enrichment, Lead, LeadId, LeadStatus, Phone, Source, Touchpoint,
};
pub use rules::Ruleset;
pub use score::{Priority, Score, ScoreReason};
pub use sla::{Awaiting, Rung, SlaClock, SlaStep, SlaTerms, WaitKind};
pub use stage::{Announcement, Effect, Refusal, Stage, Transition};
pub use touch::{Money, Task, TaskStatus, Touch, TouchKind, Touched};

/// Instants are always UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
