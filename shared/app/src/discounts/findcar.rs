//! 6.53: the car-finding result of a self-service kiosk scan. The seed keeps
//! it in the car park's asynchronous notice table (Pub_CloudAsyncNotice) for
//! the kiosk to show; here that table is `keys::find_car_notices`, one entry
//! per notice under the kiosk's id and the time, kept a day.

use crate::keys;
use crate::park::stays;
use onecard_core::kit::{self, CredentialType, Flag, Int, RouteDef, Text};
use onecard_core::store::{Cond, Item};
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
    let item = Item::new(keys::find_car_notices(b), sk, body).with_ttl(onecard_core::store::now_unix() + NOTICE_TTL_SECS);
    ctx.store.put(item, Cond::MustNotExist).await?;
    Ok(NoticeOut { plate })
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("park.selfFindCar.notice", notice)]
}
