//! 9.9's `noticeAfterScan`: when a pay code made with it is scanned, the
//! device it names (`noticeDeviceID`, a lane controller) is told at once, so
//! the booth or the exit's screen shows that the driver is paying by phone.
//!
//! It is a courtesy, not part of paying: the notice goes through the site
//! link as the LED-and-voice frame every board already takes (`allinone`),
//! waits briefly for the agent's ack, and a device that is unknown, offline
//! or silent is logged and reported on the resolver's answer
//! (`noticeSent` false), never a failed scan.

use onecard_core::config::Branch;
use onecard_core::link::{action, AllInOne, LedTemp};
use onecard_core::sitelink::Command;
use onecard_core::Ctx;
use std::time::Duration;

/// The longest a scan waits for the device's ack: the payer is looking at
/// a phone that is loading a page.
const MAX_WAIT: Duration = Duration::from_secs(2);

/// What the board shows and says: the plate when the code carries one.
fn notice(plate: Option<&str>) -> AllInOne {
    let who = plate.filter(|p| !p.is_empty()).map(|p| format!("{p} ")).unwrap_or_default();
    AllInOne {
        lines: vec![LedTemp { line: 1, color: 2, seconds: 10, text: format!("{who}正在扫码缴费") }],
        voice: format!("{who}正在扫码缴费，请稍候"),
    }
}

/// Tells `device` that its pay code was scanned. Answers whether the device
/// acknowledged it.
pub async fn send(ctx: &Ctx, branch: &Branch, device: &str, plate: Option<&str>) -> bool {
    let b = branch.branchno.as_str();
    let Some(c) = branch.controller(device.trim()) else {
        tracing::warn!(branch = b, device, "pay code scanned: its notice device is not a controller of the car park");
        return false;
    };
    let params = match serde_json::to_value(notice(plate)) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(branch = b, device, error = %e, "pay code scan notice not built");
            return false;
        }
    };
    let cmd = Command { id: format!("c-{}", uuid::Uuid::new_v4().simple()), device: c.device_id.clone(), action: action::ALLINONE.into(), params };
    let wait = Duration::from_secs(branch.settings.ack_timeout_secs.max(1)).min(MAX_WAIT);
    match ctx.sites.command(b, cmd, wait).await {
        Ok(ack) if ack.ok => true,
        Ok(ack) => {
            tracing::warn!(branch = b, device = %c.device_id, code = ack.code, message = %ack.message, "pay code scan notice refused by the device");
            false
        }
        Err(e) => {
            tracing::warn!(branch = b, device = %c.device_id, error = %e, "pay code scan notice not delivered");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::park::hardware::tests::{ack, ctx_with, FakeSites};
    use crate::payments::qr::{code_url, resolve, QrType};
    use crate::payments::settings::PaySettings;
    use onecard_core::sitelink::{NoSites, SiteError};

    fn scanned(nid: &str) -> String {
        code_url(&PaySettings::default(), "1001", QrType::ParkPay, &[("k", "1"), ("nt", "1"), ("nid", nid), ("lp", "粤B12345")])
    }

    #[tokio::test]
    async fn a_scanned_pay_code_tells_its_device_and_a_silent_device_never_fails_the_scan() {
        let sites = FakeSites::ok();
        let (ctx, _q) = ctx_with(sites.clone()).await;
        // By controller number; the frame goes to its device.
        let out = resolve(&ctx, &scanned("C0000002")).await.unwrap();
        assert_eq!(out["noticeSent"], true, "{out}");
        let sent = sites.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!((sent[0].device.as_str(), sent[0].action.as_str()), ("2", "allinone"));
        assert!(sent[0].params["lines"][0]["text"].as_str().unwrap().contains("粤B12345"), "{:?}", sent[0].params);

        // A code without the notice sends nothing.
        let plain = code_url(&PaySettings::default(), "1001", QrType::ParkPay, &[("k", "1")]);
        resolve(&ctx, &plain).await.unwrap();
        assert_eq!(sites.sent().len(), 1);

        // An unknown device, a device that refuses, and no agent at all: the
        // scan still resolves, saying the notice was not delivered.
        assert_eq!(resolve(&ctx, &scanned("PN404")).await.unwrap()["noticeSent"], false);
        let refusing = FakeSites::new(|c| Ok(ack(c, 404)));
        let (ctx, _q) = ctx_with(refusing).await;
        assert_eq!(resolve(&ctx, &scanned("2")).await.unwrap()["noticeSent"], false);
        let (ctx, _q) = ctx_with(FakeSites::new(|_| Err(SiteError::Timeout(std::time::Duration::from_secs(2))))).await;
        assert_eq!(resolve(&ctx, &scanned("2")).await.unwrap()["noticeSent"], false);
        let (ctx, _q) = ctx_with(std::sync::Arc::new(NoSites)).await;
        let out = resolve(&ctx, &scanned("2")).await.unwrap();
        assert_eq!((out["noticeSent"].as_bool(), out["licensePlate"].as_str()), (Some(false), Some("粤B12345")));
    }
}
