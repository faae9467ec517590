//! The public event contract: what SNS subscribers and webhook receivers get about a lead.
//!
//! An event is its own versioned type ([`LeadEvent`], version [`EVENT_VERSION`]), not the
//! stored lead: it carries a [`LeadView`] with the lead's business fields and none of storage's
//! (revision, outbox, deferral, delivery failures, touchpoint history, normalization log). Its
//! size is bounded ([`MAX_EVENT_BYTES`], well inside SNS's 256 KiB): a view that would be larger
//! drops its largest custom attributes first, then shortens what else can be shortened, and
//! names what it left out in `truncated`. The JSON Schema is published at
//! `infra/api/events.schema.json` (generated from these types; a test keeps them the same).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stage::Announcement;
use crate::{Account, Consent, Decision, Enrichment, Lead, LeadId, LeadStatus, Source, Timestamp, Touch};

/// The version of the event contract. Additions keep the version; a change that could break a
/// receiver (a field removed, renamed or retyped) takes the next one.
pub const EVENT_VERSION: u32 = 1;

/// The most bytes one event takes as JSON (SNS takes up to 256 KiB).
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// The most bytes a [`LeadView`] takes as JSON before it is shortened.
pub const MAX_VIEW_BYTES: usize = 48 * 1024;

/// The most touches a view carries (the latest).
pub const MAX_VIEW_TOUCHES: usize = 10;

/// The longest free text (a touch's note, a failure's error) an event carries.
const MAX_EVENT_TEXT: usize = 1000;

/// The kind of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum EventType {
    /// The lead has an owner; `lead.decision` says who, why and what is due.
    #[serde(rename = "lead.assigned")]
    Assigned,
    /// The owner missed the first-touch target (as recorded by releases before the SLA ladder,
    /// which publishes `lead.sla_breached` instead); `lead.escalated_at` says when.
    #[serde(rename = "lead.escalated")]
    Escalated,
    /// The first-touch target is close; `sla` says when it is due.
    #[serde(rename = "lead.sla_warning")]
    SlaWarning,
    /// The owner missed the first-touch target; `sla` says which target and when it was recorded.
    #[serde(rename = "lead.sla_breached")]
    SlaBreached,
    /// The lead went to a new owner after its first touch was missed; `sla` says from whom, to
    /// whom and why, and `lead.decision` is the new assignment with its fresh target.
    #[serde(rename = "lead.reassigned")]
    Reassigned,
    /// The lead went to nurture (not to a rep).
    #[serde(rename = "lead.nurture")]
    Nurture,
    /// The owner (or someone for them) did something with the lead; `touch` says what.
    #[serde(rename = "lead.touched")]
    Touched,
    /// A notification about the lead could not be delivered and will not be retried as is;
    /// `failure` says which.
    #[serde(rename = "lead.notification_failed")]
    NotificationFailed,
}

impl EventType {
    /// The wire name, such as `lead.assigned`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "lead.assigned",
            Self::Escalated => "lead.escalated",
            Self::SlaWarning => "lead.sla_warning",
            Self::SlaBreached => "lead.sla_breached",
            Self::Reassigned => "lead.reassigned",
            Self::Nurture => "lead.nurture",
            Self::Touched => "lead.touched",
            Self::NotificationFailed => "lead.notification_failed",
        }
    }

    /// Every event type.
    pub const ALL: [EventType; 8] = [
        Self::Assigned,
        Self::Escalated,
        Self::SlaWarning,
        Self::SlaBreached,
        Self::Reassigned,
        Self::Nurture,
        Self::Touched,
        Self::NotificationFailed,
    ];

    /// The type with this wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// A notification that could not be delivered: recorded on the lead and announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NotificationFailure {
    /// The event that was not delivered, such as `lead.assigned`.
    pub event: String,
    /// The channel, such as `slack:U0AVERY001` or `webhook:crm`.
    pub channel: String,
    pub error: String,
    pub at: Timestamp,
}

/// A lead as events show it: its business fields, bounded in size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadView {
    #[schemars(with = "String")]
    pub id: LeadId,
    pub status: LeadStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub email: Option<crate::Email>,
    /// The email as the person typed it, when that differs from its canonical form (for display).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_as_typed: Option<String>,
    /// E.164 (`+14155550100`), or digits when no country was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub phone: Option<crate::Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_interest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The first submission's source.
    #[serde(default)]
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub enrichment: Enrichment,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    /// How the account was matched (method, confidence), or the candidates when it was ambiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_matching: Option<crate::account::AccountMatching>,
    /// Other leads that may be the same person, with the reasons (never merged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub possible_duplicates: Vec<crate::PossibleDuplicate>,
    /// How many submissions reached this lead.
    pub submissions: u32,
    pub captured_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub touched_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<Timestamp>,
    /// The latest touches (at most [`MAX_VIEW_TOUCHES`]), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub touches: Vec<Touch>,
    /// What was left out or shortened to keep the event within its size, such as
    /// `attributes.notes` or `message`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<String>,
    /// Submitted values Baton could not normalize, kept as submitted (routing treated those
    /// fields as missing): when present, a person should check the lead's data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unrecognized: Vec<crate::normalize::Unrecognized>,
}

fn json_len<T: Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

fn shorten(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

impl LeadView {
    /// The public view of `lead`, shortened to [`MAX_VIEW_BYTES`] if needed.
    pub fn of(lead: &Lead) -> Self {
        let skip = lead.touches.len().saturating_sub(MAX_VIEW_TOUCHES);
        let view = Self {
            id: lead.id.clone(),
            status: lead.status(),
            email: lead.email.clone(),
            email_as_typed: lead.email_as_typed.clone(),
            phone: lead.phone.clone(),
            first_name: lead.first_name.clone(),
            last_name: lead.last_name.clone(),
            company: lead.company.clone(),
            job_title: lead.job_title.clone(),
            country: lead.country.clone(),
            region: lead.region.clone(),
            postal_code: lead.postal_code.clone(),
            website: lead.website.clone(),
            company_size: lead.company_size.clone(),
            employee_count: lead.employee_count,
            product_interest: lead.product_interest.clone(),
            message: lead.message.clone(),
            source: lead.source.clone(),
            consent: lead.consent.clone(),
            attributes: lead.attributes.clone(),
            enrichment: lead.enrichment.clone(),
            account: lead.account.clone(),
            account_matching: lead.account_matching.clone(),
            possible_duplicates: lead.possible_duplicates.clone(),
            submissions: lead.submissions,
            captured_at: lead.captured_at,
            decision: lead.decision().cloned(),
            touched_at: lead.touched_at(),
            escalated_at: lead.escalated_at(),
            touches: lead.touches[skip..].iter().map(Touch::bounded).collect(),
            truncated: Vec::new(),
            unrecognized: lead.unrecognized.clone(),
        };
        view.bounded()
    }

    /// Shortens the view until it fits [`MAX_VIEW_BYTES`]: the largest attributes go first,
    /// then the message is cut, then older touches, skipped members and minor score reasons go.
    fn bounded(mut self) -> Self {
        let mut size = json_len(&self);
        if size > MAX_VIEW_BYTES && !self.attributes.is_empty() {
            // Largest first (by name among equals); each entry's share of the JSON, measured once.
            let mut by_size: Vec<(usize, String)> =
                self.attributes.iter().map(|(k, v)| (json_len(k) + json_len(v) + 2, k.clone())).collect();
            by_size.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            for (entry, name) in by_size {
                if size <= MAX_VIEW_BYTES {
                    break;
                }
                self.attributes.remove(&name);
                self.truncated.push(format!("attributes.{name}"));
                size = size.saturating_sub(entry);
            }
            size = json_len(&self);
        }
        while size > MAX_VIEW_BYTES {
            if let Some(name) = self.attributes.keys().next().cloned() {
                self.attributes.remove(&name); // only if the estimate above fell short
                self.truncated.push(format!("attributes.{name}"));
            } else if self.message.as_ref().is_some_and(|m| m.chars().count() > MAX_EVENT_TEXT) {
                self.message = self.message.as_deref().map(|m| shorten(m, MAX_EVENT_TEXT));
                self.truncated.push("message".into());
            } else if self.touches.len() > 1 {
                self.touches.remove(0);
                if !self.truncated.iter().any(|t| t == "touches") {
                    self.truncated.push("touches".into());
                }
            } else if let Some(d) = self.decision.as_mut().filter(|d| !d.skipped.is_empty()) {
                d.skipped.clear();
                self.truncated.push("decision.skipped".into());
            } else if let Some(d) = self.decision.as_mut().filter(|d| d.score.reasons.len() > 3) {
                d.score.reasons.truncate(3);
                self.truncated.push("decision.score.reasons".into());
            } else {
                break; // everything left is bounded by the contract
            }
            size = json_len(&self);
        }
        self
    }

    /// Whether a person should check the lead's data (some submitted value was not recognized).
    pub fn needs_data_review(&self) -> bool {
        !self.unrecognized.is_empty()
    }

    /// "First Last", the email, the phone, or the id: the best human label available.
    pub fn display_name(&self) -> String {
        crate::lead::display_name(
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            self.email.as_ref(),
            self.phone.as_ref(),
            &self.id,
        )
    }
}

impl Touch {
    /// The touch with its note and actor cut to the lengths events carry.
    fn bounded(&self) -> Touch {
        Touch {
            note: self.note.as_deref().map(|n| shorten(n, MAX_EVENT_TEXT)),
            by: shorten(&self.by, crate::contract::MAX_SHORT_TEXT),
            ..self.clone()
        }
    }
}

/// Something that happened to a lead, as published (contract version [`EVENT_VERSION`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadEvent {
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The contract version, [`EVENT_VERSION`].
    pub version: u32,
    /// Identifies this occurrence: the same on every redelivery, different for the next
    /// occurrence (`<lead id>#lead.assigned@<decided at, ms>`, `…#lead.escalated@<due at, ms>`,
    /// `…#lead.touched@<at, ms>:<kind>:<by>`, `…#lead.notification_failed@<event>#<channel>`).
    pub id: String,
    pub occurred_at: Timestamp,
    pub lead: LeadView,
    /// For `lead.touched`: what was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub touch: Option<Touch>,
    /// For `lead.notification_failed`: what could not be delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<NotificationFailure>,
    /// For `lead.sla_warning`, `lead.sla_breached` and `lead.reassigned`: the rung of the ladder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<crate::sla::SlaStep>,
}

impl LeadEvent {
    fn new(kind: EventType, occurrence: String, occurred_at: Timestamp, lead: LeadView) -> Self {
        Self {
            kind,
            version: EVENT_VERSION,
            id: format!("{}#{}@{occurrence}", lead.id, kind.as_str()),
            occurred_at,
            lead,
            touch: None,
            failure: None,
            sla: None,
        }
    }

    /// The event that announces `announcement` about `lead`, keyed by what it announces.
    pub fn announcing(lead: &Lead, announcement: &Announcement) -> Self {
        let decided = lead.decision().map(|d| d.decided_at).unwrap_or(lead.captured_at);
        let kind = announcement.event_type();
        let view = LeadView::of(lead);
        match announcement {
            Announcement::Assigned | Announcement::Nurture => {
                Self::new(kind, decided.timestamp_millis().to_string(), decided, view)
            }
            Announcement::Escalated { due_at } => {
                let at = lead.escalated_at().unwrap_or(*due_at);
                Self::new(kind, due_at.timestamp_millis().to_string(), at, view)
            }
            Announcement::SlaWarning { due_at }
            | Announcement::Breached { due_at }
            | Announcement::Reassigned { due_at } => {
                let rung = announcement.rung().map(|(r, _)| r);
                let step = lead.sla_history.iter().rev().find(|s| Some(s.rung) == rung && s.due_at == *due_at).cloned();
                let at = step.as_ref().map_or(*due_at, |s| s.at);
                Self { sla: step, ..Self::new(kind, due_at.timestamp_millis().to_string(), at, view) }
            }
            Announcement::Touched { touch } => {
                let mut occurrence = format!("{}:{}:{}", touch.at.timestamp_millis(), touch.kind.as_str(), touch.by);
                if let Some(id) = &touch.external_id {
                    occurrence = format!("{occurrence}:{id}");
                }
                Self { touch: Some(touch.bounded()), ..Self::new(kind, occurrence, touch.at, view) }
            }
        }
    }

    /// `lead.assigned` for an assigned lead.
    pub fn assigned(lead: &Lead) -> Self {
        Self::announcing(lead, &Announcement::Assigned)
    }

    /// `lead.notification_failed`: `failure` about `lead`, once per failed event and channel.
    pub fn notification_failed(lead: &LeadView, failure: NotificationFailure) -> Self {
        let failure = NotificationFailure { error: shorten(&failure.error, MAX_EVENT_TEXT), ..failure };
        let occurrence = format!("{}#{}", failure.event, failure.channel);
        Self {
            failure: Some(failure.clone()),
            ..Self::new(EventType::NotificationFailed, occurrence, failure.at, lead.clone())
        }
    }

    /// The event's kind.
    pub fn event_type(&self) -> EventType {
        self.kind
    }

    /// The occurrence part of [`LeadEvent::id`], such as `lead.assigned@1764000000000`.
    pub fn occurrence(&self) -> &str {
        self.id.split_once('#').map_or(self.id.as_str(), |(_, o)| o)
    }

    /// The lead the event is about.
    pub fn lead(&self) -> &LeadView {
        &self.lead
    }

    /// The lead's id.
    pub fn lead_id(&self) -> &LeadId {
        &self.lead.id
    }

    /// Parses an event from its JSON text. An event in the shape published before the contract
    /// was versioned (`{"type", "lead": <stored lead>, …}`, still in a dead-letter queue or a
    /// retry after the upgrade) is read too, keeping the id it was delivered under.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text).or_else(|e| Self::from_legacy_json(text).ok_or(e))
    }

    fn from_legacy_json(text: &str) -> Option<Self> {
        #[derive(Deserialize)]
        struct Legacy {
            #[serde(rename = "type")]
            kind: EventType,
            lead: Lead,
            touch: Option<Touch>,
            failure: Option<NotificationFailure>,
        }
        let Legacy { kind, lead, touch, failure } = serde_json::from_str(text).ok()?;
        Some(match kind {
            EventType::Assigned => Self::announcing(&lead, &Announcement::Assigned),
            EventType::Nurture => Self::announcing(&lead, &Announcement::Nurture),
            EventType::Touched => Self::announcing(&lead, &Announcement::Touched { touch: touch? }),
            EventType::NotificationFailed => Self::notification_failed(&LeadView::of(&lead), failure?),
            EventType::SlaWarning | EventType::SlaBreached | EventType::Reassigned => return None,
            EventType::Escalated => {
                // Keyed then by when the sweep noticed the breach.
                let at = lead.escalated_at()?;
                let due_at = lead.decision()?.first_touch_due_at;
                let mut event = Self::announcing(&lead, &Announcement::Escalated { due_at });
                event.id = format!("{}#{}@{}", lead.id, kind.as_str(), at.timestamp_millis());
                event.occurred_at = at;
                event
            }
        })
    }

    /// The event as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a lead event always serializes")
    }

    /// The JSON a webhook subscriber receives (Standard Webhooks' envelope):
    /// `{"type", "timestamp", "data": {"version", "id", "occurred_at", "lead", …}}`.
    pub fn webhook_body(&self, now: Timestamp) -> String {
        let mut data = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = data.as_object_mut() {
            map.remove("type");
        }
        serde_json::json!({ "type": self.kind.as_str(), "timestamp": now, "data": data }).to_string()
    }

    /// The JSON Schema of the event contract (published as `infra/api/events.schema.json`).
    pub fn schema() -> serde_json::Value {
        let mut schema = serde_json::to_value(schemars::schema_for!(LeadEvent)).unwrap_or_default();
        if let Some(map) = schema.as_object_mut() {
            map.insert("$id".into(), "https://baton.dev/schemas/lead-event-v1.json".into());
            map.insert(
                "description".into(),
                format!(
                    "A Baton lead event, contract version {EVENT_VERSION}, as published on SNS. Webhooks carry it \
                     as `data` (without `type`) in a Standard Webhooks envelope: {{\"type\", \"timestamp\", \"data\"}}. \
                     At most {MAX_EVENT_BYTES} bytes."
                )
                .into(),
            );
        }
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadSubmission, Ruleset, TouchKind, decide};

    fn assigned_lead(json: &str) -> Lead {
        let lead = LeadSubmission::from_json(json.as_bytes())
            .unwrap()
            .into_lead(LeadId::generate(), chrono::Utc::now())
            .unwrap();
        let decision = decide(&lead, &Ruleset::default_ruleset(), chrono::Utc::now());
        lead.assign(decision).unwrap().lead
    }

    #[test]
    fn an_event_round_trips_through_json_with_its_type_and_version() {
        let event = LeadEvent::assigned(&assigned_lead(r#"{"email":"a@corp.example"}"#));
        let json = event.to_json();
        assert!(json.starts_with(r#"{"type":"lead.assigned","version":1,"#), "{json}");
        assert_eq!(LeadEvent::from_json(&json).unwrap(), event);
        assert!(event.occurrence().starts_with("lead.assigned@"), "{}", event.id);
    }

    #[test]
    fn an_event_in_the_shape_published_before_the_contract_still_reads_with_its_old_key() {
        let lead = assigned_lead(r#"{"email":"a@corp.example"}"#);
        let decided = lead.decision().unwrap().decided_at.timestamp_millis();
        let legacy = serde_json::json!({ "type": "lead.assigned", "lead": lead }).to_string();
        let event = LeadEvent::from_json(&legacy).unwrap();
        assert_eq!(event.id, format!("{}#lead.assigned@{decided}", lead.id), "the ledger key it was sent under");
        assert_eq!(event.lead, LeadView::of(&lead));
        let escalated = lead.escalate(lead.decision().unwrap().first_touch_due_at).unwrap().lead;
        let at = escalated.escalated_at().unwrap().timestamp_millis();
        let legacy = serde_json::json!({ "type": "lead.escalated", "lead": escalated }).to_string();
        assert!(LeadEvent::from_json(&legacy).unwrap().id.ends_with(&format!("lead.escalated@{at}")));
        assert!(LeadEvent::from_json(r#"{"type":"lead.assigned"}"#).is_err(), "not an event in either shape");
    }

    #[test]
    fn events_carry_no_storage_fields() {
        let lead = assigned_lead(r#"{"email":"a@corp.example"}"#);
        let touched = lead.touch(Touch::new(TouchKind::Called, chrono::Utc::now(), "U1", "slack")).unwrap().lead;
        let event = LeadEvent::announcing(&touched, &touched.outbox[0]);
        let json: serde_json::Value = serde_json::from_str(&event.to_json()).unwrap();
        for field in ["outbox", "deferral", "notification_failures", "revision", "touchpoints", "normalized"] {
            assert!(json["lead"].get(field).is_none(), "`{field}` leaked into the event: {json}");
        }
        assert_eq!(json["touch"]["kind"], "called");
    }

    #[test]
    fn each_occurrence_of_an_event_has_its_own_key_and_redeliveries_share_it() {
        let t0 = chrono::Utc::now();
        let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), t0)
            .unwrap();
        let nurture = |at| {
            let decision = decide(&lead, &Ruleset::default_ruleset(), at);
            LeadEvent::announcing(&lead.assign(decision).unwrap().lead, &Announcement::Nurture)
        };
        let (first, again) = (nurture(t0), nurture(t0 + chrono::Duration::days(3)));
        assert_ne!(first.id, again.id, "a second nurture is a new occurrence");
        assert_eq!(first.id, LeadEvent::from_json(&first.to_json()).unwrap().id);
    }

    #[test]
    fn an_oversized_lead_is_shortened_largest_attribute_first_and_says_so() {
        let mut lead = assigned_lead(r#"{"email":"a@corp.example"}"#);
        for i in 0..60 {
            lead.attributes.insert(format!("k{i:02}"), serde_json::Value::String("\"".repeat(1000 + i)));
        }
        let event = LeadEvent::assigned(&lead);
        assert!(event.to_json().len() <= MAX_EVENT_BYTES, "{}", event.to_json().len());
        assert_eq!(event.lead.truncated.first().map(String::as_str), Some("attributes.k59"));
        assert!(event.lead.attributes.contains_key("k00"), "only what had to go went");
    }

    #[test]
    fn the_published_schema_is_the_one_the_types_generate() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/api/events.schema.json");
        let generated = serde_json::to_string_pretty(&LeadEvent::schema()).unwrap() + "\n";
        if std::env::var_os("BATON_WRITE_SCHEMAS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let published = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            published == generated,
            "infra/api/events.schema.json is out of date: run `BATON_WRITE_SCHEMAS=1 cargo test -p baton-domain schema`"
        );
    }
}
