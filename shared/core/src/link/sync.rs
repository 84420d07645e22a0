//! Syncing a site configuration of any size over 32 KiB frames.
//!
//! A big car park has 20,000 monthly plates (about 1 MB of JSON), so the
//! configuration travels as a *sync*: one or more `siteconfig` frames of the
//! same `version`, each under [`CHUNK_BUDGET`](super::CHUNK_BUDGET). The plates
//! are split into [`BUCKETS`] buckets by a hash of the plate; each bucket has a
//! digest and the version is the digest of the controllers, the policy and the
//! bucket digests. Once a peer holds a copy, a change goes out as a *delta*
//! that replaces only the buckets whose digest moved: one card change costs
//! one bucket (~80 plates), not the whole list. Replacing a bucket is absolute,
//! so a delta needs no ordering or acknowledgement beyond the transport's; the
//! agent still checks the result against the version and asks for a full sync
//! (`resync`) when it does not add up.

use super::{encode_frame, FrameTooLarge, LaneRules, MonthlyPlate, Msg, OfflinePolicy, SiteConfig};
use crate::config::Controller;
use crate::fields::normalize_plate;
use std::collections::BTreeSet;

/// Buckets the plates are spread over. Both sides compute buckets with
/// [`bucket_of`]; a peer with another count ends with another version and is
/// sent everything, so changing it stays safe.
pub const BUCKETS: usize = 256;

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

pub fn bucket_of(plate_no: &str) -> usize {
    (fnv(normalize_plate(plate_no).as_bytes()) % BUCKETS as u64) as usize
}

fn sort_key(p: &MonthlyPlate) -> (&str, &str, &str, &[String]) {
    (&p.plate_no, &p.valid_from, &p.valid_to, &p.areas)
}

fn bucket_digest(b: &[MonthlyPlate]) -> String {
    digest(&serde_json::to_string(b).unwrap_or_default())
}

/// A site configuration indexed by bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteState {
    pub controllers: Vec<Controller>,
    pub offline: Option<OfflinePolicy>,
    /// Blacklist and locks: small (hundreds of rows), so they travel whole in
    /// the head of every sync and delta, like the controllers.
    pub lanes: Option<LaneRules>,
    /// Door access, whole in the head like the lanes.
    pub doors: Option<super::doors::DoorRules>,
    buckets: Vec<Vec<MonthlyPlate>>,
    digests: Vec<String>,
}

impl SiteState {
    pub fn new(controllers: Vec<Controller>, plates: impl IntoIterator<Item = MonthlyPlate>, offline: Option<OfflinePolicy>) -> SiteState {
        let mut buckets = vec![Vec::new(); BUCKETS];
        for mut p in plates {
            p.plate_no = normalize_plate(&p.plate_no);
            if !p.plate_no.is_empty() {
                buckets[bucket_of(&p.plate_no)].push(p);
            }
        }
        let mut s = SiteState { controllers, offline, lanes: None, doors: None, buckets, digests: vec![String::new(); BUCKETS] };
        for i in 0..BUCKETS {
            s.settle(i);
        }
        s
    }

    pub fn from_config(cfg: &SiteConfig) -> SiteState {
        SiteState::new(cfg.controllers.clone(), cfg.monthly_plates.iter().cloned(), cfg.offline.clone()).with_lanes(cfg.lanes.clone()).with_doors(cfg.doors.clone())
    }

    pub fn with_lanes(mut self, lanes: Option<LaneRules>) -> SiteState {
        self.lanes = lanes;
        self
    }

    pub fn with_doors(mut self, doors: Option<super::doors::DoorRules>) -> SiteState {
        self.doors = doors;
        self
    }

    /// Sorts and dedups bucket `i` and refreshes its digest.
    fn settle(&mut self, i: usize) {
        let b = &mut self.buckets[i];
        b.sort_by(|x, y| sort_key(x).cmp(&sort_key(y)));
        b.dedup();
        self.digests[i] = bucket_digest(b);
    }

    pub fn version(&self) -> String {
        // Without lanes the head reads as before, so versions held by agents
        // of a cloud that sends none stay valid.
        let head = match &self.lanes {
            None => serde_json::to_string(&(&self.controllers, &self.offline)),
            Some(l) => serde_json::to_string(&(&self.controllers, &self.offline, l)),
        }
        .unwrap_or_default();
        let head = match &self.doors {
            None => head,
            Some(d) => format!("{head}\n{}", serde_json::to_string(d).unwrap_or_default()),
        };
        digest(&format!("{head}\n{}", self.digests.join(",")))
    }

    pub fn held(&self) -> Held {
        Held { version: self.version(), digests: self.digests.clone() }
    }

    pub fn plate_count(&self) -> usize {
        self.buckets.iter().map(Vec::len).sum()
    }

    /// The whole configuration as one (unchunked) value, for the agent's disk
    /// copy and its lane logic.
    pub fn to_config(&self, version: &str) -> SiteConfig {
        SiteConfig {
            version: version.to_string(),
            controllers: self.controllers.clone(),
            monthly_plates: self.buckets.iter().flatten().cloned().collect(),
            offline: self.offline.clone(),
            lanes: self.lanes.clone(),
            doors: self.doors.clone(),
            ..Default::default()
        }
    }

    /// The frames that bring a peer holding `held` (None: nothing known) to
    /// this state: nothing when it is current, a delta of the changed buckets
    /// when its bucket digests are known, else everything. Each frame's plates
    /// stay within `budget` bytes; a frame that still exceeds the 32 KiB limit
    /// (a controller list too big for one frame) is an error, and nothing of
    /// the sync should be sent.
    pub fn plan(&self, held: Option<&Held>, budget: usize) -> Result<Vec<SiteConfig>, FrameTooLarge> {
        let version = self.version();
        if held.is_some_and(|h| h.version == version) {
            return Ok(Vec::new());
        }
        let changed: Option<Vec<usize>> =
            held.filter(|h| h.digests.len() == BUCKETS).map(|h| (0..BUCKETS).filter(|i| h.digests[*i] != self.digests[*i]).collect());
        let (delta, buckets) = match changed {
            Some(c) => (true, c),
            None => (false, (0..BUCKETS).collect()),
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
        let plates = buckets.iter().flat_map(|b| self.buckets[*b].iter());
        let mut frames = chunk(head, &version, plates, budget);
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

/// Greedy split: a new frame starts when the next plate would take this one
/// past `budget`. The first frame carries the head (controllers, policy,
/// buckets); the others only the version and their plates.
fn chunk<'a>(head: SiteConfig, version: &str, plates: impl Iterator<Item = &'a MonthlyPlate>, budget: usize) -> Vec<SiteConfig> {
    // Room for the part numbers, which are filled in afterwards.
    const NUMBERS: usize = 32;
    let size_of = |f: &SiteConfig| super::encode(&Msg::SiteConfig(f.clone())).len() + NUMBERS;
    let tail = || SiteConfig { version: version.to_string(), ..Default::default() };
    let mut frames = Vec::new();
    let mut cur = head;
    let mut size = size_of(&cur);
    for p in plates {
        let cost = serde_json::to_string(p).map(|t| t.len()).unwrap_or(0) + 1;
        if size + cost > budget && !cur.monthly_plates.is_empty() {
            frames.push(std::mem::replace(&mut cur, tail()));
            size = size_of(&cur);
        }
        size += cost;
        cur.monthly_plates.push(p.clone());
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
        let Some(first) = frames.next() else { return Fed::Waiting };
        let version = first.version.clone();
        let plates: Vec<MonthlyPlate> = first.monthly_plates.iter().cloned().chain(frames.flat_map(|f| f.monthly_plates)).collect();
        if !first.delta {
            // A full sync is taken as sent, even from a cloud that versions
            // differently: the next hello then simply gets everything again.
            let state = SiteState::new(first.controllers, plates, first.offline).with_lanes(first.lanes).with_doors(first.doors);
            let cfg = state.to_config(&version);
            self.held = Some((state, version));
            return Fed::Applied(cfg);
        }
        let Some((base, _)) = self.held.as_ref() else { return Fed::Resync("delta without a copy to apply it to".into()) };
        let mut state = base.clone();
        let replaced: BTreeSet<usize> = first.buckets.iter().map(|b| *b as usize).filter(|b| *b < BUCKETS).collect();
        if replaced.len() != first.buckets.len() {
            return Fed::Resync("delta names a bucket out of range".into());
        }
        for b in &replaced {
            state.buckets[*b].clear();
        }
        for mut p in plates {
            p.plate_no = normalize_plate(&p.plate_no);
            let b = bucket_of(&p.plate_no);
            if !replaced.contains(&b) {
                return Fed::Resync(format!("delta plate {} is outside the buckets it replaces", p.plate_no));
            }
            state.buckets[b].push(p);
        }
        for b in &replaced {
            state.settle(*b);
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

#[cfg(test)]
mod tests;
