//! The form snippet and the thank-you handoff in a real browser: baton-local on moto serves the
//! sample page (`/sample`) and the snippet (`/baton.js`); headless Chromium (Debian's package,
//! driven by `tests/browser/form.mjs`) fills the form as a visitor would.
//!
//! It checks what the visitor sees against what Baton stored: the lead with its first and last
//! touch and consent, the routed owner's name and booking link on the panel, the booking press
//! as the lead's touch, a field error next to its field, a double submit as one lead, the team
//! calendar for a rep without a booking link, Do Not Track, the plain form post for a browser
//! without `fetch`, and the page's own submission when Baton is down (also for a form with no
//! action, a page whose own script handles the submit, and a 400 about no field of the form).
//! The page is served from a site of its own origin, so every call to Baton is cross-origin.
//! It prints the time from submit to the panel. Screenshots are kept in `target/test-artifacts/`.
//!
//! Needs moto (`BATON_TEST_AWS_ENDPOINT`), Node.js, `tests/browser/node_modules` (`npm ci`) and
//! Chromium at `/usr/bin/chromium` (or `BATON_CHROMIUM`); `infra/scripts/test.sh` installs them.

use std::path::PathBuf;
use std::time::Duration;

use baton_adapters::contract::{test_endpoint, unique_name};
use baton_domain::{LeadId, TouchKind};
use baton_e2e::{chromium, eventually, run_browser};
use baton_local::{Backend, Options, start};
use serde_json::Value;

fn lead_id(v: &Value) -> LeadId {
    LeadId::parse(v.as_str().expect("a lead id")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_submits_the_sample_form_and_sees_the_routed_rep_in_a_real_browser() {
    let chromium = chromium();
    let running = start(Options {
        backend: Backend::Aws { endpoint: Some(test_endpoint()) },
        listen: "127.0.0.1:0".parse().unwrap(),
        prefix: unique_name("form"),
        sweep_every: Duration::from_secs(3600),
        visibility_timeout: Duration::from_secs(2),
        ..Options::default()
    })
    .await
    .expect("the local runner starts on moto");

    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let snippet = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions/capture/src/snippet/baton.js");
    let args = vec![running.url.clone(), snippet.display().to_string(), artifacts.display().to_string()];
    let shown = run_browser("form.mjs", args, &chromium).await;
    let run = shown["run"].as_str().unwrap().to_owned();

    // 1. Each submission is stored with its attribution and consent; the panel names its owner.
    let handoff = &shown["handoff"];
    assert!(!handoff["origin"].as_str().unwrap().starts_with(&running.url), "the page is on a site of its own origin");
    assert_eq!(handoff["errors"], serde_json::json!([]), "no script errors");
    let submissions = handoff["submissions"].as_array().unwrap();
    assert_eq!(submissions.len(), 5);
    let mut times = Vec::new();
    for (i, s) in submissions.iter().enumerate() {
        let leads = s["leads"].as_array().unwrap();
        assert_eq!(leads.len(), 1, "one lead per submission: {s}");
        let lead = running.store.get(&lead_id(&leads[0])).await.unwrap().expect("the lead is stored");
        assert_eq!(lead.email.as_ref().unwrap().as_str(), format!("ada.{run}.{i}@lovelace-labs.example"));
        let src = &lead.source;
        assert_eq!(
            (src.utm_source.as_deref(), src.utm_medium.as_deref(), src.utm_campaign.as_deref()),
            (Some("linkedin"), Some("social"), Some("q4-launch")),
            "the last touch"
        );
        assert_eq!(src.utm_content.as_deref(), Some(format!("post-{i}").as_str()));
        assert!(src.page_url.as_deref().unwrap().contains(&format!("utm_content=post-{i}")), "{src:?}");
        assert_eq!(src.form_type.as_deref(), Some("demo_request"));
        assert_eq!(src.form_id.as_deref(), Some("demo"));
        assert_eq!(src.key_id.as_deref(), Some("local-demo"));
        let first = src.first_touch.as_ref().expect("the first touch");
        assert_eq!(
            (first.utm_source.as_deref(), first.utm_medium.as_deref(), first.utm_campaign.as_deref()),
            (Some("google"), Some("cpc"), Some("brand-search"))
        );
        assert_eq!(first.referrer.as_deref(), Some("https://www.google.com/"));
        assert!(first.at.is_some_and(|at| at <= lead.captured_at));
        assert!(src.landing_page.as_deref().unwrap().contains("utm_campaign=brand-search"), "the visit's landing page");
        let consent = lead.consent.as_ref().expect("consent");
        assert!(consent.granted);
        assert_eq!(consent.wording_version.as_deref(), Some("demo-form-v1"));
        assert_eq!(consent.purpose.as_deref(), Some("sales_contact"));
        assert_eq!(lead.attributes.len(), 0, "every field is a contract field: {:?}", lead.attributes);

        let decision = lead.stage.decision().expect("routed");
        assert_eq!(s["state"], "assigned", "{s}");
        assert_eq!(s["title"], format!("You're with {}", decision.owner.name));
        assert_eq!(s["booking"].as_str(), decision.owner.meeting_link.as_deref());
        assert_eq!(s["formHidden"], true);
        times.push(s["ms"].as_f64().unwrap());
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    eprintln!(
        "submit → panel showing the owner (ms, 5 submissions on moto): {times:?}; median {:.0}, max {:.0}",
        sorted[2], sorted[4]
    );
    let stored = &handoff["stored"];
    assert_eq!(stored["first"]["utm_source"], "google", "first touch kept in first-party storage");
    assert_eq!(stored["last"]["utm_source"], "linkedin");

    // The booking press on the last panel: one booking_opened touch by the visitor.
    assert_eq!(handoff["beaconAnswer"], 204);
    let last = lead_id(&submissions[4]["leads"][0]);
    let touched = eventually("the booking press is recorded", Duration::from_secs(10), || {
        let store = running.store.clone();
        let id = last.clone();
        async move {
            let lead = store.get(&id).await.ok()??;
            lead.touches.iter().any(|t| t.kind == TouchKind::BookingOpened).then_some(lead)
        }
    })
    .await;
    let press: Vec<_> = touched.touches.iter().filter(|t| t.kind == TouchKind::BookingOpened).collect();
    assert_eq!(press.len(), 1);
    assert_eq!((press[0].by.as_str(), press[0].via.as_str()), ("visitor", "thank_you_page"));
    assert_eq!(touched.touched_at(), None, "the visitor's click is not the rep's first touch");

    // 2. A field error, next to its field; nothing stored.
    let error = &shown["fieldError"];
    assert_eq!(error["status"], 400);
    assert_eq!(error["field"], "email");
    assert_eq!(error["after"], "email", "shown right after the email input");
    assert_eq!(error["describedBy"], true);
    assert_eq!(error["invalid"], "true");
    assert!(error["message"].as_str().unwrap().contains("domain"), "{error}");
    assert_eq!((error["formVisible"].as_bool(), error["panel"].as_bool()), (Some(true), Some(false)));
    assert_eq!(error["leads"], serde_json::json!([]));

    // 3. A double click and an Enter: one POST, one lead, one submission on it.
    let double = &shown["doubleSubmit"];
    assert_eq!(double["posts"].as_array().unwrap().len(), 1, "two clicks and a submit are one POST: {double}");
    assert_eq!(double["leads"].as_array().unwrap().len(), 1, "{double}");
    let lead = running.store.get(&lead_id(&double["leads"][0])).await.unwrap().unwrap();
    assert_eq!(lead.submissions, 1);
    assert_eq!(lead.source.utm_source.as_deref(), Some("newsletter"));

    // 4. A rep without a booking link: their name, and the page's team calendar.
    let fallback = &shown["fallback"];
    let lead = running.store.get(&lead_id(&fallback["leads"][0])).await.unwrap().unwrap();
    let owner = &lead.stage.decision().expect("routed").owner;
    assert!(owner.meeting_link.is_none(), "the fixture's rep has no booking link: {owner:?}");
    assert_eq!(fallback["state"], "fallback");
    assert_eq!(fallback["title"], format!("You're with {}", owner.name));
    assert_eq!(fallback["link"], "https://cal.example.com/baton-team");

    // 5. Do Not Track: nothing stored on the site, no first touch; the page's own UTMs still sent.
    let dnt = &shown["dnt"];
    assert_eq!(dnt["errors"], serde_json::json!([]));
    assert_eq!((&dnt["local"], &dnt["session"]), (&serde_json::json!([]), &serde_json::json!([])), "{dnt}");
    let lead = running.store.get(&lead_id(&dnt["leads"][0])).await.unwrap().unwrap();
    assert_eq!(lead.source.utm_source.as_deref(), Some("partner-site"));
    assert_eq!((&lead.source.first_touch, &lead.source.landing_page, &lead.source.referrer), (&None, &None, &None));

    // 6. A browser without fetch: the plain HTML form post reached Baton with the same fields.
    let plain = &shown["plainPost"];
    let lead = running.store.get(&lead_id(&plain["answer"]["lead_id"])).await.unwrap().expect("stored");
    assert_eq!(lead.email.as_ref().unwrap().as_str(), format!("plain.{run}@lovelace-labs.example"));
    assert_eq!(lead.source.utm_campaign.as_deref(), Some("plain-post"));
    assert_eq!(lead.source.form_type.as_deref(), Some("demo_request"));
    assert_eq!(lead.source.key_id.as_deref(), Some("local-demo"));
    let consent = lead.consent.as_ref().expect("consent");
    assert_eq!((consent.granted, consent.wording_version.as_deref()), (true, Some("demo-form-v1")));
    assert!(plain["answer"]["handoff"]["url"].as_str().is_some_and(|u| u.starts_with("/handoff/")));

    // 7. Baton is down: the site's own handler got the form, with the button pressed.
    let down = &shown["batonDown"];
    assert_eq!(down["heading"], "Thanks from the site itself");
    assert_eq!(down["received"].as_array().unwrap().len(), 1, "{down}");
    assert_eq!(down["received"][0]["email"], format!("down.{run}@lovelace-labs.example"));
    assert_eq!(down["received"][0]["first_name"], "Down");
    assert_eq!(down["received"][0]["plan"], "pro", "the pressed button's value goes with the form");

    // 8. A form with no action posts to its own page, as it would without the snippet.
    let no_action = &shown["noAction"];
    assert_eq!(no_action["received"].as_array().unwrap().len(), 1, "{no_action}");
    assert_eq!(no_action["received"][0]["email"], format!("noaction.{run}@lovelace-labs.example"));

    // 9. The page's own script handled the submit: the snippet never submitted the form itself.
    let host = &shown["hostHandles"];
    assert!(host["url"].as_str().unwrap().ends_with("/spa"), "{host}");
    assert_eq!(host["posts"], serde_json::json!(["/api/contact"]));

    // 10. A 400 about no field of the form (here the snippet's form id): the form's own submission.
    let unplaced = &shown["unplaced"];
    assert_eq!((unplaced["status"].as_u64(), unplaced["received"].as_u64()), (Some(400), Some(1)), "{unplaced}");
    for scenario in ["batonDown", "noAction", "hostHandles", "unplaced", "fallback", "doubleSubmit", "fieldError"] {
        assert_eq!(shown[scenario]["errors"], serde_json::json!([]), "script errors in {scenario}");
    }
    running.stop().await;
}
