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
    /// Partners that receive the outbound pushes (chapters 13, 14) of a branch.
    #[command(subcommand)]
    Partner(PartnerCmd),
    /// The dead-letter queue of outbound pushes.
    #[command(subcommand)]
    Dlq(DlqCmd),
    /// Car brands (6.36), shared by every branch.
    #[command(subcommand)]
    Brand(crate::brands_admin::BrandCmd),
    /// Lane reference data: blacklist types (6.77) and hints (6.78).
    #[command(subcommand)]
    Lanes(LanesCmd),
    /// Payments beyond cash: settings, stand-ins, the stand-in cashier.
    #[command(subcommand)]
    Payments(crate::payments_admin::PaymentsCmd),
    /// Chapter 11 partners' settings (ids, URLs, keys) at a branch.
    #[command(subcommand)]
    Partners(crate::partners_admin::PartnersCmd),
    /// Discounts: merchants, points, discount sets, settings, members (6.30-6.60).
    #[command(subcommand)]
    Discounts(crate::discounts_admin::DiscountsCmd),
    /// The directory's lists: departments, duties, positions, companies,
    /// workstations, system parameters (10.8-10.10, 10.19, 10.36, 10.48).
    #[command(subcommand)]
    Org(crate::org_admin::OrgCmd),
    /// Bulk import of a site from CSV or a list route's JSON.
    Import(crate::import_admin::ImportArgs),
    /// Parking guidance (chapter 8): site survey import, relay of 9.14 statuses.
    #[command(subcommand)]
    Guidance(crate::guidance_admin::GuidanceCmd),
    /// Door access: doors, time and permission groups, Bluetooth map, face terminals.
    #[command(subcommand)]
    Doors(crate::doors_admin::DoorsCmd),
    /// Every inbound route: section, name, read/write, wire kind, handler.
    Routes,
    /// The OpenAPI 3.1 document of every route (also `GET /openapi.json`).
    Openapi,
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

/// The store and the branch an admin command writes (the demo branch unless
/// told), as `discounts`, `doors` and `guidance` take them.
#[derive(Args, Clone, Debug)]
pub struct BranchArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, default_value = onecard_core::config::DEMO_BRANCH)]
    pub branch: String,
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
    /// Seed the demo branch, caller and site agent (whose secrets are
    /// published in the README) into an empty store. A local data dir is
    /// seeded without it; a DynamoDB table only with it, because a table is
    /// shared and reachable beyond this machine.
    #[arg(long)]
    pub demo: bool,
    /// SQS queue URL for outbound events (default: the embedded queue).
    #[arg(long)]
    pub sqs_queue_url: Option<String>,
    /// First retry delay of a failed push, in milliseconds; doubled after
    /// each further failure (decision 18: 10 s).
    #[arg(long, default_value_t = 10_000)]
    pub push_retry_base_ms: u64,
    /// Longest delay between two attempts at a push, in milliseconds (1 h).
    #[arg(long, default_value_t = 3_600_000)]
    pub push_retry_cap_ms: u64,
    /// A push still failing this long after its first attempt goes to the
    /// dead-letter queue, in seconds (24 h).
    #[arg(long, default_value_t = 86_400)]
    pub push_give_up_after_secs: u64,
    /// Also give up after this many attempts; 0 (the default) means only the
    /// time limit applies. For tests.
    #[arg(long, default_value_t = 0)]
    pub push_max_attempts: u32,
    /// An origin whose browser pages may call the API (CORS), e.g.
    /// `https://h5.example`; repeatable. None by default: no CORS headers.
    #[arg(long = "cors-origin")]
    pub cors_origins: Vec<String>,
    /// Seconds between 13.9 heartbeats (and outbox sweeps).
    #[arg(long, default_value_t = 60)]
    pub push_tick_secs: u64,
    /// SQS dead-letter queue URL (default: the data dir's dead-letter table).
    #[arg(long)]
    pub sqs_dlq_url: Option<String>,
    /// Run the server's clock this many seconds off real time (negative: behind).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub clock_offset_secs: i64,
    /// Tests only: `POST /_test/clock?offset_secs=N` (from loopback) moves the
    /// clock while the server runs.
    #[arg(long)]
    pub test_clock: bool,
    /// Keep pictures in this S3 bucket (or `ONECARD_BUCKET`) instead of `{data_dir}/blobs`.
    #[arg(long)]
    pub s3_bucket: Option<String>,
    /// S3 endpoint, e.g. moto (or `ONECARD_S3_ENDPOINT`).
    #[arg(long)]
    pub s3_endpoint_url: Option<String>,
    /// The base URL clients reach this server at, for picture URLs
    /// (default `http://{listen address}`).
    #[arg(long)]
    pub public_url: Option<String>,
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
        /// Bearer token for the data-only partner routes (decision 11).
        #[arg(long)]
        token: Option<String>,
        /// `PARKID=BRANCH`, repeatable: a data-only body's `parkId` → branch.
        #[arg(long = "park-id")]
        park_ids: Vec<String>,
        /// The time zone of the caller's timestamps (default Asia/Shanghai).
        #[arg(long)]
        tz: Option<String>,
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

#[derive(Subcommand)]
pub enum PartnerCmd {
    /// Adds a partner, or replaces the one of the same name.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
        #[arg(long)]
        name: String,
        /// Base URL; each push goes to `{url}/{route}`.
        #[arg(long)]
        url: String,
        #[arg(long)]
        secret: String,
        /// The envelope's `from`.
        #[arg(long, default_value = onecard_app::push::subscriptions::DEFAULT_FROM)]
        from: String,
        /// Comma-separated outbound routes (report/parkInData,...), or `*` for all.
        #[arg(long, default_value = "*")]
        events: String,
    },
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: Option<String>,
    },
    Disable {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
        #[arg(long)]
        name: String,
    },
    Enable {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
        #[arg(long)]
        name: String,
    },
}

/// Which dead-letter queue: the data dir's (default) or an SQS queue.
#[derive(Args, Clone, Debug)]
pub struct DlqArgs {
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// The SQS dead-letter queue instead of the data dir's.
    #[arg(long)]
    pub sqs_dlq_url: Option<String>,
    /// The SQS event queue a redrive sends to.
    #[arg(long)]
    pub sqs_queue_url: Option<String>,
    /// SQS endpoint, e.g. a local SQS-compatible server.
    #[arg(long)]
    pub sqs_endpoint_url: Option<String>,
}

#[derive(Subcommand)]
pub enum DlqCmd {
    List {
        #[command(flatten)]
        dlq: DlqArgs,
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// Puts events back on the event queue for delivery.
    Redrive {
        #[command(flatten)]
        dlq: DlqArgs,
        /// An event id (repeatable).
        #[arg(long = "id")]
        ids: Vec<String>,
        #[arg(long)]
        all: bool,
    },
    Purge {
        #[command(flatten)]
        dlq: DlqArgs,
    },
    /// Outbox items the sweep could not read and set aside, with the reason.
    Quarantined {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
}

#[derive(Subcommand)]
pub enum LanesCmd {
    /// Adds or replaces a blacklist type (6.77).
    BlackType {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
        #[arg(long)]
        id: i64,
        #[arg(long)]
        text: String,
    },
    /// Adds or replaces a blacklist hint text (6.78), said at the entrance.
    BlackHint {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
        #[arg(long)]
        id: i64,
        #[arg(long)]
        text: String,
    },
    /// Sets the booking configuration (6.12) and its slots (6.79).
    BookingConfig {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
        /// 1 free without a held space, 2 free with one, 3 paid with one.
        #[arg(long = "type")]
        booking_type: i64,
        /// Yuan, for type 3.
        #[arg(long, default_value = "0")]
        charge: String,
        /// Minutes from the booking's start it admits; 0 until its end.
        #[arg(long, default_value_t = 0)]
        valid_minutes: i64,
        #[arg(long, default_value_t = 1)]
        allow_enter_times: i64,
        /// A slot and its capacity, `HH:mm-HH:mm=N`; repeat for each slot.
        #[arg(long = "slot")]
        slots: Vec<String>,
    },
    /// Builds the live-bookings index of a branch written before it existed
    /// (the first read would build it, inside that request; run this at
    /// deploy instead) and prints the bookings live now.
    IndexBookings {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
    },
    /// Prints the blacklist types and hints and the booking configuration.
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
    },
}
