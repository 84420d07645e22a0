//! `onecard partners set|list|remove|import`: the chapter 11 partners'
//! settings at a branch (their ids such as Upark's `parkId` or Jinying's
//! store code, the URL and key where the cloud calls them, switches such as
//! Changting's `transferFreeType`). The API reads these and never writes
//! them. Which branch a data-only partner's `parkId` selects is the caller's
//! mapping (`onecard caller add --park-id`), not a partner setting.

use crate::backend::open_store;
use crate::cli::StoreArgs;
use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use onecard_app::partners::settings::{self, PartnerSettings};
use onecard_core::config;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum PartnersCmd {
    /// Sets (creates or replaces) one partner's settings at a branch.
    Set {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
        /// upark, jinying, jinying-paylater, maoku, szgdj, hanvon, lvdeng,
        /// changting, zjdx, dongling, hisense, aibee, litian, yanji.
        #[arg(long)]
        partner: String,
        /// Where the cloud calls the partner; `standin:` for the built-in
        /// stand-in (canteen, CRM).
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        key: Option<String>,
        /// `NAME=VALUE`, repeatable: the partner's ids (`parkId=1`, `companyNo=0123`).
        #[arg(long = "id")]
        ids: Vec<String>,
        /// `NAME=VALUE`, repeatable: switches (`transferFreeType=换乘免费`, `dayStart=08:00`).
        #[arg(long = "option")]
        options: Vec<String>,
        /// Saves the settings disabled (nothing is called).
        #[arg(long)]
        disabled: bool,
    },
    /// Prints the settings of a branch's partners (every branch without --branch).
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: Option<String>,
    },
    Remove {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
        #[arg(long)]
        partner: String,
    },
    /// Announces a branch's space lights and guidance screens to its Aibee
    /// subscriber (11.32) with their current state (11.34, 11.36): the
    /// events go to the outbox, which the push function publishes.
    AibeeSync {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
    },
    /// Reads a JSON array of settings objects (what `list --json` prints):
    /// `{"partner", "branch", "url", "key", "ids", "options", "enabled"}`.
    /// Every entry is checked before anything is written.
    Import {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        file: PathBuf,
    },
}

fn pairs(flag: &str, list: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    list.iter()
        .map(|p| p.split_once('=').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).ok_or_else(|| anyhow!("--{flag} '{p}' is not NAME=VALUE")))
        .collect()
}

pub async fn partners(cmd: PartnersCmd) -> anyhow::Result<()> {
    match cmd {
        PartnersCmd::Set { store, branch, partner, url, key, ids, options, disabled } => {
            settings::check_partner(&partner).map_err(|e| anyhow!(e))?;
            let s = PartnerSettings { partner, branch, url, key, ids: pairs("id", &ids)?, options: pairs("option", &options)?, enabled: !disabled };
            let st = open_store(&store).await?;
            if config::get_branch(&*st, &s.branch).await?.is_none() {
                bail!("no branch '{}': add it first with `onecard branch add`", s.branch);
            }
            settings::put(&*st, &s).await.map_err(|e| anyhow!(e.message))?;
            println!("partner {} of branch {} saved", s.partner, s.branch);
        }
        PartnersCmd::List { store, branch } => {
            let st = open_store(&store).await?;
            let branches = match branch {
                Some(b) => vec![b],
                None => config::list_branches(&*st).await?.into_iter().map(|b| b.branchno).collect(),
            };
            let mut all = Vec::new();
            for b in branches {
                all.extend(settings::list(&*st, &b).await.map_err(|e| anyhow!(e.message))?);
            }
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
        PartnersCmd::Remove { store, branch, partner } => {
            let st = open_store(&store).await?;
            if !settings::remove(&*st, &branch, &partner).await.map_err(|e| anyhow!(e.message))? {
                bail!("no settings of partner '{partner}' at branch '{branch}'");
            }
            println!("partner {partner} of branch {branch} removed");
        }
        PartnersCmd::AibeeSync { store, branch } => {
            let st = open_store(&store).await?;
            let Some(b) = config::get_branch(&*st, &branch).await? else { bail!("no branch '{branch}'") };
            let at = onecard_core::time::to_local(chrono::Utc::now(), &b.tz);
            let events = onecard_app::partner_hooks::aibee::sync_events(&*st, &branch, at).await.map_err(|e| anyhow!(e.message))?;
            if events.is_empty() {
                bail!("branch {branch} has no partner subscribed to /api/setDeviceInfo, /api/setRedGreenLightStatus or /api/setGuideLedStatus (onecard partner add --events ...)");
            }
            // One transaction per event: a large car park exceeds a transaction's item limit.
            for ev in &events {
                st.transact(vec![onecard_core::events::outbox_write(ev)]).await?;
            }
            println!("{} Aibee event(s) queued for branch {branch}", events.len());
        }
        PartnersCmd::Import { store, file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let all: Vec<PartnerSettings> = serde_json::from_str(&text).with_context(|| format!("{} is not a JSON array of partner settings", file.display()))?;
            let st = open_store(&store).await?;
            for (i, s) in all.iter().enumerate() {
                settings::check_partner(&s.partner).map_err(|e| anyhow!("entry {}: {e}", i + 1))?;
                if config::get_branch(&*st, &s.branch).await?.is_none() {
                    bail!("entry {}: no branch '{}'", i + 1, s.branch);
                }
            }
            for s in &all {
                settings::put(&*st, s).await.map_err(|e| anyhow!(e.message))?;
            }
            println!("{} partner settings imported", all.len());
        }
    }
    Ok(())
}
