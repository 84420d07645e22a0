//! Command-line shape of `onecard`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "onecard", about = "OneCard Cloud: local server and admin commands")]
pub struct Cli {
    /// Logs as JSON lines.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve every group over HTTP on the embedded store.
    Serve(ServeArgs),
    /// API callers (`from` + secret).
    #[command(subcommand)]
    Caller(CallerCmd),
    /// Branches (car parks).
    #[command(subcommand)]
    Branch(BranchCmd),
    /// Site agents allowed to connect.
    #[command(subcommand)]
    Site(SiteCmd),
    /// DynamoDB table management.
    #[command(subcommand)]
    Dynamodb(DynamoCmd),
}

/// Where the data lives: a local data dir (default) or a DynamoDB table.
#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Use this DynamoDB table (standard AWS environment) instead of the data dir.
    #[arg(long)]
    pub dynamodb_table: Option<String>,
    /// DynamoDB endpoint, e.g. DynamoDB Local.
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Do not start the simulated demo site (agent A1 of branch 1001).
    #[arg(long)]
    pub no_demo_site: bool,
    /// SQS queue URL for outbound events (default: the embedded queue).
    #[arg(long)]
    pub sqs_queue_url: Option<String>,
    /// First retry delay of a failed push, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub push_retry_base_ms: u64,
    /// Attempts before a push goes to the dead-letter queue.
    #[arg(long, default_value_t = 8)]
    pub push_max_attempts: u32,
}

#[derive(Subcommand)]
pub enum CallerCmd {
    Add {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        from: String,
        #[arg(long)]
        secret: String,
        /// Comma-separated branch numbers, or `*`.
        #[arg(long, default_value = "*")]
        branches: String,
        /// Comma-separated groups (park,acss,pls,cat,pub,partner,gate), or `*`.
        #[arg(long, default_value = "*")]
        groups: String,
        /// 6.2.3 payment verification URL.
        #[arg(long)]
        verify_url: Option<String>,
    },
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    Disable {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        from: String,
    },
}

#[derive(Subcommand)]
pub enum BranchCmd {
    Add {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branchno: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = onecard_core::time::DEFAULT_TZ)]
        tz: String,
        /// `id:name:capacity`, repeatable (default one area `1` of 500 spaces).
        #[arg(long = "area")]
        areas: Vec<String>,
        /// `deviceID:controllerNo:name:in|out[:area]`, repeatable.
        #[arg(long = "controller")]
        controllers: Vec<String>,
        #[arg(long, default_value_t = 15)]
        grace_minutes: i64,
        #[arg(long, default_value_t = 15)]
        order_minutes: i64,
    },
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
pub enum SiteCmd {
    Add {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
        #[arg(long)]
        agent_id: String,
        #[arg(long)]
        secret: String,
    },
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
pub enum DynamoCmd {
    /// Create the table (pk/sk, on-demand, TTL on `ttl`).
    CreateTable {
        #[arg(long)]
        dynamodb_table: String,
        #[arg(long)]
        endpoint_url: Option<String>,
    },
}
