//! Names from ids: what a cardholder's stored ids (`DeptID`, `DutyID`,
//! `PositionID`, `RoomID`) read as. Cardholders keep only ids, so a renamed
//! department or room is answered renamed everywhere at once.
//!
//! For other modules: `names_for(store, branch, &refs)` answers one holder's
//! names; a route answering many holders (10.14, 6.4, 7.4 with credential
//! types 5-7, 10.3) loads the `Directory` once and calls `names` per row.
//! An id that names nothing (a department not imported yet) answers "".

use super::lists::{self, ListKind};
use super::residence::{self, Level, Node};
use crate::cards::Holder;
use onecard_core::store::ItemStore;
use onecard_core::ApiResult;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::HashMap;

/// The ids a record refers to, as stored (strings, possibly empty).
#[derive(Clone, Debug, Default)]
pub struct Refs<'a> {
    pub dept: &'a str,
    pub duty: &'a str,
    pub position: &'a str,
    pub room: &'a str,
}

impl<'a> Refs<'a> {
    pub fn of_holder(h: &'a Holder) -> Refs<'a> {
        Refs { dept: h.field("DeptID"), duty: h.field("DutyID"), position: h.field("PositionID"), room: h.field("RoomID") }
    }
}

/// The names 10.13 answers beside the ids (its table's names, exactly);
/// the room's id itself is the holder's own `RoomID`.
#[allow(non_snake_case)]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Names {
    pub DeptName: String,
    pub Duty: String,
    pub Position: String,
    pub UpTownID: String,
    pub UpTown: String,
    pub BuildID: String,
    pub Building: String,
    pub CellID: String,
    pub Cells: String,
    pub FloorNo: String,
    pub Room: String,
}

/// A branch's whole directory in memory: a few thousand small records.
#[derive(Default)]
pub struct Directory {
    lists: HashMap<(u8, i64), String>,
    nodes: HashMap<(u8, i64), Node>,
}

fn list_tag(k: ListKind) -> u8 {
    k as u8
}

fn level_tag(l: Level) -> u8 {
    l as u8
}

impl Directory {
    pub async fn load(store: &dyn ItemStore, branch: &str) -> ApiResult<Directory> {
        let mut d = Directory::default();
        for k in [ListKind::Dept, ListKind::Duty, ListKind::Position] {
            for e in lists::list(store, branch, k).await? {
                d.lists.insert((list_tag(k), e.id), e.name);
            }
        }
        for l in [Level::Community, Level::Building, Level::Unit, Level::Room] {
            for n in residence::list(store, branch, l).await? {
                d.nodes.insert((level_tag(l), n.id), n);
            }
        }
        Ok(d)
    }

    fn list_name(&self, k: ListKind, raw: &str) -> String {
        raw.trim().parse::<i64>().ok().and_then(|id| self.lists.get(&(list_tag(k), id)).cloned()).unwrap_or_default()
    }

    fn node(&self, l: Level, id: i64) -> Option<&Node> {
        self.nodes.get(&(level_tag(l), id))
    }

    pub fn names(&self, r: &Refs<'_>) -> Names {
        let mut n = Names {
            DeptName: self.list_name(ListKind::Dept, r.dept),
            Duty: self.list_name(ListKind::Duty, r.duty),
            Position: self.list_name(ListKind::Position, r.position),
            ..Names::default()
        };
        let Some(room) = r.room.trim().parse::<i64>().ok().and_then(|id| self.node(Level::Room, id)) else { return n };
        n.Room = room.name.clone();
        n.FloorNo = room.floor_no().map(|f| f.to_string()).unwrap_or_default();
        if let Some(unit) = self.node(Level::Unit, room.parent) {
            (n.CellID, n.Cells) = (unit.id.to_string(), unit.name.clone());
            if let Some(b) = self.node(Level::Building, unit.parent) {
                (n.BuildID, n.Building) = (b.id.to_string(), b.name.clone());
                if let Some(c) = self.node(Level::Community, b.parent) {
                    (n.UpTownID, n.UpTown) = (c.id.to_string(), c.name.clone());
                }
            }
        }
        n
    }
}

/// The names of one record's ids, read by key (a handful of reads, however
/// large the directory).
pub async fn names_for(store: &dyn ItemStore, branch: &str, refs: &Refs<'_>) -> ApiResult<Names> {
    let mut d = Directory::default();
    for (k, raw) in [(ListKind::Dept, refs.dept), (ListKind::Duty, refs.duty), (ListKind::Position, refs.position)] {
        if let Ok(id) = raw.trim().parse::<i64>() {
            if let Some(e) = lists::get(store, branch, k, id).await? {
                d.lists.insert((list_tag(k), id), e.name);
            }
        }
    }
    // Up the tree from the room, one read per level.
    let mut next = raw_id(refs.room).map(|id| (Level::Room, id));
    while let Some((level, id)) = next {
        let Some(found) = residence::get(store, branch, level, id).await? else { break };
        next = level.parent().map(|p| (p, found.node.parent));
        d.nodes.insert((level_tag(level), id), found.node);
    }
    Ok(d.names(refs))
}

fn raw_id(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::residence::{create, Detail};
    use onecard_core::memstore::MemStore;

    #[tokio::test]
    async fn a_room_answers_its_whole_path_and_unknown_ids_answer_nothing() {
        let s = MemStore::new();
        let f = ("p", "n");
        let c = create(&s, "b", Level::Community, 0, "新景天", Detail::Plain, f).await.unwrap();
        let b = create(&s, "b", Level::Building, c.id, "新景天大厦", Detail::Plain, f).await.unwrap();
        let u = create(&s, "b", Level::Unit, b.id, "1 单元", Detail::Unit { floors: 45, basement_floors: 0 }, f).await.unwrap();
        let r = create(&s, "b", Level::Room, u.id, "消防 9-2", Detail::Room { floor_no: 9, door_plate: "201".into() }, f).await.unwrap();
        lists::put(&s, "b", ListKind::Dept, &lists::Entry { id: 1, name: "软件部".into(), abbr: None }).await.unwrap();
        let room = r.id.to_string();
        let n = names_for(&s, "b", &Refs { dept: "1", duty: "7", position: "", room: &room }).await.unwrap();
        assert_eq!((n.DeptName.as_str(), n.Duty.as_str()), ("软件部", ""));
        assert_eq!((n.UpTown.as_str(), n.Building.as_str(), n.Cells.as_str(), n.Room.as_str(), n.FloorNo.as_str()), ("新景天", "新景天大厦", "1 单元", "消防 9-2", "9"));
        assert_eq!(n.UpTownID, c.id.to_string());
        assert_eq!(names_for(&s, "b", &Refs { room: "x", ..Refs::default() }).await.unwrap(), Names::default());
    }
}
