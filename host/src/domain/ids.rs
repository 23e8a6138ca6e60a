//! Identifiers: ObjectIds as 24 lower-case hex characters.

use bson::oid::ObjectId;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

macro_rules! object_id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub ObjectId);

        impl $name {
            pub fn bytes(&self) -> [u8; 12] {
                self.0.bytes()
            }
            pub fn from_bytes(bytes: [u8; 12]) -> Self {
                Self(ObjectId::from_bytes(bytes))
            }
            pub fn to_hex(&self) -> String {
                let mut hex = String::with_capacity(24);
                self.push_hex(&mut hex);
                hex
            }
            /// Appends the 24 hex characters to `out`: what a page of
            /// many ids is built with (bson's `to_hex` goes char by char).
            pub fn push_hex(&self, out: &mut String) {
                push_hex(&self.bytes(), out);
            }
        }

        impl FromStr for $name {
            type Err = InvalidObjectId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                // ObjectId::parse_str accepts upper case too; the canonical form is lower.
                if s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                    ObjectId::parse_str(s).map(Self).map_err(|_| InvalidObjectId)
                } else {
                    Err(InvalidObjectId)
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(|_| serde::de::Error::custom("must be a 24-character hex ObjectId"))
            }
        }
    };
}

object_id_type!(
    /// The client (athlete) a workout belongs to.
    UserId
);
object_id_type!(
    /// A workout entry.
    EntryId
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidObjectId;

impl fmt::Display for InvalidObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("must be a 24-character hex ObjectId")
    }
}

impl std::error::Error for InvalidObjectId {}

impl EntryId {
    /// A fresh id for an entry logged without an idempotency key.
    pub fn generate() -> Self {
        Self(ObjectId::new())
    }

    /// The id of an entry logged with an idempotency key: a pure function of
    /// (user, key), so every retry, on any instance, names the same entry.
    pub fn for_idempotency_key(user: UserId, key: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"everfit/entry-id/v1\0");
        hasher.update(user.bytes());
        hasher.update(key.as_bytes());
        let digest = hasher.finalize();
        let mut bytes = [0u8; 12];
        bytes.copy_from_slice(&digest[..12]);
        Self::from_bytes(bytes)
    }
}

fn push_hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_and_the_same_as_bsons() {
        for _ in 0..100 {
            let id = EntryId::generate();
            assert_eq!(id.to_hex(), id.0.to_hex());
        }
        let id = EntryId::from_bytes([0, 1, 0x0f, 0x10, 0xab, 0xff, 9, 10, 11, 12, 13, 0xfe]);
        assert_eq!(id.to_hex(), "00010f10abff090a0b0c0dfe");
        let mut out = String::from("x");
        id.push_hex(&mut out);
        assert_eq!(out, "x00010f10abff090a0b0c0dfe");
    }

    const USER: &str = "665f1c2b8a1e4d0012345678";

    #[test]
    fn parses_only_24_hex_characters() {
        assert!(USER.parse::<UserId>().is_ok());
        assert_eq!(
            "665F1C2B8A1E4D0012345678"
                .parse::<UserId>()
                .unwrap()
                .to_hex(),
            USER
        );
        for bad in [
            "",
            "665f1c2b8a1e4d001234567",
            "665f1c2b8a1e4d00123456789",
            "zz5f1c2b8a1e4d0012345678",
            " 65f1c2b8a1e4d0012345678",
        ] {
            assert!(bad.parse::<UserId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn idempotent_ids_depend_on_user_and_key_only() {
        let user: UserId = USER.parse().unwrap();
        let other: UserId = "665f1c2b8a1e4d0012345679".parse().unwrap();
        let a = EntryId::for_idempotency_key(user, "k1");
        // A fixed value: a change of the derivation would give a retry sent
        // across an upgrade a new id, and store the workout twice.
        assert_eq!(a.to_hex(), "1e1d7f81bea18fc4eb2282e8");
        assert_ne!(a, EntryId::for_idempotency_key(user, "k2"));
        assert_ne!(a, EntryId::for_idempotency_key(other, "k1"));
        assert_eq!(a.to_hex().len(), 24);
    }

    #[test]
    fn generated_ids_are_unique() {
        assert_ne!(EntryId::generate(), EntryId::generate());
    }
}
