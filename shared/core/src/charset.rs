//! Request bodies in a declared charset other than UTF-8, as Chinese clients
//! send them: `Content-Type: application/json; charset=gbk` (or gb2312,
//! gb18030, or any other label the WHATWG Encoding Standard knows). The body
//! is decoded to UTF-8 before it is parsed; bytes that are not valid in the
//! declared charset answer 100001 naming `Content-Type`, never a guess.
//!
//! Which bytes did such a client sign? Chapter 5 signs the string S; a client
//! that holds S in GBK hashes its GBK bytes, one built on a Unicode runtime
//! (Java, .NET with `Encoding.UTF8`) hashes UTF-8 whatever it sends. Both are
//! accepted for a body that came in a non-UTF-8 charset: S is rebuilt from the
//! decoded text and checked as UTF-8, then as the request's own charset. Each
//! check needs the caller's secret, so accepting either forges nothing.
//! Decoding then re-encoding is exact here: text decoded from valid GBK (or
//! GB18030) encodes back to the same bytes.

use crate::codes::{ApiError, ApiResult};
use encoding_rs::Encoding;
use std::borrow::Cow;

/// The charset a request declared, when it is not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charset(&'static Encoding);

impl Charset {
    /// The `charset` parameter of a Content-Type; None for none, UTF-8, or a
    /// label no encoding answers to (read as UTF-8, as before charsets were
    /// honoured, so such a client keeps working).
    pub fn of(content_type: Option<&str>) -> Option<Charset> {
        let label = content_type?
            .split(';')
            .skip(1)
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
            .map(|(_, v)| v.trim().trim_matches('"'))?;
        let enc = Encoding::for_label(label.as_bytes())?;
        (enc != encoding_rs::UTF_8).then_some(Charset(enc))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The body as UTF-8.
    pub fn decode<'a>(&self, body: &'a [u8]) -> ApiResult<Cow<'a, [u8]>> {
        match self.0.decode_without_bom_handling_and_without_replacement(body) {
            Some(Cow::Borrowed(s)) => Ok(Cow::Borrowed(s.as_bytes())),
            Some(Cow::Owned(s)) => Ok(Cow::Owned(s.into_bytes())),
            None => Err(ApiError::field("Content-Type", format!("the body is not valid {} text", self.name()))),
        }
    }

    /// `text` in this charset: the bytes such a client holds.
    pub fn encode<'a>(&self, text: &'a str) -> Cow<'a, [u8]> {
        self.0.encode(text).0
    }

    /// The chapter 5 signature over the signing string as this charset's
    /// bytes: what a client holding S in this charset sends.
    pub fn sign(&self, secret: &str, signing: &str) -> String {
        use base64::Engine;
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(&self.encode(signing));
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// `sign` checked in constant time (the UTF-8 check is `sign::verify`).
    pub fn verify(&self, secret: &str, signing: &str, given: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.sign(secret, signing).as_bytes().ct_eq(given.trim().as_bytes()).into()
    }
}

/// Decodes `body` for `content_type`: unchanged when it declares UTF-8 or
/// nothing.
pub fn decode_body<'a>(content_type: Option<&str>, body: &'a [u8]) -> ApiResult<(Cow<'a, [u8]>, Option<Charset>)> {
    match Charset::of(content_type) {
        None => Ok((Cow::Borrowed(body), None)),
        Some(cs) => Ok((cs.decode(body)?, Some(cs))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(s).0.into_owned()
    }

    #[test]
    fn labels_in_content_type() {
        for ct in ["application/json; charset=gbk", "application/json;charset=GB2312", "application/json; charset=\"gbk\"", "application/json; Charset=x-gbk"] {
            assert_eq!(Charset::of(Some(ct)).map(|c| c.name()), Some("GBK"), "{ct}");
        }
        assert_eq!(Charset::of(Some("application/json; charset=gb18030")).map(|c| c.name()), Some("gb18030"));
        for ct in [None, Some("application/json"), Some("application/json; charset=utf-8"), Some("application/json; charset=nonsense")] {
            assert_eq!(Charset::of(ct), None, "{ct:?}");
        }
    }

    #[test]
    fn gbk_bodies_decode_and_bad_bytes_name_the_header() {
        let body = gbk(r#"{"carno":"粤B12345"}"#);
        assert_ne!(body, r#"{"carno":"粤B12345"}"#.as_bytes());
        let (text, cs) = decode_body(Some("application/json; charset=gbk"), &body).unwrap();
        assert_eq!(std::str::from_utf8(&text).unwrap(), r#"{"carno":"粤B12345"}"#);
        assert_eq!(cs.unwrap().encode(r#"{"carno":"粤B12345"}"#).as_ref(), body.as_slice(), "re-encoding gives the client's bytes");
        // UTF-8 bodies without a charset are passed through untouched.
        let utf8 = r#"{"carno":"粤B12345"}"#.as_bytes();
        assert!(matches!(decode_body(Some("application/json"), utf8).unwrap(), (Cow::Borrowed(b), None) if b == utf8));
        // A lone lead byte is not GBK.
        let e = decode_body(Some("application/json; charset=gbk"), b"{\"a\":\"\x81\"}").unwrap_err();
        assert_eq!(e.code.0, 100001);
        assert!(e.message.contains("Content-Type"), "{}", e.message);
    }

    #[test]
    fn a_gbk_client_signature_is_checked_over_its_own_bytes() {
        let cs = Charset::of(Some("application/json; charset=gbk")).unwrap();
        let s = crate::sign::signing_string("demo", "2026-01-01 00:00:00", "7", r#"{"carno":"粤B12345"}"#);
        let mut mac = <hmac::Hmac<sha1::Sha1> as hmac::Mac>::new_from_slice(b"k").unwrap();
        hmac::Mac::update(&mut mac, &gbk(&s));
        let over_gbk = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, hmac::Mac::finalize(mac).into_bytes());
        assert!(cs.verify("k", &s, &over_gbk));
        assert!(!crate::sign::verify("k", &s, &over_gbk), "not the UTF-8 signature");
        assert!(!cs.verify("k2", &s, &over_gbk));
        assert!(!cs.verify("k", &s, &crate::sign::sign("k", &s)), "the UTF-8 one is sign::verify's to accept");
    }
}
