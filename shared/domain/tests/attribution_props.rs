//! Properties of every attribution model: credits sum to the amount to the cent, no
//! credit is negative for a positive amount, and only touches in the window get any.

use chrono::{DateTime, Duration, Utc};
use domain::{
    attribution::multi_touch::attribute, attribution::multi_touch::in_window, attribution::multi_touch::Model,
    attribution::multi_touch::Touch,
};
use proptest::prelude::*;

fn models() -> impl Strategy<Value = Model> {
    prop_oneof![
        Just(Model::FirstTouch),
        Just(Model::LastTouch),
        Just(Model::Linear),
        Just(Model::U_SHAPED),
        Just(Model::W_SHAPED),
        (1u32..60).prop_map(|half_life_days| Model::TimeDecay { half_life_days }),
        (0u32..=100, 0u32..=100).prop_filter_map("shares within 100", |(first, middle)| {
            (first + middle <= 100).then(|| Model::Positional {
                first,
                middle,
                last: 100 - first - middle,
            })
        }),
    ]
}

proptest! {
    #[test]
    fn credits_are_exact_and_never_negative(
        model in models(),
        offsets in prop::collection::vec(0i64..200 * 86_400, 1..60),
        amount in 0i64..100_000_000_000,
        opportunity in prop::option::of(0usize..60),
    ) {
        let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let all: Vec<Touch> = offsets
            .iter()
            .enumerate()
            .map(|(i, s)| Touch { id: format!("t{i:02}"), at: start + Duration::seconds(*s) })
            .collect();
        let converted_at = start + Duration::days(150);
        let counted = in_window(&all, converted_at, Duration::days(90));
        let opportunity_id = opportunity.map(|i| format!("t{i:02}"));
        let credits = attribute(&model, &counted, converted_at, amount, opportunity_id.as_deref());
        prop_assert_eq!(credits.len(), counted.len());
        if !counted.is_empty() {
            prop_assert_eq!(credits.iter().map(|c| c.cents).sum::<i64>(), amount);
        }
        prop_assert!(credits.iter().all(|c| c.cents >= 0));
        for touch in &counted {
            prop_assert!(touch.at <= converted_at && touch.at >= converted_at - Duration::days(90));
        }
        let refund = attribute(&model, &counted, converted_at, -amount, opportunity_id.as_deref());
        for (a, b) in credits.iter().zip(&refund) {
            prop_assert_eq!(a.cents, -b.cents);
        }
    }
}

proptest! {
    /// The whole plan of a conversion: for every default model, the rows add up to the
    /// amount (unattributed included) and none is negative; the funnel row counts it once.
    #[test]
    fn every_model_of_a_plan_adds_up_to_the_amount(
        touches in prop::collection::vec((0i64..120 * 86_400, 0usize..4, 0usize..3), 0..40),
        amount in 0i64..10_000_000_000,
        opportunity_after in prop::option::of(0i64..120 * 86_400),
    ) {
        use domain::{attribution::conversion::Conversion, attribution::conversion::ConversionKind};
        use domain::{attribution::credit::plan, attribution::credit::AttributionConfig};
        use domain::lead::events::EventKind;
        use domain::lead::{Lead, LeadId, Source, Touchpoint};
        let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let lead = Lead::new(LeadId::generate(start), "web_form", start);
        let touchpoints: Vec<Touchpoint> = touches
            .iter()
            .enumerate()
            .map(|(i, (offset, channel, campaign))| Touchpoint {
                lead_id: Some(lead.id.clone()),
                anon_key: None,
                id: format!("t{i:02}"),
                kind: EventKind::PageView,
                occurred_at: start + Duration::seconds(*offset),
                source: Source {
                    channel: format!("c{channel}"),
                    campaign_id: Some(format!("k{campaign}")),
                    ..Source::default()
                },
            })
            .collect();
        let converted_at = start + Duration::days(100);
        let order = Conversion {
            external_id: "o".into(),
            revision: 1,
            lead_id: lead.id.clone(),
            kind: ConversionKind::Order,
            amount_cents: amount,
            currency: "CNY".into(),
            occurred_at: converted_at,
            cancelled: false,
            recorded_at: converted_at,
            recorded_by: "p".into(),
        };
        let config = AttributionConfig::default();
        let rows = plan(&order, &lead, &touchpoints, opportunity_after.map(|s| start + Duration::seconds(s)), &config);
        for name in config.models.keys() {
            let credits: Vec<i64> = rows.iter().filter(|r| &r.series == name).map(|r| r.get("order_cents")).collect();
            prop_assert_eq!(credits.iter().sum::<i64>(), amount, "{}", name);
            prop_assert!(credits.iter().all(|c| *c >= 0), "{}", name);
        }
        let funnel: Vec<_> = rows.iter().filter(|r| r.series == "funnel").collect();
        prop_assert_eq!(funnel.len(), 1);
        prop_assert_eq!(funnel[0].get("orders"), 1);
    }
}
