//! Existing customers, for ToB matching: who they are, by company and contact phones,
//! and who owns them. An admin (or, later, the CRM) writes them; a new lead from the same
//! company or phone is labelled an existing customer and goes to that owner.

use crate::lead::error::{valid_id, FieldError};
use crate::lead::normalize::{self, Region};
use crate::qualify::company::core_name;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_is_checked_field_by_field() {
        let ok = Customer::new("acme-1", "北京纷扬科技有限公司".into(), &["138 0013 8000".into()], None).unwrap();
        assert_eq!(ok.contact_phones, ["+8613800138000"]);
        let errors = Customer::new("no spaces", "X".into(), &["12".into()], None).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["id", "name", "contact_phones[0]"]);
    }
}
