//! E-invoices: 9.15 the invoicing QR code, 9.16 issuing through the
//! platform, 6.62 an order's invoicing status, 6.86 the platform's result.
//!
//! An invoice record is written with one `MustNotExist` mark per order, in
//! one transaction, so an order is never on two invoices however requests
//! race. The limits are 6.37's (orders per invoice, amount cap, current
//! month only, expiry after payment), set by `onecard payments settings`.
//! 9.16 answers status 0 (pending): the platform issues asynchronously and
//! reports through 6.86, after which 6.62 says 1.

use super::providers;
use super::qr::with_params;
use super::settings::{self, PaySettings};
use crate::keys;
use crate::park::orders::{self, Order};
use chrono::{Datelike, Duration, NaiveDateTime};
use onecard_core::kit::{self, stamp, OrderStatus, RouteDef, Text};
use onecard_core::providers::{InvoiceLine, InvoiceRequest};
use onecard_core::store::{Cond, Item, Write};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// 9.16's own codes (the seed reuses numbers chapter 5 gives other meanings).
pub const INVOICE_EXISTS: Code = Code(510);
pub const ORDER_INVOICED: Code = Code(520);
pub const ORDER_MISSING: Code = Code(530);

/// A pending invoice the platform has not reported within this reads as
/// "timed out" (status 2).
pub const PENDING_TIMEOUT_MINUTES: i64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceStatus {
    Pending = 0,
    Issued = 1,
    TimedOut = 2,
    Reversed = 3,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub orders: Vec<String>,
    pub plates: Vec<String>,
    pub amounts: Vec<Fen>,
    pub buyer: String,
    pub status: InvoiceStatus,
    pub code: String,
    pub number: String,
    pub url: String,
    pub created: NaiveDateTime,
}

impl Invoice {
    pub fn status_at(&self, now: NaiveDateTime) -> InvoiceStatus {
        if self.status == InvoiceStatus::Pending && now - self.created > Duration::minutes(PENDING_TIMEOUT_MINUTES) {
            InvoiceStatus::TimedOut
        } else {
            self.status
        }
    }
}

/// `a,b` or `a，b` (9.15 prints the full-width comma), blanks dropped.
fn split(s: &str) -> Vec<String> {
    s.split([',', '，']).map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()
}

/// The lines an invoice asks for: each order with its plate and amount
/// (passed values win, 9.16; entries past the orders are ignored).
struct Asked {
    lines: Vec<InvoiceLine>,
}

async fn asked(ctx: &Ctx, branch: &str, s: &PaySettings, order_no: &str, plates: Option<&str>, amounts: Option<&str>, now: NaiveDateTime) -> ApiResult<Asked> {
    let nos = split(order_no);
    if nos.is_empty() {
        return Err(ApiError::field("orderNo", "names no order"));
    }
    if nos.len() as i64 > s.max_orders_per_invoice {
        return Err(ApiError::field("orderNo", format!("{} orders are more than the {} one invoice may hold", nos.len(), s.max_orders_per_invoice)));
    }
    if let Some(d) = nos.iter().enumerate().find(|(i, n)| nos[..*i].contains(n)) {
        return Err(ApiError::field("orderNo", format!("{} is named twice", d.1)));
    }
    let plates = plates.map(split).unwrap_or_default();
    let amounts = amounts.map(split).unwrap_or_default();
    let mut lines = Vec::new();
    for (i, no) in nos.iter().enumerate() {
        let order: Order = orders::get(ctx, branch, no, false).await?.map(|(o, _)| o).ok_or_else(|| ApiError::new(ORDER_MISSING, format!("payment order {no} does not exist")))?;
        if order.status != OrderStatus::Paid {
            return Err(ApiError::new(ORDER_MISSING, format!("order {no} is not paid: there is no payment to invoice")));
        }
        let paid = order.paid_at.unwrap_or(order.created_at);
        if s.invoice_current_month_only && (paid.year(), paid.month()) != (now.year(), now.month()) {
            return Err(ApiError::field("orderNo", format!("order {no} was paid in {}: only this month's payments are invoiced", paid.format("%Y-%m"))));
        }
        if s.invoice_expiry_days > 0 && now - paid > Duration::days(s.invoice_expiry_days) {
            return Err(ApiError::field("orderNo", format!("order {no} was paid {}, more than {} days ago: too late to invoice", stamp(paid), s.invoice_expiry_days)));
        }
        let amount = match amounts.get(i) {
            Some(a) => {
                let f = Fen::parse_yuan(a).filter(|f| f.0 >= 0).ok_or_else(|| ApiError::field("amount", format!("'{a}' is not an amount in yuan")))?;
                if f > order.amount {
                    return Err(ApiError::field("amount", format!("{f} is more than the {} paid for order {no}", order.amount)));
                }
                f
            }
            None => order.amount,
        };
        let plate = plates.get(i).cloned().unwrap_or_else(|| order.plate.clone());
        lines.push(InvoiceLine { order_no: no.clone(), plate, amount });
    }
    let total: Fen = lines.iter().map(|l| l.amount).sum();
    if let Some(cap) = s.max_invoice_amount() {
        if total > cap {
            return Err(ApiError::field("amount", format!("the invoice's {total} is over the cap of {cap}")));
        }
    }
    Ok(Asked { lines })
}

/// 9.15 input.
#[derive(Deserialize, JsonSchema)]
pub struct QrIn {
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
    #[serde(rename = "licensePlate")]
    pub plates: Option<Text>,
    pub amount: Option<Text>,
}

#[derive(Serialize, JsonSchema)]
pub struct QrOut {
    #[serde(rename = "orderNo")]
    pub order_no: String,
    pub qrcode: String,
}

/// 9.15. The seed's option 1 (a Carsafe page) is "not yet implemented"
/// there too; option 2 assembles the configured invoicing address.
async fn qrcode(ctx: Ctx, req: Req, input: QrIn) -> ApiResult<QrOut> {
    let s = settings::get(&ctx, req.branchno()).await?;
    let a = asked(&ctx, req.branchno(), &s, &input.order_no, input.plates.as_deref(), input.amount.as_deref(), req.now).await?;
    let base = s.invoice_url.clone().ok_or_else(|| ApiError::failed("no invoicing address is configured (onecard payments settings --invoice-url)"))?;
    let nos = a.lines.iter().map(|l| l.order_no.as_str()).collect::<Vec<_>>().join(",");
    let mut params = vec![("no".to_string(), nos)];
    if input.plates.is_some() {
        params.push(("carno".into(), a.lines.iter().map(|l| l.plate.as_str()).collect::<Vec<_>>().join(",")));
    }
    if input.amount.is_some() {
        params.push(("amount".into(), a.lines.iter().map(|l| l.amount.yuan()).collect::<Vec<_>>().join(",")));
    }
    let p: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Ok(QrOut { order_no: input.order_no.to_string(), qrcode: with_params(&base, &p) })
}

/// 9.16 input.
#[derive(Deserialize, JsonSchema)]
pub struct OpenIn {
    pub gfmc: Text,
    pub gfnsrsbh: Option<Text>,
    pub gfdzdh: Option<Text>,
    pub gfyhmczh: Option<Text>,
    pub email: Option<Text>,
    pub mobile: Option<Text>,
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
    #[serde(rename = "licensePlate")]
    pub plates: Option<Text>,
    pub amount: Option<Text>,
}

#[derive(Serialize, JsonSchema)]
pub struct OpenOut {
    #[serde(rename = "einvoiceID")]
    pub id: String,
    #[serde(rename = "einvoiceCode")]
    pub code: String,
    #[serde(rename = "einvoiceNumber")]
    pub number: String,
    pub url: String,
    pub status: String,
}

impl OpenOut {
    fn of(i: &Invoice, now: NaiveDateTime) -> Self {
        OpenOut { id: i.id.clone(), code: i.code.clone(), number: i.number.clone(), url: i.url.clone(), status: (i.status_at(now) as i64).to_string() }
    }
}

pub async fn get(ctx: &Ctx, branch: &str, id: &str) -> ApiResult<Option<(Invoice, u64)>> {
    Ok(match ctx.store().get(&keys::einvoices(branch), id).await? {
        Some(i) => Some((i.parse()?, i.version)),
        None => None,
    })
}

/// The invoice holding an order.
pub async fn of_order(ctx: &Ctx, branch: &str, order_no: &str) -> ApiResult<Option<(Invoice, u64)>> {
    let Some(mark) = ctx.store().get(&keys::invoiced_orders(branch), order_no).await? else { return Ok(None) };
    let id = mark.body["einvoiceID"].as_str().unwrap_or_default().to_string();
    get(ctx, branch, &id).await
}

fn new_id(now: NaiveDateTime) -> String {
    format!("EI{}{}", now.format("%Y%m%d%H%M%S"), &uuid::Uuid::new_v4().simple().to_string()[..6].to_uppercase())
}

/// Writes an invoice with its order marks; `None` when an order is already
/// on an invoice (the caller reads which).
async fn store_new(ctx: &Ctx, branch: &str, inv: &Invoice) -> ApiResult<bool> {
    let mut writes = vec![Write::put(Item::new(keys::einvoices(branch), inv.id.clone(), serde_json::to_value(inv).map_err(ApiError::system)?).with_version(1), Cond::MustNotExist)];
    for no in &inv.orders {
        writes.push(Write::put(Item::new(keys::invoiced_orders(branch), no.clone(), serde_json::json!({"einvoiceID": inv.id})), Cond::MustNotExist));
    }
    match ctx.store().transact(writes).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_conflict() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Refuses orders already invoiced: 510 when the very same invoice exists,
/// 520 when some order is on another.
async fn refuse_invoiced(ctx: &Ctx, branch: &str, nos: &[String]) -> ApiResult<()> {
    for no in nos {
        if let Some((inv, _)) = of_order(ctx, branch, no).await? {
            let mut a = inv.orders.clone();
            let mut b = nos.to_vec();
            a.sort();
            b.sort();
            return Err(if a == b {
                ApiError::new(INVOICE_EXISTS, format!("the electronic invoice {} for these orders already exists", inv.id))
            } else {
                ApiError::new(ORDER_INVOICED, format!("order {no} is already invoiced ({})", inv.id))
            });
        }
    }
    Ok(())
}

async fn open(ctx: Ctx, req: Req, input: OpenIn) -> ApiResult<OpenOut> {
    let b = req.branchno();
    let s = settings::get(&ctx, b).await?;
    let a = asked(&ctx, b, &s, &input.order_no, input.plates.as_deref(), input.amount.as_deref(), req.now).await?;
    let nos: Vec<String> = a.lines.iter().map(|l| l.order_no.clone()).collect();
    let platform = providers::invoices(&ctx).await?;
    refuse_invoiced(&ctx, b, &nos).await?;
    let inv = Invoice {
        id: new_id(req.now),
        orders: nos.clone(),
        plates: a.lines.iter().map(|l| l.plate.clone()).collect(),
        amounts: a.lines.iter().map(|l| l.amount).collect(),
        buyer: input.gfmc.to_string(),
        status: InvoiceStatus::Pending,
        code: String::new(),
        number: String::new(),
        url: String::new(),
        created: req.now,
    };
    if !store_new(&ctx, b, &inv).await? {
        refuse_invoiced(&ctx, b, &nos).await?;
        return Err(ApiError::new(ORDER_INVOICED, "an order was invoiced meanwhile"));
    }
    let text = |t: &Option<Text>| t.as_deref().map(str::to_string).filter(|s| !s.is_empty());
    let request = InvoiceRequest {
        branch: b.to_string(),
        einvoice_id: inv.id.clone(),
        buyer_name: inv.buyer.clone(),
        buyer_tax_id: text(&input.gfnsrsbh),
        buyer_address: text(&input.gfdzdh),
        buyer_bank: text(&input.gfyhmczh),
        email: text(&input.email),
        mobile: text(&input.mobile),
        lines: a.lines,
    };
    if let Err(e) = platform.issue(&request).await {
        // Nothing was issued: free the orders for another attempt.
        let mut undo = vec![Write::delete(keys::einvoices(b), inv.id.clone(), Cond::None)];
        undo.extend(nos.iter().map(|no| Write::delete(keys::invoiced_orders(b), no.clone(), Cond::None)));
        ctx.store().transact(undo).await?;
        return Err(ApiError::failed(format!("the invoice platform refused: {e}")));
    }
    Ok(OpenOut::of(&inv, req.now))
}

/// What the platform reports (6.86, or the stand-in directly).
#[derive(Clone, Debug)]
pub struct PlatformResult {
    pub einvoice_id: Option<String>,
    pub order_nos: Vec<String>,
    pub code: String,
    pub number: String,
    pub url: Option<String>,
}

/// Records an issued invoice: the pending one holding the orders, or a new
/// record for an invoice the platform issued on its own (the driver used
/// the 9.15 code). Answers the invoice id. Repeats change nothing.
pub async fn record_result(ctx: &Ctx, branch: &str, r: &PlatformResult) -> ApiResult<String> {
    onecard_core::retry::on_conflict("invoice result not recorded", || async {
        let found = match &r.einvoice_id {
            Some(id) => get(ctx, branch, id).await?,
            None => match r.order_nos.first() {
                Some(no) => of_order(ctx, branch, no).await?,
                None => None,
            },
        };
        match found {
            Some((mut inv, v)) => {
                if inv.status == InvoiceStatus::Issued && inv.code == r.code && inv.number == r.number {
                    return Ok(onecard_core::retry::Step::Done(inv.id));
                }
                inv.status = InvoiceStatus::Issued;
                inv.code = r.code.clone();
                inv.number = r.number.clone();
                inv.url = r.url.clone().unwrap_or(inv.url);
                let item = Item::new(keys::einvoices(branch), inv.id.clone(), serde_json::to_value(&inv).map_err(ApiError::system)?).with_version(v + 1);
                onecard_core::retry::Step::of(ctx.store().put(item, Cond::VersionIs(v)).await, inv.id)
            }
            None => {
                let tz = onecard_core::config::get_branch(ctx.store(), branch).await?.map(|b| b.tz).unwrap_or_else(|| onecard_core::time::DEFAULT_TZ.to_string());
                let now = onecard_core::time::to_local(ctx.clock.now(), &tz);
                let mut plates = Vec::new();
                let mut amounts = Vec::new();
                for no in &r.order_nos {
                    let o = orders::get(ctx, branch, no, false).await?.map(|(o, _)| o).ok_or_else(|| ApiError::new(ORDER_MISSING, format!("payment order {no} does not exist")))?;
                    plates.push(o.plate);
                    amounts.push(o.amount);
                }
                let inv = Invoice {
                    id: new_id(now),
                    orders: r.order_nos.clone(),
                    plates,
                    amounts,
                    buyer: String::new(),
                    status: InvoiceStatus::Issued,
                    code: r.code.clone(),
                    number: r.number.clone(),
                    url: r.url.clone().unwrap_or_default(),
                    created: now,
                };
                if store_new(ctx, branch, &inv).await? {
                    Ok(onecard_core::retry::Step::Done(inv.id))
                } else {
                    // An order joined an invoice meanwhile: read again.
                    Ok(onecard_core::retry::Step::Conflict)
                }
            }
        }
    })
    .await
}

/// 6.86 input: the table's `einvoiceCode`/`einvoiceNumber` and the
/// examples' `invoiceCode`/`invoiceNumber`, either accepted.
#[derive(Deserialize, JsonSchema)]
pub struct NoticeIn {
    pub gfmc: Text,
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
    #[serde(rename = "einvoiceCode")]
    pub einvoice_code: Option<Text>,
    #[serde(rename = "invoiceCode")]
    pub invoice_code: Option<Text>,
    #[serde(rename = "einvoiceNumber")]
    pub einvoice_number: Option<Text>,
    #[serde(rename = "invoiceNumber")]
    pub invoice_number: Option<Text>,
    pub url: Option<Text>,
    #[serde(rename = "licensePlate")]
    pub plates: Option<Text>,
    pub amount: Option<Text>,
    #[serde(rename = "platformType")]
    pub platform_type: Option<kit::Int>,
    #[serde(rename = "taxType")]
    pub tax_type: Option<kit::Int>,
    #[serde(rename = "taxDiskType")]
    pub tax_disk_type: Option<kit::Int>,
}

#[derive(Serialize, JsonSchema)]
pub struct NoticeOut {
    #[serde(rename = "einvoiceID")]
    pub id: String,
}

fn either(a: &Option<Text>, b: &Option<Text>, field: &str) -> ApiResult<String> {
    match (a.as_deref().filter(|s| !s.is_empty()), b.as_deref().filter(|s| !s.is_empty())) {
        (Some(x), Some(y)) if x != y => Err(ApiError::field(field, format!("given twice with different values ('{x}', '{y}')"))),
        (Some(x), _) | (None, Some(x)) => Ok(x.to_string()),
        (None, None) => Err(ApiError::field(field, "is required")),
    }
}

async fn notice(ctx: Ctx, req: Req, input: NoticeIn) -> ApiResult<NoticeOut> {
    let code = either(&input.einvoice_code, &input.invoice_code, "einvoiceCode")?;
    let number = either(&input.einvoice_number, &input.invoice_number, "einvoiceNumber")?;
    let nos = split(&input.order_no);
    if nos.is_empty() || nos.len() > 5 {
        return Err(ApiError::field("orderNo", "names 1 to 5 orders"));
    }
    if let Some(p) = input.platform_type.map(kit::Int::get).filter(|p| !(0..=4).contains(p)) {
        return Err(ApiError::field("platformType", format!("{p} is not 0-4")));
    }
    for (v, f) in [(input.tax_type, "taxType"), (input.tax_disk_type, "taxDiskType")] {
        if let Some(x) = v.map(kit::Int::get).filter(|x| !(0..=1).contains(x)) {
            return Err(ApiError::field(f, format!("{x} is not 0 or 1")));
        }
    }
    for no in &nos {
        if orders::get(&ctx, req.branchno(), no, false).await?.is_none() {
            return Err(ApiError::new(ORDER_MISSING, format!("payment order {no} does not exist")));
        }
    }
    // Orders on different invoices cannot be one result.
    let mut held = None;
    for no in &nos {
        if let Some((inv, _)) = of_order(&ctx, req.branchno(), no).await? {
            match &held {
                None => held = Some(inv.id),
                Some(id) if *id != inv.id => return Err(ApiError::new(ORDER_INVOICED, format!("order {no} is on invoice {}, not {id}", inv.id))),
                _ => {}
            }
        }
    }
    let url = input.url.as_deref().map(str::to_string).filter(|s| !s.is_empty());
    let id = record_result(&ctx, req.branchno(), &PlatformResult { einvoice_id: held, order_nos: nos, code, number, url }).await?;
    Ok(NoticeOut { id })
}

/// 6.62 input.
#[derive(Deserialize, JsonSchema)]
pub struct ResultIn {
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
}

#[derive(Serialize, JsonSchema)]
pub struct ResultOut {
    #[serde(rename = "orderNo")]
    pub order_no: String,
    /// 0 awaiting, 1 issued, 2 timed out, 3 reversed, 4 no such order, 5 not paid.
    pub status: String,
}

async fn result(ctx: Ctx, req: Req, input: ResultIn) -> ApiResult<ResultOut> {
    let no = input.order_no.trim().to_string();
    let b = req.branchno();
    let status = match orders::get(&ctx, b, &no, false).await? {
        None => 4,
        Some((o, _)) if o.status != OrderStatus::Paid => 5,
        Some(_) => match of_order(&ctx, b, &no).await? {
            Some((inv, _)) => inv.status_at(req.now) as i64,
            None => InvoiceStatus::Pending as i64,
        },
    };
    Ok(ResultOut { order_no: no, status: status.to_string() })
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("cat.einvoice.open.qrcode", qrcode),
        kit::write("cat.einvoice.open", open),
        kit::read("park.einvoice.open.result", result),
        kit::write("park.einvoice.open.notice", notice),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_lists_take_both_commas() {
        assert_eq!(split("A1, A2，A3,,"), vec!["A1", "A2", "A3"]);
    }

    #[test]
    fn a_pending_invoice_times_out() {
        let t = onecard_core::time::parse("2026-01-01 10:00:00").unwrap();
        let inv = Invoice {
            id: "x".into(),
            orders: vec![],
            plates: vec![],
            amounts: vec![],
            buyer: String::new(),
            status: InvoiceStatus::Pending,
            code: String::new(),
            number: String::new(),
            url: String::new(),
            created: t,
        };
        assert_eq!(inv.status_at(t + Duration::minutes(5)), InvoiceStatus::Pending);
        assert_eq!(inv.status_at(t + Duration::minutes(31)), InvoiceStatus::TimedOut);
    }
}
