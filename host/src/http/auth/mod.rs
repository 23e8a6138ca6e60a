//! Access control: who may call which route for which clients, and how often.
//!
//! - `credentials`: the `Authorization` header resolved to an [`Access`]
//!   (master key, API key, tenant token), or a 401/403.
//! - `tenant`: tenant tokens (JWT) checked against their key.
//! - `extract`: `Authorized<needs::X>` and `MasterOnly`, how a handler
//!   declares the action its route needs and checks the client.
//! - `rate_limit`: one bucket per key (per address when unauthenticated).
//! - `headers`: CORS and the security headers.
//!
//! With no master key (development only) every request is allowed; the
//! limits still apply, per client address (except this machine's).

pub mod credentials;
pub mod extract;
pub mod headers;
pub mod rate_limit;
pub mod tenant;

pub use extract::{Authorized, MasterOnly};

use super::context::AppContext;
use super::error::ApiError;
use crate::domain::access::{KeyUid, MasterKey, Rights};
use crate::store::ApiKeyStore;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use headers::CorsOrigins;
use rate_limit::{RateLimit, rate_key};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// Whether requests must present credentials.
#[derive(Debug, Clone)]
pub enum Protection {
    /// No master key: every request is allowed (development only).
    Open,
    /// Keys required; the master key grants everything and derives them.
    Keys(MasterKey),
}

/// The access-control settings and the key store, built once at start-up.
pub struct Security {
    pub protection: Protection,
    pub keys: Arc<dyn ApiKeyStore>,
    /// `None`: no rate limit.
    pub rate_limit: Option<RateLimit>,
    pub cors: CorsOrigins,
}

/// Who made a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No master key is set: nobody is identified.
    Anonymous,
    Master,
    Key(KeyUid),
    /// A tenant token signed by this key.
    TenantToken(KeyUid),
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Anonymous => f.write_str("anonymous"),
            Caller::Master => f.write_str("master"),
            Caller::Key(uid) => write!(f, "key:{uid}"),
            Caller::TenantToken(uid) => write!(f, "token:{uid}"),
        }
    }
}

/// What the request may do; put in the request's extensions by
/// [`authenticate`] and read by the extractors.
#[derive(Debug, Clone)]
pub struct Access {
    pub caller: Caller,
    pub rights: Rights,
}

/// Identifies the caller, spends its rate budget, and passes the [`Access`]
/// on. The span records the caller (a key's uid, never a secret).
pub async fn authenticate(
    State(ctx): State<AppContext>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let security = &ctx.security;
    let access = credentials::resolve(security, request.headers(), chrono::Utc::now()).await?;
    tracing::Span::current().record("caller", tracing::field::display(access.caller));
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let (Some(limit), Some(key)) = (&security.rate_limit, rate_key(access.caller, peer)) {
        limit
            .check(&key)
            .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    }
    request.extensions_mut().insert(access);
    Ok(next.run(request).await)
}
