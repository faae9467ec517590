//! Invariants of routing through the route handler with its shared counters: whatever the caps,
//! the order of leads and the touches in between, no member ever holds more new leads in a day
//! than `max_new_per_day` nor more open leads than `max_open`, and every lead has an owner.

use std::collections::HashMap;
use std::sync::Arc;

use baton_adapters::Capacity;
use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryPublisher};
use baton_domain::{LeadId, LeadStatus, LeadSubmission, Ruleset, Touch, TouchKind};
use baton_route::{Route, Routed};
use chrono::TimeZone;
use proptest::prelude::*;

fn ruleset(caps: &[(Option<u32>, Option<u32>)]) -> Ruleset {
    let members: Vec<String> = caps
        .iter()
        .enumerate()
        .map(|(i, (daily, open))| {
            let mut m = format!(r#"{{ id = "m{i}", name = "M{i}""#);
            if let Some(d) = daily {
                m += &format!(", max_new_per_day = {d}");
            }
            if let Some(o) = open {
                m += &format!(", max_open = {o}");
            }
            m + " }"
        })
        .collect();
    Ruleset::parse_toml(&format!(
        "name = \"caps\"\nfallback = {{ id = \"manager\", name = \"Manager\" }}\n[scoring]\nhot_at = 60\nwarm_at = 30\ncriteria = []\n\
         [[routing]]\nname = \"all\"\npool = \"team\"\n[pools.team]\nmembers = [{}]\n",
        members.join(", ")
    ))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn caps_are_never_exceeded_and_every_lead_is_owned(
        caps in proptest::collection::vec((proptest::option::of(1u32..4), proptest::option::of(1u32..3)), 1..5),
        // For each lead: whether the owner touches one of their open leads first.
        touches in proptest::collection::vec(any::<bool>(), 1..25),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = Arc::new(MemoryLeadStore::new());
            let capacity = Arc::new(store.counters());
            let route = Route::new(
                store.clone(),
                Arc::new(MemoryPublisher::new()),
                ruleset(&caps),
                1,
                capacity.clone(),
                Arc::new(ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap())),
            );
            let mut new_today: HashMap<String, u32> = HashMap::new();
            let mut open: HashMap<String, Vec<LeadId>> = HashMap::new();
            for (n, touch_first) in touches.iter().enumerate() {
                if *touch_first
                    && let Some((owner, ids)) = open.iter_mut().find(|(_, ids)| !ids.is_empty())
                {
                    let id = ids.remove(0);
                    let touch = Touch::new(TouchKind::Called, chrono::Utc::now(), owner.clone(), "api");
                    baton_app::touch::record_touch(store.as_ref(), None, &id, touch.clone()).await.unwrap();
                }
                let lead = LeadSubmission { email: Some(format!("p{n}@corp.example")), ..Default::default() }
                    .into_lead(LeadId::generate(), chrono::Utc::now())
                    .unwrap();
                store.seed(&lead);
                let routed = route.route_message(&format!(r#"{{"lead_id":"{}"}}"#, lead.id)).await.unwrap();
                let Routed::Assigned(assigned) = routed else { panic!("not assigned: {routed:?}") };
                prop_assert_eq!(assigned.status(), LeadStatus::Assigned);
                let owner = assigned.decision().unwrap().owner.id.clone();
                prop_assert!(!owner.is_empty());
                *new_today.entry(owner.clone()).or_default() += 1;
                open.entry(owner.clone()).or_default().push(lead.id);
                if let Some(i) = owner.strip_prefix('m').and_then(|i| i.parse::<usize>().ok()) {
                    let (daily, max_open) = caps[i];
                    if let Some(d) = daily {
                        prop_assert!(new_today[&owner] <= d, "{owner} got {} new leads, cap {d}", new_today[&owner]);
                    }
                    if let Some(o) = max_open {
                        prop_assert!(open[&owner].len() as u32 <= o, "{owner} holds {} open, cap {o}", open[&owner].len());
                        prop_assert_eq!(capacity.open_count(&owner).await.unwrap(), open[&owner].len() as u32);
                    }
                }
            }
            Ok(())
        })?;
    }
}
