//! Bearer JWT validation, done by the function itself (in the cloud the HTTP API's JWT
//! authorizer checks the same tokens first; this keeps the function safe if a route is
//! ever exposed without it, and locally, where there is no authorizer).
//!
//! Two key sources:
//! - a JWKS (RS256), e.g. the Cognito user pool's, fetched at cold start;
//! - a shared secret (HS256), for local development and tests; `local-stack token`
//!   mints such tokens.
//!
//! Providers name their claims differently (Cognito access and ID tokens differ from
//! each other, Keycloak and Authing differ again), so a token is read as a map of
//! claims ([`ClaimSet`]) and the names that matter are configuration ([`ClaimNames`]):
//!
//! - who the caller is: the configured user claim (default `username`, which Cognito
//!   access tokens carry), else `cognito:username` (Cognito ID tokens), else `rep_id`
//!   (local tokens). For a rep this is their rep id. A token that grants a staff role
//!   but names no user is refused: falling back to `sub` would make a rep a stranger
//!   to their own leads;
//! - the roles: the configured roles claim (default `cognito:groups`), plus `roles` and
//!   `role` (local tokens);
//! - scopes are roles too (`…/conversions`: [`Role::Integration`], `…/exports`:
//!   [`Role::Exporter`]): that is all a machine client's token (client credentials)
//!   grants. Such a token names no user; its caller is `client_id`, else `sub`.

use domain::{assign::actions::Actor, assign::actions::Role};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("a bearer token is required")]
    Missing,
    #[error("the token is expired")]
    Expired,
    #[error("the token is invalid: {0}")]
    Invalid(String),
    /// A staff token without the claim that says who the user is.
    #[error("the token names no user: it has none of the claims {0}")]
    NoUser(String),
    #[error("the token carries no known role")]
    NoRole,
}

/// A token's claims as the issuer wrote them, by name.
pub type ClaimSet = Map<String, Value>;

/// The claims that name the caller and their roles. The defaults fit Cognito.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// The user's name, a rep's rep id (`JWT_REP_ID_CLAIM`): `username` in Cognito
    /// access tokens, `preferred_username` in Keycloak's.
    pub user: String,
    /// The user's roles (`JWT_ROLES_CLAIM`): `cognito:groups`; Keycloak and Authing
    /// commonly `groups` or `roles`. A dotted name that is not a claim itself is a path
    /// into nested claims (`realm_access.roles`).
    pub roles: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            user: "username".into(),
            roles: "cognito:groups".into(),
        }
    }
}

impl ClaimNames {
    /// The configured names, a default where one is not given.
    pub fn new(user: Option<String>, roles: Option<String>) -> Self {
        let default = Self::default();
        let given = |name: Option<String>| name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        Self {
            user: given(user).unwrap_or(default.user),
            roles: given(roles).unwrap_or(default.roles),
        }
    }
}

/// Where a user's name is looked for after the configured claim: Cognito ID tokens,
/// then local tokens.
const USER_FALLBACKS: [&str; 2] = ["cognito:username", "rep_id"];

/// Role claims read whatever is configured: local tokens write these.
const LOCAL_ROLE_CLAIMS: [&str; 2] = ["roles", "role"];

/// Scope suffixes that make a machine client a role, whatever the resource server's
/// name (`leadflow/conversions` in the template's user pool).
const MACHINE_SCOPES: [(&str, Role); 2] = [("/conversions", Role::Integration), ("/exports", Role::Exporter)];

/// The claims [`mint_hs256`] writes, for local development and tests. Tokens are read
/// as a [`ClaimSet`]; `other` holds any further claim a test wants to send.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    pub iss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Who the token names (for a rep, the rep id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rep_id: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

pub struct Verifier {
    keys: Vec<(Option<String>, DecodingKey, Algorithm)>,
    issuer: String,
    audience: Option<String>,
    names: ClaimNames,
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
            names: ClaimNames::default(),
        }
    }

    /// Also require `aud` (or Cognito's `client_id`) to be one of `audience`, a
    /// comma-separated list; `None` leaves the audience unchecked.
    pub fn with_audience(mut self, audience: Option<String>) -> Self {
        self.audience = audience;
        self
    }

    /// Read the user and the roles from these claims instead of Cognito's.
    pub fn with_claim_names(mut self, names: ClaimNames) -> Self {
        self.names = names;
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
            names: ClaimNames::default(),
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
        let claims = decode::<ClaimSet>(token, key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid(e.to_string()),
            })?
            .claims;
        if let Some(audience) = &self.audience {
            // A comma-separated list: the staff app client and the machine client.
            let allowed: Vec<&str> = audience.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
            let mut named = strings(claims.get("aud")).chain(strings(claims.get("client_id")));
            if !named.any(|id| allowed.contains(&id)) {
                return Err(AuthError::Invalid("the token is for another audience".into()));
            }
        }
        self.caller(&claims)
    }

    /// Who a verified token names, and as what.
    fn caller(&self, claims: &ClaimSet) -> Result<Actor, AuthError> {
        let staff: Vec<Role> = std::iter::once(self.names.roles.as_str())
            .chain(LOCAL_ROLE_CLAIMS)
            .flat_map(|name| strings(claim(claims, name)))
            .flat_map(|value| value.split(|c: char| c == ',' || c.is_whitespace()))
            .filter_map(role)
            .collect();
        let machine = strings(claims.get("scope"))
            .flat_map(str::split_whitespace)
            .filter_map(|scope| {
                MACHINE_SCOPES
                    .iter()
                    .find(|(suffix, _)| scope.ends_with(suffix))
                    .map(|(_, role)| *role)
            });
        let mut roles = Vec::new();
        for role in staff.iter().copied().chain(machine) {
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        if roles.is_empty() {
            return Err(AuthError::NoRole);
        }
        let user = std::iter::once(self.names.user.as_str())
            .chain(USER_FALLBACKS)
            .find_map(|name| {
                claim(claims, name)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|user| !user.is_empty())
            });
        let id = match user {
            Some(user) => user,
            // A machine client (client credentials): no user, only scopes.
            None if staff.is_empty() => strings(claims.get("client_id"))
                .chain(strings(claims.get("sub")))
                .next()
                .ok_or_else(|| AuthError::Invalid("the token names no client".into()))?,
            None => {
                let names: Vec<String> = std::iter::once(self.names.user.as_str())
                    .chain(USER_FALLBACKS)
                    .map(|name| format!("`{name}`"))
                    .collect();
                return Err(AuthError::NoUser(names.join(", ")));
            }
        };
        Ok(Actor {
            id: id.to_string(),
            roles,
        })
    }
}

/// The claim `name`, or, for a dotted name that is no claim itself, the nested value
/// it leads to (`realm_access.roles`).
fn claim<'c>(claims: &'c ClaimSet, name: &str) -> Option<&'c Value> {
    claims.get(name).or_else(|| {
        let mut path = name.split('.');
        let first = claims.get(path.next()?)?;
        path.try_fold(first, |value, key| value.get(key))
    })
}

/// A claim's strings: the claim itself if it is one, or the strings of an array.
fn strings(value: Option<&Value>) -> impl Iterator<Item = &str> {
    let (one, many) = match value {
        Some(Value::String(s)) => (Some(s.as_str()), None),
        Some(Value::Array(items)) => (None, Some(items.iter().filter_map(Value::as_str))),
        _ => (None, None),
    };
    one.into_iter().chain(many.into_iter().flatten())
}

/// A role by name, any case; a top-level group's path (`/marketing`, as Keycloak's group
/// mapper writes it) names the group. Unknown names are no role.
fn role(name: &str) -> Option<Role> {
    let name = name
        .strip_prefix('/')
        .filter(|rest| !rest.contains('/'))
        .unwrap_or(name);
    serde_json::from_value(Value::String(name.to_lowercase())).ok()
}

/// A role as tokens and `x-leadflow-roles` name it.
fn role_name(role: Role) -> String {
    serde_json::to_value(role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A shared-secret token for local development and tests: `subject` is the user (for
/// a rep, the rep id), in `sub` and `rep_id`.
pub fn mint_hs256(secret: &str, issuer: &str, subject: &str, roles: &[Role], ttl_seconds: i64) -> String {
    let claims = Claims {
        sub: subject.to_string(),
        exp: chrono::Utc::now().timestamp() + ttl_seconds,
        iss: issuer.to_string(),
        roles: roles.iter().copied().map(role_name).collect(),
        rep_id: Some(subject.to_string()),
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
    use serde_json::json;

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

    /// `claims` signed with the test secret, plus `iss` and a live `exp`.
    fn signed(mut claims: Value) -> String {
        claims["iss"] = json!(ISSUER);
        claims["exp"] = json!(chrono::Utc::now().timestamp() + 600);
        let token = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        format!("Bearer {token}")
    }

    fn actor(verifier: &Verifier, claims: Value) -> Result<Actor, AuthError> {
        verifier.actor(Some(&signed(claims)))
    }

    const SUB: &str = "5f1c2a8e-0b7d-4c1e-9a3b-2d6f0e8c4b71";

    #[test]
    fn cognito_access_and_id_tokens_name_the_same_rep() {
        let verifier = Verifier::hs256(SECRET, ISSUER).with_audience(Some("staff-client".into()));
        let access = json!({
            "sub": SUB, "token_use": "access", "client_id": "staff-client", "username": "bj-li",
            "cognito:groups": ["rep"], "scope": "openid email aws.cognito.signin.user.admin",
        });
        let id = json!({
            "sub": SUB, "token_use": "id", "aud": "staff-client", "cognito:username": "bj-li",
            "cognito:groups": ["rep"], "email": "li.na@example.com",
        });
        for (what, claims) in [("access", access), ("id", id)] {
            let got = actor(&verifier, claims).unwrap();
            assert_eq!(got.id, "bj-li", "{what} token");
            assert_eq!(got.roles, vec![Role::Rep], "{what} token");
        }
    }

    #[test]
    fn a_staff_token_naming_no_user_is_refused_not_taken_as_sub() {
        let verifier = Verifier::hs256(SECRET, ISSUER);
        let got = actor(&verifier, json!({"sub": SUB, "cognito:groups": ["rep"]}));
        assert_eq!(
            got,
            Err(AuthError::NoUser("`username`, `cognito:username`, `rep_id`".into()))
        );
        assert_eq!(
            got.unwrap_err().to_string(),
            "the token names no user: it has none of the claims `username`, `cognito:username`, `rep_id`"
        );
        // An empty name is none; scopes do not make a staff token a machine's.
        let empty = json!({"sub": SUB, "username": " ", "roles": ["admin"], "scope": "leadflow/conversions"});
        assert!(matches!(actor(&verifier, empty), Err(AuthError::NoUser(_))));
        let fallback = json!({"sub": SUB, "username": "", "rep_id": "bj-li", "roles": ["rep"]});
        assert_eq!(actor(&verifier, fallback).unwrap().id, "bj-li");
    }

    #[test]
    fn configured_claims_read_keycloak_and_authing_tokens() {
        let keycloak = Verifier::hs256(SECRET, ISSUER).with_claim_names(ClaimNames::new(
            Some("preferred_username".into()),
            Some("groups".into()),
        ));
        let token = json!({
            "sub": SUB, "azp": "leadflow", "aud": ["account", "leadflow"],
            "preferred_username": "bj-li", "groups": ["/marketing", "/offline-events/rep", "Manager"],
        });
        let got = actor(&keycloak, token.clone()).unwrap();
        assert_eq!(got.id, "bj-li");
        assert_eq!(
            got.roles,
            vec![Role::Marketing, Role::Manager],
            "a top-level group path names its group; a nested one does not"
        );
        // An array audience is checked like a single one.
        let checked = Verifier::hs256(SECRET, ISSUER).with_claim_names(ClaimNames::new(
            Some("preferred_username".into()),
            Some("groups".into()),
        ));
        assert!(actor(&checked.with_audience(Some("leadflow".into())), token).is_ok());

        // Realm roles, nested; a Cognito-shaped token is no user under this configuration.
        let realm = Verifier::hs256(SECRET, ISSUER).with_claim_names(ClaimNames::new(
            Some("preferred_username".into()),
            Some("realm_access.roles".into()),
        ));
        let token =
            json!({"sub": SUB, "preferred_username": "cfo", "realm_access": {"roles": ["offline_access", "finance"]}});
        assert_eq!(actor(&realm, token).unwrap().roles, vec![Role::Finance]);
        let cognito = json!({"sub": SUB, "username": "bj-li", "realm_access": {"roles": ["rep"]}});
        assert!(matches!(actor(&realm, cognito), Err(AuthError::NoUser(_))));

        // Roles as one string, space- or comma-separated.
        let authing = Verifier::hs256(SECRET, ISSUER).with_claim_names(ClaimNames::new(None, Some("roles".into())));
        let got = actor(
            &authing,
            json!({"sub": SUB, "username": "ops-lin", "roles": "manager, Marketing"}),
        )
        .unwrap();
        assert_eq!(got.roles, vec![Role::Manager, Role::Marketing]);

        // Unset or blank configuration is the default.
        assert_eq!(ClaimNames::new(None, Some(" ".into())), ClaimNames::default());
    }

    #[test]
    fn machine_scopes_are_narrow_roles_and_the_client_is_the_caller() {
        let verifier = Verifier::hs256(SECRET, ISSUER).with_audience(Some("staff-client,crm-client".into()));
        let machine = |scope: &str| json!({"sub": "crm-client", "client_id": "crm-client", "token_use": "access", "scope": scope});
        let got = actor(&verifier, machine("leadflow/conversions")).unwrap();
        assert_eq!((got.id.as_str(), got.roles), ("crm-client", vec![Role::Integration]));
        let got = actor(&verifier, machine("leadflow/exports")).unwrap();
        assert_eq!((got.id.as_str(), got.roles), ("crm-client", vec![Role::Exporter]));
        let got = actor(&verifier, machine("leadflow/exports leadflow/conversions")).unwrap();
        assert_eq!(got.roles, vec![Role::Exporter, Role::Integration]);
        assert_eq!(actor(&verifier, machine("leadflow/leads")), Err(AuthError::NoRole));
        // Without `client_id` the client is `sub`.
        let open = Verifier::hs256(SECRET, ISSUER);
        let got = actor(&open, json!({"sub": "finance-etl", "scope": "leadflow/exports"})).unwrap();
        assert_eq!(got.id, "finance-etl");
    }
}
