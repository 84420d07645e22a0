//! 7.4's coded credentials (community-building-floor-room, e.g.
//! `1010001-G-5-5A`; a community alone for type 5) against the rooms holders
//! live in. A holder stores its room's id (`RoomID`, the directory's, issue
//! 17); its code is read from the directory: the community's number, the
//! building's name, the room's floor and the room's name
//! (`1010001-G-5-5A`). The seed prints the code, not how it is made: this
//! is our reading. A `RoomID` the directory does not know (written before
//! the directory existed) is read as the code itself.

use crate::org::directory::{Directory, Refs};

/// The 7.4 code of a holder's room (`Refs::of_holder`).
pub fn room_code(dir: &Directory, refs: &Refs<'_>) -> String {
    let n = dir.names(refs);
    if n.UpTownID.is_empty() {
        return refs.room.trim().to_string();
    }
    format!("{}-{}-{}-{}", n.UpTownID, n.Building, n.FloorNo, n.Room)
}

/// Is the holder's room `room_id` inside the coded `credential` of 7.4 type
/// `level` (5 community, 6 building, 7 room or unit)?
pub fn room_in(level: i64, credential: &str, room_id: &str) -> bool {
    let (c, r) = (credential.trim(), room_id.trim());
    if c.is_empty() || r.is_empty() {
        return false;
    }
    let parts: Vec<&str> = c.split('-').collect();
    let room: Vec<&str> = r.split('-').collect();
    // Type 5 names only the community; 6 at least community-building; 7 a
    // room, or a unit (floor) that holds rooms.
    let enough = match level {
        5 => !parts.is_empty(),
        6 => parts.len() >= 2,
        7 => parts.len() >= 3,
        _ => false,
    };
    enough && room.len() >= parts.len() && room[..parts.len()] == parts[..]
}

#[cfg(test)]
mod tests {
    use super::room_in;

    #[test]
    fn coded_credentials_cover_the_rooms_below_them() {
        assert!(room_in(5, "1010001", "1010001-G-5-5A"));
        assert!(room_in(6, "1010001-G", "1010001-G-5-5A"));
        assert!(room_in(7, "1010001-G-5-5A", "1010001-G-5-5A"));
        assert!(room_in(7, "1010001-G-5", "1010001-G-5-5A"));
        assert!(!room_in(7, "1010001-G-5-5B", "1010001-G-5-5A"));
        assert!(!room_in(6, "1010001-H", "1010001-G-5-5A"));
        assert!(!room_in(5, "101000", "1010001-G-5-5A"), "a prefix of a number is another community");
        assert!(!room_in(7, "1010001-G", "1010001-G-5-5A"), "type 7 needs a floor or room");
    }
}
