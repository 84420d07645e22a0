//! QR codes (9.5, 9.7-9.11) and the one resolver for every type of 15.2
//! (plus 13 self-service find-car, 14 merchant fixed code and 17 red
//! envelope, which the seed's examples use beyond its table).
//!
//! A code is `{qr_base}?a={branch}&t={type}&k={key}[&...]`: `a` is the seed's
//! "Carsafe partition", which here names the car park, so one resolver
//! serves every branch. Dynamic entry/exit codes carry `rnd`, rotated each
//! time the device asks for a code; the device's current and previous `rnd`
//! are valid (decision 20: a driver who scanned just before the rotation
//! still gets in).

use super::collect;
use super::settings::{self, PaySettings};
use crate::keys;
use crate::park::orders;
use onecard_core::config::{Branch, Lane};
use onecard_core::kit::{self, Flag, Int, Plate, RouteDef, Text};
use onecard_core::store::{Cond, Item};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// 15.2 types, and the three the seed's examples add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QrType {
    Park = 1,
    MemberCard = 2,
    User = 3,
    Booking = 4,
    Entry = 5,
    Space = 6,
    ParkPay = 7,
    Exit = 8,
    Door = 9,
    FindCar = 10,
    NavMap = 11,
    Collection = 12,
    SelfFindCar = 13,
    MerchantFixed = 14,
    RedEnvelope = 17,
}

impl QrType {
    pub const ALL: &'static [QrType] = &[
        QrType::Park,
        QrType::MemberCard,
        QrType::User,
        QrType::Booking,
        QrType::Entry,
        QrType::Space,
        QrType::ParkPay,
        QrType::Exit,
        QrType::Door,
        QrType::FindCar,
        QrType::NavMap,
        QrType::Collection,
        QrType::SelfFindCar,
        QrType::MerchantFixed,
        QrType::RedEnvelope,
    ];

    pub fn from_code(t: i64) -> Option<QrType> {
        QrType::ALL.iter().copied().find(|q| *q as i64 == t)
    }

    /// The seed's name (15.2).
    pub fn name(self) -> &'static str {
        match self {
            QrType::Park => "车场二维码",
            QrType::MemberCard => "会员卡二维码",
            QrType::User => "用户二维码",
            QrType::Booking => "预约二维码",
            QrType::Entry => "入场二维码",
            QrType::Space => "车位二维码",
            QrType::ParkPay => "停车缴费二维码",
            QrType::Exit => "出场二维码",
            QrType::Door => "门禁二维码",
            QrType::FindCar => "寻车二维码",
            QrType::NavMap => "导航地图二维码",
            QrType::Collection => "统一收款码",
            QrType::SelfFindCar => "自助寻车二维码",
            QrType::MerchantFixed => "商家固定二维码",
            QrType::RedEnvelope => "红包二维码",
        }
    }
}

/// Percent-encodes a query value (UTF-8), so plates with Chinese survive.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

use onecard_core::dispatch::percent_decode as dec;

/// Appends query parameters to a base that may already carry some.
pub fn with_params(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = base.to_string();
    for (k, v) in params {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(k);
        url.push('=');
        url.push_str(&enc(v));
    }
    url
}

/// A code of this deployment.
pub fn code_url(s: &PaySettings, branch: &str, t: QrType, rest: &[(&str, &str)]) -> String {
    let t = (t as i64).to_string();
    let mut params = vec![("a", branch), ("t", t.as_str())];
    params.extend_from_slice(rest);
    with_params(&s.qr_base, &params)
}

/// A scanned code's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Scanned {
    pub branch: String,
    pub t: QrType,
    pub params: Vec<(String, String)>,
}

impl Scanned {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

/// Reads a code: its query (after `?`, or the whole text when it has none).
pub fn parse(url: &str) -> Result<Scanned, String> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or(url);
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (dec(k), dec(v))
        })
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    let branch = get("a").ok_or("the code names no car park (a=)")?;
    let t: i64 = get("t").ok_or("the code has no type (t=)")?.parse().map_err(|_| "the type (t=) is not a number".to_string())?;
    let t = QrType::from_code(t).ok_or_else(|| format!("type {t} is not a QR type of 15.2"))?;
    Ok(Scanned { branch, t, params })
}

// ---- rnd (decision 20) ----

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Rnd {
    current: String,
    previous: Option<String>,
}

/// A new `rnd` for a device; the one it replaces stays valid until the next.
pub async fn rotate_rnd(ctx: &Ctx, branch: &str, device: &str) -> ApiResult<String> {
    let pk = keys::qr_rnd(branch);
    onecard_core::retry::on_conflict("rnd not rotated", || async {
        let old = ctx.store().get(&pk, device).await?;
        let (prev, cond) = match &old {
            Some(item) => (Some(item.parse::<Rnd>()?.current), Cond::VersionIs(item.version)),
            None => (None, Cond::MustNotExist),
        };
        let fresh = format!("{:07}", rand::thread_rng().gen_range(1_000_000..10_000_000u32));
        let rec = Rnd { current: fresh.clone(), previous: prev };
        let body = serde_json::to_value(&rec).map_err(ApiError::system)?;
        let next = old.map(|i| i.version + 1).unwrap_or(1);
        onecard_core::retry::Step::of(ctx.store().put(Item::new(pk.clone(), device, body).with_version(next), cond).await, fresh)
    })
    .await
}

/// Decision 20: `Some(reason)` when a scan must be refused. A scan without
/// `rnd` is served as older clients send it unless the branch requires one.
pub async fn check_rnd(ctx: &Ctx, branch: &str, device: &str, rnd: Option<&str>) -> ApiResult<Option<String>> {
    let rnd = rnd.map(str::trim).filter(|r| !r.is_empty());
    let Some(rnd) = rnd else {
        return Ok(settings::get(ctx, branch).await?.dynamic_qr_required.then(|| "请扫描车道上的动态二维码".to_string()));
    };
    let valid = match ctx.store().get(&keys::qr_rnd(branch), device).await? {
        Some(item) => {
            let r: Rnd = item.parse()?;
            r.current == rnd || r.previous.as_deref() == Some(rnd)
        }
        None => false,
    };
    Ok((!valid).then(|| "二维码已过期，请重新扫码".to_string()))
}

// ---- routes ----

/// 9.5 input.
#[derive(Deserialize, JsonSchema)]
pub struct CollectionIn {
    #[serde(rename = "calcId")]
    pub calc_id: Option<Text>,
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Option<Text>,
    /// Accepted for the seed's callers; the workstation is recorded by the
    /// payment that follows (6.2 `wsNo`).
    #[serde(rename = "wsNo")]
    pub ws_no: Option<Text>,
    /// -1 central, -2 kiosk, -3 Alipay side (default), -4 WeChat side.
    #[serde(rename = "sourceFlag")]
    pub source_flag: Option<Int>,
}

/// 9.5 output.
#[derive(Serialize, JsonSchema)]
pub struct CollectionOut {
    #[serde(rename = "orderNo")]
    pub order_no: String,
    #[serde(rename = "calcId", skip_serializing_if = "Option::is_none")]
    pub calc_id: Option<String>,
    pub qrcode: String,
    /// "1": the site polls 6.26 until the order is paid; the cloud books the
    /// payment itself, so it only needs to know the outcome.
    #[serde(rename = "needLoopCharge")]
    pub need_loop_charge: String,
}

async fn collection(ctx: Ctx, req: Req, input: CollectionIn) -> ApiResult<CollectionOut> {
    if let Some(f) = input.source_flag.map(Int::get) {
        if !(-4..=-1).contains(&f) {
            return Err(ApiError::field("sourceFlag", format!("{f} is not -1, -2, -3 or -4")));
        }
    }
    let order = collect::order_to_collect(&ctx, &req.branch, input.order_no.as_deref(), input.calc_id.as_deref(), req.now).await?;
    let s = settings::get(&ctx, req.branchno()).await?;
    let qrcode = match &s.collection_url {
        Some(u) => with_params(u, &[("carno", &order.plate)]),
        None => code_url(&s, req.branchno(), QrType::Collection, &[("k", &order.order_no)]),
    };
    let (order_no, calc_id) = match (order.zero, input.calc_id.is_some()) {
        (true, _) => (String::new(), Some(order.order_no.clone())),
        (false, true) => (order.order_no.clone(), None),
        (false, false) => (order.order_no.clone(), None),
    };
    Ok(CollectionOut { order_no, calc_id, qrcode, need_loop_charge: "1".into() })
}

/// 9.7 / 9.8 / 9.10 input.
#[derive(Deserialize, JsonSchema)]
pub struct DeviceIn {
    #[serde(rename = "deviceId", alias = "deviceID", alias = "deviceid")]
    pub device_id: Text,
}

#[derive(Serialize, JsonSchema)]
pub struct QrOut {
    pub qrcode: String,
}

async fn dynamic(ctx: &Ctx, branch: &Branch, device: &str, want: Lane, t: QrType) -> ApiResult<QrOut> {
    let c = branch.controller(device).ok_or_else(|| ApiError::field("deviceId", format!("{device} is not a controller of this car park")))?;
    if c.lane != want {
        let what = if want == Lane::In { "an entry" } else { "an exit" };
        return Err(ApiError::field("deviceId", format!("{device} is not {what} controller")));
    }
    let rnd = rotate_rnd(ctx, &branch.branchno, &c.device_id).await?;
    let s = settings::get(ctx, &branch.branchno).await?;
    Ok(QrOut { qrcode: code_url(&s, &branch.branchno, t, &[("k", &c.device_id), ("rnd", &rnd)]) })
}

async fn dynamic_in(ctx: Ctx, req: Req, input: DeviceIn) -> ApiResult<QrOut> {
    dynamic(&ctx, &req.branch, input.device_id.trim(), Lane::In, QrType::Entry).await
}

async fn dynamic_out(ctx: Ctx, req: Req, input: DeviceIn) -> ApiResult<QrOut> {
    dynamic(&ctx, &req.branch, input.device_id.trim(), Lane::Out, QrType::Exit).await
}

/// 9.9 input.
#[derive(Deserialize, JsonSchema)]
pub struct ParkPayIn {
    #[serde(rename = "noticeAfterScan")]
    pub notice: Option<Flag>,
    #[serde(rename = "noticeDeviceID", alias = "noticeDeviceId")]
    pub notice_device: Option<Text>,
    #[serde(rename = "licensePlate")]
    pub plate: Option<Plate>,
}

async fn park_pay(ctx: Ctx, req: Req, input: ParkPayIn) -> ApiResult<QrOut> {
    let s = settings::get(&ctx, req.branchno()).await?;
    let notice = input.notice.is_some_and(Flag::get);
    let device = input.notice_device.as_deref().map(str::trim).filter(|d| !d.is_empty());
    if notice && device.is_none() {
        return Err(ApiError::field("noticeDeviceID", "is required when noticeAfterScan is 1"));
    }
    let plate = input.plate.as_ref().map(|p| p.norm().to_string());
    if let Some(u) = &s.park_pay_url {
        let params: Vec<(&str, &str)> = plate.as_deref().map(|p| vec![("carno", p)]).unwrap_or_default();
        return Ok(QrOut { qrcode: with_params(u, &params) });
    }
    let mut params = vec![("k", "1")];
    if notice {
        params.push(("nt", "1"));
        params.push(("nid", device.unwrap_or_default()));
    }
    if let Some(p) = &plate {
        params.push(("lp", p));
    }
    Ok(QrOut { qrcode: code_url(&s, req.branchno(), QrType::ParkPay, &params) })
}

async fn self_find_car(ctx: Ctx, req: Req, input: DeviceIn) -> ApiResult<QrOut> {
    let s = settings::get(&ctx, req.branchno()).await?;
    Ok(QrOut { qrcode: code_url(&s, req.branchno(), QrType::SelfFindCar, &[("k", input.device_id.trim())]) })
}

/// 9.11 input.
#[derive(Deserialize, JsonSchema)]
pub struct MerchantIn {
    #[serde(rename = "businessID", alias = "businessId")]
    pub business: Text,
    #[serde(rename = "tollDevID", alias = "tollDevId")]
    pub toll_dev: Option<Text>,
    #[serde(rename = "discountID", alias = "discountId")]
    pub discount: Text,
}

async fn merchant_fixed(ctx: Ctx, req: Req, input: MerchantIn) -> ApiResult<QrOut> {
    let s = settings::get(&ctx, req.branchno()).await?;
    let p = input.toll_dev.as_deref().map(str::trim).filter(|p| !p.is_empty()).unwrap_or("0");
    Ok(QrOut { qrcode: code_url(&s, req.branchno(), QrType::MerchantFixed, &[("b", input.business.trim()), ("p", p), ("d", input.discount.trim())]) })
}

// ---- the resolver ----

/// What a scanned code names, as the resolver page answers it (JSON).
pub async fn resolve(ctx: &Ctx, url: &str) -> ApiResult<Value> {
    let s = parse(url).map_err(ApiError::bad_input)?;
    let branch = onecard_core::config::get_branch(ctx.store(), &s.branch)
        .await?
        .ok_or_else(|| ApiError::bad_input(format!("car park {} is not known here", s.branch)))?;
    let now = onecard_core::time::to_local(ctx.clock.now(), &branch.tz);
    let b = branch.branchno.as_str();
    let k = s.get("k").map(str::to_string);
    let mut out = json!({"type": s.t as i64, "name": s.t.name(), "branchno": b, "parkName": branch.name});
    let need_k = || k.clone().ok_or_else(|| ApiError::bad_input(format!("a {} carries its key (k=)", s.t.name())));
    match s.t {
        QrType::Collection => {
            let no = need_k()?;
            let (order, _) = orders::get(ctx, b, &no, false).await?.ok_or_else(|| ApiError::bad_input(format!("order {no} does not exist")))?;
            out["orderNo"] = json!(order.order_no);
            out["carno"] = json!(order.plate);
            out["parkcost"] = json!(order.parkcost.yuan());
            out["status"] = json!(order.status_at(now) as i64);
            out["payable"] = json!(order.status_at(now) == onecard_core::kit::OrderStatus::Unpaid);
        }
        QrType::Entry | QrType::Exit => {
            let device = need_k()?;
            let c = branch.controller(&device).ok_or_else(|| ApiError::bad_input(format!("{device} is not a controller of {b}")))?;
            out["deviceId"] = json!(c.device_id);
            out["controllerName"] = json!(c.name);
            let stale = check_rnd(ctx, b, &c.device_id, s.get("rnd")).await?;
            out["fresh"] = json!(stale.is_none());
            out["rnd"] = json!(s.get("rnd"));
            // The page then calls 6.24 / 6.42 with the driver's plate and this rnd.
            out["next"] = json!(if s.t == QrType::Entry { "park.in.notice" } else { "park.out.notice" });
        }
        QrType::ParkPay => {
            out["licensePlate"] = json!(s.get("lp"));
            out["noticeAfterScan"] = json!(s.get("nt") == Some("1"));
            out["noticeDeviceID"] = json!(s.get("nid"));
            if let (Some("1"), Some(device)) = (s.get("nt"), s.get("nid").filter(|d| !d.trim().is_empty())) {
                out["noticeSent"] = json!(super::scan_notice::send(ctx, &branch, device, s.get("lp")).await);
            }
            out["next"] = json!("calc");
        }
        QrType::MerchantFixed => {
            out["businessID"] = json!(s.get("b"));
            out["tollDevID"] = json!(s.get("p").unwrap_or("0"));
            out["discountID"] = json!(s.get("d"));
        }
        QrType::RedEnvelope => {
            let no = need_k()?;
            let env = super::redenvelope::open(ctx, &branch, &no, s.get("rnd"), s.get("openid").or(s.get("openId"))).await?;
            out["orderNo"] = json!(no);
            out["status"] = json!(env);
        }
        _ => {
            out["key"] = json!(k);
        }
    }
    Ok(out)
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("cat.unifiedReceivablesQrcode.get", collection),
        kit::write("cat.dynamicInQrcode.get", dynamic_in),
        kit::write("cat.dynamicOutQrcode.get", dynamic_out),
        kit::read("cat.parkPayQrcode.get", park_pay),
        kit::read("cat.selfFindCarQrcode.get", self_find_car),
        kit::read("cat.business.fixedQrcode.get", merchant_fixed),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_the_resolver_syntax() {
        let s = PaySettings::default();
        for t in QrType::ALL {
            let url = code_url(&s, "1001", *t, &[("k", "粤B12345"), ("rnd", "1234567")]);
            let p = parse(&url).unwrap();
            assert_eq!((p.branch.as_str(), p.t, p.get("k"), p.get("rnd")), ("1001", *t, Some("粤B12345"), Some("1234567")));
        }
        assert!(parse("http://x/y?a=1001&t=99&k=1").unwrap_err().contains("99"));
        assert!(parse("http://x/y?t=12&k=1").is_err());
        assert_eq!(with_params("http://go.jinying.com/p?comno=0138", &[("carno", "苏A1")]), "http://go.jinying.com/p?comno=0138&carno=%E8%8B%8FA1");
    }
}
