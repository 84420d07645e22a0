//! Which cars this agent let in and under which `cardInId`, so an exit can be
//! uploaded against its entry even when the cloud's answer does not name it
//! (9.18 carries no record id) or the cloud is away.

use onecard_core::fields::normalize_plate;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const FILE: &str = "inpark.json";

pub struct InPark {
    path: PathBuf,
    map: Mutex<HashMap<String, String>>,
}

impl InPark {
    pub fn open(dir: &Path) -> InPark {
        let path = dir.join(FILE);
        let map = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
        InPark { path, map: Mutex::new(map) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Write-then-rename, so a crash leaves the old or the new index whole. A
    /// lost write only costs the cloud a plate match on exit.
    fn save(&self, map: &HashMap<String, String>) {
        let tmp = self.path.with_extension("tmp");
        let res = serde_json::to_vec(map)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(&tmp, b))
            .and_then(|_| std::fs::rename(&tmp, &self.path));
        if let Err(e) = res {
            tracing::warn!(error = %e, "cannot save the in-park index");
        }
    }

    pub fn entered(&self, plate: &str, card_in_id: &str) {
        let mut m = self.lock();
        m.insert(normalize_plate(plate), card_in_id.to_string());
        self.save(&m);
    }

    /// The entry's id, forgotten as the car leaves.
    pub fn left(&self, plate: &str) -> Option<String> {
        let mut m = self.lock();
        let id = m.remove(&normalize_plate(plate));
        if id.is_some() {
            self.save(&m);
        }
        id
    }

    pub fn get(&self, plate: &str) -> Option<String> {
        self.lock().get(&normalize_plate(plate)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_forgets_on_exit() {
        let d = tempfile::tempdir().unwrap();
        let p = InPark::open(d.path());
        p.entered("浙a 12345", "A1-1");
        let p = InPark::open(d.path());
        assert_eq!(p.get("浙A12345").as_deref(), Some("A1-1"));
        assert_eq!(p.left("浙A12345").as_deref(), Some("A1-1"));
        assert_eq!(InPark::open(d.path()).get("浙A12345"), None);
    }
}
