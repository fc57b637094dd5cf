//! Configuration documents saved with optimistic versioning (scoring rules, routing, SLA
//! policies and their calendars, attribution models, hook sources, import mappings, the
//! models in service): an edit names the version it was read as and is saved as the next
//! one, stamped with the time; the store refuses it if someone saved another version in
//! between (`Saved::Conflict`).
//!
//! Every version stays readable ([`ConfigHistory`]), with who saved it, when, and for a
//! rollback which version it restored; what changed is the difference between a version's
//! document and the one before it, worked out when it is read ([`changed_fields`]), so a
//! version saved by any path can be compared.
//!
//! A rollback is a new version, never a rewrite: the old document, read as today's type
//! and checked by today's rules (a pool deleted since is refused), saved on top of the
//! current one under the same optimistic condition. Of two simultaneous rollbacks one is
//! saved and the other gets [`RollbackError::Conflict`]; a rollback to the document that
//! is already current saves nothing ([`Rollback::Unchanged`]), so a retried one is harmless.

use crate::lead::error::FieldError;
use crate::lead::ports::{ConfigHistory, Saved, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

pub trait Versioned {
    fn version(&self) -> u64;
    /// Sets the version and when it was saved.
    fn stamp(&mut self, version: u64, at: DateTime<Utc>);

    /// Makes this edit the version after the one it was read as, saved `now`; returns
    /// the version it was based on (the store's write condition).
    fn next_version(&mut self, now: DateTime<Utc>) -> u64 {
        let based_on = self.version();
        self.stamp(based_on + 1, now);
        based_on
    }

    /// What the history keeps of this version and shows: the whole document, unless the
    /// kind keeps something out of its history (a hook source's secrets).
    fn kept(&self) -> Value
    where
        Self: Serialize,
    {
        serde_json::to_value(self).expect("configuration documents serialise to JSON")
    }
}

/// The versioned configuration documents, as the API's paths name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigKind {
    /// Scoring, cleaning and dedup rules.
    Rules,
    Routing,
    /// SLA policies with their business calendars.
    Sla,
    Attribution,
    /// One document per push source.
    Hooks,
    /// One document per saved column mapping.
    ImportMappings,
    /// The models in service: champion, challenger and the challenger's share.
    Models,
    /// Outbound webhook subscriptions ([`crate::handoff::outbound`]).
    Webhooks,
}

impl ConfigKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rules => "rules",
            Self::Routing => "routing",
            Self::Sla => "sla",
            Self::Attribution => "attribution",
            Self::Hooks => "hooks",
            Self::ImportMappings => "import-mappings",
            Self::Models => "models",
            Self::Webhooks => "webhooks",
        }
    }

    /// Whether the kind keeps one document per name (a source, a mapping).
    pub fn is_named(self) -> bool {
        matches!(self, Self::Hooks | Self::ImportMappings)
    }
}

/// One versioned document: its kind and, for the kinds kept per name, the name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigId {
    pub kind: ConfigKind,
    pub name: Option<String>,
}

impl ConfigId {
    /// The one document of a kind kept once (rules, routing, SLA, attribution, models).
    pub fn of(kind: ConfigKind) -> Self {
        debug_assert!(!kind.is_named(), "{} documents have names", kind.as_str());
        Self { kind, name: None }
    }

    /// A document of a kind kept per name (a hook source, an import mapping).
    pub fn named(kind: ConfigKind, name: impl Into<String>) -> Self {
        debug_assert!(kind.is_named(), "{} is kept once", kind.as_str());
        Self {
            kind,
            name: Some(name.into()),
        }
    }
}

/// A version as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigVersion {
    pub version: u64,
    /// `None` for a version saved without an author (before history recorded one, or
    /// by a tool writing the store directly): its document's `updated_at` then tells.
    pub saved_at: Option<DateTime<Utc>>,
    /// The id of the caller who saved it (the token's subject; `schedule` for the
    /// monthly training run).
    pub saved_by: Option<String>,
    /// For a rollback: the version whose document it restored.
    pub restored_from: Option<u64>,
    /// The document as this version had it ([`Versioned::kept`]).
    pub document: Value,
}

impl ConfigVersion {
    /// A version saved without an author (seeds, tests, tools).
    pub fn unattributed(version: u64, document: Value) -> Self {
        Self {
            version,
            saved_at: None,
            saved_by: None,
            restored_from: None,
            document,
        }
    }
}

/// A version as the API shows it: the record, what changed, and (read alone) the document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionEntry {
    pub version: u64,
    pub saved_at: Option<DateTime<Utc>>,
    pub saved_by: Option<String>,
    pub restored_from: Option<u64>,
    /// Top-level fields that differ from the version before (every field, for version 1);
    /// `None` when the version before is not kept (saved before history was kept).
    pub changed: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
}

/// One page of a document's versions, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionPage {
    pub versions: Vec<VersionEntry>,
    /// Pass back as `cursor` for the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Versions listed when the caller names no `limit`, and the most one page holds.
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 200;

/// The fields every save rewrites: not a change anyone made.
const STAMP_FIELDS: &[&str] = &["version", "revision", "updated_at"];

/// The top-level fields whose values differ between two versions' documents, sorted;
/// the version stamp (`version`, `revision`, `updated_at`) is not a change.
pub fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (before, after) = (
        before.as_object().unwrap_or(&empty),
        after.as_object().unwrap_or(&empty),
    );
    let mut fields: Vec<String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| !STAMP_FIELDS.contains(&k.as_str()))
        .filter(|k| before.get(*k) != after.get(*k))
        .cloned()
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

/// `version` as shown, compared with `older` when that is the version just before it.
fn entry(version: &ConfigVersion, older: Option<&ConfigVersion>, with_document: bool) -> VersionEntry {
    let changed = match older {
        Some(older) if older.version + 1 == version.version => Some(changed_fields(&older.document, &version.document)),
        _ if version.version == 1 => Some(changed_fields(&Value::Null, &version.document)),
        _ => None,
    };
    let saved_at = version.saved_at.or_else(|| {
        version
            .document
            .get("updated_at")
            .and_then(|at| serde_json::from_value(at.clone()).ok())
    });
    VersionEntry {
        version: version.version,
        saved_at,
        saved_by: version.saved_by.clone(),
        restored_from: version.restored_from,
        changed,
        document: with_document.then(|| version.document.clone()),
    }
}

/// A page of `config`'s versions older than `before` (from the newest, without), newest
/// first; `limit` is at most [`MAX_PAGE`].
pub async fn versions<S: ConfigHistory>(
    store: &S,
    config: &ConfigId,
    before: Option<u64>,
    limit: usize,
) -> Result<VersionPage, StoreError> {
    let limit = limit.clamp(1, MAX_PAGE);
    // One more than the page: it tells whether there is a next page, and what the
    // page's oldest version changed.
    let read = store.config_versions(config, before, limit + 1).await?;
    let versions: Vec<VersionEntry> = read
        .iter()
        .take(limit)
        .enumerate()
        .map(|(i, version)| entry(version, read.get(i + 1), false))
        .collect();
    let next_cursor = (read.len() > limit)
        .then(|| versions.last().map(|v| v.version.to_string()))
        .flatten();
    Ok(VersionPage { versions, next_cursor })
}

/// Version `n` of `config` with its document, or `None` if it is not kept.
pub async fn version<S: ConfigHistory>(
    store: &S,
    config: &ConfigId,
    n: u64,
) -> Result<Option<VersionEntry>, StoreError> {
    let Some(found) = store.config_version(config, n).await? else {
        return Ok(None);
    };
    let older = match n {
        0 | 1 => None,
        _ => store.config_version(config, n - 1).await?,
    };
    Ok(Some(entry(&found, older.as_ref(), true)))
}

/// Saves `document`, already stamped as the version after the one it was read as
/// ([`Versioned::next_version`]), as the current one, and keeps it in the history as
/// saved by `by` at `at`. `Saved::Conflict`: another version was saved in between.
pub async fn save<T, S>(
    store: &S,
    config: &ConfigId,
    document: &T,
    by: &str,
    at: DateTime<Utc>,
) -> Result<Saved, StoreError>
where
    T: Versioned + Serialize,
    S: ConfigHistory,
{
    let kept = ConfigVersion {
        version: document.version(),
        saved_at: Some(at),
        saved_by: Some(by.to_string()),
        restored_from: None,
        document: document.kept(),
    };
    store.save_config_version(config, &in_use(document), &kept).await
}

/// The document as the store keeps it in use (all of it, secrets included).
fn in_use<T: Serialize>(document: &T) -> Value {
    serde_json::to_value(document).expect("configuration documents serialise to JSON")
}

/// What a rollback did.
#[derive(Debug, Clone, PartialEq)]
pub enum Rollback {
    /// Saved as a new version (with its document).
    Restored(VersionEntry),
    /// The current document already is the version's: nothing was saved. The current
    /// version, with its document.
    Unchanged(VersionEntry),
}

#[derive(Debug, Error)]
pub enum RollbackError {
    #[error("there is no version {0}")]
    NoSuchVersion(u64),
    /// The old document does not pass today's rules (or no longer reads as today's type).
    #[error("version {to} does not pass today's checks")]
    Invalid { to: u64, errors: Vec<FieldError> },
    /// Another version was saved between reading the current one and saving the rollback.
    #[error("another version was saved while version {to} was being restored on top of version {based_on}")]
    Conflict { to: u64, based_on: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Version `to` of `config` as kept.
pub async fn kept_version<S: ConfigHistory>(
    store: &S,
    config: &ConfigId,
    to: u64,
) -> Result<ConfigVersion, RollbackError> {
    store
        .config_version(config, to)
        .await?
        .ok_or(RollbackError::NoSuchVersion(to))
}

/// A kept document read as today's `T` and checked by `check` (today's rules): the
/// document to restore, or every problem by field.
pub fn reread<T: serde::de::DeserializeOwned>(
    document: Value,
    check: impl FnOnce(&T) -> Vec<FieldError>,
) -> Result<T, Vec<FieldError>> {
    let restored: T = serde_json::from_value(document).map_err(|e| {
        vec![FieldError::new(
            "to",
            format!("this version no longer reads as today's configuration: {e}"),
        )]
    })?;
    let errors = check(&restored);
    if errors.is_empty() {
        Ok(restored)
    } else {
        Err(errors)
    }
}

/// Restores version `to` of `config` on top of `current` (read just before): `restore`
/// makes today's document from the kept one and checks it (see [`reread`]). Saved as
/// the next version, by `by` at `now`, unless it equals the current document.
pub async fn rollback<T, S>(
    store: &S,
    config: &ConfigId,
    current: T,
    to: u64,
    by: &str,
    now: DateTime<Utc>,
    restore: impl FnOnce(&T, Value) -> Result<T, Vec<FieldError>>,
) -> Result<Rollback, RollbackError>
where
    T: Versioned + Serialize,
    S: ConfigHistory,
{
    let kept = kept_version(store, config, to).await?;
    let restored = restore(&current, kept.document).map_err(|errors| RollbackError::Invalid { to, errors })?;
    commit_rollback(store, config, current, restored, to, by, now).await
}

/// The second half of [`rollback`], for kinds whose checks need the store: saves
/// `restored` (made from version `to`'s document and checked) as the version after
/// `current`, or nothing if the two documents are the same.
pub async fn commit_rollback<T, S>(
    store: &S,
    config: &ConfigId,
    current: T,
    mut restored: T,
    to: u64,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Rollback, RollbackError>
where
    T: Versioned + Serialize,
    S: ConfigHistory,
{
    let before = current.kept();
    if changed_fields(&before, &restored.kept()).is_empty() {
        let shown = match version(store, config, current.version()).await? {
            Some(shown) => shown,
            None => entry(&ConfigVersion::unattributed(current.version(), before), None, true),
        };
        return Ok(Rollback::Unchanged(shown));
    }
    let based_on = current.version();
    restored.stamp(based_on + 1, now);
    let kept = ConfigVersion {
        version: based_on + 1,
        saved_at: Some(now),
        saved_by: Some(by.to_string()),
        restored_from: Some(to),
        document: restored.kept(),
    };
    match store.save_config_version(config, &in_use(&restored), &kept).await? {
        Saved::Saved => Ok(Rollback::Restored(VersionEntry {
            changed: Some(changed_fields(&before, &kept.document)),
            ..entry(&kept, None, true)
        })),
        Saved::Conflict => Err(RollbackError::Conflict { to, based_on }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryStore;
    use crate::qualify::rules::Rules;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    const RULES: ConfigKind = ConfigKind::Rules;

    /// Saves three versions of the rules, each with another dedup window.
    async fn three_versions(store: &InMemoryStore) -> Rules {
        let mut rules = Rules::default();
        for (i, days) in [90, 180, 30].into_iter().enumerate() {
            rules.dedup.window_days = days;
            rules.next_version(at("2026-11-20T08:00:00Z") + chrono::Duration::hours(i as i64));
            let saved = save(
                store,
                &ConfigId::of(RULES),
                &rules,
                "ops-wang",
                rules.updated_at.unwrap(),
            )
            .await
            .unwrap();
            assert_eq!(saved, Saved::Saved);
        }
        rules
    }

    #[test]
    fn changes_are_the_top_level_fields_that_differ_without_the_stamp() {
        let before = json!({"version": 1, "updated_at": "x", "a": 1, "b": [1], "c": "same"});
        let after = json!({"version": 2, "updated_at": "y", "a": 2, "c": "same", "d": null});
        assert_eq!(changed_fields(&before, &after), ["a", "b", "d"]);
        assert_eq!(
            changed_fields(&Value::Null, &json!({"revision": 3, "z": 1, "a": 0})),
            ["a", "z"]
        );
    }

    #[tokio::test]
    async fn every_version_is_listed_newest_first_in_pages_with_who_when_and_what() {
        let store = InMemoryStore::default();
        three_versions(&store).await;
        let config = ConfigId::of(RULES);
        let first = versions(&store, &config, None, 2).await.unwrap();
        let numbers: Vec<u64> = first.versions.iter().map(|v| v.version).collect();
        assert_eq!(numbers, [3, 2]);
        assert_eq!(first.next_cursor.as_deref(), Some("2"));
        assert_eq!(first.versions[0].saved_by.as_deref(), Some("ops-wang"));
        assert_eq!(first.versions[0].saved_at, Some(at("2026-11-20T10:00:00Z")));
        assert_eq!(first.versions[0].changed.as_deref(), Some(&["dedup".to_string()][..]));
        assert!(first.versions[0].document.is_none(), "a list leaves documents out");
        let rest = versions(&store, &config, Some(2), 2).await.unwrap();
        assert_eq!(rest.versions.len(), 1);
        assert_eq!(rest.next_cursor, None);
        let all_fields = rest.versions[0].changed.clone().unwrap();
        assert_eq!(
            all_fields,
            ["cleaning", "dedup", "nurture", "scoring"],
            "version 1 changed everything"
        );

        let one = version(&store, &config, 2).await.unwrap().unwrap();
        assert_eq!(one.document.unwrap()["dedup"]["window_days"], 180);
        assert!(version(&store, &config, 4).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_rollback_is_a_new_version_with_the_old_document_and_says_which() {
        let store = InMemoryStore::default();
        let current = three_versions(&store).await;
        let config = ConfigId::of(RULES);
        let now = at("2026-11-21T08:00:00Z");
        let check = |_: &Rules, kept| reread(kept, |r: &Rules| r.validate().err().map(|e| e.0).unwrap_or_default());
        let done = rollback(&store, &config, current, 1, "ops-li", now, check)
            .await
            .unwrap();
        let Rollback::Restored(entry) = done else {
            panic!("a new version: {done:?}")
        };
        assert_eq!((entry.version, entry.restored_from), (4, Some(1)));
        assert_eq!(entry.saved_by.as_deref(), Some("ops-li"));
        assert_eq!(entry.changed, Some(vec!["dedup".to_string()]));
        let rules = crate::qualify::ports::RulesStore::rules(&store).await.unwrap();
        assert_eq!((rules.version, rules.dedup.window_days), (4, 90), "in use at once");
        assert_eq!(rules.updated_at, Some(now));

        // Again: the document is already version 1's; nothing is saved.
        let again = rollback(&store, &config, rules, 1, "ops-li", now, check).await.unwrap();
        assert!(
            matches!(again, Rollback::Unchanged(ref e) if e.version == 4),
            "{again:?}"
        );
        assert_eq!(versions(&store, &config, None, 10).await.unwrap().versions.len(), 4);

        let rules = crate::qualify::ports::RulesStore::rules(&store).await.unwrap();
        let missing = rollback(&store, &config, rules, 9, "ops-li", now, check).await;
        assert!(matches!(missing, Err(RollbackError::NoSuchVersion(9))));
    }

    #[tokio::test]
    async fn an_old_document_that_fails_todays_checks_is_refused_by_field() {
        let store = InMemoryStore::default();
        let current = three_versions(&store).await;
        let refuse = |_: &Rules, kept| {
            reread(kept, |r: &Rules| {
                (r.dedup.window_days != 30)
                    .then(|| FieldError::new("dedup.window_days", "too long for today"))
                    .into_iter()
                    .collect()
            })
        };
        let refused = rollback(
            &store,
            &ConfigId::of(RULES),
            current,
            2,
            "ops-li",
            at("2026-11-21T08:00:00Z"),
            refuse,
        )
        .await;
        let Err(RollbackError::Invalid { to: 2, errors }) = refused else {
            panic!("refused: {refused:?}")
        };
        assert_eq!(errors[0].field, "dedup.window_days");
        assert_eq!(
            versions(&store, &ConfigId::of(RULES), None, 10)
                .await
                .unwrap()
                .versions
                .len(),
            3
        );
    }

    /// Two rollbacks read the same current version; the one that saves second is
    /// refused by the store's condition, and nothing of it is saved.
    #[tokio::test]
    async fn of_two_simultaneous_rollbacks_one_is_saved_and_the_other_conflicts() {
        let store = InMemoryStore::default();
        let current = three_versions(&store).await;
        let config = ConfigId::of(RULES);
        let now = at("2026-11-21T08:00:00Z");
        let check = |_: &Rules, kept| reread(kept, |_: &Rules| Vec::new());
        let first = rollback(&store, &config, current.clone(), 1, "ops-li", now, check).await;
        let second = rollback(&store, &config, current, 2, "ops-zhao", now, check).await;
        assert!(matches!(first, Ok(Rollback::Restored(_))));
        assert!(
            matches!(second, Err(RollbackError::Conflict { to: 2, based_on: 3 })),
            "{second:?}"
        );
        let page = versions(&store, &config, None, 10).await.unwrap();
        assert_eq!(page.versions[0].restored_from, Some(1), "only the first was saved");
        assert_eq!(page.versions.len(), 4);
    }
}
