//! Admin commands. They write the same records the server reads, through the
//! same store port, so they work on DynamoDB and on a data dir the server has
//! open (SQLite in WAL mode lets both at once).

use crate::backend::open_store;
use crate::cli::{BranchCmd, CallerCmd, DynamoCmd, SiteCmd};
use anyhow::{bail, Context};
use onecard_core::config::{self, Area, Branch, BranchSettings, Caller, Controller, Lane, SiteAgent};

fn list_arg(s: &str) -> Vec<String> {
    s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
}

pub async fn caller(cmd: CallerCmd) -> anyhow::Result<()> {
    match cmd {
        CallerCmd::Add { store, from, secret, branches, groups, verify_url, token, park_ids, tz } => {
            for g in list_arg(&groups) {
                if g != config::WILDCARD && onecard_core::Group::parse(&g).is_none() {
                    bail!("unknown group '{g}' (park, acss, pls, cat, pub, partner, gate or *)");
                }
            }
            let s = open_store(&store).await?;
            let mut parks = std::collections::BTreeMap::new();
            for p in &park_ids {
                let (park, branch) = p.split_once('=').with_context(|| format!("--park-id '{p}' is not PARKID=BRANCH"))?;
                parks.insert(park.trim().to_string(), branch.trim().to_string());
            }
            if let Some(z) = &tz {
                if z.parse::<chrono_tz::Tz>().is_err() {
                    bail!("unknown time zone '{z}'");
                }
            }
            let c = Caller {
                from,
                secret,
                enabled: true,
                branches: list_arg(&branches),
                groups: list_arg(&groups),
                verify_url,
                tz,
                token,
                park_ids: parks,
            };
            config::put_caller(&*s, &c).await?;
            println!("caller {} added (branches {}, groups {})", c.from, c.branches.join(","), c.groups.join(","));
        }
        CallerCmd::List { store } => {
            let s = open_store(&store).await?;
            for c in config::list_callers(&*s).await? {
                println!(
                    "{}\t{}\tbranches={}\tgroups={}{}",
                    c.from,
                    if c.enabled { "enabled" } else { "disabled" },
                    c.branches.join(","),
                    c.groups.join(","),
                    c.verify_url.map(|u| format!("\tverify={u}")).unwrap_or_default()
                );
            }
        }
        CallerCmd::Disable { store, from } => {
            let s = open_store(&store).await?;
            let mut c = config::get_caller(&*s, &from).await?.with_context(|| format!("no caller '{from}'"))?;
            c.enabled = false;
            config::put_caller(&*s, &c).await?;
            println!("caller {from} disabled");
        }
    }
    Ok(())
}

fn parse_area(s: &str) -> anyhow::Result<Area> {
    let p: Vec<&str> = s.split(':').collect();
    match p.as_slice() {
        [id, name, cap] => Ok(Area { id: id.to_string(), name: name.to_string(), capacity: cap.parse().context("area capacity")? }),
        _ => bail!("--area takes id:name:capacity, got '{s}'"),
    }
}

fn parse_controller(s: &str) -> anyhow::Result<Controller> {
    let p: Vec<&str> = s.split(':').collect();
    let (dev, no, name, lane, area) = match p.as_slice() {
        [d, n, name, l] => (d, n, name, l, &"1"),
        [d, n, name, l, a] => (d, n, name, l, a),
        _ => bail!("--controller takes deviceID:controllerNo:name:in|out[:area], got '{s}'"),
    };
    let lane = match *lane {
        "in" => Lane::In,
        "out" => Lane::Out,
        other => bail!("controller lane must be in or out, got '{other}'"),
    };
    Ok(Controller { device_id: dev.to_string(), controller_no: no.to_string(), name: name.to_string(), lane, area: area.to_string() })
}

pub async fn branch(cmd: BranchCmd) -> anyhow::Result<()> {
    match cmd {
        BranchCmd::Add { store, branchno, name, tz, areas, controllers, grace_minutes, order_minutes } => {
            if tz.parse::<chrono_tz_check::Tz>().is_err() {
                bail!("unknown time zone '{tz}'");
            }
            let mut areas = areas.iter().map(|a| parse_area(a)).collect::<anyhow::Result<Vec<_>>>()?;
            if areas.is_empty() {
                areas.push(Area { id: "1".into(), name: "1".into(), capacity: 500 });
            }
            let controllers = controllers.iter().map(|c| parse_controller(c)).collect::<anyhow::Result<Vec<_>>>()?;
            let settings = BranchSettings { grace_minutes, order_minutes, ..BranchSettings::default() };
            let b = Branch { branchno, name, tz, settings, areas, controllers };
            let s = open_store(&store).await?;
            config::put_branch(&*s, &b).await?;
            println!("branch {} ({}) saved: {} areas, {} controllers", b.branchno, b.name, b.areas.len(), b.controllers.len());
        }
        BranchCmd::List { store } => {
            let s = open_store(&store).await?;
            for b in config::list_branches(&*s).await? {
                println!("{}\t{}\t{}\tareas={}\tcontrollers={}", b.branchno, b.name, b.tz, b.areas.len(), b.controllers.len());
            }
        }
    }
    Ok(())
}

pub async fn site(cmd: SiteCmd) -> anyhow::Result<()> {
    match cmd {
        SiteCmd::Add { store, branch, agent_id, secret } => {
            let s = open_store(&store).await?;
            if config::get_branch(&*s, &branch).await?.is_none() {
                bail!("no branch '{branch}': add it first with `onecard branch add`");
            }
            config::put_site(&*s, &SiteAgent { branch: branch.clone(), agent_id: agent_id.clone(), secret, enabled: true }).await?;
            println!("site agent {agent_id} of branch {branch} added");
        }
        SiteCmd::List { store } => {
            let s = open_store(&store).await?;
            for a in config::list_sites(&*s).await? {
                println!("{}\t{}\t{}", a.branch, a.agent_id, if a.enabled { "enabled" } else { "disabled" });
            }
        }
    }
    Ok(())
}

pub async fn dynamodb(cmd: DynamoCmd) -> anyhow::Result<()> {
    match cmd {
        DynamoCmd::CreateTable { dynamodb_table, endpoint_url } => {
            let store = onecard_adapters::dynamo_store::DynamoStore::from_env(&dynamodb_table, endpoint_url.as_deref()).await;
            store.create_table().await?;
            println!("table {dynamodb_table} ready");
        }
    }
    Ok(())
}

/// Time-zone names are checked with the same database the server uses.
mod chrono_tz_check {
    pub use chrono_tz::Tz;
}
