//! The demo sales org (`infra/local/seed.json`): reps, pools and routing rules, written
//! straight into the local table so `make dev` routes leads from the first request; and
//! the demo staff who are not reps (a manager, marketing, finance), who exist only as the
//! tokens `local-stack token --user ID` mints, since locally there is no user pool.

use domain::assign::actions::Role;
use domain::{assign::ports::RoutingStore, lead::ports::Saved};
use domain::{assign::routing::Pool, assign::routing::Rep, assign::routing::RoutingConfig};
use leadflow_aws::DynamoStore;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
pub struct Seed {
    pub reps: Vec<Rep>,
    pub pools: Vec<Pool>,
    pub routing: RoutingConfig,
    #[serde(default)]
    pub staff: Vec<Staff>,
}

/// A demo user who is not a rep: their user name and their roles (the groups they would
/// have in the user pool).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Staff {
    pub id: String,
    pub name: String,
    pub roles: Vec<Role>,
}

impl Seed {
    /// The roles of demo user `id`: a staff member's, or `rep` for a seeded rep.
    pub fn roles_of(&self, id: &str) -> Option<Vec<Role>> {
        match self.staff.iter().find(|s| s.id == id) {
            Some(staff) => Some(staff.roles.clone()),
            None => self.reps.iter().any(|r| r.id == id).then(|| vec![Role::Rep]),
        }
    }
}

pub fn path() -> PathBuf {
    crate::moto::repo_root().join("infra/local/seed.json")
}

/// The org, with `{{DEMO}}` (where the demo page listens) filled in.
pub fn load(demo_url: &str) -> Result<Seed, String> {
    let text = std::fs::read_to_string(path()).map_err(|e| format!("{}: {e}", path().display()))?;
    serde_json::from_str(&text.replace("{{DEMO}}", demo_url)).map_err(|e| format!("{}: {e}", path().display()))
}

/// Writes the org; routing rules only if none were saved yet (an edit survives).
pub async fn apply(seed: &Seed, store: &DynamoStore) -> Result<(), String> {
    for rep in &seed.reps {
        if let Some(e) = rep.validate().first() {
            return Err(format!("seed rep {}: {}: {}", rep.id, e.field, e.reason));
        }
        store.put_rep(rep).await.map_err(|e| e.to_string())?;
    }
    for pool in &seed.pools {
        if let Some(e) = pool.validate().first() {
            return Err(format!("seed pool {}: {}: {}", pool.id, e.field, e.reason));
        }
        store.put_pool(pool).await.map_err(|e| e.to_string())?;
    }
    if store.routing().await.map_err(|e| e.to_string())?.version == 0 {
        let routing = RoutingConfig {
            version: 1,
            ..seed.routing.clone()
        };
        if store.save_routing(&routing).await.map_err(|e| e.to_string())? == Saved::Conflict {
            return Err("routing rules changed while seeding".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_org_is_valid() {
        let seed = super::load("http://127.0.0.1:8080").unwrap();
        assert!(seed.reps.iter().all(|r| r.validate().is_empty()));
        assert!(seed.pools.iter().all(|p| p.validate().is_empty()));
        let pools: Vec<String> = seed.pools.iter().map(|p| p.id.clone()).collect();
        assert!(seed.routing.validate(&pools).is_empty());
        assert!(seed.staff.iter().all(|s| !s.roles.is_empty()));
    }

    #[test]
    fn demo_users_have_their_roles() {
        use domain::assign::actions::Role;
        let seed = super::load("http://127.0.0.1:8080").unwrap();
        assert_eq!(seed.roles_of("bj-zhang"), Some(vec![Role::Rep]));
        assert_eq!(seed.roles_of("ops-lin"), Some(vec![Role::Manager]));
        assert_eq!(seed.roles_of("mkt-sun"), Some(vec![Role::Marketing]));
        assert_eq!(seed.roles_of("nobody"), None);
    }
}
