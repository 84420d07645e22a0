//! Bulk import of an existing site, one row at a time: departments (and the
//! other organisation lists), residences, cardholders, cards and plates.
//! `onecard import` reads the file (CSV or a list route's JSON) and shows
//! progress; this module decides what each row means.
//!
//! Each row is written whole or not at all (one transaction, or one route
//! call that is itself one), and a row that is already there is left alone,
//! so running an import again changes nothing. Rows find what they name by
//! natural keys: list entries by id (or name), residences by their name path
//! (community / building / unit / room), holders by `UserNo`, cards by
//! `CardNo`. A holder may name its room and department by name, as 10.14
//! answers them, so a list taken from another system imports as it is.

use super::lists::{self, Entry, ListKind, Outcome};
use super::residence::{self, check_detail, create_write, update_write, Detail, Found, Level, Node};
use crate::cards::holders::{self, AddIn, HOLDER_TEXT_FIELDS};
use crate::cards::store::{get_card, holder_create, holder_update, holder_versioned};
use crate::ids;
use onecard_core::config::{self, Branch};
use onecard_core::kit::{input, normalise_plate};
use onecard_core::store::Write;
use onecard_core::{dispatch, ApiError, ApiResult, Ctx, Origin, Registry};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// A row: column (or JSON field) → value.
pub type Row = Map<String, Value>;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    List(ListKind),
    Residences,
    Holders,
    Cards,
    Plates,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "departments" | "depts" => Kind::List(ListKind::Dept),
            "duties" => Kind::List(ListKind::Duty),
            "positions" => Kind::List(ListKind::Position),
            "companies" => Kind::List(ListKind::Company),
            "residences" | "rooms" => Kind::Residences,
            "cardholders" | "holders" => Kind::Holders,
            "cards" => Kind::Cards,
            "plates" => Kind::Plates,
            _ => return None,
        })
    }
}

/// How many times a row is tried when another writer changed what it read.
const ATTEMPTS: usize = 3;
/// Ids drawn from a counter at once.
const ID_BLOCK: i64 = 256;

/// A row's value: trimmed, numbers as text, empty as absent.
pub fn value(row: &Row, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        let v = match row.get(*n)? {
            Value::String(s) => s.trim().to_string(),
            Value::Null => String::new(),
            Value::Number(x) => x.to_string(),
            Value::Bool(b) => b.to_string(),
            other => other.to_string(),
        };
        (!v.is_empty()).then_some(v)
    })
}

fn int(row: &Row, name: &str) -> Result<Option<i64>, String> {
    match value(row, &[name]) {
        None => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| format!("field '{name}': '{v}' is not a whole number")),
    }
}

fn msg(e: ApiError) -> String {
    e.message
}

/// One import run: caches what it reads so that ten thousand rows are not
/// ten thousand scans.
pub struct Importer {
    ctx: Ctx,
    branch: Branch,
    reg: Registry,
    tree: HashMap<(Level, i64, String), Found>,
    list_ids: HashMap<(ListKind, String), i64>,
    ids: HashMap<Level, (i64, i64)>,
}

impl Importer {
    pub async fn new(ctx: Ctx, branch: &str) -> ApiResult<Importer> {
        let b = config::get_branch(ctx.store(), branch).await?.ok_or_else(|| ApiError::failed(format!("branch {branch} does not exist")))?;
        let mut me = Importer { ctx, branch: b, reg: crate::registry(), tree: HashMap::new(), list_ids: HashMap::new(), ids: HashMap::new() };
        me.reload().await?;
        Ok(me)
    }

    fn b(&self) -> &str {
        &self.branch.branchno
    }

    async fn reload(&mut self) -> ApiResult<()> {
        let (store, b) = (self.ctx.store(), self.branch.branchno.clone());
        self.tree.clear();
        for level in Level::ALL {
            for f in residence::list_found(store, &b, level).await? {
                self.tree.insert((level, f.node.parent, f.node.name.clone()), f);
            }
        }
        self.list_ids.clear();
        for k in ListKind::ALL {
            for e in lists::list(store, &b, k).await? {
                self.list_ids.insert((k, e.name), e.id);
            }
        }
        Ok(())
    }

    async fn next_id(&mut self, level: Level) -> ApiResult<i64> {
        let (next, end) = self.ids.get(&level).copied().unwrap_or((0, 0));
        let next = if next < end {
            next
        } else {
            ids::reserve_in(self.ctx.store(), &self.branch.branchno, &format!("hr-{}", level.key()), ID_BLOCK).await?
        };
        let end = if next < end { end } else { next + ID_BLOCK };
        self.ids.insert(level, (next + 1, end));
        Ok(next)
    }

    /// Imports one row; the error is the reason it was refused.
    pub async fn row(&mut self, kind: Kind, row: &Row) -> Result<Outcome, String> {
        for _ in 0..ATTEMPTS {
            let r = match kind {
                Kind::List(k) => return self.list_row(k, row).await,
                Kind::Residences => self.residence_row(row).await,
                Kind::Holders => self.holder_row(row).await,
                Kind::Cards => return self.card_row(row).await,
                Kind::Plates => return self.plate_row(row).await,
            };
            match r {
                Err(Retry::Conflict) => self.reload().await.map_err(msg)?,
                Err(Retry::Refused(m)) => return Err(m),
                Ok(o) => return Ok(o),
            }
        }
        Err("other writers kept changing what this row names; run the import again".into())
    }

    async fn list_row(&mut self, k: ListKind, row: &Row) -> Result<Outcome, String> {
        let (id_cols, name_cols): (&[&str], &[&str]) = match k {
            ListKind::Dept => (&["DeptID"], &["DeptName"]),
            ListKind::Duty => (&["DutyID"], &["DutyName", "Duty"]),
            ListKind::Position => (&["PostID", "PositionID"], &["PostName", "PositionName", "Position"]),
            ListKind::Company => (&["CompanyID"], &["CompanyName"]),
        };
        let name = value(row, name_cols).ok_or_else(|| format!("field '{}': is required", name_cols[0]))?;
        let abbr = value(row, &["AbbrCode"]).filter(|_| k == ListKind::Company);
        let (store, b) = (self.ctx.store(), self.branch.branchno.clone());
        let out = match value(row, id_cols) {
            Some(raw) => {
                let id = raw.parse::<i64>().map_err(|_| format!("field '{}': '{raw}' is not a number", id_cols[0]))?;
                lists::put(store, &b, k, &Entry { id, name: name.clone(), abbr }).await.map_err(msg)?
            }
            None => match self.list_ids.get(&(k, name.clone())) {
                Some(_) => Outcome::Unchanged,
                None => {
                    let e = lists::add(store, &b, k, &name, abbr).await.map_err(msg)?;
                    self.list_ids.insert((k, e.name), e.id);
                    Outcome::Created
                }
            },
        };
        if let Some(id) = value(row, id_cols).and_then(|v| v.parse().ok()) {
            self.list_ids.insert((k, name), id);
        }
        Ok(out)
    }

    /// The path a row names, from the community down, as far as it goes.
    fn path(row: &Row) -> Result<Vec<(Level, String)>, String> {
        let mut path = Vec::new();
        for level in Level::ALL {
            let cols: &[&str] = match level {
                Level::Community => &["UpTown", "Uptown"],
                Level::Building => &["Building"],
                Level::Unit => &["Cells", "Cell"],
                Level::Room => &["Room"],
            };
            match value(row, cols) {
                Some(name) if path.len() == Level::ALL.iter().position(|l| *l == level).unwrap_or(0) => path.push((level, name)),
                Some(_) => return Err(format!("field '{}': needs the levels above it", level.name_field())),
                None => {}
            }
        }
        if path.is_empty() {
            return Err("field 'UpTown': is required".into());
        }
        Ok(path)
    }

    async fn residence_row(&mut self, row: &Row) -> Result<Outcome, Retry> {
        let path = Self::path(row)?;
        let floors = int(row, "Floors")?;
        let basement = int(row, "BasementFloors")?;
        let floor_no = int(row, "FloorNo")?;
        let door_plate = value(row, &["DoorPlate"]);
        let b = self.b().to_string();
        let mut writes: Vec<Write> = Vec::new();
        let mut cached: Vec<(Level, Found)> = Vec::new();
        // The node above the current one, and whether this row writes it.
        let mut parent: Option<(Level, Found, bool)> = None;
        let (mut created, mut updated) = (false, false);
        for (level, name) in path {
            if name.chars().count() > 50 {
                return Err(Retry::Refused(format!("field '{}': longer than 50 characters", level.name_field())));
            }
            let pid = parent.as_ref().map_or(0, |p| p.1.node.id);
            let existing = self.tree.get(&(level, pid, name.clone())).cloned();
            let wanted = match level {
                Level::Community | Level::Building => Some(Detail::Plain),
                Level::Unit => floors.map(|f| Detail::Unit {
                    floors: f,
                    basement_floors: basement.or(existing.as_ref().map(|e| e.node.floors().1)).unwrap_or(0),
                }),
                Level::Room => floor_no.map(|f| Detail::Room {
                    floor_no: f,
                    door_plate: door_plate.clone().or(existing.as_ref().map(|e| e.node.door_plate().to_string())).unwrap_or_default(),
                }),
            };
            let parent_node = parent.as_ref().map(|p| p.1.node.clone());
            let here = match existing {
                Some(found) => match wanted.filter(|d| *d != found.node.detail) {
                    None => (found, false),
                    Some(d) => {
                        let next = Node { detail: d, ..found.node.clone() };
                        check_detail(level, &next.detail, parent_node.as_ref())?;
                        if level == Level::Unit {
                            self.rooms_fit(&next)?;
                        }
                        writes.push(update_write(&b, level, &found, &next));
                        updated = true;
                        let f = Found { node: next, version: found.version + 1 };
                        cached.push((level, f.clone()));
                        (f, true)
                    }
                },
                None => {
                    let detail = wanted.ok_or_else(|| match level {
                        Level::Unit => "field 'Floors': is required for a new unit".to_string(),
                        _ => "field 'FloorNo': is required for a new room".to_string(),
                    })?;
                    check_detail(level, &detail, parent_node.as_ref())?;
                    let node = Node { id: self.next_id(level).await.map_err(msg)?, parent: pid, name: name.clone(), detail };
                    writes.push(create_write(&b, level, &node));
                    if let Some((pl, pf, written)) = parent.as_mut() {
                        if !*written {
                            writes.push(pf.touch(&b, *pl));
                            pf.version += 1;
                            cached.push((*pl, pf.clone()));
                            *written = true;
                        }
                    }
                    created = true;
                    let f = Found { node, version: 1 };
                    cached.push((level, f.clone()));
                    (f, true)
                }
            };
            parent = Some((level, here.0, here.1));
        }
        if writes.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        match self.ctx.store().transact(writes).await {
            Ok(()) => {
                for (level, f) in cached {
                    self.tree.insert((level, f.node.parent, f.node.name.clone()), f);
                }
                Ok(if created { Outcome::Created } else if updated { Outcome::Updated } else { Outcome::Unchanged })
            }
            Err(e) if e.is_conflict() => Err(Retry::Conflict),
            Err(e) => Err(Retry::Refused(e.to_string())),
        }
    }

    /// A unit's new floors must keep the floors its rooms are on.
    fn rooms_fit(&self, unit: &Node) -> Result<(), String> {
        let (floors, basement) = unit.floors();
        let stranded = self.tree.iter().find(|((l, p, _), f)| *l == Level::Room && *p == unit.id && f.node.floor_no().is_some_and(|x| x > floors || x < -basement));
        match stranded {
            Some((_, f)) => Err(format!("field 'Floors': room {} is on floor {}", f.node.name, f.node.floor_no().unwrap_or(0))),
            None => Ok(()),
        }
    }

    /// The room a holder row names by its path, as 10.14 answers it.
    fn room_by_names(&self, row: &Row) -> Result<Option<i64>, String> {
        if value(row, &["Room"]).is_none() {
            return Ok(None);
        }
        let mut pid = 0;
        for (level, name) in Self::path(row)? {
            pid = self
                .tree
                .get(&(level, pid, name.clone()))
                .map(|f| f.node.id)
                .ok_or_else(|| format!("{} '{name}' does not exist (import the residences first)", level.noun()))?;
        }
        Ok(Some(pid))
    }

    fn list_id_by_name(&self, row: &Row, k: ListKind, id_col: &str, name_cols: &[&str]) -> Result<Option<String>, String> {
        if let Some(id) = value(row, &[id_col]) {
            return Ok(Some(id));
        }
        match value(row, name_cols) {
            None => Ok(None),
            Some(name) => match self.list_ids.get(&(k, name.clone())) {
                Some(id) => Ok(Some(id.to_string())),
                None => Err(format!("{} '{name}' does not exist (import the {} list first)", k.noun(), k.noun())),
            },
        }
    }

    async fn holder_row(&mut self, row: &Row) -> Result<Outcome, Retry> {
        let mut obj = Map::new();
        let plain = ["UserNo", "FstName", "Gender", "Birthday", "IdentityTypeID", "LicensePlate"];
        for f in plain.iter().chain(HOLDER_TEXT_FIELDS) {
            if let Some(v) = value(row, &[f]) {
                obj.insert(f.to_string(), Value::String(v));
            }
        }
        if let Some(room) = self.room_by_names(row)? {
            obj.insert("RoomID".into(), Value::String(room.to_string()));
        }
        for (k, id_col, names) in [
            (ListKind::Dept, "DeptID", &["DeptName"][..]),
            (ListKind::Duty, "DutyID", &["Duty", "DutyName"][..]),
            (ListKind::Position, "PositionID", &["Position", "PostName"][..]),
        ] {
            if let Some(id) = self.list_id_by_name(row, k, id_col, names)? {
                obj.insert(id_col.into(), Value::String(id));
            }
        }
        let input: AddIn = input::parse(Value::Object(obj)).map_err(msg)?;
        let h = holders::holder_of(&input).map_err(msg)?;
        let (ctx, b) = (&self.ctx, self.branch.branchno.as_str());
        let (writes, outcome) = match holder_versioned(ctx, b, &h.user_no).await.map_err(msg)? {
            None => {
                let mut w = vec![holder_create(b, &h)];
                w.extend(room_touch(ctx, b, h.fields.get("RoomID")).await?);
                (w, Outcome::Created)
            }
            Some(old) => {
                let mut next = old.value.clone();
                next.name = h.name.clone();
                next.gender = h.gender;
                next.birthday = h.birthday.or(next.birthday);
                next.identity_type = h.identity_type.or(next.identity_type);
                next.plate = h.plate.clone().or(next.plate);
                next.fields.extend(h.fields.clone());
                if next == old.value {
                    return Ok(Outcome::Unchanged);
                }
                let mut w = vec![holder_update(b, &old, &next)];
                let moved = next.fields.get("RoomID").filter(|r| old.value.fields.get("RoomID") != Some(*r));
                w.extend(room_touch(ctx, b, moved).await?);
                (w, Outcome::Updated)
            }
        };
        match ctx.store().transact(writes).await {
            Ok(()) => Ok(outcome),
            Err(e) if e.is_conflict() => Err(Retry::Conflict),
            Err(e) => Err(Retry::Refused(e.to_string())),
        }
    }

    async fn call(&self, route: &str, data: Value) -> Result<Value, String> {
        let spec = self.reg.find(route).ok_or_else(|| format!("route {route} is not in this build"))?;
        dispatch::run(&self.ctx, &self.reg, spec, Origin::Internal, self.branch.clone(), data, None).await.map(|r| r.data).map_err(msg)
    }

    /// A card row: 10.15's input, as JSON (with `Park`/`Acss` objects) or
    /// as CSV columns (the `Park` fields by name, `Acss.` + name for the
    /// door side). A card already issued is left as it is: a change to it is
    /// a renewal or an edit, not an import.
    async fn card_row(&mut self, row: &Row) -> Result<Outcome, String> {
        let card_no = value(row, &["CardNo"]).ok_or("field 'CardNo': is required (it is what finds the card again on a second run)")?;
        if get_card(&self.ctx, self.b(), &card_no).await.map_err(msg)?.is_some() {
            return Ok(Outcome::Unchanged);
        }
        let mut data = Map::new();
        let (mut park, mut acss) = (Map::new(), Map::new());
        const TOP: &[&str] = &["CardNo", "CardID", "NumNo", "CardMaterial", "UserNo", "Mobile", "HomeAddr"];
        for (k, v) in row {
            match k.as_str() {
                "Park" | "Acss" if v.is_object() => {
                    data.insert(k.clone(), v.clone());
                }
                k if TOP.contains(&k) => {
                    data.insert(k.to_string(), v.clone());
                }
                k => match k.strip_prefix("Acss.") {
                    Some(f) => {
                        acss.insert(f.to_string(), v.clone());
                    }
                    None => {
                        park.insert(k.strip_prefix("Park.").unwrap_or(k).to_string(), v.clone());
                    }
                },
            }
        }
        park.retain(|_, v| !(v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())));
        acss.retain(|_, v| !(v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())));
        if !park.is_empty() && !data.contains_key("Park") {
            data.insert("Park".into(), Value::Object(park));
        }
        if !acss.is_empty() && !data.contains_key("Acss") {
            data.insert("Acss".into(), Value::Object(acss));
        }
        self.call("pub.card.add", Value::Object(data)).await?;
        Ok(Outcome::Created)
    }

    /// A plate row: `CardNo` and the plate(s) it carries (`LicensePlate`,
    /// `LicensePlate2`), set through 10.42.
    async fn plate_row(&mut self, row: &Row) -> Result<Outcome, String> {
        let card_no = value(row, &["CardNo"]).ok_or("field 'CardNo': is required")?;
        let plates: Vec<String> = [value(row, &["LicensePlate"]), value(row, &["LicensePlate2"])].into_iter().flatten().collect();
        if plates.is_empty() {
            return Err("field 'LicensePlate': is required".into());
        }
        let card = get_card(&self.ctx, self.b(), &card_no).await.map_err(msg)?.ok_or_else(|| format!("card {card_no} does not exist (import the cards first)"))?;
        let wanted: Vec<String> = plates.iter().map(|p| normalise_plate(p)).collect();
        if card.plates == wanted {
            return Ok(Outcome::Unchanged);
        }
        let mut park = json!({"LicensePlate": plates[0]});
        if let Some(p2) = plates.get(1) {
            park["LicensePlate2"] = json!(p2);
        }
        self.call("pub.card.update", json!({"CredentialType": "2", "Credential": card_no, "Park": park})).await?;
        Ok(Outcome::Updated)
    }
}

/// The room reference a holder's write carries, if it names a room.
async fn room_touch(ctx: &Ctx, branch: &str, room: Option<&String>) -> ApiResult<Option<Write>> {
    match room {
        Some(r) => residence::room_ref(ctx.store(), branch, r).await.map(Some),
        None => Ok(None),
    }
}

/// Why an attempt at a row stopped.
enum Retry {
    /// Another writer changed what the row read: reload and try again.
    Conflict,
    Refused(String),
}

impl From<String> for Retry {
    fn from(s: String) -> Retry {
        Retry::Refused(s)
    }
}

impl From<ApiError> for Retry {
    fn from(e: ApiError) -> Retry {
        Retry::Refused(e.message)
    }
}

#[cfg(test)]
mod tests;
