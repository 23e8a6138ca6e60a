//! The exercise catalogue: exercise -> muscle group, resolved at read time so
//! re-tagging an exercise never leaves stale rows behind.

use everfit_seeds::CatalogueData;
use std::collections::{HashMap, HashSet};

use super::exercise::{name_key, normalize_name};

#[derive(Debug, Clone)]
pub struct Catalogue {
    groups: Vec<String>,
    /// exerciseNameLower -> group
    group_of: HashMap<String, String>,
    /// The keys of the exercises done without a load (typical weight 0).
    bodyweight: HashSet<String>,
}

impl Catalogue {
    pub fn new(data: &CatalogueData) -> Self {
        let group_of = data
            .exercises
            .iter()
            .map(|e| (name_key(&normalize_name(&e.name)), e.group.clone()))
            .collect();
        let bodyweight = data
            .exercises
            .iter()
            .filter(|e| e.typical_kg == 0.0)
            .map(|e| name_key(&normalize_name(&e.name)))
            .collect();
        Self {
            groups: data.groups.clone(),
            group_of,
            bodyweight,
        }
    }

    pub fn builtin() -> Self {
        Self::new(&CatalogueData::builtin())
    }

    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    pub fn is_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// The muscle group of an exercise, by its lower-cased key.
    pub fn group_of(&self, exercise_name_lower: &str) -> Option<&str> {
        self.group_of.get(exercise_name_lower).map(String::as_str)
    }

    /// True for an exercise done without a load (pull-ups, planks), by its
    /// lower-cased key: most reps is its record.
    pub fn is_bodyweight(&self, exercise_name_lower: &str) -> bool {
        self.bodyweight.contains(exercise_name_lower)
    }

    /// Every exercise key of a group, sorted (what a muscle-group filter matches).
    pub fn exercises_in(&self, group: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .group_of
            .iter()
            .filter(|(_, g)| g.as_str() == group)
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_common_lifts() {
        let c = Catalogue::builtin();
        for (exercise, group) in [
            ("bench press", "chest"),
            ("squat", "legs"),
            ("deadlift", "back"),
            ("overhead press", "shoulders"),
            ("barbell curl", "arms"),
            ("plank", "core"),
        ] {
            assert_eq!(c.group_of(exercise), Some(group), "{exercise}");
        }
        assert_eq!(c.group_of("underwater basket weaving"), None);
        assert!(c.exercises_in("chest").contains(&"bench press".to_string()));
        assert!(c.is_group("core") && !c.is_group("Core"));
        assert!(c.is_bodyweight("pull up") && c.is_bodyweight("push up"));
        assert!(!c.is_bodyweight("bench press") && !c.is_bodyweight("pull-up bar"));
    }
}
