//! What a branch sets for payments beyond cash, and which outside systems
//! the deployment uses. Both are written by `onecard payments ...` (the API
//! reads them and never writes them).

use crate::keys;
use onecard_core::store::{Cond, Item};
use onecard_core::{ApiError, ApiResult, Ctx, Fen};
use serde::{Deserialize, Serialize};

/// The seed's own resolver address; a deployment points codes at its own.
pub const DEFAULT_QR_BASE: &str = "http://app.carsafe.cn/BarCode/BarcodeScanResult.aspx";
/// 10.6's default final page (the seed's example).
pub const DEFAULT_PAY_BACK: &str = "http://app.carsafe.cn/Park/PayBack.aspx";

/// A branch's payment settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaySettings {
    /// Where every QR code of 15.2 points (`?a=..&t=..&k=..` is appended).
    pub qr_base: String,
    /// 9.5 "统一收款码地址": a third-party collection page; the plate is
    /// appended as `carno`.
    pub collection_url: Option<String>,
    /// 9.9 "停车缴费地址": a third-party payment page; `carno` appended.
    pub park_pay_url: Option<String>,
    /// 9.15 option 2: a third-party invoicing page; `no`, `carno`, `amount`
    /// appended. Without it the cloud's own resolver serves the code.
    pub invoice_url: Option<String>,
    /// Decision 20: refuse a scan at 6.24/6.42 that carries no `rnd`.
    pub dynamic_qr_required: bool,
    /// 6.37 `MaxOrderQtyInEveryEInvoice` (1-100, default 5).
    pub max_orders_per_invoice: i64,
    /// 6.37 `MaxEInvoiceOpenAmount` in whole yuan (0: no cap).
    pub max_invoice_yuan: i64,
    /// 6.37 `InvoiceOnlyForCurrentMonth`.
    pub invoice_current_month_only: bool,
    /// 6.37 `EinvoiceExpirationData` in days after payment (0: never).
    pub invoice_expiry_days: i64,
    /// 10.6: the page the browser is sent to after paying.
    pub pay_back_url: String,
    /// This deployment's public address, for the default return and notify
    /// URLs 10.5 gives the provider (`{base}/alipay.wappay.aspx/callback`).
    pub public_base: String,
}

impl Default for PaySettings {
    fn default() -> Self {
        PaySettings {
            qr_base: DEFAULT_QR_BASE.into(),
            collection_url: None,
            park_pay_url: None,
            invoice_url: None,
            dynamic_qr_required: false,
            max_orders_per_invoice: 5,
            max_invoice_yuan: 0,
            invoice_current_month_only: false,
            invoice_expiry_days: 0,
            pay_back_url: DEFAULT_PAY_BACK.into(),
            public_base: "http://127.0.0.1:8080".into(),
        }
    }
}

impl PaySettings {
    pub fn max_invoice_amount(&self) -> Option<Fen> {
        (self.max_invoice_yuan > 0).then(|| Fen(self.max_invoice_yuan * 100))
    }

    /// Refuses values 6.37 does not allow.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.max_orders_per_invoice) {
            return Err(format!("max orders per invoice {} is not 1-100", self.max_orders_per_invoice));
        }
        if !(0..=50_000).contains(&self.max_invoice_yuan) {
            return Err(format!("max invoice amount {} is not 0-50000 yuan", self.max_invoice_yuan));
        }
        if self.invoice_expiry_days < 0 {
            return Err("invoice expiry days must not be negative".into());
        }
        for (name, url) in [("qr base", Some(&self.qr_base)), ("pay back", Some(&self.pay_back_url)), ("public base", Some(&self.public_base))] {
            if let Some(u) = url {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(format!("{name} URL '{u}' is not http(s)"));
                }
            }
        }
        Ok(())
    }
}

pub async fn get(ctx: &Ctx, branch: &str) -> ApiResult<PaySettings> {
    Ok(match ctx.store().get(&keys::pay_settings(branch), "settings").await? {
        Some(item) => item.parse()?,
        None => PaySettings::default(),
    })
}

pub async fn put(store: &dyn onecard_core::store::ItemStore, branch: &str, s: &PaySettings) -> ApiResult<()> {
    s.validate().map_err(ApiError::bad_input)?;
    let body = serde_json::to_value(s).map_err(ApiError::system)?;
    store.put(Item::new(keys::pay_settings(branch), "settings", body), Cond::None).await?;
    Ok(())
}

pub async fn get_from(store: &dyn onecard_core::store::ItemStore, branch: &str) -> ApiResult<PaySettings> {
    Ok(match store.get(&keys::pay_settings(branch), "settings").await? {
        Some(item) => item.parse()?,
        None => PaySettings::default(),
    })
}

/// Which outside systems answer (decision 21). Without a record nothing
/// does, and the routes that need one answer 501.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Providers {
    /// The local stand-ins (demo data dir and tests).
    pub standins: bool,
    /// The stand-ins' signing key (what a real provider's merchant key is).
    pub key: String,
    /// Operations the stand-ins are told to fail (`micropay`, `withhold`,
    /// `wap`, `refund`, `invoice`, `redpacket`), so that tests reach failure
    /// paths.
    pub fail: Vec<String>,
}

impl Providers {
    pub fn fails(&self, op: &str) -> bool {
        self.fail.iter().any(|f| f == op)
    }
}

/// A fresh signing key for the stand-ins.
pub fn new_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `withhold-lost`: the charge is made but its answer is lost; `query`:
/// queries go unanswered (together they leave a paid trade unknown);
/// `refund`: refunds go unanswered (a refund owed stays owed).
pub const FAILABLE: &[&str] = &["micropay", "withhold", "withhold-lost", "query", "wap", "refund", "invoice", "redpacket"];

pub async fn providers(store: &dyn onecard_core::store::ItemStore) -> ApiResult<Providers> {
    Ok(match store.get(&keys::pay_providers(), "providers").await? {
        Some(item) => item.parse()?,
        None => Providers::default(),
    })
}

pub async fn put_providers(store: &dyn onecard_core::store::ItemStore, p: &Providers) -> ApiResult<()> {
    if let Some(bad) = p.fail.iter().find(|f| !FAILABLE.contains(&f.as_str())) {
        return Err(ApiError::bad_input(format!("'{bad}' is not one of {}", FAILABLE.join(", "))));
    }
    let body = serde_json::to_value(p).map_err(ApiError::system)?;
    store.put(Item::new(keys::pay_providers(), "providers", body), Cond::None).await?;
    Ok(())
}

/// Turns the stand-ins on with a fresh key unless a record exists: the demo
/// data dir (decision 21). Idempotent.
pub async fn seed_demo(store: &dyn onecard_core::store::ItemStore) -> ApiResult<()> {
    let p = Providers { standins: true, key: new_key(), fail: Vec::new() };
    let body = serde_json::to_value(&p).map_err(ApiError::system)?;
    match store.put(Item::new(keys::pay_providers(), "providers", body), Cond::MustNotExist).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_conflict() => Ok(()),
        Err(e) => Err(e.into()),
    }
}
