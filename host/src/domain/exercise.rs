//! Exercise names: how the coach typed them, and the key every filter uses.

use unicode_normalization::UnicodeNormalization;

/// Composes to Unicode NFC, trims and collapses inner whitespace:
/// `"  Bench   Press "` -> `"Bench Press"`; `"Übung"` typed with a combining
/// diaeresis and with the precomposed letter give the same name (and key).
pub fn normalize_name(raw: &str) -> String {
    let composed: String = raw.nfc().collect();
    composed.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Characters that change how the text around them is laid out (bidi
/// embeddings, overrides and isolates): a name holding one could display as
/// something it is not.
pub fn has_bidi_control(name: &str) -> bool {
    name.chars()
        .any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
}

/// True when nothing visible is left once zero-width characters go.
pub fn is_invisible(name: &str) -> bool {
    name.chars().all(|c| {
        c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}')
    })
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
    fn composes_to_nfc_so_both_spellings_are_one_exercise() {
        let combining = "U\u{0308}bung";
        let precomposed = "\u{00DC}bung";
        assert_ne!(combining, precomposed);
        assert_eq!(normalize_name(combining), precomposed);
        assert_eq!(name_key(&normalize_name(combining)), "übung");
    }

    #[test]
    fn spots_bidi_controls_and_invisible_names() {
        assert!(has_bidi_control("Squat\u{202E}tauqS"));
        assert!(has_bidi_control("\u{2067}Squat"));
        assert!(!has_bidi_control("סקוואט")); // right-to-left text itself is fine
        assert!(is_invisible("\u{200B}\u{200D}\u{FEFF}"));
        assert!(is_invisible(" \u{2060} "));
        assert!(!is_invisible("Squat\u{200B}"));
    }

    #[test]
    fn normalizes_whitespace_and_keys_by_lower_case() {
        assert_eq!(normalize_name("  Bench \t  Press \n"), "Bench Press");
        assert_eq!(normalize_name("   "), "");
        assert_eq!(name_key("Bench Press"), "bench press");
        assert_eq!(name_key("ÜBUNG"), "übung");
    }
}
