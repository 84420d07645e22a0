//! Stays: one car's visit from its entry record to its exit record.
//!
//! Storage (all in `keys.rs`):
//! - the stay at `stays/{cardInId}`, created with `MustNotExist`, so the same
//!   entry uploaded twice changes nothing;
//! - an "in the park" index at `inpark/P{plate}` (or `C{cardNo}` for a card-only
//!   entry) pointing at the stay, written in the same transaction; the exit
//!   deletes it in the exit's transaction. One index item per car, so counting
//!   the partition is the occupancy; every change of the index changes the
//!   occupancy counter (`occupancy.rs`) in the same transaction, so the space
//!   counts never read the partition;
//! - entry and exit journals keyed by time, for the time-window queries.
//!
//! A car entering again while the index still points at an older stay (a missed
//! exit) supersedes it: the old stay is closed as `Superseded` and the index
//! moves to the new stay, in one transaction. An entry older than the current
//! one arrives late from the site: it is kept as history, already superseded.
//!
//! Concurrency: every change reads the items it touches and writes them back
//! with `VersionIs`; a conflict means someone else changed the stay, so the
//! operation re-reads and tries again.

use super::occupancy;
use super::stored::{opt_ts, pay_type, ts};
use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::fields::normalize_plate;
use onecard_core::kit::{CredentialType, PayType};
use onecard_core::queue::OutEvent;
use onecard_core::retry::{self, Step};
use onecard_core::store::{Cond, Item, Query, StoreError, Write};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Fen};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StayState {
    InPark,
    Left,
    /// Closed by a later entry of the same car (its exit was never recorded).
    Superseded,
}

/// One payment of a stay, as the stay remembers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentRef {
    pub order_no: String,
    /// Paid a zero-fee calculation (`calcId`) rather than an order.
    #[serde(default)]
    pub zero: bool,
    pub seq: i64,
    #[serde(with = "ts")]
    pub paid_at: NaiveDateTime,
    /// The fee due when paid (`parkcost`).
    #[serde(default)]
    pub due: Fen,
    /// What this payment settled of the fee (rule 6).
    pub settled: Fen,
    /// What was actually collected.
    pub amount: Fen,
    #[serde(with = "pay_type")]
    pub pay_type: PayType,
    /// A full payment opens the grace period (rule 7).
    pub full: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stay {
    pub card_in_id: String,
    /// Normalised (decision 7); empty for a card-only entry.
    pub plate: String,
    pub card_no: Option<String>,
    pub area: String,
    #[serde(with = "ts")]
    pub entry: NaiveDateTime,
    pub in_controller_no: String,
    pub in_controller_name: String,
    #[serde(default)]
    pub booking_no: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// The seed's card function type at entry: 0 temporary, 20 stored-value, 26 monthly.
    pub func_type: i64,
    pub state: StayState,
    #[serde(with = "opt_ts", default)]
    pub exit: Option<NaiveDateTime>,
    #[serde(default)]
    pub out_controller_no: String,
    #[serde(default)]
    pub out_controller_name: String,
    /// Sum of what the payments settled; rule 6 subtracts it from the fee.
    pub settled: Fen,
    #[serde(default)]
    pub payments: Vec<PaymentRef>,
    /// Blob-store keys of the entry and exit pictures (decision 16: never the
    /// pictures themselves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_in: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_out: Option<String>,
}

/// What an entry says about a car arriving; `Stay::arrived` completes it.
pub struct Arrival {
    pub card_in_id: String,
    pub plate: String,
    pub card_no: Option<String>,
    pub area: String,
    pub entry: NaiveDateTime,
    pub controller_no: String,
    pub controller_name: String,
    pub booking_no: Option<String>,
    pub user_id: Option<String>,
    pub func_type: i64,
}

impl Stay {
    /// A car that has just come in: in the park, not out, nothing paid.
    pub fn arrived(a: Arrival) -> Stay {
        Stay {
            card_in_id: a.card_in_id,
            plate: a.plate,
            card_no: a.card_no,
            area: a.area,
            entry: a.entry,
            in_controller_no: a.controller_no,
            in_controller_name: a.controller_name,
            booking_no: a.booking_no,
            user_id: a.user_id,
            func_type: a.func_type,
            state: StayState::InPark,
            exit: None,
            out_controller_no: String::new(),
            out_controller_name: String::new(),
            settled: Fen::ZERO,
            payments: Vec::new(),
            photo_in: None,
            photo_out: None,
        }
    }

    pub fn index_sk(&self) -> String {
        index_sk(&self.plate, self.card_no.as_deref())
    }

    /// The plate as answers show it, or the card number of a card-only entry.
    pub fn display_plate(&self) -> String {
        if self.plate.is_empty() {
            self.card_no.clone().unwrap_or_default()
        } else {
            self.plate.clone()
        }
    }

    /// `numno` of the seed's answers: the parking card number, else the plate.
    pub fn numno(&self) -> String {
        self.card_no.clone().unwrap_or_else(|| self.plate.clone())
    }

    pub fn last_paid_at(&self) -> Option<NaiveDateTime> {
        self.payments.iter().map(|p| p.paid_at).max()
    }

    pub fn last_full_payment(&self) -> Option<NaiveDateTime> {
        self.payments.iter().filter(|p| p.full).map(|p| p.paid_at).max()
    }

    pub fn item(&self, branch: &str, version: u64) -> Item {
        Item::new(keys::stays(branch), self.card_in_id.clone(), serde_json::to_value(self).unwrap_or_default())
            .with_version(version)
    }

    /// The write that stores this stay over the version it was read at.
    pub fn write_over(&self, branch: &str, version: u64) -> Write {
        Write::put(self.item(branch, version + 1), Cond::VersionIs(version))
    }

    fn index_item(&self, branch: &str, version: u64) -> Item {
        let body = json!({
            "cardInId": self.card_in_id,
            "area": self.area,
            "plate": self.plate,
            "cardNo": self.card_no,
            "funcType": self.func_type,
        });
        Item::new(keys::in_park(branch), self.index_sk(), body).with_version(version)
    }

    /// The entry fields 13.2 and 13.3 share.
    fn entry_fields(&self) -> serde_json::Map<String, Value> {
        let v = json!({
            "cardInId": self.card_in_id,
            "plateNo": self.display_plate(),
            "inDate": onecard_core::time::format(self.entry),
            "inControllerNo": self.in_controller_no,
            "inControllerName": self.in_controller_name,
        });
        match v {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }

    /// 13.2 record.
    pub fn in_record(&self) -> Value {
        let mut m = self.entry_fields();
        m.insert("funcType".into(), json!(self.func_type.to_string()));
        Value::Object(m)
    }

    /// 13.3 record.
    pub fn out_record(&self) -> Value {
        let mut m = self.entry_fields();
        m.insert("outDate".into(), json!(self.exit.map(onecard_core::time::format).unwrap_or_default()));
        m.insert("outControllerNo".into(), json!(self.out_controller_no));
        m.insert("outControllerName".into(), json!(self.out_controller_name));
        Value::Object(m)
    }
}

pub fn index_sk(plate: &str, card_no: Option<&str>) -> String {
    if plate.is_empty() {
        format!("C{}", card_no.unwrap_or_default())
    } else {
        format!("P{plate}")
    }
}

fn log_item(pk: String, at: NaiveDateTime, card_in_id: &str) -> Item {
    Item::new(pk, keys::log_sk(&onecard_core::time::format(at), card_in_id), json!({ "cardInId": card_in_id }))
}

pub async fn get(ctx: &Ctx, branch: &str, card_in_id: &str) -> ApiResult<Option<(Stay, u64)>> {
    match ctx.store.get(&keys::stays(branch), card_in_id).await? {
        Some(item) => Ok(Some((item.parse()?, item.version))),
        None => Ok(None),
    }
}

/// The stay of a car in the park, by plate or by parking card number.
pub async fn find(ctx: &Ctx, branch: &str, by: CredentialType, credential: &str) -> ApiResult<Option<(Stay, u64)>> {
    let pk = keys::in_park(branch);
    let idx = match by {
        CredentialType::Card => {
            let card = credential.trim();
            match ctx.store.get(&pk, &index_sk("", Some(card))).await? {
                Some(i) => Some(i),
                // A card car that also has a plate is indexed by plate; its card
                // number is in the index body.
                None => ctx.store.query_all(&Query::partition(pk.clone())).await?.into_iter().find(|i| i.body["cardNo"].as_str() == Some(card)),
            }
        }
        CredentialType::Plate => ctx.store.get(&pk, &index_sk(&normalize_plate(credential), None)).await?,
    };
    let Some(idx) = idx else { return Ok(None) };
    let Some(id) = idx.body["cardInId"].as_str() else {
        return Err(StoreError::Corrupt(format!("{}/{}: no cardInId", idx.pk, idx.sk)).into());
    };
    match get(ctx, branch, id).await? {
        Some((s, v)) if s.state == StayState::InPark => Ok(Some((s, v))),
        _ => Ok(None),
    }
}

/// `find` for callers that still hold the credential type as the seed's code
/// (2 a parking card, anything else a plate).
pub async fn in_park(ctx: &Ctx, branch: &str, credential_type: i64, credential: &str) -> ApiResult<Option<(Stay, u64)>> {
    let by = if credential_type == CredentialType::Card.code() { CredentialType::Card } else { CredentialType::Plate };
    find(ctx, branch, by, credential).await
}

pub fn not_in_park(credential: &str) -> ApiError {
    ApiError::new(Code::CAR_NOT_IN_PARK, format!("{credential} is not in the car park"))
}

/// What an entry upload did.
#[derive(Debug, PartialEq, Eq)]
pub enum Entered {
    New,
    /// The same cardInId was uploaded before: nothing changed.
    Repeat,
}

/// Records an entry: stay, index, journal and the outbound events, in one
/// transaction. `extra_events` are outbox events to add (the caller builds them
/// from the stay, so that they go out only if the entry is recorded).
pub async fn enter(ctx: &Ctx, branch: &str, stay: &Stay, extra_events: &[OutEvent]) -> ApiResult<Entered> {
    let at = stay.entry;
    let (entered, publish) = retry::on_conflict("entry not recorded", || async {
        // The stay, the car's index item and its occupancy shard in one batch.
        let (count_pk, count_sk) = occupancy::shard_key(branch, &stay.card_in_id);
        let wanted = [(keys::stays(branch), stay.card_in_id.clone()), (keys::in_park(branch), stay.index_sk()), (count_pk, count_sk)];
        let [existing, current, shard] = <[_; 3]>::try_from(ctx.store.get_many(&wanted).await?)
            .map_err(|_| StoreError::Backend("get_many answered the wrong number of items".into()))?;
        if existing.is_some() {
            return Ok(Step::Done((Entered::Repeat, Vec::new())));
        }
        let mut stay = stay.clone();
        let mut writes = Vec::new();
        let mut publish = Vec::new();
        match &current {
            None => {
                writes.push(Write::put(stay.index_item(branch, 1), Cond::MustNotExist));
                writes.push(occupancy::adjust(branch, &stay.card_in_id, shard.as_ref(), &[(&stay.area, 1)]));
            }
            Some(idx) => {
                // The index moves to this stay unless this is a late upload;
                // its count moves with it, from the area it was counted in.
                let moved = [(idx.body["area"].as_str().unwrap_or_default(), -1), (stay.area.as_str(), 1)];
                let other_id = idx.body["cardInId"].as_str().unwrap_or_default().to_string();
                match get(ctx, branch, &other_id).await? {
                    Some((other, _)) if other.entry > stay.entry && other.state == StayState::InPark => {
                        // A late upload of an older visit: history only.
                        stay.state = StayState::Superseded;
                        writes.push(Write::check(keys::in_park(branch), stay.index_sk(), Cond::VersionIs(idx.version)));
                    }
                    Some((mut other, v)) => {
                        if other.state == StayState::InPark {
                            other.state = StayState::Superseded;
                            writes.push(Write::put(other.item(branch, v + 1), Cond::VersionIs(v)));
                        }
                        writes.push(Write::put(stay.index_item(branch, idx.version + 1), Cond::VersionIs(idx.version)));
                        writes.push(occupancy::adjust(branch, &stay.card_in_id, shard.as_ref(), &moved));
                    }
                    None => {
                        writes.push(Write::put(stay.index_item(branch, idx.version + 1), Cond::VersionIs(idx.version)));
                        writes.push(occupancy::adjust(branch, &stay.card_in_id, shard.as_ref(), &moved));
                    }
                }
            }
        }
        writes.push(Write::put(stay.item(branch, 1), Cond::MustNotExist));
        writes.push(Write::put(log_item(keys::entry_log(branch), at, &stay.card_in_id), Cond::None));
        if stay.state == StayState::InPark {
            let ev = OutEvent::new(branch, "report/parkInData", stay.in_record(), at);
            writes.push(outbox_write(&ev));
            publish.push(ev);
        }
        for ev in extra_events {
            writes.push(outbox_write(ev));
            publish.push(ev.clone());
        }
        // A conflict is a concurrent upload of this entry or a change of the
        // car's index: the next attempt sees which.
        Step::of(ctx.store.transact(writes).await, (Entered::New, publish))
    })
    .await?;
    publish_committed(ctx, &publish).await;
    Ok(entered)
}

/// Facts of an exit.
#[derive(Clone, Debug)]
pub struct ExitFacts {
    pub at: NaiveDateTime,
    pub controller_no: String,
    pub controller_name: String,
    /// The exit picture's blob key.
    pub photo: Option<String>,
}

/// Records an exit: closes the stay, frees the index (if it still points at this
/// stay) and journals it, with the exit event, in one transaction. An exit of a
/// stay already closed by an exit changes nothing.
pub async fn exit(
    ctx: &Ctx,
    branch: &str,
    card_in_id: &str,
    facts: &ExitFacts,
    extra_events: &(dyn Fn(&Stay) -> Vec<OutEvent> + Sync),
) -> ApiResult<Stay> {
    let (stay, events) = retry::on_conflict("exit not recorded", || async {
        let wanted = [(keys::stays(branch), card_in_id.to_string()), occupancy::shard_key(branch, card_in_id)];
        let [found, shard] = <[_; 2]>::try_from(ctx.store.get_many(&wanted).await?)
            .map_err(|_| StoreError::Backend("get_many answered the wrong number of items".into()))?;
        let Some(found) = found else {
            return Err(ApiError::new(Code::CAR_NOT_IN_PARK, format!("no entry record with cardInId {card_in_id}")));
        };
        let (mut stay, v): (Stay, u64) = (found.parse()?, found.version);
        if stay.state == StayState::Left {
            return Ok(Step::Done((stay, Vec::new())));
        }
        if facts.at < stay.entry {
            return Err(ApiError::field("outDate", format!("is before the entry time {}", onecard_core::time::format(stay.entry))));
        }
        let mut writes = Vec::new();
        if stay.state == StayState::InPark {
            if let Some(idx) = ctx.store.get(&keys::in_park(branch), &stay.index_sk()).await? {
                if idx.body["cardInId"].as_str() == Some(card_in_id) {
                    writes.push(Write::delete(keys::in_park(branch), stay.index_sk(), Cond::VersionIs(idx.version)));
                    let area = idx.body["area"].as_str().unwrap_or_default();
                    writes.push(occupancy::adjust(branch, card_in_id, shard.as_ref(), &[(area, -1)]));
                }
            }
        }
        stay.state = StayState::Left;
        stay.exit = Some(facts.at);
        stay.out_controller_no = facts.controller_no.clone();
        stay.out_controller_name = facts.controller_name.clone();
        stay.photo_out = facts.photo.clone();
        writes.push(Write::put(stay.item(branch, v + 1), Cond::VersionIs(v)));
        writes.push(Write::put(log_item(keys::exit_log(branch), facts.at, card_in_id), Cond::None));
        let mut events = vec![OutEvent::new(branch, "report/parkOutdata", stay.out_record(), facts.at)];
        events.extend(extra_events(&stay));
        writes.extend(events.iter().map(outbox_write));
        Step::of(ctx.store.transact(writes).await, (stay, events))
    })
    .await?;
    publish_committed(ctx, &events).await;
    Ok(stay)
}

/// Every car in the park now: (area, funcType) of each, from the index.
pub async fn occupancy(ctx: &Ctx, branch: &str) -> ApiResult<Vec<(String, i64)>> {
    let items = ctx.store.query_all(&Query::partition(keys::in_park(branch))).await?;
    Ok(items
        .into_iter()
        .map(|i| (i.body["area"].as_str().unwrap_or_default().to_string(), i.body["funcType"].as_i64().unwrap_or(0)))
        .collect())
}

/// Every stay in the park now, by entry time.
pub async fn all_in_park(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Stay>> {
    let items = ctx.store.query_all(&Query::partition(keys::in_park(branch))).await?;
    // One batch get for every stay instead of one get per car.
    let pk = keys::stays(branch);
    let wanted: Vec<(String, String)> =
        items.iter().filter_map(|i| i.body["cardInId"].as_str()).map(|id| (pk.clone(), id.to_string())).collect();
    let mut out = Vec::with_capacity(wanted.len());
    for item in ctx.store.get_many(&wanted).await?.into_iter().flatten() {
        let s: Stay = item.parse()?;
        if s.state == StayState::InPark {
            out.push(s);
        }
    }
    out.sort_by(|a, b| a.entry.cmp(&b.entry).then_with(|| a.card_in_id.cmp(&b.card_in_id)));
    Ok(out)
}

/// The two journals of stays, by time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Journal {
    Entries,
    Exits,
}

impl Journal {
    fn pk(self, branch: &str) -> String {
        match self {
            Journal::Entries => keys::entry_log(branch),
            Journal::Exits => keys::exit_log(branch),
        }
    }
}

/// Journal items in [from, to).
async fn journal(ctx: &Ctx, branch: &str, journal: Journal, from: NaiveDateTime, to: NaiveDateTime) -> ApiResult<Vec<Item>> {
    let lo = onecard_core::time::format(from);
    // '#' sorts before digits, so "{to}#" excludes records at exactly `to`.
    let hi = format!("{}#", onecard_core::time::format(to));
    Ok(ctx.store.query_all(&Query::between(journal.pk(branch), lo, hi)).await?)
}

/// Stays whose entry or exit time lies in [from, to).
pub async fn in_window(ctx: &Ctx, branch: &str, by: Journal, from: NaiveDateTime, to: NaiveDateTime) -> ApiResult<Vec<Stay>> {
    let items = journal(ctx, branch, by, from, to).await?;
    let pk = keys::stays(branch);
    let wanted: Vec<(String, String)> =
        items.iter().filter_map(|i| i.body["cardInId"].as_str()).map(|id| (pk.clone(), id.to_string())).collect();
    ctx.store.get_many(&wanted).await?.into_iter().flatten().map(|i| Ok(i.parse()?)).collect()
}

/// How many entries or exits lie in [from, to), without reading the stays (6.64).
pub async fn count_in_window(ctx: &Ctx, branch: &str, by: Journal, from: NaiveDateTime, to: NaiveDateTime) -> ApiResult<usize> {
    Ok(journal(ctx, branch, by, from, to).await?.len())
}
