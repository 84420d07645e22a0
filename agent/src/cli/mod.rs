//! The technician's commands: `check-config`, `ports`, `probe`, `status`.
//! Each prints for a person and returns an exit code for a script; the codes
//! are listed in each command's help and in the agent README.

pub mod check_config;
pub mod ports;
pub mod probe;
pub mod status;

use crate::config::FileConfig;
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Where the Debian package puts the config.
pub const DEFAULT_CONFIG: &str = "/etc/onecard-agent/agent.toml";

/// The files `check-config` and `probe` read: the config and, when given,
/// a device file that stands in for the config's `devices`.
#[derive(clap::Args, Debug, Clone)]
pub struct Files {
    /// The agent's config file.
    #[arg(long, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Use this device file instead of the config's `devices`.
    #[arg(long)]
    pub devices: Option<PathBuf>,
}

/// Reads the config file's keys without resolving secrets, so commands that
/// need only the device list or the data dir work for any user who can read
/// the file.
pub fn read_file_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), one_line(&e)))
}

/// A toml error as one line with its line number (the library's own text
/// spans several lines with a source excerpt).
pub fn one_line(e: &toml::de::Error) -> String {
    e.message().trim().to_string()
}

/// 1-based line of a byte offset.
pub fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The device file a command uses: the flag, else the config's `devices`.
pub fn devices_path(flag: Option<PathBuf>, config: &Path) -> anyhow::Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(p);
    }
    let f = read_file_config(config)?;
    f.devices.with_context(|| format!("{} names no device file (devices = \"...\"); give --devices FILE", config.display()))
}
