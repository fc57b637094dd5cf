//! Crediting conversions on in-memory adapters, checked against hand calculations:
//! first, last, linear and U-shaped rows of one order over four touches (a fifth outside
//! the window), then a duplicate, a correction, a cancellation, a redelivery and two
//! workers at once. The same flow runs against the emulator in `tests/attribution.rs`.

use chrono::{DateTime, Utc};
use domain::attribution::rollup::RollupRow;
use domain::lead::events::EventKind;
use domain::lead::{Lead, LeadId, Source, Stage, Touchpoint};
use domain::memory::{InMemoryBus, InMemoryStore};
use domain::{
    attribution::conversion::ConversionKind, attribution::conversion::ConversionRequest,
    attribution::conversion::LeadRef,
};
use domain::{attribution::credit::record, attribution::credit::settle, attribution::credit::Recorded};
use domain::{attribution::ports::ConversionStore, lead::ports::LeadStore, lead::ports::TouchStore};
use std::collections::BTreeMap;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn source(channel: &str, campaign: &str, keyword: &str) -> Source {
    let mut s = Source {
        channel: channel.into(),
        campaign_id: Some(campaign.into()),
        ..Source::default()
    };
    s.utm.term = (!keyword.is_empty()).then(|| keyword.to_string());
    s
}

fn touch(lead: &LeadId, id: &str, kind: EventKind, at: &str, src: Source) -> Touchpoint {
    Touchpoint {
        lead_id: Some(lead.clone()),
        anon_key: None,
        id: id.into(),
        kind,
        occurred_at: t(at),
        source: src,
    }
}

/// A lead from Baidu search (campaign `spring`, keyword `crm`) with four touches inside
/// the 90-day window and one before it.
async fn lead_with_touches(store: &InMemoryStore) -> LeadId {
    let created = t("2026-03-01T10:00:00+08:00");
    let id = LeadId::generate(created);
    let mut lead = Lead::new(id.clone(), "baidu_sem", created);
    lead.source = source("baidu_sem", "spring", "crm");
    lead.set_stage(Stage::Aql, created);
    let first = touch(
        &id,
        "t1",
        EventKind::FormSubmit,
        "2026-03-01T10:00:00+08:00",
        lead.source.clone(),
    );
    store
        .create_lead(&domain::lead::ports::NewLead::new(lead.clone(), Some(first.clone())))
        .await
        .unwrap();
    for tp in [
        touch(
            &id,
            "t0",
            EventKind::PageView,
            "2025-12-01T10:00:00+08:00",
            source("douyin", "old", ""),
        ),
        touch(
            &id,
            "t2",
            EventKind::ArticleClick,
            "2026-03-05T10:00:00+08:00",
            source("wechat", "wx", ""),
        ),
        touch(
            &id,
            "t3",
            EventKind::EventAttend,
            "2026-03-10T10:00:00+08:00",
            source("offline", "expo", ""),
        ),
        touch(
            &id,
            "t4",
            EventKind::FormSubmit,
            "2026-03-20T10:00:00+08:00",
            source("baidu_sem", "spring", "crm"),
        ),
    ] {
        store.put_touch(&tp).await.unwrap();
    }
    id
}

fn order(lead: &LeadId, cents: i64) -> ConversionRequest {
    ConversionRequest {
        external_id: "ORD-1".into(),
        lead: LeadRef::Id(lead.clone()),
        kind: ConversionKind::Order,
        amount_cents: cents,
        currency: "CNY".into(),
        occurred_at: t("2026-03-25T15:00:00+08:00"),
        cancelled: false,
    }
}

/// channel → credited order cents, for one model.
fn credited(store: &InMemoryStore, model: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for row in store.rollup_rows(model) {
        *out.entry(row.source.channel.clone()).or_default() += row.get("order_cents");
    }
    out.retain(|_, v| *v != 0);
    out
}

fn map(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn funnel_orders(store: &InMemoryStore) -> (i64, i64) {
    let rows: Vec<RollupRow> = store.rollup_rows("funnel");
    (
        rows.iter().map(|r| r.get("orders")).sum(),
        rows.iter().map(|r| r.get("order_cents")).sum(),
    )
}

#[tokio::test]
async fn an_order_is_credited_per_model_to_the_cent() {
    let store = InMemoryStore::default();
    let bus = InMemoryBus::default();
    let lead = lead_with_touches(&store).await;
    let now = t("2026-03-26T00:00:00Z");
    let recorded = record(&store, &bus, &order(&lead, 1_000_000), "crm", now)
        .await
        .unwrap();
    assert!(matches!(recorded, Recorded::Created(_)));
    settle(&store, "ORD-1").await.unwrap();

    // t0 is 114 days before the order: outside the window. Four touches count:
    // baidu (first), wechat, offline, baidu (last).
    assert_eq!(credited(&store, "first_touch"), map(&[("baidu_sem", 1_000_000)]));
    assert_eq!(credited(&store, "last_touch"), map(&[("baidu_sem", 1_000_000)]));
    assert_eq!(
        credited(&store, "linear"),
        map(&[("baidu_sem", 500_000), ("offline", 250_000), ("wechat", 250_000)])
    );
    // U: 40 % first + 40 % last to baidu, the middle 20 % split over two touches.
    assert_eq!(
        credited(&store, "u_shaped"),
        map(&[("baidu_sem", 800_000), ("offline", 100_000), ("wechat", 100_000)])
    );
    for model in [
        "first_touch",
        "last_touch",
        "linear",
        "u_shaped",
        "w_shaped",
        "time_decay",
    ] {
        assert_eq!(credited(&store, model).values().sum::<i64>(), 1_000_000, "{model}");
    }
    // The funnel counts the order under the lead's own source.
    assert_eq!(funnel_orders(&store), (1, 1_000_000));
    let spring: Vec<_> = store
        .rollup_rows("funnel")
        .into_iter()
        .filter(|r| r.get("orders") == 1)
        .collect();
    assert_eq!(spring[0].source.campaign, "spring");
    assert_eq!(spring[0].day, "2026-03-25".parse().unwrap());
}

#[tokio::test]
async fn duplicates_redeliveries_corrections_and_cancellations() {
    let store = InMemoryStore::default();
    let bus = InMemoryBus::default();
    let lead = lead_with_touches(&store).await;
    let now = t("2026-03-26T00:00:00Z");
    record(&store, &bus, &order(&lead, 1_000_000), "crm", now)
        .await
        .unwrap();
    settle(&store, "ORD-1").await.unwrap();

    // The same order again: no new revision; the message is sent again and changes nothing.
    let again = record(&store, &bus, &order(&lead, 1_000_000), "crm", now)
        .await
        .unwrap();
    assert!(matches!(again, Recorded::Unchanged(ref c) if c.revision == 1));
    let redelivered = settle(&store, "ORD-1").await.unwrap();
    assert_eq!(redelivered.revisions, 0);
    assert_eq!(funnel_orders(&store), (1, 1_000_000));

    // Corrected to 8,000.00 (two revisions recorded before attribution runs: both apply
    // in order, once).
    record(&store, &bus, &order(&lead, 900_000), "crm", now).await.unwrap();
    record(&store, &bus, &order(&lead, 800_000), "finance", now)
        .await
        .unwrap();
    let (a, b) = tokio::join!(settle(&store, "ORD-1"), settle(&store, "ORD-1"));
    assert_eq!(
        a.unwrap().revisions + b.unwrap().revisions,
        2,
        "two workers apply the revisions between them"
    );
    assert_eq!(
        credited(&store, "u_shaped"),
        map(&[("baidu_sem", 640_000), ("offline", 80_000), ("wechat", 80_000)])
    );
    assert_eq!(funnel_orders(&store), (1, 800_000));
    assert_eq!(store.conversion("ORD-1").await.unwrap().unwrap().applied, 3);

    // Cancelled: everything it added is taken back.
    let cancelled = ConversionRequest {
        cancelled: true,
        ..order(&lead, 800_000)
    };
    record(&store, &bus, &cancelled, "finance", now).await.unwrap();
    settle(&store, "ORD-1").await.unwrap();
    settle(&store, "ORD-1").await.unwrap();
    assert!(credited(&store, "u_shaped").is_empty());
    assert_eq!(funnel_orders(&store), (0, 0));
    assert_eq!(bus.sent().len(), 5, "one message per request, the duplicate included");
}

#[tokio::test]
async fn w_shaped_anchors_on_the_touch_that_made_the_opportunity() {
    let store = InMemoryStore::default();
    let bus = InMemoryBus::default();
    let lead = lead_with_touches(&store).await;
    let now = t("2026-03-26T00:00:00Z");
    // The opportunity was created on 12 March: its touch is t3 (offline, 10 March).
    let opportunity = ConversionRequest {
        external_id: "OPP-1".into(),
        kind: ConversionKind::Opportunity,
        amount_cents: 2_000_000,
        occurred_at: t("2026-03-12T09:00:00+08:00"),
        ..order(&lead, 0)
    };
    record(&store, &bus, &opportunity, "crm", now).await.unwrap();
    record(&store, &bus, &order(&lead, 1_000_000), "crm", now)
        .await
        .unwrap();
    settle(&store, "OPP-1").await.unwrap();
    settle(&store, "ORD-1").await.unwrap();
    // First (baidu) 30 %, opportunity touch (offline) 30 %, last (baidu) 30 %, the one
    // other touch (wechat) 10 %.
    assert_eq!(
        credited(&store, "w_shaped"),
        map(&[("baidu_sem", 600_000), ("offline", 300_000), ("wechat", 100_000)])
    );
}

#[tokio::test]
async fn conversions_name_leads_by_phone_and_unknown_leads_are_refused() {
    let store = InMemoryStore::default();
    let bus = InMemoryBus::default();
    let request = ConversionRequest {
        lead: LeadRef::Phone("+8613800138000".into()),
        ..order(&LeadId::generate(t("2026-03-01T00:00:00Z")), 100)
    };
    let refused = record(&store, &bus, &request, "crm", t("2026-03-26T00:00:00Z")).await;
    assert!(matches!(
        refused,
        Err(domain::attribution::credit::RecordError::NoLead { field: "phone" })
    ));
    assert!(bus.sent().is_empty());
}

#[tokio::test]
async fn no_touch_in_the_window_is_unattributed_not_lost() {
    let store = InMemoryStore::default();
    let bus = InMemoryBus::default();
    let lead = lead_with_touches(&store).await;
    let late = ConversionRequest {
        occurred_at: t("2026-09-01T10:00:00+08:00"),
        ..order(&lead, 50_000)
    };
    record(&store, &bus, &late, "crm", t("2026-09-02T00:00:00Z"))
        .await
        .unwrap();
    settle(&store, "ORD-1").await.unwrap();
    assert_eq!(credited(&store, "linear"), map(&[("(unattributed)", 50_000)]));
}

#[tokio::test]
async fn reconciliation_recounts_a_day_from_raw_records() {
    use domain::attribution::reconcile::reconcile_day;
    let store = InMemoryStore::default();
    let bus = InMemoryBus::default();
    let lead = lead_with_touches(&store).await;
    record(&store, &bus, &order(&lead, 1_000_000), "crm", t("2026-03-26T00:00:00Z"))
        .await
        .unwrap();
    let order_day = "2026-03-25".parse().unwrap();

    // Recorded but not settled: pending, not drift.
    let before = reconcile_day(&store, order_day).await.unwrap();
    assert_eq!((before.pending_conversions, before.drift.len()), (1, 0));

    settle(&store, "ORD-1").await.unwrap();
    let after = reconcile_day(&store, order_day).await.unwrap();
    assert_eq!(after.pending_conversions, 0);
    assert!(after.drift.is_empty(), "{:?}", after.drift);
    assert!(after.rows_expected > 6);

    // A stray increment (say, a hand edit) shows up as drift, field by field.
    let stray = RollupRow::new("linear", order_day, Default::default()).with("order_cents", 7);
    store
        .apply_chunk("ORD-1", 2, 0, std::slice::from_ref(&stray))
        .await
        .unwrap();
    let drifted = reconcile_day(&store, order_day).await.unwrap();
    assert_eq!(drifted.drift, vec![stray]);

    // The lead's own day: its funnel step record matches its counter.
    let lead_day = reconcile_day(&store, "2026-03-01".parse().unwrap()).await.unwrap();
    assert_eq!((lead_day.rows_expected, lead_day.drift.len()), (1, 0));
}
