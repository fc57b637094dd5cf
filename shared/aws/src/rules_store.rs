//! DynamoDB adapter for [`RulesStore`]: the qualification rules as a versioned document.

use crate::keys::*;
use crate::store::DynamoStore;
use domain::qualify::rules::Rules;
use domain::{lead::ports::Saved, lead::ports::StoreError, qualify::ports::RulesStore};

impl RulesStore for DynamoStore {
    async fn rules(&self) -> Result<Rules, StoreError> {
        Ok(self.versioned_document(RULES_PK, "rules").await?.unwrap_or_default())
    }

    async fn save_rules(&self, rules: &Rules) -> Result<Saved, StoreError> {
        self.save_versioned_document(RULES_PK, "rules", rules.version.into(), rules)
            .await
    }
}
