//! `onecard payments settings|standin|pay-wap|reconcile|show`: what the payment
//! routes read but never write. A branch's settings (QR base URL, third-party
//! pages, 6.37's invoice limits, decision 20's "dynamic QR required"), which
//! outside systems answer (decision 21: the stand-ins, and which of their
//! operations to fail), and the stand-in provider's cashier, which plays the
//! payer of a WAP page and prints the signed notification Alipay would post.
//! Also the resolver page every QR code points at (`GET
//! /BarCode/BarcodeScanResult.aspx`).

use crate::backend::{open_store, DB_FILE};
use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_core::sitelink::NoSites;
use onecard_core::time::SystemClock;
use onecard_core::{Ctx, Ports};
use crate::cli::StoreArgs;
use crate::server::AppState;
use anyhow::{anyhow, bail, Context};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clap::Subcommand;
use onecard_app::payments::settings::{self, PaySettings};
use onecard_app::payments::standins::StandinPay;
use onecard_core::config;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum PaymentsCmd {
    /// Changes a branch's payment settings; options not given keep their
    /// value. `--file` reads the whole settings as JSON (what `show` prints).
    Settings {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
        #[arg(long)]
        file: Option<PathBuf>,
        /// Where QR codes point (the resolver page).
        #[arg(long)]
        qr_base: Option<String>,
        /// 9.5's third-party collection page ("" clears it).
        #[arg(long)]
        collection_url: Option<String>,
        /// 9.9's third-party payment page ("" clears it).
        #[arg(long)]
        park_pay_url: Option<String>,
        /// 9.15's invoicing page ("" clears it).
        #[arg(long)]
        invoice_url: Option<String>,
        /// Decision 20: scans without `rnd` are refused.
        #[arg(long)]
        dynamic_qr_required: Option<bool>,
        /// 6.37 MaxOrderQtyInEveryEInvoice (1-100).
        #[arg(long)]
        max_orders: Option<i64>,
        /// 6.37 MaxEInvoiceOpenAmount, whole yuan (0: no cap).
        #[arg(long)]
        max_invoice_yuan: Option<i64>,
        /// 6.37 InvoiceOnlyForCurrentMonth.
        #[arg(long)]
        current_month_only: Option<bool>,
        /// 6.37 EinvoiceExpirationData, days after payment (0: never).
        #[arg(long)]
        expiry_days: Option<i64>,
        /// 10.6's final page.
        #[arg(long)]
        pay_back_url: Option<String>,
        /// This deployment's public address (10.5's default return/notify URLs).
        #[arg(long)]
        public_base: Option<String>,
    },
    /// Turns the stand-ins on (or `--off`) and sets which operations fail:
    /// micropay, withhold, withhold-lost, query, wap, refund, invoice,
    /// redpacket (`--fail` repeated; none
    /// given clears them).
    Standin {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        off: bool,
        #[arg(long = "fail")]
        fail: Vec<String>,
    },
    /// The stand-in cashier: pays the WAP trade `out_trade_no` and prints the
    /// notification the provider posts to 10.7 (form-encoded, signed).
    PayWap {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
        #[arg(long)]
        out_trade_no: String,
    },
    /// Asks the provider about every trade left undecided for `--after-secs`
    /// and books it through the 6.2 commit, or refunds it when its order can
    /// no longer be paid, and retries the booking fees owed back (`onecard
    /// serve` does this every minute).
    Reconcile {
        #[command(flatten)]
        store: StoreArgs,
        /// One branch; all when left out.
        #[arg(long)]
        branch: Option<String>,
        #[arg(long, default_value_t = onecard_app::payments::reconcile::DEFAULT_AFTER_SECS)]
        after_secs: i64,
    },
    /// Prints a branch's settings (JSON) and the providers' state.
    Show {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        branch: String,
    },
}

fn opt_url(v: Option<String>, old: Option<String>) -> Option<String> {
    match v {
        Some(s) if s.trim().is_empty() => None,
        Some(s) => Some(s),
        None => old,
    }
}

pub async fn payments(cmd: PaymentsCmd) -> anyhow::Result<()> {
    match cmd {
        PaymentsCmd::Settings {
            store,
            branch,
            file,
            qr_base,
            collection_url,
            park_pay_url,
            invoice_url,
            dynamic_qr_required,
            max_orders,
            max_invoice_yuan,
            current_month_only,
            expiry_days,
            pay_back_url,
            public_base,
        } => {
            let s = open_store(&store).await?;
            if config::get_branch(&*s, &branch).await?.is_none() {
                bail!("no branch '{branch}': add it first with `onecard branch add`");
            }
            let mut v: PaySettings = match file {
                Some(f) => serde_json::from_str(&std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?)
                    .with_context(|| format!("{} is not the settings JSON `onecard payments show` prints", f.display()))?,
                None => settings::get_from(&*s, &branch).await.map_err(|e| anyhow!(e.message))?,
            };
            v.qr_base = qr_base.unwrap_or(v.qr_base);
            v.collection_url = opt_url(collection_url, v.collection_url);
            v.park_pay_url = opt_url(park_pay_url, v.park_pay_url);
            v.invoice_url = opt_url(invoice_url, v.invoice_url);
            v.dynamic_qr_required = dynamic_qr_required.unwrap_or(v.dynamic_qr_required);
            v.max_orders_per_invoice = max_orders.unwrap_or(v.max_orders_per_invoice);
            v.max_invoice_yuan = max_invoice_yuan.unwrap_or(v.max_invoice_yuan);
            v.invoice_current_month_only = current_month_only.unwrap_or(v.invoice_current_month_only);
            v.invoice_expiry_days = expiry_days.unwrap_or(v.invoice_expiry_days);
            v.pay_back_url = pay_back_url.unwrap_or(v.pay_back_url);
            v.public_base = public_base.unwrap_or(v.public_base);
            settings::put(&*s, &branch, &v).await.map_err(|e| anyhow!(e.message))?;
            println!("payment settings of branch {branch} saved");
            Ok(())
        }
        PaymentsCmd::Standin { store, off, fail } => {
            let s = open_store(&store).await?;
            let mut p = settings::providers(&*s).await.map_err(|e| anyhow!(e.message))?;
            p.standins = !off;
            if p.key.is_empty() {
                p.key = settings::new_key();
            }
            p.fail = fail;
            settings::put_providers(&*s, &p).await.map_err(|e| anyhow!(e.message))?;
            println!("stand-ins {}; failing: {}", if p.standins { "on" } else { "off" }, if p.fail.is_empty() { "nothing".into() } else { p.fail.join(", ") });
            Ok(())
        }
        PaymentsCmd::PayWap { store, branch, out_trade_no } => {
            let s = open_store(&store).await?;
            let b = config::get_branch(&*s, &branch).await?.ok_or_else(|| anyhow!("no branch '{branch}'"))?;
            let p = settings::providers(&*s).await.map_err(|e| anyhow!(e.message))?;
            if !p.standins {
                bail!("the stand-ins are off: there is no cashier to pay at");
            }
            let clock: Arc<dyn onecard_core::time::Clock> = Arc::new(onecard_core::time::SystemClock);
            let form = StandinPay::new(s, clock, p, &b.tz).pay_wap(&out_trade_no).await.map_err(|e| anyhow!("{e}"))?;
            let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={}", onecard_app::payments::qr::enc(v))).collect();
            println!("{}", body.join("&"));
            Ok(())
        }
        PaymentsCmd::Reconcile { store, branch, after_secs } => {
            use onecard_app::payments::reconcile;
            let s = open_store(&store).await?;
            // A booking publishes its 13.4 event: the queue the server uses.
            std::fs::create_dir_all(&store.data_dir)?;
            let queue = Arc::new(EmbeddedQueue::open(&store.data_dir.join(DB_FILE)).context("opening the embedded queue")?);
            let ctx = Ctx::new(Ports { store: s.clone(), queue, sites: Arc::new(NoSites), clock: Arc::new(SystemClock) });
            let r = match &branch {
                Some(b) => {
                    let b = config::get_branch(&*s, b).await?.ok_or_else(|| anyhow!("no branch '{b}'"))?;
                    reconcile::branch(&ctx, &b, after_secs).await
                }
                None => reconcile::all(&ctx, after_secs).await,
            }
            .map_err(|e| anyhow!(e.message))?;
            println!("{r}");
            Ok(())
        }
        PaymentsCmd::Show { store, branch } => {
            let s = open_store(&store).await?;
            let v = settings::get_from(&*s, &branch).await.map_err(|e| anyhow!(e.message))?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            let p = settings::providers(&*s).await.map_err(|e| anyhow!(e.message))?;
            println!("stand-ins {}; failing: {}", if p.standins { "on" } else { "off" }, p.fail.join(", "));
            Ok(())
        }
    }
}

/// The page every QR code of 15.2 points at: what the code names, as JSON
/// (the app or H5 page that the scan opens renders it and calls the route
/// named in `next`).
pub async fn resolve_page(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let url = format!("?{}", q.unwrap_or_default());
    match onecard_app::payments::qr::resolve(&state.ctx, &url).await {
        Ok(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({"code": e.code.0, "message": e.message}))).into_response(),
    }
}
