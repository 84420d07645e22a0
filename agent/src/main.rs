use clap::Parser;
use onecard_agent::agent::Agent;
use onecard_agent::config::{AgentConfig, Command, Flags};
use onecard_agent::outbox::{self, Limits, Outbox};
use std::path::Path;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let flags = Flags::parse();
    // One clock for the whole agent: every timestamp it makes reads it.
    onecard_core::time::install(onecard_core::time::OffsetClock::new(chrono::Duration::seconds(flags.clock_offset_secs)));
    if let Some(Command::DeadLetters { data_dir, requeue }) = &flags.command {
        return dead_letters(data_dir, requeue.as_deref());
    }
    let cfg = AgentConfig::from_flags(flags)?;
    tracing::info!(cloud = %cfg.cloud, branch = %cfg.branch, agent = %cfg.agent_id, sim = cfg.sim, cameras = cfg.cameras.len(), "starting");
    let running = Agent::start(cfg).await?;
    tracing::info!(camera = %running.camera_addr, "agent running; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
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
