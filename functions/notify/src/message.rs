//! Slack messages (Block Kit) for lead events: who the lead is, why it scored as it did, the
//! first action and its due time. Due times use Slack's date token, which each reader sees in
//! their own time zone, with a UTC fallback.

use baton_domain::{Lead, LeadEvent, Priority, Timestamp};
use serde_json::{Value, json};

/// Slack's limit for a header block's text.
const HEADER_MAX: usize = 150;
/// Slack's limit for a section's text.
const SECTION_MAX: usize = 3000;

/// Escapes the three characters Slack's mrkdwn treats as control characters.
fn escape(text: &str) -> String {
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

/// A time every reader sees in their own time zone (UTC in the fallback text).
fn slack_time(at: Timestamp) -> String {
    format!("<!date^{}^{{date_short_pretty}} at {{time}}|{}>", at.timestamp(), at.format("%Y-%m-%d %H:%M UTC"))
}

fn priority_badge(p: Priority) -> &'static str {
    match p {
        Priority::Hot => "🔥 Hot",
        Priority::Warm => "🌤 Warm",
        Priority::Cold => "❄️ Cold",
    }
}

fn field(label: &str, value: Option<&str>) -> Option<Value> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| json!({ "type": "mrkdwn", "text": format!("*{label}*\n{}", escape(&truncate(v, 500))) }))
}

fn context_fields(lead: &Lead) -> Vec<Value> {
    let source =
        [lead.source.form_type.as_deref(), lead.source.utm_source.as_deref(), lead.source.utm_campaign.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
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
        field("Email", lead.email.as_ref().map(|e| e.as_str())),
        field("Phone", lead.phone.as_ref().map(|p| p.as_str())),
        field("Country", lead.country.as_deref()),
        field("Source", Some(source.as_str())),
    ]
    .into_iter()
    .flatten()
    .take(10) // Slack allows at most 10 fields in a section.
    .collect()
}

/// The message for an event, or `None` for events no rep is told about (nurture). The `text`
/// is the notification preview and the fallback for clients that cannot show blocks.
pub fn render(event: &LeadEvent) -> Option<Value> {
    match event {
        LeadEvent::Assigned { lead } => Some(assigned(lead)),
        LeadEvent::Escalated { lead } => Some(escalated(lead)),
        LeadEvent::Nurture { .. } => None,
    }
}

fn assigned(lead: &Lead) -> Value {
    let name = lead.display_name();
    let Some(d) = &lead.decision else {
        return json!({ "text": format!("Lead {} was assigned, but its decision is missing", lead.id) });
    };
    let priority = d.score.priority;
    let reasons = d
        .score
        .reasons
        .iter()
        .map(|r| format!("• {:+} {}", r.points, escape(&r.reason)))
        .collect::<Vec<_>>()
        .join("\n");
    let action = format!(
        "*First action:* {} {} — due {}",
        d.first_action.label(),
        escape(&name),
        slack_time(d.first_touch_due_at)
    );
    let mut blocks = vec![
        json!({ "type": "header", "text": { "type": "plain_text", "text": truncate(&format!("{} lead: {name}", priority_badge(priority)), HEADER_MAX) } }),
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("Assigned to *{}*", escape(&d.owner.name)) }, "fields": context_fields(lead) }),
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": truncate(&format!("*Why {} ({} points)*\n{reasons}", priority.as_str(), d.score.points), SECTION_MAX) } }),
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": action } }),
    ];
    if let Some(suppression) = &d.suppression {
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("*Kept with you:* {} — no new owner was assigned; coordinate before reaching out.", escape(suppression)) } }));
    }
    if let Some(message) = &lead.message {
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": truncate(&format!("*Message*\n>{}", escape(message).replace('\n', "\n>")), SECTION_MAX) } }));
    }
    let pool = d.pool.as_deref().map(|p| format!(" · pool `{}`", escape(p))).unwrap_or_default();
    let ruleset = d.ruleset.as_deref().map(|r| format!(" · ruleset `{}`", escape(r))).unwrap_or_default();
    blocks.push(json!({ "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("Lead `{}` · rule `{}`{pool}{ruleset} · Baton", lead.id, escape(&d.rule)) } ] }));
    json!({
        "text": format!("{} lead for {}: {} — {} by {}", priority_badge(priority), d.owner.name, name, d.first_action.label(), d.first_touch_due_at.format("%Y-%m-%d %H:%M UTC")),
        "blocks": blocks,
    })
}

fn escalated(lead: &Lead) -> Value {
    let name = lead.display_name();
    let (owner, due) = lead
        .decision
        .as_ref()
        .map(|d| (d.owner.name.as_str(), slack_time(d.first_touch_due_at)))
        .unwrap_or(("nobody", "an unknown time".to_owned()));
    let text = format!("⏰ SLA breach: {name} has not been touched by {owner}");
    json!({
        "text": text,
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": format!("⏰ *SLA breach:* {} was due for a first touch by *{}* at {due} and has not been touched.", escape(&name), escape(owner)) }, "fields": context_fields(lead) },
            { "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("Lead `{}` · escalated by Baton's SLA sweep", lead.id) } ] },
        ],
    })
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
    fn a_slack_time_has_a_utc_fallback() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-24T09:15:00Z").unwrap().to_utc();
        assert_eq!(slack_time(at), "<!date^1795511700^{date_short_pretty} at {time}|2026-11-24 09:15 UTC>");
    }
}
