//! How a handler declares what its route needs.
//!
//! `Authorized<needs::X>` among a handler's arguments refuses the request
//! (403 `action_not_allowed`) unless the caller's rights include action X;
//! the handler then calls [`Authorized::check_user`] with the client the
//! request is about (403 `user_not_allowed` outside the caller's users).
//! [`MasterOnly`] admits the master key alone (key management).

use super::{Access, Caller};
use crate::domain::UserId;
use crate::domain::access::Needs;
use crate::http::error::{ApiError, Code};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::marker::PhantomData;

fn access(parts: &Parts) -> Result<Access, ApiError> {
    parts.extensions.get::<Access>().cloned().ok_or_else(|| {
        // A route with an access extractor but outside the `authenticate`
        // layer: a wiring bug, refused loudly rather than let through.
        ApiError::Internal(anyhow::anyhow!(
            "{} is not behind the authentication layer",
            parts.uri.path()
        ))
    })
}

/// A caller allowed action `A`.
#[derive(Debug, Clone)]
pub struct Authorized<A: Needs> {
    pub access: Access,
    _action: PhantomData<A>,
}

impl<A: Needs> Authorized<A> {
    /// Refuses unless the caller may act for `user`.
    pub fn check_user(&self, user: UserId) -> Result<(), ApiError> {
        if self.access.rights.covers(user) {
            Ok(())
        } else {
            Err(ApiError::denied(
                Code::UserNotAllowed,
                format!("This key is not allowed to access client {user}"),
            ))
        }
    }
}

impl<A: Needs, S: Send + Sync> FromRequestParts<S> for Authorized<A> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let access = access(parts)?;
        if !access.rights.allows(A::ACTION) {
            return Err(ApiError::denied(
                Code::ActionNotAllowed,
                format!("This key does not allow `{}`", A::ACTION),
            ));
        }
        Ok(Self {
            access,
            _action: PhantomData,
        })
    }
}

/// The master key, and only it.
#[derive(Debug, Clone, Copy)]
pub struct MasterOnly;

impl<S: Send + Sync> FromRequestParts<S> for MasterOnly {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match access(parts)?.caller {
            Caller::Master => Ok(MasterOnly),
            Caller::Anonymous => Err(ApiError::denied(
                Code::MasterKeyNotSet,
                "API keys need a master key: start the server with MASTER_KEY set",
            )),
            Caller::Key(_) | Caller::TenantToken(_) => Err(ApiError::denied(
                Code::MasterKeyRequired,
                "Managing API keys needs the master key",
            )),
        }
    }
}
