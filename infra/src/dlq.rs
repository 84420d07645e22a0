//! `onecard dlq list|redrive|purge`: the pushes given up on, on either backend:
//! the data dir's dead-letter table (what `serve` uses), or an SQS dead-letter
//! queue (what the push function uses). A redriven event goes back on the
//! event queue; partners that already had it are skipped by their delivered
//! markers, so each partner gets it once. `dlq quarantined` lists the outbox
//! items the sweep could not read and set aside.

use crate::backend::DB_FILE;
use crate::cli::{DlqArgs, DlqCmd};
use anyhow::{bail, Context};
use onecard_adapters::embedded_dlq::EmbeddedDeadLetters;
use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_adapters::sqs_dlq::SqsDeadLetters;
use onecard_adapters::sqs_queue::SqsQueue;
use onecard_core::queue::{DeadLetters, EventQueue};
use std::sync::Arc;

pub fn open_dead_letters_embedded(data_dir: &std::path::Path) -> anyhow::Result<Arc<dyn DeadLetters>> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    Ok(Arc::new(EmbeddedDeadLetters::open(&data_dir.join(DB_FILE)).context("opening the dead-letter queue")?))
}

async fn open(a: &DlqArgs) -> anyhow::Result<Arc<dyn DeadLetters>> {
    match &a.sqs_dlq_url {
        Some(url) => Ok(Arc::new(SqsDeadLetters::from_env(url, a.sqs_endpoint_url.as_deref()).await)),
        None => open_dead_letters_embedded(&a.data_dir),
    }
}

/// Where a redrive sends events: the SQS event queue given, else the data
/// dir's embedded queue (the running server's worker picks them up).
async fn target(a: &DlqArgs) -> anyhow::Result<Arc<dyn EventQueue>> {
    match (&a.sqs_queue_url, &a.sqs_dlq_url) {
        (Some(q), _) => Ok(Arc::new(SqsQueue::from_env(q, a.sqs_endpoint_url.as_deref()).await)),
        (None, Some(_)) => bail!("--sqs-queue-url is required to redrive an SQS dead-letter queue"),
        (None, None) => {
            std::fs::create_dir_all(&a.data_dir)?;
            Ok(Arc::new(EmbeddedQueue::open(&a.data_dir.join(DB_FILE)).context("opening the embedded queue")?))
        }
    }
}

pub async fn dlq(cmd: DlqCmd) -> anyhow::Result<()> {
    match cmd {
        DlqCmd::List { dlq, max } => {
            let d = open(&dlq).await?;
            let all = d.list(max).await?;
            for x in &all {
                println!(
                    "{}\t{}\t{}\tattempts={}\t{}\t{}",
                    x.event.id, x.event.branch, x.event.route, x.attempts, x.failed_at, x.reason
                );
            }
            println!("{} dead letter(s)", all.len());
        }
        DlqCmd::Redrive { dlq, ids, all } => {
            if ids.is_empty() && !all {
                bail!("name the events to redrive (--id, repeatable) or pass --all");
            }
            let d = open(&dlq).await?;
            let to = target(&dlq).await?;
            let n = if all { d.redrive(None, &*to).await? } else { d.redrive(Some(&ids), &*to).await? };
            println!("{n} event(s) redriven");
            if !all && n < ids.len() {
                eprintln!("{} of the named events were not in the dead-letter queue", ids.len() - n);
            }
        }
        DlqCmd::Purge { dlq } => {
            let d = open(&dlq).await?;
            println!("{} dead letter(s) purged", d.purge().await?);
        }
        DlqCmd::Quarantined { store, max } => {
            let s = crate::backend::open_store(&store).await?;
            let all = onecard_core::events::quarantined(&*s, max).await?;
            let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
            for q in &all {
                println!("{}\t{}\t{}\t{}\t{}", text(q, "pk"), text(q, "sk"), text(q, "at"), text(q, "reason"), q["body"]);
            }
            println!("{} quarantined outbox item(s)", all.len());
        }
    }
    Ok(())
}
