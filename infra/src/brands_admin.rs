//! `onecard brand add|rename|list|import`: the car brands of 6.36. The API
//! only reads brands; these commands are how they change. Each first seeds a
//! new store's common brands, so that ids 1..N stay the seed's whatever runs
//! first, the server or a command.

use crate::backend::open_store;
use crate::cli::StoreArgs;
use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use onecard_app::brands;
use onecard_core::store::ItemStore;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum BrandCmd {
    /// Adds a brand under the next id.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        name: String,
    },
    /// Renames a brand; cards keep referring to it by id.
    Rename {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        id: i64,
        #[arg(long)]
        name: String,
    },
    /// Prints `id<TAB>name`, by id.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Reads a file of brands, one a line: `name` adds the brand unless one
    /// has that name; `id<TAB>name` (what `list` prints) renames brand `id`,
    /// or adds it under that id. Empty lines and `#` comments are skipped.
    /// The whole file is checked before anything is written.
    Import {
        #[command(flatten)]
        store: StoreArgs,
        file: PathBuf,
    },
}

/// One line of an import file.
#[derive(Debug, PartialEq)]
enum Line {
    Name(String),
    WithId(i64, String),
}

fn parse_import(text: &str) -> anyhow::Result<Vec<(usize, Line)>> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let n = n + 1;
        // Split before trimming: trimming would eat the tab of `7<TAB>`.
        let line = raw.trim_start_matches('\u{feff}');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let parsed = match line.split_once('\t') {
            Some((id, name)) => {
                let id: i64 = id.trim().parse().map_err(|_| anyhow!("line {n}: '{}' is not a brand id", id.trim()))?;
                if id < 1 {
                    bail!("line {n}: brand id must be 1 or more");
                }
                Line::WithId(id, name.trim().to_string())
            }
            None if line.trim().chars().all(|c| c.is_ascii_digit()) => {
                bail!("line {n}: '{}' looks like an id without a name (separate id and name with a tab)", line.trim())
            }
            None => Line::Name(line.trim().to_string()),
        };
        match &parsed {
            Line::Name(name) | Line::WithId(_, name) if name.is_empty() => bail!("line {n}: the brand name is empty"),
            _ => out.push((n, parsed)),
        }
    }
    Ok(out)
}

/// What importing one line did.
enum Outcome {
    Added,
    Renamed,
    Unchanged,
}

async fn import_line(s: &dyn ItemStore, line: &Line) -> onecard_core::ApiResult<Outcome> {
    match line {
        Line::Name(name) => {
            let taken = brands::list(s).await?.iter().any(|b| b.name.to_lowercase() == name.to_lowercase());
            if taken {
                return Ok(Outcome::Unchanged);
            }
            brands::add(s, name).await.map(|_| Outcome::Added)
        }
        Line::WithId(id, name) => match brands::get(s, *id).await? {
            Some(b) if b.name == *name => Ok(Outcome::Unchanged),
            Some(_) => brands::rename(s, *id, name).await.map(|_| Outcome::Renamed),
            None => brands::add_with_id(s, *id, name).await.map(|_| Outcome::Added),
        },
    }
}

async fn seeded_store(store: &StoreArgs) -> anyhow::Result<std::sync::Arc<dyn ItemStore>> {
    let s = open_store(store).await?;
    let n = brands::ensure_seeded(&*s).await.map_err(|e| anyhow!("seeding the brands: {e}"))?;
    if n > 0 {
        eprintln!("seeded {n} common brands");
    }
    Ok(s)
}

pub async fn brand(cmd: BrandCmd) -> anyhow::Result<()> {
    match cmd {
        BrandCmd::Add { store, name } => {
            let s = seeded_store(&store).await?;
            let b = brands::add(&*s, &name).await.map_err(|e| anyhow!("{e}"))?;
            println!("brand {} ({}) added", b.id, b.name);
        }
        BrandCmd::Rename { store, id, name } => {
            let s = seeded_store(&store).await?;
            let b = brands::rename(&*s, id, &name).await.map_err(|e| anyhow!("{e}"))?;
            println!("brand {} renamed to {}", b.id, b.name);
        }
        BrandCmd::List { store } => {
            let s = seeded_store(&store).await?;
            for b in brands::list(&*s).await.map_err(|e| anyhow!("{e}"))? {
                println!("{}\t{}", b.id, b.name);
            }
        }
        BrandCmd::Import { store, file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let lines = parse_import(&text).with_context(|| format!("in {}", file.display()))?;
            let s = seeded_store(&store).await?;
            let (mut added, mut renamed, mut unchanged) = (0, 0, 0);
            for (n, line) in &lines {
                match import_line(&*s, line).await.map_err(|e| anyhow!("line {n}: {e}"))? {
                    Outcome::Added => added += 1,
                    Outcome::Renamed => renamed += 1,
                    Outcome::Unchanged => unchanged += 1,
                }
            }
            println!("imported {}: {added} added, {renamed} renamed, {unchanged} unchanged", file.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_lines_are_names_or_tab_separated_ids_and_names() {
        let got = parse_import("\u{feff}# brands\n仰望\n\n  60\t 方程豹 \n").unwrap();
        assert_eq!(got, vec![(2, Line::Name("仰望".into())), (4, Line::WithId(60, "方程豹".into()))]);
    }

    #[test]
    fn a_bad_import_line_is_refused_with_its_number() {
        for (text, needle) in [("仰望\nx\t方程豹\n", "line 2"), ("7\t\n", "line 1: the brand name is empty"), ("0\t甲", "1 or more"), ("甲\n 8 \n", "line 2: '8' looks like an id")] {
            let e = parse_import(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
