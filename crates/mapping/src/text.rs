//! Small text helpers shared by pre-flight and conversion. SnelStart's length limits count
//! characters (the server is .NET: UTF-16 code units, which equal chars for Dutch text), never
//! bytes.

/// Number of characters.
pub(crate) fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// The first `max` characters, with trailing spaces removed so a cut never ends in a blank.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((byte, _)) => s[..byte].trim_end().to_owned(),
        None => s.to_owned(),
    }
}

/// `Some(trimmed)` when the text has anything besides whitespace.
pub(crate) fn non_blank(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_chars_not_bytes() {
        assert_eq!(truncate_chars("Café Ölmühle", 4), "Café");
        assert_eq!(truncate_chars("ab cd", 3), "ab");
        assert_eq!(truncate_chars("abc", 10), "abc");
        assert_eq!(char_len("Ölmühle"), 7);
    }
}
