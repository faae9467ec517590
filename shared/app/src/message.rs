//! Slack messages (Block Kit) for lead events: who the lead is, why it scored as it did, the
//! first action from the playbook and its due time in the owner's time zone, submitted values
//! Baton could not read (a "Data to check" line), and buttons to record what the owner did. Team channels get a one-line summary; a button press replaces the
//! message with one that says who acted.
//!
//! | event | owner | team channel | manager |
//! |---|---|---|---|
//! | `lead.assigned` | full message, buttons | summary | |
//! | `lead.sla_warning` | time left, first action, buttons | | |
//! | `lead.sla_breached` (and the older `lead.escalated`) | breach, first action, buttons | summary | [`manager_alert`] |
//! | `lead.reassigned` | the new owner: full message, why, new due time, buttons | summary (from whom, to whom, why) | |
//!
//! Every function returns a `chat.postMessage` body; the caller sets `channel`.

use baton_domain::{Decision, EventType, FirstAction, LeadEvent, LeadView, Priority, Timestamp, TouchKind};
use chrono_tz::Tz;
use serde_json::{Value, json};

/// Slack's limit for a header block's text.
const HEADER_MAX: usize = 150;
/// Slack's limit for a section's text.
const SECTION_MAX: usize = 3000;
/// The prefix of every button's `action_id`; the rest is the touch kind (`baton_touch_called`).
pub const ACTION_PREFIX: &str = "baton_touch_";

/// Escapes the three characters Slack's mrkdwn treats as control characters.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// A time every reader sees in their own time zone, with the owner's local time as the
/// fallback text (UTC when their zone is unknown).
fn slack_time(at: Timestamp, timezone: Option<&str>) -> String {
    format!("<!date^{}^{{date_short_pretty}} at {{time}}|{}>", at.timestamp(), owner_time(at, timezone))
}

/// `at` in the owner's time zone, such as `Tue 24 Nov 04:15 EST`.
pub fn owner_time(at: Timestamp, timezone: Option<&str>) -> String {
    match timezone.and_then(|tz| tz.parse::<Tz>().ok()) {
        Some(tz) => at.with_timezone(&tz).format("%a %d %b %H:%M %Z").to_string(),
        None => at.format("%a %d %b %H:%M UTC").to_string(),
    }
}

fn priority_badge(p: Priority) -> &'static str {
    match p {
        Priority::Hot => "🔥 Hot",
        Priority::Warm => "🌤 Warm",
        Priority::Cold => "❄️ Cold",
    }
}

/// How to address the owner: a mention for a Slack user, else their name in bold.
fn mention(d: &Decision) -> String {
    match d.owner.slack.as_deref() {
        Some(id) if id.starts_with('U') || id.starts_with('W') => format!("<@{id}>"),
        _ => format!("*{}*", escape(&d.owner.name)),
    }
}

fn field(label: &str, value: Option<&str>) -> Option<Value> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| json!({ "type": "mrkdwn", "text": format!("*{label}*\n{}", escape(&truncate(v, 500))) }))
}

fn source_line(lead: &LeadView) -> String {
    [lead.source.form_type.as_deref(), lead.source.utm_source.as_deref(), lead.source.utm_campaign.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ")
}

fn context_fields(lead: &LeadView) -> Vec<Value> {
    let source = source_line(lead);
    [
        field("Company", lead.company.as_deref()),
        field(
            "Account",
            lead.account
                .as_ref()
                .map(|a| match &a.owner {
                    Some(o) => format!("{} (owner {}){}", a.name, o.name, if a.open_deal { ", open deal" } else { "" }),
                    None => a.name.clone(),
                })
                .as_deref(),
        ),
        field("Title", lead.job_title.as_deref()),
        field("Email", lead.email_as_typed.clone().or_else(|| lead.email.as_ref().map(|e| e.to_unicode())).as_deref()),
        field("Phone", lead.phone.as_ref().map(|p| p.as_str())),
        field("Country", lead.country.as_deref()),
        field("Source", Some(source.as_str())),
    ]
    .into_iter()
    .flatten()
    .take(10) // Slack allows at most 10 fields in a section.
    .collect()
}

/// The data-quality line for a lead whose submitted values Baton could not all read (kept as
/// submitted; routing treated those fields as missing): which values to check.
fn data_check(lead: &LeadView) -> Option<Value> {
    if !lead.needs_data_review() {
        return None;
    }
    let items: Vec<String> = lead
        .unrecognized
        .iter()
        .map(|u| format!("{} “{}” not recognized", u.field.replace('_', " "), escape(&truncate(&u.value, 80))))
        .collect();
    let text = truncate(&format!("⚠️ Data to check: {}", items.join("; ")), SECTION_MAX);
    Some(json!({ "type": "context", "elements": [ { "type": "mrkdwn", "text": text } ] }))
}

/// The possible-duplicates line: other leads that may be the same person, each with the reason,
/// so the owner checks before reaching out twice (they were never merged).
fn duplicates_line(lead: &LeadView) -> Option<Value> {
    if lead.possible_duplicates.is_empty() {
        return None;
    }
    let items: Vec<String> = lead
        .possible_duplicates
        .iter()
        .map(|d| format!("{} (`{}`: {})", escape(&truncate(&d.name, 80)), d.lead_id, escape(&d.explain())))
        .collect();
    let text = truncate(&format!("👥 Possible duplicate of {}", items.join("; ")), SECTION_MAX);
    Some(json!({ "type": "context", "elements": [ { "type": "mrkdwn", "text": text } ] }))
}

/// The owner message for an event, or `None` for events no rep is told about (nurture,
/// touches, delivery failures).
pub fn render(event: &LeadEvent) -> Option<Value> {
    match event.kind {
        EventType::Assigned => Some(assigned(&event.lead)),
        EventType::Escalated | EventType::SlaBreached => Some(escalated(&event.lead)),
        EventType::SlaWarning => Some(warning(event)),
        EventType::Reassigned => Some(reassigned(event)),
        EventType::Nurture | EventType::Touched | EventType::NotificationFailed => None,
    }
}

/// How long until `due` from `now`, for a person: `4 minutes`, `1 hour 5 minutes`.
fn time_left(now: Timestamp, due: Timestamp) -> String {
    let minutes = (due - now).num_minutes().max(0);
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match (minutes / 60, minutes % 60) {
        (0, m) => plural(m, "minute"),
        (h, 0) => plural(h, "hour"),
        (h, m) => format!("{} {}", plural(h, "hour"), plural(m, "minute")),
    }
}

/// The owner's warning that the first touch is due soon: the lead, the first action, the buttons.
fn warning(event: &LeadEvent) -> Value {
    let lead = &event.lead;
    let name = lead.display_name();
    let Some(d) = &lead.decision else {
        return json!({ "text": format!("⏳ SLA warning: lead {} has no decision", lead.id) });
    };
    let due = event.sla.as_ref().map_or(d.first_touch_due_at, |s| s.due_at);
    let left = time_left(event.occurred_at, due);
    let mut blocks = vec![json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!(
        "⏳ *{left} left:* {} is due for a first touch by {} at {}.",
        escape(&name), mention(d), slack_time(due, d.owner.timezone.as_deref())
    ) }, "fields": context_fields(lead) })];
    blocks.extend(data_check(lead));
    blocks.extend(duplicates_line(lead));
    blocks.extend([
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": truncate(&first_action(lead, d), SECTION_MAX) } }),
        buttons(lead),
        json!({ "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("Lead `{}` · SLA `{}` · warned by Baton's SLA sweep", lead.id, escape(&sla_name(d))) } ] }),
    ]);
    json!({
        "text": format!("⏳ {left} left to touch {} (due {})", escape(&name), owner_time(due, d.owner.timezone.as_deref())),
        "blocks": blocks,
    })
}

/// The SLA policy's name, or `default` when the decision predates policies.
fn sla_name(d: &Decision) -> String {
    d.sla.as_ref().map_or_else(|| "default".to_owned(), |t| t.policy.clone())
}

/// The new owner's message after a reassignment: the full lead, why it came to them, and the
/// buttons, with the new due time.
fn reassigned(event: &LeadEvent) -> Value {
    let lead = &event.lead;
    let Some(d) = &lead.decision else {
        return json!({ "text": format!("↪️ Lead {} was reassigned, but its decision is missing", lead.id) });
    };
    let mut blocks = assigned_blocks(lead, d);
    if let Some(step) = &event.sla {
        let why = step.reason.as_deref().map(|r| format!(" ({})", escape(r))).unwrap_or_default();
        let text = format!(
            "↪️ *Reassigned to you:* the first touch was due from *{}* by {} and did not happen{why}. Your first touch is due {}.",
            escape(&step.owner),
            slack_time(step.due_at, d.owner.timezone.as_deref()),
            slack_time(d.first_touch_due_at, d.owner.timezone.as_deref())
        );
        blocks.insert(
            1,
            json!({ "type": "section", "text": { "type": "mrkdwn", "text": truncate(&text, SECTION_MAX) } }),
        );
    }
    blocks.push(buttons(lead));
    blocks.push(footer(lead, d));
    json!({
        "text": format!(
            "↪️ Reassigned to {}: {} {} by {}",
            escape(&d.owner.name),
            d.first_action.label(),
            escape(&lead.display_name()),
            owner_time(d.first_touch_due_at, d.owner.timezone.as_deref())
        ),
        "blocks": blocks,
    })
}

/// The team manager's alert for a breach (sent to `Decision::manager` directly): who missed
/// which lead, by how long, and what the ladder does next.
pub fn manager_alert(event: &LeadEvent) -> Option<Value> {
    if event.kind != EventType::SlaBreached {
        return None;
    }
    let lead = &event.lead;
    let d = lead.decision.as_ref()?;
    d.manager.as_ref()?;
    let due = event.sla.as_ref().map_or(d.first_touch_due_at, |s| s.due_at);
    let next = match d.sla.as_ref().and_then(|t| t.reassign_at) {
        Some(at) => format!(" Baton reassigns it at {} unless it is touched.", slack_time(at, None)),
        None => " No reassignment is configured: follow up with the owner.".to_owned(),
    };
    let company = lead.company.as_deref().map(|c| format!(" ({})", escape(c))).unwrap_or_default();
    let text = format!(
        "🚨 *SLA breach on your team:* {}{company}, {} lead, was due for a first touch by {} at {} (SLA `{}`).{next}",
        escape(&lead.display_name()),
        d.score.priority.as_str(),
        mention(d),
        slack_time(due, None),
        escape(&sla_name(d)),
    );
    Some(json!({
        "text": format!("🚨 SLA breach: {} → {}", escape(&lead.display_name()), escape(&d.owner.name)),
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": truncate(&text, SECTION_MAX) } },
            { "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("Lead `{}` · rule `{}` · Baton", lead.id, escape(&d.rule)) } ] },
        ],
    }))
}

/// The first-action line: what to do, to whom, by when (in the owner's time zone), and how.
fn first_action(lead: &LeadView, d: &Decision) -> String {
    let name = escape(&lead.display_name());
    let tz = d.owner.timezone.as_deref();
    let how = match d.first_action {
        // The number or address, unless the lead's name is already it.
        FirstAction::Call => lead
            .phone
            .as_ref()
            .filter(|p| p.as_str() != lead.display_name())
            .map(|p| format!(" at {}", escape(p.as_str())))
            .unwrap_or_default(),
        FirstAction::Email => lead
            .email
            .as_ref()
            .filter(|e| e.as_str() != lead.display_name())
            .map(|e| format!(" at {}", escape(&e.to_unicode())))
            .unwrap_or_default(),
        FirstAction::SendMeetingLink => d
            .owner
            .meeting_link
            .as_deref()
            .map(|link| format!(" — your link: <{link}|{}>", escape(link)))
            .unwrap_or_default(),
    };
    let mut text = format!(
        "*First action:* {} {name}{how} — due {}",
        d.first_action.label(),
        slack_time(d.first_touch_due_at, tz)
    );
    if let Some(g) = &d.guidance {
        text.push_str(&format!("\n_{}_", escape(g)));
    }
    text
}

/// The buttons that record a touch; each carries the lead id as its value.
fn buttons(lead: &LeadView) -> Value {
    let elements: Vec<Value> = TouchKind::BUTTONS
        .iter()
        .map(|k| {
            let mut b = json!({
                "type": "button",
                "action_id": format!("{ACTION_PREFIX}{}", k.as_str()),
                "text": { "type": "plain_text", "text": k.label() },
                "value": lead.id.to_string(),
            });
            match k {
                TouchKind::Accepted => b["style"] = "primary".into(),
                TouchKind::NotAFit => {
                    b["style"] = "danger".into();
                    b["confirm"] = json!({
                        "title": { "type": "plain_text", "text": "Not a fit?" },
                        "text": { "type": "plain_text", "text": "The lead will be disqualified and leave your queue." },
                        "confirm": { "type": "plain_text", "text": "Not a fit" },
                        "deny": { "type": "plain_text", "text": "Keep it" },
                    });
                }
                _ => {}
            }
            b
        })
        .collect();
    json!({ "type": "actions", "block_id": "baton_touch", "elements": elements })
}

fn assigned_blocks(lead: &LeadView, d: &Decision) -> Vec<Value> {
    let name = lead.display_name();
    let priority = d.score.priority;
    let reasons = d
        .score
        .reasons
        .iter()
        .map(|r| format!("• {:+} {}", r.points, escape(&r.reason)))
        .collect::<Vec<_>>()
        .join("\n");
    let mut blocks = vec![
        json!({ "type": "header", "text": { "type": "plain_text", "text": truncate(&format!("{} lead: {name}", priority_badge(priority)), HEADER_MAX) } }),
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("Assigned to {}", mention(d)) }, "fields": context_fields(lead) }),
    ];
    blocks.extend(data_check(lead));
    blocks.extend(duplicates_line(lead));
    blocks.extend([
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": truncate(&format!("*Why {} ({} points)*\n{reasons}", priority.as_str(), d.score.points), SECTION_MAX) } }),
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": truncate(&first_action(lead, d), SECTION_MAX) } }),
    ]);
    if let Some(suppression) = &d.suppression {
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("*Kept with you:* {} — no new owner was assigned; coordinate before reaching out.", escape(suppression)) } }));
    }
    if let Some(message) = &lead.message {
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": truncate(&format!("*Message*\n>{}", escape(message).replace('\n', "\n>")), SECTION_MAX) } }));
    }
    blocks
}

fn footer(lead: &LeadView, d: &Decision) -> Value {
    let pool = d.pool.as_deref().map(|p| format!(" · pool `{}`", escape(p))).unwrap_or_default();
    let play = d.play.as_deref().map(|p| format!(" · play `{}`", escape(p))).unwrap_or_default();
    let ruleset = d.ruleset.as_deref().map(|r| format!(" · ruleset `{}`", escape(r))).unwrap_or_default();
    json!({ "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("Lead `{}` · rule `{}`{pool}{play}{ruleset} · Baton", lead.id, escape(&d.rule)) } ] })
}

fn assigned(lead: &LeadView) -> Value {
    let Some(d) = &lead.decision else {
        return json!({ "text": format!("Lead {} was assigned, but its decision is missing", lead.id) });
    };
    let mut blocks = assigned_blocks(lead, d);
    blocks.push(buttons(lead));
    blocks.push(footer(lead, d));
    json!({
        // The notification preview: Slack reads it as mrkdwn too, so submitted text is escaped.
        "text": format!(
            "{} lead for {}: {} {} by {}",
            priority_badge(d.score.priority),
            escape(&d.owner.name),
            d.first_action.label(),
            escape(&lead.display_name()),
            owner_time(d.first_touch_due_at, d.owner.timezone.as_deref())
        ),
        "blocks": blocks,
    })
}

/// Who did a touch: a mention for a Slack user, else the API caller's name.
fn actor(t: &baton_domain::Touch) -> String {
    if t.via == "slack" { format!("<@{}>", escape(&t.by)) } else { escape(&t.by) }
}

/// The owner message after someone pressed a button: the same context, the buttons replaced by
/// what was done, by whom and when (`replace_original` for the `response_url`).
pub fn after_touch(lead: &LeadView) -> Value {
    let Some(d) = &lead.decision else {
        return json!({ "replace_original": true, "text": format!("Lead {} has no decision", lead.id) });
    };
    let mut blocks = assigned_blocks(lead, d);
    let tz = d.owner.timezone.as_deref();
    let lines: Vec<String> = lead
        .touches
        .iter()
        .map(|t| {
            let who = actor(t);
            let mark = if t.kind == TouchKind::NotAFit { "🚫" } else { "✅" };
            format!("{mark} {who} {} · {}", t.kind.past(), slack_time(t.at, tz))
        })
        .collect();
    let latest = lead.touches.last();
    blocks.push(
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": truncate(&lines.join("\n"), SECTION_MAX) } }),
    );
    if lead.status != baton_domain::LeadStatus::Disqualified {
        // Still open for more activity (a call after accepting, a meeting after a call).
        blocks.push(buttons(lead));
    }
    blocks.push(footer(lead, d));
    json!({
        "replace_original": true,
        "text": match latest {
            Some(t) => {
                let who = actor(t);
                format!("{}: {who} {}", escape(&lead.display_name()), t.kind.past())
            }
            None => format!("{}: no activity yet", escape(&lead.display_name())),
        },
        "blocks": blocks,
    })
}

fn escalated(lead: &LeadView) -> Value {
    let name = lead.display_name();
    let Some(d) = &lead.decision else {
        return json!({ "text": format!("⏰ SLA breach: lead {} has no decision", lead.id) });
    };
    let due = slack_time(d.first_touch_due_at, d.owner.timezone.as_deref());
    let mut blocks = vec![
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("⏰ *SLA breach:* {} was due for a first touch by {} at {due} and has not been touched.", escape(&name), mention(d)) }, "fields": context_fields(lead) }),
    ];
    blocks.extend(data_check(lead));
    blocks.extend(duplicates_line(lead));
    blocks.extend([
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": truncate(&first_action(lead, d), SECTION_MAX) } }),
        buttons(lead),
        json!({ "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("Lead `{}` · escalated by Baton's SLA sweep", lead.id) } ] }),
    ]);
    json!({
        "text": format!("⏰ SLA breach: {} has not been touched by {}", escape(&name), escape(&d.owner.name)),
        "blocks": blocks,
    })
}

/// The one-line summary for the team channel, for assignments, breaches and reassignments (a
/// warning is the owner's alone).
pub fn summary(event: &LeadEvent) -> Option<Value> {
    let lead = event.lead();
    let d = lead.decision.as_ref()?;
    let name = escape(&lead.display_name());
    let company = lead.company.as_deref().map(|c| format!(" ({})", escape(c))).unwrap_or_default();
    let text = match event.kind {
        EventType::Assigned => format!(
            "{} {name}{company} → {} · {} by {} · {} points · rule `{}`",
            priority_badge(d.score.priority),
            mention(d),
            d.first_action.label(),
            slack_time(d.first_touch_due_at, None),
            d.score.points,
            escape(&d.rule)
        ),
        EventType::Escalated | EventType::SlaBreached => format!(
            "⏰ SLA breach: {name}{company} — {} has not touched it (due {})",
            mention(d),
            slack_time(event.sla.as_ref().map_or(d.first_touch_due_at, |s| s.due_at), None)
        ),
        EventType::Reassigned => {
            let (from, why) = event.sla.as_ref().map_or((String::new(), String::new()), |s| {
                (
                    format!(" from *{}*", escape(&s.owner)),
                    s.reason.as_deref().map(|r| format!(" · {}", escape(r))).unwrap_or_default(),
                )
            });
            format!(
                "↪️ Reassigned: {name}{company}{from} → {} after a missed first touch{why} · due {}",
                mention(d),
                slack_time(d.first_touch_due_at, None)
            )
        }
        _ => return None,
    };
    Some(json!({
        "text": match event.kind {
            EventType::Escalated | EventType::SlaBreached => format!("⏰ SLA breach: {} → {}", escape(&lead.display_name()), escape(&d.owner.name)),
            EventType::Reassigned => format!("↪️ Reassigned: {} → {}", escape(&lead.display_name()), escape(&d.owner.name)),
            _ => format!("{} → {}", escape(&lead.display_name()), escape(&d.owner.name)),
        },
        "blocks": [ { "type": "section", "text": { "type": "mrkdwn", "text": truncate(&text, SECTION_MAX) } } ],
    }))
}

/// The alert for a notification that could not be delivered, for the team channel.
pub fn alert(event: &LeadEvent) -> Option<Value> {
    let (lead, Some(failure)) = (&event.lead, &event.failure) else { return None };
    let text = format!(
        "⚠️ *Notification not delivered:* `{}` about {} on `{}` failed: {}. The event is in the dead-letter queue for redrive once fixed.",
        escape(&failure.event),
        escape(&lead.display_name()),
        escape(&failure.channel),
        escape(&truncate(&failure.error, 500))
    );
    Some(json!({
        "text": format!("Notification not delivered: {} on {}", escape(&failure.event), escape(&failure.channel)),
        "blocks": [ { "type": "section", "text": { "type": "mrkdwn", "text": text } } ],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrkdwn_control_characters_are_escaped() {
        assert_eq!(escape("<@U123> & <!channel>"), "&lt;@U123&gt; &amp; &lt;!channel&gt;");
    }

    #[test]
    fn long_text_is_cut_to_the_limit_with_an_ellipsis() {
        let cut = truncate(&"é".repeat(200), HEADER_MAX);
        assert_eq!(cut.chars().count(), HEADER_MAX);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn a_slack_time_falls_back_to_the_owners_local_time() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-24T09:15:00Z").unwrap().to_utc();
        assert_eq!(
            slack_time(at, Some("America/New_York")),
            "<!date^1795511700^{date_short_pretty} at {time}|Tue 24 Nov 04:15 EST>"
        );
        assert_eq!(owner_time(at, None), "Tue 24 Nov 09:15 UTC");
        assert_eq!(owner_time(at, Some("Not/AZone")), "Tue 24 Nov 09:15 UTC");
    }

    fn assigned_view(json: &str) -> LeadView {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-24T09:15:00Z").unwrap().to_utc();
        let lead = baton_domain::LeadSubmission::from_json(json.as_bytes())
            .unwrap()
            .into_lead(baton_domain::LeadId::generate(), at)
            .unwrap();
        let decision = baton_domain::decide(&lead, &baton_domain::Ruleset::default_ruleset(), at);
        LeadView::of(&lead.assign(decision).unwrap().lead)
    }

    /// The texts of the message's context blocks.
    fn context_texts(message: &Value) -> Vec<String> {
        message["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "context")
            .map(|b| b["elements"][0]["text"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn unrecognized_values_are_listed_for_the_owner_to_check() {
        let view = assigned_view(
            r#"{"email":"ada@corp.example","country":"Atlantis","website":"<!channel>","source":{"form_type":"demo_request"}}"#,
        );
        let expected = "⚠️ Data to check: country “Atlantis” not recognized; website “&lt;!channel&gt;” not recognized";
        assert!(
            context_texts(&assigned(&view)).contains(&expected.to_owned()),
            "{:?}",
            context_texts(&assigned(&view))
        );
        assert!(context_texts(&escalated(&view)).contains(&expected.to_owned()));
        assert!(context_texts(&after_touch(&view)).contains(&expected.to_owned()));
    }

    #[test]
    fn possible_duplicates_are_shown_with_their_reason() {
        let submitted = |json: &str, id: baton_domain::LeadId| {
            baton_domain::LeadSubmission::from_json(json.as_bytes()).unwrap().into_lead(id, chrono::Utc::now()).unwrap()
        };
        let ann = submitted(
            r#"{"email":"ann@corp.example","first_name":"Ann","phone":"+14155552671"}"#,
            baton_domain::LeadId::generate(),
        );
        let ben = submitted(
            r#"{"email":"ben@corp.example","first_name":"Ben","phone":"+14155552671","source":{"form_type":"demo_request"}}"#,
            baton_domain::LeadId::generate(),
        )
        .with_possible_duplicates([&ann]);
        let decision = baton_domain::decide(&ben, &baton_domain::Ruleset::default_ruleset(), ben.captured_at);
        let view = LeadView::of(&ben.assign(decision).unwrap().lead);
        let expected = format!("👥 Possible duplicate of Ann (`{}`: same phone +14155552671)", ann.id);
        assert!(context_texts(&assigned(&view)).contains(&expected), "{:?}", context_texts(&assigned(&view)));
        let alone = assigned_view(r#"{"email":"ann@corp.example","first_name":"Ann","phone":"+14155552671"}"#);
        assert!(!context_texts(&assigned(&alone)).iter().any(|t| t.contains("Possible duplicate")));
    }

    #[test]
    fn an_internationalized_email_is_shown_as_typed() {
        let view = assigned_view(r#"{"email":"J\u00f6rg@B\u00fccher.de"}"#);
        let text = assigned(&view).to_string();
        assert!(text.contains("J\u{f6}rg@B\u{fc}cher.de") && !text.contains("xn--"), "{text}");
    }

    #[test]
    fn a_lead_with_clean_data_has_no_data_check_line() {
        let view = assigned_view(r#"{"email":"ada@corp.example","country":"Sweden"}"#);
        assert!(!context_texts(&assigned(&view)).iter().any(|t| t.contains("Data to check")));
    }
}
