//! 6.53: the car-finding result of a self-service kiosk scan. The seed keeps
//! it in the car park's asynchronous notice table (Pub_CloudAsyncNotice) for
//! the kiosk to show; here that table is `keys::find_car_notices`, one entry
//! per notice under the kiosk's id and the time, kept a day. The kiosk is
//! also told at once, as the site command `kiosk.notice` to its agent.

use crate::keys;
use crate::park::stays;
use onecard_core::kit::{self, CredentialType, Flag, Int, RouteDef, Text};
use onecard_core::link::action;
use onecard_core::sitelink::Command;
use onecard_core::store::{Cond, Item};
use std::time::Duration;
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A kiosk shows a notice for minutes; a day is ample.
const NOTICE_TTL_SECS: i64 = 86_400;

/// 6.53 input.
#[derive(Deserialize, JsonSchema)]
pub struct NoticeIn {
    #[serde(rename = "openId", alias = "openID")]
    pub open_id: Text,
    #[serde(rename = "deviceId", alias = "deviceID")]
    pub device_id: Text,
    /// 1 another scanner, 2 WeChat, 3 Alipay.
    #[serde(rename = "scanTool")]
    pub scan_tool: Int,
    #[serde(rename = "licensePlate")]
    pub plate: Option<Text>,
    #[serde(rename = "existRndOnCat")]
    pub exist_on_cat: Flag,
}

/// 6.53 output.
#[derive(Serialize, JsonSchema)]
pub struct NoticeOut {
    #[serde(rename = "licensePlate")]
    pub plate: String,
}

async fn notice(ctx: Ctx, req: Req, input: NoticeIn) -> ApiResult<NoticeOut> {
    let b = req.branchno();
    let tool = input.scan_tool.get();
    if !(1..=3).contains(&tool) {
        return Err(ApiError::field("scanTool", format!("{tool} is not 1, 2 or 3")));
    }
    let given = input.plate.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(str::to_string);
    // Carsafe found the entry: its plate is the answer. Else the car park
    // looks for the car itself, by the plate and then by the payer's id.
    let plate = match (input.exist_on_cat.get(), given) {
        (true, Some(p)) => p,
        (true, None) => return Err(ApiError::field("licensePlate", "is required when existRndOnCat is true")),
        (false, given) => {
            let by_plate = match &given {
                Some(p) => stays::find(&ctx, b, CredentialType::Plate, p).await?.map(|(s, _)| s),
                None => None,
            };
            let stay = match by_plate {
                Some(s) => Some(s),
                None => stays::all_in_park(&ctx, b).await?.into_iter().find(|s| s.user_id.as_deref() == Some(input.open_id.as_str())),
            };
            stay.map(|s| s.display_plate()).ok_or_else(|| stays::not_in_park(given.as_deref().unwrap_or(&input.open_id)))?
        }
    };
    let at = onecard_core::time::format(req.now);
    let body = serde_json::json!({
        "deviceId": input.device_id.as_str(),
        "openId": input.open_id.as_str(),
        "scanTool": tool,
        "licensePlate": plate,
        "existRndOnCat": input.exist_on_cat.get(),
        "at": at,
    });
    let sk = format!("{}#{at}#{}", input.device_id.as_str(), uuid::Uuid::new_v4().simple());
    let item = Item::new(keys::find_car_notices(b), sk, body.clone()).with_ttl(onecard_core::store::now_unix() + NOTICE_TTL_SECS);
    ctx.store.put(item, Cond::MustNotExist).await?;
    tell_kiosk(&ctx, &req, input.device_id.as_str(), body).await;
    Ok(NoticeOut { plate })
}

/// Pushes the stored notice to the kiosk through its agent, with `notice`
/// telling it from 10.38's scan notice. Best effort: the notice is recorded
/// whatever the kiosk does, so an agent away or a kiosk silent is logged and
/// does not fail the request.
async fn tell_kiosk(ctx: &Ctx, req: &Req, device: &str, mut params: serde_json::Value) {
    params["notice"] = serde_json::Value::from(FIND_CAR_NOTICE);
    let cmd = Command { id: format!("c-{}", uuid::Uuid::new_v4().simple()), device: device.to_string(), action: action::KIOSK_NOTICE.into(), params };
    let timeout = Duration::from_secs(req.branch.settings.ack_timeout_secs.max(1));
    match ctx.sites.command(req.branchno(), cmd, timeout).await {
        Ok(ack) if ack.ok => {}
        Ok(ack) => tracing::warn!(branch = req.branchno(), device, code = ack.code, message = %ack.message, "kiosk did not take the find-car notice"),
        Err(e) => tracing::warn!(branch = req.branchno(), device, error = %e, "find-car notice not pushed to the kiosk"),
    }
}

/// `kiosk.notice`'s `notice` for a 6.53 result.
pub const FIND_CAR_NOTICE: &str = "findCar";

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("park.selfFindCar.notice", notice)]
}

#[cfg(test)]
mod tests {
    use super::FIND_CAR_NOTICE;
    use crate::park::hardware::tests::{ack, call, ctx_with, FakeSites};
    use onecard_core::link::{ack_code, action};
    use onecard_core::store::Query;
    use serde_json::json;

    #[tokio::test]
    async fn the_notice_is_stored_and_pushed_to_the_kiosk_and_a_silent_kiosk_does_not_fail_it() {
        let sites = FakeSites::ok();
        let (ctx, _) = ctx_with(sites.clone()).await;
        let r = call(&ctx, "park.selfFindCar.notice", json!({"deviceId": "K1", "openId": "o1", "scanTool": "2", "licensePlate": "浙AIV587", "existRndOnCat": "true"}))
            .await
            .unwrap();
        assert_eq!(r.data["licensePlate"], json!("浙AIV587"));
        let sent = sites.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!((sent[0].device.as_str(), sent[0].action.as_str()), ("K1", action::KIOSK_NOTICE));
        assert_eq!(sent[0].params["notice"], json!(FIND_CAR_NOTICE));
        assert_eq!((sent[0].params["licensePlate"].as_str(), sent[0].params["openId"].as_str()), (Some("浙AIV587"), Some("o1")));

        let silent = FakeSites::new(|c| Ok(ack(c, ack_code::DEVICE_TIMEOUT)));
        let (ctx, _) = ctx_with(silent.clone()).await;
        call(&ctx, "park.selfFindCar.notice", json!({"deviceId": "K2", "openId": "o2", "scanTool": "3", "licensePlate": "浙A11111", "existRndOnCat": "true"}))
            .await
            .unwrap();
        assert_eq!(silent.sent().len(), 1);
        let kept = ctx.store.query_all(&Query::partition(crate::keys::find_car_notices("1001"))).await.unwrap();
        assert_eq!(kept.len(), 1, "the notice is kept for the kiosk to read later");
        // A refused notice (unknown scan tool) tells no kiosk.
        assert!(call(&ctx, "park.selfFindCar.notice", json!({"deviceId": "K2", "openId": "o2", "scanTool": "9", "existRndOnCat": "true"})).await.is_err());
        assert_eq!(silent.sent().len(), 1);
    }
}
