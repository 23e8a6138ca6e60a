//! "Did you mean": the client's exercise names closest to one it does not
//! have, for a misspelled query (`Bench Pres`, `sqaut`).

use strsim::{jaro_winkler, normalized_damerau_levenshtein};

/// At most this many suggestions.
pub const MAX_SUGGESTIONS: usize = 3;

/// Below this similarity a name is not suggested: high enough that
/// unrelated lifts (`squat` for `curl`) stay out, low enough for a
/// transposition or a missing letter in a short name.
pub const MIN_SIMILARITY: f64 = 0.8;

/// How alike two exercise keys are, 0 to 1: the better of Jaro-Winkler
/// (forgiving at the end, for a name typed half-way) and the normalized
/// Damerau-Levenshtein distance (for swapped or missing letters anywhere).
pub fn similarity(a: &str, b: &str) -> f64 {
    jaro_winkler(a, b).max(normalized_damerau_levenshtein(a, b))
}

/// The names among `exercises` (key, name as logged) closest to `query_key`
/// (a lower-cased key), best first, ties by key; at most
/// [`MAX_SUGGESTIONS`], none below [`MIN_SIMILARITY`].
pub fn suggestions(query_key: &str, exercises: &[(String, String)]) -> Vec<String> {
    let mut scored: Vec<(f64, &str, &str)> = exercises
        .iter()
        .map(|(key, name)| (similarity(query_key, key), key.as_str(), name.as_str()))
        .filter(|(score, _, _)| *score >= MIN_SIMILARITY)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, _, name)| name.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| (n.to_lowercase(), n.to_string()))
            .collect()
    }

    #[test]
    fn misspellings_find_the_logged_names_best_first() {
        let mine = logged(&[
            "Bench Press",
            "Incline Bench Press",
            "Squat",
            "Deadlift",
            "Barbell Curl",
        ]);
        assert_eq!(suggestions("bench pres", &mine), ["Bench Press"]);
        assert_eq!(suggestions("sqaut", &mine), ["Squat"]);
        assert_eq!(suggestions("deadlfit", &mine), ["Deadlift"]);
        assert_eq!(
            suggestions("underwater basket weaving", &mine),
            Vec::<String>::new()
        );
    }

    #[test]
    fn at_most_three_and_ties_by_key() {
        let mine = logged(&["Row A", "Row B", "Row C", "Row D"]);
        assert_eq!(suggestions("row", &mine), ["Row A", "Row B", "Row C"]);
        assert!(suggestions("row", &[]).is_empty());
    }
}
