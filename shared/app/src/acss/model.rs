//! What door access is made of: doors, time groups, permission groups, the
//! Bluetooth map and face terminals. The API reads them (7.1, 7.2, 7.11) and
//! sets only IBMS mode (7.13); operators write them with `onecard doors ...`.

use onecard_core::link::doors::{parse_tod, DoorRow, FaceTerminalRow, GrantRow, TimeGroupRow};
use onecard_core::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};

/// A door: reader `door_no` of access controller `controller_no`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Door {
    pub controller_no: String,
    pub door_no: String,
    pub name: String,
    #[serde(default)]
    pub controller_name: String,
    /// The room the door leads to (7.1 `roomid`), which 7.4's room-coded
    /// credentials expand through.
    #[serde(default)]
    pub room_id: String,
    /// The door's Bluetooth address (7.1 `bdid`).
    #[serde(default)]
    pub bdid: String,
    /// 7.10 `addr`: `<last IP octet>..<reader>`.
    #[serde(default)]
    pub addr: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub ibms: bool,
}

impl Door {
    /// The site's device id for the door (`acss::doors::door_device`).
    pub fn device(&self) -> String {
        format!("{}-{}", self.controller_no, self.door_no)
    }

    pub fn key(&self) -> String {
        format!("{}#{}", self.controller_no, self.door_no)
    }

    pub fn row(&self) -> DoorRow {
        DoorRow { device: self.device(), controller_no: self.controller_no.clone(), door_no: self.door_no.clone(), name: self.name.clone() }
    }
}

/// One period of a day, `HH:MM:SS` both ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: String,
    pub end: String,
}

/// The seed allows six periods a day (7.2 prints a seventh; it is answered
/// empty).
pub const MAX_PERIODS: usize = 6;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeGroup {
    pub id: String,
    pub name: String,
    /// Seven days, 0 Sunday .. 6 Saturday.
    pub days: Vec<Vec<Period>>,
}

impl TimeGroup {
    /// A group from `day=HH:MM:SS-HH:MM:SS,...` specs (admin, import): days
    /// `0-6`, or `*` for every day.
    pub fn parse(id: &str, name: &str, specs: &[String]) -> ApiResult<TimeGroup> {
        let mut days = vec![Vec::new(); 7];
        for spec in specs {
            let (day, periods) = spec.split_once('=').ok_or_else(|| ApiError::field("periods", format!("'{spec}' is not day=HH:MM:SS-HH:MM:SS,...")))?;
            let which: Vec<usize> = match day.trim() {
                "*" => (0..7).collect(),
                d => vec![d.parse::<usize>().ok().filter(|d| *d < 7).ok_or_else(|| ApiError::field("periods", format!("'{d}' is not a weekday 0-6 or *")))?],
            };
            for p in periods.split(',').filter(|p| !p.trim().is_empty()) {
                let (s, e) = p.split_once('-').ok_or_else(|| ApiError::field("periods", format!("'{p}' is not HH:MM:SS-HH:MM:SS")))?;
                let (Some(ps), Some(pe)) = (parse_tod(s), parse_tod(e)) else {
                    return Err(ApiError::field("periods", format!("'{p}' is not HH:MM:SS-HH:MM:SS")));
                };
                if pe < ps {
                    return Err(ApiError::field("periods", format!("'{p}' ends before it starts")));
                }
                for d in &which {
                    days[*d].push(Period { start: s.trim().to_string(), end: e.trim().to_string() });
                    if days[*d].len() > MAX_PERIODS {
                        return Err(ApiError::field("periods", format!("day {d} has more than {MAX_PERIODS} periods")));
                    }
                }
            }
        }
        Ok(TimeGroup { id: id.to_string(), name: name.to_string(), days })
    }

    pub fn row(&self) -> TimeGroupRow {
        TimeGroupRow { id: self.id.clone(), days: self.days.iter().map(|d| d.iter().map(|p| (p.start.clone(), p.end.clone())).collect()).collect() }
    }
}

/// A permission group: a time group and the doors (`controller#door` keys).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub time_group: String,
    #[serde(default)]
    pub doors: Vec<String>,
}

impl Grant {
    pub fn row(&self, doors: &[Door]) -> GrantRow {
        let devices = self.doors.iter().filter_map(|k| doors.iter().find(|d| d.key() == *k)).map(Door::device).collect();
        GrantRow { id: self.id.clone(), time_group: self.time_group.clone(), doors: devices }
    }
}

/// 7.11: a Bluetooth device and the door it sits by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bluetooth {
    pub bdid: String,
    pub door_name: String,
}

/// A face-recognition terminal the site drives as device `device`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceTerminal {
    pub device: String,
    pub name: String,
    /// 171 door access, 150 channel gate.
    pub module: i64,
}

impl FaceTerminal {
    pub fn row(&self) -> FaceTerminalRow {
        FaceTerminalRow { device: self.device.clone(), name: self.name.clone(), module: self.module }
    }
}

pub const MODULE_DOOR: i64 = 171;
pub const MODULE_GATE: i64 = 150;

pub fn check_module(field: &str, m: i64) -> ApiResult<i64> {
    match m {
        MODULE_DOOR | MODULE_GATE => Ok(m),
        _ => Err(ApiError::field(field, format!("'{m}' is not 171 (door access) or 150 (channel gate)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_groups_parse_from_day_specs() {
        let g = TimeGroup::parse("1", "办公", &["*=08:00:00-12:00:00,13:00:00-18:00:00".into(), "0=".into()]).unwrap();
        assert_eq!(g.days[1].len(), 2);
        assert!(TimeGroup::parse("1", "x", &["7=08:00:00-09:00:00".into()]).is_err());
        assert!(TimeGroup::parse("1", "x", &["1=09:00:00-08:00:00".into()]).is_err());
        assert!(TimeGroup::parse("1", "x", &["1=9-10".into()]).is_err());
    }
}
