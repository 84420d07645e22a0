//! A space's status change, whoever reports it (8.12 a partner, 8.13 a
//! reset, 9.14 the site's detectors): the space and its position records
//! change in one transaction, so a car is never in a space without a record
//! of it, nor in two open records of one space.

use super::model::{Map, Node, Position, Space, SpaceStatus};
use super::store;
use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::kit::stamp;
use onecard_core::retry::{on_conflict, Step};
use onecard_core::store::{Cond, Item, ItemStore, Write};
use onecard_core::{ApiError, ApiResult};

/// What a detector or partner said about one space.
#[derive(Clone, Debug)]
pub struct Report {
    pub status: SpaceStatus,
    /// Normalised plate, when the report named the car.
    pub plate: Option<String>,
    pub at: NaiveDateTime,
    pub image_key: Option<String>,
    pub img_url: Option<String>,
    /// The interface that reported ("8.12", "8.13", "9.14").
    pub source: &'static str,
}

/// The space before and after a report.
#[derive(Clone, Debug)]
pub struct Applied {
    pub before: Space,
    pub after: Space,
    /// The report was older than what the space knows, and changed nothing.
    pub stale: bool,
}

impl Applied {
    /// Did the number of free spaces move?
    pub fn free_changed(&self) -> bool {
        (self.before.status == SpaceStatus::Free) != (self.after.status == SpaceStatus::Free)
    }
}

fn position_item(branch: &str, p: &Position, by_car: bool) -> Item {
    let body = serde_json::to_value(p).unwrap_or_default();
    if by_car {
        Item::new(keys::pls_car_positions(branch, &p.plate), p.car_sk(), body)
    } else {
        Item::new(keys::pls_space_positions(branch, &p.space_no), p.space_sk(), body)
    }
}

/// Both copies of a position record.
fn position_writes(branch: &str, p: &Position) -> [Write; 2] {
    [Write::put(position_item(branch, p, true), Cond::None), Write::put(position_item(branch, p, false), Cond::None)]
}

async fn floor_of(s: &dyn ItemStore, branch: &str, space: &Space) -> ApiResult<(String, String)> {
    let Some((node, _)) = store::get::<Node>(s, branch, &space.node).await? else { return Ok((String::new(), String::new())) };
    let floor = store::get::<Map>(s, branch, &node.map_no).await?.map(|(m, _)| m.floor_name).unwrap_or_default();
    Ok((node.map_no, floor))
}

/// The open record of a space, read back by its sort key.
async fn open_position(s: &dyn ItemStore, branch: &str, space: &Space) -> ApiResult<Option<Position>> {
    let Some(sk) = &space.open_record else { return Ok(None) };
    Ok(match s.get(&keys::pls_space_positions(branch, &space.no), sk).await? {
        Some(i) => Some(i.parse()?),
        None => None,
    })
}

/// Applies a report to space `no`. A report older than the space's last one
/// changes nothing (a detector resending an old status must not undo a new
/// one) and is answered as done.
pub async fn apply(s: &dyn ItemStore, branch: &str, no: &str, r: &Report) -> ApiResult<Applied> {
    let at = stamp(r.at);
    on_conflict("parking space status", || async {
        let (space, version) =
            store::get::<Space>(s, branch, no).await?.ok_or_else(|| ApiError::field("parkLotNo", format!("parking space '{no}' does not exist")))?;
        if space.updated.as_deref().is_some_and(|u| u > at.as_str()) {
            return Ok(Step::Done(Applied { before: space.clone(), after: space, stale: true }));
        }
        let mut after = space.clone();
        after.status = r.status;
        after.updated = Some(at.clone());
        let mut writes = Vec::new();
        let open = open_position(s, branch, &space).await?;
        // Which car the space holds after this report: a free space none, an
        // occupied one the reported car (or the one it had, when unnamed), an
        // unknown or abnormal one whatever it had.
        let keep = match r.status {
            SpaceStatus::Free => None,
            SpaceStatus::Occupied => r.plate.clone().or_else(|| space.plate.clone()),
            SpaceStatus::Unknown | SpaceStatus::Abnormal => space.plate.clone(),
        };
        let same_car = open.as_ref().is_some_and(|p| Some(&p.plate) == keep.as_ref());
        if let Some(mut p) = open.clone().filter(|_| !same_car) {
            p.out_at = Some(at.clone());
            writes.extend(position_writes(branch, &p));
            after.open_record = None;
        }
        after.plate = keep.clone();
        if let (Some(plate), false) = (keep.as_ref(), same_car) {
            if r.status == SpaceStatus::Occupied {
                let (map_no, floor_name) = floor_of(s, branch, &space).await?;
                let p = Position {
                    plate: plate.clone(),
                    space_no: space.no.clone(),
                    space_name: space.name.clone(),
                    map_no,
                    floor_name,
                    in_at: at.clone(),
                    out_at: None,
                    image_key: r.image_key.clone(),
                    img_url: r.img_url.clone(),
                    source: r.source.to_string(),
                };
                after.open_record = Some(p.space_sk());
                writes.extend(position_writes(branch, &p));
            }
        } else if let (Some(mut p), true) = (open, same_car) {
            // The same car seen again: a new picture joins its record.
            if r.image_key.is_some() || r.img_url.is_some() {
                p.image_key = r.image_key.clone().or(p.image_key);
                p.img_url = r.img_url.clone().or(p.img_url);
                writes.extend(position_writes(branch, &p));
            }
        }
        writes.push(Write::put(store::item(branch, &after).with_version(version + 1), Cond::VersionIs(version)));
        let done = Applied { before: space, after, stale: false };
        Step::of(s.transact(writes).await, done)
    })
    .await
}

