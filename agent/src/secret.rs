//! Secrets (the agent's link secret, camera tokens): a newtype that never
//! prints its value, and where the value may come from.
//!
//! Sources, by policy: a file (`--secret-file`, `secret_file`, `token_file`),
//! the environment (`ONECARD_AGENT_SECRET`, `token_env`), or inline in the TOML
//! config **only when that file is private** (no group/other permission bits),
//! because a config file is otherwise copied around and checked in. Never a
//! command-line flag: every local user can read a process's argv.

use anyhow::{bail, Context};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::path::Path;

/// Environment variable holding the agent's link secret.
pub const SECRET_ENV: &str = "ONECARD_AGENT_SECRET";

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The value, for the few places that sign or compare with it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// Constant-time comparison, so a camera probing tokens learns nothing
    /// from how long a refusal takes.
    pub fn matches(&self, given: &str) -> bool {
        use subtle::ConstantTimeEq;
        !self.0.is_empty() && self.0.as_bytes().ct_eq(given.as_bytes()).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_string())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Reads a secret file: the first line, trimmed (editors add a newline). An
/// empty file is an error rather than an empty key nobody meant to use.
pub fn read_file(p: &Path) -> anyhow::Result<Secret> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading secret file {}", p.display()))?;
    let value = text.lines().next().unwrap_or("").trim().to_string();
    if value.is_empty() {
        bail!("secret file {} is empty", p.display());
    }
    if readable_by_others(p) {
        tracing::warn!(file = %p.display(), "secret file is readable by group/others; chmod 600 it");
    }
    Ok(Secret(value))
}

/// Reads a secret from the environment; unset or blank is `None`.
pub fn from_env(name: &str) -> Option<Secret> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).map(Secret)
}

#[cfg(unix)]
pub fn readable_by_others(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.permissions().mode() & 0o077 != 0).unwrap_or(false)
}

#[cfg(not(unix))]
pub fn readable_by_others(_: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn matches_is_exact_and_never_matches_an_empty_secret() {
        let s = Secret::new("tok");
        assert!(s.matches("tok"));
        assert!(!s.matches("to"));
        assert!(!s.matches("tok "));
        assert!(!Secret::default().matches(""));
    }

    #[test]
    fn secret_file_takes_the_first_line_and_refuses_empty() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s");
        std::fs::write(&p, "abc\n").unwrap();
        assert_eq!(read_file(&p).unwrap().expose(), "abc");
        std::fs::write(&p, "\n").unwrap();
        assert!(read_file(&p).unwrap_err().to_string().contains("empty"));
        assert!(read_file(&d.path().join("missing")).is_err());
    }
}
