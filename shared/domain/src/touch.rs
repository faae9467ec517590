//! Touches and outcomes: what happened with a lead after it reached its owner, and the one place
//! that defines what each kind counts as.
//!
//! Every kind is recorded the same way (a Slack button, the admin API one at a time or in
//! batches, a CRM's CSV export): who did it, when it happened (which may be earlier than when
//! Baton hears of it), through which channel, and an optional external id that makes a replay a
//! no-op. Touches are kept in the order they happened, not the order they arrived.
//!
//! # Definitions (used by the SLA clock, metrics, the dashboard and simulations alike)
//! | kind | group | stops the SLA clock (first touch) | contacted | meeting | opportunity |
//! |---|---|---|---|---|---|
//! | `accepted` | touch | yes | | | |
//! | `called` | touch | yes | | | |
//! | `emailed` | touch | yes | | | |
//! | `meeting_link_sent` | touch | yes | | | |
//! | `booking_opened` | touch | no | | | |
//! | `contacted` | outcome | yes | yes | | |
//! | `meeting_booked` | outcome | yes | yes | yes | |
//! | `meeting_held` | outcome | yes | yes | yes | |
//! | `no_show` | outcome | yes | yes | yes | |
//! | `opportunity_created` | outcome | yes | yes | | yes |
//! | `won` | outcome | yes | yes | | yes |
//! | `lost` | outcome | yes | | | |
//! | `disqualified`, `not_a_fit` | outcome | yes | | | |
//! | `nurture` | outcome | no | | | |
//!
//! - The **first touch** is the earliest touch, by its own time, of a kind that stops the clock;
//!   it ends the SLA ladder and completes the first-action task. A later-arriving event dated
//!   earlier moves it earlier.
//! - **Contacted** means a two-way conversation happened: `contacted`, or an outcome that needs
//!   one (a meeting, a no-show of a booked meeting, an opportunity, a win).
//! - A **meeting** is a booked meeting (held or not); an **opportunity** is `opportunity_created`
//!   or `won`.
//! - `booking_opened` is the visitor opening the owner's booking page from the thank-you panel:
//!   activity the owner and the CRM see, not a touch by the owner, so the SLA ladder runs on
//!   until the owner acts (or a booked meeting is recorded).
//! - `disqualified` and `not_a_fit` close the lead as not a sales lead; `nurture` hands it to
//!   nurture without counting as a touch (nobody engaged it).

use serde::{Deserialize, Serialize};

use crate::{Lead, Timestamp};

/// What was done with a lead, or what came of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TouchKind {
    /// Took the lead on ("Accept").
    Accepted,
    /// Logged a call.
    Called,
    /// Logged an email.
    Emailed,
    /// Sent the owner's booking link.
    MeetingLinkSent,
    /// The visitor opened the owner's booking page from the thank-you panel (not a touch by the owner).
    BookingOpened,
    /// Had a two-way conversation.
    Contacted,
    /// Booked a meeting.
    MeetingBooked,
    /// The meeting took place.
    MeetingHeld,
    /// The lead did not come to the booked meeting.
    NoShow,
    /// An opportunity was created (with its amount and currency).
    OpportunityCreated,
    /// The deal was won.
    Won,
    /// The deal or lead was lost.
    Lost,
    /// Not a sales lead, with a reason: the lead is disqualified.
    Disqualified,
    /// Not a sales lead after all ("Not a fit" in Slack): the lead is disqualified.
    NotAFit,
    /// Not ready: handed to nurture.
    Nurture,
}

impl TouchKind {
    /// Every kind.
    pub const ALL: [TouchKind; 15] = [
        Self::Accepted,
        Self::Called,
        Self::Emailed,
        Self::MeetingLinkSent,
        Self::BookingOpened,
        Self::Contacted,
        Self::MeetingBooked,
        Self::MeetingHeld,
        Self::NoShow,
        Self::OpportunityCreated,
        Self::Won,
        Self::Lost,
        Self::Disqualified,
        Self::NotAFit,
        Self::Nurture,
    ];

    /// The kinds a Slack message offers as buttons, in order.
    pub const BUTTONS: [TouchKind; 5] =
        [Self::Accepted, Self::Called, Self::Emailed, Self::MeetingBooked, Self::NotAFit];

    /// The wire name, such as `meeting_booked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Called => "called",
            Self::Emailed => "emailed",
            Self::MeetingLinkSent => "meeting_link_sent",
            Self::BookingOpened => "booking_opened",
            Self::Contacted => "contacted",
            Self::MeetingBooked => "meeting_booked",
            Self::MeetingHeld => "meeting_held",
            Self::NoShow => "no_show",
            Self::OpportunityCreated => "opportunity_created",
            Self::Won => "won",
            Self::Lost => "lost",
            Self::Disqualified => "disqualified",
            Self::NotAFit => "not_a_fit",
            Self::Nurture => "nurture",
        }
    }

    /// The kind with this wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the kind is an outcome (what came of the work) rather than a touch (work done).
    pub fn is_outcome(self) -> bool {
        !matches!(self, Self::Accepted | Self::Called | Self::Emailed | Self::MeetingLinkSent | Self::BookingOpened)
    }

    /// Whether an event of this kind counts as the first touch: it stops the SLA clock.
    pub fn stops_the_clock(self) -> bool {
        !matches!(self, Self::Nurture | Self::BookingOpened)
    }

    /// Whether it is activity only: recorded, announced, and changes nothing about the lead's stage.
    pub fn is_activity_only(self) -> bool {
        self == Self::BookingOpened
    }

    /// Whether it means a two-way conversation happened.
    pub fn counts_as_contacted(self) -> bool {
        matches!(
            self,
            Self::Contacted
                | Self::MeetingBooked
                | Self::MeetingHeld
                | Self::NoShow
                | Self::OpportunityCreated
                | Self::Won
        )
    }

    /// Whether it means a meeting was booked (held or not).
    pub fn counts_as_meeting(self) -> bool {
        matches!(self, Self::MeetingBooked | Self::MeetingHeld | Self::NoShow)
    }

    /// Whether it means an opportunity exists.
    pub fn counts_as_opportunity(self) -> bool {
        matches!(self, Self::OpportunityCreated | Self::Won)
    }

    /// Whether it closes the lead as not a sales lead.
    pub fn disqualifies(self) -> bool {
        matches!(self, Self::Disqualified | Self::NotAFit)
    }

    /// A button label, such as "Log call".
    pub fn label(self) -> &'static str {
        match self {
            Self::Accepted => "Accept",
            Self::Called => "Log call",
            Self::Emailed => "Log email",
            Self::MeetingLinkSent => "Meeting link sent",
            Self::BookingOpened => "Booking page opened",
            Self::Contacted => "Contacted",
            Self::MeetingBooked => "Meeting booked",
            Self::MeetingHeld => "Meeting held",
            Self::NoShow => "No-show",
            Self::OpportunityCreated => "Opportunity",
            Self::Won => "Won",
            Self::Lost => "Lost",
            Self::Disqualified => "Disqualify",
            Self::NotAFit => "Not a fit",
            Self::Nurture => "Nurture",
        }
    }

    /// A past-tense phrase for activity lines, such as "logged a call".
    pub fn past(self) -> &'static str {
        match self {
            Self::Accepted => "accepted the lead",
            Self::Called => "logged a call",
            Self::Emailed => "logged an email",
            Self::MeetingLinkSent => "sent a meeting link",
            Self::BookingOpened => "opened the booking page",
            Self::Contacted => "reached the lead",
            Self::MeetingBooked => "booked a meeting",
            Self::MeetingHeld => "held the meeting",
            Self::NoShow => "recorded a no-show",
            Self::OpportunityCreated => "created an opportunity",
            Self::Won => "won the deal",
            Self::Lost => "marked it lost",
            Self::Disqualified => "disqualified it",
            Self::NotAFit => "marked it not a fit",
            Self::Nurture => "handed it to nurture",
        }
    }
}

/// Where an event was recorded.
pub const CHANNELS: [&str; 4] = ["slack", "api", "crm", "import"];

/// An amount of money: a decimal with at most four fraction digits, and its ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Money {
    /// The amount as a decimal string, such as `12500.00`.
    pub amount: String,
    /// ISO 4217, upper case, such as `EUR`.
    pub currency: String,
}

impl Money {
    /// The amount parsed from `amount` (a decimal, `.` as the separator, at most 4 fraction
    /// digits, not negative) in `currency` (three letters). The error says what is wrong.
    pub fn parse(amount: &str, currency: &str) -> Result<Self, (&'static str, String)> {
        let a = amount.trim();
        let (whole, fraction) = a.split_once('.').unwrap_or((a, ""));
        if whole.is_empty()
            || whole.len() > 15
            || fraction.len() > 4
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(("amount", format!("`{a}` is not an amount such as 12500.00")));
        }
        let c = currency.trim();
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(("currency", format!("`{c}` is not an ISO 4217 currency code such as EUR")));
        }
        Ok(Self { amount: a.to_owned(), currency: c.to_ascii_uppercase() })
    }

    /// The amount in ten-thousandths of the currency's unit, for sums.
    pub fn ten_thousandths(&self) -> i128 {
        let (whole, fraction) = self.amount.split_once('.').unwrap_or((&self.amount, ""));
        let whole: i128 = whole.parse().unwrap_or(0);
        let fraction: i128 = format!("{fraction:0<4}").parse().unwrap_or(0);
        whole * 10_000 + fraction
    }
}

/// One thing done with a lead, or one outcome of it, by the owner or someone for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Touch {
    pub kind: TouchKind,
    /// When it happened (which may be earlier than when Baton heard of it).
    pub at: Timestamp,
    /// Who acted: a Slack user id, or the API caller's name.
    pub by: String,
    /// Where it was recorded: `slack`, `api`, `crm` or `import`.
    pub via: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The sender's own id for the event (a CRM activity id): the same id again is a replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// For `opportunity_created` (and `won`): the amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// For `disqualified` and `lost`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When Baton recorded it, when that is later than `at` (an event that arrived late).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<Timestamp>,
}

impl Touch {
    /// A touch of `kind` at `at` by `by`, recorded through `via` (`slack`, `api`, `crm`, `import`).
    pub fn new(kind: TouchKind, at: Timestamp, by: impl Into<String>, via: impl Into<String>) -> Self {
        Self {
            kind,
            at,
            by: by.into(),
            via: via.into(),
            note: None,
            external_id: None,
            amount: None,
            reason: None,
            recorded_at: None,
        }
    }

    /// Whether `other` is this same event again: the same external id, or (without one) the
    /// same kind, time and actor.
    pub fn same_event(&self, other: &Touch) -> bool {
        match (&self.external_id, &other.external_id) {
            (Some(a), Some(b)) => a == b,
            (None, None) => (self.kind, self.at, &self.by) == (other.kind, other.at, &other.by),
            _ => false,
        }
    }
}

/// How far in the future an event's time may be (the sender's clock may run ahead).
pub fn future_skew() -> chrono::Duration {
    chrono::Duration::minutes(5)
}

/// The outcome of recording a touch.
#[derive(Debug, Clone, PartialEq)]
pub enum Touched {
    /// The first touch: the SLA clock stopped and the task is done. The lead as now stored.
    First(Lead),
    /// A later touch, added to the lead's activity. The lead as now stored.
    Again(Lead),
    /// The same event was recorded before (its external id, or its kind, time and actor): nothing
    /// changed. The lead as stored.
    Replayed(Lead),
    /// The lead is not with a rep (still captured, nurture, spam or disqualified): nothing was recorded.
    NotOpen(Lead),
    /// The event is dated before the lead was captured: nothing was recorded. The lead as stored.
    BeforeCapture(Lead),
    /// No lead has this id.
    Missing,
}

/// Where the owner's first-action task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not done, not yet due.
    Open,
    /// Not done, past its due time.
    Overdue,
    /// Done: the lead had its first touch.
    Done,
}

/// The first-action task every assignment creates: what to do, by when, and whether it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub lead_id: crate::LeadId,
    pub owner: crate::Owner,
    pub action: crate::FirstAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<String>,
    pub due_at: Timestamp,
    pub status: TaskStatus,
    /// The first touch, which completed the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<Touch>,
}

impl Lead {
    /// The lead's first-action task at `now`, if it was assigned to a rep.
    pub fn task(&self, now: Timestamp) -> Option<Task> {
        let d = self.decision().filter(|d| d.disposition.is_none())?;
        let done = self.touched_at().and_then(|at| self.touches.iter().find(|t| t.at == at).cloned());
        let status = match (&done, self.touched_at()) {
            (_, Some(_)) => TaskStatus::Done,
            (None, None) if now > d.first_touch_due_at => TaskStatus::Overdue,
            _ => TaskStatus::Open,
        };
        Some(Task {
            lead_id: self.id.clone(),
            owner: d.owner.clone(),
            action: d.first_action,
            guidance: d.guidance.clone(),
            due_at: d.first_touch_due_at,
            status,
            done,
        })
    }
}

/// The most touches kept on a lead (the oldest are dropped first); the first is always kept
/// in `touched_at`.
pub const MAX_TOUCHES: usize = 50;

/// The most external ids a lead remembers for recognising replays.
pub const MAX_EXTERNAL_IDS: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission, Ruleset, decide};

    fn assigned() -> Lead {
        let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), chrono::Utc::now())
            .unwrap();
        let decision = decide(&lead, &Ruleset::default_ruleset(), chrono::Utc::now());
        lead.assign(decision).unwrap().lead
    }

    fn touch(kind: TouchKind) -> Touch {
        Touch::new(kind, chrono::Utc::now(), "U1", "slack")
    }

    #[test]
    fn the_task_is_open_then_overdue_then_done_by_the_first_touch() {
        let lead = assigned();
        let due = lead.decision().unwrap().first_touch_due_at;
        assert_eq!(lead.task(due).unwrap().status, TaskStatus::Open);
        assert_eq!(lead.task(due + chrono::Duration::seconds(1)).unwrap().status, TaskStatus::Overdue);
        let done = lead.touch(touch(TouchKind::MeetingBooked)).unwrap().lead;
        let task = done.task(due + chrono::Duration::hours(1)).unwrap();
        assert_eq!((task.status, task.done.map(|t| t.kind)), (TaskStatus::Done, Some(TouchKind::MeetingBooked)));
    }

    #[test]
    fn kinds_round_trip_through_their_wire_names() {
        for kind in TouchKind::ALL {
            assert_eq!(TouchKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TouchKind::parse("ignored"), None);
    }
}
