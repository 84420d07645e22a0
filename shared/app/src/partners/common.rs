//! What the partners share: calling another route of this system for a
//! partner (so a partner reuses 6.3, 9.1 or 10.15 instead of copying them),
//! decision 22's first answers, and the small conversions of their wires.

use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::config::Branch;
use onecard_core::kit::RouteDef;
use onecard_core::store::{Cond, Item};
use onecard_core::{dispatch, ApiError, ApiResult, Code, Ctx, Fen, Origin, Registry};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Calls route `name` (one of `routes`) for `branch` as the server itself,
/// through the kit's parsing and validation: what a partner asks of another
/// capability goes through that capability's one door.
pub async fn call_route(ctx: &Ctx, branch: &Branch, routes: Vec<RouteDef>, name: &str, data: Value) -> ApiResult<Value> {
    let mut reg = Registry::new();
    reg.add(routes.into_iter().filter(|d| d.name == name));
    let spec = reg.find(name).filter(|s| reg.is_built(s)).ok_or_else(|| ApiError::system(format!("route {name} is not available here")))?;
    Ok(dispatch::run(ctx, &reg, spec, Origin::Internal, branch.clone(), data, None).await?.data)
}

/// The one documented source of free spaces: 6.3's count (capacity minus the
/// cars in the park minus the spaces bookings hold). Answers (total, free).
pub async fn spaces(ctx: &Ctx, branch: &Branch) -> ApiResult<(i64, i64)> {
    let v = call_route(ctx, branch, crate::park::records::routes(), "park.lot.status.total", Value::Null).await?;
    let num = |k: &str| v[k].as_str().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    Ok((num("total"), num("remain")))
}

/// A notification's first answer, kept for decision 22.
#[derive(Serialize, Deserialize)]
struct Kept {
    amount: i64,
    answer: Value,
}

fn kept_sk(id: &str) -> String {
    format!("answer#{id}")
}

/// Decision 22: the first answer to the partner order `id`, if one was given.
/// The same id with another amount is refused (the caller names the field).
pub async fn first_answer<T: DeserializeOwned>(ctx: &Ctx, branch: &str, partner: &str, id: &str, amount: Fen, field: &str) -> ApiResult<Option<T>> {
    let Some(item) = ctx.store.get(&keys::partner_records(branch, partner), &kept_sk(id)).await? else { return Ok(None) };
    let kept: Kept = item.parse()?;
    if kept.amount != amount.0 {
        return Err(ApiError::field(
            field,
            format!("order {id} was notified before with {} yuan, not {} yuan", Fen(kept.amount).yuan(), amount.yuan()),
        ));
    }
    Ok(Some(serde_json::from_value(kept.answer).map_err(ApiError::system)?))
}

/// Keeps the answer given to the partner order `id`. A concurrent first
/// notification that already kept one wins; this one's is dropped.
pub async fn keep_answer<T: Serialize>(ctx: &Ctx, branch: &str, partner: &str, id: &str, amount: Fen, answer: &T) -> ApiResult<()> {
    let body = serde_json::to_value(Kept { amount: amount.0, answer: serde_json::to_value(answer).map_err(ApiError::system)? }).map_err(ApiError::system)?;
    match ctx.store.put(Item::new(keys::partner_records(branch, partner), kept_sk(id), body), Cond::MustNotExist).await {
        Err(e) if e.is_conflict() => Ok(()),
        r => Ok(r?),
    }
}

/// After a payment lost a race to a concurrent notification of the same
/// partner order (511 from the 6.2 transaction), the winner's answer, which
/// it keeps right after its commit.
pub async fn answer_of_winner<T: DeserializeOwned>(ctx: &Ctx, branch: &str, partner: &str, id: &str, amount: Fen, field: &str) -> ApiResult<T> {
    for _ in 0..20 {
        if let Some(a) = first_answer(ctx, branch, partner, id, amount, field).await? {
            return Ok(a);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(ApiError::new(Code::DUPLICATE, format!("order {id} is being paid by another notification; ask again")))
}

/// True for the 6.2 transaction's "already paid" (a repeat lost a race).
pub fn is_duplicate(e: &ApiError) -> bool {
    e.code == Code::DUPLICATE
}

/// The partner's name for this car park: its configured `parkId`, else the
/// branch number.
pub fn park_id(s: &super::settings::PartnerSettings, branch: &Branch) -> String {
    s.id("parkId").map(str::to_string).unwrap_or_else(|| branch.branchno.clone())
}

/// Minutes between two times, never negative.
pub fn minutes(from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    (to - from).num_minutes().max(0)
}

/// Writes one of a partner's own records (quotes, calculations, stand-in
/// accounts) at `sk`, replacing what was there; `keep_days` lets the store
/// drop it after that many days.
pub async fn put_record<T: Serialize>(ctx: &Ctx, branch: &str, partner: &str, sk: String, record: &T, keep_days: Option<i64>) -> ApiResult<()> {
    let body = serde_json::to_value(record).map_err(ApiError::system)?;
    let mut item = Item::new(keys::partner_records(branch, partner), sk, body);
    if let Some(days) = keep_days {
        item = item.with_ttl(onecard_core::store::now_unix() + days * 86_400);
    }
    ctx.store.put(item, Cond::None).await?;
    Ok(())
}

/// Yuan as a JSON number with two decimals at most (the partners' examples
/// print amounts as numbers: `120.0`, `5`).
pub fn yuan_number(f: Fen) -> f64 {
    (f.0 as f64) / 100.0
}

/// An amount in yuan a partner sends as a number or a string.
pub fn fen_of_yuan(field: &str, v: f64) -> ApiResult<Fen> {
    if !v.is_finite() || v < 0.0 {
        return Err(ApiError::field(field, "must be an amount of 0 or more"));
    }
    let fen = (v * 100.0).round();
    if (fen - v * 100.0).abs() > 1e-6 {
        return Err(ApiError::field(field, "has more than two decimals"));
    }
    Ok(Fen(fen as i64))
}

/// The order number and whether it is a zero-fee calculation, from the id a
/// partner was given (zero-fee calculations are handed out with a `Z`).
pub fn order_ref(id: &str) -> (String, bool) {
    match id.strip_prefix('Z') {
        Some(no) => (no.to_string(), true),
        None => (id.to_string(), false),
    }
}

pub fn order_id(order: &crate::park::orders::Order) -> String {
    if order.zero {
        format!("Z{}", order.order_no)
    } else {
        order.order_no.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_numbers_round_trip_and_refuse_fractions_of_a_fen() {
        assert_eq!(fen_of_yuan("x", 120.0).unwrap(), Fen(12000));
        assert_eq!(fen_of_yuan("x", 0.01).unwrap(), Fen(1));
        assert!(fen_of_yuan("x", 0.001).is_err());
        assert!(fen_of_yuan("x", -1.0).is_err());
        assert_eq!(yuan_number(Fen(450)), 4.5);
    }

    #[test]
    fn zero_fee_calculations_carry_their_mark() {
        assert_eq!(order_ref("Z123"), ("123".to_string(), true));
        assert_eq!(order_ref("CA123"), ("CA123".to_string(), false));
    }
}

/// Free spaces per area (6.3's areas): (area name, free).
pub async fn area_spaces(ctx: &Ctx, branch: &Branch) -> ApiResult<Vec<(String, i64)>> {
    let v = call_route(ctx, branch, crate::park::records::routes(), "park.lot.status.total.of.area", Value::Null).await?;
    Ok(v.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| (r["areaName"].as_str().unwrap_or_default().to_string(), r["remain"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default())
}

/// A stored picture as the URL partners print (decision 16: where the seed's
/// field is a URL or path, a URL); empty when there is none.
pub async fn picture_url(ctx: &Ctx, key: Option<&str>) -> String {
    match key {
        Some(k) => ctx.blobs().url(k).await.ok().flatten().unwrap_or_default(),
        None => String::new(),
    }
}
