//! Which card opens which door: a card's door-access terms (its 10.15 `Acss`
//! side when issued with one, else the card's own), the doors those terms
//! name, and the room-coded credentials of 7.4.

use super::model::{Door, Grant};
use crate::cards::{Card, CardKind, CardState};
use chrono::NaiveDateTime;
use onecard_core::link::doors::DoorCard;

/// A card's door-access side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terms {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub all: bool,
    pub grant: Option<String>,
    /// 7.3's FuncType (6 ordinary .. 12 count-limited).
    pub func_type: i64,
    pub issued: NaiveDateTime,
}

/// 7.3's FuncType for a card issued without door parameters.
fn door_func_type(kind: CardKind) -> i64 {
    match kind {
        CardKind::Visitor => 11,
        CardKind::Vip => 9,
        CardKind::Operator => 10,
        _ => 6,
    }
}

/// The door side: 10.15's `Acss` when the card was issued with one. A card
/// without it (a parking card: its `AllGrant`/`GrantID` are the car park's)
/// opens no door until 7.5 gives it a door side.
pub fn terms(c: &Card) -> Terms {
    match &c.acss {
        Some(a) => Terms { from: a.valid_from, to: a.valid_to, all: a.all_grant, grant: a.grant_id.clone(), func_type: a.func_type, issued: a.issued_at },
        None => Terms { from: c.valid_from, to: c.valid_to, all: false, grant: None, func_type: door_func_type(c.kind), issued: c.issued_at },
    }
}

/// A door card: issued (or given by 7.5) a door side.
pub fn is_door_card(c: &Card) -> bool {
    c.acss.is_some()
}

/// The doors a card's grants name (every door for all-grant), whatever the time.
pub fn doors_of<'a>(c: &Card, grants: &[Grant], doors: &'a [Door]) -> Vec<&'a Door> {
    let t = terms(c);
    if t.all {
        return doors.iter().collect();
    }
    let Some(g) = t.grant.and_then(|id| grants.iter().find(|g| g.id == id)) else { return Vec::new() };
    doors.iter().filter(|d| g.doors.contains(&d.key())).collect()
}

/// The card as the site holds it; `None` for a card that opens nothing now or
/// later (not active, expired, no door side).
pub fn site_card(c: &Card, now: NaiveDateTime) -> Option<DoorCard> {
    let t = terms(c);
    if c.state != CardState::Active || !is_door_card(c) || t.to < now {
        return None;
    }
    let mut alt: Vec<String> = [&c.card_id, &c.num_no].into_iter().filter(|a| !a.is_empty() && **a != c.card_no).cloned().collect();
    alt.dedup();
    Some(DoorCard {
        no: c.card_no.clone(),
        alt,
        user: c.user_no.clone(),
        grant: t.grant.unwrap_or_default(),
        all: t.all,
        from: onecard_core::kit::stamp(t.from),
        to: onecard_core::kit::stamp(t.to),
    })
}

pub fn flag_text(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}
