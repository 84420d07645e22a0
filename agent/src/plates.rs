//! The site configuration the cloud last sent (controllers, monthly-card plates,
//! offline policy), kept on disk so the agent can decide offline right after a
//! restart without the cloud.

use chrono::NaiveDateTime;
use onecard_core::fields::normalize_plate;
use onecard_core::link::{MonthlyPlate, SiteConfig};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const FILE: &str = "siteconfig.json";

#[derive(Clone, Debug, Default)]
pub struct MonthlyList {
    by_plate: HashMap<String, Vec<MonthlyPlate>>,
}

fn bound(s: &str) -> Option<NaiveDateTime> {
    if s.trim().is_empty() {
        None
    } else {
        onecard_core::time::parse(s)
    }
}

impl MonthlyList {
    pub fn new(plates: &[MonthlyPlate]) -> MonthlyList {
        let mut by_plate: HashMap<String, Vec<MonthlyPlate>> = HashMap::new();
        for p in plates {
            let key = normalize_plate(&p.plate_no);
            if !key.is_empty() {
                by_plate.entry(key).or_default().push(p.clone());
            }
        }
        MonthlyList { by_plate }
    }

    /// A card counts when `at` falls inside its bounds and, if it names areas,
    /// the lane's area is one of them. An unreadable bound is treated as absent
    /// rather than voiding the card: a typo in the cloud must not lock out a
    /// paying customer.
    pub fn valid(&self, plate: &str, at: NaiveDateTime, area: &str) -> bool {
        let Some(cards) = self.by_plate.get(&normalize_plate(plate)) else { return false };
        cards.iter().any(|c| {
            bound(&c.valid_from).is_none_or(|f| at >= f)
                && bound(&c.valid_to).is_none_or(|t| at <= t)
                && (c.areas.is_empty() || c.areas.iter().any(|a| a == area))
        })
    }

    pub fn len(&self) -> usize {
        self.by_plate.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_plate.is_empty()
    }
}

pub struct SiteStore {
    path: PathBuf,
}

impl SiteStore {
    pub fn new(dir: &Path) -> SiteStore {
        SiteStore { path: dir.join(FILE) }
    }

    pub fn load(&self) -> Option<SiteConfig> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        match serde_json::from_str(&text) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring unreadable cached site config");
                None
            }
        }
    }

    /// Write-then-rename so a crash leaves either the old or the new copy.
    pub fn save(&self, cfg: &SiteConfig) -> std::io::Result<()> {
        use std::io::Write;
        if let Some(d) = self.path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(cfg).unwrap_or_default())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        onecard_core::time::parse(s).unwrap()
    }

    #[test]
    fn validity_window_and_area() {
        let l = MonthlyList::new(&[
            MonthlyPlate { plate_no: "浙a 12345".into(), valid_from: "2026-01-01".into(), valid_to: "2026-01-31 23:59:59".into(), areas: vec![] },
            MonthlyPlate { plate_no: "浙B00001".into(), valid_from: "".into(), valid_to: "".into(), areas: vec!["2".into()] },
        ]);
        assert!(l.valid("浙A12345", t("2026-01-15 08:00:00"), "1"));
        assert!(!l.valid("浙A12345", t("2026-02-01 00:00:00"), "1"));
        assert!(!l.valid("浙A12345", t("2025-12-31 23:00:00"), "1"));
        assert!(l.valid("浙B00001", t("2030-01-01 00:00:00"), "2"));
        assert!(!l.valid("浙B00001", t("2030-01-01 00:00:00"), "1"));
        assert!(!l.valid("浙C99999", t("2026-01-15 08:00:00"), "1"));
    }

    #[test]
    fn store_roundtrip() {
        let d = tempfile::tempdir().unwrap();
        let s = SiteStore::new(d.path());
        assert!(s.load().is_none());
        let cfg = SiteConfig { version: "3".into(), ..Default::default() };
        s.save(&cfg).unwrap();
        assert_eq!(s.load().unwrap().version, "3");
    }
}
