use clap::Parser;
use onecard_agent::agent::Agent;
use onecard_agent::config::{AgentConfig, Flags};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let flags = Flags::parse();
    // One clock for the whole agent: every timestamp it makes reads it.
    onecard_core::time::install(onecard_core::time::OffsetClock::new(chrono::Duration::seconds(flags.clock_offset_secs)));
    let cfg = AgentConfig::from_flags(flags)?;
    tracing::info!(cloud = %cfg.cloud, branch = %cfg.branch, agent = %cfg.agent_id, sim = cfg.sim, "starting");
    let running = Agent::start(cfg).await?;
    tracing::info!(camera = %running.camera_addr, "agent running; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    tracing::info!(pending = running.agent.outbox.len(), "stopping; pending uploads stay in the outbox");
    Ok(())
}
