//! Scores that explain themselves: a static fit score (who they are) and a dynamic
//! engagement score (what they did, decaying with time), combined into the 16-cell
//! grid A1…D4.
//!
//! Engagement decay is computed when the score is read, from the stored events, so no
//! job rewrites every lead every day. Every score comes with explanation lines that sum
//! exactly to it: lines are rounded with the largest-remainder method.

use crate::lead::events::EventKind;
use crate::lead::profile::{company_size_range, seniority, Seniority};
use crate::lead::qualification::{round_preserving_sum, Grade, Score, ScoreLine, ScoredEvent};
use crate::lead::Lead;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A condition on what is known about the lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    CompanySizeAtLeast {
        people: u32,
    },
    CompanySizeBelow {
        people: u32,
    },
    TitleAtLeast {
        seniority: Seniority,
    },
    IndustryIn {
        industries: Vec<String>,
    },
    ProvinceIn {
        provinces: Vec<String>,
    },
    ChannelIn {
        channels: Vec<String>,
    },
    ProductIn {
        products: Vec<String>,
    },
    /// At least `count` events of `event` within the last `within_days`.
    EventCount {
        event: EventKind,
        count: u32,
        within_days: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitRule {
    pub when: Condition,
    pub points: i32,
    /// Words for the explanation line: "+30 company has 500+ people".
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringRules {
    pub engagement_points: BTreeMap<EventKind, i32>,
    /// Engagement halves every this many days.
    pub half_life_days: f64,
    /// Engagement level 1/2/3 from these minimums; below the last is level 4.
    pub level_minimums: [i32; 3],
    pub fit_rules: Vec<FitRule>,
    /// Fit grade A above the first, B from the second, C from the third; else D.
    pub grade_minimums: [i32; 3],
    /// A lead becomes MQL by score when engagement reaches this and fit is at least `mql_min_grade`.
    pub mql_min_engagement: i32,
    pub mql_min_grade: Grade,
    /// No activity for this long: the lead is asleep; new activity wakes (and re-routes) it.
    pub sleep_after_days: u32,
}

impl Default for ScoringRules {
    fn default() -> Self {
        let target_industries = [
            "软件",
            "互联网",
            "金融",
            "制造",
            "software",
            "internet",
            "finance",
            "manufacturing",
        ];
        Self {
            engagement_points: EventKind::ALL.into_iter().map(|k| (k, k.default_points())).collect(),
            half_life_days: 30.0,
            level_minimums: [80, 60, 40],
            fit_rules: vec![
                FitRule {
                    when: Condition::CompanySizeAtLeast { people: 500 },
                    points: 30,
                    reason: "company has 500+ people".into(),
                },
                FitRule {
                    when: Condition::TitleAtLeast {
                        seniority: Seniority::Vp,
                    },
                    points: 25,
                    reason: "title VP or above".into(),
                },
                FitRule {
                    when: Condition::IndustryIn {
                        industries: target_industries.iter().map(|s| s.to_string()).collect(),
                    },
                    points: 15,
                    reason: "target industry".into(),
                },
                FitRule {
                    when: Condition::EventCount {
                        event: EventKind::WhitepaperDownload,
                        count: 2,
                        within_days: 30,
                    },
                    points: 20,
                    reason: "downloaded 2 whitepapers in 30 days".into(),
                },
                FitRule {
                    when: Condition::CompanySizeBelow { people: 50 },
                    points: -10,
                    reason: "company smaller than 50 people".into(),
                },
            ],
            grade_minimums: [81, 60, 40],
            mql_min_engagement: 60,
            mql_min_grade: Grade::C,
            sleep_after_days: 30,
        }
    }
}

impl ScoringRules {
    /// What an event of `kind` is worth when it happens: the table's points, else the
    /// kind's default (a table saved before the kind existed still prices it).
    pub fn points_for(&self, kind: EventKind) -> i32 {
        self.engagement_points
            .get(&kind)
            .copied()
            .unwrap_or_else(|| kind.default_points())
    }
}

fn in_list(value: &Option<String>, list: &[String]) -> bool {
    value.as_deref().is_some_and(|v| {
        let v = v.to_lowercase();
        list.iter().any(|item| v.contains(&item.to_lowercase()))
    })
}

impl Condition {
    pub fn holds(&self, lead: &Lead, events: &[ScoredEvent], now: DateTime<Utc>) -> bool {
        let size = || lead.profile.company_size.as_deref().and_then(company_size_range);
        match self {
            Condition::CompanySizeAtLeast { people } => size().is_some_and(|(lo, _)| lo >= *people),
            Condition::CompanySizeBelow { people } => size().is_some_and(|(_, hi)| hi < *people),
            Condition::TitleAtLeast { seniority: min } => {
                lead.profile.title.as_deref().is_some_and(|t| seniority(t) >= *min)
            }
            Condition::IndustryIn { industries } => in_list(&lead.profile.industry, industries),
            Condition::ProvinceIn { provinces } => in_list(&lead.profile.province, provinces),
            Condition::ProductIn { products } => in_list(&lead.profile.product, products),
            Condition::ChannelIn { channels } => channels.contains(&lead.source.channel),
            Condition::EventCount {
                event,
                count,
                within_days,
            } => {
                let since = now - Duration::days(i64::from(*within_days));
                let n = events
                    .iter()
                    .filter(|e| e.kind == *event && e.at >= since && e.at <= now)
                    .count();
                n >= *count as usize
            }
        }
    }
}

fn grade(fit: i32, minimums: [i32; 3]) -> Grade {
    match fit {
        f if f >= minimums[0] => Grade::A,
        f if f >= minimums[1] => Grade::B,
        f if f >= minimums[2] => Grade::C,
        _ => Grade::D,
    }
}

fn level(engagement: i32, minimums: [i32; 3]) -> u8 {
    match engagement {
        e if e >= minimums[0] => 1,
        e if e >= minimums[1] => 2,
        e if e >= minimums[2] => 3,
        _ => 4,
    }
}

/// Scores a lead as of `now` from its profile and its engagement events.
pub fn score(lead: &Lead, events: &[ScoredEvent], rules: &ScoringRules, now: DateTime<Utc>) -> Score {
    let fit_lines: Vec<ScoreLine> = rules
        .fit_rules
        .iter()
        .filter(|rule| rule.when.holds(lead, events, now))
        .map(|rule| ScoreLine::rule(rule.points, &rule.reason))
        .collect();
    let fit: i32 = fit_lines.iter().map(|l| l.points).sum();

    // Decayed contribution per event kind; future-dated events count undecayed.
    let mut by_kind: BTreeMap<EventKind, (f64, u32)> = BTreeMap::new();
    for e in events {
        let age_days = (now - e.at).num_seconds().max(0) as f64 / 86_400.0;
        let factor = if rules.half_life_days > 0.0 {
            0.5f64.powf(age_days / rules.half_life_days)
        } else {
            1.0
        };
        let entry = by_kind.entry(e.kind).or_default();
        entry.0 += f64::from(e.points) * factor;
        entry.1 += 1;
    }
    let kinds: Vec<(EventKind, f64, u32)> = by_kind.into_iter().map(|(k, (p, n))| (k, p, n)).collect();
    let rounded = round_preserving_sum(&kinds.iter().map(|(_, p, _)| *p).collect::<Vec<_>>());
    let engagement_lines: Vec<ScoreLine> = kinds
        .iter()
        .zip(rounded)
        .filter(|(_, points)| *points != 0)
        .map(|((kind, _, n), points)| ScoreLine::events(points, *kind, *n))
        .collect();
    let engagement: i32 = engagement_lines.iter().map(|l| l.points).sum();

    let grade = grade(fit, rules.grade_minimums);
    let level = level(engagement, rules.level_minimums);
    Score {
        fit,
        grade,
        engagement,
        level,
        cell: format!("{grade:?}{level}"),
        fit_lines,
        engagement_lines,
        at: now,
    }
}

impl Score {
    pub fn is_mql(&self, rules: &ScoringRules) -> bool {
        self.engagement >= rules.mql_min_engagement && self.grade <= rules.mql_min_grade
    }
}

/// A lead typed in to see what draft rules would make of it before they are saved (the
/// console's "try it"): who they are, where they came from, and what they did how many
/// days ago. Its events earn the draft table's points, as they would if they happened now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub province: Option<String>,
    #[serde(default)]
    pub company_size: Option<String>,
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default = "Sample::default_channel")]
    pub channel: String,
    #[serde(default)]
    pub events: Vec<SampleEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleEvent {
    pub kind: EventKind,
    /// How long ago it happened, in days (0 = now); decay applies.
    #[serde(default)]
    pub days_ago: u32,
}

/// What the draft rules make of a sample: the score with its explanation lines, and
/// whether the score alone would make it an MQL.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    pub score: Score,
    pub mql: bool,
}

impl Sample {
    /// Events further back than ten years are refused rather than silently decayed to 0.
    pub const MAX_DAYS_AGO: u32 = 3650;
    /// A sample carries at most this many events; enough for any realistic history.
    pub const MAX_EVENTS: usize = 200;

    fn default_channel() -> String {
        "web_form".into()
    }

    /// Every problem, by field path under `prefix`.
    pub fn validate(&self, prefix: &str, errors: &mut crate::lead::error::FieldErrors) {
        if self.events.len() > Self::MAX_EVENTS {
            errors.push(
                format!("{prefix}.events"),
                format!("at most {} events", Self::MAX_EVENTS),
            );
        }
        for (i, e) in self.events.iter().enumerate() {
            if e.days_ago > Self::MAX_DAYS_AGO {
                errors.push(
                    format!("{prefix}.events[{i}].days_ago"),
                    format!("must be at most {}", Self::MAX_DAYS_AGO),
                );
            }
        }
        if self.channel.trim().is_empty() {
            errors.push(format!("{prefix}.channel"), "must not be empty");
        }
    }

    /// Scores the sample as of `now` under `rules`.
    pub fn score(&self, rules: &ScoringRules, now: DateTime<Utc>) -> Trial {
        let mut lead = Lead::new(crate::lead::LeadId::generate(now), self.channel.clone(), now);
        lead.profile.title = self.title.clone();
        lead.profile.industry = self.industry.clone();
        lead.profile.province = self.province.clone();
        lead.profile.company_size = self.company_size.clone();
        lead.profile.product = self.product.clone();
        let events: Vec<ScoredEvent> = self
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| ScoredEvent {
                id: format!("sample-{i}"),
                kind: e.kind,
                at: now - Duration::days(i64::from(e.days_ago)),
                points: rules.points_for(e.kind),
            })
            .collect();
        let score = score(&lead, &events, rules, now);
        Trial {
            mql: score.is_mql(rules),
            score,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::LeadId;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn lead(size: Option<&str>, title: Option<&str>, industry: Option<&str>) -> Lead {
        let now = at("2026-11-01T00:00:00Z");
        let mut lead = Lead::new(LeadId::generate(now), "web_form", now);
        lead.profile.company_size = size.map(str::to_string);
        lead.profile.title = title.map(str::to_string);
        lead.profile.industry = industry.map(str::to_string);
        lead
    }

    fn event(kind: EventKind, when: &str) -> ScoredEvent {
        ScoredEvent {
            id: format!("{kind}-{when}"),
            kind,
            at: at(when),
            points: kind.default_points(),
        }
    }

    #[test]
    fn sizes_and_titles_as_people_type_them() {
        assert_eq!(company_size_range("500+"), Some((500, u32::MAX)));
        assert_eq!(company_size_range("1000人以上"), Some((1000, u32::MAX)));
        assert_eq!(company_size_range("50-499"), Some((50, 499)));
        assert_eq!(company_size_range("约200人"), Some((200, 200)));
        assert_eq!(company_size_range("50人以下"), Some((0, 50)));
        assert_eq!(company_size_range("大型"), None);
        assert_eq!(seniority("副总经理"), Seniority::Vp);
        assert_eq!(seniority("VP of Sales"), Seniority::Vp);
        assert_eq!(seniority("总经理"), Seniority::CLevel);
        assert_eq!(seniority("CTO"), Seniority::CLevel);
        assert_eq!(seniority("市场总监"), Seniority::Director);
        assert_eq!(seniority("销售经理"), Seniority::Manager);
        assert_eq!(seniority("工程师"), Seniority::Staff);
        assert_eq!(seniority("Developer Advocate"), Seniority::Staff, "'vp' only as a word");
    }

    #[test]
    fn a_sample_is_scored_by_the_draft_it_is_tried_under() {
        let now = at("2026-11-01T00:00:00Z");
        let sample: Sample = serde_json::from_value(serde_json::json!({
            "title": "副总裁", "company_size": "1000人以上", "industry": "软件",
            "events": [
                {"kind": "whitepaper_download"}, {"kind": "whitepaper_download", "days_ago": 30},
                {"kind": "form_submit", "days_ago": 30}
            ]
        }))
        .unwrap();
        let mut draft = ScoringRules::default();
        let trial = sample.score(&draft, now);
        assert_eq!(
            trial.score.fit, 90,
            "30 + 25 + 15 + 20 (two whitepapers within 30 days)"
        );
        // 10 now, 10 and 20 halved by 30 days' decay: 10 + 5 + 10.
        assert_eq!(trial.score.engagement, 25);
        assert!(!trial.mql, "engagement 25 is below the default 60");

        let mut sparse = ScoringRules::default();
        sparse.engagement_points.remove(&EventKind::FormSubmit);
        assert_eq!(
            sample.score(&sparse, now).score.engagement,
            25,
            "a kind the table lacks earns its default, as live scoring prices it"
        );

        // The draft, not the saved table, prices the events and the fit rules.
        draft.engagement_points.insert(EventKind::WhitepaperDownload, 40);
        draft.fit_rules[2].points = 40;
        draft.mql_min_engagement = 50;
        let trial = sample.score(&draft, now);
        assert_eq!(trial.score.fit, 115);
        assert_eq!(trial.score.engagement, 40 + 20 + 10);
        assert!(trial.mql);
        assert!(trial.score.fit_lines.iter().any(|l| l.text() == "+40 target industry"));

        let mut errors = crate::lead::error::FieldErrors::default();
        let far: Sample =
            serde_json::from_value(serde_json::json!({"events": [{"kind": "page_view", "days_ago": 4000}]})).unwrap();
        far.validate("sample", &mut errors);
        assert_eq!(errors.0[0].field, "sample.events[0].days_ago");
        assert!(
            serde_json::from_value::<Sample>(serde_json::json!({"titel": "CEO"})).is_err(),
            "a misspelt field is refused, not ignored"
        );
    }

    #[test]
    fn fit_score_from_the_default_rules_with_reasons() {
        let rules = ScoringRules::default();
        let now = at("2026-11-01T00:00:00Z");
        let big = lead(Some("1000人以上"), Some("副总裁"), Some("软件"));
        let s = score(&big, &[], &rules, now);
        assert_eq!(s.fit, 70);
        assert_eq!(s.grade, Grade::B);
        let texts: Vec<String> = s.fit_lines.iter().map(ScoreLine::text).collect();
        assert_eq!(
            texts,
            [
                "+30 company has 500+ people",
                "+25 title VP or above",
                "+15 target industry"
            ]
        );

        let small = lead(Some("1-49"), Some("工程师"), None);
        let s = score(&small, &[], &rules, now);
        assert_eq!(s.fit, -10);
        assert_eq!(s.fit_lines[0].text(), "-10 company smaller than 50 people");
        assert_eq!(s.grade, Grade::D);

        let whitepapers = [
            event(EventKind::WhitepaperDownload, "2026-10-20T00:00:00Z"),
            event(EventKind::WhitepaperDownload, "2026-10-25T00:00:00Z"),
        ];
        let s = score(&big, &whitepapers, &rules, now);
        assert_eq!(s.fit, 90);
        assert_eq!(s.grade, Grade::A);
        let old = [
            event(EventKind::WhitepaperDownload, "2026-08-01T00:00:00Z"),
            event(EventKind::WhitepaperDownload, "2026-10-25T00:00:00Z"),
        ];
        assert_eq!(
            score(&big, &old, &rules, now).fit,
            70,
            "only downloads within 30 days count"
        );
    }

    #[test]
    fn engagement_levels_cells_and_the_domain_example() {
        let rules = ScoringRules::default();
        let now = at("2026-11-01T00:00:00Z");
        // Undecayed (same instant): 20 + 20 + 20 + 10 + 10 + 5 = 85 → level 1.
        let events = [
            event(EventKind::FormSubmit, "2026-11-01T00:00:00Z"),
            event(EventKind::ChatConsult, "2026-11-01T00:00:00Z"),
            event(EventKind::EventAttend, "2026-11-01T00:00:00Z"),
            event(EventKind::EmailOpen, "2026-11-01T00:00:00Z"),
            event(EventKind::LiveWatch, "2026-11-01T00:00:00Z"),
            event(EventKind::PageView, "2026-11-01T00:00:00Z"),
        ];
        let s = score(&lead(Some("1000+"), Some("VP"), Some("软件")), &events, &rules, now);
        assert_eq!((s.engagement, s.level), (85, 1));
        assert_eq!(s.cell, "B1");
        assert!(s.is_mql(&rules));
        for (engagement, level) in [(80, 1), (79, 2), (60, 2), (59, 3), (40, 3), (39, 4), (-20, 4)] {
            assert_eq!(super::level(engagement, rules.level_minimums), level, "{engagement}");
        }
        for (fit, grade) in [
            (81, Grade::A),
            (80, Grade::B),
            (60, Grade::B),
            (59, Grade::C),
            (40, Grade::C),
            (39, Grade::D),
        ] {
            assert_eq!(super::grade(fit, rules.grade_minimums), grade, "{fit}");
        }
    }

    #[test]
    fn engagement_decays_at_read_time_with_the_half_life() {
        let rules = ScoringRules::default();
        let events = [event(EventKind::FormSubmit, "2026-10-01T00:00:00Z")];
        let l = lead(None, None, None);
        assert_eq!(score(&l, &events, &rules, at("2026-10-01T00:00:00Z")).engagement, 20);
        assert_eq!(
            score(&l, &events, &rules, at("2026-10-31T00:00:00Z")).engagement,
            10,
            "one half-life"
        );
        assert_eq!(
            score(&l, &events, &rules, at("2026-11-30T00:00:00Z")).engagement,
            5,
            "two half-lives"
        );
        let negative = [event(EventKind::SpamReport, "2026-10-01T00:00:00Z")];
        let s = score(&l, &negative, &rules, at("2026-10-01T00:00:00Z"));
        assert_eq!(s.engagement_lines[0].text(), "-20 reported an email as spam");
    }

    #[test]
    fn explanation_lines_always_sum_to_the_score() {
        let rules = ScoringRules::default();
        let l = lead(Some("1-49"), Some("CEO"), Some("internet"));
        let mut events = Vec::new();
        for (i, kind) in EventKind::ALL.iter().cycle().take(40).enumerate() {
            events.push(ScoredEvent {
                id: i.to_string(),
                kind: *kind,
                at: at("2026-09-01T00:00:00Z") + Duration::hours(i as i64 * 17),
                points: kind.default_points(),
            });
        }
        for day in 0..90 {
            let now = at("2026-09-01T00:00:00Z") + Duration::days(day);
            let s = score(&l, &events, &rules, now);
            assert_eq!(s.engagement, s.engagement_lines.iter().map(|l| l.points).sum::<i32>());
            assert_eq!(s.fit, s.fit_lines.iter().map(|l| l.points).sum::<i32>());
        }
    }

    #[test]
    fn an_event_line_keeps_its_kind_and_count_for_each_reader_to_say() {
        let rules = ScoringRules::default();
        let l = lead(Some("1-49"), None, None);
        let events = [
            event(EventKind::FormSubmit, "2026-10-30T00:00:00Z"),
            event(EventKind::FormSubmit, "2026-10-31T00:00:00Z"),
        ];
        let s = score(&l, &events, &rules, at("2026-10-31T00:00:00Z"));
        let line = &s.engagement_lines[0];
        assert_eq!((line.event, line.count), (Some(EventKind::FormSubmit), Some(2)));
        assert_eq!(line.text(), format!("{:+} form submitted (2×)", line.points));
        // Stored with its English words too, which the previous release requires; a line
        // stored with words alone (before 2026-12-07) still reads.
        let stored = serde_json::to_value(line).unwrap();
        assert_eq!(
            stored,
            serde_json::json!({"points": line.points, "reason": "form submitted (2×)", "event": "form_submit", "count": 2})
        );
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct PreviousRelease {
            points: i32,
            reason: String,
        }
        assert!(serde_json::from_value::<PreviousRelease>(stored).is_ok());
        let old: ScoreLine =
            serde_json::from_value(serde_json::json!({"points": 20, "reason": "form submitted"})).unwrap();
        assert_eq!((old.event, old.text()), (None, "+20 form submitted".to_string()));
    }

    #[test]
    fn largest_remainder_rounding() {
        assert_eq!(round_preserving_sum(&[0.4, 0.4, 0.4]), [1, 0, 0]);
        assert_eq!(round_preserving_sum(&[10.5, -3.25, 2.75]), [10, -3, 3]);
        assert_eq!(round_preserving_sum(&[]), Vec::<i32>::new());
        let values = [1.1, 2.2, 3.3, 4.4];
        assert_eq!(round_preserving_sum(&values).iter().sum::<i32>(), 11);
    }
}
