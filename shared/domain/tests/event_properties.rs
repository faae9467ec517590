//! Properties of the public event contract: whatever the submissions were (merged into one
//! lead, the largest values the contract allows, text that JSON must escape), no event about the
//! lead exceeds its bound, let alone SNS's 256 KiB.

use baton_domain::{
    Announcement, LeadEvent, LeadId, LeadSubmission, LeadView, MAX_EVENT_BYTES, NotificationFailure, Ruleset, Touch,
    TouchKind, decide,
};
use chrono::TimeZone;
use proptest::prelude::*;

/// SNS's limit on a message.
const SNS_LIMIT: usize = 256 * 1024;

fn at(minutes: i64) -> baton_domain::Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
}

/// Text heavy to encode: quotes, backslashes and line breaks (two bytes each in JSON) and
/// four-byte characters, mostly at the longest length the contract allows.
fn heavy(max: usize) -> impl Strategy<Value = String> {
    // Mostly full-length: the bound matters most for the largest values.
    // (Control characters, six bytes each in JSON, are refused by the contract: see its tests.)
    (0..4usize, any::<u64>()).prop_map(move |(kind, seed)| {
        let alphabet = ['"', '\\', '𝄞', 'é', 'a', '\n'];
        let len = if kind == 0 { (seed % max as u64) as usize } else { max };
        (0..len).map(|i| alphabet[(seed as usize).wrapping_add(i * 7 + i / 3) % alphabet.len()]).collect()
    })
}

fn submission() -> impl Strategy<Value = serde_json::Value> {
    (
        proptest::collection::btree_map("[a-z]{1,8}", heavy(1000), 0..=50),
        heavy(5000),
        heavy(256),
        heavy(2020),
    )
        .prop_map(|(attributes, message, name, url)| {
            serde_json::json!({
                "email": "same.person@corp.example",
                "first_name": name, "last_name": name, "company": name, "job_title": name,
                "message": message,
                "attributes": attributes,
                "source": { "page_url": format!("https://corp.example/{url}"), "referrer": format!("https://r.example/{url}"),
                            "utm_source": name, "utm_campaign": name, "utm_content": name, "utm_term": name },
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    #[test]
    fn no_event_exceeds_its_bound_whatever_the_submissions_were(
        submissions in proptest::collection::vec(submission(), 1..5),
        notes in proptest::collection::vec(heavy(1000), 1..15),
    ) {
        // Every valid submission of the same person merges into one lead (invalid ones are refused).
        let mut lead: Option<baton_domain::Lead> = None;
        for (i, body) in submissions.iter().enumerate() {
            let next = match LeadSubmission::from_json(body.to_string().as_bytes())
                .and_then(|s| s.into_lead(LeadId::generate(), at(i as i64)))
            {
                Ok(next) => next,
                Err(e) => panic!("a valid submission was refused: {:?}", e.field_errors()),
            };
            lead = Some(match lead { None => next, Some(l) => l.merge(&next).lead });
        }
        let Some(lead) = lead else { return Ok(()) };
        prop_assert!(lead.attributes.len() >= 10 || submissions.iter().all(|s| s["attributes"].as_object().unwrap().len() < 10));
        let decision = decide(&lead, &Ruleset::default_ruleset(), at(10));
        let assigned = lead.assign(decision).unwrap().lead;
        let mut events = vec![LeadEvent::assigned(&assigned)];
        let escalated = assigned.escalate(at(10_000)).unwrap();
        events.push(LeadEvent::announcing(&escalated.lead, &escalated.lead.outbox[0]));
        let mut current = escalated.lead;
        for (i, note) in notes.iter().enumerate() {
            let mut touch = Touch::new(TouchKind::Called, at(20_000 + i as i64), "U0REP00001", "api");
            touch.note = Some(note.clone());
            current = current.touch(touch.clone()).unwrap().lead;
            events.push(LeadEvent::announcing(&current, &Announcement::Touched { touch }));
        }
        let failure = NotificationFailure {
            event: "lead.assigned".into(), channel: "webhook:crm".into(), error: notes[0].repeat(50), at: at(1),
        };
        events.push(LeadEvent::notification_failed(&LeadView::of(&current), failure));
        for event in &events {
            let published = event.to_json().len();
            prop_assert!(published <= MAX_EVENT_BYTES, "{} is {published} bytes", event.kind.as_str());
            prop_assert!(published <= SNS_LIMIT);
            let webhook = event.webhook_body(at(0)).len();
            prop_assert!(webhook <= MAX_EVENT_BYTES + 256, "its webhook is {webhook} bytes");
        }
    }
}
