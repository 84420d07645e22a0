//! Intercom calls: 9.26 (the site: a unit calls) opens a call `calling`;
//! 6.104 (an operator invites the unit into a room) makes it `talking`; 6.105
//! (hang up) ends it. One current call per unit, kept with its history of
//! states so a call is never lost between the three routes.

use crate::keys;
use onecard_core::kit::{self, Null, RouteDef, Text};
use onecard_core::store::{Cond, Item};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Calling,
    Talking,
    Ended,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub controller_no: String,
    pub state: CallState,
    #[serde(default)]
    pub room_id: String,
    /// `(state, time)` in order.
    pub history: Vec<(CallState, String)>,
}

fn sk(controller: &str) -> String {
    format!("call#{controller}")
}

pub async fn current(ctx: &Ctx, branch: &str, controller: &str) -> ApiResult<Option<Call>> {
    match ctx.store.get(&keys::people(branch), &sk(controller)).await? {
        Some(i) => Ok(Some(i.parse()?)),
        None => Ok(None),
    }
}

async fn save(ctx: &Ctx, branch: &str, c: &Call) -> ApiResult<()> {
    let body = serde_json::to_value(c).map_err(ApiError::system)?;
    ctx.store.put(Item::new(keys::people(branch), sk(&c.controller_no), body), Cond::None).await?;
    Ok(())
}

/// Moves the unit's call to `to`: a new call starts only from nothing or an
/// ended one; a call answers or ends only while open.
pub async fn advance(ctx: &Ctx, branch: &str, controller: &str, to: CallState, room: Option<&str>, at: &str) -> ApiResult<Call> {
    let cur = current(ctx, branch, controller).await?;
    let mut call = match (cur, to) {
        (None, CallState::Calling) => Call { controller_no: controller.into(), state: to, room_id: String::new(), history: Vec::new() },
        (Some(c), CallState::Calling) if c.state == CallState::Ended => Call { controller_no: controller.into(), state: to, room_id: String::new(), history: Vec::new() },
        // A unit calling again while its call is open is the same call.
        (Some(c), CallState::Calling) => return Ok(c),
        (Some(c), _) if c.state != CallState::Ended => c,
        // An invitation without a pending call (6.104 is also used to call a
        // unit from the office): the call starts talking.
        (_, CallState::Talking) => Call { controller_no: controller.into(), state: to, room_id: String::new(), history: Vec::new() },
        (_, CallState::Ended) => return Err(ApiError::failed(format!("no open intercom call at '{controller}'"))),
    };
    call.state = to;
    if let Some(r) = room {
        call.room_id = r.to_string();
    }
    call.history.push((to, at.to_string()));
    save(ctx, branch, &call).await?;
    Ok(call)
}

/// 9.26 input.
#[derive(Deserialize, JsonSchema)]
pub struct RequestIn {
    #[serde(rename = "controllerNo")]
    pub controller_no: Text,
}

/// 9.26: the unit is calling.
async fn request(ctx: Ctx, req: Req, input: RequestIn) -> ApiResult<Null> {
    advance(&ctx, req.branchno(), &input.controller_no, CallState::Calling, None, &kit::stamp(req.now)).await?;
    tracing::info!(branch = req.branchno(), unit = %input.controller_no.as_str(), "intercom calling");
    Ok(Null)
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("cat.intercom.request", request)]
}
