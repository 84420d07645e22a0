//! `onecard`: the local server and the admin commands.
//!
//! `onecard serve` runs every group on one machine over the embedded store;
//! the admin commands (`caller`, `branch`, `site`, `brand`, `dynamodb`) work on the same
//! data dir while it runs, or on a DynamoDB table.

mod admin;
mod backend;
mod brands_admin;
mod cli;
mod discounts_admin;
mod dlq;
mod import_admin;
mod guidance_admin;
mod lanes_admin;
mod payments_admin;
mod org_admin;
mod doors_admin;
mod partner;
mod partners_admin;
mod pictures;
mod push_worker;
mod server;
mod sitelink;

use clap::Parser;

/// See infra/Cargo.toml: allocation is on every request's path.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    init_logs(args.log_json);
    let result = match args.command {
        cli::Command::Serve(s) => server::serve(s).await,
        cli::Command::Caller(c) => admin::caller(c).await,
        cli::Command::Branch(c) => admin::branch(c).await,
        cli::Command::Site(c) => admin::site(c).await,
        cli::Command::Dynamodb(c) => admin::dynamodb(c).await,
        cli::Command::Partner(c) => partner::partner(c).await,
        cli::Command::Dlq(c) => dlq::dlq(c).await,
        cli::Command::Brand(c) => brands_admin::brand(c).await,
        cli::Command::Lanes(c) => lanes_admin::lanes(c).await,
        cli::Command::Payments(c) => payments_admin::payments(c).await,
        cli::Command::Partners(c) => partners_admin::partners(c).await,
        cli::Command::Discounts(c) => discounts_admin::discounts(c).await,
        cli::Command::Org(c) => org_admin::org(c).await,
        cli::Command::Import(a) => import_admin::import(a).await,
        cli::Command::Guidance(c) => guidance_admin::guidance(c).await,
        cli::Command::Doors(c) => doors_admin::doors(c).await,
        cli::Command::Routes => {
            onecard_core::openapi::route_table(&onecard_app::registry()).iter().for_each(|l| println!("{l}"));
            Ok(())
        }
        cli::Command::Openapi => {
            println!("{:#}", onecard_core::openapi::document(&onecard_app::registry()));
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        b.json().init();
    } else {
        b.init();
    }
}
