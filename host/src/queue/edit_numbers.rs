//! Numbering edits of an entry in the order they are accepted.
//!
//! An edit (or a delete) gets its number when it is accepted, from the
//! queue's own store, atomically: one more than the highest of the entry's
//! stored version and the last number given. The worker applies an edit
//! only over an older version, so when queued edits of one entry run out of
//! order, the entry still ends as the last accepted one made it. `If-Match`
//! is checked against the same number, so two conditional edits of one
//! version cannot both be accepted.

/// How long the last number given to an entry is kept. Past that, the
/// stored version (which by then carries every accepted edit) is enough.
pub const RETAIN_SECS: u64 = 7 * 24 * 3600;

/// The last number given to an entry, as the queue keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastNumber {
    pub version: i64,
    /// The last accepted edit was a delete: nothing may follow.
    pub deleted: bool,
}

/// What an edit is told when it asks for its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditNumber {
    Next(i64),
    /// `If-Match` names another version than the current one.
    Conflict {
        current: i64,
    },
    /// A delete of the entry was accepted already.
    Deleted,
}

/// The rule every queue applies (atomically, in its own store).
pub fn next_number(last: Option<LastNumber>, stored: i64, if_match: Option<i64>) -> EditNumber {
    if last.is_some_and(|l| l.deleted) {
        return EditNumber::Deleted;
    }
    let current = last.map_or(stored, |l| l.version.max(stored));
    match if_match {
        Some(expected) if expected != current => EditNumber::Conflict { current },
        _ => EditNumber::Next(current + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(version: i64, deleted: bool) -> Option<LastNumber> {
        Some(LastNumber { version, deleted })
    }

    #[test]
    fn numbers_follow_the_highest_of_stored_and_given() {
        assert_eq!(next_number(None, 1, None), EditNumber::Next(2));
        // Edits 2 and 3 accepted, none applied yet.
        assert_eq!(next_number(last(3, false), 1, None), EditNumber::Next(4));
        // Numbers given long ago and forgotten: the stored version leads.
        assert_eq!(next_number(last(2, false), 5, None), EditNumber::Next(6));
    }

    #[test]
    fn if_match_is_checked_against_the_accepted_version() {
        // Stored at 1, an edit to 2 accepted but not applied: If-Match 1 is stale.
        assert_eq!(
            next_number(last(2, false), 1, Some(1)),
            EditNumber::Conflict { current: 2 }
        );
        assert_eq!(next_number(last(2, false), 1, Some(2)), EditNumber::Next(3));
        assert_eq!(next_number(None, 4, Some(4)), EditNumber::Next(5));
    }

    #[test]
    fn nothing_follows_an_accepted_delete() {
        assert_eq!(next_number(last(3, true), 1, None), EditNumber::Deleted);
        assert_eq!(next_number(last(3, true), 1, Some(3)), EditNumber::Deleted);
    }
}
