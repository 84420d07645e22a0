//! `onecard lanes black-type|black-hint|booking-config|index-bookings|list`: the reference
//! data the API reads but never writes: blacklist types (6.77) and hint texts
//! (6.78), and the booking configuration with its slots (6.12, 6.79). Written
//! through the store port, so it works on DynamoDB and beside a running server.

use crate::backend::open_store;
use crate::cli::LanesCmd;
use anyhow::{anyhow, bail};
use onecard_app::lanes::blacklist::{self, RefKind};
use onecard_app::lanes::{bookings, live_bookings};
use onecard_core::{config, Fen};

pub async fn lanes(cmd: LanesCmd) -> anyhow::Result<()> {
    match cmd {
        LanesCmd::BlackType { store, branch, id, text } => put(store, branch, RefKind::Type, id, text).await,
        LanesCmd::BlackHint { store, branch, id, text } => put(store, branch, RefKind::Hint, id, text).await,
        LanesCmd::IndexBookings { store, branch } => {
            let (ctx, now) = crate::backend::context(&store, &branch).await?;
            live_bookings::build(&ctx, &branch).await.map_err(|e| anyhow!(e.message))?;
            let live = live_bookings::from(&ctx, &branch, now, None).await.map_err(|e| anyhow!(e.message))?;
            println!("live bookings index of branch {branch} built; {} booking(s) live now", live.len());
            for b in live {
                println!("booking\t{}\t{}\t{}\t{}", b.order_no, b.plate_text, b.start, b.end);
            }
            Ok(())
        }
        LanesCmd::List { store, branch } => {
            let s = open_store(&store).await?;
            for t in blacklist::types(&*s, &branch).await.map_err(|e| anyhow!(e.message))? {
                println!("type\t{}\t{}", t.id, t.text);
            }
            for h in blacklist::hints(&*s, &branch).await.map_err(|e| anyhow!(e.message))? {
                println!("hint\t{}\t{}", h.id, h.text);
            }
            if let Some(c) = bookings::config(&*s, &branch).await.map_err(|e| anyhow!(e.message))? {
                println!("booking\ttype={}\tcharge={}\tvalid={}min\tentries={}", c.booking_type, c.charge.yuan(), c.valid_minutes, c.allow_enter_times);
                for slot in c.slots {
                    println!("slot\t{}\t{}", slot.interval, slot.capacity);
                }
            }
            Ok(())
        }
        LanesCmd::BookingConfig { store, branch, booking_type, charge, valid_minutes, allow_enter_times, slots } => {
            let charge = Fen::parse_yuan(&charge).ok_or_else(|| anyhow!("--charge '{charge}' is not an amount in yuan"))?;
            let slots = slots.iter().map(|x| parse_slot(x)).collect::<anyhow::Result<Vec<_>>>()?;
            let s = open_store(&store).await?;
            if config::get_branch(&*s, &branch).await?.is_none() {
                bail!("no branch '{branch}': add it first with `onecard branch add`");
            }
            let c = bookings::Config { booking_type, charge, valid_minutes, allow_enter_times, slots };
            bookings::put_config(&*s, &branch, &c).await.map_err(|e| anyhow!(e.message))?;
            println!("booking configuration of branch {branch} saved: type {booking_type}, {} slot(s)", c.slots.len());
            Ok(())
        }
    }
}

async fn put(store: crate::cli::StoreArgs, branch: String, kind: RefKind, id: i64, text: String) -> anyhow::Result<()> {
    let s = open_store(&store).await?;
    let Some(b) = config::get_branch(&*s, &branch).await? else {
        bail!("no branch '{branch}': add it first with `onecard branch add`");
    };
    let now = onecard_core::time::to_local(onecard_core::time::now(), &b.tz);
    blacklist::put_ref(&*s, &branch, kind, id, &text, "admin", now).await.map_err(|e| anyhow!(e.message))?;
    println!("blacklist {} {id} of branch {branch} saved: {text}", if kind == RefKind::Type { "type" } else { "hint" });
    Ok(())
}

/// `HH:mm-HH:mm=N`; `put_config` checks the times.
fn parse_slot(s: &str) -> anyhow::Result<bookings::Slot> {
    let (interval, n) = s.split_once('=').ok_or_else(|| anyhow!("--slot '{s}' is not HH:mm-HH:mm=N"))?;
    let capacity = n.trim().parse().map_err(|_| anyhow!("--slot '{s}': '{n}' is not a number of spaces"))?;
    Ok(bookings::Slot { interval: interval.trim().to_string(), capacity })
}
