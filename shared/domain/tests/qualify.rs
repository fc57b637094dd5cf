//! Qualification end to end on the in-memory adapters (the emulator-backed versions of
//! these scenarios live in tests/dedup_score.rs).

use chrono::{DateTime, Duration, Utc};
use domain::capture::intake::capture;
use domain::lead::events::EventKind;
use domain::lead::normalize::Region;
use domain::lead::{LeadId, Stage, Touchpoint};
use domain::memory::{InMemoryBus, InMemoryStore};
use domain::workspace::search::lookup;
use domain::{capture::submission::validate, capture::submission::RawSubmission, capture::submission::SubmissionRules};
use domain::{lead::messages::Message, lead::messages::ReadyReason};
use domain::{
    lead::ports::LeadStore, lead::ports::Saved, lead::ports::TouchStore, qualify::customer::Customer,
    qualify::ports::DedupStore, qualify::ports::KeyClaim, qualify::ports::RulesStore,
};
use domain::{lead::qualification::Label, lead::qualification::Policy};
use domain::{qualify::dedup::KeyKind, qualify::dedup::MatchKey};
use domain::{qualify::pipeline::qualify_captured, qualify::pipeline::qualify_engaged, qualify::pipeline::Qualified};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn submit(store: &InMemoryStore, bus: &InMemoryBus, pairs: &[(&str, &str)], at: DateTime<Utc>) -> LeadId {
    let sub = validate(
        &RawSubmission::from_pairs(pairs.iter().copied()),
        &SubmissionRules::default(),
    )
    .unwrap();
    capture(store, bus, sub, at).await.unwrap().lead_id
}

fn ready_messages(bus: &InMemoryBus) -> Vec<(LeadId, ReadyReason)> {
    bus.sent()
        .into_iter()
        .filter_map(|e| match e.message {
            Message::LeadReady { lead_id, reason, .. } => Some((lead_id, reason)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn one_person_three_ways_is_one_lead_with_two_repeats() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let now = t("2026-11-02T09:00:00Z");
    let a = submit(
        &store,
        &bus,
        &[
            ("phone", "138 0013 8000"),
            ("company", "北京纷扬科技有限公司"),
            ("title", "副总裁"),
            ("company_size", "1000人以上"),
        ],
        now,
    )
    .await;
    let b = submit(
        &store,
        &bus,
        &[
            ("phone", "+86-138-0013-8000"),
            ("company", "北京纷扬"),
            ("email", "zs@fenyang.cn"),
        ],
        now + Duration::minutes(1),
    )
    .await;
    let c = submit(
        &store,
        &bus,
        &[
            ("phone", "８６１３８００１３８０００"),
            ("company", "纷扬科技"),
            ("industry", "软件"),
        ],
        now + Duration::minutes(2),
    )
    .await;

    assert_eq!(
        qualify_captured(&store, &bus, &a, now).await.unwrap(),
        Qualified::New { label: Label::PureNew }
    );
    assert_eq!(
        qualify_captured(&store, &bus, &b, now).await.unwrap(),
        Qualified::Repeat { source: a.clone() }
    );
    assert_eq!(
        qualify_captured(&store, &bus, &c, now).await.unwrap(),
        Qualified::Repeat { source: a.clone() }
    );

    let source = store.get_lead(&a).await.unwrap().unwrap();
    assert_eq!(source.repeat_count, 2);
    assert_eq!(
        source.contact.email.as_deref(),
        Some("zs@fenyang.cn"),
        "blanks filled from the repeat"
    );
    assert_eq!(source.profile.industry.as_deref(), Some("软件"));
    let score = source.score.clone().unwrap();
    assert_eq!(score.engagement, 60, "three form submissions");
    assert_eq!(
        score.engagement,
        score.engagement_lines.iter().map(|l| l.points).sum::<i32>()
    );
    assert_eq!(score.fit, 70, "500+ people, VP, target industry");
    assert_eq!(score.fit, score.fit_lines.iter().map(|l| l.points).sum::<i32>());
    assert_eq!(score.cell, "B2");
    assert_eq!(
        source.stage,
        Stage::Mql,
        "engagement 60 with grade B crosses the MQL line"
    );
    for repeat in [&b, &c] {
        let r = store.get_lead(repeat).await.unwrap().unwrap();
        assert_eq!(r.stage, Stage::Merged);
        assert_eq!(r.dedup.unwrap().repeat_of.as_ref(), Some(&a));
    }
    let mut repeats = store.repeats_of(&a).await.unwrap();
    repeats.sort();
    assert_eq!(repeats, [b, c]);
    // New lead → ready; each repeat of an unowned source → ready again for the source.
    assert!(ready_messages(&bus).iter().all(|(id, _)| *id == a));
    // A repeat now also finds the source by the e-mail it brought.
    let d = submit(&store, &bus, &[("email", "ZS@fenyang.cn")], now + Duration::minutes(3)).await;
    assert_eq!(
        qualify_captured(&store, &bus, &d, now).await.unwrap(),
        Qualified::Repeat { source: a }
    );
}

#[tokio::test]
async fn duplicate_delivery_changes_nothing_but_resends_ready() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let now = t("2026-11-02T09:00:00Z");
    let a = submit(&store, &bus, &[("phone", "13800138000")], now).await;
    qualify_captured(&store, &bus, &a, now).await.unwrap();
    let before = store.get_lead(&a).await.unwrap().unwrap();
    assert_eq!(
        qualify_captured(&store, &bus, &a, now).await.unwrap(),
        Qualified::Unchanged
    );
    assert_eq!(store.get_lead(&a).await.unwrap().unwrap(), before);
    let ready = ready_messages(&bus);
    assert_eq!(ready.len(), 2);
    assert_eq!(
        bus.sent()
            .iter()
            .filter(|e| e.message.type_name() == "lead.ready")
            .map(|e| e.id.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        1,
        "same fact, same message id"
    );
}

#[tokio::test]
async fn twenty_submissions_of_one_person_end_as_one_source() {
    // Sequential here; tests/dedup_score.rs races them for real against the emulator.
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let now = t("2026-11-02T09:00:00Z");
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(submit(&store, &bus, &[("phone", "13800138000")], now + Duration::seconds(i)).await);
    }
    let mut results = Vec::new();
    for id in &ids {
        results.push(qualify_captured(&store, &bus, id, now).await);
    }
    let new = results
        .iter()
        .filter(|r| matches!(r, Ok(Qualified::New { .. })))
        .count();
    let repeats = results
        .iter()
        .filter(|r| matches!(r, Ok(Qualified::Repeat { .. })))
        .count();
    assert_eq!((new, repeats), (1, 19));
    let sources: Vec<_> = store.leads().into_iter().filter(|l| l.stage != Stage::Merged).collect();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].repeat_count, 19);
}

#[tokio::test]
async fn outside_the_window_the_person_is_new_again() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let old = submit(&store, &bus, &[("phone", "13800138000")], t("2026-01-01T00:00:00Z")).await;
    qualify_captured(&store, &bus, &old, t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    let inside = submit(&store, &bus, &[("phone", "13800138000")], t("2026-06-01T00:00:00Z")).await;
    assert_eq!(
        qualify_captured(&store, &bus, &inside, t("2026-06-01T00:00:00Z"))
            .await
            .unwrap(),
        Qualified::Repeat { source: old.clone() }
    );
    let outside = submit(&store, &bus, &[("phone", "13800138000")], t("2026-07-15T00:00:00Z")).await;
    assert_eq!(
        qualify_captured(&store, &bus, &outside, t("2026-07-15T00:00:00Z"))
            .await
            .unwrap(),
        Qualified::New { label: Label::PureNew },
        "180-day window measured from the old lead's creation"
    );
    let after = submit(&store, &bus, &[("phone", "13800138000")], t("2026-07-16T00:00:00Z")).await;
    assert_eq!(
        qualify_captured(&store, &bus, &after, t("2026-07-16T00:00:00Z"))
            .await
            .unwrap(),
        Qualified::Repeat { source: outside }
    );
}

#[tokio::test]
async fn tob_customer_match_company_tag_and_fuzzy_typos() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let now = t("2026-11-02T09:00:00Z");
    store
        .put_customer(&Customer {
            id: "cust-1".into(),
            name: "上海云帆信息技术有限公司".into(),
            company_core: "云帆".into(),
            contact_phones: vec!["+8613900139000".into()],
            owner: Some("rep-li".into()),
        })
        .await
        .unwrap();
    let by_company = submit(&store, &bus, &[("phone", "13700137000"), ("company", "云帆信息")], now).await;
    qualify_captured(&store, &bus, &by_company, now).await.unwrap();
    let lead = store.get_lead(&by_company).await.unwrap().unwrap();
    assert_eq!(lead.dedup.as_ref().unwrap().label, Label::ExistingCustomer);
    assert_eq!(lead.dedup.as_ref().unwrap().customer_id.as_deref(), Some("cust-1"));
    assert_eq!(lead.owner.as_deref(), Some("rep-li"), "owner = the customer's owner");

    let by_phone = submit(
        &store,
        &bus,
        &[("phone", "139 0013 9000"), ("company", "别的公司")],
        now,
    )
    .await;
    qualify_captured(&store, &bus, &by_phone, now).await.unwrap();
    assert_eq!(
        store.get_lead(&by_phone).await.unwrap().unwrap().owner.as_deref(),
        Some("rep-li")
    );

    // The same person again: collected under their lead; its owner hears they came back,
    // and nothing is re-routed.
    let again = submit(&store, &bus, &[("phone", "13900139000")], now).await;
    assert_eq!(
        qualify_captured(&store, &bus, &again, now).await.unwrap(),
        Qualified::Repeat {
            source: by_phone.clone()
        }
    );
    let returned: Vec<_> = bus
        .sent()
        .into_iter()
        .filter_map(|e| match e.message {
            Message::LeadReturned { lead_id, repeat_id } => Some((lead_id, repeat_id)),
            _ => None,
        })
        .collect();
    assert_eq!(returned, [(by_phone.clone(), again.clone())]);
    assert!(!ready_messages(&bus)
        .iter()
        .any(|(id, reason)| *id == by_phone && *reason == ReadyReason::Repeat));

    let first = submit(
        &store,
        &bus,
        &[("phone", "13600136000"), ("company", "Acme Technologies Co., Ltd.")],
        now,
    )
    .await;
    qualify_captured(&store, &bus, &first, now).await.unwrap();
    let colleague = submit(&store, &bus, &[("phone", "13500135000"), ("company", "ACME Inc")], now).await;
    assert_eq!(
        qualify_captured(&store, &bus, &colleague, now).await.unwrap(),
        Qualified::New {
            label: Label::NewCustomer
        }
    );
    assert_eq!(
        store
            .get_lead(&colleague)
            .await
            .unwrap()
            .unwrap()
            .dedup
            .unwrap()
            .company_peer,
        Some(first.clone())
    );
    let typo = submit(&store, &bus, &[("phone", "13300133000"), ("company", "Acmee Ltd")], now).await;
    assert_eq!(
        qualify_captured(&store, &bus, &typo, now).await.unwrap(),
        Qualified::New {
            label: Label::NewCustomer
        }
    );
    assert_eq!(
        store
            .get_lead(&typo)
            .await
            .unwrap()
            .unwrap()
            .dedup
            .unwrap()
            .company_peer,
        Some(first),
        "typo meets by Jaro-Winkler"
    );
}

#[tokio::test]
async fn toc_channels_dedup_update_to_the_newest_values() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let mut rules = store.rules().await.unwrap();
    rules.version = 1;
    rules.dedup.by_channel.insert("douyin_ad".into(), Policy::ToC);
    store.save_rules(&rules).await.unwrap();
    let now = t("2026-11-02T09:00:00Z");
    let a = submit(
        &store,
        &bus,
        &[("wechat", "zhangsan_88"), ("name", "张三"), ("channel", "douyin_ad")],
        now,
    )
    .await;
    qualify_captured(&store, &bus, &a, now).await.unwrap();
    let b = submit(
        &store,
        &bus,
        &[("wechat", "ZhangSan_88"), ("name", "张三丰"), ("channel", "douyin_ad")],
        now,
    )
    .await;
    assert_eq!(
        qualify_captured(&store, &bus, &b, now).await.unwrap(),
        Qualified::Repeat { source: a.clone() }
    );
    assert_eq!(
        store.get_lead(&a).await.unwrap().unwrap().contact.name.as_deref(),
        Some("张三丰")
    );
}

#[tokio::test]
async fn junk_is_invalid_with_a_reason_and_never_routed() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let mut rules = store.rules().await.unwrap();
    rules.version = 1;
    rules.cleaning.blacklist_phones.insert("+8613900139000".into());
    store.save_rules(&rules).await.unwrap();
    let now = t("2026-11-02T09:00:00Z");
    let black = submit(&store, &bus, &[("phone", "13900139000")], now).await;
    let rude = submit(
        &store,
        &bus,
        &[("phone", "13800138000"), ("message", "代开发票 优惠")],
        now,
    )
    .await;
    assert_eq!(
        qualify_captured(&store, &bus, &black, now).await.unwrap(),
        Qualified::Invalid {
            code: "blacklist_phone".into()
        }
    );
    assert_eq!(
        qualify_captured(&store, &bus, &rude, now).await.unwrap(),
        Qualified::Invalid {
            code: "sensitive_word".into()
        }
    );
    assert!(ready_messages(&bus).is_empty());
    // Invalid leads hold no dedup keys: the same phone later is a new lead.
    let clean = submit(&store, &bus, &[("phone", "13800138000")], now).await;
    assert_eq!(
        qualify_captured(&store, &bus, &clean, now).await.unwrap(),
        Qualified::New { label: Label::PureNew }
    );
}

#[tokio::test]
async fn events_rescore_cross_mql_wake_and_join_anonymous_touches() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let start = t("2026-09-01T09:00:00Z");
    // An anonymous visitor reads articles before giving their phone.
    for i in 0..2 {
        let touch = Touchpoint {
            lead_id: None,
            anon_key: Some("phone#+8613800138000".into()),
            id: format!("anon-{i}"),
            kind: EventKind::WhitepaperDownload,
            occurred_at: start - Duration::days(1),
            source: Default::default(),
        };
        store.put_touch(&touch).await.unwrap();
    }
    let a = submit(
        &store,
        &bus,
        &[
            ("phone", "13800138000"),
            ("company_size", "1000+"),
            ("title", "CTO"),
            ("industry", "internet"),
        ],
        start,
    )
    .await;
    qualify_captured(&store, &bus, &a, start).await.unwrap();
    let lead = store.get_lead(&a).await.unwrap().unwrap();
    assert_eq!(lead.events.len(), 3, "form submit + 2 adopted anonymous downloads");
    assert_eq!(
        lead.score.as_ref().unwrap().fit,
        90,
        "2 whitepapers in 30 days count towards fit"
    );
    assert_eq!(lead.score.as_ref().unwrap().engagement, 40);
    assert_eq!(lead.stage, Stage::Aql);

    let record = |id: &str, kind, at| Touchpoint {
        lead_id: Some(a.clone()),
        anon_key: None,
        id: id.into(),
        kind,
        occurred_at: at,
        source: Default::default(),
    };
    store
        .put_touch(&record("e1", EventKind::ChatConsult, start))
        .await
        .unwrap();
    assert_eq!(
        qualify_engaged(&store, &bus, &a, "e1", start).await.unwrap(),
        Qualified::Rescored {
            ready: Some(ReadyReason::Mql)
        }
    );
    assert_eq!(store.get_lead(&a).await.unwrap().unwrap().stage, Stage::Mql);
    assert_eq!(
        qualify_engaged(&store, &bus, &a, "e1", start).await.unwrap(),
        Qualified::Unchanged,
        "once per event"
    );

    let later = start + Duration::days(45);
    store
        .put_touch(&record("e2", EventKind::PageView, later))
        .await
        .unwrap();
    assert_eq!(
        qualify_engaged(&store, &bus, &a, "e2", later).await.unwrap(),
        Qualified::Rescored {
            ready: Some(ReadyReason::Woke)
        }
    );
}

#[tokio::test]
async fn an_owned_lead_that_wakes_stays_with_its_owner_who_is_told_once() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let start = t("2026-09-01T09:00:00Z");
    let a = submit(&store, &bus, &[("phone", "13800138000")], start).await;
    qualify_captured(&store, &bus, &a, start).await.unwrap();
    let mut lead = store.get_lead(&a).await.unwrap().unwrap();
    lead.owner = Some("zhang".into());
    lead.owner_change_id = Some("change-1".into());
    let base = lead.version;
    lead.revise(start);
    let commit = domain::qualify::ports::DedupCommit::of(vec![(lead, base)]);
    domain::qualify::pipeline::commit_decision(&store, &commit)
        .await
        .unwrap();

    let later = start + Duration::days(45);
    let touch = Touchpoint {
        lead_id: Some(a.clone()),
        anon_key: None,
        id: "e-late".into(),
        kind: EventKind::PageView,
        occurred_at: later,
        source: Default::default(),
    };
    store.put_touch(&touch).await.unwrap();
    let before = ready_messages(&bus).len();
    for _ in 0..2 {
        qualify_engaged(&store, &bus, &a, "e-late", later).await.unwrap();
    }
    assert_eq!(ready_messages(&bus).len(), before, "not routed: it has an owner");
    let woke: Vec<_> = bus
        .sent()
        .into_iter()
        .filter(
            |e| matches!(&e.message, Message::LeadWoke { lead_id, event_id } if *lead_id == a && event_id == "e-late"),
        )
        .collect();
    assert_eq!(woke.len(), 1, "the owner is told once per waking touch");
    assert_eq!(
        store.get_lead(&a).await.unwrap().unwrap().owner.as_deref(),
        Some("zhang")
    );
}

#[tokio::test]
async fn a_customer_is_the_same_company_by_the_rule_between_leads() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let now = t("2026-12-07T09:00:00Z");
    for (id, name, owner) in [
        ("metro-gz", "广州地铁集团有限公司", "rep-a"),
        ("fy", "北京纷扬科技有限公司", "rep-b"),
    ] {
        let customer = Customer::new(id, name.into(), &[], Some(owner.into())).unwrap();
        store.put_customer(&customer).await.unwrap();
    }
    for (phone, company, customer, owner) in [
        ("13700137001", "深圳市地铁集团有限公司", None, None),
        ("13700137002", "广州地铁集团", Some("metro-gz"), Some("rep-a")),
        ("13700137003", "上海纷杨科技有限公司", Some("fy"), Some("rep-b")),
        ("13700137004", "纷飞科技", None, None),
    ] {
        let id = submit(&store, &bus, &[("phone", phone), ("company", company)], now).await;
        qualify_captured(&store, &bus, &id, now).await.unwrap();
        let lead = store.get_lead(&id).await.unwrap().unwrap();
        let dedup = lead.dedup.unwrap();
        let label = if customer.is_some() {
            Label::ExistingCustomer
        } else {
            Label::PureNew
        };
        assert_eq!(
            (dedup.label, dedup.customer_id.as_deref()),
            (label, customer),
            "{company}"
        );
        assert_eq!(lead.owner.as_deref(), owner, "{company}");
    }
    // The duplicate check answers as qualification did.
    let check = lookup(&store, "纷杨科技", Region::CN, 0.92).await.unwrap();
    assert_eq!(check.customer.map(|c| c.customer_id).as_deref(), Some("fy"));
    let check = lookup(&store, "深圳地铁", Region::CN, 0.92).await.unwrap();
    assert_eq!(check.customer, None);
}

// A new lead claims its keys one by one before its decision is committed
// (qualify/pipeline.rs). An earlier attempt that stopped part-way is left standing in
// as a claim made with `claim_key`, as the crashed attempt would have made it.

/// The key `kind#value` claimed for `lead` on its own, as a first attempt that then
/// stopped would have left it.
async fn claimed_before(store: &InMemoryStore, lead: &LeadId, key: MatchKey) {
    let created = store.get_lead(lead).await.unwrap().unwrap().created_at;
    let claim = KeyClaim {
        key,
        lead_id: lead.clone(),
        since: created,
        taking_over: None,
    };
    assert_eq!(
        store.claim_key(&claim, created - Duration::days(180)).await.unwrap(),
        Saved::Saved
    );
}

fn phone(value: &str) -> MatchKey {
    MatchKey {
        kind: KeyKind::Phone,
        value: value.into(),
    }
}

async fn holder_of(store: &InMemoryStore, key: MatchKey) -> Option<LeadId> {
    store.key_holders(&[key]).await.unwrap().pop().map(|h| h.lead_id)
}

#[tokio::test]
async fn a_lead_that_claimed_a_key_and_then_lost_the_next_hands_it_to_its_source() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let now = t("2026-11-02T09:00:00Z");
    let a = submit(
        &store,
        &bus,
        &[("phone", "13800138000"), ("email", "wei@fenyang.cn")],
        now,
    )
    .await;
    let b = submit(&store, &bus, &[("email", "wei@fenyang.cn")], now + Duration::seconds(1)).await;
    // A's first attempt claimed its phone (the first key in order) and stopped; B then
    // took the e-mail.
    claimed_before(&store, &a, phone("+8613800138000")).await;
    assert!(matches!(
        qualify_captured(&store, &bus, &b, now).await,
        Ok(Qualified::New { .. })
    ));

    let outcome = qualify_captured(&store, &bus, &a, now).await.unwrap();
    assert_eq!(outcome, Qualified::Repeat { source: b.clone() });
    assert_eq!(
        holder_of(&store, phone("+8613800138000")).await,
        Some(b.clone()),
        "handed to the source"
    );
    let source = store.get_lead(&b).await.unwrap().unwrap();
    assert_eq!(source.contact.phone.as_deref(), Some("+8613800138000"));
    assert_eq!(source.repeat_count, 1);
}

#[tokio::test]
async fn a_holder_that_has_not_decided_is_decided_first_as_its_own_message_would() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let now = t("2026-11-02T09:00:00Z");
    // The earliest lead claimed its phone and stopped, and its message is not coming
    // back soon (dead-lettered, say); a second lead of the same person has the e-mail too.
    let early = submit(&store, &bus, &[("phone", "13800138000")], now).await;
    let same = submit(
        &store,
        &bus,
        &[("email", "wei@fenyang.cn"), ("phone", "13800138000")],
        now + Duration::seconds(1),
    )
    .await;
    claimed_before(&store, &early, phone("+8613800138000")).await;

    // The second lead decides the first one first: it is new, and the second its repeat.
    let outcome = qualify_captured(&store, &bus, &same, now).await.unwrap();
    assert_eq!(outcome, Qualified::Repeat { source: early.clone() });
    let source = store.get_lead(&early).await.unwrap().unwrap();
    assert_eq!((source.stage, source.repeat_count), (Stage::Aql, 1));
    let email = MatchKey {
        kind: KeyKind::Email,
        value: "wei@fenyang.cn".into(),
    };
    assert_eq!(holder_of(&store, email).await, Some(early.clone()));
    // Its own message, when it comes, is a duplicate delivery.
    assert_eq!(
        qualify_captured(&store, &bus, &early, now).await.unwrap(),
        Qualified::Unchanged
    );
    assert!(
        ready_messages(&bus).iter().any(|(id, _)| *id == early),
        "the source goes on to routing"
    );
    // Decided by another lead's run, it was sent a message of its own first: if that run
    // had stopped before the source's records, this delivery would have written them.
    let captured = bus
        .sent()
        .into_iter()
        .filter(|e| matches!(&e.message, Message::LeadCaptured { lead_id } if *lead_id == early))
        .count();
    assert_eq!(captured, 2, "intake's message and the one sent before deciding it");
}

#[tokio::test]
async fn a_holder_erased_before_its_decision_lets_the_key_go() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let now = t("2026-11-02T09:00:00Z");
    let erased = submit(&store, &bus, &[("phone", "13800138000")], now).await;
    let next = submit(&store, &bus, &[("phone", "13800138000")], now + Duration::seconds(1)).await;
    claimed_before(&store, &erased, phone("+8613800138000")).await;
    let mut lead = store.get_lead(&erased).await.unwrap().unwrap();
    lead.erased_at = Some(now);
    store.insert_lead(lead);

    assert!(matches!(
        qualify_captured(&store, &bus, &next, now).await,
        Ok(Qualified::New { .. })
    ));
    assert_eq!(holder_of(&store, phone("+8613800138000")).await, Some(next));
}

#[tokio::test]
async fn a_lead_found_junk_on_a_later_attempt_lets_its_claimed_keys_go() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let now = t("2026-11-02T09:00:00Z");
    let lead = submit(
        &store,
        &bus,
        &[("phone", "13900139000"), ("company", "北京纷扬科技有限公司")],
        now,
    )
    .await;
    // The first attempt held every key and listed the company for fuzzy matching.
    claimed_before(&store, &lead, phone("+8613900139000")).await;
    let company = MatchKey {
        kind: KeyKind::Company,
        value: "纷扬".into(),
    };
    claimed_before(&store, &lead, company.clone()).await;
    store.register_company("纷", "纷扬", &lead).await.unwrap();
    // Between the attempts the number is blacklisted.
    let mut rules = store.rules().await.unwrap();
    rules.version += 1;
    rules.cleaning.blacklist_phones.insert("+8613900139000".into());
    store.save_rules(&rules).await.unwrap();

    assert!(matches!(
        qualify_captured(&store, &bus, &lead, now).await,
        Ok(Qualified::Invalid { .. })
    ));
    assert_eq!(
        holder_of(&store, phone("+8613900139000")).await,
        None,
        "junk holds no key"
    );
    assert_eq!(holder_of(&store, company).await, None);
    assert!(
        store.company_block("纷").await.unwrap().is_empty(),
        "and is no company's peer"
    );
}

/// A behaviour event that makes its lead an MQL writes the `mql` step record after its
/// commit. A run stopped in between (here: the commit made by hand, as that run left it)
/// is finished by the event's redelivery, which finds the event scored and writes the
/// lead's step records again, each only if absent: once, whatever the deliveries.
#[tokio::test]
async fn a_redelivered_event_writes_the_step_record_its_stopped_run_left_out() {
    use domain::attribution::ports::ReportStore;
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let now = t("2026-09-01T09:00:00Z");
    let a = submit(&store, &bus, &[("phone", "13800138000")], now).await;
    qualify_captured(&store, &bus, &a, now).await.unwrap();
    let touch = Touchpoint {
        lead_id: Some(a.clone()),
        anon_key: None,
        id: "e-demo".into(),
        kind: EventKind::ChatConsult,
        occurred_at: now,
        source: Default::default(),
    };
    store.put_touch(&touch).await.unwrap();
    let lead = store.get_lead(&a).await.unwrap().unwrap();
    let rules = store.rules().await.unwrap();
    let mut mql = lead.clone();
    mql.events.push(domain::qualify::pipeline::engagement_event(
        touch.id.clone(),
        touch.kind,
        now,
        &rules,
    ));
    mql.set_stage(Stage::Mql, now);
    mql.revise(now);
    let commit = domain::qualify::ports::DedupCommit::of(vec![(mql, lead.version)]);
    assert_eq!(commit.records.funnel.len(), 1, "the mql step: {:?}", commit.records);
    assert_eq!(store.commit(&commit).await.unwrap(), Saved::Saved);
    let day = domain::lead::funnel::report_day(now);
    let steps = |all: Vec<domain::lead::funnel::FunnelStep>| -> Vec<String> {
        let mut names: Vec<String> = all.into_iter().map(|s| s.step).collect();
        names.sort();
        names
    };
    assert_eq!(
        steps(store.funnel_steps(day).await.unwrap()),
        ["lead"],
        "the run stopped"
    );

    // Before the redelivery, the lead was made invalid (a commit of its own, as a rep's
    // action would be): what it was scored to stands.
    let scored = store.get_lead(&a).await.unwrap().unwrap();
    let mut invalid = scored.clone();
    invalid.set_stage(Stage::Invalid, now);
    invalid.revise(now);
    let marked = domain::qualify::ports::DedupCommit::of(vec![(invalid, scored.version)]);
    domain::qualify::pipeline::commit_decision(&store, &marked)
        .await
        .unwrap();

    for _ in 0..2 {
        let again = qualify_engaged(&store, &bus, &a, "e-demo", now).await.unwrap();
        assert_eq!(again, Qualified::Unchanged);
    }
    assert_eq!(
        steps(store.funnel_steps(day).await.unwrap()),
        ["invalid", "lead", "mql"]
    );
}

/// A lead erased after its decision was committed, but before its records were written,
/// still gets them from its message's redelivery: they hold no personal data, and a
/// repeat's link is how an erasure of its person finds it with its source.
#[tokio::test]
async fn a_lead_erased_after_its_decision_still_gets_its_records_from_the_redelivery() {
    use domain::attribution::ports::ReportStore;
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let now = t("2026-09-01T09:00:00Z");
    let a = submit(&store, &bus, &[("phone", "13800138000")], now).await;
    let lead = store.get_lead(&a).await.unwrap().unwrap();
    let mut decided = lead.clone();
    decided.set_stage(Stage::Aql, now);
    decided.revise(now);
    let commit = domain::qualify::ports::DedupCommit::of(vec![(decided, lead.version)]);
    assert_eq!(
        store.commit(&commit).await.unwrap(),
        Saved::Saved,
        "the run stopped here"
    );
    let day = domain::lead::funnel::report_day(now);
    assert!(store.funnel_steps(day).await.unwrap().is_empty());
    let mut erased = store.get_lead(&a).await.unwrap().unwrap();
    erased.erased_at = Some(now);
    store.insert_lead(erased);

    let again = qualify_captured(&store, &bus, &a, now).await.unwrap();
    assert_eq!(again, Qualified::Unchanged);
    let steps: Vec<String> = store
        .funnel_steps(day)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.step)
        .collect();
    assert_eq!(steps, ["lead"]);
}

fn returned_notices(bus: &InMemoryBus) -> usize {
    bus.sent()
        .into_iter()
        .filter(|e| matches!(e.message, Message::LeadReturned { .. }))
        .count()
}

/// A repeat of an owned lead tells its owner (`lead.returned`). A redelivery of the
/// repeat's message sends it again, in case the first run stopped before it (its
/// consumer tells the owner once); a source that got its owner after the merge is not
/// told of a repeat from before.
#[tokio::test]
async fn a_redelivered_repeat_tells_the_owner_again_only_if_the_merge_found_them() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let start = t("2026-09-01T09:00:00Z");
    let a = submit(&store, &bus, &[("phone", "13800138000")], start).await;
    qualify_captured(&store, &bus, &a, start).await.unwrap();
    let mut owned = store.get_lead(&a).await.unwrap().unwrap();
    owned.owner = Some("zhang".into());
    owned.owner_since = Some(start);
    owned.owner_change_id = Some("change-1".into());
    store.insert_lead(owned);

    let later = start + Duration::hours(1);
    let b = submit(&store, &bus, &[("phone", "13800138000")], later).await;
    qualify_captured(&store, &bus, &b, later).await.unwrap();
    assert_eq!(returned_notices(&bus), 1);
    qualify_captured(&store, &bus, &b, later).await.unwrap();
    assert_eq!(returned_notices(&bus), 2, "sent again on the redelivery");

    // Owned only since after this repeat: no notice of it.
    let mut moved = store.get_lead(&a).await.unwrap().unwrap();
    moved.owner_since = Some(later + Duration::minutes(5));
    store.insert_lead(moved);
    qualify_captured(&store, &bus, &b, later).await.unwrap();
    assert_eq!(returned_notices(&bus), 2);
}

/// An owner preset from a customer match has no `owner_since` until assignment confirms
/// them; the merge told them of the repeat, and so does a redelivery.
#[tokio::test]
async fn a_redelivered_repeat_tells_a_preset_owner_again() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let start = t("2026-09-01T09:00:00Z");
    let a = submit(&store, &bus, &[("phone", "13800138000")], start).await;
    qualify_captured(&store, &bus, &a, start).await.unwrap();
    let mut preset = store.get_lead(&a).await.unwrap().unwrap();
    preset.owner = Some("zhang".into());
    assert_eq!(preset.owner_since, None);
    store.insert_lead(preset);

    let later = start + Duration::hours(1);
    let b = submit(&store, &bus, &[("phone", "13800138000")], later).await;
    qualify_captured(&store, &bus, &b, later).await.unwrap();
    qualify_captured(&store, &bus, &b, later).await.unwrap();
    assert_eq!(returned_notices(&bus), 2);
}
