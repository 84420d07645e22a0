//! The LED/voice display and relay board frame:
//! `DA VR(0x64) PN(0xFF 0xFF) CMD DL DATA.. CRC_LO CRC_HI`, with CRC-16/Modbus
//! over DA..DATA. A board answers `DA VR PN CMD 01 ACK CRC` (ACK 0 = done).
//!
//! DATA layouts (text is GBK):
//! - 0x0F relay: `CH OT` (CH 1 open pulse, 2 close pulse, 3 hold open, 4 release)
//! - 0x62 temporary text: `LINE COLOR SECONDS TEXT..`
//! - 0x67 fixed text (flash): `LINE TEXT..`
//! - 0x30 voice: `OPT TEXT..` (OPT 0 queue, 1 queue and play, 2 clear and play)
//! - 0x6F lines + voice: `N {LINE COLOR SECONDS LEN TEXT..}*N VLEN VOICE..`
//! - 0x05 time sync: `YY MM DD hh mm ss WEEKDAY` (YY = year - 2000, Sunday = 0)
//! - 0xE3 free spaces: `COUNT_LO COUNT_HI`

use crate::gbk;
use serde::Serialize;

pub const VR: u8 = 0x64;
pub const PN: [u8; 2] = [0xFF, 0xFF];
/// Header (DA VR PN PN CMD DL) plus CRC.
const OVERHEAD: usize = 8;
pub const MAX_DATA: usize = 255;

pub mod cmd {
    pub const RELAY: u8 = 0x0F;
    pub const TEMP_TEXT: u8 = 0x62;
    pub const FIXED_TEXT: u8 = 0x67;
    pub const VOICE: u8 = 0x30;
    pub const MULTI: u8 = 0x6F;
    pub const TIME_SYNC: u8 = 0x05;
    pub const FREESPACE: u8 = 0xE3;
}

pub mod relay {
    pub const OPEN: u8 = 0x01;
    pub const CLOSE: u8 = 0x02;
    pub const HOLD_OPEN: u8 = 0x03;
    pub const RELEASE: u8 = 0x04;
}

/// CRC-16/Modbus: init 0xFFFF, reflected polynomial 0xA001.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in bytes {
        crc ^= b as u16;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xA001 } else { crc >> 1 };
        }
    }
    crc
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub addr: u8,
    pub cmd: u8,
    pub data: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parse {
    /// A frame and how many bytes of the buffer it used (including any junk
    /// skipped before it).
    Frame(Frame, usize),
    /// Nothing complete yet; `junk` leading bytes can be dropped.
    Incomplete { junk: usize },
}

impl Frame {
    pub fn new(addr: u8, cmd: u8, data: Vec<u8>) -> Frame {
        Frame { addr, cmd, data }
    }

    pub fn ack(addr: u8, cmd: u8, ack: u8) -> Frame {
        Frame { addr, cmd, data: vec![ack] }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Callers build data through `Payload`, which keeps it within DL's range;
        // cutting here only guards against a hand-built frame.
        let data = &self.data[..self.data.len().min(MAX_DATA)];
        let mut out = Vec::with_capacity(data.len() + OVERHEAD);
        out.push(self.addr);
        out.push(VR);
        out.extend_from_slice(&PN);
        out.push(self.cmd);
        out.push(data.len() as u8);
        out.extend_from_slice(data);
        let crc = crc16(&out);
        out.push((crc & 0xFF) as u8);
        out.push((crc >> 8) as u8);
        out
    }

    /// Finds the first valid frame in a byte stream, skipping line noise and
    /// frames whose CRC is wrong.
    pub fn parse(buf: &[u8]) -> Parse {
        let mut start = 0;
        while start + 1 < buf.len() {
            let b = &buf[start..];
            if b[1] != VR || (b.len() >= 4 && b[2..4] != PN) || (b.len() >= 3 && b[2] != PN[0]) {
                start += 1;
                continue;
            }
            if b.len() < 6 {
                return Parse::Incomplete { junk: start };
            }
            let total = b[5] as usize + OVERHEAD;
            if b.len() < total {
                return Parse::Incomplete { junk: start };
            }
            let body = &b[..total - 2];
            let crc = crc16(body);
            if b[total - 2] == (crc & 0xFF) as u8 && b[total - 1] == (crc >> 8) as u8 {
                let f = Frame { addr: b[0], cmd: b[4], data: body[6..].to_vec() };
                return Parse::Frame(f, start + total);
            }
            start += 1;
        }
        Parse::Incomplete { junk: start }
    }

    pub fn decode(bytes: &[u8]) -> Option<Frame> {
        match Frame::parse(bytes) {
            Parse::Frame(f, _) => Some(f),
            Parse::Incomplete { .. } => None,
        }
    }

    /// The ACK byte when this is a board's reply to `cmd`.
    pub fn reply_ack(&self, addr: u8, cmd: u8) -> Option<u8> {
        (self.addr == addr && self.cmd == cmd && self.data.len() == 1).then(|| self.data[0])
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TextLine {
    pub line: u8,
    pub color: u8,
    pub seconds: u8,
    pub text: String,
}

/// A request frame's meaning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payload {
    Relay { channel: u8, seconds: u8 },
    TempText { line: u8, color: u8, seconds: u8, text: String },
    FixedText { line: u8, text: String },
    Voice { opt: u8, text: String },
    Multi { lines: Vec<TextLine>, voice: String },
    /// `time` as `yyyy-MM-dd HH:mm:ss`.
    TimeSync { time: String, weekday: u8 },
    FreeSpace { count: u16 },
    Unknown { cmd: u8, data: String },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("bad 0x{cmd:02X} frame data: {why}")]
pub struct BadData {
    pub cmd: u8,
    pub why: &'static str,
}

impl Payload {
    pub fn cmd(&self) -> u8 {
        match self {
            Payload::Relay { .. } => cmd::RELAY,
            Payload::TempText { .. } => cmd::TEMP_TEXT,
            Payload::FixedText { .. } => cmd::FIXED_TEXT,
            Payload::Voice { .. } => cmd::VOICE,
            Payload::Multi { .. } => cmd::MULTI,
            Payload::TimeSync { .. } => cmd::TIME_SYNC,
            Payload::FreeSpace { .. } => cmd::FREESPACE,
            Payload::Unknown { cmd, .. } => *cmd,
        }
    }

    /// The frame for board `addr`. Text too long for one frame is cut at a
    /// character boundary; a board could not show more anyway.
    pub fn to_frame(&self, addr: u8) -> Frame {
        let mut d = Vec::new();
        match self {
            Payload::Relay { channel, seconds } => d.extend_from_slice(&[*channel, *seconds]),
            Payload::TempText { line, color, seconds, text } => {
                d.extend_from_slice(&[*line, *color, *seconds]);
                d.extend(gbk::encode_max(text, MAX_DATA - 3));
            }
            Payload::FixedText { line, text } => {
                d.push(*line);
                d.extend(gbk::encode_max(text, MAX_DATA - 1));
            }
            Payload::Voice { opt, text } => {
                d.push(*opt);
                d.extend(gbk::encode_max(text, MAX_DATA - 1));
            }
            Payload::Multi { lines, voice } => {
                let voice_bytes = gbk::encode_max(voice, 96);
                let mut body = Vec::new();
                let mut n = 0u8;
                for l in lines {
                    let t = gbk::encode_max(&l.text, 64);
                    // Keep room for N, VLEN and the voice text.
                    if 1 + body.len() + 4 + t.len() + 1 + voice_bytes.len() > MAX_DATA || n == u8::MAX {
                        break;
                    }
                    body.extend_from_slice(&[l.line, l.color, l.seconds, t.len() as u8]);
                    body.extend(t);
                    n += 1;
                }
                d.push(n);
                d.extend(body);
                d.push(voice_bytes.len() as u8);
                d.extend(voice_bytes);
            }
            Payload::TimeSync { time, weekday } => {
                let t = onecard_core::time::parse(time);
                use chrono::{Datelike, Timelike};
                match t {
                    Some(t) => d.extend_from_slice(&[
                        (t.year() - 2000).clamp(0, 255) as u8,
                        t.month() as u8,
                        t.day() as u8,
                        t.hour() as u8,
                        t.minute() as u8,
                        t.second() as u8,
                        *weekday,
                    ]),
                    None => d.extend_from_slice(&[0, 1, 1, 0, 0, 0, *weekday]),
                }
            }
            Payload::FreeSpace { count } => d.extend_from_slice(&count.to_le_bytes()),
            Payload::Unknown { cmd: _, data } => d.extend(data.split_whitespace().filter_map(|h| u8::from_str_radix(h, 16).ok())),
        }
        Frame::new(addr, self.cmd(), d)
    }

    /// Reads a request frame (as a board does).
    pub fn from_frame(f: &Frame) -> Result<Payload, BadData> {
        let d = &f.data[..];
        let bad = |why| BadData { cmd: f.cmd, why };
        Ok(match f.cmd {
            cmd::RELAY => {
                if d.len() < 2 {
                    return Err(bad("relay needs CH and OT"));
                }
                Payload::Relay { channel: d[0], seconds: d[1] }
            }
            cmd::TEMP_TEXT => {
                if d.len() < 3 {
                    return Err(bad("temporary text needs LINE COLOR SECONDS"));
                }
                Payload::TempText { line: d[0], color: d[1], seconds: d[2], text: gbk::decode(&d[3..]) }
            }
            cmd::FIXED_TEXT => {
                if d.is_empty() {
                    return Err(bad("fixed text needs LINE"));
                }
                Payload::FixedText { line: d[0], text: gbk::decode(&d[1..]) }
            }
            cmd::VOICE => {
                if d.is_empty() {
                    return Err(bad("voice needs OPT"));
                }
                Payload::Voice { opt: d[0], text: gbk::decode(&d[1..]) }
            }
            cmd::MULTI => {
                let n = *d.first().ok_or(bad("multi needs N"))? as usize;
                let mut at = 1;
                let mut lines = Vec::with_capacity(n);
                for _ in 0..n {
                    let h = d.get(at..at + 4).ok_or(bad("multi line header cut short"))?;
                    let len = h[3] as usize;
                    let t = d.get(at + 4..at + 4 + len).ok_or(bad("multi line text cut short"))?;
                    lines.push(TextLine { line: h[0], color: h[1], seconds: h[2], text: gbk::decode(t) });
                    at += 4 + len;
                }
                let vlen = *d.get(at).ok_or(bad("multi needs VLEN"))? as usize;
                let v = d.get(at + 1..at + 1 + vlen).ok_or(bad("multi voice cut short"))?;
                Payload::Multi { lines, voice: gbk::decode(v) }
            }
            cmd::TIME_SYNC => {
                if d.len() < 7 {
                    return Err(bad("time sync needs 7 bytes"));
                }
                let time = format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", 2000 + d[0] as u32, d[1], d[2], d[3], d[4], d[5]);
                Payload::TimeSync { time, weekday: d[6] }
            }
            cmd::FREESPACE => {
                if d.len() < 2 {
                    return Err(bad("free space needs 2 bytes"));
                }
                Payload::FreeSpace { count: u16::from_le_bytes([d[0], d[1]]) }
            }
            other => Payload::Unknown { cmd: other, data: hex(d) },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_modbus_known_vector() {
        assert_eq!(crc16(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x01]), 0x0A84);
        assert_eq!(crc16(b"123456789"), 0x4B37);
    }

    #[test]
    fn crc_goes_low_byte_first() {
        let f = Frame::new(0, cmd::RELAY, vec![relay::OPEN, 3]);
        let b = f.encode();
        assert_eq!(&b[..6], &[0x00, 0x64, 0xFF, 0xFF, 0x0F, 0x02]);
        let crc = crc16(&b[..8]);
        assert_eq!(b[8], (crc & 0xFF) as u8);
        assert_eq!(b[9], (crc >> 8) as u8);
    }

    fn every_payload() -> Vec<Payload> {
        vec![
            Payload::Relay { channel: relay::OPEN, seconds: 3 },
            Payload::Relay { channel: relay::CLOSE, seconds: 0 },
            Payload::TempText { line: 1, color: 2, seconds: 5, text: "浙A12345 欢迎光临".into() },
            Payload::FixedText { line: 2, text: "一卡通停车场".into() },
            Payload::Voice { opt: 2, text: "请缴费十二元".into() },
            Payload::Multi {
                lines: vec![
                    TextLine { line: 1, color: 1, seconds: 5, text: "浙A12345".into() },
                    TextLine { line: 2, color: 2, seconds: 5, text: "一路顺风".into() },
                ],
                voice: "一路顺风".into(),
            },
            Payload::TimeSync { time: "2026-01-02 03:04:05".into(), weekday: 5 },
            Payload::FreeSpace { count: 1234 },
        ]
    }

    #[test]
    fn roundtrip_every_command() {
        for p in every_payload() {
            let bytes = p.to_frame(7).encode();
            let f = Frame::decode(&bytes).expect("decodes");
            assert_eq!(f.addr, 7);
            assert_eq!(f.cmd, p.cmd());
            assert_eq!(Payload::from_frame(&f).unwrap(), p);
        }
    }

    #[test]
    fn stream_parse_skips_noise_and_bad_crc() {
        let good = Frame::ack(3, cmd::VOICE, 0).encode();
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xFF;
        let mut stream = vec![0x00, 0x13, 0x37];
        stream.extend(&bad);
        stream.extend(&good);
        match Frame::parse(&stream) {
            Parse::Frame(f, used) => {
                assert_eq!(f.reply_ack(3, cmd::VOICE), Some(0));
                assert_eq!(used, stream.len());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(Frame::parse(&good[..5]), Parse::Incomplete { .. }));
    }

    #[test]
    fn long_text_is_cut_not_panicking() {
        let long = "欢".repeat(400);
        let f = Payload::TempText { line: 1, color: 1, seconds: 1, text: long.clone() }.to_frame(1);
        assert!(f.data.len() <= MAX_DATA);
        let lines = (0..20).map(|i| TextLine { line: i, color: 1, seconds: 1, text: long.clone() }).collect();
        let f = Payload::Multi { lines, voice: long }.to_frame(1);
        assert!(f.data.len() <= MAX_DATA);
        assert!(Payload::from_frame(&Frame::decode(&f.encode()).unwrap()).is_ok());
    }

    #[test]
    fn short_data_is_an_error() {
        for c in [cmd::RELAY, cmd::TEMP_TEXT, cmd::FIXED_TEXT, cmd::VOICE, cmd::MULTI, cmd::TIME_SYNC, cmd::FREESPACE] {
            assert!(Payload::from_frame(&Frame::new(1, c, vec![])).is_err(), "{c:#x}");
        }
        assert!(Payload::from_frame(&Frame::new(1, cmd::MULTI, vec![2, 1, 1, 1, 50])).is_err());
    }
}
