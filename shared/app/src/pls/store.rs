//! Where the guidance model lives: one partition per kind of record, sk =
//! the record's number. Functions take the store port (not a `Ctx`) so the
//! admin commands write through them too.

use super::model::*;
use crate::keys;
use onecard_core::store::{Cond, Item, ItemStore, Query, StoreResult};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A kind of static record and how it is keyed.
pub trait Record: Serialize + DeserializeOwned {
    const KIND: &'static str;
    fn key(&self) -> String;
}

macro_rules! record {
    ($t:ty, $kind:literal, |$s:ident| $key:expr) => {
        impl Record for $t {
            const KIND: &'static str = $kind;
            fn key(&$s) -> String {
                $key
            }
        }
    };
}

record!(Area, "area", |self| self.id.clone());
record!(Map, "map", |self| self.no.clone());
record!(NavMap, "navmap", |self| self.no.clone());
record!(Node, "node", |self| self.id.clone());
record!(Edge, "edge", |self| format!("{}~{}", self.from, self.to));
record!(Point, "point", |self| self.no.clone());
record!(Group, "group", |self| self.no.clone());
record!(Space, "space", |self| self.no.clone());
record!(Switch, "switch", |self| self.no.clone());
record!(Controller, "controller", |self| self.no.clone());
record!(Ultrasonic, "ultrasonic", |self| self.key());
record!(VideoDetector, "video", |self| self.no.clone());
record!(Screen, "screen", |self| self.no.clone());

pub fn item<T: Record>(branch: &str, r: &T) -> Item {
    Item::new(keys::pls(branch, T::KIND), r.key(), serde_json::to_value(r).unwrap_or_default())
}

/// Every record of a kind, by key.
pub async fn all<T: Record>(s: &dyn ItemStore, branch: &str) -> StoreResult<Vec<T>> {
    let items = s.query_all(&Query::partition(keys::pls(branch, T::KIND))).await?;
    items.iter().map(Item::parse).collect()
}

/// Every record of a kind with the stored item's version.
pub async fn all_versioned<T: Record>(s: &dyn ItemStore, branch: &str) -> StoreResult<Vec<(T, u64)>> {
    let items = s.query_all(&Query::partition(keys::pls(branch, T::KIND))).await?;
    items.iter().map(|i| i.parse().map(|r| (r, i.version))).collect()
}

pub async fn get<T: Record>(s: &dyn ItemStore, branch: &str, key: &str) -> StoreResult<Option<(T, u64)>> {
    match s.get(&keys::pls(branch, T::KIND), key).await? {
        Some(i) => Ok(Some((i.parse()?, i.version))),
        None => Ok(None),
    }
}

/// Writes a record whatever was there (surveys and admin commands).
pub async fn put<T: Record>(s: &dyn ItemStore, branch: &str, r: &T) -> StoreResult<()> {
    let old = s.get(&keys::pls(branch, T::KIND), &r.key()).await?;
    let v = old.map_or(1, |o| o.version + 1);
    s.put(item(branch, r).with_version(v), Cond::None).await
}

pub async fn delete<T: Record>(s: &dyn ItemStore, branch: &str, key: &str) -> StoreResult<()> {
    s.delete(&keys::pls(branch, T::KIND), key, Cond::None).await
}

/// A space by its number or, failing that, by its name.
pub async fn space_by_no_or_name(s: &dyn ItemStore, branch: &str, no: Option<&str>, name: Option<&str>) -> StoreResult<Option<(Space, u64)>> {
    if let Some(no) = no.filter(|n| !n.is_empty()) {
        return get::<Space>(s, branch, no).await;
    }
    let Some(name) = name.filter(|n| !n.is_empty()) else { return Ok(None) };
    Ok(all_versioned::<Space>(s, branch).await?.into_iter().find(|(sp, _)| sp.name == name))
}
