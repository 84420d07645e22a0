//! Parking guidance screens (8.23, and the free counts the cloud shows when a
//! count moves): the `guide.screen` action as a board frame.
//!
//! Frame 0xE6, on the same RS-485 protocol as the lane boards:
//! `ARROW POS LLEN LEFT.. RLEN RIGHT..` (texts GBK). ARROW is 8.23's code
//! (0-3 static right/left/up/down, 4-7 scrolling, 0xFF none), POS the arrow's
//! offset in characters from the left (0xFF far right).
//!
//! 8.23's layout rules are applied here, once, so a board only draws: with
//! no arrow, or the arrow at either edge, the two texts are merged on the one
//! side that is left (no arrow: all as characters; far left: all on the
//! right; far right: all on the left). Without a position the arrow sits
//! right after the left text.

use crate::frame::{hex, Frame, Payload};
use crate::gbk;
use onecard_core::link::GuideScreen;
use serde_json::{json, Value};

pub const CMD: u8 = 0xE6;
pub const NO_ARROW: u8 = 0xFF;
pub const FAR_RIGHT: u8 = 0xFF;
/// Room for both texts with their lengths in one frame.
const MAX_TEXT: usize = 120;

/// What the board draws after 8.23's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub arrow: u8,
    pub pos: u8,
    pub left: String,
    pub right: String,
}

fn merged(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a} {b}"),
    }
}

pub fn layout(p: &GuideScreen) -> Layout {
    if p.arrow == NO_ARROW {
        return Layout { arrow: NO_ARROW, pos: 0, left: merged(&p.left, &p.right), right: String::new() };
    }
    match p.arrow_to_left {
        Some(0) => Layout { arrow: p.arrow, pos: 0, left: String::new(), right: merged(&p.left, &p.right) },
        Some(FAR_RIGHT) => Layout { arrow: p.arrow, pos: FAR_RIGHT, left: merged(&p.left, &p.right), right: String::new() },
        Some(n) => Layout { arrow: p.arrow, pos: n, left: p.left.clone(), right: p.right.clone() },
        None => Layout { arrow: p.arrow, pos: p.left.chars().count().min(254) as u8, left: p.left.clone(), right: p.right.clone() },
    }
}

/// The board payload of a `guide.screen` command.
pub fn payload(p: &GuideScreen) -> Payload {
    let l = layout(p);
    let (left, right) = (gbk::encode_max(&l.left, MAX_TEXT), gbk::encode_max(&l.right, MAX_TEXT));
    let mut d = vec![l.arrow, l.pos, left.len() as u8];
    d.extend(&left);
    d.push(right.len() as u8);
    d.extend(&right);
    Payload::Unknown { cmd: CMD, data: hex(&d) }
}

/// Reads a guidance frame back (the simulator's log); None for other frames.
pub fn decode(f: &Frame) -> Option<Value> {
    if f.cmd != CMD {
        return None;
    }
    let d = &f.data[..];
    let bad = || Some(json!({"kind": "guide_screen", "error": "frame cut short"}));
    let (Some(&arrow), Some(&pos), Some(&llen)) = (d.first(), d.get(1), d.get(2)) else { return bad() };
    let Some(left) = d.get(3..3 + llen as usize) else { return bad() };
    let Some(&rlen) = d.get(3 + llen as usize) else { return bad() };
    let at = 4 + llen as usize;
    let Some(right) = d.get(at..at + rlen as usize) else { return bad() };
    Some(json!({"kind": "guide_screen", "arrow": arrow, "pos": pos, "left": gbk::decode(left), "right": gbk::decode(right)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gs(arrow: u8, pos: Option<u8>, left: &str, right: &str) -> GuideScreen {
        GuideScreen { arrow, arrow_to_left: pos, left: left.into(), right: right.into() }
    }

    #[test]
    fn the_seed_rules_merge_texts_at_the_edges() {
        assert_eq!(layout(&gs(1, Some(4), "京BC668X", "5")), Layout { arrow: 1, pos: 4, left: "京BC668X".into(), right: "5".into() });
        assert_eq!(layout(&gs(0xFF, Some(3), "京A88888", "0")).left, "京A88888 0");
        let far_left = layout(&gs(1, Some(0), "京A77777", "0"));
        assert_eq!((far_left.left.as_str(), far_left.right.as_str()), ("", "京A77777 0"));
        assert_eq!(layout(&gs(2, Some(0xFF), "负二层", "12")).left, "负二层 12");
        assert_eq!(layout(&gs(0, None, "负二层", "12")).pos, 3, "after the left text");
    }

    #[test]
    fn frames_round_trip_through_the_board_codec() {
        let p = payload(&gs(0, Some(4), "负二层", "18"));
        let bytes = p.to_frame(3).encode();
        let f = Frame::decode(&bytes).unwrap();
        let v = decode(&f).unwrap();
        assert_eq!(v, json!({"kind": "guide_screen", "arrow": 0, "pos": 4, "left": "负二层", "right": "18"}));
        assert!(decode(&Frame::new(1, CMD, vec![0, 0, 9])).unwrap()["error"].is_string());
        assert!(decode(&Frame::new(1, 0x62, vec![])).is_none());
    }
}
