//! The duplicate check (查重) before a rep creates or calls someone: `q` is read the
//! way intake reads a submission — a phone in any of the forms people type it
//! (`138 0013 8000`, `+86 138-0013-8000`), an e-mail, a WeChat id, or a company name
//! reduced to its core — and looked up in the same dedup keys, company blocks and
//! customer records qualification uses, so the check and dedup can never disagree.

use crate::lead::normalize::{self, Region};
use crate::lead::ports::StoreError;
use crate::lead::LeadId;
use crate::qualify::company::core_name;
use crate::qualify::customer::matching_customer;
use crate::qualify::dedup::{blocking_key, cores_match, similarity, CustomerMatch, KeyKind, MatchKey};
use crate::qualify::ports::DedupStore;
use serde::Serialize;

/// Fuzzy company matches listed at most.
pub const MAX_FUZZY: usize = 10;

/// What `q` was read as.
pub fn keys(q: &str, region: Region) -> Vec<MatchKey> {
    let mut keys = Vec::new();
    let key = |kind, value: String| MatchKey { kind, value };
    if q.contains('@') {
        if let Ok(email) = normalize::email(q) {
            keys.push(key(KeyKind::Email, email));
        }
        return keys;
    }
    if let Ok(phone) = normalize::phone_e164(q, region) {
        // A phone may also have been given as the WeChat id ("微信同手机号").
        keys.push(key(KeyKind::Phone, phone.clone()));
        keys.push(key(KeyKind::Wechat, phone));
        return keys;
    }
    if let Ok(wechat) = normalize::wechat(q, region) {
        keys.push(key(KeyKind::Wechat, wechat));
    }
    let core = core_name(q);
    if core.chars().count() >= 2 {
        keys.push(key(KeyKind::Company, core));
    }
    keys
}

/// A lead the check found, and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub lead_id: LeadId,
    pub via: KeyKind,
    /// For a company found by a similar name: how similar (0–1, by letters or by
    /// reading: `dedup::similarity`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lookup {
    /// What `q` was read as: `phone#+8613800138000`, `company#纷扬`, ….
    pub read_as: Vec<String>,
    pub hits: Vec<Hit>,
    /// The customer the phone or company belongs to, if any.
    pub customer: Option<CustomerMatch>,
}

/// Looks `q` up; `threshold` is dedup's fuzzy company threshold. Similar companies are
/// those dedup would take as a peer (`dedup::cores_match`), so the check and dedup agree.
pub async fn lookup<S: DedupStore>(store: &S, q: &str, region: Region, threshold: f64) -> Result<Lookup, StoreError> {
    let keys = keys(q, region);
    let mut hits: Vec<Hit> = store
        .key_holders(&keys)
        .await?
        .into_iter()
        .map(|h| Hit {
            lead_id: h.lead_id,
            via: h.key.kind,
            similarity: None,
        })
        .collect();
    let phone = keys.iter().find(|k| k.kind == KeyKind::Phone).map(|k| k.value.as_str());
    let company = keys
        .iter()
        .find(|k| k.kind == KeyKind::Company)
        .map(|k| k.value.as_str());
    if let Some(core) = company {
        let mut similar: Vec<Hit> = store
            .company_block(&blocking_key(core))
            .await?
            .into_iter()
            .filter(|(other, _)| other != core && cores_match(core, other, threshold))
            .map(|(other, lead_id)| Hit {
                lead_id,
                via: KeyKind::Company,
                similarity: Some(similarity(core, &other)),
            })
            .collect();
        similar.sort_by(|a, b| {
            b.similarity
                .partial_cmp(&a.similarity)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        hits.extend(similar.into_iter().take(MAX_FUZZY));
    }
    let mut seen = std::collections::HashSet::new();
    hits.retain(|h| seen.insert(h.lead_id.clone()));
    let customer = if phone.is_some() || company.is_some() {
        matching_customer(store, phone, company, threshold).await?
    } else {
        None
    };
    Ok(Lookup {
        read_as: keys.iter().map(MatchKey::storage_key).collect(),
        hits,
        customer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::normalize::Region as Country;

    fn read(q: &str) -> Vec<String> {
        keys(q, Country::CN).iter().map(MatchKey::storage_key).collect()
    }

    #[test]
    fn reads_q_as_intake_reads_a_submission() {
        assert_eq!(read("138 0013 8000"), ["phone#+8613800138000", "wechat#+8613800138000"]);
        assert_eq!(read("+86 138-0013-8000"), read("13800138000"));
        assert_eq!(read("Zhang.San@Example.com "), ["email#zhang.san@example.com"]);
        assert_eq!(read("wxid_zhangsan"), ["wechat#wxid_zhangsan", "company#wxidzhangsan"]);
        assert_eq!(read("北京纷扬科技有限公司"), ["company#纷扬"]);
        assert!(read("纷").is_empty(), "a one-character core would match too much");
    }
}
