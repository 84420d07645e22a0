//! The residence tree (10.20-10.35): communities (小区) hold buildings, which
//! hold units (单元), which hold rooms; cardholders live in rooms (`RoomID`).
//!
//! Integrity without a relational store: adding a child writes its parent
//! back with the next version (a "touch"), and deleting a node is
//! conditional on the version at which it was found childless. So a delete
//! racing an add under the same node fails its condition, is retried, and
//! then sees the child (decision 23: a node with children or cardholders is
//! not deleted). Cardholders touch their room the same way (`room_ref`).
//! Sibling names are unique, which is what lets an import find a node again
//! by its name path and run twice without change.

use crate::cards::store::list_holders_in;
use crate::{ids, keys};
use onecard_core::retry::{on_conflict, Step};
use onecard_core::store::{Cond, Item, ItemStore, Query, Write};
use onecard_core::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};

/// A level of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    Community,
    Building,
    Unit,
    Room,
}

impl Level {
    /// The partition and id-counter suffix of this level.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Level::Community => "uptown",
            Level::Building => "building",
            Level::Unit => "cell",
            Level::Room => "room",
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Level::Community => "community",
            Level::Building => "building",
            Level::Unit => "unit",
            Level::Room => "room",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Level::Community => "communities",
            Level::Building => "buildings",
            Level::Unit => "units",
            Level::Room => "rooms",
        }
    }

    /// The wire name of this level's id.
    pub const ALL: [Level; 4] = [Level::Community, Level::Building, Level::Unit, Level::Room];

    /// The wire name of this level's name (10.20-10.35).
    pub fn name_field(self) -> &'static str {
        match self {
            Level::Community => "UpTown",
            Level::Building => "Building",
            Level::Unit => "Cells",
            Level::Room => "Room",
        }
    }

    pub fn id_field(self) -> &'static str {
        match self {
            Level::Community => "UptownID",
            Level::Building => "BuildID",
            Level::Unit => "CellID",
            Level::Room => "RoomID",
        }
    }

    pub fn parent(self) -> Option<Level> {
        match self {
            Level::Community => None,
            Level::Building => Some(Level::Community),
            Level::Unit => Some(Level::Building),
            Level::Room => Some(Level::Unit),
        }
    }

    pub fn child(self) -> Option<Level> {
        match self {
            Level::Community => Some(Level::Building),
            Level::Building => Some(Level::Unit),
            Level::Unit => Some(Level::Room),
            Level::Room => None,
        }
    }
}

/// What only some levels carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "level", rename_all = "snake_case")]
pub enum Detail {
    Plain,
    Unit { floors: i64, basement_floors: i64 },
    Room { floor_no: i64, door_plate: String },
}

/// One node of the tree; `parent` is 0 for a community.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: i64,
    pub parent: i64,
    pub name: String,
    pub detail: Detail,
}

impl Node {
    pub fn floors(&self) -> (i64, i64) {
        match self.detail {
            Detail::Unit { floors, basement_floors } => (floors, basement_floors),
            _ => (0, 0),
        }
    }
    pub fn floor_no(&self) -> Option<i64> {
        match self.detail {
            Detail::Room { floor_no, .. } => Some(floor_no),
            _ => None,
        }
    }
    pub fn door_plate(&self) -> &str {
        match &self.detail {
            Detail::Room { door_plate, .. } => door_plate,
            _ => "",
        }
    }
}

/// A node and the version it was read at.
#[derive(Clone, Debug)]
pub struct Found {
    pub node: Node,
    pub version: u64,
}

impl Found {
    /// The write that bumps this node's version without changing it.
    pub fn touch(&self, branch: &str, level: Level) -> Write {
        Write::put(item(branch, level, &self.node).with_version(self.version + 1), Cond::VersionIs(self.version))
    }
}

/// The write that stores a new node; it fails if the id is taken.
pub fn create_write(branch: &str, level: Level, n: &Node) -> Write {
    Write::put(item(branch, level, n), Cond::MustNotExist)
}

/// The write that stores `next` over the version `old` was read at.
pub fn update_write(branch: &str, level: Level, old: &Found, next: &Node) -> Write {
    Write::put(item(branch, level, next).with_version(old.version + 1), Cond::VersionIs(old.version))
}

fn item(branch: &str, level: Level, n: &Node) -> Item {
    Item::new(keys::residences(branch, level.key()), keys::id_sk(n.id), serde_json::to_value(n).unwrap_or_default())
}

pub async fn get(store: &dyn ItemStore, branch: &str, level: Level, id: i64) -> ApiResult<Option<Found>> {
    match store.get(&keys::residences(branch, level.key()), &keys::id_sk(id)).await? {
        Some(i) => Ok(Some(Found { node: i.parse()?, version: i.version })),
        None => Ok(None),
    }
}

/// The node, or 100001 naming `field` when there is none.
pub async fn existing(store: &dyn ItemStore, branch: &str, level: Level, id: i64, field: &str) -> ApiResult<Found> {
    get(store, branch, level, id).await?.ok_or_else(|| ApiError::field(field, format!("{} {id} does not exist", level.noun())))
}

/// Every node of a level, by id.
pub async fn list(store: &dyn ItemStore, branch: &str, level: Level) -> ApiResult<Vec<Node>> {
    let items = store.query_all(&Query::partition(keys::residences(branch, level.key()))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

/// Every node of a level with its version, for an importer's cache.
pub async fn list_found(store: &dyn ItemStore, branch: &str, level: Level) -> ApiResult<Vec<Found>> {
    let items = store.query_all(&Query::partition(keys::residences(branch, level.key()))).await?;
    items.iter().map(|i| Ok(Found { node: i.parse()?, version: i.version })).collect()
}

/// The nodes of `level` under `parent`.
pub async fn children_of(store: &dyn ItemStore, branch: &str, level: Level, parent: i64) -> ApiResult<Vec<Node>> {
    Ok(list(store, branch, level).await?.into_iter().filter(|n| n.parent == parent).collect())
}

fn check_name(level: Level, name: &str, field: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::missing(field));
    }
    if name.chars().count() > 50 {
        return Err(ApiError::field(field, format!("the {} name is longer than 50 characters", level.noun())));
    }
    Ok(name.to_string())
}

/// The details of a new or changed node, checked against its parent (a
/// room's floor must be one of its unit's).
pub fn check_detail(level: Level, detail: &Detail, parent: Option<&Node>) -> ApiResult<()> {
    match (level, detail) {
        (Level::Community | Level::Building, Detail::Plain) => Ok(()),
        (Level::Unit, Detail::Unit { floors, basement_floors }) => {
            if !(1..=300).contains(floors) {
                return Err(ApiError::field("Floors", "must be 1-300"));
            }
            if *basement_floors < 0 || basement_floors >= floors {
                return Err(ApiError::field("BasementFloors", "must be 0 or more and less than Floors"));
            }
            Ok(())
        }
        (Level::Room, Detail::Room { floor_no, door_plate }) => {
            if door_plate.chars().count() > 20 {
                return Err(ApiError::field("DoorPlate", "is longer than 20 characters"));
            }
            let (floors, basement) = parent.map(Node::floors).unwrap_or((0, 0));
            if *floor_no == 0 || *floor_no > floors || *floor_no < -basement {
                return Err(ApiError::field("FloorNo", format!("{floor_no} is not a floor of the unit (1-{floors}, basement -1..-{basement})")));
            }
            Ok(())
        }
        _ => Err(ApiError::bad_input(format!("a {} has no such details", level.noun()))),
    }
}

fn sibling_named<'a>(siblings: &'a [Node], name: &str, except: i64) -> Option<&'a Node> {
    siblings.iter().find(|n| n.name == name && n.id != except)
}

/// Adds a node under `parent` (ignored for a community): 100001 naming
/// `parent_field` when the parent does not exist, or `name_field` when a
/// sibling already has the name.
pub async fn create(store: &dyn ItemStore, branch: &str, level: Level, parent: i64, name: &str, detail: Detail, fields: (&str, &str)) -> ApiResult<Node> {
    let (parent_field, name_field) = fields;
    let name = check_name(level, name, name_field)?;
    let (name, detail) = (&name, &detail);
    on_conflict(&format!("adding a {}", level.noun()), || async move {
        let parent_node = match level.parent() {
            Some(pl) => Some(existing(store, branch, pl, parent, parent_field).await?),
            None => None,
        };
        check_detail(level, detail, parent_node.as_ref().map(|p| &p.node))?;
        let parent_id = parent_node.as_ref().map_or(0, |p| p.node.id);
        let siblings = children_of(store, branch, level, parent_id).await?;
        if let Some(s) = sibling_named(&siblings, name, 0) {
            return Err(ApiError::field(name_field, format!("{} {} is already named '{name}' here", level.noun(), s.id)));
        }
        let id = ids::next_id_in(store, branch, &format!("hr-{}", level.key())).await?;
        let node = Node { id, parent: parent_id, name: name.clone(), detail: detail.clone() };
        let mut writes = vec![Write::put(item(branch, level, &node), Cond::MustNotExist)];
        // A community has no parent to touch: two added at the same instant
        // under one name could both succeed. Communities are few and made by
        // hand, so that race is accepted rather than serialised on a lock item.
        if let (Some(p), Some(pl)) = (&parent_node, level.parent()) {
            writes.push(p.touch(branch, pl));
        }
        Step::of(store.transact(writes).await, node)
    })
    .await
}

/// Renames a node (and, for a room, changes its floor and door plate).
pub async fn update(store: &dyn ItemStore, branch: &str, level: Level, id: i64, name: &str, detail: Option<Detail>, name_field: &str) -> ApiResult<Node> {
    let name = check_name(level, name, name_field)?;
    let (name, detail) = (&name, &detail);
    on_conflict(&format!("changing a {}", level.noun()), || async move {
        let found = existing(store, branch, level, id, level.id_field()).await?;
        let parent = match level.parent() {
            Some(pl) => get(store, branch, pl, found.node.parent).await?.map(|f| f.node),
            None => None,
        };
        let mut next = Node { name: name.clone(), ..found.node.clone() };
        if let Some(d) = detail {
            next.detail = d.clone();
        }
        check_detail(level, &next.detail, parent.as_ref())?;
        let siblings = children_of(store, branch, level, found.node.parent).await?;
        if let Some(s) = sibling_named(&siblings, name, id) {
            return Err(ApiError::field(name_field, format!("{} {} is already named '{name}' here", level.noun(), s.id)));
        }
        if level == Level::Unit {
            // A unit may not lose the floors its rooms are on.
            let (floors, basement) = next.floors();
            let rooms = children_of(store, branch, Level::Room, id).await?;
            if let Some(r) = rooms.iter().find(|r| r.floor_no().is_some_and(|f| f > floors || f < -basement)) {
                return Err(ApiError::field("Floors", format!("room {} is on floor {}", r.id, r.floor_no().unwrap_or(0))));
            }
        }
        let w = Write::put(item(branch, level, &next).with_version(found.version + 1), Cond::VersionIs(found.version));
        Step::of(store.transact(vec![w]).await, next)
    })
    .await
}

/// Deletes a node that has no children and, for a room, no cardholders;
/// otherwise answers 500 naming what still refers to it (decision 23).
pub async fn delete(store: &dyn ItemStore, branch: &str, level: Level, id: i64) -> ApiResult<()> {
    on_conflict(&format!("deleting a {}", level.noun()), || async move {
        let found = existing(store, branch, level, id, level.id_field()).await?;
        if let Some(cl) = level.child() {
            let children = children_of(store, branch, cl, id).await?;
            if !children.is_empty() {
                let ids: Vec<String> = children.iter().take(5).map(|c| c.id.to_string()).collect();
                let more = if children.len() > 5 { format!(" and {} more", children.len() - 5) } else { String::new() };
                return Err(ApiError::failed(format!("{} {id} still has {} {}{more}", level.noun(), cl.plural(), ids.join(", "))));
            }
        }
        if level == Level::Room {
            let holders = list_holders_in(store, branch).await?;
            let users: Vec<&str> = holders.iter().filter(|h| h.field("RoomID") == id.to_string()).map(|h| h.user_no.as_str()).take(5).collect();
            if !users.is_empty() {
                return Err(ApiError::failed(format!("room {id} still has cardholders {}", users.join(", "))));
            }
        }
        let w = Write::delete(keys::residences(branch, level.key()), keys::id_sk(id), Cond::VersionIs(found.version));
        Step::of(store.transact(vec![w]).await, ())
    })
    .await
}

/// The write a cardholder's create or change carries when it names `raw`
/// as its room: it fails the holder's transaction if the room is deleted
/// meanwhile. 100001 naming `RoomID` when there is no such room.
pub async fn room_ref(store: &dyn ItemStore, branch: &str, raw: &str) -> ApiResult<Write> {
    let id: i64 = raw.trim().parse().map_err(|_| ApiError::field("RoomID", format!("'{raw}' is not a room number")))?;
    Ok(existing(store, branch, Level::Room, id, "RoomID").await?.touch(branch, Level::Room))
}

/// Finds a node by its name under `parent`, for imports.
pub async fn find_named(store: &dyn ItemStore, branch: &str, level: Level, parent: i64, name: &str) -> ApiResult<Option<Node>> {
    Ok(children_of(store, branch, level, parent).await?.into_iter().find(|n| n.name == name.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecard_core::memstore::MemStore;

    const F: (&str, &str) = ("parent", "name");

    #[tokio::test]
    async fn a_tree_is_built_and_only_leaves_are_deleted() {
        let s = MemStore::new();
        let c = create(&s, "b", Level::Community, 0, "新景天", Detail::Plain, F).await.unwrap();
        let b = create(&s, "b", Level::Building, c.id, "A座", Detail::Plain, F).await.unwrap();
        let u = create(&s, "b", Level::Unit, b.id, "1 单元", Detail::Unit { floors: 10, basement_floors: 2 }, F).await.unwrap();
        let r = create(&s, "b", Level::Room, u.id, "1001", Detail::Room { floor_no: 10, door_plate: "1001".into() }, F).await.unwrap();
        let e = create(&s, "b", Level::Room, u.id, "1101", Detail::Room { floor_no: 11, door_plate: String::new() }, F).await.unwrap_err();
        assert!(e.message.contains("'FloorNo'"), "{}", e.message);
        create(&s, "b", Level::Room, u.id, "B1", Detail::Room { floor_no: -2, door_plate: String::new() }, F).await.unwrap();
        let e = create(&s, "b", Level::Room, u.id, "1001", Detail::Room { floor_no: 1, door_plate: String::new() }, F).await.unwrap_err();
        assert!(e.message.contains("already named"), "{}", e.message);
        let e = create(&s, "b", Level::Building, 99, "X", Detail::Plain, F).await.unwrap_err();
        assert!(e.message.contains("'parent'") && e.message.contains("community 99"), "{}", e.message);

        let e = delete(&s, "b", Level::Unit, u.id).await.unwrap_err();
        assert_eq!(e.code.0, 500);
        assert!(e.message.contains(&format!("still has rooms {}", r.id)), "{}", e.message);
        let e = update(&s, "b", Level::Unit, u.id, "1 单元", Some(Detail::Unit { floors: 5, basement_floors: 2 }), "Cells").await.unwrap_err();
        assert!(e.message.contains("'Floors'"), "{}", e.message);
        for room in children_of(&s, "b", Level::Room, u.id).await.unwrap() {
            delete(&s, "b", Level::Room, room.id).await.unwrap();
        }
        delete(&s, "b", Level::Unit, u.id).await.unwrap();
        assert!(get(&s, "b", Level::Unit, u.id).await.unwrap().is_none());
        let e = delete(&s, "b", Level::Unit, u.id).await.unwrap_err();
        assert!(e.message.contains("'CellID'"), "{}", e.message);
    }

    #[tokio::test]
    async fn a_room_reference_fails_once_the_room_changed() {
        let s = MemStore::new();
        let c = create(&s, "b", Level::Community, 0, "c", Detail::Plain, F).await.unwrap();
        let b = create(&s, "b", Level::Building, c.id, "b", Detail::Plain, F).await.unwrap();
        let u = create(&s, "b", Level::Unit, b.id, "u", Detail::Unit { floors: 3, basement_floors: 0 }, F).await.unwrap();
        let r = create(&s, "b", Level::Room, u.id, "101", Detail::Room { floor_no: 1, door_plate: String::new() }, F).await.unwrap();
        let touch = room_ref(&s, "b", &r.id.to_string()).await.unwrap();
        delete(&s, "b", Level::Room, r.id).await.unwrap();
        assert!(s.transact(vec![touch]).await.unwrap_err().is_conflict());
        assert!(room_ref(&s, "b", "x").await.unwrap_err().message.contains("'RoomID'"));
    }
}
