//! Snapshot tests of the Slack payloads in `baton_app::message` (re-exported as
//! `baton_notify::message`): the owner message (assigned, SLA warning, breach, reassignment),
//! the team channel summary, the manager's breach alert, the message after a button press and
//! the alert for an undelivered notification.
//! Every input is fixed (lead ids, timestamps, the default ruleset with pointer 0), so the
//! snapshots only change when the rendering does.
//!
//! Update after an intended change: `INSTA_UPDATE=always cargo test -p baton-notify --test snapshots`,
//! then review the diff of `tests/snapshots/`.

use baton_domain::{
    Account, FirstAction, Lead, LeadEvent, LeadId, LeadStatus, LeadSubmission, LeadView, NotificationFailure, Owner,
    Priority, Ruleset, Timestamp, Touch, TouchKind, decide,
};
use baton_notify::message::{after_touch, alert, manager_alert, render, summary};
use chrono::TimeZone;
use serde_json::Value;

/// When every lead is captured and decided: Tuesday 24 November 2026, 09:00 UTC.
fn t0() -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

fn minutes(n: i64) -> Timestamp {
    t0() + chrono::Duration::minutes(n)
}

fn id(n: u8) -> LeadId {
    LeadId::parse(&format!("00000000-0000-4000-8000-0000000000{n:02}")).unwrap()
}

/// A lead captured at `t0` from a `POST /leads` body, not yet decided.
fn captured(n: u8, json: &str) -> Lead {
    LeadSubmission::from_json(json.as_bytes()).unwrap().into_lead(id(n), t0()).unwrap()
}

/// The lead decided by the default ruleset at `t0` (pool pointer 0), and checked to decide the
/// same way twice.
fn assigned(lead: Lead) -> Lead {
    let ruleset = Ruleset::default_ruleset();
    let decision = decide(&lead, &ruleset, t0());
    assert_eq!(decide(&lead, &ruleset, t0()), decision, "the decision is deterministic");
    lead.assign(decision).unwrap().lead
}

fn decided(n: u8, json: &str) -> Lead {
    assigned(captured(n, json))
}

/// Case 1: hot, with a phone, in Germany: Jonas (Europe/Berlin) calls.
fn hot_with_phone() -> Lead {
    decided(
        1,
        r#"{"email":"lena.schmidt@fabrik.example","phone":"+49 30 1234567","first_name":"Lena","last_name":"Schmidt",
            "company":"Fabrik GmbH","job_title":"VP Engineering","country":"DE",
            "source":{"form_type":"demo_request","utm_source":"google","utm_campaign":"q4-launch"}}"#,
    )
}

/// Case 2: hot, no phone, in the US: the north-america pool's first slot (Avery) sends a link.
fn hot_without_phone() -> Lead {
    decided(
        2,
        r#"{"email":"marcus.hill@northwind.example","first_name":"Marcus","last_name":"Hill",
            "company":"Northwind Traders","job_title":"Director of Sales Operations","country":"US",
            "source":{"form_type":"demo_request","utm_source":"newsletter"}}"#,
    )
}

/// Case 3: warm (asked to talk to sales, business email), in the UK: Jonas emails.
fn warm() -> Lead {
    decided(
        3,
        r#"{"email":"priya.nair@ledger.example","first_name":"Priya","last_name":"Nair","company":"Ledger Ltd",
            "job_title":"Operations Manager","country":"GB","company_size":"51-200",
            "source":{"form_type":"contact_sales","utm_source":"linkedin"}}"#,
    )
}

/// Case 4: cold (a content download), no country: the fallback queue (no time zone: UTC) emails.
fn cold() -> Lead {
    decided(4, r#"{"email":"sam@smallshop.example","source":{"form_type":"content_download"}}"#)
}

/// Case 4b: cold with only a phone, in the US: the "only a phone" play calls.
fn cold_only_phone() -> Lead {
    decided(5, r#"{"phone":"+1 (415) 555-0100","country":"US"}"#)
}

/// Case 5: a strategic account with an open deal, owned by Riley: the lead stays with Riley.
fn kept_with_account_owner() -> Lead {
    let mut lead = captured(
        6,
        r#"{"email":"dana@acme.example","first_name":"Dana","last_name":"Scully","company":"Acme Corp",
            "job_title":"Procurement Lead","country":"US","source":{"form_type":"pricing"}}"#,
    );
    lead.account = Some(Account {
        account_id: "acc-001".into(),
        name: "Acme Corp".into(),
        domain: "acme.example".into(),
        owner: Some(Owner::new("rep-riley", "Riley Park")),
        segment: Some("enterprise".into()),
        tier: Some("1".into()),
        open_deal: true,
        domains: Vec::new(),
    });
    assigned(lead)
}

/// Case 6: Slack's control characters in the name, company, title and a multi-line message.
fn needs_escaping() -> Lead {
    decided(
        7,
        r#"{"email":"robin@smith-sons.example","first_name":"Robin <Bobby>","last_name":"Tables",
            "company":"Smith & Sons <Holdings>","job_title":"R&D Manager","country":"NL",
            "message":"Hi,\nWe need <SSO> & SCIM for 500 seats.\n> Is that on the roadmap?\n\nThanks & regards",
            "source":{"form_type":"contact_sales"}}"#,
    )
}

/// Hot, no phone, in Europe: the play asks for a meeting link, but Jonas has none.
fn hot_without_phone_owner_without_link() -> Lead {
    decided(
        8,
        r#"{"email":"elif.kaya@hafen.example","first_name":"Elif","last_name":"Kaya","company":"Hafen AG",
            "job_title":"Head of Logistics","country":"DE","source":{"form_type":"demo_request"}}"#,
    )
}

fn touched(lead: Lead, touch: Touch) -> Lead {
    match lead.touch(touch) {
        Ok(transition) => transition.lead,
        Err(refusal) => panic!("the touch was not recorded: {refusal}"),
    }
}

/// The lead escalated at `at` (its first touch missed).
fn escalate(lead: Lead, at: Timestamp) -> Lead {
    lead.escalate(at).unwrap_or_else(|refusal| panic!("the lead was not escalated: {refusal}")).lead
}

/// The `lead.escalated` event of an escalated lead, as the sweep announces it from the outbox.
fn escalated_event(lead: &Lead) -> LeadEvent {
    assert_eq!(lead.outbox.len(), 1, "one escalation waiting to be announced");
    LeadEvent::announcing(lead, &lead.outbox[0])
}

/// Snapshots `value` (maps sorted, so the file does not depend on serde_json's map order) after
/// checking what every payload must satisfy.
fn snapshot(name: &str, description: &str, value: &Value) {
    assert_no_nulls(value, name);
    let mut settings = insta::Settings::clone_current();
    settings.set_sort_maps(true);
    settings.set_description(description);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_json_snapshot!(name, value));
}

fn assert_no_nulls(value: &Value, at: &str) {
    match value {
        Value::Null => panic!("`null` at {at}: a missing field should be absent"),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| assert_no_nulls(v, &format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().for_each(|(k, v)| assert_no_nulls(v, &format!("{at}.{k}"))),
        _ => {}
    }
}

fn blocks(message: &Value) -> &[Value] {
    message["blocks"].as_array().expect("a message with blocks")
}

fn block_texts(message: &Value) -> Vec<&str> {
    blocks(message).iter().filter_map(|b| b["text"]["text"].as_str()).collect()
}

/// The text of the first section that starts with `prefix`.
fn section<'a>(message: &'a Value, prefix: &str) -> &'a str {
    block_texts(message)
        .into_iter()
        .find(|t| t.starts_with(prefix))
        .unwrap_or_else(|| panic!("no section starting with {prefix:?} in {message:#}"))
}

fn first_action(message: &Value) -> &str {
    section(message, "*First action:*")
}

/// The touch buttons, checked: one per kind in order, `baton_touch_<kind>`, the lead id as value.
fn assert_buttons(message: &Value, lead: &Lead) {
    let actions: Vec<&Value> = blocks(message).iter().filter(|b| b["type"] == "actions").collect();
    assert_eq!(actions.len(), 1, "one row of buttons");
    let elements = actions[0]["elements"].as_array().unwrap();
    let ids: Vec<&str> = elements.iter().map(|e| e["action_id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "baton_touch_accepted",
            "baton_touch_called",
            "baton_touch_emailed",
            "baton_touch_meeting_booked",
            "baton_touch_not_a_fit"
        ]
    );
    assert!(elements.iter().all(|e| e["value"] == lead.id.as_str()), "every button carries the lead id");
}

fn assert_no_buttons(message: &Value) {
    assert!(!blocks(message).iter().any(|b| b["type"] == "actions"), "no buttons in {message:#}");
}

#[test]
fn owner_message_for_a_hot_lead_with_a_phone_says_call_in_the_owners_zone() {
    let lead = hot_with_phone();
    let d = lead.decision().unwrap();
    assert_eq!((d.score.priority, d.first_action), (Priority::Hot, FirstAction::Call));
    assert_eq!((d.owner.id.as_str(), d.play.as_deref()), ("rep-jonas", Some("hot, with a phone")));

    let message = render(&LeadEvent::assigned(&lead)).unwrap();
    let action = first_action(&message);
    assert!(action.starts_with("*First action:* Call Lena Schmidt at +49301234567 — due <!date^"), "{action}");
    assert!(
        action.ends_with(
            "|Tue 24 Nov 10:15 CET>\n_Call now, while they are on the site; open with what they asked for._"
        ),
        "{action}"
    );
    assert!(section(&message, "Assigned to").contains("<@U0JONAS001>"));
    assert_buttons(&message, &lead);
    snapshot(
        "assigned_hot_with_phone_call_berlin",
        "Case 1: hot lead with a phone → call, due in Europe/Berlin",
        &message,
    );
}

#[test]
fn owner_message_for_a_hot_lead_without_a_phone_offers_the_owners_meeting_link() {
    let lead = hot_without_phone();
    let d = lead.decision().unwrap();
    assert_eq!((d.score.priority, d.first_action), (Priority::Hot, FirstAction::SendMeetingLink));
    assert_eq!((d.owner.id.as_str(), d.pool.as_deref()), ("rep-avery", Some("north-america")));

    let message = render(&LeadEvent::assigned(&lead)).unwrap();
    let action = first_action(&message);
    assert!(
        action.starts_with(
            "*First action:* Send a meeting link to Marcus Hill — your link: \
             <https://cal.example.com/avery-chen|https://cal.example.com/avery-chen> — due <!date^"
        ),
        "{action}"
    );
    assert!(action.contains("|Tue 24 Nov 04:15 EST>"), "{action}");
    assert_buttons(&message, &lead);
    snapshot(
        "assigned_hot_without_phone_meeting_link",
        "Case 2: hot US lead without a phone → send Avery's meeting link, due in America/New_York",
        &message,
    );
}

#[test]
fn owner_message_for_a_warm_lead_says_email() {
    let lead = warm();
    let d = lead.decision().unwrap();
    assert_eq!((d.score.priority, d.first_action), (Priority::Warm, FirstAction::Email));
    assert_eq!(d.play.as_deref(), Some("everyone else"));

    let message = render(&LeadEvent::assigned(&lead)).unwrap();
    let action = first_action(&message);
    assert!(action.starts_with("*First action:* Email Priya Nair at priya.nair@ledger.example — due"), "{action}");
    assert!(action.contains("|Tue 24 Nov 12:00 CET>"), "a warm lead is due in 2 hours: {action}");
    assert_buttons(&message, &lead);
    snapshot("assigned_warm_email", "Case 3: warm lead → email within 2 hours", &message);
}

#[test]
fn owner_message_for_a_cold_lead_goes_to_the_fallback_queue_in_utc() {
    let lead = cold();
    let d = lead.decision().unwrap();
    assert_eq!((d.score.priority, d.first_action), (Priority::Cold, FirstAction::Email));
    assert_eq!((d.rule.as_str(), d.owner.timezone.as_deref()), ("fallback", None));

    let message = render(&LeadEvent::assigned(&lead)).unwrap();
    assert!(section(&message, "Assigned to").starts_with("Assigned to *Inbound queue (Sam Rivera)*"));
    assert!(first_action(&message).contains("|Wed 25 Nov 09:00 UTC>"), "a cold lead is due in 24 hours, in UTC");
    assert_buttons(&message, &lead);
    snapshot(
        "assigned_cold_email_fallback_utc",
        "Case 4: cold lead, no country → fallback queue, email, UTC",
        &message,
    );
}

#[test]
fn owner_message_for_a_cold_lead_with_only_a_phone_says_call() {
    let lead = cold_only_phone();
    let d = lead.decision().unwrap();
    assert_eq!((d.score.priority, d.first_action), (Priority::Cold, FirstAction::Call));
    assert_eq!(d.play.as_deref(), Some("only a phone"));

    let message = render(&LeadEvent::assigned(&lead)).unwrap();
    assert!(first_action(&message).starts_with("*First action:* Call +14155550100 — due"));
    assert_buttons(&message, &lead);
    snapshot("assigned_cold_only_phone_call", "Case 4b: cold lead with only a phone → call", &message);
}

#[test]
fn owner_message_for_a_suppressed_lead_says_it_was_kept_with_the_account_owner() {
    let lead = kept_with_account_owner();
    let d = lead.decision().unwrap();
    assert_eq!((d.suppression.as_deref(), d.rule.as_str()), (Some("open deal"), "suppressed: open deal"));
    assert_eq!((d.owner.id.as_str(), d.owner.timezone.as_deref()), ("rep-riley", Some("America/Los_Angeles")));

    let message = render(&LeadEvent::assigned(&lead)).unwrap();
    assert_eq!(
        section(&message, "*Kept with you:*"),
        "*Kept with you:* open deal — no new owner was assigned; coordinate before reaching out."
    );
    let fields = blocks(&message)[1]["fields"].as_array().unwrap();
    assert!(fields.iter().any(|f| f["text"] == "*Account*\nAcme Corp (owner Riley Park), open deal"));
    assert!(first_action(&message).contains("|Tue 24 Nov 01:15 PST>"), "{}", first_action(&message));
    assert_buttons(&message, &lead);
    snapshot("assigned_kept_with_account_owner", "Case 5: open deal on the account → kept with its owner", &message);
}

#[test]
fn owner_message_escapes_slacks_control_characters_and_quotes_every_line_of_the_message() {
    let lead = needs_escaping();
    let message = render(&LeadEvent::assigned(&lead)).unwrap();
    assert_eq!(
        section(&message, "*Message*"),
        "*Message*\n>Hi,\n>We need &lt;SSO&gt; &amp; SCIM for 500 seats.\n>&gt; Is that on the roadmap?\n>\n>Thanks &amp; regards"
    );
    let fields = blocks(&message)[1]["fields"].as_array().unwrap();
    assert!(fields.iter().any(|f| f["text"] == "*Company*\nSmith &amp; Sons &lt;Holdings&gt;"));
    assert!(first_action(&message).contains("Email Robin &lt;Bobby&gt; Tables at"));
    for text in block_texts(&message).into_iter().skip(1) {
        // Past the plain-text header, no raw `&` outside an entity and no `<` but Slack's own.
        assert!(!text.contains("<Bobby>") && !text.contains("<SSO>") && !text.contains("& "), "{text}");
    }
    assert_buttons(&message, &lead);
    snapshot("assigned_escaped_multiline_message", "Case 6: <, > and & escaped; a multi-line message quoted", &message);
}

#[test]
fn owner_message_without_a_meeting_link_still_names_the_action() {
    let lead = hot_without_phone_owner_without_link();
    let d = lead.decision().unwrap();
    assert_eq!((d.first_action, d.owner.meeting_link.as_deref()), (FirstAction::SendMeetingLink, None));

    let message = render(&LeadEvent::assigned(&lead)).unwrap();
    let action = first_action(&message);
    assert!(action.starts_with("*First action:* Send a meeting link to Elif Kaya — due <!date^"), "{action}");
    assert!(!action.contains("your link"), "{action}");
    snapshot(
        "assigned_meeting_link_owner_without_link",
        "Hot lead without a phone, owner without a meeting link: the action without a link",
        &message,
    );
}

#[test]
fn escalated_owner_message_says_the_sla_was_breached() {
    let lead = escalate(hot_with_phone(), minutes(16));
    assert_eq!(lead.status(), LeadStatus::Escalated);
    let message = render(&escalated_event(&lead)).unwrap();
    let breach = section(&message, "⏰ *SLA breach:*");
    assert!(breach.starts_with("⏰ *SLA breach:* Lena Schmidt was due for a first touch by <@U0JONAS001> at <!date^"));
    assert!(breach.ends_with("|Tue 24 Nov 10:15 CET> and has not been touched."), "{breach}");
    assert_buttons(&message, &lead);
    snapshot("escalated_owner_message", "Case 7: the owner message for lead.escalated", &message);
}

#[test]
fn team_summaries_are_one_line_for_assignments_and_escalations() {
    let lead = hot_with_phone();
    let assigned = summary(&LeadEvent::assigned(&lead)).unwrap();
    let line = assigned["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(line.starts_with("🔥 Hot Lena Schmidt (Fabrik GmbH) → <@U0JONAS001> · Call by <!date^"), "{line}");
    assert!(line.ends_with("|Tue 24 Nov 09:15 UTC> · 80 points · rule `europe`"), "{line}");
    assert_eq!(blocks(&assigned).len(), 1);
    snapshot("summary_assigned", "Case 8: the team channel line for lead.assigned", &assigned);

    let escalated = summary(&escalated_event(&escalate(lead.clone(), minutes(16)))).unwrap();
    let line = escalated["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(line.starts_with("⏰ SLA breach: Lena Schmidt (Fabrik GmbH) — <@U0JONAS001> has not touched it"), "{line}");
    snapshot("summary_escalated", "Case 8: the team channel line for lead.escalated", &escalated);

    let escaped = summary(&LeadEvent::assigned(&needs_escaping())).unwrap();
    let line = escaped["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(line.starts_with("🌤 Warm Robin &lt;Bobby&gt; Tables (Smith &amp; Sons &lt;Holdings&gt;) →"), "{line}");
    snapshot("summary_assigned_escaped", "Case 8: the team channel line escapes the name and company", &escaped);
}

#[test]
fn after_touch_lists_every_touch_and_keeps_the_buttons_while_the_lead_is_open() {
    let lead = touched(hot_without_phone(), Touch::new(TouchKind::Accepted, minutes(4), "U0AVERY001", "slack"));
    let lead = touched(lead, Touch::new(TouchKind::Called, minutes(50), "crm-sync", "api"));
    assert_eq!((lead.status(), lead.touches.len()), (LeadStatus::Touched, 2));

    let message = after_touch(&LeadView::of(&lead));
    assert_eq!(message["replace_original"], true);
    assert_eq!(message["text"], "Marcus Hill: crm-sync logged a call");
    let activity = section(&message, "✅");
    let lines: Vec<&str> = activity.lines().collect();
    assert_eq!(lines.len(), 2, "{activity}");
    assert!(lines[0].starts_with("✅ <@U0AVERY001> accepted the lead · <!date^"), "{activity}");
    assert!(lines[0].ends_with("|Tue 24 Nov 04:04 EST>"), "{activity}");
    assert!(lines[1].starts_with("✅ crm-sync logged a call · <!date^"), "{activity}");
    assert_buttons(&message, &lead);
    snapshot("after_touch_accepted_then_called", "Case 9: after Accept (Slack) then a call (API)", &message);
}

#[test]
fn after_not_a_fit_the_buttons_are_gone() {
    let lead = touched(cold(), Touch::new(TouchKind::NotAFit, minutes(30), "U0SAMRIV01", "slack"));
    assert_eq!(lead.status(), LeadStatus::Disqualified);

    let message = after_touch(&LeadView::of(&lead));
    assert_eq!(message["text"], "sam@smallshop.example: <@U0SAMRIV01> marked it not a fit");
    assert!(section(&message, "🚫").starts_with("🚫 <@U0SAMRIV01> marked it not a fit · <!date^"));
    assert_no_buttons(&message);
    snapshot("after_touch_not_a_fit", "Case 9: after Not a fit: disqualified, no buttons", &message);
}

#[test]
fn an_undelivered_notification_is_announced_with_everything_escaped() {
    let lead = needs_escaping();
    let failure = NotificationFailure {
        event: "lead.assigned".into(),
        channel: "slack:U0JONAS001".into(),
        error: "channel_not_found: <U0JONAS001> is gone & will not come back".into(),
        at: minutes(1),
    };
    let event = LeadEvent::notification_failed(&LeadView::of(&lead), failure);
    assert_eq!(render(&event), None, "no rep is told about a delivery failure");
    assert_eq!(alert(&LeadEvent::assigned(&hot_with_phone())), None, "only failures raise an alert");

    let message = alert(&event).unwrap();
    let text = message["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(text.starts_with("⚠️ *Notification not delivered:* `lead.assigned` about Robin &lt;Bobby&gt; Tables"));
    assert!(text.contains("failed: channel_not_found: &lt;U0JONAS001&gt; is gone &amp; will not come back."));
    assert_eq!(message["text"], "Notification not delivered: lead.assigned on slack:U0JONAS001");
    snapshot("alert_notification_failed", "Case 10: the team channel alert for lead.notification_failed", &message);
}

/// The default ruleset with the ladder on: a warning at 80% of the target, reassignment 10
/// minutes after a breach, and a manager for the europe team.
fn ladder() -> Ruleset {
    let mut ruleset = Ruleset::default_ruleset();
    ruleset.sla.warn_at_percent = Some(80);
    ruleset.sla.reassign_after = Some("10m".into());
    ruleset.pools.get_mut("europe").unwrap().manager = Some("U0MANAGER1".into());
    ruleset
}

/// Case 1's lead under the ladder ruleset.
fn hot_with_phone_on_the_ladder() -> Lead {
    let lead = captured(
        1,
        r#"{"email":"lena.schmidt@fabrik.example","phone":"+49 30 1234567","first_name":"Lena","last_name":"Schmidt",
            "company":"Fabrik GmbH","job_title":"VP Engineering","country":"DE","source":{"form_type":"demo_request"}}"#,
    );
    let decision = decide(&lead, &ladder(), t0());
    assert_eq!(decision.manager.as_deref(), Some("U0MANAGER1"));
    lead.assign(decision).unwrap().lead
}

/// The event the rung just taken announces (the newest outbox entry).
fn rung_event(lead: &Lead) -> LeadEvent {
    LeadEvent::announcing(lead, lead.outbox.last().expect("a rung waits to be announced"))
}

#[test]
fn a_warning_tells_the_owner_how_long_is_left_with_the_buttons_and_nobody_else() {
    let lead = hot_with_phone_on_the_ladder();
    let warned = lead.climb(minutes(12)).unwrap().lead;
    let event = rung_event(&warned);
    assert_eq!(event.event_type(), baton_domain::EventType::SlaWarning);
    let message = render(&event).unwrap();
    let line = section(&message, "⏳");
    assert!(
        line.starts_with("⏳ *3 minutes left:* Lena Schmidt is due for a first touch by <@U0JONAS001> at <!date^"),
        "{line}"
    );
    assert!(line.ends_with("|Tue 24 Nov 10:15 CET>."), "{line}");
    assert_buttons(&message, &warned);
    assert_eq!(summary(&event), None, "a warning is the owner's alone");
    assert_eq!(manager_alert(&event), None);
    snapshot("sla_warning_owner_message", "The owner's SLA warning at 80% of a 15-minute target", &message);
}

#[test]
fn a_breach_goes_to_the_owner_the_team_and_the_manager() {
    let breached = hot_with_phone_on_the_ladder().climb(minutes(16)).unwrap().lead;
    let event = rung_event(&breached);
    assert_eq!(event.event_type(), baton_domain::EventType::SlaBreached);
    let owner = render(&event).unwrap();
    assert!(
        section(&owner, "⏰ *SLA breach:*")
            .starts_with("⏰ *SLA breach:* Lena Schmidt was due for a first touch by <@U0JONAS001>")
    );
    assert_buttons(&owner, &breached);
    let team = summary(&event).unwrap();
    let line = team["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(line.starts_with("⏰ SLA breach: Lena Schmidt (Fabrik GmbH) — <@U0JONAS001> has not touched it"), "{line}");
    let manager = manager_alert(&event).unwrap();
    let text = manager["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(text.starts_with("🚨 *SLA breach on your team:* Lena Schmidt (Fabrik GmbH), hot lead, was due for a first touch by <@U0JONAS001>"), "{text}");
    assert!(text.contains("Baton reassigns it at <!date^1795512300^"), "{text}");
    assert_no_buttons(&manager);
    snapshot("sla_breached_manager_alert", "The manager's alert for lead.sla_breached", &manager);
    snapshot("sla_breached_summary", "The team channel line for lead.sla_breached", &team);
}

#[test]
fn a_reassignment_gives_the_new_owner_the_whole_lead_and_says_why() {
    let ruleset = ladder();
    let breached = hot_with_phone_on_the_ladder().climb(minutes(16)).unwrap().lead;
    let (decision, reason) =
        baton_domain::rules::engine::reassignment(&ruleset, &breached, 0, 0, &|_| None, minutes(25)).unwrap();
    let moved = breached.reassign(decision, &reason, minutes(25)).unwrap().lead;
    let event = rung_event(&moved);
    assert_eq!(event.event_type(), baton_domain::EventType::Reassigned);
    let new_owner = moved.decision().unwrap().owner.clone();
    assert_ne!(new_owner.id, "rep-jonas");
    let message = render(&event).unwrap();
    let why = section(&message, "↪️");
    assert!(why.starts_with("↪️ *Reassigned to you:* the first touch was due from *rep-jonas* by <!date^"), "{why}");
    assert!(why.contains(&reason), "{why} / {reason}");
    assert_buttons(&message, &moved);
    let team = summary(&event).unwrap();
    let line = team["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(line.starts_with("↪️ Reassigned: Lena Schmidt (Fabrik GmbH) from *rep-jonas* → "), "{line}");
    snapshot("reassigned_new_owner_message", "The new owner's message for lead.reassigned", &message);
    snapshot("reassigned_summary", "The team channel line for lead.reassigned", &team);
}
