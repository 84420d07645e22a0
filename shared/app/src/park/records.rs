//! Reading stays back: space counts (6.3, 6.27), entry and exit records (6.9,
//! 6.10), the entry/exit/payment journal (6.56), traffic (6.64) and the payment
//! history of a plate (6.11).
//!
//! Occupancy is counted from the in-park index (one item per car); time
//! windows are ranges over the entry, exit and payment journals.

use super::orders::paid_in_window;
use super::stays::{self, Journal, Stay, StayState};
use crate::tariff::engine::started_minutes;
use chrono::{NaiveDateTime, Timelike};
use onecard_core::config::Branch;
use onecard_core::fields::normalize_plate;
use onecard_core::kit::{self, CredentialType, DateTime, Empty, Flag, Int, Money, Page, Plate, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Cars in the park per area id, from the occupancy counter (one batch get).
async fn used_per_area(ctx: &Ctx, branch: &str) -> ApiResult<BTreeMap<String, i64>> {
    super::occupancy::per_area(ctx, branch).await
}

/// A 6.27 row (and 6.3's `details`).
#[derive(Serialize, JsonSchema)]
pub struct AreaRow {
    #[serde(rename = "areaID")]
    pub id: String,
    #[serde(rename = "areaName")]
    pub name: String,
    pub total: String,
    pub remain: String,
}

fn area_rows(branch: &Branch, used: &BTreeMap<String, i64>) -> Vec<AreaRow> {
    branch
        .areas
        .iter()
        .map(|a| {
            let u = used.get(&a.id).copied().unwrap_or(0);
            AreaRow { id: a.id.clone(), name: a.name.clone(), total: a.capacity.to_string(), remain: (a.capacity - u).max(0).to_string() }
        })
        .collect()
}

/// 6.3 input.
#[derive(Deserialize, JsonSchema)]
pub struct LotTotalIn {
    /// "1" adds the areas; anything else does not.
    #[serde(rename = "includeDetails")]
    pub include_details: Option<Text>,
}

/// 6.3 output.
#[derive(Serialize, JsonSchema)]
pub struct LotTotal {
    pub total: String,
    pub remain: String,
    #[serde(rename = "tempNumber")]
    pub temp_number: String,
    #[serde(rename = "useLotNow")]
    pub use_lot_now: String,
    pub reserve: String,
    #[serde(rename = "remainReserv")]
    pub remain_reserv: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<AreaRow>>,
}

/// 6.3 (and its old address `getstates`). No spaces are reserved for monthly
/// cards in the branch configuration, so all spaces are temporary spaces and
/// the reserved counts are 0.
async fn lot_total(ctx: Ctx, req: Req, input: LotTotalIn) -> ApiResult<LotTotal> {
    let used = used_per_area(&ctx, req.branchno()).await?;
    let total = req.branch.capacity();
    let in_park: i64 = used.values().sum();
    // A pending booking of a space-holding mode takes a space before its car comes.
    let held = crate::lanes::bookings::held_spaces(&ctx, req.branchno(), req.now).await?;
    let remain = (total - in_park - held).max(0);
    let details = (input.include_details.as_deref() == Some("1")).then(|| area_rows(&req.branch, &used));
    Ok(LotTotal {
        total: total.to_string(),
        remain: remain.to_string(),
        temp_number: total.to_string(),
        use_lot_now: remain.to_string(),
        reserve: "0".into(),
        remain_reserv: "0".into(),
        details,
    })
}

async fn lot_of_area(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<AreaRow>> {
    let used = used_per_area(&ctx, req.branchno()).await?;
    Ok(req.page(area_rows(&req.branch, &used)))
}

fn area_name(branch: &Branch, id: &str) -> String {
    branch.areas.iter().find(|a| a.id == id).map(|a| a.name.clone()).unwrap_or_else(|| id.to_string())
}

fn hour_floor(t: NaiveDateTime) -> NaiveDateTime {
    t.with_minute(0).and_then(|t| t.with_second(0)).unwrap_or(t)
}

/// Refuses a window longer than the kit allows when both ends are given; an
/// open end is the seed's "no bound".
fn check_open_window(from: Option<DateTime>, to: Option<DateTime>, end_field: &str) -> ApiResult<()> {
    kit::check_open_window(from.map(DateTime::get), to.map(DateTime::get), end_field)
}

fn credential_matches(s: &Stay, by: CredentialType, credential: &str, like: bool) -> bool {
    match by {
        CredentialType::Card => match &s.card_no {
            Some(c) if like => c.contains(credential.trim()),
            Some(c) => c == credential.trim(),
            None => false,
        },
        CredentialType::Plate => {
            let q = normalize_plate(credential);
            if like {
                s.plate.contains(&q)
            } else {
                s.plate == q
            }
        }
    }
}

/// 6.9 input.
#[derive(Deserialize, JsonSchema)]
pub struct InInfoIn {
    #[serde(rename = "credentialtype")]
    pub credential_type: Option<CredentialType>,
    /// A plate or card number, or a part of one with `searchLike`.
    pub credential: Option<Text>,
    /// Absent, empty or "0": no photos.
    #[serde(rename = "getphoto")]
    pub photo: Option<Text>,
    #[serde(rename = "starttime")]
    pub from: Option<DateTime>,
    #[serde(rename = "endtime")]
    pub to: Option<DateTime>,
    #[serde(rename = "searchLike")]
    pub like: Option<Flag>,
}

/// A 6.9 row. A partial search leaves out the card's details and `functype`.
#[derive(Serialize, JsonSchema)]
pub struct InRow {
    pub numno: String,
    pub carno: String,
    pub entertime: DateTime,
    pub parkposi: String,
    pub parkingtime: String,
    /// The entry picture as base64, read back from the blob store, when
    /// `getphoto` asks for it ("" when the stay has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photoin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub functype: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub card: Option<InRowCard>,
}

#[derive(Serialize, JsonSchema)]
pub struct InRowCard {
    pub issuedate: DateTime,
    pub startdate: DateTime,
    pub expirydate: DateTime,
    pub username: String,
    pub mobile: String,
}

/// 6.9: cars in the park, by entry time window [starttime, endtime), plate or
/// card, exact or partial (`searchLike` 1; then only the hours of the window
/// count, both included (decision 19), and the card details are left out).
async fn in_info(ctx: Ctx, req: Req, input: InInfoIn) -> ApiResult<Page<InRow>> {
    check_open_window(input.from, input.to, "endtime")?;
    let b = req.branchno();
    let like = input.like.is_some_and(Flag::get);
    let ctype = input.credential_type.unwrap_or(CredentialType::Plate);
    let photo = input.photo.as_deref().is_some_and(|p| p != "0");
    let (mut from, mut to) = (input.from.map(DateTime::get), input.to.map(DateTime::get));
    if like {
        // Decision 19: only the hours count, both included: 09:20-09:50
        // means entries from 09:00 up to (not including) 10:00.
        from = from.map(hour_floor);
        to = to.map(|t| hour_floor(t) + chrono::Duration::hours(1));
    }
    let mut rows = Vec::new();
    let exact = input.credential.as_deref().map(str::trim).filter(|c| !like && !c.is_empty());
    let candidates = match exact {
        Some(c) => one_car(&ctx, b, ctype, c).await?.into_iter().collect(),
        None => stays::all_in_park(&ctx, b).await?.into_iter().map(|s| (s, None)).collect::<Vec<_>>(),
    };
    for (s, card) in candidates {
        if from.is_some_and(|f| s.entry < f) || to.is_some_and(|t| s.entry >= t) {
            continue;
        }
        if input.credential.as_deref().is_some_and(|c| !credential_matches(&s, ctype, c, like)) {
            continue;
        }
        let mut row = InRow {
            numno: s.numno(),
            carno: s.display_plate(),
            entertime: DateTime(s.entry),
            parkposi: area_name(&req.branch, &s.area),
            parkingtime: started_minutes(s.entry, req.now.max(s.entry)).to_string(),
            photoin: None,
            functype: None,
            card: None,
        };
        if !like {
            row.functype = Some(s.func_type.to_string());
            let card = match card {
                Some(read) => read,
                None => card_of(&ctx, b, &s).await?,
            };
            if let Some(card) = card {
                let holder = crate::cards::store::get_holder(&ctx, b, &card.user_no).await?;
                row.card = Some(InRowCard {
                    issuedate: DateTime(card.issued_at),
                    startdate: DateTime(card.valid_from),
                    expirydate: DateTime(card.valid_to),
                    username: holder.as_ref().map(|h| h.name.clone()).unwrap_or_default(),
                    mobile: holder.as_ref().map(|h| h.mobile().to_string()).unwrap_or_default(),
                });
            }
        }
        rows.push((row, s.photo_in));
    }
    // Pictures are read for the rows answered only, not for every match.
    let page = req.page(rows);
    let mut out = Vec::with_capacity(page.rows.len());
    for (mut row, key) in page.rows {
        if photo {
            row.photoin = Some(crate::pictures::photo_base64(&ctx, key.as_deref()).await);
        }
        out.push(row);
    }
    Ok(Page { rows: out, rowindex: page.rowindex, total: page.total })
}

/// The card `card_of` would find, when already read (`Some(None)`: none).
type ReadCard = Option<Option<crate::cards::Card>>;

/// One car by exact plate or card number, without listing the park: for a
/// plate, its in-park index and its plate card in one batch, then its stay
/// and that card in another (the card number an entry carries, when the
/// plate has no card, is the only further read).
async fn one_car(ctx: &Ctx, branch: &str, by: CredentialType, credential: &str) -> ApiResult<Option<(Stay, ReadCard)>> {
    let plate = normalize_plate(credential);
    if by == CredentialType::Card || plate.is_empty() {
        return Ok(stays::find(ctx, branch, by, credential).await?.map(|(s, _)| (s, None)));
    }
    let wrong = || onecard_core::store::StoreError::Backend("get_many answered the wrong number of items".into());
    let first = ctx
        .store
        .get_many(&[(crate::keys::in_park(branch), stays::index_sk(&plate, None)), (crate::keys::plate_cards(branch), plate.clone())])
        .await?;
    let [idx, plate_card] = <[_; 2]>::try_from(first).map_err(|_| wrong())?;
    let Some(id) = idx.as_ref().and_then(|i| i.body["cardInId"].as_str()) else { return Ok(None) };
    let card_no = plate_card.as_ref().and_then(|i| i.body.get("cardNo")).and_then(|v| v.as_str());
    let mut wanted = vec![(crate::keys::stays(branch), id.to_string())];
    wanted.extend(card_no.map(|no| (crate::keys::cards(branch), no.to_string())));
    let mut second = ctx.store.get_many(&wanted).await?.into_iter();
    let Some(stay) = second.next().flatten().map(|i| i.parse::<Stay>()).transpose()? else { return Ok(None) };
    if stay.state != StayState::InPark {
        return Ok(None);
    }
    let by_plate = second.next().flatten().map(|i| i.parse::<crate::cards::Card>()).transpose()?;
    // As `card_of`: no card by plate, the card number the entry carries.
    let card = match (by_plate, &stay.card_no) {
        (Some(c), _) => Some(c),
        (None, Some(no)) => crate::cards::get_card(ctx, branch, no).await?,
        (None, None) => None,
    };
    Ok(Some((stay, Some(card))))
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

fn window(from: Option<DateTime>, to: Option<DateTime>) -> (NaiveDateTime, NaiveDateTime) {
    let lo = from.map(DateTime::get).unwrap_or_else(|| onecard_core::time::parse(EPOCH).expect("constant time"));
    let hi = to.map(DateTime::get).unwrap_or_else(|| onecard_core::time::parse(FAR).expect("constant time"));
    (lo, hi)
}

/// 6.10 input. The seed marks `starttime` required; an open start has always
/// been read as "since the beginning".
#[derive(Deserialize, JsonSchema)]
pub struct OutInfoIn {
    #[serde(rename = "credentialtype")]
    pub credential_type: Option<CredentialType>,
    pub credential: Option<Text>,
    /// Absent, empty or "0": no photos.
    #[serde(rename = "getphoto")]
    pub photo: Option<Text>,
    #[serde(rename = "starttime")]
    pub from: Option<DateTime>,
    #[serde(rename = "endtime")]
    pub to: Option<DateTime>,
}

/// A 6.10 row.
#[derive(Serialize, JsonSchema)]
pub struct OutRow {
    pub numno: String,
    pub carno: String,
    pub entertime: DateTime,
    /// Empty if the stay has no exit time.
    pub exittime: String,
    /// With `getphoto`: the entry and exit pictures as base64 (the seed
    /// prints no photo field for 6.10; these are 6.9's `photoin` and its
    /// exit counterpart), "" where the stay has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photoin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photoout: Option<String>,
}

/// 6.10: exit records whose exit time lies in [starttime, endtime).
async fn out_info(ctx: Ctx, req: Req, input: OutInfoIn) -> ApiResult<Page<OutRow>> {
    check_open_window(input.from, input.to, "endtime")?;
    let b = req.branchno();
    let ctype = input.credential_type.unwrap_or(CredentialType::Plate);
    let photo = input.photo.as_deref().is_some_and(|p| p != "0");
    let (from, to) = window(input.from, input.to);
    let matching: Vec<Stay> = stays::in_window(&ctx, b, Journal::Exits, from, to)
        .await?
        .into_iter()
        .filter(|s| input.credential.as_deref().is_none_or(|c| credential_matches(s, ctype, c, false)))
        .collect();
    // Pictures are read for the rows answered only, not for every match.
    let page = req.page(matching);
    let mut rows = Vec::with_capacity(page.rows.len());
    for s in page.rows {
        let (photoin, photoout) = match photo {
            true => (
                Some(crate::pictures::photo_base64(&ctx, s.photo_in.as_deref()).await),
                Some(crate::pictures::photo_base64(&ctx, s.photo_out.as_deref()).await),
            ),
            false => (None, None),
        };
        rows.push(OutRow {
            numno: s.numno(),
            carno: s.display_plate(),
            entertime: DateTime(s.entry),
            exittime: s.exit.map(kit::stamp).unwrap_or_default(),
            photoin,
            photoout,
        });
    }
    Ok(Page { rows, rowindex: page.rowindex, total: page.total })
}

/// 6.56's card type: a temporary car is an hourly card (6) in this table.
fn park_card_type(func_type: i64) -> String {
    if func_type == 0 { 6 } else { func_type }.to_string()
}

/// A 6.56 row. Fields that do not apply to the record type are empty strings.
#[derive(Clone, Serialize, JsonSchema)]
pub struct JournalRow {
    #[serde(rename = "recordType")]
    pub record_type: String,
    #[serde(rename = "cardInOutId")]
    pub card_in_out_id: String,
    #[serde(rename = "licensePlate")]
    pub license_plate: String,
    #[serde(rename = "parkCardTypeId")]
    pub park_card_type_id: String,
    #[serde(rename = "inControllerName")]
    pub in_controller_name: String,
    #[serde(rename = "outControllerName")]
    pub out_controller_name: String,
    #[serde(rename = "inDateTime")]
    pub in_date_time: DateTime,
    /// The exit, or the payment time of a payment row.
    #[serde(rename = "outDateTime")]
    pub out_date_time: String,
    #[serde(rename = "parkTime")]
    pub park_time: String,
    /// The seed's spelling.
    #[serde(rename = "aeceivable")]
    pub receivable: String,
    pub amount: String,
    #[serde(rename = "payType")]
    pub pay_type: String,
    #[serde(rename = "operName")]
    pub oper_name: String,
}

/// The journal rows of one stay: its entry (type 0, still in the park) or exit
/// (type 2), and each payment (type 1 in the park, 3 after leaving).
fn journal_rows(s: &Stay, payments_only: Option<(NaiveDateTime, NaiveDateTime)>) -> Vec<JournalRow> {
    let left = s.state == StayState::Left;
    let base = |record_type: &str| JournalRow {
        record_type: record_type.into(),
        card_in_out_id: s.card_in_id.clone(),
        license_plate: s.display_plate(),
        park_card_type_id: park_card_type(s.func_type),
        in_controller_name: s.in_controller_name.clone(),
        out_controller_name: String::new(),
        in_date_time: DateTime(s.entry),
        out_date_time: String::new(),
        park_time: String::new(),
        receivable: String::new(),
        amount: String::new(),
        pay_type: String::new(),
        oper_name: String::new(),
    };
    let mut rows = Vec::new();
    if payments_only.is_none() {
        if left {
            let exit = s.exit.unwrap_or(s.entry);
            rows.push(JournalRow {
                out_controller_name: s.out_controller_name.clone(),
                out_date_time: kit::stamp(exit),
                park_time: started_minutes(s.entry, exit).to_string(),
                receivable: Fen::ZERO.yuan(),
                amount: Fen::ZERO.yuan(),
                ..base("2")
            });
        } else {
            rows.push(base("0"));
        }
    }
    for p in &s.payments {
        if payments_only.is_some_and(|(f, t)| p.paid_at < f || p.paid_at >= t) {
            continue;
        }
        rows.push(JournalRow {
            out_date_time: kit::stamp(p.paid_at),
            park_time: started_minutes(s.entry, p.paid_at).to_string(),
            receivable: p.due.yuan(),
            amount: p.amount.yuan(),
            pay_type: p.pay_type.0.to_string(),
            ..base(if left { "3" } else { "1" })
        });
    }
    rows
}

/// 6.56 input.
#[derive(Deserialize, JsonSchema)]
pub struct InOutListIn {
    #[serde(rename = "dateStart")]
    pub from: DateTime,
    #[serde(rename = "dateEnd")]
    pub to: DateTime,
    /// 0 by entry time, 1 by exit time, 2 by payment time.
    #[serde(rename = "dateType")]
    pub date_type: Int,
}

/// 6.56: dateType 0 by entry time, 1 by exit time, 2 by payment time.
async fn inout_list(ctx: Ctx, req: Req, input: InOutListIn) -> ApiResult<Page<JournalRow>> {
    let b = req.branchno();
    let (from, to) = (input.from.get(), input.to.get());
    let by = match input.date_type.get() {
        0 => Some(Journal::Entries),
        1 => Some(Journal::Exits),
        2 => None,
        t => return Err(ApiError::field("dateType", format!("{t} is not 0 (entry), 1 (exit) or 2 (payment)"))),
    };
    kit::check_window(from, to, "dateEnd")?;
    let rows: Vec<JournalRow> = match by {
        Some(j) => stays::in_window(&ctx, b, j, from, to).await?.iter().flat_map(|s| journal_rows(s, None)).collect(),
        None => {
            let mut rows = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for o in paid_in_window(&ctx, b, Some(from), Some(to)).await? {
                if !seen.insert(o.card_in_id.clone()) {
                    continue;
                }
                if let Some((s, _)) = stays::get(&ctx, b, &o.card_in_id).await? {
                    rows.extend(journal_rows(&s, Some((from, to))));
                }
            }
            rows
        }
    };
    Ok(req.page(rows))
}

/// 6.64 input.
#[derive(Deserialize, JsonSchema)]
pub struct TrafficIn {
    #[serde(rename = "startTime")]
    pub from: DateTime,
    #[serde(rename = "endTime")]
    pub to: DateTime,
}

/// 6.64 output: the section answers its own status inside `data`.
#[derive(Serialize, JsonSchema)]
pub struct TrafficOut {
    pub code: String,
    pub message: String,
    pub status: String,
    #[serde(rename = "inNum")]
    pub in_num: String,
    #[serde(rename = "outNum")]
    pub out_num: String,
}

/// 6.64: entries and exits in [startTime, endTime).
async fn traffic(ctx: Ctx, req: Req, input: TrafficIn) -> ApiResult<TrafficOut> {
    let b = req.branchno();
    let (from, to) = (input.from.get(), input.to.get());
    if to < from {
        return Err(ApiError::field("endTime", "is before startTime"));
    }
    kit::check_window(from, to, "endTime")?;
    let ins = stays::count_in_window(&ctx, b, Journal::Entries, from, to).await?;
    let outs = stays::count_in_window(&ctx, b, Journal::Exits, from, to).await?;
    Ok(TrafficOut {
        code: "200".into(),
        message: String::new(),
        status: "true".into(),
        in_num: ins.to_string(),
        out_num: outs.to_string(),
    })
}

/// 6.11 input.
#[derive(Deserialize, JsonSchema)]
pub struct ChargeHistoryIn {
    #[serde(rename = "licenseplate")]
    pub plate: Plate,
    #[serde(rename = "starttime")]
    pub from: DateTime,
    #[serde(rename = "endtime")]
    pub to: DateTime,
}

/// A 6.11 row.
#[derive(Serialize, JsonSchema)]
pub struct ChargeRow {
    pub chargedatetime: String,
    pub amount: Money,
    pub parktime: String,
}

/// 6.11: payments of a plate in [starttime, endtime), once the car has left.
async fn charge_history(ctx: Ctx, req: Req, input: ChargeHistoryIn) -> ApiResult<Page<ChargeRow>> {
    let b = req.branchno();
    let (from, to) = (input.from.get(), input.to.get());
    kit::check_window(from, to, "endtime")?;
    let mut rows = Vec::new();
    for o in paid_in_window(&ctx, b, Some(from), Some(to)).await? {
        if normalize_plate(&o.plate) != input.plate.norm() {
            continue;
        }
        let left = stays::get(&ctx, b, &o.card_in_id).await?.is_some_and(|(s, _)| s.state == StayState::Left);
        if !left {
            continue;
        }
        rows.push(ChargeRow {
            chargedatetime: o.paid_at.map(kit::stamp).unwrap_or_default(),
            amount: Money(o.amount),
            parktime: started_minutes(o.entry, o.calc_end).to_string(),
        });
    }
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("park.lot.status.total", lot_total),
        kit::read("park.lot.status.total.of.area", lot_of_area),
        kit::read("park.in.info", in_info),
        kit::read("park.out.info", out_info),
        kit::read("park.inoutlist.info", inout_list),
        kit::read("park.lot.GetTraffic", traffic),
        kit::read("park.hcard.charge.history", charge_history),
    ]
}
