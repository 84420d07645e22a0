//! The site survey: the whole guidance model of one car park in one JSON
//! document (format in this folder's README; `demo_survey.json` is a full
//! example). Checked whole before anything is written; then written record
//! by record, reporting progress, and records the new survey no longer has
//! are removed. A space keeps its live state (status, car, open record)
//! across surveys: a survey describes the building, detectors describe cars.

use super::graph::NavGraph;
use super::model::*;
use super::store::{self, Record};
use onecard_core::blob::{self, sha256_hex, BlobStore};
use onecard_core::store::{ItemStore, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// A map with where its picture comes from.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SurveyMap {
    #[serde(flatten)]
    pub map: Map,
    /// A picture file, relative to the survey file.
    #[serde(default)]
    pub image: Option<String>,
    /// Or the picture itself.
    #[serde(default)]
    pub image_base64: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SurveyNavMap {
    #[serde(flatten)]
    pub nav: NavMap,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub image_base64: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Survey {
    #[serde(default)]
    pub areas: Vec<Area>,
    #[serde(default)]
    pub maps: Vec<SurveyMap>,
    #[serde(default)]
    pub nav_maps: Vec<SurveyNavMap>,
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub edges: Vec<Edge>,
    #[serde(default)]
    pub points: Vec<Point>,
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub spaces: Vec<Space>,
    #[serde(default)]
    pub switches: Vec<Switch>,
    #[serde(default)]
    pub controllers: Vec<Controller>,
    #[serde(default)]
    pub ultrasonic: Vec<Ultrasonic>,
    #[serde(default)]
    pub video_detectors: Vec<VideoDetector>,
    #[serde(default)]
    pub screens: Vec<Screen>,
}

/// The demo car park: two floors, 40 spaces, 2 screens.
pub const DEMO: &str = include_str!("demo_survey.json");

pub fn parse(text: &str) -> Result<Survey, String> {
    serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| e.to_string())
}

fn unique(what: &str, keys: impl Iterator<Item = String>, errs: &mut Vec<String>) -> HashSet<String> {
    let mut seen = HashSet::new();
    for k in keys {
        if k.trim().is_empty() {
            errs.push(format!("a {what} has an empty number"));
        } else if !seen.insert(k.clone()) {
            errs.push(format!("{what} '{k}' is listed twice"));
        }
    }
    seen
}

/// Every problem of a survey, or none.
pub fn check(s: &Survey) -> Result<(), Vec<String>> {
    let mut e = Vec::new();
    let areas = unique("area", s.areas.iter().map(|a| a.id.clone()), &mut e);
    let maps = unique("map", s.maps.iter().map(|m| m.map.no.clone()), &mut e);
    unique("navigation map", s.nav_maps.iter().map(|m| m.nav.no.clone()), &mut e);
    let nodes = unique("node", s.nodes.iter().map(|n| n.id.clone()), &mut e);
    unique("edge", s.edges.iter().map(|x| x.key()), &mut e);
    unique("point", s.points.iter().map(|p| p.no.clone()), &mut e);
    let groups = unique("group", s.groups.iter().map(|g| g.no.clone()), &mut e);
    let spaces = unique("space", s.spaces.iter().map(|x| x.no.clone()), &mut e);
    unique("space name", s.spaces.iter().map(|x| x.name.clone()), &mut e);
    let switches = unique("converter", s.switches.iter().map(|x| x.no.clone()), &mut e);
    let controllers = unique("controller", s.controllers.iter().map(|x| x.no.clone()), &mut e);
    unique("ultrasonic detector", s.ultrasonic.iter().map(|x| x.key()), &mut e);
    unique("video detector", s.video_detectors.iter().map(|x| x.no.clone()), &mut e);
    unique("screen", s.screens.iter().map(|x| x.no.clone()), &mut e);
    let mut missing = Vec::new();
    let mut other = Vec::new();
    let mut need = |set: &HashSet<String>, v: &str, what: &str, of: String| {
        if !set.contains(v) {
            missing.push(format!("{of}: no {what} '{v}'"));
        }
    };
    for m in &s.maps {
        if let Some(a) = &m.map.area_id {
            need(&areas, a, "area", format!("map {}", m.map.no));
        }
    }
    for m in &s.nav_maps {
        need(&maps, &m.nav.map_no, "map", format!("navigation map {}", m.nav.no));
    }
    for n in &s.nodes {
        need(&maps, &n.map_no, "map", format!("node {}", n.id));
    }
    for p in &s.points {
        need(&nodes, &p.node, "node", format!("point {}", p.no));
    }
    for g in &s.groups {
        need(&nodes, &g.node, "node", format!("group {}", g.no));
        need(&areas, &g.area_id, "area", format!("group {}", g.no));
    }
    for sp in &s.spaces {
        need(&nodes, &sp.node, "node", format!("space {}", sp.no));
        if let Some(g) = &sp.group_no {
            need(&groups, g, "group", format!("space {}", sp.no));
        }
        if let Some(a) = &sp.area_id {
            need(&areas, a, "area", format!("space {}", sp.no));
        }
    }
    for c in &s.controllers {
        need(&switches, &c.switch_no, "converter", format!("controller {}", c.no));
        need(&maps, &c.map_no, "map", format!("controller {}", c.no));
    }
    for u in &s.ultrasonic {
        need(&controllers, &u.controller_no, "controller", format!("ultrasonic detector {}", u.key()));
        need(&spaces, &u.space_no, "space", format!("ultrasonic detector {}", u.key()));
    }
    for v in &s.video_detectors {
        if v.spaces.len() > 6 {
            other.push(format!("video detector {} watches {} spaces; at most 6", v.no, v.spaces.len()));
        }
        for sp in &v.spaces {
            need(&spaces, sp, "space", format!("video detector {}", v.no));
        }
        for g in [&v.group_no, &v.from_group, &v.to_group].into_iter().flatten() {
            need(&groups, g, "group", format!("video detector {}", v.no));
        }
        if let Some(a) = &v.area_id {
            need(&areas, a, "area", format!("video detector {}", v.no));
        }
    }
    for sc in &s.screens {
        need(&maps, &sc.map_no, "map", format!("screen {}", sc.no));
        for a in &sc.areas {
            need(&areas, a, "area", format!("screen {}", sc.no));
        }
        for g in &sc.groups {
            need(&groups, g, "group", format!("screen {}", sc.no));
        }
        if sc.arrow > 7 && sc.arrow != 0xFF {
            other.push(format!("screen {}: arrow {} is not 0-7 or 255", sc.no, sc.arrow));
        }
    }
    e.extend(missing);
    e.extend(other);
    if let Err(why) = NavGraph::build(s.nodes.clone(), &s.edges) {
        e.push(why);
    }
    if e.is_empty() {
        Ok(())
    } else {
        Err(e)
    }
}

/// A plan of a map drawn from the model's geometry (aisles, spaces, points,
/// screens), answered for a map that has no picture of its own.
pub fn plan_svg(s: &Survey, map_no: &str) -> Vec<u8> {
    let on: Vec<&Node> = s.nodes.iter().filter(|n| n.map_no == map_no).collect();
    let at = |id: &str| on.iter().find(|n| n.id == id).copied();
    let (w, h) = on.iter().fold((400.0f64, 300.0f64), |(w, h), n| (w.max(n.x + 80.0), h.max(n.y + 80.0)));
    let mut out = format!(r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}"><rect width="100%" height="100%" fill="#f4f4f0"/>"##);
    for e in &s.edges {
        if let (Some(a), Some(b)) = (at(&e.from), at(&e.to)) {
            out += &format!(r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#bbb" stroke-width="6"/>"##, a.x, a.y, b.x, b.y);
        }
    }
    for sp in &s.spaces {
        if let Some(n) = at(&sp.node) {
            out += &format!(r##"<rect x="{}" y="{}" width="60" height="80" fill="#fff" stroke="#333"/><text x="{}" y="{}" font-size="16" text-anchor="middle">{}</text>"##, n.x - 30.0, n.y - 40.0, n.x, n.y + 6.0, xml(&sp.name));
        }
    }
    for p in &s.points {
        if let Some(n) = at(&p.node) {
            out += &format!(r##"<circle cx="{}" cy="{}" r="12" fill="#2a7"/><text x="{}" y="{}" font-size="14">{}</text>"##, n.x, n.y, n.x + 14.0, n.y - 14.0, xml(&p.name));
        }
    }
    for sc in s.screens.iter().filter(|sc| sc.map_no == map_no) {
        out += &format!(r##"<rect x="{}" y="{}" width="40" height="14" fill="#c33"/>"##, sc.x - 20.0, sc.y - 7.0);
    }
    out += "</svg>";
    out.into_bytes()
}

fn xml(t: &str) -> String {
    t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Reads a picture file named in the survey.
pub type LoadFile<'a> = &'a dyn Fn(&str) -> Result<Vec<u8>, String>;

async fn picture(blobs: &dyn BlobStore, branch: &str, bytes: Vec<u8>) -> Result<String, String> {
    if bytes.len() > blob::MAX_PICTURE_BYTES {
        return Err(format!("picture is over {} bytes", blob::MAX_PICTURE_BYTES));
    }
    let key = blob::picture_key(branch, &sha256_hex(&bytes));
    let ct = blob::sniff_content_type(&bytes);
    let ct = if ct == "application/octet-stream" && bytes.starts_with(b"<svg") { "image/svg+xml" } else { ct };
    blobs.put(&key, bytes, ct).await.map_err(|e| format!("picture not stored: {e}"))?;
    Ok(key)
}

/// A survey picture stored: None when the survey gives none (the map is
/// then answered with a plan drawn from the model, see `maps.rs`).
async fn image_of(blobs: &dyn BlobStore, branch: &str, what: &str, file: &Option<String>, b64: &Option<String>, load: LoadFile<'_>) -> Result<Option<String>, String> {
    let bytes = match (file, b64) {
        (Some(f), _) => load(f).map_err(|e| format!("{what}: picture '{f}': {e}"))?,
        (None, Some(b)) => crate::pictures::decode_base64(b).map_err(|e| format!("{what}: {e}"))?,
        (None, None) => return Ok(None),
    };
    picture(blobs, branch, bytes).await.map(Some).map_err(|e| format!("{what}: {e}"))
}

#[derive(Debug)]
pub enum ApplyError {
    Invalid(Vec<String>),
    Picture(String),
    Store(StoreError),
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApplyError::Invalid(v) => write!(f, "the survey has {} problem(s):\n  {}", v.len(), v.join("\n  ")),
            ApplyError::Picture(why) => f.write_str(why),
            ApplyError::Store(e) => write!(f, "store: {e}"),
        }
    }
}

impl From<StoreError> for ApplyError {
    fn from(e: StoreError) -> Self {
        ApplyError::Store(e)
    }
}

/// How many records `apply` writes (its progress total).
pub fn size(s: &Survey) -> usize {
    s.areas.len()
        + s.maps.len()
        + s.nav_maps.len()
        + s.nodes.len()
        + s.edges.len()
        + s.points.len()
        + s.groups.len()
        + s.spaces.len()
        + s.switches.len()
        + s.controllers.len()
        + s.ultrasonic.len()
        + s.video_detectors.len()
        + s.screens.len()
}

/// Writes one kind: each record, then removes the stored ones not listed.
async fn replace<T: Record>(st: &dyn ItemStore, branch: &str, records: Vec<T>, progress: &mut dyn FnMut(usize)) -> Result<(), StoreError> {
    let keep: HashSet<String> = records.iter().map(Record::key).collect();
    for r in &records {
        store::put(st, branch, r).await?;
        progress(1);
    }
    for (old, _) in store::all_versioned::<T>(st, branch).await? {
        if !keep.contains(&old.key()) {
            store::delete::<T>(st, branch, &old.key()).await?;
        }
    }
    Ok(())
}

/// Checks and writes a survey for `branch`. `progress(done, total)` after
/// every record.
pub async fn apply(st: &dyn ItemStore, blobs: &dyn BlobStore, branch: &str, s: &Survey, load: LoadFile<'_>, progress: &mut dyn FnMut(usize, usize)) -> Result<(), ApplyError> {
    write(st, blobs, branch, s, load, progress, true).await
}

/// `apply`; with `strict` false a picture that cannot be stored leaves its
/// map without one (logged) instead of refusing the survey.
async fn write(st: &dyn ItemStore, blobs: &dyn BlobStore, branch: &str, s: &Survey, load: LoadFile<'_>, progress: &mut dyn FnMut(usize, usize), strict: bool) -> Result<(), ApplyError> {
    check(s).map_err(ApplyError::Invalid)?;
    let total = size(s);
    let mut done = 0;
    let mut tick = |n: usize| {
        done += n;
        progress(done, total);
    };
    // Pictures first: a survey whose picture cannot be read changes nothing.
    let mut maps = Vec::new();
    for m in &s.maps {
        let key = image_of(blobs, branch, &format!("map {}", m.map.no), &m.image, &m.image_base64, load).await;
        maps.push(Map { image_key: kept(key, strict)?, ..m.map.clone() });
    }
    let mut navs = Vec::new();
    for m in &s.nav_maps {
        let key = image_of(blobs, branch, &format!("navigation map {}", m.nav.no), &m.image, &m.image_base64, load).await;
        navs.push(NavMap { image_key: kept(key, strict)?, ..m.nav.clone() });
    }
    replace(st, branch, s.areas.clone(), &mut tick).await?;
    replace(st, branch, maps, &mut tick).await?;
    replace(st, branch, navs, &mut tick).await?;
    replace(st, branch, s.nodes.clone(), &mut tick).await?;
    replace(st, branch, s.edges.clone(), &mut tick).await?;
    replace(st, branch, s.points.clone(), &mut tick).await?;
    replace(st, branch, s.groups.clone(), &mut tick).await?;
    replace(st, branch, s.switches.clone(), &mut tick).await?;
    replace(st, branch, s.controllers.clone(), &mut tick).await?;
    replace(st, branch, s.ultrasonic.clone(), &mut tick).await?;
    replace(st, branch, s.video_detectors.clone(), &mut tick).await?;
    let screens = s.screens.iter().map(|sc| Screen { shown: None, ..sc.clone() }).collect();
    replace(st, branch, screens, &mut tick).await?;
    let live = store::all::<Space>(st, branch).await?;
    let spaces = s
        .spaces
        .iter()
        .map(|sp| match live.iter().find(|l| l.no == sp.no) {
            Some(l) => Space { status: l.status, plate: l.plate.clone(), updated: l.updated.clone(), open_record: l.open_record.clone(), ..sp.clone() },
            None => Space { plate: None, open_record: None, ..sp.clone() },
        })
        .collect();
    replace(st, branch, spaces, &mut tick).await?;
    Ok(())
}

fn kept(key: Result<Option<String>, String>, strict: bool) -> Result<Option<String>, ApplyError> {
    match key {
        Ok(k) => Ok(k),
        Err(why) if strict => Err(ApplyError::Picture(why)),
        Err(why) => {
            tracing::warn!(why = %why, "map picture not stored; the map is kept without it");
            Ok(None)
        }
    }
}

/// Seeds the demo survey into a branch that has no guidance model yet.
pub async fn seed_demo(st: &dyn ItemStore, blobs: &dyn BlobStore, branch: &str) -> Result<(), ApplyError> {
    if !store::all::<Map>(st, branch).await?.is_empty() {
        return Ok(());
    }
    let s = parse(DEMO).map_err(|e| ApplyError::Invalid(vec![e]))?;
    // A process without a blob store (tests of other parts) still gets the model.
    write(st, blobs, branch, &s, &|f| Err(format!("the demo survey names no file ({f})")), &mut |_, _| {}, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_survey_is_valid_and_has_what_the_issue_asks() {
        let s = parse(DEMO).unwrap();
        check(&s).unwrap();
        assert_eq!((s.maps.len(), s.spaces.len(), s.screens.len()), (2, 40, 2));
        assert!(s.edges.iter().any(|e| e.cost.is_some()), "floors are joined");
        assert!(String::from_utf8(plan_svg(&s, "MN000000000000000001")).unwrap().contains("A01"));
    }

    #[test]
    fn problems_are_all_named() {
        let mut s = parse(DEMO).unwrap();
        s.spaces[0].node = "nowhere".into();
        s.spaces[1].no = s.spaces[2].no.clone();
        s.screens[0].arrow = 9;
        s.video_detectors[0].spaces = vec![s.spaces[3].no.clone(); 7];
        let e = check(&s).unwrap_err();
        assert!(e.iter().any(|m| m.contains("no node 'nowhere'")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("listed twice")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("arrow 9")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("at most 6")), "{e:?}");
        assert!(parse(r#"{"mapz": []}"#).unwrap_err().contains("mapz"));
    }
}
