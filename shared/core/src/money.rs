//! Money is integer fen inside; yuan with two decimals on the wire.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Parses yuan as clients send it: "7", "7.5", "7.50", 7.5, "-1.00".
    /// More than two decimals is refused rather than rounded: money must not
    /// change silently.
    pub fn parse_yuan(s: &str) -> Option<Fen> {
        let s = s.trim();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 2 || int.len() > 12 {
            return None;
        }
        let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let cents: i64 = format!("{frac:0<2}").parse().ok()?;
        let v = whole * 100 + cents;
        Some(Fen(if neg { -v } else { v }))
    }

    pub fn from_json(v: &serde_json::Value) -> Option<Fen> {
        match v {
            serde_json::Value::String(s) => Fen::parse_yuan(s),
            serde_json::Value::Number(n) => Fen::parse_yuan(&n.to_string()),
            _ => None,
        }
    }

    pub fn yuan(self) -> String {
        self.to_string()
    }

    pub fn max0(self) -> Fen {
        Fen(self.0.max(0))
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl Add for Fen {
    type Output = Fen;
    fn add(self, o: Fen) -> Fen {
        Fen(self.0 + o.0)
    }
}
impl AddAssign for Fen {
    fn add_assign(&mut self, o: Fen) {
        self.0 += o.0;
    }
}
impl Sub for Fen {
    type Output = Fen;
    fn sub(self, o: Fen) -> Fen {
        Fen(self.0 - o.0)
    }
}
impl std::iter::Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(it: I) -> Fen {
        Fen(it.map(|f| f.0).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(Fen::parse_yuan("7"), Some(Fen(700)));
        assert_eq!(Fen::parse_yuan("7.5"), Some(Fen(750)));
        assert_eq!(Fen::parse_yuan("1.50"), Some(Fen(150)));
        assert_eq!(Fen::parse_yuan("0.05"), Some(Fen(5)));
        assert_eq!(Fen::parse_yuan("-1.00"), Some(Fen(-100)));
        assert_eq!(Fen::parse_yuan(".5"), Some(Fen(50)));
        assert_eq!(Fen::parse_yuan("1.005"), None);
        assert_eq!(Fen::parse_yuan("abc"), None);
        assert_eq!(Fen::parse_yuan(""), None);
        assert_eq!(Fen(700).to_string(), "7.00");
        assert_eq!(Fen(-5).to_string(), "-0.05");
        assert_eq!(Fen::from_json(&serde_json::json!(1.5)), Some(Fen(150)));
    }
}
