//! Chapter 5 request signing: `base64(HMAC-SHA1(secret, S))` where S is `from`,
//! `timestamp` and `nonce` sorted in ordinal order and concatenated, followed by the
//! text of `data` exactly as it was sent.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

pub fn signing_string(from: &str, timestamp: &str, nonce: &str, data_text: &str) -> String {
    let mut parts = [from, timestamp, nonce];
    parts.sort_unstable();
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + data_text.len());
    for p in parts {
        s.push_str(p);
    }
    s.push_str(data_text);
    s
}

pub fn sign(secret: &str, signing: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(signing.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Constant-time comparison, so response timing tells an attacker nothing about
/// how much of a forged signature was right.
pub fn verify(secret: &str, signing: &str, given: &str) -> bool {
    let want = sign(secret, signing);
    want.as_bytes().ct_eq(given.trim().as_bytes()).into()
}

/// `verify` over `signing_string(from, timestamp, nonce, data_text)` without
/// building S: the MAC takes the parts in order, so the request's `data`
/// (the bulk of S) is not copied on every request just to be hashed.
pub fn verify_parts(secret: &str, from: &str, timestamp: &str, nonce: &str, data_text: &str, given: &str) -> bool {
    let mut parts = [from, timestamp, nonce];
    parts.sort_unstable();
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p.as_bytes());
    }
    mac.update(data_text.as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    want.as_bytes().ct_eq(given.trim().as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's printed example (5.2).
    #[test]
    fn seed_example() {
        let data = r#"{"credentialtype":"1","credential":"浙 AIV587","calcentime":"2015-10-13 9:20:23"}"#;
        let s = signing_string("4010228", "2015-06-11 11:52:48", "82", data);
        assert_eq!(s, format!("2015-06-11 11:52:48401022882{data}"));
    }

    #[test]
    fn verify_accepts_own_and_refuses_others() {
        let s = signing_string("demo", "2026-01-01 00:00:00", "7", "{}");
        let sig = sign("k", &s);
        assert!(verify("k", &s, &sig));
        assert!(!verify("k2", &s, &sig));
        assert!(!verify("k", &s, "AAAA"));
        assert!(!verify("k", &s, ""));
    }

    /// The in-place MAC must accept exactly what `verify` over the built
    /// string accepts, whatever order the three parts sort in.
    #[test]
    fn verify_parts_is_verify_over_the_signing_string() {
        let cases = [("demo", "2026-01-01 00:00:00", "7", "{}"), ("4010228", "2015-06-11 11:52:48", "82", r#"{"a":"浙 A"}"#), ("b", "a", "", ""), ("", "", "", "")];
        for (from, ts, nonce, data) in cases {
            let s = signing_string(from, ts, nonce, data);
            let good = sign("k", &s);
            assert!(verify_parts("k", from, ts, nonce, data, &good), "{s}");
            assert!(verify_parts("k", from, ts, nonce, data, &format!(" {good} ")), "trimmed like verify");
            assert!(!verify_parts("k2", from, ts, nonce, data, &good));
            assert!(!verify_parts("k", from, ts, nonce, &format!("{data} "), &good));
            assert!(!verify_parts("k", from, ts, nonce, data, ""));
        }
        // The parts are sorted before hashing, as in `signing_string`.
        let good = sign("k", &signing_string("x", "y", "z", "d"));
        assert!(verify_parts("k", "z", "x", "y", "d", &good));
        assert!(!verify_parts("k", "x", "y", "z", "e", &good));
    }
}
