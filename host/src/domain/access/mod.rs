//! Access rules: the actions an API key grants, the clients it is scoped
//! to, how its secret derives from the master key, and the rights a request
//! ends up with (a key's own, or a tenant token's narrower ones).
//!
//! Pure: the master key, the clock and the stored keys are passed in.

pub mod actions;
pub mod keys;
pub mod requests;

pub use actions::{Action, Needs, needs};
pub use keys::{ApiKey, ApiSecret, KeyHash, KeyUid, MasterKey};

use super::UserId;
use std::collections::BTreeSet;

/// Written instead of a list to mean "every one, now and later".
pub const WILDCARD: &str = "*";

/// What a key covers: everything (`["*"]`), or exactly these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope<T: Ord> {
    All,
    Only(BTreeSet<T>),
}

impl<T: Ord + Clone> Scope<T> {
    pub fn only(items: impl IntoIterator<Item = T>) -> Self {
        Scope::Only(items.into_iter().collect())
    }

    pub fn contains(&self, item: &T) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(items) => items.contains(item),
        }
    }

    pub fn is_subset_of(&self, other: &Scope<T>) -> bool {
        match (self, other) {
            (_, Scope::All) => true,
            (Scope::All, Scope::Only(_)) => false,
            (Scope::Only(mine), Scope::Only(theirs)) => mine.is_subset(theirs),
        }
    }

    pub fn intersection(&self, other: &Scope<T>) -> Scope<T> {
        match (self, other) {
            (Scope::All, x) | (x, Scope::All) => x.clone(),
            (Scope::Only(a), Scope::Only(b)) => Scope::Only(a.intersection(b).cloned().collect()),
        }
    }

    /// The stored and presented form: `["*"]`, or the items as strings.
    pub fn to_strings(&self, show: impl Fn(&T) -> String) -> Vec<String> {
        match self {
            Scope::All => vec![WILDCARD.to_string()],
            Scope::Only(items) => items.iter().map(show).collect(),
        }
    }

    /// Reads the stored form back; `None` when an item does not parse.
    pub fn from_strings<S: AsRef<str>>(
        raw: &[S],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<Self> {
        if raw.iter().any(|s| s.as_ref() == WILDCARD) {
            return Some(Scope::All);
        }
        raw.iter()
            .map(|s| parse(s.as_ref()))
            .collect::<Option<BTreeSet<T>>>()
            .map(Scope::Only)
    }
}

/// What a request may do: which actions, for which clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rights {
    pub actions: Scope<Action>,
    pub users: Scope<UserId>,
}

impl Rights {
    /// The master key's, and everyone's while no master key is set.
    pub fn everything() -> Self {
        Rights {
            actions: Scope::All,
            users: Scope::All,
        }
    }

    pub fn allows(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }

    pub fn covers(&self, user: UserId) -> bool {
        self.users.contains(&user)
    }

    /// These rights limited to `users` (a tenant token's claim): never more
    /// than either side grants.
    pub fn narrowed_to(&self, users: &Scope<UserId>) -> Rights {
        Rights {
            actions: self.actions.clone(),
            users: self.users.intersection(users),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u8) -> UserId {
        UserId::from_bytes([n; 12])
    }

    #[test]
    fn scopes_contain_intersect_and_compare() {
        let ab = Scope::only([user(1), user(2)]);
        let bc = Scope::only([user(2), user(3)]);
        assert!(ab.contains(&user(1)) && !ab.contains(&user(3)));
        assert!(Scope::<UserId>::All.contains(&user(9)));
        assert_eq!(ab.intersection(&bc), Scope::only([user(2)]));
        assert_eq!(ab.intersection(&Scope::All), ab);
        assert_eq!(Scope::All.intersection(&bc), bc);
        assert_eq!(
            ab.intersection(&Scope::only([user(3)])),
            Scope::Only(BTreeSet::new())
        );
        assert!(Scope::only([user(1)]).is_subset_of(&ab));
        assert!(!bc.is_subset_of(&ab));
        assert!(ab.is_subset_of(&Scope::All));
        assert!(!Scope::All.is_subset_of(&ab));
    }

    #[test]
    fn scopes_round_trip_through_strings() {
        let ab = Scope::only([user(2), user(1)]);
        let strings = ab.to_strings(UserId::to_hex);
        assert_eq!(strings, [user(1).to_hex(), user(2).to_hex()]);
        assert_eq!(Scope::from_strings(&strings, |s| s.parse().ok()), Some(ab));
        assert_eq!(
            Scope::<UserId>::from_strings(&["*"], |s| s.parse().ok()),
            Some(Scope::All)
        );
        assert_eq!(Scope::<UserId>::All.to_strings(UserId::to_hex), ["*"]);
        assert_eq!(
            Scope::<UserId>::from_strings(&["nope"], |s| s.parse().ok()),
            None
        );
    }

    #[test]
    fn narrowed_rights_never_exceed_either_side() {
        let key = Rights {
            actions: Scope::only([Action::WorkoutsRead]),
            users: Scope::only([user(1), user(2)]),
        };
        let token = key.narrowed_to(&Scope::only([user(2), user(3)]));
        assert!(token.covers(user(2)));
        assert!(!token.covers(user(1)) && !token.covers(user(3)));
        assert!(token.allows(Action::WorkoutsRead));
        assert!(!token.allows(Action::WorkoutsCreate));
        let everything = Rights::everything();
        assert!(everything.allows(Action::InsightsRead) && everything.covers(user(7)));
        assert_eq!(
            everything.narrowed_to(&Scope::only([user(7)])).users,
            Scope::only([user(7)])
        );
    }
}
