//! API keys: the stored record, and the secret derived from the master key.
//!
//! As in Meilisearch, a key's secret is `HMAC-SHA256(master key, uid)` in
//! hex: it is never stored, only its SHA-256 (to find the key by the secret
//! a request presents). A database dump therefore yields no usable key, and
//! changing the master key invalidates every key at once.

use super::requests::{KeyPatch, NewKey};
use super::{Action, Rights, Scope};
use crate::domain::UserId;
use chrono::{DateTime, SubsecRound, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use subtle::ConstantTimeEq;

/// A key's public identifier (a UUID v4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyUid(uuid::Uuid);

impl KeyUid {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4())
    }
}

impl FromStr for KeyUid {
    type Err = InvalidKeyUid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Only the canonical hyphenated form, so one key has one spelling.
        if s.len() != 36 {
            return Err(InvalidKeyUid);
        }
        let uid = uuid::Uuid::parse_str(s).map_err(|_| InvalidKeyUid)?;
        if uid.hyphenated().to_string() == s {
            Ok(Self(uid))
        } else {
            Err(InvalidKeyUid)
        }
    }
}

impl fmt::Display for KeyUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidKeyUid;

impl fmt::Display for InvalidKeyUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("must be a key uid (a lower-case hyphenated UUID)")
    }
}

impl std::error::Error for InvalidKeyUid {}

/// The SHA-256 of a key's secret, in hex: what the store keeps.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyHash(pub String);

/// A key's secret: what clients send as `Authorization: Bearer`. Shown once,
/// when the key is created; never stored, never logged.
#[derive(Clone)]
pub struct ApiSecret(String);

/// Length of a secret: 32 bytes in hex.
pub const SECRET_HEX_LEN: usize = 64;

impl ApiSecret {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> KeyHash {
        hash_presented(&self.0)
    }

    /// Whether `presented` is this secret, in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }

    /// Whether `presented` has the shape of a secret (64 lower-case hex).
    pub fn is_well_formed(presented: &str) -> bool {
        presented.len() == SECRET_HEX_LEN
            && presented
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiSecret(..)")
    }
}

/// The hash under which the key of `presented` would be stored.
pub fn hash_presented(presented: &str) -> KeyHash {
    KeyHash(hex(&Sha256::digest(presented.as_bytes())))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The master key (`MASTER_KEY`): grants everything and derives every
/// key's secret.
#[derive(Clone)]
pub struct MasterKey(Vec<u8>);

impl MasterKey {
    pub const MIN_BYTES: usize = 16;

    pub fn new(raw: &str) -> Result<Self, String> {
        if raw.len() < Self::MIN_BYTES {
            return Err(format!(
                "must be at least {} bytes (got {})",
                Self::MIN_BYTES,
                raw.len()
            ));
        }
        Ok(Self(raw.as_bytes().to_vec()))
    }

    /// The secret of the key `uid`.
    pub fn secret_for(&self, uid: KeyUid) -> ApiSecret {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(uid.to_string().as_bytes());
        ApiSecret(hex(&mac.finalize().into_bytes()))
    }

    /// Whether `presented` is the master key. Digests are compared, in
    /// constant time, so neither content nor length leaks through timing.
    pub fn matches(&self, presented: &str) -> bool {
        Sha256::digest(&self.0)
            .ct_eq(&Sha256::digest(presented.as_bytes()))
            .into()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// An API key as stored (no secret, only its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub uid: KeyUid,
    pub name: String,
    pub description: Option<String>,
    pub actions: Scope<Action>,
    pub users: Scope<UserId>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub key_hash: KeyHash,
}

impl ApiKey {
    /// A new key and its secret (the only time the secret exists outside a
    /// request that presents it).
    pub fn issue(new: NewKey, master: &MasterKey, now: DateTime<Utc>) -> (ApiKey, ApiSecret) {
        // Stores keep milliseconds.
        let now = now.trunc_subsecs(3);
        let uid = KeyUid::generate();
        let secret = master.secret_for(uid);
        let key = ApiKey {
            uid,
            name: new.name,
            description: new.description,
            actions: new.actions,
            users: new.users,
            expires_at: new.expires_at.map(|t| t.trunc_subsecs(3)),
            created_at: now,
            updated_at: now,
            key_hash: secret.hash(),
        };
        (key, secret)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    pub fn rights(&self) -> Rights {
        Rights {
            actions: self.actions.clone(),
            users: self.users.clone(),
        }
    }

    /// Applies an update (only name, description and users may change).
    pub fn apply(&mut self, patch: KeyPatch, now: DateTime<Utc>) {
        if let Some(name) = patch.name {
            self.name = name;
        }
        if let Some(description) = patch.description {
            self.description = description;
        }
        if let Some(users) = patch.users {
            self.users = users;
        }
        self.updated_at = now.trunc_subsecs(3);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey::new("a-master-key-of-32-bytes-or-more!").unwrap()
    }

    #[test]
    fn secrets_derive_from_the_master_key_and_the_uid() {
        let uid = KeyUid::generate();
        let secret = master().secret_for(uid);
        assert!(ApiSecret::is_well_formed(secret.as_str()));
        assert_eq!(secret.as_str(), master().secret_for(uid).as_str());
        assert_ne!(
            secret.as_str(),
            master().secret_for(KeyUid::generate()).as_str()
        );
        let other_master = MasterKey::new("another-master-key-0123456789").unwrap();
        assert_ne!(secret.as_str(), other_master.secret_for(uid).as_str());
        assert!(secret.matches(secret.as_str()));
        assert!(!secret.matches(&secret.as_str()[1..]));
    }

    #[test]
    fn the_hash_is_sha256_of_the_secret_and_reveals_nothing_of_it() {
        let secret = master().secret_for(KeyUid::generate());
        let hash = secret.hash();
        assert_eq!(hash, hash_presented(secret.as_str()));
        assert_eq!(hash.0.len(), 64);
        assert_ne!(hash.0, secret.as_str());
        // A known vector: SHA-256("abc").
        assert_eq!(
            hash_presented("abc").0,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_master_key_is_checked_whole_and_must_be_long_enough() {
        assert!(MasterKey::new("short").is_err());
        assert!(MasterKey::new("exactly-16-bytes").is_ok());
        let m = master();
        assert!(m.matches("a-master-key-of-32-bytes-or-more!"));
        assert!(!m.matches("a-master-key-of-32-bytes-or-more"));
        assert!(!m.matches(""));
        assert_eq!(format!("{m:?}"), "MasterKey(..)");
        let secret = m.secret_for(KeyUid::generate());
        assert_eq!(format!("{secret:?}"), "ApiSecret(..)");
    }

    #[test]
    fn secrets_have_one_shape() {
        assert!(ApiSecret::is_well_formed(&"a1".repeat(32)));
        assert!(!ApiSecret::is_well_formed(&"A1".repeat(32)));
        assert!(!ApiSecret::is_well_formed(&"a1".repeat(31)));
        assert!(!ApiSecret::is_well_formed("x.y.z"));
    }

    #[test]
    fn uids_have_one_spelling() {
        let uid = KeyUid::generate();
        assert_eq!(uid.to_string().parse::<KeyUid>(), Ok(uid));
        assert!(uid.to_string().to_uppercase().parse::<KeyUid>().is_err());
        assert!(uid.to_string().replace('-', "").parse::<KeyUid>().is_err());
        assert!("nope".parse::<KeyUid>().is_err());
    }

    #[test]
    fn keys_expire_at_their_instant() {
        let now = Utc::now();
        let new = NewKey {
            name: "coach app".into(),
            description: None,
            actions: Scope::All,
            users: Scope::All,
            expires_at: Some(now + chrono::Duration::seconds(10)),
        };
        let (mut key, secret) = ApiKey::issue(new, &master(), now);
        assert_eq!(key.key_hash, secret.hash());
        assert!(!key.is_expired(now));
        assert!(key.is_expired(now + chrono::Duration::seconds(10)));
        key.expires_at = None;
        assert!(!key.is_expired(now + chrono::Duration::days(10_000)));
    }
}
