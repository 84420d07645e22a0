//! `onecard discounts ...`: what the API reads but never writes about
//! discounts: merchants (with their balances and passwords), consumption
//! points, discount sets, the branch's discount settings (pay URL, quotas,
//! shopping-ticket table) and membership accounts; `import` takes them all
//! as one JSON document (`onecard_app::discounts::import`). Written through
//! the store port, so it works on DynamoDB and beside a running server.

use crate::backend::context;
use crate::cli::{BranchArgs, StoreArgs};
use anyhow::{anyhow, Context};
use clap::Subcommand;
use onecard_app::discounts::import::{self, Doc, MerchantIn, PointIn, SetIn};
use onecard_app::discounts::members::Account;
use onecard_app::discounts::settings::{self, TicketRow};
use onecard_app::discounts::sets;
use onecard_app::merchants;
use onecard_core::kit::Money;
use onecard_core::Fen;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum DiscountsCmd {
    /// Creates or updates a merchant; balances and password only when given.
    Merchant {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        id: i64,
        #[arg(long)]
        name: String,
        #[arg(long)]
        password: Option<String>,
        /// Gift-amount balance, yuan.
        #[arg(long)]
        amount: Option<String>,
        /// Gift-time balance, minutes.
        #[arg(long)]
        minutes: Option<i64>,
        #[arg(long)]
        allow_free_period: bool,
        #[arg(long)]
        daily_issue_limit: Option<i64>,
    },
    /// A consumption point (discount machine) of a merchant.
    Point {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        id: i64,
        #[arg(long)]
        business: i64,
        #[arg(long)]
        device: String,
        #[arg(long)]
        name: String,
    },
    /// A discount set: `--type` 1 gift yuan, 2 gift minutes, 3 折 rate with
    /// `--max`, 4 fully free, 5 free period `--free HH:mm-HH:mm`.
    Set {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        business: i64,
        #[arg(long)]
        discount: i64,
        #[arg(long)]
        name: String,
        #[arg(long = "type")]
        present_type: i64,
        #[arg(long)]
        rate: Option<f64>,
        #[arg(long)]
        max: Option<String>,
        #[arg(long)]
        free: Option<String>,
    },
    /// The branch's discount settings (replaces them whole).
    Settings {
        #[command(flatten)]
        at: BranchArgs,
        /// 6.60 `parkPayUrl`.
        #[arg(long, default_value = "")]
        pay_url: String,
        /// Charge a merchant when a coupon is bound to a car, not when issued (rev. 1.94).
        #[arg(long)]
        charge_on_binding: bool,
        #[arg(long)]
        daily_coupon_limit: Option<i64>,
        #[arg(long, default_value_t = 1000)]
        batch_limit: i64,
        /// 6.1 `shoppingBillPolicy`: 0 number only, 1 counter, number and amount.
        #[arg(long, default_value_t = 0)]
        shopping_policy: u8,
        /// A shopping-ticket row: `SPEND=Nmin` or `SPEND=YUAN` (spend in yuan).
        #[arg(long = "ticket")]
        tickets: Vec<String>,
    },
    /// A membership card's day and night balances (yuan) in the local ledger.
    Member {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        card: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long)]
        day: String,
        #[arg(long, default_value = "0")]
        night: String,
    },
    /// Prints merchants, points and discount sets.
    List {
        #[command(flatten)]
        at: BranchArgs,
    },
    /// Reads a JSON document (`onecard_app::discounts::import`); checked whole first.
    Import {
        #[command(flatten)]
        at: BranchArgs,
        #[arg(long)]
        file: PathBuf,
    },
}

fn yuan(s: &str, flag: &str) -> anyhow::Result<Fen> {
    Fen::parse_yuan(s).ok_or_else(|| anyhow!("--{flag} '{s}' is not an amount in yuan"))
}

/// `SPEND=Nmin` or `SPEND=YUAN`.
fn ticket_row(s: &str) -> anyhow::Result<TicketRow> {
    let (spend, gives) = s.split_once('=').ok_or_else(|| anyhow!("--ticket '{s}' is not SPEND=Nmin or SPEND=YUAN"))?;
    let min_spend = yuan(spend.trim(), "ticket")?;
    let gives = gives.trim();
    Ok(match gives.strip_suffix("min") {
        Some(m) => TicketRow { min_spend, minutes: m.trim().parse().map_err(|_| anyhow!("--ticket '{s}': '{m}' is not minutes"))?, fen: Fen::ZERO },
        None => TicketRow { min_spend, minutes: 0, fen: yuan(gives, "ticket")? },
    })
}

async fn write(store: &StoreArgs, branch: &str, doc: Doc) -> anyhow::Result<()> {
    let (ctx, now) = context(store, branch).await?;
    import::apply(&ctx, branch, &doc, now).await.map_err(|e| anyhow!("{} ({})", e.message, e.code))
}

pub async fn discounts(cmd: DiscountsCmd) -> anyhow::Result<()> {
    match cmd {
        DiscountsCmd::Merchant { at: BranchArgs { store, branch }, id, name, password, amount, minutes, allow_free_period, daily_issue_limit } => {
            let amount = amount.as_deref().map(|a| yuan(a, "amount")).transpose()?.map(Money);
            let m = MerchantIn { id, name, password, amount, minutes, allow_free_period, daily_issue_limit, remark: String::new() };
            write(&store, &branch, Doc { merchants: vec![m], ..Doc::default() }).await?;
            println!("merchant {id} of branch {branch} saved");
        }
        DiscountsCmd::Point { at: BranchArgs { store, branch }, id, business, device, name } => {
            let p = PointIn { id, business_id: business, device_id: device, name, remark: String::new() };
            write(&store, &branch, Doc { points: vec![p], ..Doc::default() }).await?;
            println!("consumption point {id} of branch {branch} saved");
        }
        DiscountsCmd::Set { at: BranchArgs { store, branch }, business, discount, name, present_type, rate, max, free } => {
            let max = max.as_deref().map(|m| yuan(m, "max")).transpose()?.map(Money);
            let s = SetIn { business_id: business, discount_id: discount, name, present_type, rate, max, free };
            write(&store, &branch, Doc { sets: vec![s], ..Doc::default() }).await?;
            println!("discount set {business}/{discount} of branch {branch} saved");
        }
        DiscountsCmd::Settings { at: BranchArgs { store, branch }, pay_url, charge_on_binding, daily_coupon_limit, batch_limit, shopping_policy, tickets } => {
            let shopping_table = tickets.iter().map(|t| ticket_row(t)).collect::<anyhow::Result<Vec<_>>>()?;
            let s = settings::Settings { pay_url, charge_on_binding, daily_coupon_limit, batch_limit, shopping_policy, shopping_table };
            write(&store, &branch, Doc { settings: Some(s), ..Doc::default() }).await?;
            println!("discount settings of branch {branch} saved");
        }
        DiscountsCmd::Member { at: BranchArgs { store, branch }, card, name, day, night } => {
            let a = Account { card_no: card.clone(), name, day_balance: yuan(&day, "day")?, night_balance: yuan(&night, "night")? };
            write(&store, &branch, Doc { members: vec![a], ..Doc::default() }).await?;
            println!("membership card {card} of branch {branch} saved");
        }
        DiscountsCmd::List { at: BranchArgs { store, branch } } => {
            let (ctx, _) = context(&store, &branch).await?;
            let err = |e: onecard_core::ApiError| anyhow!(e.message);
            for m in merchants::list(&ctx, &branch).await.map_err(err)? {
                let state = if m.locked { "locked" } else { "open" };
                println!("merchant\t{}\t{}\t{}\t{}min\t{state}", m.id, m.name, m.amount_balance.yuan(), m.time_balance);
            }
            for p in merchants::points::list(&ctx, &branch).await.map_err(err)? {
                println!("point\t{}\t{}\t{}\t{}", p.toll_dev_id, p.business_id, p.device_id, p.name);
            }
            for s in sets::list(&ctx, &branch, None).await.map_err(err)? {
                println!("set\t{}/{}\t{}\ttype {}\t{}", s.business_id, s.discount_id, s.name, s.kind.code(), s.kind.rate_text());
            }
        }
        DiscountsCmd::Import { at: BranchArgs { store, branch }, file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let doc: Doc = serde_json::from_str(&text).with_context(|| format!("{} is not a discounts document", file.display()))?;
            write(&store, &branch, doc).await?;
            println!("discounts of branch {branch} imported from {}", file.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_rows() {
        assert_eq!(ticket_row("100=60min").unwrap(), TicketRow { min_spend: Fen(10_000), minutes: 60, fen: Fen::ZERO });
        assert_eq!(ticket_row("0=1.00").unwrap(), TicketRow { min_spend: Fen::ZERO, minutes: 0, fen: Fen(100) });
        assert!(ticket_row("100").is_err());
        assert!(ticket_row("x=1").is_err());
    }
}
