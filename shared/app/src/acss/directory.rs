//! 7.4's coded credentials (community-building-floor-room, e.g.
//! `1010001-G-5-5A`; a community alone for type 5) against the rooms holders
//! live in. The residential directory (communities, buildings, units, rooms)
//! is another module's (issue 17); until it is wired here, a holder's stored
//! `RoomID` is read as the coded room itself. This is the one function to
//! point at the directory's "rooms under this code" when it lands.

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
