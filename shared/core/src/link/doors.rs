//! Door access as the agent holds it: doors, time groups, permission groups,
//! the cards that open doors, the key that signs door QR codes and the face
//! terminals. The cloud builds it (`onecard_app::acss::site`), the link carries
//! it in the head of every sync (`SiteConfig::doors`) but for the cards, which
//! travel in buckets like the monthly plates (`super::sync`), and both sides decide
//! with the same [`decide`], so a door answers the same with the cloud away.
//!
//! QR codes (10.3 visitors, 10.40 doors) are signed tokens, not database rows:
//! `Q1*<kind>*<subject>*<from>*<to>*<sig>` where `sig` is the first 20 hex
//! digits of HMAC-SHA256(key, everything before it). The agent checks them
//! with the key it was sent, offline included; a cancelled visitor order is
//! named in `revoked` until its code would have expired anyway.

use chrono::{Datelike, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use crate::providers::signing::hmac_sha256_hex;
use subtle::ConstantTimeEq;

/// One door: the reader `door_no` of controller `controller_no`, driven at the
/// site as device `device` (`{controller}-{door}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DoorRow {
    pub device: String,
    pub controller_no: String,
    pub door_no: String,
    #[serde(default)]
    pub name: String,
}

/// A weekly schedule: for each weekday (0 Sunday .. 6 Saturday) the periods
/// `HH:MM:SS-HH:MM:SS` during which a card of the group may open its doors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TimeGroupRow {
    pub id: String,
    /// Seven entries; each a list of `(start, end)` both inclusive.
    pub days: Vec<Vec<(String, String)>>,
}

impl TimeGroupRow {
    /// Inside one of the day's periods. A period `00:00:00-00:00:00` is the
    /// seed's "unused" and opens nothing.
    pub fn admits(&self, t: NaiveDateTime) -> bool {
        let day = t.weekday().num_days_from_sunday() as usize;
        let now = t.time();
        self.days.get(day).is_some_and(|ps| {
            ps.iter().any(|(s, e)| match (parse_tod(s), parse_tod(e)) {
                (Some(s), Some(e)) if !(s == NaiveTime::MIN && e == NaiveTime::MIN) => s <= now && now <= e,
                _ => false,
            })
        })
    }
}

pub fn parse_tod(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M:%S").ok()
}

/// A permission group: the doors its cards open, inside its time group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GrantRow {
    pub id: String,
    #[serde(default)]
    pub time_group: String,
    /// Door devices.
    #[serde(default)]
    pub doors: Vec<String>,
}

/// A card as the doors know it. Only usable cards are sent (a cancelled or
/// disabled card is simply absent, so it opens nothing).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct DoorCard {
    /// Card number, then the numbers a reader may read instead (physical and
    /// face number).
    pub no: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alt: Vec<String>,
    /// The holder's user number (visitor codes that follow the visitee).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub grant: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
    /// `yyyy-MM-dd HH:mm:ss`, branch-local, both inclusive.
    pub from: String,
    pub to: String,
}

/// A face-recognition terminal: `module` 171 door access, 150 channel gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FaceTerminalRow {
    pub device: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub module: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DoorRules {
    #[serde(default)]
    pub doors: Vec<DoorRow>,
    #[serde(default)]
    pub time_groups: Vec<TimeGroupRow>,
    #[serde(default)]
    pub grants: Vec<GrantRow>,
    #[serde(default)]
    pub cards: Vec<DoorCard>,
    /// The key door QR codes are signed with (hex).
    #[serde(default)]
    pub qr_key: String,
    /// Visitor orders cancelled before their code expired.
    #[serde(default)]
    pub revoked: Vec<String>,
    #[serde(default)]
    pub terminals: Vec<FaceTerminalRow>,
}

/// What a door decided and why; `reason` is logged and uploaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub open: bool,
    pub reason: String,
    /// The card the decision was about (empty for a door code).
    #[serde(default)]
    pub card: String,
    #[serde(default)]
    pub user: String,
}

fn verdict(open: bool, reason: &str, card: &str, user: &str) -> Verdict {
    Verdict { open, reason: reason.into(), card: card.into(), user: user.into() }
}

fn stamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

impl DoorRules {
    pub fn door(&self, device: &str) -> Option<&DoorRow> {
        self.doors.iter().find(|d| d.device == device || (d.door_no == "1" && d.controller_no == device))
    }

    pub fn card(&self, read: &str) -> Option<&DoorCard> {
        let read = read.trim();
        self.cards.iter().find(|c| c.no == read).or_else(|| self.cards.iter().find(|c| c.alt.iter().any(|a| a == read)))
    }

    /// Does `card` open `door` at `t`: valid, and all-grant or a grant naming
    /// the door whose time group admits `t`.
    pub fn card_opens(&self, card: &DoorCard, door: &DoorRow, t: NaiveDateTime) -> Verdict {
        let now = stamp(t);
        if now < card.from || now > card.to {
            return verdict(false, "card not valid now", &card.no, &card.user);
        }
        if card.all {
            return verdict(true, "all-grant", &card.no, &card.user);
        }
        let Some(g) = self.grants.iter().find(|g| !card.grant.is_empty() && g.id == card.grant) else {
            return verdict(false, "no permission group", &card.no, &card.user);
        };
        if !g.doors.iter().any(|d| *d == door.device) {
            return verdict(false, "door not in the permission group", &card.no, &card.user);
        }
        match self.time_groups.iter().find(|tg| tg.id == g.time_group) {
            Some(tg) if tg.admits(t) => verdict(true, "in period", &card.no, &card.user),
            Some(_) => verdict(false, "outside the time group's periods", &card.no, &card.user),
            // A group without a time group is not limited in time.
            None if g.time_group.is_empty() => verdict(true, "in period", &card.no, &card.user),
            None => verdict(false, "unknown time group", &card.no, &card.user),
        }
    }

    /// A card read at door `device`.
    pub fn decide_card(&self, device: &str, read: &str, t: NaiveDateTime) -> Verdict {
        let Some(door) = self.door(device) else { return verdict(false, "unknown door", read, "") };
        match self.card(read) {
            Some(c) => self.card_opens(c, door, t),
            None => verdict(false, "unknown card", read, ""),
        }
    }

    /// A QR code shown at door `device`.
    pub fn decide_qr(&self, device: &str, code: &str, t: NaiveDateTime) -> Verdict {
        let Some(door) = self.door(device) else { return verdict(false, "unknown door", "", "") };
        let tok = match Token::verify(&self.qr_key, code) {
            Ok(tok) => tok,
            Err(why) => return verdict(false, why, "", ""),
        };
        let now = stamp(t);
        if now < tok.from || now > tok.to {
            return verdict(false, "code expired or not yet valid", "", "");
        }
        match tok.kind {
            TokenKind::Door => {
                if tok.subject == door.device {
                    verdict(true, "door code", "", "")
                } else {
                    verdict(false, "code is for another door", "", "")
                }
            }
            TokenKind::Card => match self.card(&tok.subject) {
                Some(c) => self.card_opens(c, door, t),
                None => verdict(false, "unknown card", &tok.subject, ""),
            },
            TokenKind::Visitor => {
                // subject: `{order}/u{userNo}` follows the visitee, `{order}/c{cardNo}` the guest card.
                let Some((order, who)) = tok.subject.split_once('/') else { return verdict(false, "malformed code", "", "") };
                if self.revoked.iter().any(|r| r == order) {
                    return verdict(false, "visit cancelled", "", "");
                }
                let cards: Vec<&DoorCard> = match who.split_at_checked(1) {
                    Some(("u", user)) => self.cards.iter().filter(|c| c.user == user).collect(),
                    Some(("c", card)) => self.card(card).into_iter().collect(),
                    _ => Vec::new(),
                };
                let mut last = verdict(false, "the visitee has no card for this door", "", "");
                for c in cards {
                    let v = self.card_opens(c, door, t);
                    if v.open {
                        return Verdict { reason: format!("visitor {order}: {}", v.reason), ..v };
                    }
                    last = v;
                }
                last
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// 10.40: opens one door until it expires.
    Door,
    /// 10.3: a visitor's code; opens what the visitee (or guest card) opens.
    Visitor,
    /// 7.3/12.1 `Qrcode`: a card shown as a code; opens what the card opens.
    Card,
}

impl TokenKind {
    fn tag(self) -> &'static str {
        match self {
            TokenKind::Door => "D",
            TokenKind::Visitor => "V",
            TokenKind::Card => "C",
        }
    }
}

/// A signed door code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub subject: String,
    /// `yyyy-MM-dd HH:mm:ss` bounds, both inclusive.
    pub from: String,
    pub to: String,
}

const SIG_HEX: usize = 20;

fn compact(t: &str) -> String {
    t.chars().filter(char::is_ascii_digit).collect()
}

fn expand(t: &str) -> Option<String> {
    if t.len() != 14 || !t.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(format!("{}-{}-{} {}:{}:{}", &t[0..4], &t[4..6], &t[6..8], &t[8..10], &t[10..12], &t[12..14]))
}

fn mac_hex(key: &str, body: &str) -> String {
    let mut h = hmac_sha256_hex(key.as_bytes(), body.as_bytes());
    h.truncate(SIG_HEX);
    h
}

impl Token {
    pub fn sign(&self, key: &str) -> String {
        let body = format!("Q1*{}*{}*{}*{}", self.kind.tag(), self.subject, compact(&self.from), compact(&self.to));
        let sig = mac_hex(key, &body);
        format!("{body}*{sig}")
    }

    pub fn verify(key: &str, code: &str) -> Result<Token, &'static str> {
        if key.is_empty() {
            return Err("no door-code key at this site");
        }
        let code = code.trim();
        let (body, sig) = code.rsplit_once('*').ok_or("malformed code")?;
        let want = mac_hex(key, body);
        if !bool::from(want.as_bytes().ct_eq(sig.as_bytes())) {
            return Err("bad signature");
        }
        let parts: Vec<&str> = body.split('*').collect();
        let [ver, kind, subject, from, to] = parts[..] else { return Err("malformed code") };
        if ver != "Q1" {
            return Err("unknown code version");
        }
        let kind = match kind {
            "D" => TokenKind::Door,
            "V" => TokenKind::Visitor,
            "C" => TokenKind::Card,
            _ => return Err("unknown code kind"),
        };
        let (Some(from), Some(to)) = (expand(from), expand(to)) else { return Err("malformed code") };
        Ok(Token { kind, subject: subject.to_string(), from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn rules() -> DoorRules {
        let office = vec![("08:00:00".to_string(), "18:00:00".to_string())];
        DoorRules {
            doors: vec![DoorRow { device: "C1-1".into(), controller_no: "C1".into(), door_no: "1".into(), name: "前门".into() }],
            // Weekdays only.
            time_groups: vec![TimeGroupRow { id: "1".into(), days: (0..7).map(|d| if (1..=5).contains(&d) { office.clone() } else { vec![] }).collect() }],
            grants: vec![GrantRow { id: "10".into(), time_group: "1".into(), doors: vec!["C1-1".into()] }],
            cards: vec![
                DoorCard { no: "A1".into(), alt: vec!["F1".into()], user: "u1".into(), grant: "10".into(), all: false, from: "2026-01-01 00:00:00".into(), to: "2026-12-31 23:59:59".into() },
                DoorCard { no: "B1".into(), alt: vec![], user: "u2".into(), grant: "".into(), all: true, from: "2026-01-01 00:00:00".into(), to: "2026-12-31 23:59:59".into() },
            ],
            qr_key: "k".into(),
            revoked: vec!["O9".into()],
            terminals: vec![],
        }
    }

    #[test]
    fn a_card_opens_inside_its_period_only() {
        let r = rules();
        // 2026-11-30 is a Monday.
        assert!(r.decide_card("C1-1", "A1", t("2026-11-30 09:00:00")).open);
        assert!(r.decide_card("C1-1", "F1", t("2026-11-30 18:00:00")).open, "face number, end inclusive");
        let v = r.decide_card("C1-1", "A1", t("2026-11-30 19:00:00"));
        assert_eq!((v.open, v.reason.as_str()), (false, "outside the time group's periods"));
        assert!(!r.decide_card("C1-1", "A1", t("2026-11-29 09:00:00")).open, "Sunday");
        assert!(r.decide_card("C1-1", "B1", t("2026-11-29 03:00:00")).open, "all-grant");
        assert!(!r.decide_card("C1-1", "A1", t("2027-01-04 09:00:00")).open, "expired");
        assert!(!r.decide_card("C1-1", "ZZ", t("2026-11-30 09:00:00")).open);
        assert!(r.decide_card("C1", "A1", t("2026-11-30 09:00:00")).open, "reader 1 by controller number");
    }

    #[test]
    fn zero_periods_are_unused() {
        let tg = TimeGroupRow { id: "x".into(), days: vec![vec![("00:00:00".into(), "00:00:00".into())]; 7] };
        assert!(!tg.admits(t("2026-11-30 00:00:00")));
    }

    #[test]
    fn codes_are_signed_and_expire() {
        let r = rules();
        let tok = Token { kind: TokenKind::Door, subject: "C1-1".into(), from: "2026-11-30 09:00:00".into(), to: "2026-11-30 09:05:00".into() };
        let code = tok.sign("k");
        assert_eq!(Token::verify("k", &code).unwrap(), tok);
        assert!(r.decide_qr("C1-1", &code, t("2026-11-30 09:04:00")).open);
        assert!(!r.decide_qr("C1-1", &code, t("2026-11-30 09:06:00")).open);
        assert_eq!(Token::verify("other", &code), Err("bad signature"));
        let forged = code.replace("C1-1", "C1-2");
        assert_eq!(Token::verify("k", &forged), Err("bad signature"));
        // Sunday: a visitor following u1 is refused like u1, until cancelled.
        let v = Token { kind: TokenKind::Visitor, subject: "O1/uu1".into(), from: "2026-11-30 00:00:00".into(), to: "2026-12-01 00:00:00".into() }.sign("k");
        assert!(r.decide_qr("C1-1", &v, t("2026-11-30 10:00:00")).open);
        assert!(!r.decide_qr("C1-1", &v, t("2026-11-30 20:00:00")).open);
        let gone = Token { kind: TokenKind::Visitor, subject: "O9/uu1".into(), from: "2026-11-30 00:00:00".into(), to: "2026-12-01 00:00:00".into() }.sign("k");
        assert_eq!(r.decide_qr("C1-1", &gone, t("2026-11-30 10:00:00")).reason, "visit cancelled");
    }
}
