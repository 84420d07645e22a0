//! GBK text for the boards. Unmappable characters become '?' rather than the
//! HTML entities encoding_rs would emit, because a board shows bytes verbatim.

use encoding_rs::{EncoderResult, GBK};

pub fn encode(text: &str) -> Vec<u8> {
    let mut enc = GBK.new_encoder();
    let mut out = Vec::with_capacity(text.len() * 2 + 8);
    let mut rest = text;
    loop {
        let mut buf = [0u8; 256];
        let (res, read, written) = enc.encode_from_utf8_without_replacement(rest, &mut buf, true);
        out.extend_from_slice(&buf[..written]);
        rest = &rest[read..];
        match res {
            EncoderResult::InputEmpty => return out,
            EncoderResult::OutputFull => continue,
            EncoderResult::Unmappable(_) => out.push(b'?'),
        }
    }
}

/// GBK bytes of `text`, cut at a character boundary so they fit in `max` bytes.
pub fn encode_max(text: &str, max: usize) -> Vec<u8> {
    let full = encode(text);
    if full.len() <= max {
        return full;
    }
    let mut out = Vec::with_capacity(max);
    for ch in text.chars() {
        let mut b = [0u8; 4];
        let piece = encode(ch.encode_utf8(&mut b));
        if out.len() + piece.len() > max {
            break;
        }
        out.extend_from_slice(&piece);
    }
    out
}

pub fn decode(bytes: &[u8]) -> String {
    let (text, _, _) = GBK.decode(bytes);
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_roundtrip() {
        let t = "浙A12345 欢迎光临 请缴费12.5元";
        let b = encode(t);
        assert_eq!(&b[..2], &[0xD5, 0xE3]); // 浙 in GBK
        assert_eq!(decode(&b), t);
    }

    #[test]
    fn unmappable_is_question_mark() {
        assert_eq!(decode(&encode("a😀b")), "a?b");
    }

    #[test]
    fn cut_keeps_whole_characters() {
        let b = encode_max("欢迎光临", 5);
        assert_eq!(b.len(), 4);
        assert_eq!(decode(&b), "欢迎");
    }
}
