//! Which column of a file is which lead field: presets for this project's own field
//! names (with the Chinese headers people type) and a Salesforce lead export, plus
//! custom mappings saved by name.
//!
//! Headers match loosely (case, spaces and punctuation ignored), so `First Name`,
//! `FirstName` and `first_name` are one header.

use super::ImportError;
use crate::lead::error::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Lead fields a column can fill. Besides the form's fields: `first_name`/`last_name`
/// (joined into `name`), `mobile` (used when `phone` is empty), `created_at` (the
/// original creation time), `owner` (a rep id or name), `ignore`, and `extra.<key>`
/// for custom fields.
pub const TARGETS: &[&str] = &[
    "name",
    "first_name",
    "last_name",
    "phone",
    "mobile",
    "email",
    "wechat",
    "company",
    "title",
    "industry",
    "province",
    "city",
    "company_size",
    "product",
    "message",
    "campaign_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "referrer",
    "landing_page",
    "consent",
    "created_at",
    "owner",
    "ignore",
];

/// Contact targets: a mapping must fill at least one.
const CONTACT_TARGETS: &[&str] = &["phone", "mobile", "email", "wechat"];

pub const PRESETS: &[&str] = &["leadflow", "salesforce"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub name: String,
    /// File header → target field.
    pub columns: BTreeMap<String, String>,
    /// Bumped on every save of a custom mapping ([`crate::lead::versioned`]); presets
    /// and mappings saved before versions were kept are 0.
    #[serde(default)]
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl crate::lead::versioned::Versioned for Mapping {
    fn version(&self) -> u64 {
        self.version
    }
    fn stamp(&mut self, version: u64, at: DateTime<Utc>) {
        self.version = version;
        self.updated_at = Some(at);
    }
}

/// `First Name` → `firstname`; CJK kept as is.
fn header_key(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn valid_target(target: &str) -> bool {
    TARGETS.contains(&target)
        || target.strip_prefix("extra.").is_some_and(|key| {
            !key.is_empty() && key.len() <= 64 && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

fn mapping(name: &str, pairs: &[(&str, &str)]) -> Mapping {
    Mapping {
        name: name.to_string(),
        columns: pairs.iter().map(|(h, t)| (h.to_string(), t.to_string())).collect(),
        version: 0,
        updated_at: None,
    }
}

impl Mapping {
    pub fn preset(name: &str) -> Option<Mapping> {
        match name {
            "leadflow" => Some(leadflow()),
            "salesforce" => Some(salesforce()),
            _ => None,
        }
    }

    /// The preset that recognises most of `headers` (this project's own on a tie).
    pub fn automatic(headers: &[String]) -> Mapping {
        PRESETS
            .iter()
            .filter_map(|name| Mapping::preset(name))
            .map(|m| (m.recognised(headers), m))
            .fold(None, |best: Option<(usize, Mapping)>, (n, m)| match best {
                Some((b, _)) if b >= n => best,
                _ => Some((n, m)),
            })
            .map(|(_, m)| m)
            .expect("presets exist")
    }

    fn recognised(&self, headers: &[String]) -> usize {
        let keys: Vec<String> = self.columns.keys().map(|h| header_key(h)).collect();
        headers.iter().filter(|h| keys.contains(&header_key(h))).count()
    }

    /// Checks a custom mapping before it is saved.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !(1..=64).contains(&self.name.len())
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            errors.push(FieldError::new("name", "must be 1–64 letters, digits, '_' or '-'"));
        }
        if PRESETS.contains(&self.name.as_str()) {
            errors.push(FieldError::new("name", "is the name of a preset"));
        }
        if self.columns.is_empty() {
            errors.push(FieldError::new("columns", "must map at least one column"));
        }
        for (header, target) in &self.columns {
            if !valid_target(target) {
                errors.push(FieldError::new(
                    format!("columns.{header}"),
                    format!("`{target}` is not a lead field (see the import targets in docs/src/marketing-ops.md, or use extra.<key>)"),
                ));
            }
        }
        if !self.columns.values().any(|t| CONTACT_TARGETS.contains(&t.as_str())) {
            errors.push(FieldError::new(
                "columns",
                "must map a column to phone, mobile, email or wechat",
            ));
        }
        errors
    }

    /// Column index → target for the file's headers, or why the file cannot be imported.
    pub fn resolve(&self, headers: &[String]) -> Result<Vec<(usize, String)>, ImportError> {
        let targets: BTreeMap<String, &String> = self.columns.iter().map(|(h, t)| (header_key(h), t)).collect();
        let mut columns = Vec::new();
        let mut seen = Vec::new();
        for (index, header) in headers.iter().enumerate() {
            let key = header_key(header);
            if key.is_empty() {
                continue;
            }
            if seen.contains(&key) {
                return Err(ImportError::DuplicateHeader(header.clone()));
            }
            seen.push(key.clone());
            if let Some(target) = targets.get(&key).filter(|t| t.as_str() != "ignore") {
                columns.push((index, (*target).clone()));
            }
        }
        if !columns.iter().any(|(_, t)| CONTACT_TARGETS.contains(&t.as_str())) {
            return Err(ImportError::NoContactColumn {
                mapping: self.name.clone(),
            });
        }
        Ok(columns)
    }
}

/// This project's field names, and the Chinese headers a trade-show sheet has.
fn leadflow() -> Mapping {
    let mut m = mapping(
        "leadflow",
        &[
            ("姓名", "name"),
            ("名字", "name"),
            ("联系人", "name"),
            ("手机", "phone"),
            ("手机号", "phone"),
            ("手机号码", "phone"),
            ("电话", "phone"),
            ("联系电话", "phone"),
            ("邮箱", "email"),
            ("电子邮箱", "email"),
            ("邮件", "email"),
            ("微信", "wechat"),
            ("微信号", "wechat"),
            ("公司", "company"),
            ("公司名称", "company"),
            ("单位", "company"),
            ("职位", "title"),
            ("职务", "title"),
            ("行业", "industry"),
            ("省份", "province"),
            ("省", "province"),
            ("城市", "city"),
            ("公司规模", "company_size"),
            ("人数规模", "company_size"),
            ("意向产品", "product"),
            ("产品", "product"),
            ("备注", "message"),
            ("留言", "message"),
            ("需求", "message"),
            ("创建时间", "created_at"),
            ("负责人", "owner"),
            ("所有人", "owner"),
        ],
    );
    for target in TARGETS.iter().filter(|t| **t != "ignore") {
        m.columns.insert((*target).to_string(), (*target).to_string());
    }
    m
}

/// A Salesforce lead export: report labels and Data Loader API names.
fn salesforce() -> Mapping {
    mapping(
        "salesforce",
        &[
            ("First Name", "first_name"),
            ("FirstName", "first_name"),
            ("Last Name", "last_name"),
            ("LastName", "last_name"),
            ("Salutation", "ignore"),
            ("Title", "title"),
            ("Company", "company"),
            ("Company / Account", "company"),
            ("Phone", "phone"),
            ("Mobile", "mobile"),
            ("Mobile Phone", "mobile"),
            ("MobilePhone", "mobile"),
            ("Email", "email"),
            ("Industry", "industry"),
            ("State/Province", "province"),
            ("State", "province"),
            ("City", "city"),
            ("No. of Employees", "company_size"),
            ("NumberOfEmployees", "company_size"),
            ("Description", "message"),
            ("Created Date", "created_at"),
            ("CreatedDate", "created_at"),
            ("Lead Owner", "owner"),
            ("Owner Name", "owner"),
            ("OwnerId", "owner"),
            ("Lead Source", "extra.lead_source"),
            ("LeadSource", "extra.lead_source"),
            ("Lead Status", "extra.lead_status"),
            ("Status", "extra.lead_status"),
            ("Lead ID", "extra.salesforce_id"),
            ("Id", "extra.salesforce_id"),
            ("Rating", "extra.rating"),
            ("Annual Revenue", "extra.annual_revenue"),
            ("AnnualRevenue", "extra.annual_revenue"),
            // Never the form's honeypot field of the same name.
            ("Website", "extra.website"),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_salesforce_export_is_recognised_and_mapped() {
        let h = headers(&[
            "Lead ID",
            "First Name",
            "Last Name",
            "Company / Account",
            "Phone",
            "Email",
            "Lead Source",
            "Website",
            "Created Date",
        ]);
        let m = Mapping::automatic(&h);
        assert_eq!(m.name, "salesforce");
        let columns = m.resolve(&h).unwrap();
        let target = |i: usize| columns.iter().find(|(c, _)| *c == i).map(|(_, t)| t.as_str());
        assert_eq!(target(1), Some("first_name"));
        assert_eq!(target(3), Some("company"));
        assert_eq!(target(7), Some("extra.website"));
        assert_eq!(target(8), Some("created_at"));
    }

    #[test]
    fn own_field_names_and_chinese_headers_pick_the_leadflow_preset() {
        for h in [
            headers(&["name", "phone", "email"]),
            headers(&["姓名", "手机", "公司"]),
            headers(&["Name", "Phone"]),
        ] {
            assert_eq!(Mapping::automatic(&h).name, "leadflow", "{h:?}");
        }
        assert_eq!(header_key(" First_Name "), "firstname");
    }

    #[test]
    fn a_file_without_a_contact_column_is_refused() {
        let h = headers(&["name", "company"]);
        assert!(matches!(
            Mapping::automatic(&h).resolve(&h),
            Err(ImportError::NoContactColumn { .. })
        ));
        let h = headers(&["phone", "Phone "]);
        assert!(matches!(
            Mapping::automatic(&h).resolve(&h),
            Err(ImportError::DuplicateHeader(_))
        ));
    }

    #[test]
    fn custom_mappings_are_checked() {
        let good = mapping("expo-2026", &[("手机号码", "phone"), ("展位", "extra.booth")]);
        assert!(good.validate().is_empty());
        let bad = mapping("salesforce", &[("x", "website"), ("y", "extra.bad key")]);
        let fields: Vec<String> = bad.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "columns.x", "columns.y", "columns"]);
    }
}
