//! `onecard org dept|duty|position|company|workstation|params`: the directory
//! lists the API reads but never writes (10.8-10.10, 10.19, 10.36, 10.48).
//! Written through the store port, so they work on DynamoDB and beside a
//! running server. Residences have routes of their own (10.20-10.35);
//! `onecard import` loads any of these in bulk.

use crate::backend::open_store;
use crate::cli::StoreArgs;
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use onecard_app::org::lists::{self, Entry, ListKind, Outcome};
use onecard_app::org::system::{self, LogType, SystemParams, Workstation};
use onecard_core::config;
use onecard_core::store::ItemStore;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum OrgCmd {
    /// Departments (10.8).
    #[command(subcommand)]
    Dept(ListCmd),
    /// Duties, job titles (10.9).
    #[command(subcommand)]
    Duty(ListCmd),
    /// Positions, posts (10.10).
    #[command(subcommand)]
    Position(ListCmd),
    /// Companies (10.19); `--abbr` sets the query code.
    #[command(subcommand)]
    Company(ListCmd),
    /// Workstations whose logs 10.37 fetches (10.36).
    #[command(subcommand)]
    Workstation(WorkstationCmd),
    /// Shows, or with options sets, the system parameters (10.48).
    Params {
        #[command(flatten)]
        at: At,
        /// Hours a visitor booking stays valid after its visit time.
        #[arg(long)]
        visitor_retention_hours: Option<i64>,
    },
}

#[derive(Subcommand)]
pub enum ListCmd {
    /// Adds an entry under the next free id.
    Add {
        #[command(flatten)]
        at: At,
        #[arg(long)]
        name: String,
        #[arg(long)]
        abbr: Option<String>,
    },
    /// Adds or renames the entry with this id.
    Set {
        #[command(flatten)]
        at: At,
        #[arg(long)]
        id: i64,
        #[arg(long)]
        name: String,
        #[arg(long)]
        abbr: Option<String>,
    },
    /// Removes an entry no cardholder refers to.
    Remove {
        #[command(flatten)]
        at: At,
        #[arg(long)]
        id: i64,
    },
    /// Prints `id<TAB>name[<TAB>abbr]`, by id.
    List {
        #[command(flatten)]
        at: At,
    },
}

#[derive(Subcommand)]
pub enum WorkstationCmd {
    /// Adds or replaces a workstation.
    Set {
        #[command(flatten)]
        at: At,
        /// Its number (letters, digits, '-', '.').
        #[arg(long)]
        no: String,
        /// J entry/exit, Z kiosk, C parking guidance.
        #[arg(long = "type")]
        log_type: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, default_value = "")]
        ip: String,
        /// The LAN path operators know its logs by (shown by 10.36, compared by 10.37).
        #[arg(long)]
        log_dir: String,
        /// The site agent that holds its logs (in `<agent data dir>/logs`).
        #[arg(long)]
        agent: String,
    },
    Remove {
        #[command(flatten)]
        at: At,
        #[arg(long)]
        no: String,
    },
    /// Prints `no<TAB>type<TAB>name<TAB>ip<TAB>log dir<TAB>agent`.
    List {
        #[command(flatten)]
        at: At,
    },
}

/// Where every org command acts: a store and a branch already in it.
#[derive(Args)]
pub struct At {
    #[command(flatten)]
    store: StoreArgs,
    #[arg(long)]
    branch: String,
}

impl At {
    async fn open(&self) -> anyhow::Result<Arc<dyn ItemStore>> {
        let s = open_store(&self.store).await?;
        let branch = &self.branch;
        if config::get_branch(&*s, branch).await?.is_none() {
            bail!("no branch '{branch}': add it first with `onecard branch add`");
        }
        Ok(s)
    }
}

fn e(err: onecard_core::ApiError) -> anyhow::Error {
    anyhow!(err.message)
}

async fn list_cmd(kind: ListKind, cmd: ListCmd) -> anyhow::Result<()> {
    let noun = kind.noun();
    match cmd {
        ListCmd::Add { at, name, abbr } => {
            let (s, branch) = (at.open().await?, at.branch);
            let en = lists::add(&*s, &branch, kind, &name, abbr).await.map_err(e)?;
            println!("{noun} {} ({}) added", en.id, en.name);
        }
        ListCmd::Set { at, id, name, abbr } => {
            let (s, branch) = (at.open().await?, at.branch);
            let what = match lists::put(&*s, &branch, kind, &Entry { id, name: name.clone(), abbr }).await.map_err(e)? {
                Outcome::Created => "added",
                Outcome::Updated => "changed",
                Outcome::Unchanged => "unchanged",
            };
            println!("{noun} {id} ({}) {what}", name.trim());
        }
        ListCmd::Remove { at, id } => {
            let (s, branch) = (at.open().await?, at.branch);
            lists::remove(&*s, &branch, kind, id).await.map_err(e)?;
            println!("{noun} {id} removed");
        }
        ListCmd::List { at } => {
            let (s, branch) = (at.open().await?, at.branch);
            for en in lists::list(&*s, &branch, kind).await.map_err(e)? {
                match en.abbr {
                    Some(a) => println!("{}\t{}\t{a}", en.id, en.name),
                    None => println!("{}\t{}", en.id, en.name),
                }
            }
        }
    }
    Ok(())
}

async fn workstation_cmd(cmd: WorkstationCmd) -> anyhow::Result<()> {
    match cmd {
        WorkstationCmd::Set { at, no, log_type, name, ip, log_dir, agent } => {
            let log_type = LogType::parse(&log_type).filter(|t| *t != LogType::Y).ok_or_else(|| anyhow!("--type '{log_type}' is not J, Z or C"))?;
            let (s, branch) = (at.open().await?, at.branch);
            let w = Workstation { no: no.clone(), log_type, name, ip, log_dir, agent };
            let new = system::put_workstation(&*s, &branch, &w).await.map_err(e)?;
            println!("workstation {no} {}", if new { "added" } else { "changed" });
        }
        WorkstationCmd::Remove { at, no } => {
            let (s, branch) = (at.open().await?, at.branch);
            system::remove_workstation(&*s, &branch, &no).await.map_err(e)?;
            println!("workstation {no} removed");
        }
        WorkstationCmd::List { at } => {
            let (s, branch) = (at.open().await?, at.branch);
            for w in system::workstations(&*s, &branch).await.map_err(e)? {
                println!("{}\t{}\t{}\t{}\t{}\t{}", w.no, w.log_type.code(), w.name, w.ip, w.log_dir, w.agent);
            }
        }
    }
    Ok(())
}

pub async fn org(cmd: OrgCmd) -> anyhow::Result<()> {
    match cmd {
        OrgCmd::Dept(c) => list_cmd(ListKind::Dept, c).await,
        OrgCmd::Duty(c) => list_cmd(ListKind::Duty, c).await,
        OrgCmd::Position(c) => list_cmd(ListKind::Position, c).await,
        OrgCmd::Company(c) => list_cmd(ListKind::Company, c).await,
        OrgCmd::Workstation(c) => workstation_cmd(c).await,
        OrgCmd::Params { at, visitor_retention_hours } => {
            let (s, branch) = (at.open().await?, at.branch);
            if let Some(h) = visitor_retention_hours {
                system::put_params(&*s, &branch, &SystemParams { visitor_retention_hours: h }).await.map_err(e)?;
            }
            let p = system::params(&*s, &branch).await.map_err(e)?;
            println!("visitorRetentionTime\t{}", p.visitor_retention_hours);
            Ok(())
        }
    }
}
