//! Query cursors. Both stores page by the last sort key seen; encoding it keeps
//! callers from building cursors by hand and relying on that.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use onecard_core::store::StoreError;

pub(crate) fn encode(sk: &str) -> String {
    URL_SAFE_NO_PAD.encode(sk.as_bytes())
}

pub(crate) fn decode(cursor: &str) -> Result<String, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::Invalid("malformed cursor".into()))?;
    String::from_utf8(bytes).map_err(|_| StoreError::Invalid("malformed cursor".into()))
}

/// The smallest string greater than every string starting with `prefix`, in
/// code-point order (which is UTF-8 byte order, DynamoDB's and SQLite's order).
/// None when no such bound exists.
pub(crate) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        assert_eq!(decode(&encode("a/b#ü")).unwrap(), "a/b#ü");
        assert!(decode("!!").is_err());
    }

    #[test]
    fn upper_bound() {
        assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_upper_bound(""), None);
    }
}
