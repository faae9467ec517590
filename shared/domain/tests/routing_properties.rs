//! Invariants of routing by a ruleset: every lead gets an owner, whatever the lead, the pool
//! pointer and the members' availability; and the same inputs always give the same decision.

use baton_domain::rules::{Member, Pool, Strategy as Turns, engine, pool};
use baton_domain::{LeadId, LeadSubmission, Ruleset};
use chrono::TimeZone;
use proptest::prelude::*;

fn lead_json() -> impl Strategy<Value = String> {
    (
        proptest::option::of("[a-z]{1,8}@(corp|gmail|competitor|acme)\\.(example|com)"),
        proptest::option::of("\\+1415555[0-9]{4}"),
        proptest::option::of(proptest::sample::select(&["US", "CA", "DE", "GB", "JP", "BR", "FR"][..])),
        proptest::option::of(proptest::sample::select(&["CTO", "Student", "VP Sales", "Engineer", "Founder"][..])),
        proptest::option::of(proptest::sample::select(&["demo_request", "content_download", "pricing"][..])),
        proptest::option::of(0u32..20_000),
    )
        .prop_filter("reachable", |(e, p, ..)| e.is_some() || p.is_some())
        .prop_map(|(email, phone, country, title, form, employees)| {
            let mut doc = serde_json::json!({});
            if let Some(v) = email {
                doc["email"] = v.into();
            }
            if let Some(v) = phone {
                doc["phone"] = v.into();
            }
            if let Some(v) = country {
                doc["country"] = v.into();
            }
            if let Some(v) = title {
                doc["job_title"] = v.into();
            }
            if let Some(v) = form {
                doc["source"] = serde_json::json!({ "form_type": v });
            }
            if let Some(v) = employees {
                doc["employee_count"] = v.into();
            }
            doc.to_string()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn every_lead_gets_an_owner_and_the_same_inputs_decide_the_same(
        json in lead_json(),
        pointer in any::<u64>(),
        paused in proptest::collection::vec(any::<bool>(), 3),
        daily_full in any::<bool>(),
        hour in 0u32..24,
    ) {
        let mut ruleset = Ruleset::default_ruleset();
        let mut i = 0;
        for pool in ruleset.pools.values_mut() {
            for m in &mut pool.members {
                m.paused = paused[i % paused.len()];
                m.max_new_per_day = Some(5);
                m.hours = Some("09:00-17:00".into());
                i += 1;
            }
        }
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 23, hour, 0, 0).unwrap();
        let lead = LeadSubmission::from_json(json.as_bytes()).unwrap().into_lead(LeadId::generate(), now).unwrap();
        let count = |m: &baton_domain::rules::Member| pool::daily_full(m, if daily_full { 5 } else { 0 });
        let first = engine::plan(&ruleset, &lead).decide(&lead, 1, pointer, &count, now);
        prop_assert!(!first.owner.id.is_empty() && !first.owner.name.is_empty(), "owned: {first:?}");
        prop_assert!(!first.rule.is_empty());
        let again = engine::plan(&ruleset, &lead).decide(&lead, 1, pointer, &count, now);
        prop_assert_eq!(first, again);
    }

    #[test]
    fn round_robin_gives_each_member_one_lead_per_cycle(start in any::<u64>()) {
        let ruleset = Ruleset::default_ruleset();
        let pool = &ruleset.pools["north-america"];
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let slots = baton_domain::rules::pool::slots(pool).len() as u64;
        let mut counts = std::collections::HashMap::new();
        for p in start..start.saturating_add(slots) {
            let (m, _) = pool::choose(pool, p, now, &|_| None);
            *counts.entry(m.unwrap().id.clone()).or_insert(0u32) += 1;
        }
        if start.checked_add(slots).is_some() {
            // Over one full cycle each member gets exactly its weight.
            for m in &pool.members {
                prop_assert_eq!(counts.get(&m.id).copied().unwrap_or(0), m.weight);
            }
        }
    }

    #[test]
    fn members_who_are_away_leave_the_turns_to_be_shared_evenly(
        start in 0u64..1_000_000,
        away in proptest::collection::vec(any::<bool>(), 2..8),
        weighted in any::<bool>(),
    ) {
        let members: Vec<Member> = away
            .iter()
            .enumerate()
            .map(|(i, &paused)| {
                let mut m: Member = toml::from_str(&format!("id = \"m{i}\"\nname = \"M{i}\"\nweight = {}", i % 3 + 1)).unwrap();
                m.paused = paused;
                m
            })
            .collect();
        let p = Pool { strategy: if weighted { Turns::Weighted } else { Turns::RoundRobin }, members, fallback: None, calendar: None, team_channel: None, manager: None };
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let present: Vec<&Member> = p.members.iter().filter(|m| !m.paused).collect();
        let cycle: u64 = present.iter().map(|m| if weighted { u64::from(m.weight) } else { 1 }).sum();
        let mut counts = std::collections::HashMap::new();
        for n in start..start + cycle {
            match pool::choose(&p, n, now, &|_| None) {
                (Some(m), skipped) => {
                    prop_assert_eq!(skipped.len(), p.members.len() - present.len());
                    *counts.entry(m.id.clone()).or_insert(0u64) += 1;
                }
                (None, _) => prop_assert!(present.is_empty()),
            }
        }
        // Over one cycle of the present members' turns, each gets exactly its share; nobody
        // gets an absent member's turns on top.
        for m in &present {
            prop_assert_eq!(counts.get(&m.id).copied().unwrap_or(0), if weighted { u64::from(m.weight) } else { 1 });
        }
    }
}
