//! `onecard import <what> <file> --branch B`: bulk import of an existing
//! site (departments, duties, positions, companies, residences, cardholders,
//! cards, plates) from CSV with a header row, or from the JSON a list route
//! answers (an array of rows, or the whole envelope with its `data`).
//!
//! Columns are the API's field names (10.8 `DeptID,DeptName`; residences
//! `UpTown,Building,Cells,Floors,BasementFloors,Room,FloorNo,DoorPlate`;
//! holders 10.11's fields, or 10.14's names `DeptName`, `UpTown`...`Room`;
//! cards 10.15's, with `Park` fields by name and `Acss.` + name; plates
//! `CardNo,LicensePlate[,LicensePlate2]`). What each row means is decided in
//! `onecard_app::org::import`: a row is written whole or not at all, and a
//! second run of the same file changes nothing. Progress goes to stderr,
//! the summary (created, updated, unchanged, refused with row and reason)
//! to stdout; refused rows make the command exit non-zero.

use crate::backend::{open_store, DB_FILE};
use crate::cli::StoreArgs;
use anyhow::{anyhow, bail, Context};
use clap::Args;
use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_app::org::import::{Importer, Kind, Row};
use onecard_app::org::lists::Outcome;
use onecard_core::sitelink::NoSites;
use onecard_core::time::SystemClock;
use onecard_core::{Ctx, Ports};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct ImportArgs {
    /// departments, duties, positions, companies, residences, cardholders, cards or plates.
    pub what: String,
    /// A .csv file (header row, comma separated, UTF-8) or a .json file.
    pub file: PathBuf,
    #[arg(long)]
    pub branch: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// A row and where it is in the file, for the refusal report.
struct Located {
    at: String,
    row: Row,
}

/// Reads a file into rows: JSON when it starts with `[` or `{`, else CSV.
fn read_rows(text: &str) -> anyhow::Result<Vec<Located>> {
    let text = text.trim_start_matches('\u{feff}');
    match text.trim_start().chars().next() {
        Some('[') | Some('{') => json_rows(text),
        _ => csv_rows(text),
    }
}

fn json_rows(text: &str) -> anyhow::Result<Vec<Located>> {
    let v: Value = serde_json::from_str(text).context("the file is not valid JSON")?;
    let rows = match v {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("data") {
            Some(Value::Array(a)) => a,
            Some(_) | None => vec![Value::Object(o)],
        },
        _ => bail!("the JSON is neither an array of rows nor an answer with data"),
    };
    rows.into_iter()
        .enumerate()
        .map(|(i, r)| match r {
            Value::Object(row) => Ok(Located { at: format!("item {}", i + 1), row }),
            other => Err(anyhow!("item {}: {} is not an object", i + 1, other)),
        })
        .collect()
}

/// RFC 4180 CSV: quoted fields may hold commas, quotes (doubled) and line breaks.
fn csv_records(text: &str) -> anyhow::Result<Vec<(usize, Vec<String>)>> {
    let mut out = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let (mut line, mut start_line) = (1usize, 1usize);
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                out.push((start_line, std::mem::take(&mut record)));
                line += 1;
                start_line = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        bail!("line {start_line}: a quoted field is not closed");
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        out.push((start_line, record));
    }
    // Blank lines are not rows.
    out.retain(|(_, r)| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(out)
}

fn csv_rows(text: &str) -> anyhow::Result<Vec<Located>> {
    let mut records = csv_records(text)?.into_iter();
    let Some((_, header)) = records.next() else { return Ok(Vec::new()) };
    let header: Vec<String> = header.into_iter().map(|h| h.trim().to_string()).collect();
    records
        .map(|(line, fields)| {
            if fields.len() > header.len() {
                bail!("line {line}: {} fields, the header has {}", fields.len(), header.len());
            }
            let row = header.iter().cloned().zip(fields.into_iter().map(Value::String)).collect();
            Ok(Located { at: format!("line {line}"), row })
        })
        .collect()
}

/// Progress on stderr: a redrawn bar on a terminal, a line per tenth otherwise.
struct Progress {
    total: usize,
    tty: bool,
    last: Instant,
    last_tenth: usize,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress { total, tty: std::io::stderr().is_terminal(), last: Instant::now(), last_tenth: 0 }
    }

    fn show(&mut self, done: usize, counts: &Counts) {
        let pct = if self.total == 0 { 100 } else { done * 100 / self.total };
        let mut err = std::io::stderr();
        if self.tty {
            if done == self.total || self.last.elapsed() > Duration::from_millis(100) {
                let bar: String = (0..30).map(|i| if i * 100 < pct * 30 { '#' } else { '.' }).collect();
                let _ = write!(err, "\r[{bar}] {done}/{} {pct}% {}", self.total, counts.line());
                if done == self.total {
                    let _ = writeln!(err);
                }
                self.last = Instant::now();
            }
        } else {
            let tenth = pct / 10;
            if tenth > self.last_tenth || done == self.total {
                let _ = writeln!(err, "progress {done}/{} {pct}% {}", self.total, counts.line());
                self.last_tenth = tenth;
            }
        }
    }
}

#[derive(Default)]
struct Counts {
    created: usize,
    updated: usize,
    unchanged: usize,
    refused: Vec<(String, String)>,
}

impl Counts {
    fn line(&self) -> String {
        format!("created {}, updated {}, unchanged {}, refused {}", self.created, self.updated, self.unchanged, self.refused.len())
    }
}

pub async fn import(a: ImportArgs) -> anyhow::Result<()> {
    let kind = Kind::parse(&a.what)
        .ok_or_else(|| anyhow!("'{}' is not one of departments, duties, positions, companies, residences, cardholders, cards, plates", a.what))?;
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let rows = read_rows(&text).with_context(|| format!("in {}", a.file.display()))?;
    let store = open_store(&a.store).await?;
    // Card issues may publish events: the same embedded queue the server uses.
    std::fs::create_dir_all(&a.store.data_dir)?;
    let queue = Arc::new(EmbeddedQueue::open(&a.store.data_dir.join(DB_FILE)).context("opening the embedded queue")?);
    let ctx = Ctx::new(Ports { store, queue, sites: Arc::new(NoSites), clock: Arc::new(SystemClock) });
    let mut im = Importer::new(ctx, &a.branch).await.map_err(|e| anyhow!(e.message))?;
    let mut counts = Counts::default();
    let mut progress = Progress::new(rows.len());
    for (i, r) in rows.iter().enumerate() {
        match im.row(kind, &r.row).await {
            Ok(Outcome::Created) => counts.created += 1,
            Ok(Outcome::Updated) => counts.updated += 1,
            Ok(Outcome::Unchanged) => counts.unchanged += 1,
            Err(reason) => counts.refused.push((r.at.clone(), reason)),
        }
        progress.show(i + 1, &counts);
    }
    println!("imported {} {} rows from {}: {}", rows.len(), a.what, a.file.display(), counts.line());
    for (at, reason) in &counts.refused {
        println!("refused {at}: {reason}");
    }
    if !counts.refused.is_empty() {
        bail!("{} of {} rows refused (the others were imported; fix those rows and run the import again)", counts.refused.len(), rows.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_reads_quotes_commas_and_line_breaks() {
        let rows = read_rows("\u{feff}UpTown,Building,Room\r\n新景天,\"A, 东\",\"1\"\"01\"\n\n\"多\n行\",B,\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].row["Building"], "A, 东");
        assert_eq!(rows[0].row["Room"], "1\"01");
        assert_eq!(rows[1].row["UpTown"], "多\n行");
        assert_eq!(rows[1].at, "line 4");
        assert!(read_rows("a,b\n1,2,3\n").is_err());
        assert!(read_rows("a\n\"open\n").is_err());
    }

    #[test]
    fn json_reads_a_list_answer_or_its_data() {
        let rows = read_rows(r#"{"status":true,"data":[{"DeptID":"1","DeptName":"软件部"}]}"#).unwrap();
        assert_eq!(rows[0].row["DeptName"], "软件部");
        let rows = read_rows(r#"[{"DeptID":1,"DeptName":"a"},{"DeptID":2,"DeptName":"b"}]"#).unwrap();
        assert_eq!((rows.len(), rows[1].at.as_str()), (2, "item 2"));
        assert!(read_rows("[1]").is_err());
    }
}
