//! Who is calling: the `Authorization` header resolved to an [`Access`]
//! (the master key, an API key, or a tenant token), or the refusal.

use super::tenant::{self, TokenError};
use super::{Access, Caller, Protection, Security};
use crate::domain::access::keys::hash_presented;
use crate::domain::access::{ApiSecret, MasterKey, Rights};
use crate::http::error::{ApiError, Code};
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};

/// What the `Authorization` header holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented<'a> {
    Missing,
    /// Present but not `Bearer <value>`.
    Malformed,
    Bearer(&'a str),
}

pub fn presented(headers: &HeaderMap) -> Presented<'_> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Presented::Missing;
    };
    let Ok(text) = value.to_str() else {
        return Presented::Malformed;
    };
    match text.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
            let bearer = rest.trim();
            if bearer.is_empty() {
                Presented::Malformed
            } else {
                Presented::Bearer(bearer)
            }
        }
        _ => Presented::Malformed,
    }
}

fn invalid_key() -> ApiError {
    ApiError::denied(
        Code::InvalidApiKey,
        "The API key is invalid: send `Authorization: Bearer <key>` with a key that exists",
    )
}

fn expired_key() -> ApiError {
    ApiError::denied(Code::ExpiredApiKey, "The API key has expired")
}

fn token_error(e: TokenError) -> ApiError {
    match e {
        TokenError::Expired => {
            ApiError::denied(Code::ExpiredTenantToken, "The tenant token has expired")
        }
        TokenError::KeyExpired => expired_key(),
        other => ApiError::denied(
            Code::InvalidTenantToken,
            format!("The tenant token is invalid: {other}"),
        ),
    }
}

/// Resolves the request's credentials; refuses with 401 or 403.
pub async fn resolve(
    security: &Security,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Access, ApiError> {
    let master = match &security.protection {
        Protection::Open => {
            return Ok(Access {
                caller: Caller::Anonymous,
                rights: Rights::everything(),
            });
        }
        Protection::Keys(master) => master,
    };
    let bearer = match presented(headers) {
        Presented::Missing => {
            return Err(ApiError::denied(
                Code::MissingAuthorizationHeader,
                "The Authorization header is missing: send `Authorization: Bearer <key>`",
            ));
        }
        Presented::Malformed => return Err(invalid_key()),
        Presented::Bearer(b) => b,
    };
    if master.matches(bearer) {
        return Ok(Access {
            caller: Caller::Master,
            rights: Rights::everything(),
        });
    }
    if tenant::looks_like_token(bearer) {
        return tenant_access(security, master, bearer, now).await;
    }
    if !ApiSecret::is_well_formed(bearer) {
        return Err(invalid_key());
    }
    let Some(key) = security.keys.key_by_hash(&hash_presented(bearer)).await? else {
        return Err(invalid_key());
    };
    // The hash found the key; the secret must also derive from the current
    // master key, so rotating the master key retires every key.
    if !master.secret_for(key.uid).matches(bearer) {
        return Err(invalid_key());
    }
    if key.is_expired(now) {
        return Err(expired_key());
    }
    Ok(Access {
        caller: Caller::Key(key.uid),
        rights: key.rights(),
    })
}

async fn tenant_access(
    security: &Security,
    master: &MasterKey,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Access, ApiError> {
    let uid = tenant::key_uid(token).map_err(token_error)?;
    let Some(key) = security.keys.key_by_uid(uid).await? else {
        return Err(token_error(TokenError::UnknownKey));
    };
    let rights = tenant::verify(token, &key, &master.secret_for(uid), now).map_err(token_error)?;
    Ok(Access {
        caller: Caller::TenantToken(uid),
        rights,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn only_bearer_credentials_are_read() {
        assert_eq!(presented(&HeaderMap::new()), Presented::Missing);
        assert_eq!(presented(&with("Bearer abc")), Presented::Bearer("abc"));
        assert_eq!(presented(&with("bearer  abc ")), Presented::Bearer("abc"));
        for bad in ["Basic abc", "Bearer", "Bearer ", "abc", "Token abc"] {
            assert_eq!(presented(&with(bad)), Presented::Malformed, "{bad}");
        }
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert_eq!(presented(&h), Presented::Malformed);
    }
}
