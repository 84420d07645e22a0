//! `onecard lanes black-type|black-hint|list`: the blacklist reference data
//! the API reads (6.77 types, 6.78 hint texts) but never writes. Written
//! through the store port, so it works on DynamoDB and beside a running server.

use crate::backend::open_store;
use crate::cli::LanesCmd;
use anyhow::{anyhow, bail};
use onecard_app::lanes::blacklist::{self, RefKind};
use onecard_core::config;

pub async fn lanes(cmd: LanesCmd) -> anyhow::Result<()> {
    match cmd {
        LanesCmd::BlackType { store, branch, id, text } => put(store, branch, RefKind::Type, id, text).await,
        LanesCmd::BlackHint { store, branch, id, text } => put(store, branch, RefKind::Hint, id, text).await,
        LanesCmd::List { store, branch } => {
            let s = open_store(&store).await?;
            for t in blacklist::types(&*s, &branch).await.map_err(|e| anyhow!(e.message))? {
                println!("type\t{}\t{}", t.id, t.text);
            }
            for h in blacklist::hints(&*s, &branch).await.map_err(|e| anyhow!(e.message))? {
                println!("hint\t{}\t{}", h.id, h.text);
            }
            Ok(())
        }
    }
}

async fn put(store: crate::cli::StoreArgs, branch: String, kind: RefKind, id: i64, text: String) -> anyhow::Result<()> {
    let s = open_store(&store).await?;
    let Some(b) = config::get_branch(&*s, &branch).await? else {
        bail!("no branch '{branch}': add it first with `onecard branch add`");
    };
    let now = onecard_core::time::to_local(onecard_core::time::now(), &b.tz);
    blacklist::put_ref(&*s, &branch, kind, id, &text, "admin", now).await.map_err(|e| anyhow!(e.message))?;
    println!("blacklist {} {id} of branch {branch} saved: {text}", if kind == RefKind::Type { "type" } else { "hint" });
    Ok(())
}
