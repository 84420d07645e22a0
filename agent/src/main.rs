use clap::Parser;
use onecard_agent::agent::Agent;
use onecard_agent::cli;
use onecard_agent::config::{AgentConfig, Command, Flags};
use onecard_agent::outbox::{self, Limits, Outbox};
use onecard_agent::sd_notify::Notifier;
use std::io::IsTerminal;
use std::path::Path;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    // The technician's commands print their own findings; the agent's log
    // would bury them. RUST_LOG still wins.
    let quiet = matches!(flags.command, Some(Command::CheckConfig(_) | Command::Ports(_) | Command::Probe(_) | Command::Status(_)));
    // Under systemd stderr is the journal: no colour codes in it, and no
    // second timestamp (the journal stamps every line).
    let log = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| if quiet { "warn" } else { "info" }.into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        log.without_time().init();
    } else {
        log.init();
    }
    // One clock for the whole agent: every timestamp it makes reads it.
    onecard_core::time::install(onecard_core::time::OffsetClock::new(chrono::Duration::seconds(flags.clock_offset_secs)));
    match &flags.command {
        Some(Command::DeadLetters { data_dir, requeue }) => return dead_letters(data_dir, requeue.as_deref()),
        Some(Command::CheckConfig(a)) => std::process::exit(cli::check_config::run(a)),
        Some(Command::Ports(a)) => std::process::exit(cli::ports::run(a)),
        Some(Command::Probe(a)) => std::process::exit(cli::probe::run(a).await),
        Some(Command::Status(a)) => std::process::exit(cli::status::run(a)),
        None => {}
    }
    let cfg = AgentConfig::from_flags(flags)?;
    tracing::info!(cloud = %cfg.cloud, branch = %cfg.branch, agent = %cfg.agent_id, sim = cfg.sim, cameras = cfg.cameras.len(), "starting");
    let running = Agent::start(cfg).await?;
    let notifier = Notifier::from_env();
    tokio::spawn(onecard_agent::service::supervise(running.agent.clone(), notifier.clone()));
    tracing::info!(camera = %running.camera_addr, systemd = notifier.enabled(), "agent running; Ctrl-C to stop");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    notifier.stopping();
    tracing::info!(pending = running.agent.outbox.len(), "stopping; pending uploads stay in the outbox");
    Ok(())
}

/// Prints one dead letter per line (JSON), or requeues one.
fn dead_letters(data_dir: &Path, requeue: Option<&str>) -> anyhow::Result<()> {
    let dir = data_dir.join("outbox");
    match requeue {
        None => {
            for d in outbox::list_dead_letters(&dir)? {
                println!("{}", serde_json::to_string(&d)?);
            }
        }
        Some(id) => {
            let (ob, _) = Outbox::open(&dir, Limits::default())?;
            // Outbox ids are `{agentId}-ob-{n}`; the new one keeps the agent.
            let prefix = id.rsplit_once("-ob-").map(|(p, _)| p).unwrap_or("requeued");
            let e = ob.requeue(prefix, id)?;
            println!("requeued {id} as {} ({}); the agent sends it on its next start", e.id, e.route);
        }
    }
    Ok(())
}
