//! Bearer JWT validation, done by the function itself (in the cloud the HTTP API's JWT
//! authorizer checks the same tokens first; this keeps the function safe if a route is
//! ever exposed without it, and locally, where there is no authorizer).
//!
//! Two key sources:
//! - a JWKS (RS256), e.g. the Cognito user pool's, fetched at cold start;
//! - a shared secret (HS256), for local development and tests; `local-stack token`
//!   mints such tokens.
//!
//! Roles come from `roles` / `role` or Cognito's `cognito:groups`; the caller's id from
//! `rep_id`, else `username` (Cognito access tokens), else `sub`.

use domain::{assign::actions::Actor, assign::actions::Role};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("a bearer token is required")]
    Missing,
    #[error("the token is expired")]
    Expired,
    #[error("the token is invalid: {0}")]
    Invalid(String),
    #[error("the token carries no known role")]
    NoRole,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    #[serde(default)]
    pub iss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Cognito access tokens name the app client here instead of `aud`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, rename = "cognito:groups", skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rep_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// OAuth scopes (Cognito client-credentials tokens of machine clients carry these
    /// instead of groups): `leadflow/conversions` makes the caller an integration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

pub struct Verifier {
    keys: Vec<(Option<String>, DecodingKey, Algorithm)>,
    issuer: String,
    audience: Option<String>,
}

impl Verifier {
    /// Shared-secret tokens (local development). An empty secret accepts nothing.
    pub fn hs256(secret: &str, issuer: &str) -> Self {
        let keys = if secret.is_empty() {
            Vec::new()
        } else {
            vec![(None, DecodingKey::from_secret(secret.as_bytes()), Algorithm::HS256)]
        };
        Self {
            keys,
            issuer: issuer.to_string(),
            audience: None,
        }
    }

    /// Also require `aud` (or Cognito's `client_id`) to be one of `audience`, a
    /// comma-separated list; `None` leaves the audience unchecked.
    pub fn with_audience(mut self, audience: Option<String>) -> Self {
        self.audience = audience;
        self
    }

    /// RS256 tokens signed by one of the issuer's published keys.
    pub fn from_jwks(jwks: &JwkSet, issuer: &str, audience: Option<String>) -> Result<Self, AuthError> {
        let mut keys = Vec::new();
        for jwk in &jwks.keys {
            let key = DecodingKey::from_jwk(jwk).map_err(|e| AuthError::Invalid(e.to_string()))?;
            keys.push((jwk.common.key_id.clone(), key, Algorithm::RS256));
        }
        Ok(Self {
            keys,
            issuer: issuer.to_string(),
            audience,
        })
    }

    /// The caller behind an `Authorization` header value.
    pub fn actor(&self, authorization: Option<&str>) -> Result<Actor, AuthError> {
        let token = authorization
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let header = decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let (_, key, algorithm) = self
            .keys
            .iter()
            .find(|(kid, _, alg)| *alg == header.alg && (kid.is_none() || *kid == header.kid))
            .ok_or_else(|| AuthError::Invalid("no key for this token's algorithm and key id".into()))?;
        let mut validation = Validation::new(*algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 30;
        // Checked below: Cognito access tokens carry `client_id`, not `aud`.
        validation.validate_aud = false;
        let claims = decode::<Claims>(token, key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid(e.to_string()),
            })?
            .claims;
        if let Some(audience) = &self.audience {
            // A comma-separated list: the staff app client and the machine client.
            let allowed = |id: &Option<String>| {
                id.as_deref()
                    .is_some_and(|id| audience.split(',').any(|a| a.trim() == id))
            };
            if !allowed(&claims.aud) && !allowed(&claims.client_id) {
                return Err(AuthError::Invalid("the token is for another audience".into()));
            }
        }
        let mut roles: Vec<Role> = claims
            .roles
            .iter()
            .chain(claims.role.iter())
            .chain(claims.groups.iter())
            .filter_map(|r| serde_json::from_value(serde_json::Value::String(r.to_lowercase())).ok())
            .collect();
        let machine = claims.scope.iter().flat_map(|s| s.split_whitespace());
        if machine.into_iter().any(|s| s.ends_with("/conversions")) && !roles.contains(&Role::Integration) {
            roles.push(Role::Integration);
        }
        if roles.is_empty() {
            return Err(AuthError::NoRole);
        }
        let id = claims.rep_id.or(claims.username).unwrap_or(claims.sub);
        Ok(Actor { id, roles })
    }
}

/// A shared-secret token for local development and tests.
pub fn mint_hs256(secret: &str, issuer: &str, subject: &str, roles: &[Role], ttl_seconds: i64) -> String {
    let claims = Claims {
        sub: subject.to_string(),
        exp: chrono::Utc::now().timestamp() + ttl_seconds,
        iss: issuer.to_string(),
        roles: roles
            .iter()
            .map(|r| {
                serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .collect(),
        ..Claims::default()
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing does not fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-secret";
    const ISSUER: &str = "leadflow-local";

    #[test]
    fn good_expired_forged_and_roleless_tokens() {
        let verifier = Verifier::hs256(SECRET, ISSUER);
        let good = mint_hs256(SECRET, ISSUER, "rep-zhang", &[Role::Rep], 600);
        let actor = verifier.actor(Some(&format!("Bearer {good}"))).unwrap();
        assert_eq!(actor.id, "rep-zhang");
        assert_eq!(actor.roles, vec![Role::Rep]);

        assert_eq!(verifier.actor(None), Err(AuthError::Missing));
        assert_eq!(verifier.actor(Some("Basic abc")), Err(AuthError::Missing));
        let expired = mint_hs256(SECRET, ISSUER, "rep-zhang", &[Role::Rep], -120);
        assert_eq!(
            verifier.actor(Some(&format!("Bearer {expired}"))),
            Err(AuthError::Expired)
        );
        let forged = mint_hs256("another-secret", ISSUER, "admin", &[Role::Admin], 600);
        assert!(matches!(
            verifier.actor(Some(&format!("Bearer {forged}"))),
            Err(AuthError::Invalid(_))
        ));
        let other_issuer = mint_hs256(SECRET, "someone-else", "admin", &[Role::Admin], 600);
        assert!(matches!(
            verifier.actor(Some(&format!("Bearer {other_issuer}"))),
            Err(AuthError::Invalid(_))
        ));
        let roleless = mint_hs256(SECRET, ISSUER, "nobody", &[], 600);
        assert_eq!(
            verifier.actor(Some(&format!("Bearer {roleless}"))),
            Err(AuthError::NoRole)
        );
        // A token whose signature was cut off, or altered claims under the old signature.
        let (head, _) = good.rsplit_once('.').unwrap();
        assert!(verifier.actor(Some(&format!("Bearer {head}."))).is_err());
        assert!(Verifier::hs256("", ISSUER)
            .actor(Some(&format!("Bearer {good}")))
            .is_err());
    }
}
