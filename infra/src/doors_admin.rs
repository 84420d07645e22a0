//! `onecard doors ...`: what door access is configured with, which the API
//! reads but never writes: doors (7.1), time groups and permission groups
//! (7.2), the Bluetooth map (7.11), face terminals (10.50-10.53), the default
//! visitee (10.56) and the visitor retention (10.48). Written through the
//! store port, so it works on DynamoDB and beside a running server (whose
//! agents get the change at their next configuration refresh).
//!
//! `import` reads a tab-separated file, one record a line (what `list`
//! prints): `door C N name [room] [bdid] [addr] [channel] [controllerName]`,
//! `timegroup ID name day=HH:MM:SS-HH:MM:SS,...;...`, `grant ID name
//! [timeGroup] [C-N,C-N]`, `bluetooth BDID doorName`, `terminal DEVICE name
//! 171|150`. The whole file is checked before anything is written.

use crate::backend::open_store;
use crate::cli::{BranchArgs, StoreArgs};
use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use onecard_app::acss::model::{check_module, Bluetooth, Door, FaceTerminal, Grant, TimeGroup};
use onecard_app::acss::store;
use onecard_app::people::visitors;
use onecard_core::config;
use onecard_core::store::ItemStore;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum DoorsCmd {
    /// Adds or replaces a door (reader `--door` of controller `--controller`).
    Door {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        controller: String,
        #[arg(long)]
        door: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        room: String,
        #[arg(long, default_value = "")]
        bdid: String,
        #[arg(long, default_value = "")]
        addr: String,
        #[arg(long, default_value = "")]
        channel: String,
        #[arg(long, default_value = "")]
        controller_name: String,
    },
    /// Removes a door no permission group names.
    DoorDelete {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        controller: String,
        #[arg(long)]
        door: String,
    },
    /// Adds or replaces a time group: `--period day=HH:MM:SS-HH:MM:SS,...`
    /// (day 0 Sunday .. 6 Saturday, or `*`), repeatable.
    TimeGroup {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long = "period")]
        periods: Vec<String>,
    },
    /// Removes a time group no permission group uses.
    TimeGroupDelete {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        id: String,
    },
    /// Adds or replaces a permission group: its time group and doors (`C-N`, repeatable).
    Grant {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        time_group: String,
        #[arg(long = "door")]
        doors: Vec<String>,
    },
    /// A Bluetooth device and the door it sits by (7.11).
    Bluetooth {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        bdid: String,
        #[arg(long)]
        door_name: String,
    },
    /// Adds or replaces a face terminal (`--module` 171 door access, 150 channel gate).
    Terminal {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        device: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long)]
        module: i64,
    },
    TerminalDelete {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        device: String,
    },
    /// The default visitee of 10.56 (a cardholder's user number).
    Visitee {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        user_no: String,
    },
    /// 10.48's visitor retention, in hours.
    Retention {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        hours: i64,
    },
    /// Prints the configuration in the import format.
    List {
        #[command(flatten)]
        at: BranchArgs,
    },
    /// Reads a file in the format `list` prints.
    Import {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        file: PathBuf,
    },
}

fn e(err: onecard_core::ApiError) -> anyhow::Error {
    anyhow!(err.message)
}

async fn branch_store(args: &StoreArgs, branch: &str) -> anyhow::Result<std::sync::Arc<dyn ItemStore>> {
    let s = open_store(args).await?;
    if config::get_branch(&*s, branch).await?.is_none() {
        bail!("no branch '{branch}': add it first with `onecard branch add`");
    }
    Ok(s)
}

/// `C-N` (as printed by `list`) or `C#N` to the stored door key.
fn door_key(s: &str) -> anyhow::Result<String> {
    let (c, d) = s.rsplit_once('-').or_else(|| s.rsplit_once('#')).ok_or_else(|| anyhow!("door '{s}' is not CONTROLLER-READER"))?;
    if c.is_empty() || d.is_empty() {
        bail!("door '{s}' is not CONTROLLER-READER");
    }
    Ok(format!("{c}#{d}"))
}

/// One record of an import file.
enum Record {
    Door(Door),
    TimeGroup(TimeGroup),
    Grant(Grant),
    Bluetooth(Bluetooth),
    Terminal(FaceTerminal),
}

fn parse_line(line: &str) -> anyhow::Result<Option<Record>> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() || line.trim_start().starts_with('#') {
        return Ok(None);
    }
    let f: Vec<&str> = line.split('\t').collect();
    let at = |i: usize| f.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
    let need = |n: usize| if f.len() < n { Err(anyhow!("'{}' needs at least {} fields", f[0], n - 1)) } else { Ok(()) };
    Ok(Some(match f[0] {
        "door" => {
            need(4)?;
            Record::Door(Door {
                controller_no: at(1),
                door_no: at(2),
                name: at(3),
                room_id: at(4),
                bdid: at(5),
                addr: at(6),
                channel: at(7),
                controller_name: at(8),
                ibms: false,
            })
        }
        "timegroup" => {
            need(3)?;
            let specs: Vec<String> = at(3).split(';').filter(|s| !s.trim().is_empty()).map(str::to_string).collect();
            Record::TimeGroup(TimeGroup::parse(&at(1), &at(2), &specs).map_err(e)?)
        }
        "grant" => {
            need(3)?;
            let doors = at(4).split(',').filter(|s| !s.trim().is_empty()).map(|s| door_key(s.trim())).collect::<anyhow::Result<_>>()?;
            Record::Grant(Grant { id: at(1), name: at(2), time_group: at(3), doors })
        }
        "bluetooth" => {
            need(3)?;
            Record::Bluetooth(Bluetooth { bdid: at(1), door_name: at(2) })
        }
        "terminal" => {
            need(4)?;
            let module = at(3).parse().map_err(|_| anyhow!("module '{}' is not 171 or 150", at(3)))?;
            Record::Terminal(FaceTerminal { device: at(1), name: at(2), module: check_module("module", module).map_err(e)? })
        }
        other => bail!("unknown record '{other}' (door, timegroup, grant, bluetooth, terminal)"),
    }))
}

async fn write(s: &dyn ItemStore, branch: &str, r: &Record) -> anyhow::Result<()> {
    match r {
        Record::Door(d) => {
            // A re-imported door keeps its IBMS mode (set through 7.13).
            let mut d = d.clone();
            if let Some(old) = store::door(s, branch, &d.controller_no, &d.door_no).await.map_err(e)? {
                d.ibms = old.ibms;
            }
            store::put_door(s, branch, &d).await.map_err(e)
        }
        Record::TimeGroup(g) => store::put_time_group(s, branch, g).await.map_err(e),
        Record::Grant(g) => store::put_grant(s, branch, g).await.map_err(e),
        Record::Bluetooth(b) => store::put_bluetooth(s, branch, b).await.map_err(e),
        Record::Terminal(t) => store::put_terminal(s, branch, t).await.map_err(e),
    }
}

pub async fn doors(cmd: DoorsCmd) -> anyhow::Result<()> {
    match cmd {
        DoorsCmd::Door { at: BranchArgs { store: a, branch }, controller, door, name, room, bdid, addr, channel, controller_name } => {
            let s = branch_store(&a, &branch).await?;
            let d = Door { controller_no: controller, door_no: door, name, room_id: room, bdid, addr, channel, controller_name, ibms: false };
            write(&*s, &branch, &Record::Door(d.clone())).await?;
            println!("door {} of branch {branch} saved", d.device());
        }
        DoorsCmd::DoorDelete { at: BranchArgs { store: a, branch }, controller, door } => {
            let s = branch_store(&a, &branch).await?;
            let existed = store::delete_door(&*s, &branch, &controller, &door).await.map_err(e)?;
            println!("door {controller}-{door} {}", if existed { "deleted" } else { "was not there" });
        }
        DoorsCmd::TimeGroup { at: BranchArgs { store: a, branch }, id, name, periods } => {
            let g = TimeGroup::parse(&id, &name, &periods).map_err(e)?;
            let s = branch_store(&a, &branch).await?;
            store::put_time_group(&*s, &branch, &g).await.map_err(e)?;
            println!("time group {id} of branch {branch} saved");
        }
        DoorsCmd::TimeGroupDelete { at: BranchArgs { store: a, branch }, id } => {
            let s = branch_store(&a, &branch).await?;
            let existed = store::delete_time_group(&*s, &branch, &id).await.map_err(e)?;
            println!("time group {id} {}", if existed { "deleted" } else { "was not there" });
        }
        DoorsCmd::Grant { at: BranchArgs { store: a, branch }, id, name, time_group, doors } => {
            let keys = doors.iter().map(|d| door_key(d)).collect::<anyhow::Result<Vec<_>>>()?;
            let s = branch_store(&a, &branch).await?;
            let known: Vec<String> = store::doors(&*s, &branch).await.map_err(e)?.iter().map(Door::key).collect();
            if let Some(k) = keys.iter().find(|k| !known.contains(k)) {
                bail!("no door {} in branch {branch}: add it first with `onecard doors door`", k.replace('#', "-"));
            }
            if !time_group.is_empty() && !store::time_groups(&*s, &branch).await.map_err(e)?.iter().any(|g| g.id == time_group) {
                bail!("no time group {time_group} in branch {branch}");
            }
            store::put_grant(&*s, &branch, &Grant { id: id.clone(), name, time_group, doors: keys }).await.map_err(e)?;
            println!("permission group {id} of branch {branch} saved");
        }
        DoorsCmd::Bluetooth { at: BranchArgs { store: a, branch }, bdid, door_name } => {
            let s = branch_store(&a, &branch).await?;
            store::put_bluetooth(&*s, &branch, &Bluetooth { bdid: bdid.clone(), door_name }).await.map_err(e)?;
            println!("bluetooth {bdid} of branch {branch} saved");
        }
        DoorsCmd::Terminal { at: BranchArgs { store: a, branch }, device, name, module } => {
            let module = check_module("module", module).map_err(e)?;
            let s = branch_store(&a, &branch).await?;
            store::put_terminal(&*s, &branch, &FaceTerminal { device: device.clone(), name, module }).await.map_err(e)?;
            println!("face terminal {device} of branch {branch} saved");
        }
        DoorsCmd::TerminalDelete { at: BranchArgs { store: a, branch }, device } => {
            let s = branch_store(&a, &branch).await?;
            let existed = store::delete_terminal(&*s, &branch, &device).await.map_err(e)?;
            println!("face terminal {device} {}", if existed { "deleted" } else { "was not there" });
        }
        DoorsCmd::Visitee { at: BranchArgs { store: a, branch }, user_no } => {
            let s = branch_store(&a, &branch).await?;
            visitors::set_default_visitee(&*s, &branch, &user_no).await.map_err(e)?;
            println!("default visitee of branch {branch}: {user_no}");
        }
        DoorsCmd::Retention { at: BranchArgs { store: a, branch }, hours } => {
            let s = branch_store(&a, &branch).await?;
            visitors::set_retention_hours(&*s, &branch, hours).await.map_err(e)?;
            println!("visitor retention of branch {branch}: {hours} h");
        }
        DoorsCmd::List { at: BranchArgs { store: a, branch } } => {
            let s = branch_store(&a, &branch).await?;
            for d in store::doors(&*s, &branch).await.map_err(e)? {
                println!("door\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}", d.controller_no, d.door_no, d.name, d.room_id, d.bdid, d.addr, d.channel, d.controller_name);
            }
            for g in store::time_groups(&*s, &branch).await.map_err(e)? {
                let specs: Vec<String> = g
                    .days
                    .iter()
                    .enumerate()
                    .filter(|(_, ps)| !ps.is_empty())
                    .map(|(i, ps)| format!("{i}={}", ps.iter().map(|p| format!("{}-{}", p.start, p.end)).collect::<Vec<_>>().join(",")))
                    .collect();
                println!("timegroup\t{}\t{}\t{}", g.id, g.name, specs.join(";"));
            }
            for g in store::grants(&*s, &branch).await.map_err(e)? {
                println!("grant\t{}\t{}\t{}\t{}", g.id, g.name, g.time_group, g.doors.iter().map(|d| d.replace('#', "-")).collect::<Vec<_>>().join(","));
            }
            for b in store::bluetooth(&*s, &branch).await.map_err(e)? {
                println!("bluetooth\t{}\t{}", b.bdid, b.door_name);
            }
            for t in store::terminals(&*s, &branch).await.map_err(e)? {
                println!("terminal\t{}\t{}\t{}", t.device, t.name, t.module);
            }
        }
        DoorsCmd::Import { at: BranchArgs { store: a, branch }, file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let mut records = Vec::new();
            for (n, line) in text.lines().enumerate() {
                if let Some(r) = parse_line(line).with_context(|| format!("{}:{}", file.display(), n + 1))? {
                    records.push(r);
                }
            }
            let s = branch_store(&a, &branch).await?;
            for r in &records {
                write(&*s, &branch, r).await?;
            }
            println!("{} record(s) imported into branch {branch}", records.len());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_lines_are_read_or_refused_with_the_reason() {
        assert!(parse_line("# comment").unwrap().is_none());
        let Some(Record::Grant(g)) = parse_line("grant\t1\t员工\t2\tC1-1,C1-2").unwrap() else { panic!() };
        assert_eq!(g.doors, ["C1#1", "C1#2"]);
        let Some(Record::TimeGroup(t)) = parse_line("timegroup\t2\t工作\t1=08:00:00-18:00:00;2=08:00:00-12:00:00,13:00:00-18:00:00").unwrap() else { panic!() };
        assert_eq!((t.days[1].len(), t.days[2].len()), (1, 2));
        assert!(parse_line("terminal\tVM1\tx\t99").is_err());
        assert!(parse_line("door\tC1").is_err());
        assert!(parse_line("gate\tx").is_err());
    }
}
