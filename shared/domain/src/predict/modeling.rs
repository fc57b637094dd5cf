//! Predictive scoring in service: which models score new leads, training a challenger
//! from finished leads, promoting it, and comparing the two arms. The model itself is
//! [`crate::predict`] (pure); this module is its use cases over [`ModelStore`].
//!
//! Seeds' practice, kept as the default: a freshly trained model scores 90 % of new
//! leads as the challenger, the champion the other 10 %; after about 30 days the arms
//! are compared (`GET /v1/reports/models`) and an admin promotes the challenger or not.

use crate::lead::error::FieldError;
use crate::lead::ports::ConfigHistory;
use crate::lead::qualification::LeadPrediction;
use crate::lead::{Lead, Stage};
use crate::{lead::ports::Saved, lead::ports::StoreError, predict::ports::ModelStore};
use crate::{
    lead::versioned::commit_rollback, lead::versioned::kept_version, lead::versioned::reread,
    lead::versioned::ConfigId, lead::versioned::ConfigKind, lead::versioned::Rollback, lead::versioned::RollbackError,
    lead::versioned::Versioned,
};
use crate::{
    predict::compare_arms, predict::features_of, predict::outcome_of, predict::rule_prior, predict::train,
    predict::ArmsReport, predict::Dataset, predict::Example, predict::Metrics, predict::Model, predict::ModelPair,
    predict::TrainConfig, predict::DEFAULT_HORIZON_DAYS,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The default split (docs/src/rules/predict.md#ab): 90 % of new leads on the new model, 10 % on the old.
pub const DEFAULT_CHALLENGER_SHARE: f64 = 0.9;
/// History a training run reads: one to two years of outcomes is the usual window
/// (docs/src/rules/predict.md#training).
pub const HISTORY_MONTHS: u32 = 24;
/// A scheduled run skips when a model this young exists (the schedule is monthly; this
/// absorbs a duplicate trigger). An admin's request always trains.
pub const MIN_DAYS_BETWEEN_SCHEDULED_RUNS: i64 = 20;
/// Reasons kept on the lead; the API recomputes the full list.
const STORED_REASONS: usize = 3;

/// Which stored model versions score new leads. Version 0 is the rule prior itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InService {
    pub champion: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenger: Option<u32>,
    pub challenger_share: f64,
    /// Bumped on every change; a write based on an older revision is refused.
    #[serde(default)]
    pub revision: u64,
}

/// Versions of the in-service choice are its revisions; each is kept with who made it
/// (an admin, or `schedule` for the monthly training run).
impl Versioned for InService {
    fn version(&self) -> u64 {
        self.revision
    }
    /// The history records when; the choice itself carries only its revision.
    fn stamp(&mut self, version: u64, _at: DateTime<Utc>) {
        self.revision = version;
    }
}

/// Who saves the in-service choice when the monthly schedule trains a model.
pub const SCHEDULE: &str = "schedule";

impl Default for InService {
    fn default() -> Self {
        Self {
            champion: 0,
            challenger: None,
            challenger_share: DEFAULT_CHALLENGER_SHARE,
            revision: 0,
        }
    }
}

/// The lead's prediction under the pair (its arm decided by its id).
pub fn predict_lead(pair: &ModelPair, lead: &Lead, now: DateTime<Utc>) -> LeadPrediction {
    let (arm, prediction) = pair.score(lead.id.as_str(), &features_of(lead, now), rule_prior(lead));
    LeadPrediction {
        probability: prediction.probability,
        points: prediction.points,
        model_version: prediction.model_version,
        arm,
        confidence: prediction.confidence.level,
        reasons: prediction
            .top_factors(STORED_REASONS)
            .iter()
            .map(|f| f.text.clone())
            .collect(),
    }
}

/// The models scoring new leads: before any training, the rule prior alone (version 0).
pub async fn models_in_service<S: ModelStore>(store: &S) -> Result<ModelPair, StoreError> {
    let in_service = store.in_service_for_scoring().await?.unwrap_or_default();
    let champion = match in_service.champion {
        0 => Model::prior_only(0, DateTime::UNIX_EPOCH),
        version => stored_model(store, version).await?,
    };
    let challenger = match in_service.challenger {
        Some(version) => Some(stored_model(store, version).await?),
        None => None,
    };
    Ok(ModelPair {
        champion,
        challenger,
        challenger_share: in_service.challenger_share,
    })
}

/// A version the in-service choice names: it must be stored.
async fn stored_model<S: ModelStore>(store: &S, version: u32) -> Result<Model, StoreError> {
    store
        .model(version)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("model version {version} is in service but not stored")))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum TrainReport {
    Trained {
        version: u32,
        metrics: Metrics,
        /// The months read, oldest first (`2026-01`).
        months: Vec<String>,
        leads_read: usize,
    },
    /// A scheduled run found a model trained `days_ago`.
    Skipped { latest_version: u32, days_ago: i64 },
}

#[derive(Debug, Error)]
pub enum ModelingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("there is no challenger to promote")]
    NoChallenger,
    #[error("the models in service changed meanwhile; retry")]
    Conflict,
}

/// The first day of each of the `months` months up to and including `now`'s, oldest first.
pub fn months_back(now: DateTime<Utc>, months: u32) -> Vec<NaiveDate> {
    let this = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).expect("day 1 exists");
    (0..months)
        .rev()
        .filter_map(|back| this.checked_sub_months(chrono::Months::new(back)))
        .collect()
}

/// Trains a new version on the finished leads of the last [`HISTORY_MONTHS`] months,
/// month by month (one index query per month, never a table scan), stores it with its
/// metrics and puts it in service as the challenger, as saved `by` (who asked, or
/// [`SCHEDULE`]).
pub async fn train_challenger<S: ModelStore + ConfigHistory>(
    store: &S,
    trigger: Trigger,
    by: &str,
    now: DateTime<Utc>,
) -> Result<TrainReport, ModelingError> {
    let latest = store.latest_model().await?;
    if let (Trigger::Schedule, Some(latest)) = (trigger, &latest) {
        let days_ago = (now - latest.metrics.trained_at).num_days();
        if days_ago < MIN_DAYS_BETWEEN_SCHEDULED_RUNS {
            return Ok(TrainReport::Skipped {
                latest_version: latest.version,
                days_ago,
            });
        }
    }
    let horizon = Duration::days(DEFAULT_HORIZON_DAYS);
    let mut data = Dataset::default();
    let (mut months, mut leads_read) = (Vec::new(), 0);
    for month in months_back(now, HISTORY_MONTHS) {
        let cohort = store.cohort(month).await?;
        leads_read += cohort.len();
        for example in cohort.iter().filter_map(|lead| Example::from_lead(lead, now, horizon)) {
            data.push(&example);
        }
        months.push(month.format("%Y-%m").to_string());
    }
    let version = latest.map_or(1, |m| m.version + 1);
    let model = train(&data, &TrainConfig::default(), version, now);
    // Written before it is named in service: a crash in between leaves an unused version.
    store.save_model(&model).await?;
    let current = store.in_service().await?;
    let next = InService {
        challenger: Some(version),
        ..current.clone().unwrap_or_default()
    };
    put_in_service(store, next, current.map(|c| c.revision), by, now).await?;
    Ok(TrainReport::Trained {
        version,
        metrics: model.metrics,
        months,
        leads_read,
    })
}

/// The challenger becomes the champion and scores every new lead.
pub async fn promote<S: ModelStore + ConfigHistory>(
    store: &S,
    by: &str,
    now: DateTime<Utc>,
) -> Result<InService, ModelingError> {
    let current = store.in_service().await?.unwrap_or_default();
    let challenger = current.challenger.ok_or(ModelingError::NoChallenger)?;
    let next = InService {
        champion: challenger,
        challenger: None,
        ..current.clone()
    };
    put_in_service(store, next, Some(current.revision), by, now).await
}

/// Changes the share of new leads the challenger scores.
pub async fn set_challenger_share<S: ModelStore + ConfigHistory>(
    store: &S,
    share: f64,
    by: &str,
    now: DateTime<Utc>,
) -> Result<InService, ModelingError> {
    let current = store.in_service().await?;
    let next = InService {
        challenger_share: share,
        ..current.clone().unwrap_or_default()
    };
    put_in_service(store, next, current.map(|c| c.revision), by, now).await
}

/// The in-service choice is one versioned document: each change is a revision, kept.
fn in_service_config() -> ConfigId {
    ConfigId::of(ConfigKind::Models)
}

async fn put_in_service<S: ConfigHistory>(
    store: &S,
    mut next: InService,
    based_on: Option<u64>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<InService, ModelingError> {
    next.revision = based_on.map_or(1, |r| r + 1);
    match crate::lead::versioned::save(store, &in_service_config(), &next, by, now).await? {
        Saved::Saved => Ok(next),
        Saved::Conflict => Err(ModelingError::Conflict),
    }
}

/// Puts back the champion, challenger and share of revision `to` (a new revision, see
/// [`crate::lead::versioned::rollback`]): to undo a promotion or a share change. The
/// models it names must still be stored, and the share be between 0 and 1.
pub async fn roll_back_in_service<S: ModelStore + ConfigHistory>(
    store: &S,
    to: u64,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Rollback, RollbackError> {
    let config = in_service_config();
    let current = store.in_service().await?.unwrap_or_default();
    let kept = kept_version(store, &config, to).await?;
    let restored: InService = reread(kept.document, |s: &InService| share_errors(s.challenger_share))
        .map_err(|errors| RollbackError::Invalid { to, errors })?;
    let mut errors = Vec::new();
    for (field, version) in [
        ("champion", Some(restored.champion)),
        ("challenger", restored.challenger),
    ] {
        if let Some(version) = version.filter(|v| *v != 0) {
            if store.model(version).await?.is_none() {
                errors.push(FieldError::new(field, format!("model version {version} is not stored")));
            }
        }
    }
    if !errors.is_empty() {
        return Err(RollbackError::Invalid { to, errors });
    }
    commit_rollback(store, &config, current, restored, to, by, now).await
}

/// Champion against challenger over the leads created in `months`: conversion by score
/// decile, AUC and top-decile lift per arm, from the predictions the leads carry.
pub async fn arms_report<S: ModelStore>(
    store: &S,
    months: &[NaiveDate],
    now: DateTime<Utc>,
) -> Result<ArmsReport, StoreError> {
    let horizon = Duration::days(DEFAULT_HORIZON_DAYS);
    let mut rows = Vec::new();
    for month in months {
        for lead in store.cohort(*month).await? {
            if let Some(p) = &lead.prediction {
                rows.push((p.arm, p.probability, outcome_of(&lead, now, horizon)));
            }
        }
    }
    Ok(compare_arms(&rows))
}

/// Whether a lead belongs in the scored-leads index the trainer and reports read.
pub fn in_cohort(lead: &Lead) -> bool {
    lead.score.is_some() && lead.stage != Stage::Merged
}

/// The challenger's share of new leads must be between 0 and 1.
pub fn share_errors(share: f64) -> Vec<FieldError> {
    if (0.0..=1.0).contains(&share) {
        Vec::new()
    } else {
        vec![FieldError::new("challenger_share", "must be between 0 and 1")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::LeadId;
    use crate::memory::InMemoryStore;
    use crate::predict::synthetic;

    fn now() -> DateTime<Utc> {
        "2026-11-23T08:00:00Z".parse().unwrap()
    }

    #[test]
    fn months_back_counts_calendar_months() {
        let months = months_back(now(), 3);
        let names: Vec<String> = months.iter().map(|m| m.format("%Y-%m").to_string()).collect();
        assert_eq!(names, ["2026-09", "2026-10", "2026-11"]);
        assert_eq!(
            months_back("2026-01-31T00:00:00Z".parse().unwrap(), 2)[0].to_string(),
            "2025-12-01"
        );
    }

    #[tokio::test]
    async fn before_training_the_rule_prior_scores_every_lead() {
        use crate::lead::qualification::{Arm, Level};
        let store = InMemoryStore::default();
        let pair = models_in_service(&store).await.unwrap();
        let lead = Lead::new(LeadId::generate(now()), "web_form", now());
        let p = predict_lead(&pair, &lead, now());
        assert_eq!((p.model_version, p.arm, p.confidence), (0, Arm::Champion, Level::Low));
        assert!((p.probability - rule_prior(&lead)).abs() < 1e-9);
    }

    #[tokio::test]
    async fn training_reads_the_history_puts_a_challenger_in_service_and_promotion_swaps() {
        let store = InMemoryStore::default();
        for lead in synthetic::finished_leads(7, 3_000, now()) {
            store.insert_lead(lead);
        }
        let report = train_challenger(&store, Trigger::Schedule, SCHEDULE, now())
            .await
            .unwrap();
        let TrainReport::Trained {
            version,
            metrics,
            leads_read,
            ..
        } = report
        else {
            panic!("trained expected")
        };
        assert_eq!((version, leads_read), (1, 3_000));
        assert!(metrics.auc.unwrap() > 0.6, "{metrics:?}");
        let in_service = store.in_service().await.unwrap().unwrap();
        assert_eq!(
            (in_service.champion, in_service.challenger, in_service.challenger_share),
            (0, Some(1), DEFAULT_CHALLENGER_SHARE)
        );

        let again = train_challenger(&store, Trigger::Schedule, SCHEDULE, now())
            .await
            .unwrap();
        assert!(matches!(again, TrainReport::Skipped { latest_version: 1, .. }));
        let forced = train_challenger(&store, Trigger::Admin, "root", now()).await.unwrap();
        assert!(matches!(forced, TrainReport::Trained { version: 2, .. }));

        let promoted = promote(&store, "root", now()).await.unwrap();
        assert_eq!((promoted.champion, promoted.challenger), (2, None));
        assert!(matches!(
            promote(&store, "root", now()).await,
            Err(ModelingError::NoChallenger)
        ));
        let pair = models_in_service(&store).await.unwrap();
        assert_eq!(pair.champion.version, 2);

        // Every revision is kept with who made it; rolling back undoes the promotion.
        let config = in_service_config();
        let page = crate::lead::versioned::versions(&store, &config, None, 10)
            .await
            .unwrap();
        let who: Vec<(u64, Option<&str>)> = page
            .versions
            .iter()
            .map(|v| (v.version, v.saved_by.as_deref()))
            .collect();
        assert_eq!(who, [(3, Some("root")), (2, Some("root")), (1, Some(SCHEDULE))]);
        let undone = roll_back_in_service(&store, 2, "root", now()).await.unwrap();
        assert!(matches!(undone, Rollback::Restored(ref e) if e.version == 4 && e.restored_from == Some(2)));
        let in_service = store.in_service().await.unwrap().unwrap();
        assert_eq!(
            (in_service.champion, in_service.challenger, in_service.revision),
            (0, Some(2), 4)
        );
    }

    #[tokio::test]
    async fn a_write_based_on_an_old_revision_is_refused() {
        let store = InMemoryStore::default();
        set_challenger_share(&store, 0.5, "root", now()).await.unwrap();
        let stale = InService {
            revision: 1,
            ..InService::default()
        };
        let config = in_service_config();
        let saved = crate::lead::versioned::save(&store, &config, &stale, "root", now()).await;
        assert_eq!(saved.unwrap(), Saved::Conflict);
    }

    #[tokio::test]
    async fn a_rollback_naming_a_model_no_longer_stored_is_refused() {
        let store = InMemoryStore::default();
        let named = InService {
            challenger: Some(7),
            ..InService::default()
        };
        put_in_service(&store, named, None, "root", now()).await.unwrap();
        set_challenger_share(&store, 0.5, "root", now()).await.unwrap();
        let refused = roll_back_in_service(&store, 1, "root", now()).await;
        let Err(RollbackError::Invalid { errors, .. }) = refused else {
            panic!("refused: {refused:?}")
        };
        assert_eq!(errors[0].field, "challenger");
    }
}
