//! Shared setup for the contract tests: temp dirs and the local AWS emulators.
#![allow(dead_code)]

use std::path::PathBuf;

/// A fresh directory under the system temp dir; left behind on purpose so a
/// failing test's database can be inspected.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join("onecard-adapters-tests")
        .join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

pub fn unique(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

/// The emulator endpoint from `var`. A backend that is not configured fails
/// the run, so a green run always means both backends were tested, unless the
/// skip variable says otherwise explicitly.
pub fn endpoint(var: &str, skip_var: &str, script: &str) -> Option<String> {
    if let Ok(url) = std::env::var(var) {
        if !url.trim().is_empty() {
            return Some(url.trim().to_string());
        }
    }
    if std::env::var(skip_var).as_deref() == Ok("1") {
        eprintln!("SKIPPED: {var} is not set and {skip_var}=1");
        return None;
    }
    panic!(
        "{var} is not set. Start the emulator with `{script} start` and export \
         {var}=<the URL it prints>, or set {skip_var}=1 to skip these tests."
    );
}

