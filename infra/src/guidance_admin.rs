//! `onecard guidance import|check|export-demo|show|relay`: the parking
//! guidance model (chapter 8) the API reads but never writes: maps and their
//! pictures, the navigation graph, spaces, groups, detectors and screens,
//! loaded from a site survey (JSON, format in `shared/app/src/pls/README.md`).
//! Written through the store and blob ports, so it works beside a running
//! server and on DynamoDB/S3.

use crate::backend::open_store;
use crate::cli::{BranchArgs, StoreArgs};
use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use onecard_adapters::{DirBlobs, S3Blobs};
use onecard_app::pls::{model, relay, store as pls_store, survey};
use onecard_core::blob::BlobStore;
use onecard_core::config;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum GuidanceCmd {
    /// Loads a site survey into a branch, replacing its guidance model; live
    /// space states (status, car) are kept. The whole file is checked first.
    Import {
        #[command(flatten)]
        at: BranchArgs,
        /// Keep map pictures in this S3 bucket instead of `{data_dir}/blobs`.
        #[arg(long)]
        s3_bucket: Option<String>,
        #[arg(long)]
        s3_endpoint_url: Option<String>,
        file: PathBuf,
    },
    /// Checks a survey file and prints every problem; writes nothing.
    Check { file: PathBuf },
    /// Prints the demo survey (a two-floor car park), a starting point for a real one.
    ExportDemo,
    /// Prints what a branch has: counts per kind and each space's status.
    Show {
        #[command(flatten)]
        at: BranchArgs,
    },
    /// Sets (`--url`) or removes (`--off`) the third party 9.14 statuses are relayed to.
    Relay {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        off: bool,
    },
}

fn read_survey(file: &Path) -> anyhow::Result<survey::Survey> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    survey::parse(&text).map_err(|e| anyhow!("{}: {e}", file.display()))
}

/// A progress bar on stderr: redrawn in place on a terminal, a line every
/// 10% (and at the end) otherwise, so logs stay readable.
struct Progress {
    tty: bool,
    last: Instant,
    last_tenth: usize,
}

impl Progress {
    fn new() -> Progress {
        Progress { tty: std::io::stderr().is_terminal(), last: Instant::now() - Duration::from_secs(1), last_tenth: 0 }
    }
    fn show(&mut self, done: usize, total: usize) {
        let total = total.max(1);
        let tenth = done * 10 / total;
        let mut err = std::io::stderr();
        if self.tty {
            if done < total && self.last.elapsed() < Duration::from_millis(50) {
                return;
            }
            self.last = Instant::now();
            let width = 30;
            let filled = done * width / total;
            let _ = write!(err, "\r[{}{}] {done}/{total} records", "#".repeat(filled), "-".repeat(width - filled));
            if done >= total {
                let _ = writeln!(err);
            }
        } else if tenth > self.last_tenth || done >= total {
            self.last_tenth = tenth;
            let _ = writeln!(err, "imported {done}/{total} records ({}%)", done * 100 / total);
        }
    }
}

async fn blobs_for(store: &StoreArgs, bucket: Option<String>, endpoint: Option<String>) -> Arc<dyn BlobStore> {
    match bucket.or_else(|| std::env::var("ONECARD_BUCKET").ok()) {
        Some(b) => Arc::new(S3Blobs::from_env(&b, endpoint.as_deref()).await),
        None => Arc::new(DirBlobs::in_data_dir(&store.data_dir)),
    }
}

pub async fn guidance(cmd: GuidanceCmd) -> anyhow::Result<()> {
    match cmd {
        GuidanceCmd::Check { file } => {
            let s = read_survey(&file)?;
            match survey::check(&s) {
                Ok(()) => {
                    println!("{}: ok, {} records ({} maps, {} spaces, {} screens)", file.display(), survey::size(&s), s.maps.len(), s.spaces.len(), s.screens.len());
                    Ok(())
                }
                Err(problems) => bail!("{}: {} problem(s):\n  {}", file.display(), problems.len(), problems.join("\n  ")),
            }
        }
        GuidanceCmd::ExportDemo => {
            println!("{}", survey::DEMO.trim_end());
            Ok(())
        }
        GuidanceCmd::Import { at: BranchArgs { store, branch }, s3_bucket, s3_endpoint_url, file } => {
            let s = read_survey(&file)?;
            let st = open_store(&store).await?;
            if config::get_branch(&*st, &branch).await?.is_none() {
                bail!("no branch '{branch}': add it first with `onecard branch add`");
            }
            let blobs = blobs_for(&store, s3_bucket, s3_endpoint_url).await;
            let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
            let load = move |name: &str| -> Result<Vec<u8>, String> { std::fs::read(base.join(name)).map_err(|e| e.to_string()) };
            let mut bar = Progress::new();
            survey::apply(&*st, &*blobs, &branch, &s, &load, &mut |d, t| bar.show(d, t)).await.map_err(|e| anyhow!("{e}"))?;
            println!("survey {} imported into branch {branch}: {} maps, {} spaces, {} screens", file.display(), s.maps.len(), s.spaces.len(), s.screens.len());
            Ok(())
        }
        GuidanceCmd::Show { at: BranchArgs { store, branch } } => {
            let st = open_store(&store).await?;
            let err = |e: onecard_core::store::StoreError| anyhow!("{e}");
            let maps = pls_store::all::<model::Map>(&*st, &branch).await.map_err(err)?;
            let spaces = pls_store::all::<model::Space>(&*st, &branch).await.map_err(err)?;
            let screens = pls_store::all::<model::Screen>(&*st, &branch).await.map_err(err)?;
            for m in &maps {
                println!("map\t{}\t{}\t{}", m.no, m.name, m.floor_name);
            }
            for s in &spaces {
                println!("space\t{}\t{}\t{}\t{}", s.no, s.name, s.status.code(), s.plate.as_deref().unwrap_or(""));
            }
            for s in &screens {
                println!("screen\t{}\t{}\tdevice={}\tshown={}", s.no, s.name, s.device_id(), s.shown.map_or("-".to_string(), |n| n.to_string()));
            }
            if let Some(r) = relay::get(&*st, &branch).await.map_err(err)? {
                println!("relay\t{}", r.url);
            }
            Ok(())
        }
        GuidanceCmd::Relay { at: BranchArgs { store, branch }, url, off } => {
            let st = open_store(&store).await?;
            match (url, off) {
                (Some(u), false) => {
                    if !(u.starts_with("https://") || u.starts_with("http://")) {
                        bail!("--url '{u}' is not an http(s) URL");
                    }
                    relay::set(&*st, &branch, Some(&relay::Relay { url: u.clone() })).await?;
                    println!("branch {branch} relays space statuses to {u}");
                }
                (None, true) => {
                    relay::set(&*st, &branch, None).await?;
                    println!("branch {branch} relays no space statuses");
                }
                _ => bail!("give exactly one of --url URL and --off"),
            }
            Ok(())
        }
    }
}
