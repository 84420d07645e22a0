//! `onecard partner add|list|disable|enable`: the partners that receive the
//! outbound pushes of a branch. Written through the store port, so it works on
//! DynamoDB and on a data dir the server has open; the worker reads partners
//! on every event, so a change applies to the next push.

use crate::backend::open_store;
use crate::cli::PartnerCmd;
use anyhow::{anyhow, bail};
use onecard_app::push::subscriptions::{self, Partner};
use onecard_core::config;

pub async fn partner(cmd: PartnerCmd) -> anyhow::Result<()> {
    match cmd {
        PartnerCmd::Add { store, branch, name, url, secret, from, events } => {
            let s = open_store(&store).await?;
            if config::get_branch(&*s, &branch).await?.is_none() {
                bail!("no branch '{branch}': add it first with `onecard branch add`");
            }
            let events = subscriptions::parse_events(&events).map_err(|e| anyhow!(e.message))?;
            let p = Partner { branch, name, url, secret, from, events, enabled: true };
            subscriptions::put(&*s, &p).await.map_err(|e| anyhow!(e.message))?;
            println!("partner {} of branch {} saved: {} <- {}", p.name, p.branch, p.url, p.events.join(","));
        }
        PartnerCmd::List { store, branch } => {
            let s = open_store(&store).await?;
            let branches = match branch {
                Some(b) => vec![b],
                None => config::list_branches(&*s).await?.into_iter().map(|b| b.branchno).collect(),
            };
            for b in branches {
                for p in subscriptions::list(&*s, &b).await? {
                    println!(
                        "{}\t{}\t{}\t{}\tfrom={}\tevents={}",
                        p.branch,
                        p.name,
                        if p.enabled { "enabled" } else { "disabled" },
                        p.url,
                        p.from,
                        p.events.join(",")
                    );
                }
            }
        }
        PartnerCmd::Disable { store, branch, name } => set(store, branch, name, false).await?,
        PartnerCmd::Enable { store, branch, name } => set(store, branch, name, true).await?,
    }
    Ok(())
}

async fn set(store: crate::cli::StoreArgs, branch: String, name: String, enabled: bool) -> anyhow::Result<()> {
    let s = open_store(&store).await?;
    if !subscriptions::set_enabled(&*s, &branch, &name, enabled).await.map_err(|e| anyhow!(e.message))? {
        bail!("no partner '{name}' in branch '{branch}'");
    }
    println!("partner {name} of branch {branch} {}", if enabled { "enabled" } else { "disabled" });
    Ok(())
}
