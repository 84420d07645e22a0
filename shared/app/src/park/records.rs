//! Reading stays back: space counts (6.3, 6.27), entry and exit records (6.9,
//! 6.10), the entry/exit/payment journal (6.56), traffic (6.64) and the payment
//! history of a plate (6.11).
//!
//! Occupancy is counted from the in-park index (one item per car); time
//! windows are ranges over the entry, exit and payment journals.

use super::fees::started_minutes;
use super::payments::paid_in_window;
use super::stays::{self, Stay, StayState};
use crate::keys;
use chrono::{NaiveDateTime, Timelike};
use onecard_core::config::Branch;
use onecard_core::fields::normalize_plate;
use onecard_core::{handler, ApiError, ApiResult, Ctx, Registry, Reply, Req};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Cars in the park per area id.
async fn used_per_area(ctx: &Ctx, branch: &str) -> ApiResult<BTreeMap<String, i64>> {
    let mut m = BTreeMap::new();
    for (area, _) in stays::occupancy(ctx, branch).await? {
        *m.entry(area).or_insert(0) += 1;
    }
    Ok(m)
}

fn area_rows(branch: &Branch, used: &BTreeMap<String, i64>) -> Vec<Value> {
    branch
        .areas
        .iter()
        .map(|a| {
            let u = used.get(&a.id).copied().unwrap_or(0);
            json!({
                "areaID": a.id,
                "areaName": a.name,
                "total": a.capacity.to_string(),
                "remain": (a.capacity - u).max(0).to_string(),
            })
        })
        .collect()
}

/// 6.3 (and its old address `getstates`). No spaces are reserved for monthly
/// cards in the branch configuration, so all spaces are temporary spaces and
/// the reserved counts are 0.
async fn lot_total(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let used = used_per_area(&ctx, req.branchno()).await?;
    let total = req.branch.capacity();
    let in_park: i64 = used.values().sum();
    let remain = (total - in_park).max(0);
    let mut out = json!({
        "total": total.to_string(),
        "remain": remain.to_string(),
        "tempNumber": total.to_string(),
        "useLotNow": remain.to_string(),
        "reserve": "0",
        "remainReserv": "0",
    });
    if req.data.opt_str("includeDetails")?.as_deref() == Some("1") {
        if let Some(m) = out.as_object_mut() {
            m.insert("details".into(), Value::Array(area_rows(&req.branch, &used)));
        }
    }
    Ok(Reply::data(out))
}

async fn lot_of_area(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let used = used_per_area(&ctx, req.branchno()).await?;
    Ok(req.list(area_rows(&req.branch, &used)))
}

fn area_name(branch: &Branch, id: &str) -> String {
    branch.areas.iter().find(|a| a.id == id).map(|a| a.name.clone()).unwrap_or_else(|| id.to_string())
}

fn fmt(t: NaiveDateTime) -> String {
    onecard_core::time::format(t)
}

fn hour_floor(t: NaiveDateTime) -> NaiveDateTime {
    t.with_minute(0).and_then(|t| t.with_second(0)).unwrap_or(t)
}

/// Every stay in the park now.
async fn stays_in_park(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Stay>> {
    let items = ctx.store.query_all(&onecard_core::store::Query::partition(keys::in_park(branch))).await?;
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        if let Some(id) = i.body["cardInId"].as_str() {
            if let Some((s, _)) = stays::get(ctx, branch, id).await? {
                if s.state == StayState::InPark {
                    out.push(s);
                }
            }
        }
    }
    out.sort_by(|a, b| a.entry.cmp(&b.entry).then_with(|| a.card_in_id.cmp(&b.card_in_id)));
    Ok(out)
}

fn credential_matches(s: &Stay, ctype: i64, credential: &str, like: bool) -> bool {
    match ctype {
        2 => match &s.card_no {
            Some(c) if like => c.contains(credential.trim()),
            Some(c) => c == credential.trim(),
            None => false,
        },
        _ => {
            let q = normalize_plate(credential);
            if like {
                s.plate.contains(&q)
            } else {
                s.plate == q
            }
        }
    }
}

/// 6.9: cars in the park, by entry time window [starttime, endtime), plate or
/// card, exact or partial (`searchLike` 1; then only the hour of the window
/// counts and the card details are left out).
async fn in_info(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let b = req.branchno();
    let like = d.opt_bool("searchLike")?.unwrap_or(false);
    let ctype = d.i64_or("credentialtype", 1)?;
    let credential = d.opt_str("credential")?;
    let photo = d.opt_str("getphoto")?.is_some_and(|p| p != "0");
    let (mut from, mut to) = (d.opt_time("starttime")?, d.opt_time("endtime")?);
    if like {
        from = from.map(hour_floor);
        to = to.map(hour_floor);
    }
    let mut rows = Vec::new();
    for s in stays_in_park(&ctx, b).await? {
        if from.is_some_and(|f| s.entry < f) || to.is_some_and(|t| s.entry >= t) {
            continue;
        }
        if credential.as_deref().is_some_and(|c| !credential_matches(&s, ctype, c, like)) {
            continue;
        }
        let mut row = json!({
            "numno": s.numno(),
            "carno": s.display_plate(),
            "entertime": fmt(s.entry),
            "parkposi": area_name(&req.branch, &s.area),
            "parkingtime": started_minutes(s.entry, req.now.max(s.entry)).to_string(),
        });
        let m = row.as_object_mut().expect("object literal");
        if photo {
            // Pictures are pushed to partners (13.7), not kept by the cloud.
            m.insert("photoin".into(), json!(""));
        }
        if !like {
            m.insert("functype".into(), json!(s.func_type.to_string()));
            if let Some(card) = card_of(&ctx, b, &s).await? {
                m.insert("issuedate".into(), json!(fmt(card.issued_at)));
                m.insert("startdate".into(), json!(fmt(card.valid_from)));
                m.insert("expirydate".into(), json!(fmt(card.valid_to)));
                let holder = crate::cards::store::get_holder(&ctx, b, &card.user_no).await?;
                m.insert("username".into(), json!(holder.as_ref().map(|h| h.name.clone()).unwrap_or_default()));
                m.insert("mobile".into(), json!(holder.as_ref().map(|h| h.mobile().to_string()).unwrap_or_default()));
            }
        }
        rows.push(row);
    }
    Ok(req.list(rows))
}

async fn card_of(ctx: &Ctx, branch: &str, s: &Stay) -> ApiResult<Option<crate::cards::Card>> {
    if !s.plate.is_empty() {
        if let Some(c) = crate::cards::card_for_plate(ctx, branch, &s.plate).await? {
            return Ok(Some(c));
        }
    }
    match &s.card_no {
        Some(no) => crate::cards::get_card(ctx, branch, no).await,
        None => Ok(None),
    }
}

const EPOCH: &str = "1970-01-01 00:00:00";
const FAR: &str = "9999-12-31 23:59:59";

fn window(from: Option<NaiveDateTime>, to: Option<NaiveDateTime>) -> (NaiveDateTime, NaiveDateTime) {
    let lo = from.unwrap_or_else(|| onecard_core::time::parse(EPOCH).expect("constant time"));
    let hi = to.unwrap_or_else(|| onecard_core::time::parse(FAR).expect("constant time"));
    (lo, hi)
}

/// 6.10: exit records whose exit time lies in [starttime, endtime).
async fn out_info(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let b = req.branchno();
    let ctype = d.i64_or("credentialtype", 1)?;
    let credential = d.opt_str("credential")?;
    let (from, to) = window(d.opt_time("starttime")?, d.opt_time("endtime")?);
    let rows = stays::in_window(&ctx, b, keys::exit_log(b), from, to)
        .await?
        .into_iter()
        .filter(|s| credential.as_deref().is_none_or(|c| credential_matches(s, ctype, c, false)))
        .map(|s| {
            json!({
                "numno": s.numno(),
                "carno": s.display_plate(),
                "entertime": fmt(s.entry),
                "exittime": s.exit.map(fmt).unwrap_or_default(),
            })
        })
        .collect();
    Ok(req.list(rows))
}

/// 6.56's card type: a temporary car is an hourly card (6) in this table.
fn park_card_type(func_type: i64) -> String {
    if func_type == 0 { 6 } else { func_type }.to_string()
}

/// The journal rows of one stay: its entry (type 0, still in the park) or exit
/// (type 2), and each payment (type 1 in the park, 3 after leaving).
fn journal_rows(s: &Stay, payments_only: Option<(NaiveDateTime, NaiveDateTime)>) -> Vec<Value> {
    let left = s.state == StayState::Left;
    let base = |record_type: &str| {
        json!({
            "recordType": record_type,
            "cardInOutId": s.card_in_id,
            "licensePlate": s.display_plate(),
            "parkCardTypeId": park_card_type(s.func_type),
            "inControllerName": s.in_controller_name,
            "outControllerName": "",
            "inDateTime": fmt(s.entry),
            "outDateTime": "",
            "parkTime": "",
            "aeceivable": "",
            "amount": "",
            "payType": "",
            "operName": "",
        })
    };
    let mut rows = Vec::new();
    if payments_only.is_none() {
        if left {
            let mut r = base("2");
            let exit = s.exit.unwrap_or(s.entry);
            r["outControllerName"] = json!(s.out_controller_name);
            r["outDateTime"] = json!(fmt(exit));
            r["parkTime"] = json!(started_minutes(s.entry, exit).to_string());
            r["aeceivable"] = json!("0.00");
            r["amount"] = json!("0.00");
            rows.push(r);
        } else {
            rows.push(base("0"));
        }
    }
    for p in &s.payments {
        if payments_only.is_some_and(|(f, t)| p.paid_at < f || p.paid_at >= t) {
            continue;
        }
        let mut r = base(if left { "3" } else { "1" });
        r["outDateTime"] = json!(fmt(p.paid_at));
        r["parkTime"] = json!(started_minutes(s.entry, p.paid_at).to_string());
        r["aeceivable"] = json!(p.due.yuan());
        r["amount"] = json!(p.amount.yuan());
        r["payType"] = json!(p.pay_type.to_string());
        rows.push(r);
    }
    rows
}

/// 6.56: dateType 0 by entry time, 1 by exit time, 2 by payment time.
async fn inout_list(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let b = req.branchno();
    let from = d.time("dateStart")?;
    let to = d.time("dateEnd")?;
    let rows: Vec<Value> = match d.i64("dateType")? {
        0 => stays::in_window(&ctx, b, keys::entry_log(b), from, to).await?.iter().flat_map(|s| journal_rows(s, None)).collect(),
        1 => stays::in_window(&ctx, b, keys::exit_log(b), from, to).await?.iter().flat_map(|s| journal_rows(s, None)).collect(),
        2 => {
            let mut ids: Vec<String> = paid_in_window(&ctx, b, Some(from), Some(to)).await?.into_iter().map(|o| o.card_in_id).collect();
            ids.dedup();
            let mut rows = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for id in ids {
                if !seen.insert(id.clone()) {
                    continue;
                }
                if let Some((s, _)) = stays::get(&ctx, b, &id).await? {
                    rows.extend(journal_rows(&s, Some((from, to))));
                }
            }
            rows
        }
        t => return Err(ApiError::field("dateType", format!("{t} is not 0 (entry), 1 (exit) or 2 (payment)"))),
    };
    Ok(req.list(rows))
}

/// 6.64: entries and exits in [startTime, endTime).
async fn traffic(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let b = req.branchno();
    let from = d.time("startTime")?;
    let to = d.time("endTime")?;
    if to < from {
        return Err(ApiError::field("endTime", "is before startTime"));
    }
    let ins = stays::count_in_window(&ctx, keys::entry_log(b), from, to).await?;
    let outs = stays::count_in_window(&ctx, keys::exit_log(b), from, to).await?;
    Ok(Reply::data(json!({
        "code": "200",
        "message": "",
        "status": "true",
        "inNum": ins.to_string(),
        "outNum": outs.to_string(),
    })))
}

/// 6.11: payments of a plate in [starttime, endtime), once the car has left.
async fn charge_history(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let b = req.branchno();
    let plate = normalize_plate(&d.str("licenseplate")?);
    let from = d.time("starttime")?;
    let to = d.time("endtime")?;
    let mut rows = Vec::new();
    for o in paid_in_window(&ctx, b, Some(from), Some(to)).await? {
        if normalize_plate(&o.plate) != plate {
            continue;
        }
        let left = stays::get(&ctx, b, &o.card_in_id).await?.is_some_and(|(s, _)| s.state == StayState::Left);
        if !left {
            continue;
        }
        rows.push(json!({
            "chargedatetime": o.paid_at.map(fmt).unwrap_or_default(),
            "amount": o.amount.yuan(),
            "parktime": started_minutes(o.entry, o.calc_end).to_string(),
        }));
    }
    Ok(req.list(rows))
}

pub fn register(reg: &mut Registry) {
    reg.handle("park.lot.status.total", handler(lot_total));
    reg.handle("park.lot.status.total.of.area", handler(lot_of_area));
    reg.handle("park.in.info", handler(in_info));
    reg.handle("park.out.info", handler(out_info));
    reg.handle("park.inoutlist.info", handler(inout_list));
    reg.handle("park.lot.GetTraffic", handler(traffic));
    reg.handle("park.hcard.charge.history", handler(charge_history));
}
