//! Properties of every attribution model: credits sum to the amount to the cent, no
//! credit is negative for a positive amount, and only touches in the window get any.

use chrono::{DateTime, Duration, Utc};
use domain::attribution::{attribute, in_window, Model, Touch};
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
