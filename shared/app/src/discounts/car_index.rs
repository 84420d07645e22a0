//! Which discounts a car has (`keys::car_discounts`), kept beside each
//! discount by the writes that give or remove it, so that `calc` finds all of
//! a car's discounts in one query (issue 11's round-trip budget), and a car
//! with none costs that one empty query.

use crate::keys;
use onecard_core::fields::normalize_plate;
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiResult, Ctx};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Coupon(String),
    Toll(i64),
    Plate(i64),
}

impl Entry {
    fn suffix(&self) -> String {
        match self {
            Entry::Coupon(b) => format!("C#{b}"),
            Entry::Toll(id) => format!("T#{}", keys::id_sk(*id)),
            Entry::Plate(id) => format!("P#{}", keys::id_sk(*id)),
        }
    }

    fn parse(suffix: &str) -> Option<Entry> {
        let (kind, id) = suffix.split_once('#')?;
        match kind {
            "C" => Some(Entry::Coupon(id.to_string())),
            "T" => id.parse().ok().map(Entry::Toll),
            "P" => id.parse().ok().map(Entry::Plate),
            _ => None,
        }
    }
}

/// The car of a stay: its plate, or its entry for a card-only stay.
pub fn car_key(plate: &str, card_in_id: &str) -> String {
    match normalize_plate(plate) {
        p if p.is_empty() => format!("#{card_in_id}"),
        p => p,
    }
}

pub fn put(branch: &str, car: &str, e: &Entry) -> Write {
    Write::put(Item::new(keys::car_discounts(branch), format!("{car}#{}", e.suffix()), serde_json::json!({})), Cond::None)
}

pub fn delete(branch: &str, car: &str, e: &Entry) -> Write {
    Write::delete(keys::car_discounts(branch), format!("{car}#{}", e.suffix()), Cond::None)
}

pub async fn of_car(ctx: &Ctx, branch: &str, car: &str) -> ApiResult<Vec<Entry>> {
    let prefix = format!("{car}#");
    let items = ctx.store.query_all(&Query::prefix(keys::car_discounts(branch), prefix.clone())).await?;
    Ok(items.iter().filter_map(|i| i.sk.strip_prefix(&prefix).and_then(Entry::parse)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_cars_are_keyed() {
        for e in [Entry::Coupon("0012000001234".into()), Entry::Toll(7), Entry::Plate(12)] {
            assert_eq!(Entry::parse(&e.suffix()), Some(e));
        }
        assert_eq!(car_key(" 浙a 12345", "IN1"), "浙A12345");
        assert_eq!(car_key("", "IN1"), "#IN1");
    }
}
