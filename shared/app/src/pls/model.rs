//! The one model of parking guidance: maps and their navigation graph,
//! spaces with their groups and areas, the detectors that watch the spaces,
//! and the screens that show free counts. The same types are the stored
//! records and the site survey's import format (`survey.rs`), so a field
//! added here is importable at once.

use serde::{Deserialize, Serialize};

/// A space's state as detectors and partners report it (8.10, 8.12, 9.14).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub enum SpaceStatus {
    #[default]
    Unknown,
    Free,
    Occupied,
    Abnormal,
}

impl SpaceStatus {
    pub fn code(self) -> i64 {
        match self {
            SpaceStatus::Unknown => -1,
            SpaceStatus::Free => 0,
            SpaceStatus::Occupied => 1,
            SpaceStatus::Abnormal => 2,
        }
    }
    /// A detector that cannot say whether its space is taken (8.24's "fault").
    pub fn is_fault(self) -> bool {
        matches!(self, SpaceStatus::Unknown | SpaceStatus::Abnormal)
    }
}

impl TryFrom<i64> for SpaceStatus {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        Ok(match v {
            -1 => SpaceStatus::Unknown,
            0 => SpaceStatus::Free,
            1 => SpaceStatus::Occupied,
            2 => SpaceStatus::Abnormal,
            v => return Err(format!("'{v}' is not -1 (unknown), 0 (free), 1 (occupied) or 2 (abnormal)")),
        })
    }
}

impl From<SpaceStatus> for i64 {
    fn from(s: SpaceStatus) -> i64 {
        s.code()
    }
}

/// The seven space types of 8.14/8.15, with their output field prefixes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub enum SpaceKind {
    #[default]
    Standard,
    Mini,
    Side,
    BarrierFree,
    Truck,
    Charging,
    Woman,
}

impl SpaceKind {
    pub const ALL: [SpaceKind; 7] =
        [SpaceKind::Standard, SpaceKind::Mini, SpaceKind::Side, SpaceKind::BarrierFree, SpaceKind::Truck, SpaceKind::Charging, SpaceKind::Woman];

    pub fn code(self) -> i64 {
        SpaceKind::ALL.iter().position(|k| *k == self).map_or(1, |i| i as i64 + 1)
    }
}

impl TryFrom<i64> for SpaceKind {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        usize::try_from(v - 1)
            .ok()
            .and_then(|i| SpaceKind::ALL.get(i).copied())
            .ok_or_else(|| format!("'{v}' is not a space type 1-7 (standard, mini, side, barrier-free, truck, charging, women's)"))
    }
}

impl From<SpaceKind> for i64 {
    fn from(k: SpaceKind) -> i64 {
        k.code()
    }
}

/// A partition of the car park (分区): counts (8.15), groups and detectors
/// belong to one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Area {
    pub id: String,
    pub name: String,
}

/// A floor plan (场图). Its picture is a blob (decision 16).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Map {
    pub no: String,
    pub name: String,
    pub floor_id: String,
    /// What drivers read: "地下1层".
    pub floor_name: String,
    #[serde(default)]
    pub area_id: Option<String>,
    #[serde(default)]
    pub image_key: Option<String>,
}

/// A navigation map (导航图, 8.7-8.9): a picture drawn over a map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NavMap {
    pub no: String,
    pub name: String,
    pub map_no: String,
    #[serde(default)]
    pub image_key: Option<String>,
}

/// A vertex of the navigation graph, on one map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub id: String,
    pub map_no: String,
    pub x: f64,
    pub y: f64,
}

/// A walkable link. Within a map its cost defaults to the distance between
/// its ends; a connector (ends on two maps: lift, stairs, ramp) must give one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub cost: Option<f64>,
    /// What a driver is told to take ("1号电梯").
    #[serde(default)]
    pub name: Option<String>,
}

/// A car-finding point (寻车点, 8.1): where a route starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    pub no: String,
    pub name: String,
    pub node: String,
}

/// A space group (车位分组, 8.20, 8.21).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub no: String,
    pub name: String,
    pub area_id: String,
    /// Where a route to the group ends (and its 8.20 x, y).
    pub node: String,
}

/// A parking space (车位) with what its detector last said.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Space {
    pub no: String,
    /// The space number drivers read ("A74").
    pub name: String,
    pub node: String,
    #[serde(default)]
    pub group_no: Option<String>,
    #[serde(default)]
    pub area_id: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: SpaceKind,
    #[serde(default)]
    pub status: SpaceStatus,
    /// The car in the space, when a report named it.
    #[serde(default)]
    pub plate: Option<String>,
    /// When `status` was last reported (branch-local `yyyy-MM-dd HH:mm:ss`).
    #[serde(default)]
    pub updated: Option<String>,
    /// The sort key of the open position record, while a known car is in it.
    #[serde(default)]
    pub open_record: Option<String>,
}

/// An RS-485 converter (转换器, 8.26).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Switch {
    pub no: String,
    pub address: String,
}

/// A guidance controller (8.27) on a converter, serving one map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Controller {
    pub no: String,
    pub address: String,
    pub switch_no: String,
    pub map_no: String,
}

/// An ultrasonic detector (8.28) over one space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ultrasonic {
    pub address: String,
    pub controller_no: String,
    pub space_no: String,
    /// Reported broken (9.12 or the survey), whatever its space says.
    #[serde(default)]
    pub fault: bool,
}

impl Ultrasonic {
    /// Addresses repeat across controllers.
    pub fn key(&self) -> String {
        format!("{}#{}", self.controller_no, self.address)
    }
}

/// A video detector (8.25): one camera over up to six spaces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoDetector {
    pub no: String,
    pub name: String,
    pub ip: String,
    #[serde(default)]
    pub area_id: Option<String>,
    #[serde(default)]
    pub group_no: Option<String>,
    /// Used for zone guidance (counts cars between groups).
    #[serde(default)]
    pub is_group_dev: bool,
    #[serde(default)]
    pub from_group: Option<String>,
    #[serde(default)]
    pub to_group: Option<String>,
    #[serde(default)]
    pub plane_guidance: bool,
    #[serde(default)]
    pub fault: bool,
    /// Space numbers, lane 1 first; at most six.
    #[serde(default)]
    pub spaces: Vec<String>,
}

/// A guidance screen (车位引导屏, 8.22, 8.23): a board at the site, driven
/// through the agent as device `device`, showing the free count of its
/// areas and groups beside an arrow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Screen {
    pub no: String,
    pub name: String,
    pub map_no: String,
    pub x: f64,
    pub y: f64,
    /// The agent's device id; the screen number when absent.
    #[serde(default)]
    pub device: Option<String>,
    /// 8.23's codes: 0-7 (right, left, up, down; +4 scrolling), 255 none.
    #[serde(default)]
    pub arrow: u8,
    #[serde(default)]
    pub arrow_to_left: u8,
    /// The text beside the count ("负二层").
    #[serde(default)]
    pub label: String,
    /// What it counts: the free spaces of these areas and groups.
    #[serde(default)]
    pub areas: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// The count it shows now, as last acknowledged by the agent.
    #[serde(default)]
    pub shown: Option<i64>,
}

impl Screen {
    pub fn device_id(&self) -> &str {
        self.device.as_deref().filter(|d| !d.is_empty()).unwrap_or(&self.no)
    }
    /// Does this screen count `space`?
    pub fn counts(&self, space: &Space) -> bool {
        space.area_id.as_ref().is_some_and(|a| self.areas.contains(a)) || space.group_no.as_ref().is_some_and(|g| self.groups.contains(g))
    }
}

/// One car in one space (8.5, 8.6, 8.16-8.19): opened when a space reports
/// the car, closed when it reports the space free or another car.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub plate: String,
    pub space_no: String,
    pub space_name: String,
    pub map_no: String,
    pub floor_name: String,
    pub in_at: String,
    #[serde(default)]
    pub out_at: Option<String>,
    /// The picture in the blob store.
    #[serde(default)]
    pub image_key: Option<String>,
    /// A picture the detector keeps itself (9.14 `imgUrl`).
    #[serde(default)]
    pub img_url: Option<String>,
    /// Which interface opened it ("8.12", "9.14").
    pub source: String,
}

impl Position {
    pub fn car_sk(&self) -> String {
        format!("{}#{}", self.in_at, self.space_no)
    }
    pub fn space_sk(&self) -> String {
        format!("{}#{}", self.in_at, self.plate)
    }
}

/// A site alarm (9.12) or a car that could not leave (9.17), kept for the
/// operators.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteEvent {
    pub kind: String,
    pub at: String,
    pub body: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_refuse_the_rest() {
        for s in [SpaceStatus::Unknown, SpaceStatus::Free, SpaceStatus::Occupied, SpaceStatus::Abnormal] {
            assert_eq!(SpaceStatus::try_from(s.code()), Ok(s));
        }
        assert!(SpaceStatus::try_from(3).is_err());
        for k in SpaceKind::ALL {
            assert_eq!(SpaceKind::try_from(k.code()), Ok(k));
        }
        assert!(SpaceKind::try_from(0).is_err() && SpaceKind::try_from(8).is_err());
        let s: Space = serde_json::from_value(serde_json::json!({"no": "P1", "name": "A1", "node": "n", "type": 6, "status": 0})).unwrap();
        assert_eq!((s.kind, s.status), (SpaceKind::Charging, SpaceStatus::Free));
    }
}
