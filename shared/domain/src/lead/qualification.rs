//! What qualification decided about a lead, as the lead carries it: its dedup label and
//! policy, its rule score with the lines that explain it, and its predicted conversion.
//! The rules that decide them are in [`crate::qualify`] and [`crate::predict`].

use crate::lead::events::EventKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    ToC,
    ToB,
}

/// The dedup labels (纯新 / 新客 / 老客 / 重复; docs/src/rules/qualify.md#labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// Matches no lead and no customer, by contact or company.
    PureNew,
    /// A new person at a company already known from other leads (tag only).
    NewCustomer,
    /// Matches an existing customer (by company or contact phone).
    ExistingCustomer,
    /// The same person as an earlier lead; collected under it.
    Repeat,
}

/// One engagement event as scored when it happened (its points are fixed then, so a
/// later change of the table does not rewrite history).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredEvent {
    /// The touchpoint's id: an event is scored once however often it is delivered.
    #[serde(default)]
    pub id: String,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    pub points: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Grade {
    A,
    B,
    C,
    D,
}

/// One line of a score's explanation: a fit rule's points with the reason its author
/// wrote, or an event kind's decayed points. An event line keeps the kind and how many
/// events, so each reader can say it in their language (the console in Chinese or
/// English); [`ScoreLine::text`] says it in English. Lines stored before 2026-12-07 have
/// the English words in `reason` alone, and event lines still write them there too: a
/// function on the previous release (mid-deploy, or after a rollback) requires `reason`
/// and reads the lead. A later release may stop writing them once no such function runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreLine {
    pub points: i32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventKind>,
    /// How many events of the kind, when more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl ScoreLine {
    /// A fit rule's line.
    pub fn rule(points: i32, reason: &str) -> Self {
        Self {
            points,
            reason: reason.to_string(),
            event: None,
            count: None,
        }
    }

    /// An event kind's line, for `count` events of it (its English words in `reason`
    /// as well, for the previous release's readers).
    pub fn events(points: i32, kind: EventKind, count: u32) -> Self {
        let line = Self {
            points,
            reason: String::new(),
            event: Some(kind),
            count: (count > 1).then_some(count),
        };
        Self {
            reason: line.words(),
            ..line
        }
    }

    /// "form submitted (2×)", "company smaller than 50 people".
    fn words(&self) -> String {
        match (self.event, self.count) {
            (Some(kind), Some(n)) => format!("{} ({n}×)", kind.label()),
            (Some(kind), None) => kind.label().to_string(),
            (None, _) => self.reason.clone(),
        }
    }

    /// "+20 form submitted", "+40 form submitted (2×)", "-10 company smaller than 50 people".
    pub fn text(&self) -> String {
        format!("{:+} {}", self.points, self.words())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub fit: i32,
    pub grade: Grade,
    pub engagement: i32,
    pub level: u8,
    /// "B1": grade + level.
    pub cell: String,
    pub fit_lines: Vec<ScoreLine>,
    pub engagement_lines: Vec<ScoreLine>,
    pub at: DateTime<Utc>,
}

impl Score {
    /// Its explanation lines as people read them ("+30 company has 500+ people"), fit
    /// first; they sum to fit + engagement.
    pub fn explanation(&self) -> Vec<String> {
        self.fit_lines
            .iter()
            .chain(&self.engagement_lines)
            .map(ScoreLine::text)
            .collect()
    }
}

/// Rounds each value so the rounded values sum to the rounded total (largest remainder).
pub fn round_preserving_sum(values: &[f64]) -> Vec<i32> {
    let total = values.iter().sum::<f64>().round() as i64;
    let mut floors: Vec<i64> = values.iter().map(|v| v.floor() as i64).collect();
    let mut short = total - floors.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = values[a] - values[a].floor();
        let fb = values[b] - values[b].floor();
        fb.partial_cmp(&fa).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(&b))
    });
    for i in order {
        if short <= 0 {
            break;
        }
        floors[i] += 1;
        short -= 1;
    }
    floors.into_iter().map(|v| v as i32).collect()
}

/// The predictive score as kept on the lead: the third column beside fit and engagement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadPrediction {
    /// P(converted), 0–1.
    pub probability: f64,
    /// The same as a percentage, 0–100: what routing rules and reports compare.
    pub points: i32,
    pub model_version: u32,
    pub arm: Arm,
    pub confidence: Level,
    /// The largest contributions in words ("+12 pts: channel trade_show converts 3.1× …").
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arm {
    Champion,
    Challenger,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    Medium,
    High,
}
