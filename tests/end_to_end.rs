//! End to end through the local runner on moto: HTTP → capture → DynamoDB + SQS → route → SNS →
//! notify → real HTTP posts to a local Slack stand-in and a webhook subscriber (which verifies
//! signatures independently); a signed button press through the interactivity route marking the
//! first touch; the SLA sweep on the sparse index; and the AWS requests one lead costs.
//! Needs `BATON_TEST_AWS_ENDPOINT` (set by `infra/scripts/test.sh`); fails loudly without it.

use std::time::Duration;

use baton_adapters::contract::{test_endpoint, unique_name};
use baton_domain::{LeadId, LeadStatus, LeadSubmission, RouteRequest, Ruleset, decide};
use baton_e2e::{SlackReceiver, eventually};
use baton_local::{Backend, Options, Running, start};

const WAIT: Duration = Duration::from_secs(30);

async fn system(slack: &SlackReceiver, sweep_every: Duration) -> Running {
    system_with(slack, sweep_every, None).await
}

/// The system on moto, with Slack at `slack` and (when given) `subscriber` as its webhook subscriber.
async fn system_with(
    slack: &SlackReceiver,
    sweep_every: Duration,
    subscriber: Option<&baton_e2e::WebhookSubscriber>,
) -> Running {
    baton_e2e::init_logs();
    start(options(slack, sweep_every, subscriber)).await.expect("the local runner starts on moto")
}

/// The options [`system_with`] starts with.
fn options(slack: &SlackReceiver, sweep_every: Duration, subscriber: Option<&baton_e2e::WebhookSubscriber>) -> Options {
    Options {
        backend: Backend::Aws { endpoint: Some(test_endpoint()) },
        listen: "127.0.0.1:0".parse().unwrap(),
        webhook_subscribers: subscriber
            .map(|s| format!(r#"[{{"id":"crm","url":"{}","secret":"{SUBSCRIBER_SECRET}"}}]"#, s.url)),
        slack_webhook_url: Some(slack.url.clone()),
        prefix: unique_name("e2e"),
        sweep_every,
        visibility_timeout: Duration::from_secs(2),
        ..Options::default()
    }
}

/// Waits until every queued message (duplicates included) has been handled: the routing and
/// notify queues are empty and no handler is busy.
async fn settle(running: &Running) {
    eventually("the system to settle", WAIT, || async { running.settled().await.then_some(()) }).await;
}

async fn submit(http: &reqwest::Client, url: &str, body: serde_json::Value) -> reqwest::Response {
    http.post(format!("{url}/leads"))
        .header("x-baton-key", "pk_local_demo")
        .json(&body)
        .send()
        .await
        .expect("capture answers")
}

#[tokio::test]
async fn submitted_leads_are_stored_owned_and_announced_once_each() {
    let slack = SlackReceiver::start().await;
    let subscriber = baton_e2e::WebhookSubscriber::start(SUBSCRIBER_SECRET).await;
    let running = system_with(&slack, Duration::from_secs(60), Some(&subscriber)).await;
    let http = reqwest::Client::new();

    let countries = ["US", "DE", "JP", "GB", "CA", "BR"];
    let mut ids = Vec::new();
    for (i, country) in countries.iter().enumerate() {
        let response = submit(
            &http,
            &running.url,
            serde_json::json!({
                "email": format!("buyer{i}@customer{i}.example"),
                "first_name": format!("Buyer{i}"),
                "country": country,
                "source": { "form_type": if i % 2 == 0 { "demo_request" } else { "content_download" } },
            }),
        )
        .await;
        assert_eq!(response.status(), 202);
        let body: serde_json::Value = response.json().await.unwrap();
        ids.push(LeadId::parse(body["lead_id"].as_str().unwrap()).unwrap());
    }

    let invalid = submit(&http, &running.url, serde_json::json!({ "first_name": "No contact" })).await;
    assert_eq!(invalid.status(), 400);

    // Each lead: one message for its owner, one summary line for the team channel.
    eventually("two Slack messages per lead", WAIT, || async {
        (slack.messages().len() >= 2 * ids.len()).then_some(())
    })
    .await;
    settle(&running).await;
    assert_eq!(slack.messages().len(), 2 * ids.len(), "exactly one owner message and one summary per lead");
    for id in &ids {
        let lead = running.store.get(id).await.unwrap().expect("stored in DynamoDB");
        assert_eq!(lead.status(), LeadStatus::Assigned);
        let decision = lead.decision().expect("owned");
        assert!(!decision.owner.id.is_empty());
        assert_eq!(slack.mentioning(id.as_str()).len(), 1, "lead {id} was announced once");
        let text = slack.mentioning(id.as_str())[0]["text"].as_str().unwrap().to_owned();
        assert!(text.contains(&decision.owner.name), "the message names the owner: {text}");
        assert_eq!(subscriber.about("lead.assigned", id.as_str()).len(), 1, "one webhook per lead");
    }
    assert_eq!(subscriber.assert_events_match_the_schema(), ids.len(), "every emitted event matches the contract");
    running.stop().await;
}

#[tokio::test]
async fn the_same_route_message_twice_assigns_once_and_notifies_once() {
    let slack = SlackReceiver::start().await;
    let running = system(&slack, Duration::from_secs(60)).await;

    let lead =
        LeadSubmission { email: Some("twice@corp.example".into()), country: Some("DE".into()), ..Default::default() }
            .into_lead(LeadId::generate(), chrono::Utc::now())
            .unwrap();
    running.store.capture(&lead, None).await.unwrap();
    let message = serde_json::to_string(&RouteRequest { lead_id: lead.id.clone() }).unwrap();
    running.queue.send(&message).await.unwrap();
    running.queue.send(&message).await.unwrap();

    let first = eventually("the lead to be assigned", WAIT, || async {
        running.store.get(&lead.id).await.unwrap().filter(|l| l.status() == LeadStatus::Assigned)
    })
    .await;
    eventually("the Slack message", WAIT, || async { (!slack.mentioning(lead.id.as_str()).is_empty()).then_some(()) })
        .await;
    settle(&running).await;
    assert_eq!(slack.mentioning(lead.id.as_str()).len(), 1, "one Slack message for two deliveries");
    let now = running.store.get(&lead.id).await.unwrap().unwrap();
    assert_eq!(now.decision(), first.decision(), "the second delivery did not reassign");
    assert_eq!(now.previous_decisions, first.previous_decisions);
    assert!(now.notified_at.is_some(), "the owner's message was recorded as the notification");
    running.stop().await;
}

#[tokio::test]
async fn the_sweep_routes_a_lead_that_missed_its_queue_and_escalates_a_missed_first_touch() {
    let slack = SlackReceiver::start().await;
    let subscriber = baton_e2e::WebhookSubscriber::start(SUBSCRIBER_SECRET).await;
    let running = system_with(&slack, Duration::from_secs(1), Some(&subscriber)).await;
    let long_ago = chrono::Utc::now() - chrono::Duration::days(2);

    // Stored but never queued (as when SQS was down at capture).
    let stranded = LeadSubmission {
        email: Some("stranded@corp.example".into()),
        country: Some("US".into()),
        ..Default::default()
    }
    .into_lead(LeadId::generate(), long_ago)
    .unwrap();
    running.store.capture(&stranded, None).await.unwrap();

    // Assigned two days ago and never touched (stored assigned, so no sweep can route it first).
    let ignored =
        LeadSubmission { email: Some("ignored@corp.example".into()), country: Some("GB".into()), ..Default::default() }
            .into_lead(LeadId::generate(), long_ago)
            .unwrap();
    let decision = decide(&ignored, &Ruleset::default_ruleset(), long_ago);
    running.store.capture(&ignored.assign(decision).unwrap().lead, None).await.unwrap();

    eventually("the stranded lead to be routed", WAIT, || async {
        running.store.get(&stranded.id).await.unwrap().filter(|l| l.status() == LeadStatus::Assigned)
    })
    .await;
    eventually("its Slack message", WAIT, || async {
        (!slack.mentioning(stranded.id.as_str()).is_empty()).then_some(())
    })
    .await;

    let escalated = eventually("the ignored lead to be escalated", WAIT, || async {
        running.store.get(&ignored.id).await.unwrap().filter(|l| l.status() == LeadStatus::Escalated)
    })
    .await;
    assert!(escalated.escalated_at().is_some());
    let breach = eventually("the SLA breach message", WAIT, || async {
        slack
            .mentioning(ignored.id.as_str())
            .into_iter()
            .find(|m| m["text"].as_str().unwrap_or_default().contains("SLA breach"))
    })
    .await;
    assert!(breach["text"].as_str().unwrap().contains("Jonas Weber"), "{breach}");
    let seen = running.sweeps();
    eventually("two more sweeps", WAIT, || async { (running.sweeps() >= seen + 2).then_some(()) }).await;
    settle(&running).await;
    assert_eq!(slack.mentioning(ignored.id.as_str()).len(), 1, "escalated once, across sweeps");
    assert_eq!(subscriber.about("lead.sla_breached", ignored.id.as_str()).len(), 1, "one breach event, across sweeps");
    assert!(subscriber.assert_events_match_the_schema() >= 2, "the assignment and the escalation were checked");
    running.stop().await;
}

#[tokio::test]
async fn the_same_person_submitting_twice_over_http_becomes_one_lead_and_one_message() {
    let slack = SlackReceiver::start().await;
    let running = system(&slack, Duration::from_secs(60)).await;
    let http = reqwest::Client::new();
    let email = format!("{}@twice.example", unique_name("p"));
    let first =
        submit(&http, &running.url, serde_json::json!({ "email": email, "source": { "utm_source": "ads" } })).await;
    let first: serde_json::Value = first.json().await.unwrap();
    let second =
        submit(&http, &running.url, serde_json::json!({ "email": email.to_uppercase(), "phone": "+1 415 555 2671" }))
            .await;
    assert_eq!(second.status(), 202);
    let second: serde_json::Value = second.json().await.unwrap();
    assert_eq!(second["lead_id"], first["lead_id"]);

    let id = LeadId::parse(first["lead_id"].as_str().unwrap()).unwrap();
    eventually("the Slack message", WAIT, || async { (!slack.mentioning(id.as_str()).is_empty()).then_some(()) }).await;
    settle(&running).await;
    assert_eq!(slack.mentioning(id.as_str()).len(), 1);
    let lead = running.store.get(&id).await.unwrap().unwrap();
    assert_eq!((lead.submissions, lead.phone.map(|p| p.as_str().to_owned())), (2, Some("+14155552671".to_owned())));
    running.stop().await;
}

#[tokio::test]
async fn a_lead_captured_while_sqs_is_down_is_stored_and_routed_after_the_sweep_requeues_it() {
    use std::sync::Arc;

    use baton_adapters::memory::{ManualClock, MemoryPublisher};
    use baton_adapters::{LeadRepository, WorkQueue, dynamo::DynamoLeadStore, provision, sqs::SqsQueue};
    use baton_capture::{Capture, keys::CaptureKeys};

    let sdk = provision::sdk_config(Some(&test_endpoint())).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let table = unique_name("outbox");
    provision::ensure_table(&dynamo, &table).await.unwrap();
    let (queue, _) = provision::ensure_queue_with_dlq(&sqs, &unique_name("outbox"), 30, 5).await.unwrap();
    let store: Arc<dyn LeadRepository> = Arc::new(DynamoLeadStore::new(dynamo, table));
    let real_queue: Arc<dyn WorkQueue> = Arc::new(SqsQueue::new(sqs.clone(), queue.url));
    // A queue URL that does not exist: every send fails, as when SQS is unavailable.
    let down: Arc<dyn WorkQueue> =
        Arc::new(SqsQueue::new(sqs, format!("{}/000000000000/no-such-queue", test_endpoint())));
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let keys = Arc::new(CaptureKeys::from_json(baton_local::DEMO_KEYS).unwrap());

    let capture = Capture::new(store.clone(), down.clone(), keys, clock.clone());
    assert!(down.send("probe").await.is_err(), "the broken queue really fails");
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "POST /leads", "rawPath": "/leads", "rawQueryString": "",
        "headers": { "content-type": "application/json", "x-baton-key": "pk_local_demo" },
        "requestContext": { "http": { "method": "POST", "path": "/leads", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1" },
                            "accountId": "000000000000", "apiId": "local", "requestId": "r", "routeKey": "POST /leads", "stage": "$default",
                            "time": "24/Nov/2026:09:00:00 +0000", "timeEpoch": 0 },
        "body": r#"{"email":"outage@corp.example","country":"US"}"#,
        "isBase64Encoded": false
    });
    let response = capture.handle(lambda_http::request::from_str(&event.to_string()).unwrap()).await;
    assert_eq!(response.status(), 202, "accepted although SQS is down");
    let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    let id = LeadId::parse(body["lead_id"].as_str().unwrap()).unwrap();
    assert_eq!(store.get(&id).await.unwrap().unwrap().status(), LeadStatus::Captured, "stored, waiting for routing");

    let publisher = Arc::new(MemoryPublisher::new());
    let sweep = baton_sla_sweep::Sweep::new(store.clone(), real_queue.clone(), publisher.clone(), clock.clone());
    assert_eq!(sweep.run().await.unwrap().requeued, 0, "not before the grace period");
    clock.advance(baton_domain::sla::routing_grace());
    assert_eq!(sweep.run().await.unwrap().requeued, 1);

    let route = baton_route::Route::new(
        store.clone(),
        publisher.clone(),
        Ruleset::default_ruleset(),
        0,
        Arc::new(baton_adapters::memory::MemoryCounters::new()),
        clock.clone(),
    );
    let messages = eventually("the re-queued message", WAIT, || async {
        Some(real_queue.receive(10, Duration::from_secs(1)).await.unwrap()).filter(|m| !m.is_empty())
    })
    .await;
    assert!(baton_route::handle(&route, baton_local::events::sqs(&messages)).await.batch_item_failures.is_empty());
    assert_eq!(store.get(&id).await.unwrap().unwrap().status(), LeadStatus::Assigned, "routed after the outage");
    assert_eq!(publisher.published().len(), 1);
}

#[tokio::test]
async fn accounts_imported_into_the_table_are_matched_to_new_leads() {
    let slack = SlackReceiver::start().await;
    let running = system(&slack, Duration::from_secs(60)).await;
    let table = running.aws.as_ref().unwrap().table.clone();
    let csv = "account_id,name,domain,owner_id,owner_name,open_deal\nacc-x,Xylophone Labs,xylophone.example,rep-x,Rex Ample,true\n";
    assert_eq!(baton_cli::ops::import_accounts(csv, false, Some(&test_endpoint()), &table).await.unwrap(), 1);
    let bad = baton_cli::ops::import_accounts(
        "account_id,name,domain\nacc-y,Y,not a domain\n",
        false,
        Some(&test_endpoint()),
        &table,
    )
    .await;
    assert!(bad.unwrap_err().contains("row 2.domain"));

    let http = reqwest::Client::new();
    let response = submit(&http, &running.url, serde_json::json!({ "email": "buyer@xylophone.example" })).await;
    let body: serde_json::Value = response.json().await.unwrap();
    let lead = running.store.get(&LeadId::parse(body["lead_id"].as_str().unwrap()).unwrap()).await.unwrap().unwrap();
    let account = lead.account.expect("matched");
    assert_eq!((account.account_id.as_str(), account.open_deal), ("acc-x", true));
    let message =
        eventually("the Slack message", WAIT, || async { slack.mentioning(lead.id.as_str()).into_iter().next() }).await;
    assert!(message.to_string().contains("Xylophone Labs (owner Rex Ample), open deal"), "{message}");
    running.stop().await;
}

#[tokio::test]
async fn a_ruleset_uploaded_and_activated_routes_the_next_leads() {
    use baton_adapters::RulesetStore;
    let slack = SlackReceiver::start().await;
    let running = system(&slack, Duration::from_secs(60)).await;
    let table = running.aws.as_ref().unwrap().table.clone();
    let rulesets = baton_local::ruleset_store(Some(&test_endpoint()), &table).await;
    let ruleset = Ruleset::parse_toml(
        "name = \"e2e\"\nfallback = { id = \"fb\", name = \"Fallback\" }\n[scoring]\nhot_at = 60\nwarm_at = 30\ncriteria = []\n\
         [[routing]]\nname = \"all to dana\"\nowner = { id = \"rep-dana\", name = \"Dana Scully\" }\n",
    )
    .unwrap();
    let version = rulesets.save(&ruleset, chrono::Utc::now()).await.unwrap();
    assert!(rulesets.activate(version).await.unwrap());

    let http = reqwest::Client::new();
    let response =
        submit(&http, &running.url, serde_json::json!({ "email": "fox@corp.example", "country": "US" })).await;
    let body: serde_json::Value = response.json().await.unwrap();
    let id = LeadId::parse(body["lead_id"].as_str().unwrap()).unwrap();
    let lead = eventually("the lead to be assigned", WAIT, || async {
        running.store.get(&id).await.unwrap().filter(|l| l.status() == LeadStatus::Assigned)
    })
    .await;
    let decision = lead.decision().unwrap();
    assert_eq!(
        (decision.owner.id.as_str(), decision.ruleset.as_deref()),
        ("rep-dana", Some(&*format!("e2e v{version}")))
    );
    let message =
        eventually("the Slack message", WAIT, || async { slack.mentioning(id.as_str()).into_iter().next() }).await;
    assert!(message.to_string().contains("Dana Scully"));
    running.stop().await;
}

#[tokio::test]
async fn concurrent_routers_share_pool_turns_fairly_on_dynamodb() {
    use std::sync::Arc;

    use baton_adapters::dynamo::{DynamoCounters, DynamoLeadStore};
    use baton_adapters::memory::{ManualClock, MemoryPublisher};
    use baton_adapters::{LeadRepository, provision};

    let sdk = provision::sdk_config(Some(&test_endpoint())).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = unique_name("turns");
    provision::ensure_table(&dynamo, &table).await.unwrap();
    let store: Arc<dyn LeadRepository> = Arc::new(DynamoLeadStore::new(dynamo.clone(), table.clone()));
    let counters = Arc::new(DynamoCounters::new(dynamo, table));
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    // Four routers, as four concurrent Lambda invocations, sharing only DynamoDB.
    let routers: Vec<baton_route::Route> = (0..4)
        .map(|_| {
            baton_route::Route::new(
                store.clone(),
                Arc::new(MemoryPublisher::new()),
                Ruleset::default_ruleset(),
                0,
                counters.clone(),
                clock.clone(),
            )
        })
        .collect();
    let mut ids = Vec::new();
    for i in 0..24 {
        let lead = LeadSubmission {
            email: Some(format!("buyer{i}@turns.example")),
            country: Some("US".into()),
            ..Default::default()
        }
        .into_lead(LeadId::generate(), chrono::Utc::now())
        .unwrap();
        store.capture(&lead, None).await.unwrap();
        ids.push(lead.id);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, id) in ids.iter().enumerate() {
        let router = routers[i % routers.len()].clone();
        let body = format!(r#"{{"lead_id":"{id}"}}"#);
        tasks.spawn(async move { router.route_message(&body).await.map(|_| ()) });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().expect("routed");
    }
    let mut per_owner = std::collections::BTreeMap::new();
    for id in &ids {
        let owner = store.get(id).await.unwrap().unwrap().decision().unwrap().owner.id.clone();
        *per_owner.entry(owner).or_insert(0) += 1;
    }
    // The default north-america pool weighs Avery 2 : Riley 1; 24 turns split exactly 16 : 8.
    assert_eq!(
        per_owner,
        std::collections::BTreeMap::from([("rep-avery".to_owned(), 16), ("rep-riley".to_owned(), 8)])
    );
}

const SUBSCRIBER_SECRET: &str = "whsec_ZTJlLXN1YnNjcmliZXItc2lnbmluZy1rZXktMDEyMzQ1";

/// Signs a request body as Slack does (`v0=` HMAC-SHA256 of `v0:{ts}:{body}`), written here from
/// Slack's documentation rather than taken from Baton.
fn slack_signature(secret: &str, ts: i64, body: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_rep_presses_log_call_in_slack_and_subscribers_get_signed_events_once() {
    let slack = SlackReceiver::start().await;
    let subscriber = baton_e2e::WebhookSubscriber::start(SUBSCRIBER_SECRET).await;
    baton_e2e::init_logs();
    let running = start(Options {
        backend: Backend::Aws { endpoint: Some(test_endpoint()) },
        listen: "127.0.0.1:0".parse().unwrap(),
        slack_api_url: Some(slack.api_url.clone()),
        slack_response_prefix: Some(slack.base.clone()),
        webhook_subscribers: Some(format!(
            r#"[{{"id":"crm","url":"{}","secret":"{SUBSCRIBER_SECRET}"}}]"#,
            subscriber.url
        )),
        prefix: unique_name("e2e"),
        sweep_every: Duration::from_secs(60),
        visibility_timeout: Duration::from_secs(2),
        ..Options::default()
    })
    .await
    .expect("the local runner starts on moto");
    let http = reqwest::Client::new();

    let response = submit(
        &http,
        &running.url,
        serde_json::json!({
            "email": "ada@analytical.example", "phone": "+49 30 1234567", "first_name": "Ada", "last_name": "Lovelace",
            "job_title": "VP Engineering", "country": "DE", "source": { "form_type": "demo_request" },
        }),
    )
    .await;
    assert_eq!(response.status(), 202);
    let id: String = response.json::<serde_json::Value>().await.unwrap()["lead_id"].as_str().unwrap().to_owned();

    // The owner (Jonas, in Europe/Berlin) gets a direct message with buttons.
    let message = eventually("the owner's message", WAIT, || async {
        slack.messages().into_iter().find(|m| m["channel"] == "U0JONAS001" && m.to_string().contains(&id))
    })
    .await;
    let button = message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| e["text"]["text"] == "Log call")
        .expect("a Log call button");
    assert_eq!(button["value"], id.as_str());

    // Jonas presses it: Slack posts a signed form to the interactivity route.
    let payload = serde_json::json!({
        "type": "block_actions",
        "user": { "id": "U0JONAS001", "username": "jonas" },
        "response_url": format!("{}/response/1", slack.base),
        "actions": [ { "type": "button", "action_id": button["action_id"], "value": button["value"] } ],
    });
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    let ts = chrono::Utc::now().timestamp();
    let pressed = http
        .post(format!("{}/slack/actions", running.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", slack_signature(baton_local::DEMO_SLACK_SIGNING_SECRET, ts, &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status(), 200);
    let forged = http
        .post(format!("{}/slack/actions", running.url))
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", slack_signature("not-the-secret", ts, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    // The first touch is recorded in DynamoDB and the SLA clock stopped.
    let lead = running.store.get(&LeadId::parse(&id).unwrap()).await.unwrap().unwrap();
    assert_eq!(lead.status(), LeadStatus::Touched);
    assert!(lead.touched_at().is_some() && lead.awaiting().is_none());
    assert_eq!(lead.touches.len(), 1, "the forged press recorded nothing");
    // The message now says who acted.
    let update = eventually("the message update", WAIT, || async { slack.updates().into_iter().next() }).await;
    assert!(update.to_string().contains("<@U0JONAS001> logged a call"), "{update}");

    // The subscriber verified and got lead.assigned and lead.touched, once each.
    eventually("the touched event", WAIT, || async { subscriber.about("lead.touched", &id).into_iter().next() }).await;
    settle(&running).await;
    assert_eq!(subscriber.about("lead.assigned", &id).len(), 1);
    assert_eq!(subscriber.about("lead.touched", &id).len(), 1);
    assert_eq!(subscriber.refused(), 0, "every delivery verified");
    assert_eq!(subscriber.assert_events_match_the_schema(), 2, "every emitted event matches the published contract");
    assert_eq!(
        slack.messages().iter().filter(|m| m["channel"] == "U0JONAS001" && m.to_string().contains(&id)).count(),
        1,
        "one message for the owner"
    );
    running.stop().await;
}

/// What one lead cost in AWS requests, split as [`requests_for_one_lead`] explains.
struct LeadRequests {
    /// Requests the functions (capture, route, notify) made, by `"{service}.{operation}"`.
    function: std::collections::BTreeMap<String, u64>,
    /// The SQS receives that got the lead's messages and the deletes after them.
    delivery: std::collections::BTreeMap<String, u64>,
}

impl LeadRequests {
    fn function_total(&self) -> u64 {
        self.function.values().sum()
    }

    fn delivery_total(&self) -> u64 {
        self.delivery.values().sum()
    }
}

/// Submits `lead` over HTTP to a system on moto whose AWS clients count their requests, waits for
/// the owner's Slack message, the team summary and the webhook delivery and for the queues to
/// drain, and returns the requests made from `POST /leads` on (printing them). Start-up (the
/// accounts import, the first sweep) is over before counting starts; the runner's resource
/// creation and [`Running::settled`]'s checks are never counted, and neither is this test's
/// waiting: it watches the Slack stand-in and the subscriber, not the system's store.
async fn requests_for_one_lead(lead: serde_json::Value) -> LeadRequests {
    use baton_adapters::provision::RequestTally;

    let slack = SlackReceiver::start().await;
    let subscriber = baton_e2e::WebhookSubscriber::start(SUBSCRIBER_SECRET).await;
    let tally = RequestTally::new();
    baton_e2e::init_logs();
    // The sweep's first tick runs at start; the next is ten minutes away, after this test.
    let running = start(Options {
        request_tally: Some(tally.clone()),
        ..options(&slack, Duration::from_secs(600), Some(&subscriber))
    })
    .await
    .expect("the local runner starts on moto");
    eventually("the start-up sweep", WAIT, || async { (running.sweeps() >= 1).then_some(()) }).await;
    settle(&running).await;
    let start_up = tally.reset();
    // The accounts import and the first sweep went through the counted clients.
    assert!(!start_up.is_empty(), "the tally counts the system's requests");
    let measured_from = std::time::Instant::now();

    let response = submit(&reqwest::Client::new(), &running.url, lead).await;
    assert_eq!(response.status(), 202);
    let id = response.json::<serde_json::Value>().await.unwrap()["lead_id"].as_str().unwrap().to_owned();
    eventually("the owner's message", WAIT, || async { slack.mentioning(&id).into_iter().next() }).await;
    eventually("the team summary", WAIT, || async { (slack.messages().len() >= 2).then_some(()) }).await;
    eventually("the webhook delivery", WAIT, || async { subscriber.about("lead.assigned", &id).into_iter().next() })
        .await;
    settle(&running).await;
    let mut function = tally.counts();
    let elapsed = measured_from.elapsed();
    assert_eq!(slack.messages().len(), 2, "one owner message and one team summary");
    assert_eq!(subscriber.about("lead.assigned", &id).len(), 1, "one webhook delivery");
    let lead = running.store.get(&LeadId::parse(&id).unwrap()).await.unwrap().expect("stored");
    assert_eq!(lead.status(), LeadStatus::Assigned);
    running.stop().await;

    // The pollers here stand in for how Lambda invokes route and notify, so their SQS requests
    // are not the functions' own. On AWS, route's receive and delete are made by the SQS event
    // source mapping (billed to the account, but one pair serves a batch of up to ten messages),
    // and notify's do not exist at all: SNS invokes notify directly (the notify queue only
    // emulates that delivery, with its retries). Receives that got nothing are idle polls: their
    // number follows the clock and the pollers, not the leads, so they are left out entirely.
    let idle = function.remove(RequestTally::IDLE_RECEIVE).unwrap_or(0);
    let delivery = ["SQS.ReceiveMessage", "SQS.DeleteMessage"]
        .into_iter()
        .filter_map(|op| function.remove_entry(op))
        .collect::<std::collections::BTreeMap<_, _>>();
    let measured = LeadRequests { function, delivery };
    let list = |counts: &std::collections::BTreeMap<String, u64>| {
        counts.iter().map(|(operation, n)| format!("  {n:>3}  {operation}")).collect::<Vec<_>>().join("\n")
    };
    eprintln!(
        "AWS requests for lead {id} (to {}, by the rule {:?}):\n\
         {} by the functions\n{}\n\
         {} delivering route's and notify's input (SQS, the pollers standing in for Lambda's triggers)\n{}\n\
         not counted: {idle} idle ReceiveMessage polls in {elapsed:.1?}; {} requests at start-up",
        lead.decision().map_or("?", |d| d.owner.name.as_str()),
        lead.decision().map_or("?", |d| d.rule.as_str()),
        measured.function_total(),
        list(&measured.function),
        measured.delivery_total(),
        list(&measured.delivery),
        start_up.values().sum::<u64>(),
    );
    measured
}

/// The AWS requests a lead from a known account costs, from `POST /leads` to its owner's Slack
/// message, the team summary and one webhook delivery (the lead of the README, routed to the
/// account's owner). Figures in `infra/docs/benchmarks.md` (`infra/scripts/test.sh requests_per_lead`).
#[tokio::test]
async fn requests_per_lead_for_an_account_owned_lead_stay_within_20() {
    let measured = requests_for_one_lead(serde_json::json!({
        "email": "ada@analytical.example", "phone": "020 7946 0958", "first_name": "Ada", "last_name": "Lovelace",
        "company": "Analytical Engines Ltd", "website": "https://www.analytical.example",
        "job_title": "Head of Research", "country": "United Kingdom", "employee_count": 120,
        "source": { "form_type": "demo_request", "utm_source": "newsletter" },
        "consent": { "granted": true, "purpose": "sales_contact" },
    }))
    .await;
    assert!(measured.function_total() <= 20, "over budget: {:?}", measured.function);
    assert!(measured.delivery_total() <= 4, "one receive and one delete per queue: {:?}", measured.delivery);
}

/// The same for a lead from an unknown company, given to a pool member by the shared round-robin
/// turn: one request more than an account-owned lead (the turn counter's update).
#[tokio::test]
async fn requests_per_lead_for_a_pool_lead_stay_within_20() {
    let measured = requests_for_one_lead(serde_json::json!({
        "email": "grace@compilers.example", "phone": "+1 415 555 2671", "first_name": "Grace", "last_name": "Hopper",
        "company": "Compilers Inc", "website": "https://www.compilers.example",
        "job_title": "Head of Engineering", "country": "USA", "employee_count": 120,
        "source": { "form_type": "demo_request", "utm_source": "newsletter" },
        "consent": { "granted": true, "purpose": "sales_contact" },
    }))
    .await;
    assert!(measured.function_total() <= 20, "over budget: {:?}", measured.function);
    assert!(measured.delivery_total() <= 4, "one receive and one delete per queue: {:?}", measured.delivery);
}

/// Issue-10 style capture on moto: how people really write countries and addresses, and
/// colleagues sharing a switchboard. Nobody is lost, nobody is folded into someone else, every
/// lead is owned, and a public key's answer is the same for each.
#[tokio::test]
async fn international_submissions_are_each_owned_and_no_two_people_become_one() {
    let slack = SlackReceiver::start().await;
    let running = system(&slack, Duration::from_secs(60)).await;
    let http = reqwest::Client::new();
    let lead = |email: &str, extra: serde_json::Value| {
        let mut body = serde_json::json!({ "email": email, "source": { "form_type": "demo_request" } });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        lead("anna@volvo-example.se", serde_json::json!({ "first_name": "Anna", "country": "Kingdom of Sweden" })),
        lead(
            "jonas@bau-example.de",
            serde_json::json!({ "first_name": "Jonas", "country": "Federal Republic of Germany" }),
        ),
        lead("lupe@tacos-example.mx", serde_json::json!({ "first_name": "Lupe", "country": "United Mexican States" })),
        lead(
            "nemo@deep-example.io",
            serde_json::json!({ "first_name": "Nemo", "country": "Atlantis", "website": "not a url" }),
        ),
        lead("J\u{f6}rg@B\u{fc}cher-example.de", serde_json::json!({ "first_name": "J\u{f6}rg" })),
        lead("ann@switch-example.com", serde_json::json!({ "first_name": "Ann", "phone": "+1 415 555 0199" })),
        lead(
            "ben@switch-example.com",
            serde_json::json!({ "first_name": "Ben", "phone": "(415) 555-0199", "country": "US" }),
        ),
        // The first address again, typed another way: the same person.
        lead("j\u{f6}rg@xn--bcher-example-wob.de", serde_json::json!({})),
    ];
    let mut ids = Vec::new();
    for body in &cases {
        let response = submit(&http, &running.url, body.clone()).await;
        assert_eq!(response.status(), 202, "{body}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["status"], "captured", "a public key is told the same for everyone: {answer}");
        assert!(answer.get("merged").is_none(), "{answer}");
        ids.push(LeadId::parse(answer["lead_id"].as_str().unwrap()).unwrap());
    }
    assert_eq!(ids[7], ids[4], "the same address typed two ways is one lead");
    assert_ne!(ids[5], ids[6], "colleagues sharing a phone are two leads");
    settle(&running).await;

    let mut stored = Vec::new();
    for id in &ids[..7] {
        let lead = running.store.get(id).await.unwrap().expect("stored");
        assert_eq!(lead.status(), LeadStatus::Assigned, "owned: {}", lead.display_name());
        stored.push(lead);
    }
    let countries: Vec<Option<&str>> = stored[..4].iter().map(|l| l.country.as_deref()).collect();
    assert_eq!(countries, [Some("SE"), Some("DE"), Some("MX"), None]);
    let atlantis = &stored[3];
    assert!(atlantis.needs_data_review(), "the unrecognized country is flagged");
    assert!(atlantis.unrecognized.iter().any(|u| u.field == "country" && u.value == "Atlantis"), "kept as submitted");
    assert_eq!(atlantis.decision().unwrap().rule, "fallback", "routing treated the country as missing");
    let jorg = &stored[4];
    assert_eq!(jorg.email.as_ref().unwrap().as_str(), "j\u{f6}rg@xn--bcher-example-wob.de");
    assert_eq!(jorg.email_as_typed.as_deref(), Some("J\u{f6}rg@B\u{fc}cher-example.de"));
    assert_eq!(jorg.submissions, 2);
    let (ann, ben) = (&stored[5], &stored[6]);
    assert_eq!(ben.possible_duplicates.iter().map(|d| &d.lead_id).collect::<Vec<_>>(), [&ann.id]);
    assert_eq!(ben.possible_duplicates[0].explain(), "same phone +14155550199");
    let later = running.store.similar(ann, 10).await.unwrap();
    assert_eq!(later.iter().map(|l| &l.id).collect::<Vec<_>>(), [&ben.id], "the earlier lead finds the later one");
    // One owner message and one team summary per person (Ben's also names Ann's lead, as his possible duplicate).
    assert_eq!(slack.messages().len(), 2 * 7, "each person announced once");
    for id in &ids[..7] {
        assert!(!slack.mentioning(id.as_str()).is_empty(), "lead {id} was announced");
    }
    running.stop().await;
}
