//! Group renewal (6.6 `isGroupCharge`): every monthly card of a group (team,
//! collective and composite cards share a `GroupID`) is renewed in one
//! transaction, each from its own expiry, or none is.
//!
//! Each card's renewal record is keyed `{payment key}#{cardNo}`, so repeating
//! the payment (same `thirdPayId`) answers 511 like a single renewal. A group
//! renewal is not paid through a 6.39 order: orders are made for one card.

use super::input::Credential;
use super::model::{Card, CardState};
use super::monthly::{charge_exists, charge_record, monthly_card, plan, tariff_of, Renewal};
use super::payments::{duplicate, payment_key, MonthCharge};
use super::store::{card_update, get_holder, list_cards_versioned, month_charge_create};
use crate::ids;
use chrono::NaiveDateTime;
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::queue::OutEvent;
use onecard_core::retry::{on_conflict, Step};
use onecard_core::store::MAX_TRANSACTION_ITEMS;
use onecard_core::{ApiError, ApiResult, Ctx};
use std::collections::HashMap;
use std::sync::Mutex;

/// Each card needs three writes (card, record, push) in the one transaction.
pub const MAX_GROUP_CARDS: usize = MAX_TRANSACTION_ITEMS / 3;

fn card_key(key: &str, card_no: &str) -> String {
    format!("{key}#{card_no}")
}

pub async fn renew_group(ctx: &Ctx, branch: &str, kind: Credential, value: &str, r: &Renewal, now: NaiveDateTime) -> ApiResult<Vec<MonthCharge>> {
    if r.order_no.is_some() {
        return Err(ApiError::field("orderNo", "a group renewal is not paid through an order (orders are made for one card)"));
    }
    let group = match &r.group_id {
        Some(g) => g.clone(),
        None => monthly_card(ctx, branch, kind, value)
            .await?
            .value
            .group_id
            .ok_or_else(|| ApiError::field("groupID", "is required: the card belongs to no group"))?,
    };
    let fresh_key = format!("G:{}", uuid::Uuid::new_v4().simple());
    let key = &payment_key(None, r.third_pay_id.as_deref(), || fresh_key.clone());
    let group = &group;
    // Sequence numbers drawn once per card across attempts.
    let seqs: &Mutex<HashMap<String, i64>> = &Mutex::new(HashMap::new());
    let (records, events) = on_conflict("park.mcard.charge (group)", || async move {
        let mut cards: Vec<_> = list_cards_versioned(ctx, branch)
            .await?
            .into_iter()
            .filter(|c| c.value.parking && c.value.is_monthly() && c.value.state != CardState::Cancelled)
            .filter(|c| c.value.group_id.as_deref() == Some(group.as_str()))
            .collect();
        cards.sort_by(|a, b| a.value.card_no.cmp(&b.value.card_no));
        if cards.is_empty() {
            return Err(ApiError::failed(format!("group {group} has no monthly card in use")));
        }
        if cards.len() > MAX_GROUP_CARDS {
            return Err(ApiError::field(
                "isGroupCharge",
                format!("group {group} has {} cards; one group renewal takes at most {MAX_GROUP_CARDS}", cards.len()),
            ));
        }
        if charge_exists(ctx, branch, &card_key(key, &cards[0].value.card_no)).await? {
            return Err(duplicate(key));
        }
        let mut writes = Vec::new();
        let mut records = Vec::new();
        let mut events = Vec::new();
        for card in &cards {
            let c = &card.value;
            let tariff = tariff_of(ctx, branch, c).await?;
            let p = plan(c, &tariff, r)?;
            let holder = get_holder(ctx, branch, &c.user_no).await?;
            let known = seqs.lock().unwrap_or_else(|e| e.into_inner()).get(&c.card_no).copied();
            let seq = match known {
                Some(s) => s,
                None => {
                    let s = ids::next_id(ctx, branch, "mcardpay").await?;
                    seqs.lock().unwrap_or_else(|e| e.into_inner()).insert(c.card_no.clone(), s);
                    s
                }
            };
            let record = charge_record(c, holder.as_ref(), &tariff, &card_key(key, &c.card_no), seq, &p, r, None, now);
            let event = OutEvent::new(branch, "report/parkMonthlyCarCharge", record.to_push(), now);
            writes.push(card_update(branch, card, &Card { valid_to: p.to, ..c.clone() }));
            writes.push(month_charge_create(branch, &record));
            writes.push(outbox_write(&event));
            records.push(record);
            events.push(event);
        }
        Step::of(ctx.store.transact(writes).await, (records, events))
    })
    .await?;
    publish_committed(ctx, &events).await;
    Ok(records)
}
