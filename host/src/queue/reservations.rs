//! Idempotency keys reserved at accept: the first accept of a (user, key)
//! stores the content's hash in the queue's own store, atomically, so a
//! concurrent submit with the same key and other content is refused (409) at
//! once, even before either is stored, and across API instances on Redis.
//! The same content is the same retry: it gets the same 202 and ids.

/// How long a reservation lasts: long past any persist, after which the
/// stored entry itself answers for its key.
pub const RESERVATION_SECS: u64 = 24 * 3600;

/// What reserving a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// This accept is the first: the key is now held for this content.
    Reserved,
    /// Held already for the same content (a retry).
    Same,
    /// Held for other content.
    Other,
}

impl Reservation {
    /// What a reservation found, given the hash it holds (`None`: none held).
    pub fn of(held: Option<&str>, hash: &str) -> Reservation {
        match held {
            None => Reservation::Reserved,
            Some(h) if h == hash => Reservation::Same,
            Some(_) => Reservation::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_key_is_the_same_retry_or_other_content() {
        assert_eq!(Reservation::of(None, "a"), Reservation::Reserved);
        assert_eq!(Reservation::of(Some("a"), "a"), Reservation::Same);
        assert_eq!(Reservation::of(Some("b"), "a"), Reservation::Other);
    }
}
