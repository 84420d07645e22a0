//! The stand-in payment provider.

use crate::keys;
use crate::payments::settings::Providers;
use async_trait::async_trait;
use onecard_core::providers::pay::{Channel, Charge, PaymentProvider, TradeState};
use onecard_core::providers::{signing, ProviderError};
use onecard_core::store::{Cond, Item};
use onecard_core::store::ItemStore;
use onecard_core::time::Clock;
use onecard_core::Fen;
use std::sync::Arc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The stand-in's address on the provider side (what the pay page submits to).
pub const GATEWAY: &str = "https://openapi.alipay.com/gateway.do";

/// A trade in the stand-in's books.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Trade {
    pub out_trade_no: String,
    pub amount: Fen,
    pub channel: String,
    /// `paid`, `paying`, `failed`, `refunded`, `open` (a WAP page not paid yet).
    pub state: String,
    pub trade_no: String,
    pub paid_at: Option<String>,
    pub reason: Option<String>,
    /// Queries left before a `paying` trade is paid.
    pub polls_left: i64,
    /// What was given back, once `refunded`: a repeated request for the
    /// same amount is answered as the first, another amount is refused.
    #[serde(default)]
    pub refunded: Option<Fen>,
    /// Refund requests answered for this trade, repeats included (what
    /// Alipay's refund query lists), so a test sees how often it was asked.
    #[serde(default)]
    pub refund_asks: u32,
}

pub struct StandinPay {
    store: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
    cfg: Providers,
    tz: String,
}

fn pk() -> String {
    keys::standin_books("pay")
}

impl StandinPay {
    /// The store and clock alone (not a `Ctx`), so that the admin command
    /// that plays the payer can drive it too.
    pub fn new(store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>, cfg: Providers, tz: &str) -> Self {
        StandinPay { store, clock, cfg, tz: tz.to_string() }
    }

    fn now(&self) -> String {
        onecard_core::time::format(onecard_core::time::to_local(self.clock.now(), &self.tz))
    }

    fn trade_no(&self, out: &str) -> String {
        // Like Alipay's 28-digit ids: date and a number, unique per trade.
        let day = onecard_core::time::to_local(self.clock.now(), &self.tz).format("%Y%m%d");
        let h: u64 = out.bytes().fold(1469598103934665603u64, |h, b| (h ^ b as u64).wrapping_mul(1099511628211));
        format!("{day}2200{:016}", h % 10_000_000_000_000_000)
    }

    async fn load(&self, out: &str) -> Result<Option<Trade>, ProviderError> {
        let item = self.store.get(&pk(), out).await.map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        item.map(|i| i.parse::<Trade>()).transpose().map_err(|e| ProviderError::Unreachable(e.to_string()))
    }

    async fn save(&self, t: &Trade) -> Result<(), ProviderError> {
        let body = serde_json::to_value(t).map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        self.store.put(Item::new(pk(), t.out_trade_no.clone(), body), Cond::None).await.map_err(|e| ProviderError::Unreachable(e.to_string()))
    }

    /// A trade with the version it was read at, for the writes that must not
    /// be made twice (a refund pays out once however many ask at once).
    async fn load_at(&self, out: &str) -> Result<Option<(Trade, u64)>, ProviderError> {
        let item = self.store.get(&pk(), out).await.map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        item.map(|i| i.parse::<Trade>().map(|t| (t, i.version))).transpose().map_err(|e| ProviderError::Unreachable(e.to_string()))
    }

    /// Writes `t` over the version it was read at; `false` when another
    /// writer got there first.
    async fn save_over(&self, t: &Trade, version: u64) -> Result<bool, ProviderError> {
        let body = serde_json::to_value(t).map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        match self.store.put(Item::new(pk(), t.out_trade_no.clone(), body).with_version(version + 1), Cond::VersionIs(version)).await {
            Ok(()) => Ok(true),
            Err(e) if e.is_conflict() => Ok(false),
            Err(e) => Err(ProviderError::Unreachable(e.to_string())),
        }
    }

    /// The stand-in's books of one trade, as a test or the admin reads them.
    pub async fn trade(&self, out: &str) -> Result<Option<Trade>, ProviderError> {
        self.load(out).await
    }

    fn state(t: &Trade) -> TradeState {
        match t.state.as_str() {
            "paid" => TradeState::Paid { trade_no: t.trade_no.clone(), paid_at: t.paid_at.clone().unwrap_or_default(), amount: t.amount },
            "paying" | "open" => TradeState::Paying,
            _ => TradeState::Failed { reason: t.reason.clone().unwrap_or_else(|| t.state.clone()) },
        }
    }

    fn new_trade(&self, c: &Charge, state: &str) -> Trade {
        Trade {
            out_trade_no: c.out_trade_no.clone(),
            amount: c.amount,
            channel: match c.channel {
                Channel::WeChat => "wechat".into(),
                Channel::Alipay => "alipay".into(),
            },
            state: state.into(),
            trade_no: self.trade_no(&c.out_trade_no),
            paid_at: (state == "paid").then(|| self.now()),
            reason: None,
            polls_left: 0,
            refunded: None,
            refund_asks: 0,
        }
    }

    /// A known trade asked again: the same trade (never a second charge), or
    /// the provider's refusal of a different amount under the same number.
    fn repeat(t: &Trade, c: &Charge) -> Result<TradeState, ProviderError> {
        if t.amount != c.amount {
            return Err(ProviderError::Refused(format!("out_trade_no {} was {} and is now asked for {}", c.out_trade_no, t.amount, c.amount)));
        }
        Ok(Self::state(t))
    }

    /// What Alipay posts to the notify URL once the WAP trade is paid: the
    /// stand-in's cashier marks the trade paid and answers the signed form.
    pub async fn pay_wap(&self, out: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let mut t = self.load(out).await?.ok_or_else(|| ProviderError::Refused(format!("no trade {out}")))?;
        if t.state == "open" {
            t.state = "paid".into();
            t.paid_at = Some(self.now());
            self.save(&t).await?;
        }
        let mut f: BTreeMap<String, String> = BTreeMap::new();
        f.insert("notify_type".into(), "trade_status_sync".into());
        f.insert("notify_time".into(), self.now());
        f.insert("out_trade_no".into(), t.out_trade_no.clone());
        f.insert("trade_no".into(), t.trade_no.clone());
        f.insert("total_amount".into(), t.amount.yuan());
        f.insert("trade_status".into(), if t.state == "paid" { "TRADE_SUCCESS" } else { "TRADE_CLOSED" }.into());
        f.insert("gmt_payment".into(), t.paid_at.clone().unwrap_or_default());
        let sign = signing::sign(&self.cfg.key, &f);
        f.insert("sign".into(), sign);
        f.insert("sign_type".into(), "HMAC-SHA256".into());
        Ok(f)
    }
}

/// The payer's code tells the stand-in how to behave (see the module doc).
fn code_behaviour(code: &str) -> &'static str {
    match &code[code.len().saturating_sub(4)..] {
        "9991" => "declined",
        "9992" => "confirming",
        "9993" => "lost",
        _ => "paid",
    }
}

#[async_trait]
impl PaymentProvider for StandinPay {
    fn name(&self) -> &str {
        "standin"
    }

    async fn micropay(&self, c: &Charge, auth_code: &str) -> Result<TradeState, ProviderError> {
        if let Some(t) = self.load(&c.out_trade_no).await? {
            return Self::repeat(&t, c);
        }
        if c.amount <= Fen::ZERO {
            return Err(ProviderError::Refused("total_fee must be above 0".into()));
        }
        let mut t = self.new_trade(c, "paid");
        let behaviour = if self.cfg.fails("micropay") { "declined" } else { code_behaviour(auth_code) };
        match behaviour {
            "declined" => {
                t.state = "failed".into();
                t.paid_at = None;
                t.reason = Some("NOTENOUGH: 余额不足".into());
            }
            "confirming" => {
                t.state = "paying".into();
                t.paid_at = None;
                t.polls_left = 4;
            }
            _ => {}
        }
        self.save(&t).await?;
        if behaviour == "lost" {
            return Err(ProviderError::Unreachable("the answer timed out".into()));
        }
        Ok(Self::state(&t))
    }

    async fn withhold(&self, c: &Charge, contract: &str) -> Result<TradeState, ProviderError> {
        if let Some(t) = self.load(&c.out_trade_no).await? {
            return Self::repeat(&t, c);
        }
        if contract.trim().is_empty() {
            return Err(ProviderError::Refused("no contract".into()));
        }
        let mut t = self.new_trade(c, "paid");
        if self.cfg.fails("withhold") {
            t.state = "failed".into();
            t.paid_at = None;
            t.reason = Some("CONTRACT_ERROR: 扣款失败".into());
        }
        self.save(&t).await?;
        if self.cfg.fails("withhold-lost") {
            // Charged, but the answer never arrives.
            return Err(ProviderError::Unreachable("the answer timed out".into()));
        }
        Ok(Self::state(&t))
    }

    async fn query(&self, out: &str) -> Result<TradeState, ProviderError> {
        if self.cfg.fails("query") {
            return Err(ProviderError::Unreachable("the query timed out".into()));
        }
        let Some(mut t) = self.load(out).await? else { return Ok(TradeState::NotFound) };
        if t.state == "paying" {
            t.polls_left -= 1;
            if t.polls_left <= 0 {
                t.state = "paid".into();
                t.paid_at = Some(self.now());
            }
            self.save(&t).await?;
        }
        Ok(Self::state(&t))
    }

    async fn refund(&self, out: &str, amount: Fen) -> Result<(), ProviderError> {
        if self.cfg.fails("refund") {
            return Err(ProviderError::Unreachable("the refund was not answered".into()));
        }
        // Read, judge, write over the version read: two requests at once pay
        // out once, and the loser is answered as a repeat.
        for _ in 0..16 {
            let (mut t, v) = self.load_at(out).await?.ok_or_else(|| ProviderError::Refused(format!("no trade {out}")))?;
            t.refund_asks += 1;
            let answer = match (t.state.as_str(), t.refunded) {
                ("refunded", Some(given)) if given != amount => Err(ProviderError::Refused(format!("trade {out} was refunded {given}, not {amount}"))),
                ("refunded", _) => Ok(()),
                ("paid", _) if amount > Fen::ZERO && amount <= t.amount => {
                    t.state = "refunded".into();
                    t.refunded = Some(amount);
                    t.reason = Some("refunded".into());
                    Ok(())
                }
                _ => Err(ProviderError::Refused(format!("trade {out} is {} for {}: cannot refund {amount}", t.state, t.amount))),
            };
            if self.save_over(&t, v).await? {
                return answer;
            }
        }
        Err(ProviderError::Unreachable(format!("trade {out} is busy; ask again")))
    }

    async fn wap_page(&self, c: &Charge, return_url: &str, notify_url: &str) -> Result<String, ProviderError> {
        let f = self.wap_fields(c, return_url, notify_url).await?;
        let inputs: String = f.iter().map(|(k, v)| format!("<input type='hidden' name='{k}' value='{}' />", html_attr(v))).collect();
        Ok(format!(
            "<form id='alipaysubmit' name='alipaysubmit' action='{GATEWAY}?charset=utf-8' method='POST'>{inputs}<input type='submit' value='确认' style='display:none;' /></form><script>document.forms['alipaysubmit'].submit();</script>"
        ))
    }

    async fn wap_link(&self, c: &Charge, return_url: &str, notify_url: &str) -> Result<String, ProviderError> {
        let f = self.wap_fields(c, return_url, notify_url).await?;
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Ok(crate::payments::qr::with_params(GATEWAY, &pairs))
    }

    fn verify(&self, fields: &BTreeMap<String, String>) -> bool {
        signing::verify(&self.cfg.key, fields)
    }
}

impl StandinPay {
    /// The signed fields of a WAP payment, the trade opened at the first ask.
    async fn wap_fields(&self, c: &Charge, return_url: &str, notify_url: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        if self.cfg.fails("wap") {
            return Err(ProviderError::Unreachable("the gateway did not answer".into()));
        }
        match self.load(&c.out_trade_no).await? {
            Some(t) => {
                Self::repeat(&t, c)?;
            }
            None => self.save(&self.new_trade(c, "open")).await?,
        }
        let mut f: BTreeMap<String, String> = BTreeMap::new();
        f.insert("method".into(), "alipay.trade.wap.pay".into());
        f.insert("charset".into(), "utf-8".into());
        f.insert("timestamp".into(), self.now());
        f.insert("return_url".into(), return_url.into());
        f.insert("notify_url".into(), notify_url.into());
        f.insert(
            "biz_content".into(),
            serde_json::json!({"out_trade_no": c.out_trade_no, "total_amount": c.amount.yuan(), "subject": c.subject, "product_code": "QUICK_WAP_WAY"}).to_string(),
        );
        let sign = signing::sign(&self.cfg.key, &f);
        f.insert("sign".into(), sign);
        f.insert("sign_type".into(), "HMAC-SHA256".into());
        Ok(f)
    }
}

fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('\'', "&#39;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecard_core::memstore::MemStore;
    use onecard_core::time::FixedClock;

    fn standin(fail: &[&str]) -> StandinPay {
        let cfg = Providers { standins: true, key: "k".into(), fail: fail.iter().map(|s| s.to_string()).collect() };
        let clock = FixedClock::new(chrono::Utc::now());
        StandinPay::new(Arc::new(MemStore::new()), clock, cfg, onecard_core::time::DEFAULT_TZ)
    }

    fn charge(no: &str, fen: i64) -> Charge {
        Charge { out_trade_no: no.into(), amount: Fen(fen), subject: "停车费".into(), channel: Channel::WeChat }
    }

    #[tokio::test]
    async fn a_trade_asked_twice_is_one_trade_and_another_amount_is_refused() {
        let s = standin(&[]);
        let TradeState::Paid { trade_no, .. } = s.micropay(&charge("CA1-M1", 500), "134567890123450001").await.unwrap() else { panic!("not paid") };
        let TradeState::Paid { trade_no: again, .. } = s.micropay(&charge("CA1-M1", 500), "134567890123450001").await.unwrap() else { panic!("not paid") };
        assert_eq!(trade_no, again);
        assert!(matches!(s.micropay(&charge("CA1-M1", 1), "134567890123450001").await, Err(ProviderError::Refused(_))));
        s.refund("CA1-M1", Fen(500)).await.unwrap();
        assert!(matches!(s.query("CA1-M1").await.unwrap(), TradeState::Failed { .. }));
        assert_eq!(s.query("CA-none").await.unwrap(), TradeState::NotFound);
    }

    #[tokio::test]
    async fn a_refund_asked_again_or_at_once_pays_out_once_and_another_amount_is_refused() {
        let s = standin(&[]);
        s.micropay(&charge("CA6-M1", 800), "134567890123450001").await.unwrap();
        assert!(matches!(s.refund("CA6-M1", Fen(900)).await, Err(ProviderError::Refused(_))), "more than was paid");
        let answers = futures::future::join_all((0..8).map(|_| s.refund("CA6-M1", Fen(800)))).await;
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        let t = s.trade("CA6-M1").await.unwrap().unwrap();
        assert_eq!((t.state.as_str(), t.refunded, t.refund_asks), ("refunded", Some(Fen(800)), 9));
        assert!(matches!(s.refund("CA6-M1", Fen(100)).await, Err(ProviderError::Refused(_))), "a repeat with another amount");
        assert!(matches!(s.refund("CA-none", Fen(100)).await, Err(ProviderError::Refused(_))));
        let failing = StandinPay { cfg: Providers { fail: vec!["refund".into()], ..s.cfg.clone() }, ..s };
        assert!(matches!(failing.refund("CA6-M1", Fen(800)).await, Err(ProviderError::Unreachable(_))));
    }

    #[tokio::test]
    async fn a_confirming_payer_is_paid_after_some_queries_and_a_lost_answer_is_found_by_query() {
        let s = standin(&[]);
        assert_eq!(s.micropay(&charge("CA2-M1", 500), "134567890123459992").await.unwrap(), TradeState::Paying);
        let mut states = Vec::new();
        for _ in 0..4 {
            states.push(matches!(s.query("CA2-M1").await.unwrap(), TradeState::Paid { .. }));
        }
        assert_eq!(states, [false, false, false, true]);
        assert!(matches!(s.micropay(&charge("CA3-M1", 500), "134567890123459993").await, Err(ProviderError::Unreachable(_))));
        assert!(matches!(s.query("CA3-M1").await.unwrap(), TradeState::Paid { .. }));
    }

    #[tokio::test]
    async fn told_to_fail_it_declines_and_its_notifications_verify_only_unchanged() {
        let s = standin(&["withhold"]);
        assert!(matches!(s.withhold(&charge("CA4-N1", 500), "粤B1").await.unwrap(), TradeState::Failed { .. }));
        s.wap_page(&charge("CA5-W1", 700), "http://r", "http://n").await.unwrap();
        let mut form = s.pay_wap("CA5-W1").await.unwrap();
        assert!(s.verify(&form));
        assert_eq!(form["total_amount"], "7.00");
        form.insert("total_amount".into(), "0.01".into());
        assert!(!s.verify(&form));
    }
}
