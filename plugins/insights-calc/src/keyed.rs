//! The containers behind the accumulators: state per name found by a slot
//! number, and values per day (or week) kept in order. Entries come oldest
//! first from the host, so the usual update is at the end of a vector, not a
//! tree look-up; any other order stays correct, only slower.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Values of type `T` per name, each with a slot number given on first
/// sight, plus the display name given then.
#[derive(Debug, Clone)]
pub struct Slots<T> {
    by_name: BTreeMap<String, usize>,
    items: Vec<(String, T)>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Self {
            by_name: BTreeMap::new(),
            items: Vec::new(),
        }
    }
}

impl<T: Default> Slots<T> {
    /// The slot of `name`; a new one (with `display` kept) on first sight.
    pub fn slot(&mut self, name: &str, display: &str) -> usize {
        if let Some(&slot) = self.by_name.get(name) {
            return slot;
        }
        let slot = self.items.len();
        self.by_name.insert(name.to_string(), slot);
        self.items.push((display.to_string(), T::default()));
        slot
    }
}

impl<T> Slots<T> {
    pub fn get_mut(&mut self, slot: usize) -> &mut T {
        &mut self.items[slot].1
    }

    /// (name, display name, value), by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &T)> {
        self.by_name.iter().map(|(name, &slot)| {
            let (display, value) = &self.items[slot];
            (name.as_str(), display.as_str(), value)
        })
    }

    /// The display name first given for `name`.
    pub fn display(&self, name: &str) -> Option<&str> {
        self.by_name
            .get(name)
            .map(|&slot| self.items[slot].0.as_str())
    }
}

/// The value at `day` in `days` (ascending by day), inserted with `new` if
/// missing. O(1) at or after the last day; a binary search before it.
pub fn at_day<V>(days: &mut Vec<(i64, V)>, day: i64, new: impl FnOnce() -> V) -> &mut V {
    let i = match days.last() {
        Some(&(last, _)) if last == day => days.len() - 1,
        Some(&(last, _)) if last > day => match days.binary_search_by_key(&day, |&(d, _)| d) {
            Ok(i) => i,
            Err(i) => {
                days.insert(i, (day, new()));
                i
            }
        },
        _ => {
            days.push((day, new()));
            days.len() - 1
        }
    };
    &mut days[i].1
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the order of the updates, the days end up as a map would
        /// hold them: ascending, each once, with every update applied.
        #[test]
        fn at_day_keeps_days_in_order(updates in proptest::collection::vec((-20i64..20, 1u32..5), 0..80), sorted in any::<bool>()) {
            let mut updates = updates;
            if sorted {
                updates.sort_by_key(|u| u.0);
            }
            let mut days: Vec<(i64, u32)> = Vec::new();
            let mut map: BTreeMap<i64, u32> = BTreeMap::new();
            for &(day, n) in &updates {
                *at_day(&mut days, day, || 0) += n;
                *map.entry(day).or_insert(0) += n;
            }
            prop_assert_eq!(days, map.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn slots_are_given_once_and_listed_by_name() {
        let mut slots: Slots<u32> = Slots::default();
        let squat = slots.slot("squat", "Squat");
        let bench = slots.slot("bench", "Bench");
        assert_eq!(slots.slot("squat", "SQUAT"), squat);
        assert_ne!(squat, bench);
        *slots.get_mut(squat) += 2;
        let listed: Vec<_> = slots.iter().collect();
        assert_eq!(listed, [("bench", "Bench", &0), ("squat", "Squat", &2)]);
        assert_eq!(slots.display("squat"), Some("Squat"));
        assert_eq!(slots.display("curl"), None);
    }
}
