//! Opaque, tamper-evident keyset cursors for history pagination.
//!
//! A cursor names the last (date, id) a page returned, bound to the query it
//! came from (user and filters) and signed with the server's key, so a client
//! can neither forge a position nor reuse a cursor with another query.
//!
//! Layout (base64url, no padding): version (1) | date ms (8, big endian) |
//! entry id (12) | scope fingerprint (8) | HMAC-SHA256 truncated (16).

use super::EntryId;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const PAYLOAD_LEN: usize = 1 + 8 + 12 + 8;
const MAC_LEN: usize = 16;

/// The secret cursors are signed with.
#[derive(Clone)]
pub struct CursorKey(Vec<u8>);

impl CursorKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.to_vec())
    }

    fn mac(&self, payload: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

/// Where the next page starts: strictly after this (date, id) in newest-first order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorPosition {
    pub date: DateTime<Utc>,
    pub id: EntryId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("cursor is malformed")]
    Malformed,
    #[error("cursor has been tampered with or was issued by another server")]
    Tampered,
    #[error("cursor belongs to a different userId or different filters")]
    WrongQuery,
}

fn fingerprint(scope: &str) -> [u8; 8] {
    let digest = Sha256::digest(scope.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// Encodes a position for the query described by `scope`.
pub fn encode(key: &CursorKey, scope: &str, position: CursorPosition) -> String {
    let mut bytes = Vec::with_capacity(PAYLOAD_LEN + MAC_LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(&position.date.timestamp_millis().to_be_bytes());
    bytes.extend_from_slice(&position.id.bytes());
    bytes.extend_from_slice(&fingerprint(scope));
    let mac = key.mac(&bytes);
    bytes.extend_from_slice(&mac);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a cursor, checking its signature and that it belongs to `scope`.
pub fn decode(key: &CursorKey, scope: &str, token: &str) -> Result<CursorPosition, CursorError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .map_err(|_| CursorError::Malformed)?;
    if bytes.len() != PAYLOAD_LEN + MAC_LEN || bytes[0] != VERSION {
        return Err(CursorError::Malformed);
    }
    let (payload, mac) = bytes.split_at(PAYLOAD_LEN);
    // Constant-time comparison through the hmac crate.
    let mut verifier = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes any key length");
    verifier.update(payload);
    verifier
        .verify_truncated_left(mac)
        .map_err(|_| CursorError::Tampered)?;
    if payload[21..29] != fingerprint(scope) {
        return Err(CursorError::WrongQuery);
    }
    let millis = i64::from_be_bytes(payload[1..9].try_into().expect("8 bytes"));
    let date = DateTime::from_timestamp_millis(millis).ok_or(CursorError::Malformed)?;
    let id = EntryId::from_bytes(payload[9..21].try_into().expect("12 bytes"));
    Ok(CursorPosition { date, id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn pos() -> CursorPosition {
        CursorPosition {
            date: Utc.with_ymd_and_hms(2026, 6, 9, 0, 0, 0).unwrap(),
            id: "665f1c2b8a1e4d0012345678".parse().unwrap(),
        }
    }

    #[test]
    fn round_trips() {
        let key = CursorKey::new(b"secret");
        let token = encode(&key, "u1|bench", pos());
        assert!(token.len() < 80 && !token.contains('='));
        assert_eq!(decode(&key, "u1|bench", &token), Ok(pos()));
    }

    #[test]
    fn refuses_other_scopes_keys_and_garbage() {
        let key = CursorKey::new(b"secret");
        let token = encode(&key, "u1|bench", pos());
        assert_eq!(
            decode(&key, "u2|bench", &token),
            Err(CursorError::WrongQuery)
        );
        assert_eq!(
            decode(&CursorKey::new(b"other"), "u1|bench", &token),
            Err(CursorError::Tampered)
        );
        assert_eq!(
            decode(&key, "u1|bench", "not a cursor!"),
            Err(CursorError::Malformed)
        );
        assert_eq!(decode(&key, "u1|bench", ""), Err(CursorError::Malformed));
        assert_eq!(
            decode(&key, "u1|bench", &token[..token.len() - 2]),
            Err(CursorError::Malformed)
        );
    }

    #[test]
    fn any_flipped_bit_is_detected() {
        let key = CursorKey::new(b"secret");
        let token = encode(&key, "s", pos());
        let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 1..bytes.len() {
            let mut forged = bytes.clone();
            forged[i] ^= 0x01;
            let forged = URL_SAFE_NO_PAD.encode(forged);
            assert!(decode(&key, "s", &forged).is_err(), "byte {i}");
        }
    }
}
