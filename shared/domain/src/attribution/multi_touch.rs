//! Multi-touch attribution (docs/src/rules/attribution.md#models), pure: which touches of a lead share a
//! conversion, and how much each gets, to the cent.
//!
//! Every model turns the touches inside the look-back window into integer weights; the
//! amount is then split by the largest-remainder method: each touch first gets
//! `amount × weight ÷ total` rounded down, and the cents left over go one each to the
//! touches with the largest remainders, ties to the earlier touch. So the credits of a
//! conversion always sum to its amount exactly, and no touch gets a negative share of a
//! positive amount. A negative amount (a correction that takes revenue back) is split
//! the same way and negated, so it cancels what the original added, cent for cent.

use crate::lead::error::FieldError;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// One touch as attribution sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    pub id: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Model {
    FirstTouch,
    LastTouch,
    Linear,
    /// Position based: first and last get their shares, the touches between split the
    /// middle share. U-shaped by default (40/20/40); any split is a custom position model.
    Positional {
        first: u32,
        middle: u32,
        last: u32,
    },
    /// First, opportunity-creation and last touch get their shares, the rest split
    /// `rest` (default 30/30/30 + 10).
    WShaped {
        first: u32,
        opportunity: u32,
        last: u32,
        rest: u32,
    },
    /// Each touch weighs `2^(-age / half_life)`, its age counted back from the conversion.
    TimeDecay {
        half_life_days: u32,
    },
}

impl Model {
    pub const U_SHAPED: Model = Model::Positional {
        first: 40,
        middle: 20,
        last: 40,
    };
    pub const W_SHAPED: Model = Model::WShaped {
        first: 30,
        opportunity: 30,
        last: 30,
        rest: 10,
    };

    pub fn validate(&self) -> Vec<FieldError> {
        // Summed as u64: four u32 shares cannot overflow it (a request may send any u32).
        let sum = match *self {
            Model::Positional { first, middle, last } => Some([first, middle, last].map(u64::from).iter().sum::<u64>()),
            Model::WShaped {
                first,
                opportunity,
                last,
                rest,
            } => Some([first, opportunity, last, rest].map(u64::from).iter().sum()),
            _ => None,
        };
        let mut errors = Vec::new();
        if sum.is_some_and(|s| s != 100) {
            errors.push(FieldError::new("model", "the shares must sum to 100"));
        }
        if matches!(self, Model::TimeDecay { half_life_days: 0 }) {
            errors.push(FieldError::new("model.half_life_days", "must be at least 1"));
        }
        errors
    }
}

/// A touch's credit, in cents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub touch_id: String,
    pub cents: i64,
}

/// The touches that count for a conversion at `converted_at`: inside the look-back
/// window, not after the conversion, oldest first (ties by id, so the order is stable).
pub fn in_window(touches: &[Touch], converted_at: DateTime<Utc>, window: Duration) -> Vec<Touch> {
    let mut counted: Vec<Touch> = touches
        .iter()
        .filter(|t| t.at <= converted_at && t.at >= converted_at - window)
        .cloned()
        .collect();
    counted.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    counted
}

/// Integer weights per touch (same order as `touches`, at least one positive).
fn weights(
    model: &Model,
    touches: &[Touch],
    converted_at: DateTime<Utc>,
    opportunity_touch: Option<&str>,
) -> Vec<u128> {
    let n = touches.len();
    let last = n - 1;
    match *model {
        Model::FirstTouch => (0..n).map(|i| u128::from(i == 0)).collect(),
        Model::LastTouch => (0..n).map(|i| u128::from(i == last)).collect(),
        Model::Linear => vec![1; n],
        Model::Positional {
            first,
            middle,
            last: last_share,
        } => {
            let (first, middle, last_share) = (u128::from(first), u128::from(middle), u128::from(last_share));
            match n {
                1 => vec![1],
                // No touch between: first and last split everything in their ratio.
                2 => vec![first, last_share],
                _ => {
                    // Scaled by the middle count so each middle touch gets an integer.
                    let between = (n - 2) as u128;
                    (0..n)
                        .map(|i| match i {
                            0 => first * between,
                            i if i == last => last_share * between,
                            _ => middle,
                        })
                        .collect()
                }
            }
        }
        Model::WShaped {
            first,
            opportunity,
            last: last_share,
            rest,
        } => {
            let opportunity_at = opportunity_touch
                .and_then(|id| touches.iter().position(|t| t.id == id))
                .filter(|i| *i != 0 && *i != last);
            let anchors = 2 + usize::from(opportunity_at.is_some());
            if n == 1 {
                return vec![1];
            }
            let others = (n - anchors.min(n)) as u128;
            // Without others, the anchors split everything in their ratio; without a
            // distinct opportunity touch, its share is not given to anyone (the rest
            // of the shares are scaled up by the split).
            let scale = others.max(1);
            (0..n)
                .map(|i| {
                    if i == 0 {
                        u128::from(first) * scale
                    } else if i == last {
                        u128::from(last_share) * scale
                    } else if Some(i) == opportunity_at {
                        u128::from(opportunity) * scale
                    } else {
                        u128::from(rest)
                    }
                })
                .collect()
        }
        Model::TimeDecay { half_life_days } => {
            let half_life = f64::from(half_life_days.max(1)) * 86_400.0;
            touches
                .iter()
                .map(|t| {
                    let age = (converted_at - t.at).num_seconds().max(0) as f64;
                    // Fixed-point weights: 2^-age/h scaled to 1e12, at least 1 so a very
                    // old touch still counts a little.
                    ((2f64.powf(-age / half_life) * 1e12).round() as u128).max(1)
                })
                .collect()
        }
    }
}

/// Splits `cents` over `touches` (already in window and in order) by `model`.
/// `opportunity_touch`: the touch that created the opportunity (W-shaped's third anchor).
pub fn attribute(
    model: &Model,
    touches: &[Touch],
    converted_at: DateTime<Utc>,
    cents: i64,
    opportunity_touch: Option<&str>,
) -> Vec<Credit> {
    if touches.is_empty() {
        return Vec::new();
    }
    let mut w = weights(model, touches, converted_at, opportunity_touch);
    if w.iter().all(|x| *x == 0) {
        w = vec![1; touches.len()];
    }
    let total: u128 = w.iter().sum();
    let amount = u128::from(cents.unsigned_abs());
    let mut shares: Vec<(u128, u128, usize)> = w
        .iter()
        .enumerate()
        .map(|(i, weight)| (amount * weight / total, amount * weight % total, i))
        .collect();
    let given: u128 = shares.iter().map(|s| s.0).sum();
    let mut left = amount - given;
    // Largest remainders first; ties to the earlier touch.
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| shares[*b].1.cmp(&shares[*a].1).then(a.cmp(b)));
    for i in order {
        if left == 0 {
            break;
        }
        if shares[i].1 > 0 {
            shares[i].0 += 1;
            left -= 1;
        }
    }
    let sign = if cents < 0 { -1 } else { 1 };
    shares
        .into_iter()
        .map(|(share, _, i)| Credit {
            touch_id: touches[i].id.clone(),
            cents: sign * i64::try_from(share).expect("a share never exceeds the amount"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touches(n: usize) -> Vec<Touch> {
        let start: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        (0..n)
            .map(|i| Touch {
                id: format!("t{i}"),
                at: start + Duration::days(i as i64),
            })
            .collect()
    }

    fn cents(credits: &[Credit]) -> Vec<i64> {
        credits.iter().map(|c| c.cents).collect()
    }

    #[test]
    fn the_single_touch_models() {
        let t = touches(3);
        let at = t[2].at;
        assert_eq!(
            cents(&attribute(&Model::FirstTouch, &t, at, 10_000, None)),
            [10_000, 0, 0]
        );
        assert_eq!(
            cents(&attribute(&Model::LastTouch, &t, at, 10_000, None)),
            [0, 0, 10_000]
        );
        // 100.00 over 3: 33.34 + 33.33 + 33.33, the odd cent to the earliest.
        assert_eq!(
            cents(&attribute(&Model::Linear, &t, at, 10_000, None)),
            [3_334, 3_333, 3_333]
        );
    }

    #[test]
    fn u_shaped_by_touch_count() {
        let u = Model::U_SHAPED;
        let one = touches(1);
        assert_eq!(cents(&attribute(&u, &one, one[0].at, 999, None)), [999]);
        let two = touches(2);
        assert_eq!(cents(&attribute(&u, &two, two[1].at, 1_001, None)), [501, 500], "50/50");
        let five = touches(5);
        // 40 % / 20 % over three / 40 % of 1,000.00.
        assert_eq!(
            cents(&attribute(&u, &five, five[4].at, 100_000, None)),
            [40_000, 6_667, 6_667, 6_666, 40_000]
        );
    }

    #[test]
    fn w_shaped_with_and_without_the_opportunity_touch() {
        let w = Model::W_SHAPED;
        let five = touches(5);
        let at = five[4].at;
        // Anchors t0, t2 (opportunity), t4 get 30 % each; t1 and t3 split 10 %.
        assert_eq!(
            cents(&attribute(&w, &five, at, 100_000, Some("t2"))),
            [30_000, 5_000, 30_000, 5_000, 30_000]
        );
        // No distinct opportunity touch: weights 90 : 10 : 10 : 10 : 90 (first and last 30
        // each, scaled by the three others; each other 10), so 42,857.14 / 4,761.90 each.
        // Floors leave 3 cents; the largest remainders (0.90 each) are the middle three.
        let credits = attribute(&w, &five, at, 100_000, None);
        assert_eq!(cents(&credits), [42_857, 4_762, 4_762, 4_762, 42_857]);
    }

    #[test]
    fn time_decay_halves_with_each_half_life() {
        let model = Model::TimeDecay { half_life_days: 7 };
        let start: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        let t = vec![
            Touch {
                id: "old".into(),
                at: start,
            },
            Touch {
                id: "new".into(),
                at: start + Duration::days(7),
            },
        ];
        // Weights 1/2 and 1: one third and two thirds.
        assert_eq!(
            cents(&attribute(&model, &t, start + Duration::days(7), 30_000, None)),
            [10_000, 20_000]
        );
    }

    #[test]
    fn the_window_and_corrections() {
        let t = touches(5);
        let at = t[4].at;
        let window = in_window(&t, at - Duration::days(1), Duration::days(2));
        let ids: Vec<&str> = window.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            ["t1", "t2", "t3"],
            "after the conversion or before the window: out"
        );
        let original = attribute(&Model::Linear, &window, at, 10_000, None);
        let refund = attribute(&Model::Linear, &window, at, -10_000, None);
        for (a, b) in original.iter().zip(&refund) {
            assert_eq!(a.cents + b.cents, 0, "a correction cancels cent for cent");
        }
        assert!(attribute(&Model::Linear, &[], at, 100, None).is_empty());
    }

    #[test]
    fn touches_at_the_same_instant() {
        let at: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        let raw = vec![
            Touch { id: "b".into(), at },
            Touch { id: "a".into(), at },
            Touch { id: "c".into(), at },
        ];
        // Same time: ordered by id, so "a" is first and "c" last, whatever the input order.
        let t = in_window(&raw, at, Duration::days(90));
        assert_eq!(t.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(
            cents(&attribute(&Model::FirstTouch, &t, at, 1_000, None)),
            [1_000, 0, 0]
        );
        assert_eq!(
            cents(&attribute(&Model::U_SHAPED, &t, at, 1_000, None)),
            [400, 200, 400]
        );
        // Equal ages weigh equally; the odd cent goes to the earliest by order.
        assert_eq!(
            cents(&attribute(&Model::TimeDecay { half_life_days: 7 }, &t, at, 1_000, None)),
            [334, 333, 333]
        );
    }

    #[test]
    fn shares_must_sum_to_one_hundred() {
        let bad = Model::Positional {
            first: 50,
            middle: 20,
            last: 40,
        };
        assert_eq!(bad.validate()[0].field, "model");
        assert!(Model::U_SHAPED.validate().is_empty());
        assert!(Model::W_SHAPED.validate().is_empty());
        assert!(!Model::TimeDecay { half_life_days: 0 }.validate().is_empty());
        // Shares near u32::MAX do not overflow the sum: refused, not a panic.
        let huge = Model::Positional {
            first: u32::MAX,
            middle: 1,
            last: 0,
        };
        assert_eq!(huge.validate()[0].field, "model");
    }
}
