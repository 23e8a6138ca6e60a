//! Tenant tokens: a JWT (HS256) that a coach app signs with one of its API
//! key's secret, without calling the service, to hand one client's app a
//! short-lived credential. Claims: `apiKeyUid` (the signing key), `users`
//! (a subset of that key's users, or `["*"]` when the key has `["*"]`) and
//! `exp` (required). The token gets its key's actions for the users it
//! names, never more than its key.
//!
//! Validation is pure given the key and its secret: the caller finds the
//! key by [`key_uid`] (read before the signature is checked, to know which
//! secret checks it) and passes the clock in.

use crate::domain::UserId;
use crate::domain::access::{ApiKey, ApiSecret, KeyUid, Rights, Scope};
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claims of a tenant token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantClaims {
    pub api_key_uid: String,
    pub users: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the tenant token is malformed: {0}")]
    Malformed(String),
    #[error("the tenant token's signature does not match its key")]
    BadSignature,
    #[error("the tenant token is signed by an unknown or deleted key")]
    UnknownKey,
    #[error("the tenant token has expired")]
    Expired,
    #[error("the key that signed the tenant token has expired")]
    KeyExpired,
    #[error("the tenant token names users its key does not cover")]
    UsersBeyondKey,
}

/// Whether a bearer value is shaped like a JWT (three dot-separated parts)
/// rather than a key.
pub fn looks_like_token(bearer: &str) -> bool {
    bearer.bytes().filter(|b| *b == b'.').count() == 2
}

/// The uid of the key a token claims to be signed by, read without
/// checking the signature (which needs that key's secret).
pub fn key_uid(token: &str) -> Result<KeyUid, TokenError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Uid {
        api_key_uid: String,
    }
    let claims: Uid = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|e| TokenError::Malformed(e.to_string()))?;
    claims
        .api_key_uid
        .parse()
        .map_err(|_| TokenError::Malformed("apiKeyUid is not a key uid".into()))
}

/// Checks `token` against the key it names and returns the rights it grants.
pub fn verify(
    token: &str,
    key: &ApiKey,
    secret: &ApiSecret,
    now: DateTime<Utc>,
) -> Result<Rights, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    // `exp` must be present; it is compared below with the caller's clock.
    validation.validate_exp = false;
    validation.leeway = 0;
    let decoding = DecodingKey::from_secret(secret.as_str().as_bytes())
        .map_err(|e| TokenError::Malformed(e.to_string()))?;
    let claims = jsonwebtoken::decode::<TenantClaims>(token, &decoding, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            _ => TokenError::Malformed(e.to_string()),
        })?
        .claims;
    if claims.api_key_uid != key.uid.to_string() {
        return Err(TokenError::UnknownKey);
    }
    if claims.exp <= now.timestamp() {
        return Err(TokenError::Expired);
    }
    if key.is_expired(now) {
        return Err(TokenError::KeyExpired);
    }
    let users = Scope::from_strings(&claims.users, |s| s.parse::<UserId>().ok())
        .filter(|u| *u != Scope::Only(Default::default()))
        .ok_or_else(|| {
            TokenError::Malformed("users must be a non-empty list of userIds or [\"*\"]".into())
        })?;
    if !users.is_subset_of(&key.users) {
        return Err(TokenError::UsersBeyondKey);
    }
    Ok(key.rights().narrowed_to(&users))
}

/// Signs a tenant token, as a coach app does (tests and the documentation).
/// `secret` must not be empty.
pub fn mint(claims: &TenantClaims, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).expect("a non-empty secret");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key)
        .expect("HS256 signs with any secret")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::requests::NewKey;
    use crate::domain::access::{Action, MasterKey};

    const A: &str = "665f1c2b8a1e4d0012345678";
    const B: &str = "665f1c2b8a1e4d0087654321";

    fn key(users: Scope<UserId>) -> (ApiKey, ApiSecret) {
        let master = MasterKey::new("master-key-for-the-token-tests").unwrap();
        ApiKey::issue(
            NewKey {
                name: "coach".into(),
                description: None,
                actions: Scope::only([Action::WorkoutsRead, Action::PrsRead]),
                users,
                expires_at: None,
            },
            &master,
            Utc::now(),
        )
    }

    fn claims(key: &ApiKey, users: &[&str], exp: i64) -> TenantClaims {
        TenantClaims {
            api_key_uid: key.uid.to_string(),
            users: users.iter().map(|u| u.to_string()).collect(),
            exp,
        }
    }

    fn user(s: &str) -> UserId {
        s.parse().unwrap()
    }

    #[test]
    fn a_token_gets_its_keys_actions_for_its_own_users() {
        let now = Utc::now();
        let (key, secret) = key(Scope::only([user(A), user(B)]));
        let token = mint(&claims(&key, &[A], now.timestamp() + 60), secret.as_str());
        assert!(looks_like_token(&token));
        assert_eq!(key_uid(&token), Ok(key.uid));
        let rights = verify(&token, &key, &secret, now).unwrap();
        assert!(rights.covers(user(A)) && !rights.covers(user(B)));
        assert!(rights.allows(Action::PrsRead) && !rights.allows(Action::WorkoutsCreate));

        let (all, secret) = self::key(Scope::All);
        let token = mint(&claims(&all, &["*"], now.timestamp() + 60), secret.as_str());
        assert_eq!(
            verify(&token, &all, &secret, now).unwrap().users,
            Scope::All
        );
    }

    #[test]
    fn a_token_cannot_reach_beyond_its_key() {
        let now = Utc::now();
        let (key, secret) = key(Scope::only([user(A)]));
        for users in [&[B][..], &[A, B], &["*"]] {
            let token = mint(&claims(&key, users, now.timestamp() + 60), secret.as_str());
            assert_eq!(
                verify(&token, &key, &secret, now),
                Err(TokenError::UsersBeyondKey),
                "{users:?}"
            );
        }
        let token = mint(&claims(&key, &[], now.timestamp() + 60), secret.as_str());
        assert!(matches!(
            verify(&token, &key, &secret, now),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn expired_tampered_or_foreign_tokens_are_refused() {
        let now = Utc::now();
        let (key, secret) = key(Scope::All);
        let expired = mint(&claims(&key, &[A], now.timestamp()), secret.as_str());
        assert_eq!(
            verify(&expired, &key, &secret, now),
            Err(TokenError::Expired)
        );

        let good = mint(&claims(&key, &[A], now.timestamp() + 60), secret.as_str());
        // Another user in the payload, the signature kept.
        let forged_payload = mint(&claims(&key, &[B], now.timestamp() + 60), "whatever");
        let mut parts: Vec<&str> = good.split('.').collect();
        let forged_claims = forged_payload.split('.').nth(1).unwrap();
        parts[1] = forged_claims;
        assert_eq!(
            verify(&parts.join("."), &key, &secret, now),
            Err(TokenError::BadSignature)
        );

        let (other, other_secret) = self::key(Scope::All);
        let signed_by_other = mint(
            &claims(&key, &[A], now.timestamp() + 60),
            other_secret.as_str(),
        );
        assert_eq!(
            verify(&signed_by_other, &key, &secret, now),
            Err(TokenError::BadSignature)
        );
        let claiming_other = mint(&claims(&other, &[A], now.timestamp() + 60), secret.as_str());
        assert_eq!(
            verify(&claiming_other, &key, &secret, now),
            Err(TokenError::UnknownKey)
        );

        let mut expired_key = key.clone();
        expired_key.expires_at = Some(now);
        assert_eq!(
            verify(&good, &expired_key, &secret, now),
            Err(TokenError::KeyExpired)
        );
    }

    #[test]
    fn only_hs256_with_every_claim_is_accepted() {
        let now = Utc::now();
        let (key, secret) = key(Scope::All);
        for token in [
            "a.b.c".to_string(),
            "not a token".to_string(),
            // alg "none", no signature.
            format!(
                "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
                mint(&claims(&key, &[A], now.timestamp() + 60), secret.as_str())
                    .split('.')
                    .nth(1)
                    .unwrap()
            ),
        ] {
            assert!(
                matches!(
                    verify(&token, &key, &secret, now),
                    Err(TokenError::Malformed(_))
                ),
                "{token}"
            );
        }
        assert!(matches!(key_uid("a.b.c"), Err(TokenError::Malformed(_))));
        // No exp claim.
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct NoExp {
            api_key_uid: String,
            users: Vec<String>,
        }
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &NoExp {
                api_key_uid: key.uid.to_string(),
                users: vec![A.into()],
            },
            &EncodingKey::from_secret(secret.as_str().as_bytes()).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            verify(&token, &key, &secret, now),
            Err(TokenError::Malformed(_))
        ));
    }
}
