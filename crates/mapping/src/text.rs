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

/// A character no single-line SnelStart text may hold: the Unicode control characters (C0
/// including NUL, ESC, CR and LF; DEL; C1) and the line and paragraph separators U+2028/2029.
pub(crate) fn is_forbidden_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The first forbidden character of a single-line text ([`is_forbidden_char`]).
pub(crate) fn control_char(s: &str) -> Option<char> {
    s.chars().find(|c| is_forbidden_char(*c))
}

/// The first forbidden character of a multi-line text (memo): line breaks (`\n`, `\r`) and tabs
/// are allowed, every other control character is not.
pub(crate) fn control_char_multiline(s: &str) -> Option<char> {
    s.chars()
        .find(|c| !matches!(c, '\n' | '\r' | '\t') && is_forbidden_char(*c))
}

/// True for a URL SnelStart's `websiteUrl` takes (REL-0015): `http://` or `https://` (any case),
/// then a host of letters, digits, `-` and `.` that contains a dot (neither first nor last),
/// an optional port, and an optional path, query or fragment; no whitespace or control
/// characters anywhere.
pub(crate) fn is_web_url(url: &str) -> bool {
    if url
        .chars()
        .any(|c| c.is_whitespace() || is_forbidden_char(c))
    {
        return false;
    }
    let lower = url.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url["https://".len()..]
    } else if lower.starts_with("http://") {
        &url["http://".len()..]
    } else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Credentials in a website URL are no website; refuse rather than guess.
    if authority.contains('@') {
        return false;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// Characters a file name may not hold (BLG-0016), besides control characters.
pub(crate) const FILE_NAME_FORBIDDEN: &[char] = &['\\', '/', ':', '*', '?', '"', '<', '>', '|'];

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

    #[test]
    fn control_characters() {
        assert_eq!(control_char("Bakkerij\u{1b}[31m"), Some('\u{1b}'));
        assert_eq!(control_char("a\nb"), Some('\n'));
        assert_eq!(control_char("a\0"), Some('\0'));
        assert_eq!(control_char("Café\u{2028}"), Some('\u{2028}'));
        assert_eq!(control_char("Café Ölmühle"), None);
        assert_eq!(control_char_multiline("regel 1\r\nregel 2\tx"), None);
        assert_eq!(control_char_multiline("regel\u{7}"), Some('\u{7}'));
    }

    #[test]
    fn urls() {
        for good in [
            "https://www.example.nl",
            "http://example.nl/pad?x=1#y",
            "HTTPS://Example.NL:8443/",
            "https://bäckerei-müller.de",
        ] {
            assert!(is_web_url(good), "{good}");
        }
        for bad in [
            "www.example.nl",
            "ftp://example.nl",
            "https://localhost",
            "https://exa mple.nl",
            "https://.example.nl",
            "https://example.nl.",
            "https://user@example.nl",
            "https://example.nl:port",
            "https://",
            "n.v.t.",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
    }
}
