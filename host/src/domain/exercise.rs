//! Exercise names: how the coach typed them, and the key every filter uses.

/// Trims and collapses inner whitespace: `"  Bench   Press "` -> `"Bench Press"`.
pub fn normalize_name(raw: &str) -> String {
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The lower-cased key used by every filter and index.
pub fn name_key(normalized: &str) -> String {
    normalized.to_lowercase()
}

pub const MAX_NAME_CHARS: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_whitespace_and_keys_by_lower_case() {
        assert_eq!(normalize_name("  Bench \t  Press \n"), "Bench Press");
        assert_eq!(normalize_name("   "), "");
        assert_eq!(name_key("Bench Press"), "bench press");
        assert_eq!(name_key("ÜBUNG"), "übung");
    }
}
