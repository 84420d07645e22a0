//! Syncing a site configuration of any size over 32 KiB frames.
//!
//! A big car park has 20,000 monthly plates (about 1 MB of JSON), so the
//! configuration travels as a *sync*: one or more `siteconfig` frames of the
//! same `version`, each under [`CHUNK_BUDGET`](super::CHUNK_BUDGET). The plates,
//! the door cards, the blacklist rows and the locked plates are each split into
//! [`BUCKETS`] buckets by a hash of their key ([`Kind`]); each bucket has a
//! digest and the version is the digest of the head (controllers, policy, the
//! rest of the lane and door rules) and the bucket digests. Once a peer holds a copy, a change goes out as a *delta*
//! that replaces only the buckets whose digest moved: one card change costs
//! one bucket (~80 plates or door cards), not the whole list. Replacing a bucket is absolute,
//! so a delta needs no ordering or acknowledgement beyond the transport's; the
//! agent still checks the result against the version and asks for a full sync
//! (`resync`) when it does not add up.

use super::doors::{DoorCard, DoorRules};
use super::{encode_frame, BlackRow, FrameTooLarge, LaneRules, MonthlyPlate, Msg, OfflinePolicy, SiteConfig};
use crate::config::Controller;
use std::collections::BTreeSet;

mod table;
use table::{Row, Table};

/// Buckets each kind of row is spread over. Both sides compute buckets with
/// the same hash; a peer with another count ends with another version and is
/// sent everything, so changing it stays safe.
pub const BUCKETS: usize = 256;

/// The kinds of rows that travel in buckets. A delta names buckets in one
/// index space, `kind * BUCKETS + bucket`, and [`Held::digests`] lists them in
/// that order, so a record made before a kind was added (fewer digests) just
/// gets a full sync.
///
/// Door cards, blacklist rows and locked plates are kinds of their own rather
/// than parts of the head: a branch has thousands of them, which no single
/// frame holds (about 1,500 locked plates already fill one), and one card
/// change or one lock must cost one bucket, as a plate's does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Plate = 0,
    DoorCard = 1,
    Black = 2,
    Locked = 3,
}

pub const KINDS: usize = 4;

impl Kind {
    /// The kind and its own bucket for a global bucket index.
    pub fn of(global: usize) -> Option<(Kind, usize)> {
        let kind = match global / BUCKETS {
            0 => Kind::Plate,
            1 => Kind::DoorCard,
            2 => Kind::Black,
            3 => Kind::Locked,
            _ => return None,
        };
        Some((kind, global % BUCKETS))
    }

    pub fn global(self, bucket: usize) -> usize {
        self as usize * BUCKETS + bucket
    }
}

/// FNV-1a, 64 bit: stable across processes and builds (std's hasher is not),
/// so two cloud instances and the agent agree on buckets and versions.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub fn digest(text: &str) -> String {
    format!("{:016x}", fnv(text.as_bytes()))
}

/// The plate bucket of a plate (normalised first).
pub fn bucket_of(plate_no: &str) -> usize {
    table::plate_bucket(plate_no)
}

/// The global bucket (see [`Kind`]) of a door card.
pub fn card_bucket_of(card: &DoorCard) -> usize {
    Kind::DoorCard.global(card.bucket())
}

/// A site configuration indexed by bucket. The head (controllers, policy, the
/// lanes without their blacklist and locked plates, the doors without their
/// cards) travels
/// whole in the first frame of every sync; the rows travel in buckets.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteState {
    pub controllers: Vec<Controller>,
    pub offline: Option<OfflinePolicy>,
    /// The head of the lane rules only: the blacklist rows are in `black`,
    /// the locked plates in `locked`.
    lanes: Option<LaneRules>,
    /// Doors, time groups, grants, key, revoked codes, terminals: the cards
    /// are in `cards`.
    doors: Option<DoorRules>,
    plates: Table<MonthlyPlate>,
    cards: Table<DoorCard>,
    black: Table<BlackRow>,
    locked: Table<String>,
}

/// One row of a frame, whatever its kind.
enum Item<'a> {
    Plate(&'a MonthlyPlate),
    Card(&'a DoorCard),
    Black(&'a BlackRow),
    Locked(&'a String),
}

impl Item<'_> {
    fn cost(&self) -> usize {
        let text = match self {
            Item::Plate(r) => serde_json::to_string(r),
            Item::Card(r) => serde_json::to_string(r),
            Item::Black(r) => serde_json::to_string(r),
            Item::Locked(r) => serde_json::to_string(r),
        };
        text.map(|t| t.len()).unwrap_or(0) + 1
    }

    fn put(self, f: &mut SiteConfig) {
        match self {
            Item::Plate(r) => f.monthly_plates.push(r.clone()),
            Item::Card(r) => f.door_cards.push(r.clone()),
            Item::Black(r) => f.blacklist.push(r.clone()),
            Item::Locked(r) => f.locked.push(r.clone()),
        }
    }
}

fn is_empty(f: &SiteConfig) -> bool {
    f.monthly_plates.is_empty() && f.door_cards.is_empty() && f.blacklist.is_empty() && f.locked.is_empty()
}

impl SiteState {
    pub fn new(controllers: Vec<Controller>, plates: impl IntoIterator<Item = MonthlyPlate>, offline: Option<OfflinePolicy>) -> SiteState {
        SiteState {
            controllers,
            offline,
            lanes: None,
            doors: None,
            plates: Table::new(plates),
            cards: Table::new(Vec::new()),
            black: Table::new(Vec::new()),
            locked: Table::new(Vec::new()),
        }
    }

    pub fn from_config(cfg: &SiteConfig) -> SiteState {
        SiteState::new(cfg.controllers.clone(), cfg.monthly_plates.iter().cloned(), cfg.offline.clone())
            .with_lanes(cfg.lanes.clone())
            .with_doors(cfg.doors.clone())
    }

    /// The lane rules, their blacklist rows and locked plates put in buckets.
    pub fn with_lanes(mut self, lanes: Option<LaneRules>) -> SiteState {
        let (head, rows, locked) = match lanes {
            Some(mut l) => {
                let rows = std::mem::take(&mut l.blacklist);
                let locked = std::mem::take(&mut l.locked);
                (Some(l), rows, locked)
            }
            None => (None, Vec::new(), Vec::new()),
        };
        self.lanes = head;
        self.black = Table::new(rows);
        self.locked = Table::new(locked);
        self
    }

    /// The door rules, their cards put in buckets.
    pub fn with_doors(mut self, doors: Option<DoorRules>) -> SiteState {
        let (head, rows) = match doors {
            Some(mut d) => {
                let rows = std::mem::take(&mut d.cards);
                (Some(d), rows)
            }
            None => (None, Vec::new()),
        };
        self.doors = head;
        self.cards = Table::new(rows);
        self
    }

    pub fn version(&self) -> String {
        let head = serde_json::to_string(&(&self.controllers, &self.offline, &self.lanes, &self.doors)).unwrap_or_default();
        let digests: Vec<&str> = self.all_digests().map(String::as_str).collect();
        digest(&format!("{head}\n{}", digests.join(",")))
    }

    fn all_digests(&self) -> impl Iterator<Item = &String> {
        self.plates.digests().iter().chain(self.cards.digests()).chain(self.black.digests()).chain(self.locked.digests())
    }

    pub fn held(&self) -> Held {
        Held { version: self.version(), digests: self.all_digests().cloned().collect() }
    }

    pub fn plate_count(&self) -> usize {
        self.plates.len()
    }

    pub fn card_count(&self) -> usize {
        self.cards.len()
    }

    pub fn blacklist_count(&self) -> usize {
        self.black.len()
    }

    pub fn locked_count(&self) -> usize {
        self.locked.len()
    }

    /// The whole configuration as one (unchunked) value, for the agent's disk
    /// copy and its lane and door logic: the cards back in `doors.cards`, the
    /// blacklist rows back in `lanes.blacklist`, the locked plates back in
    /// `lanes.locked`.
    pub fn to_config(&self, version: &str) -> SiteConfig {
        let lanes = self.lanes.clone().map(|mut l| {
            l.blacklist = self.black.rows().cloned().collect();
            l.locked = self.locked.rows().cloned().collect();
            l
        });
        let doors = self.doors.clone().map(|mut d| {
            d.cards = self.cards.rows().cloned().collect();
            d
        });
        SiteConfig {
            version: version.to_string(),
            controllers: self.controllers.clone(),
            monthly_plates: self.plates.rows().cloned().collect(),
            offline: self.offline.clone(),
            lanes,
            doors,
            ..Default::default()
        }
    }

    fn items(&self, global: usize) -> Box<dyn Iterator<Item = Item<'_>> + '_> {
        match Kind::of(global) {
            Some((Kind::Plate, b)) => Box::new(self.plates.bucket(b).iter().map(Item::Plate)),
            Some((Kind::DoorCard, b)) => Box::new(self.cards.bucket(b).iter().map(Item::Card)),
            Some((Kind::Black, b)) => Box::new(self.black.bucket(b).iter().map(Item::Black)),
            Some((Kind::Locked, b)) => Box::new(self.locked.bucket(b).iter().map(Item::Locked)),
            None => Box::new(std::iter::empty()),
        }
    }

    /// The frames that bring a peer holding `held` (None: nothing known) to
    /// this state: nothing when it is current, a delta of the changed buckets
    /// when its bucket digests are known, else everything. Each frame's rows
    /// stay within `budget` bytes; a frame that still exceeds the 32 KiB limit
    /// (a head too big for one frame) is an error, and nothing of the sync
    /// should be sent.
    pub fn plan(&self, held: Option<&Held>, budget: usize) -> Result<Vec<SiteConfig>, FrameTooLarge> {
        let version = self.version();
        if held.is_some_and(|h| h.version == version) {
            return Ok(Vec::new());
        }
        let mine: Vec<&String> = self.all_digests().collect();
        let changed: Option<Vec<usize>> =
            held.filter(|h| h.digests.len() == mine.len()).map(|h| (0..mine.len()).filter(|i| h.digests[*i] != *mine[*i]).collect());
        let (delta, buckets) = match changed {
            Some(c) => (true, c),
            None => (false, (0..mine.len()).collect()),
        };
        let head = SiteConfig {
            version: version.clone(),
            controllers: self.controllers.clone(),
            offline: self.offline.clone(),
            lanes: self.lanes.clone(),
            doors: self.doors.clone(),
            delta,
            buckets: if delta { buckets.iter().map(|b| *b as u32).collect() } else { Vec::new() },
            ..Default::default()
        };
        let items = buckets.iter().flat_map(|b| self.items(*b));
        let mut frames = chunk(head, &version, items, budget);
        let n = frames.len() as u32;
        for (i, f) in frames.iter_mut().enumerate() {
            f.part = i as u32;
            f.parts = if n > 1 { n } else { 0 };
        }
        for f in &frames {
            encode_frame(&Msg::SiteConfig(f.clone()))?;
        }
        Ok(frames)
    }
}

/// Greedy split: a new frame starts when the next row would take this one
/// past `budget`. The first frame carries the head (controllers, policy,
/// lanes, doors, buckets); the others only the version and their rows.
fn chunk<'a>(head: SiteConfig, version: &str, items: impl Iterator<Item = Item<'a>>, budget: usize) -> Vec<SiteConfig> {
    // Room for the part numbers, which are filled in afterwards, and for the
    // key and brackets of each row list (`"doorCards":[]`), absent while empty.
    const NUMBERS: usize = 32;
    const LISTS: usize = KINDS * 20;
    let size_of = |f: &SiteConfig| super::encode(&Msg::SiteConfig(f.clone())).len() + NUMBERS + LISTS;
    let tail = || SiteConfig { version: version.to_string(), ..Default::default() };
    let mut frames = Vec::new();
    let mut cur = head;
    let mut size = size_of(&cur);
    for it in items {
        let cost = it.cost();
        if size + cost > budget && !is_empty(&cur) {
            frames.push(std::mem::replace(&mut cur, tail()));
            size = size_of(&cur);
        }
        size += cost;
        it.put(&mut cur);
    }
    frames.push(cur);
    frames
}

/// What a peer holds, as far as the sender knows: enough to plan a delta
/// without keeping the peer's plates.
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Held {
    pub version: String,
    /// Empty when only the version is known (the agent's hello): then a
    /// changed configuration is sent whole.
    #[serde(default)]
    pub digests: Vec<String>,
}

impl Held {
    pub fn version_only(version: &str) -> Option<Held> {
        (!version.trim().is_empty()).then(|| Held { version: version.to_string(), digests: Vec::new() })
    }
}

/// What feeding one frame to the [`Assembler`] gave.
#[derive(Debug, PartialEq)]
pub enum Fed {
    /// More parts of this sync are to come.
    Waiting,
    /// The sync is complete: the whole configuration now held.
    Applied(SiteConfig),
    /// The frames do not add up to their version (or a delta came with no
    /// copy to apply it to): ask the cloud for a full sync.
    Resync(String),
}

struct Pending {
    version: String,
    frames: Vec<Option<SiteConfig>>,
}

/// The agent's side: collects the parts of a sync and applies it to the copy
/// held.
#[derive(Default)]
pub struct Assembler {
    held: Option<(SiteState, String)>,
    pending: Option<Pending>,
}

impl Assembler {
    /// Starts from the copy the agent kept on disk.
    pub fn new(held: Option<&SiteConfig>) -> Assembler {
        Assembler { held: held.map(|c| (SiteState::from_config(c), c.version.clone())), pending: None }
    }

    /// The version held, for the hello; empty when none.
    pub fn version(&self) -> &str {
        self.held.as_ref().map(|(_, v)| v.as_str()).unwrap_or("")
    }

    /// A new connection starts a new sync: parts of one cut short are dropped.
    pub fn reset_pending(&mut self) {
        self.pending = None;
    }

    /// Forgets the copy so the next hello asks for everything.
    pub fn forget(&mut self) {
        self.held = None;
        self.pending = None;
    }

    pub fn feed(&mut self, frame: SiteConfig) -> Fed {
        let parts = frame.parts.max(1) as usize;
        let part = frame.part as usize;
        if part >= parts {
            return Fed::Resync(format!("part {part} of a {parts}-part sync"));
        }
        // A newer sync supersedes one still being collected.
        if self.pending.as_ref().is_none_or(|p| p.version != frame.version || p.frames.len() != parts) {
            self.pending = Some(Pending { version: frame.version.clone(), frames: vec![None; parts] });
        }
        let Some(pending) = self.pending.as_mut() else { return Fed::Waiting };
        pending.frames[part] = Some(frame);
        if pending.frames.iter().any(Option::is_none) {
            return Fed::Waiting;
        }
        let Some(done) = self.pending.take() else { return Fed::Waiting };
        let mut frames = done.frames.into_iter().flatten();
        let Some(mut first) = frames.next() else { return Fed::Waiting };
        let version = first.version.clone();
        let mut plates = std::mem::take(&mut first.monthly_plates);
        let mut cards = std::mem::take(&mut first.door_cards);
        let mut black = std::mem::take(&mut first.blacklist);
        let mut locked = std::mem::take(&mut first.locked);
        for f in frames {
            plates.extend(f.monthly_plates);
            cards.extend(f.door_cards);
            black.extend(f.blacklist);
            locked.extend(f.locked);
        }
        if !first.delta {
            // A full sync is taken as sent, even from a cloud that versions
            // differently (one that sends the cards, blacklist and locked
            // plates inside `doors` and `lanes` included): the next hello then
            // simply gets everything again.
            let lanes = match first.lanes {
                Some(mut l) => {
                    l.blacklist.extend(black);
                    l.locked.extend(locked);
                    Some(l)
                }
                None if !black.is_empty() || !locked.is_empty() => Some(LaneRules { blacklist: black, locked }),
                None => None,
            };
            let doors = match first.doors {
                Some(mut d) => {
                    d.cards.extend(cards);
                    Some(d)
                }
                None if !cards.is_empty() => Some(DoorRules { cards, ..Default::default() }),
                None => None,
            };
            let state = SiteState::new(first.controllers, plates, first.offline).with_lanes(lanes).with_doors(doors);
            let cfg = state.to_config(&version);
            self.held = Some((state, version));
            return Fed::Applied(cfg);
        }
        let Some((base, _)) = self.held.as_ref() else { return Fed::Resync("delta without a copy to apply it to".into()) };
        if first.lanes.as_ref().is_some_and(|l| !l.blacklist.is_empty() || !l.locked.is_empty()) || first.doors.as_ref().is_some_and(|d| !d.cards.is_empty()) {
            return Fed::Resync("delta carries rows in its head instead of buckets".into());
        }
        let mut state = base.clone();
        let replaced: BTreeSet<usize> = first.buckets.iter().map(|b| *b as usize).filter(|b| Kind::of(*b).is_some()).collect();
        if replaced.len() != first.buckets.len() {
            return Fed::Resync("delta names a bucket out of range".into());
        }
        for g in &replaced {
            match Kind::of(*g) {
                Some((Kind::Plate, b)) => state.plates.clear(b),
                Some((Kind::DoorCard, b)) => state.cards.clear(b),
                Some((Kind::Black, b)) => state.black.clear(b),
                Some((Kind::Locked, b)) => state.locked.clear(b),
                None => {}
            }
        }
        if let Err(why) = refill(&mut state.plates, Kind::Plate, plates, &replaced)
            .and_then(|()| refill(&mut state.cards, Kind::DoorCard, cards, &replaced))
            .and_then(|()| refill(&mut state.black, Kind::Black, black, &replaced))
            .and_then(|()| refill(&mut state.locked, Kind::Locked, locked, &replaced))
        {
            return Fed::Resync(why);
        }
        state.controllers = first.controllers;
        state.offline = first.offline;
        state.lanes = first.lanes;
        state.doors = first.doors;
        let got = state.version();
        if got != version {
            return Fed::Resync(format!("delta gives version {got}, the cloud says {version}"));
        }
        let cfg = state.to_config(&version);
        self.held = Some((state, version));
        Fed::Applied(cfg)
    }
}

/// Puts a delta's rows of one kind into their (cleared) buckets and settles
/// the replaced buckets of that kind. A row outside the buckets the delta
/// replaces means the frames do not add up.
fn refill<T: Row>(table: &mut Table<T>, kind: Kind, rows: Vec<T>, replaced: &BTreeSet<usize>) -> Result<(), String> {
    for r in rows {
        let Some(r) = r.admit() else { continue };
        let g = kind.global(r.bucket());
        if !replaced.contains(&g) {
            return Err(format!("delta row in bucket {g}, outside the buckets it replaces"));
        }
        table.push(r);
    }
    for g in replaced {
        if let Some((k, b)) = Kind::of(*g) {
            if k == kind {
                table.settle(b);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
