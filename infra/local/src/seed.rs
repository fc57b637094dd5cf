//! The demo sales org (`infra/local/seed.json`): reps, pools and routing rules, written
//! straight into the local table so `make dev` routes leads from the first request.

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
    }
}
