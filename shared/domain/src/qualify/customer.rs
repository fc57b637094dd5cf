//! Existing customers, for ToB matching: who they are, by company and contact phones,
//! and who owns them. An admin (or, later, the CRM) writes them; a new lead from the same
//! company or phone is labelled an existing customer and goes to that owner.
//!
//! "The same company" is the one decision dedup makes between leads
//! (`dedup::same_company`: equal cores, or a typo within a block), so a customer claims
//! exactly the leads another lead would take as its company peers: 广州地铁's customer
//! not 深圳地铁's leads, 纷扬's customer a lead typed 纷杨.

use crate::lead::error::{valid_id, FieldError};
use crate::lead::normalize::{self, Region};
use crate::lead::ports::StoreError;
use crate::qualify::company::core_name;
use crate::qualify::dedup::{best_fuzzy_core, blocking_key, CustomerMatch, KeyKind};
use crate::qualify::ports::DedupStore;

/// An existing customer (for ToB matching). Customers come from the CRM side: an admin
/// import now, conversions later.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub company_core: String,
    pub contact_phones: Vec<String>,
    pub owner: Option<String>,
}

impl Customer {
    /// A customer as an admin describes it, checked: the id is 1–64 letters, digits,
    /// `-` or `_`; the name has a company core of at least two characters; every contact
    /// phone normalises to E.164 (mainland China by default). Every problem is reported,
    /// each naming its field.
    pub fn new(
        id: &str,
        name: String,
        contact_phones: &[String],
        owner: Option<String>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !valid_id(id) {
            errors.push(FieldError::new("id", "must be 1-64 letters, digits, '-' or '_'"));
        }
        let company_core = core_name(&name);
        if company_core.chars().count() < 2 {
            errors.push(FieldError::new("name", "must name a company"));
        }
        let mut phones = Vec::new();
        for (i, phone) in contact_phones.iter().enumerate() {
            match normalize::phone_e164(phone, Region::CN) {
                Ok(p) => phones.push(p),
                Err(e) => errors.push(FieldError::new(format!("contact_phones[{i}]"), e)),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            id: id.to_string(),
            name,
            company_core,
            contact_phones: phones,
            owner,
        })
    }
}

/// The customer a lead with this contact phone and company core belongs to, in DOMAIN
/// order: (1) by company — the customer with the same core, else the customer whose core
/// is the closest typo of it in its block (`dedup::best_fuzzy_core`, as for lead peers) —
/// before (2) by a contact's phone. `threshold` is dedup's fuzzy company threshold.
/// Reads only; the check (`workspace::search`) and qualification both ask here.
pub async fn matching_customer<S: DedupStore>(
    store: &S,
    phone: Option<&str>,
    company_core: Option<&str>,
    threshold: f64,
) -> Result<Option<CustomerMatch>, StoreError> {
    let exact = store.customer_match(phone, company_core).await?;
    if exact.as_ref().is_some_and(|m| m.via == KeyKind::Company) {
        return Ok(exact);
    }
    if let Some(core) = company_core {
        let block = store.customer_block(&blocking_key(core)).await?;
        if let Some(similar) = best_fuzzy_core(core, &block, threshold) {
            if let Some(found) = store.customer_match(None, Some(similar)).await? {
                return Ok(Some(found));
            }
        }
    }
    Ok(exact)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryStore;

    #[test]
    fn a_customer_is_checked_field_by_field() {
        let ok = Customer::new("acme-1", "北京纷扬科技有限公司".into(), &["138 0013 8000".into()], None).unwrap();
        assert_eq!(ok.contact_phones, ["+8613800138000"]);
        let errors = Customer::new("no spaces", "X".into(), &["12".into()], None).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["id", "name", "contact_phones[0]"]);
    }

    async fn found(store: &InMemoryStore, phone: Option<&str>, company: &str) -> Option<(String, KeyKind)> {
        let core = core_name(company);
        matching_customer(store, phone, Some(core.as_str()).filter(|c| !c.is_empty()), 0.92)
            .await
            .unwrap()
            .map(|m| (m.customer_id, m.via))
    }

    #[tokio::test]
    async fn a_customer_is_the_same_company_by_the_rule_between_leads() {
        let store = InMemoryStore::default();
        for (id, name, phone) in [
            ("metro-gz", "广州地铁集团有限公司", "13900139000"),
            ("fy", "北京纷扬科技有限公司", "13700137000"),
        ] {
            let customer = Customer::new(id, name.into(), &[phone.into()], Some("rep-a".into())).unwrap();
            store.put_customer(&customer).await.unwrap();
        }
        let by_company = |id: &str| Some((id.to_string(), KeyKind::Company));
        assert_eq!(found(&store, None, "广州地铁集团").await, by_company("metro-gz"));
        assert_eq!(
            found(&store, None, "深圳市地铁集团有限公司").await,
            None,
            "a regional namesake is another company"
        );
        assert_eq!(
            found(&store, None, "纷杨科技").await,
            by_company("fy"),
            "a homophone typo"
        );
        assert_eq!(found(&store, None, "纷飞科技").await, None, "one other character");
        assert_eq!(
            found(&store, Some("+8613900139000"), "上海纷杨").await,
            by_company("fy"),
            "(1) company, typo included, before (2) phone"
        );
        assert_eq!(
            found(&store, Some("+8613900139000"), "深圳地铁").await,
            Some(("metro-gz".into(), KeyKind::Phone))
        );
        assert_eq!(found(&store, Some("+8613600136000"), "").await, None);
    }
}
