//! Guidance screens: the list (8.22), a caller's text (8.23), and the free
//! counts they show, refreshed when a status change moves a count. Both go
//! to the site's agent as a `guide.screen` command for the screen's device;
//! a screen that stays silent answers 620 (8.23) or keeps its old count and
//! is tried again on the next change (a refresh never fails the report that
//! caused it: the status is what matters, the screen follows).

use super::model::{Screen, Space, SpaceStatus};
use super::store;
use crate::park::hardware::{ack_error, command};
use onecard_core::kit::{self, Null, Page, RouteDef, Text};
use onecard_core::link::{action, GuideScreen};
use onecard_core::store::Cond;
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::time::Instant;

/// How long a refresh waits for a screen: a status report should not wait
/// on a screen for the whole ack timeout.
const REFRESH_WAIT: Duration = Duration::from_secs(2);

/// 8.22 row.
#[derive(Serialize, JsonSchema)]
pub struct ScreenRow {
    #[serde(rename = "mapNo")]
    pub map_no: String,
    #[serde(rename = "ledName")]
    pub name: String,
    #[serde(rename = "ledNo")]
    pub no: String,
    #[serde(rename = "ledX")]
    pub x: String,
    #[serde(rename = "ledY")]
    pub y: String,
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

async fn list(ctx: Ctx, req: Req, _: kit::Empty) -> ApiResult<Page<ScreenRow>> {
    let rows = store::all::<Screen>(ctx.store(), req.branchno())
        .await?
        .into_iter()
        .map(|s| ScreenRow { map_no: s.map_no, name: s.name, no: s.no, x: num(s.x), y: num(s.y) })
        .collect();
    Ok(req.page(rows))
}

/// 8.23's byte values: decimal ("4"), hex ("0xFF") or empty.
fn byte(v: &str, field: &str) -> ApiResult<Option<u8>> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => u8::from_str_radix(h, 16).ok(),
        None => v.parse::<u8>().ok(),
    };
    parsed.map(Some).ok_or_else(|| ApiError::field(field, format!("'{v}' is not a byte (0-255 or 0x00-0xFF)")))
}

fn arrow(v: &str) -> ApiResult<u8> {
    match byte(v, "arrowDirection")? {
        Some(a) if a <= 7 || a == 0xFF => Ok(a),
        Some(a) => Err(ApiError::field("arrowDirection", format!("'{a}' is not 0-7 or 0xFF"))),
        None => Err(ApiError::missing("arrowDirection")),
    }
}

/// 8.23 input.
#[derive(Deserialize, JsonSchema)]
pub struct DisplayIn {
    #[serde(rename = "arrowDirection")]
    pub arrow: Text,
    #[serde(rename = "arrowToLeft")]
    pub arrow_to_left: Option<Text>,
    #[serde(rename = "ledNo")]
    pub no: Option<Text>,
    #[serde(rename = "ledName")]
    pub name: Option<Text>,
    #[serde(rename = "leftShow")]
    pub left: Option<Text>,
    #[serde(rename = "rightShow")]
    pub right: Option<Text>,
}

/// Sends a frame to a screen and answers the agent's verdict.
async fn show(ctx: &Ctx, req: &Req, screen: &Screen, p: &GuideScreen, until: Instant) -> ApiResult<()> {
    let params = serde_json::to_value(p).map_err(ApiError::system)?;
    let ack = command(ctx, req, screen.device_id(), action::GUIDE_SCREEN, params, until).await?;
    if ack.ok {
        Ok(())
    } else {
        Err(ack_error(screen.device_id(), action::GUIDE_SCREEN, &ack))
    }
}

async fn display(ctx: Ctx, req: Req, input: DisplayIn) -> ApiResult<Null> {
    let arrow = arrow(&input.arrow)?;
    // "No arrow" ignores the position, as 8.23 says.
    let arrow_to_left = match (arrow, input.arrow_to_left.as_deref()) {
        (0xFF, _) | (_, None) => None,
        (_, Some(v)) => byte(v, "arrowToLeft")?,
    };
    let screens = store::all::<Screen>(ctx.store(), req.branchno()).await?;
    let screen = match (input.no.as_deref(), input.name.as_deref()) {
        (Some(no), _) => screens.iter().find(|s| s.no == no).ok_or_else(|| ApiError::field("ledNo", format!("screen '{no}' does not exist")))?,
        (None, Some(name)) => screens.iter().find(|s| s.name == name).ok_or_else(|| ApiError::field("ledName", format!("screen '{name}' does not exist")))?,
        (None, None) => return Err(ApiError::field("ledNo", "or ledName is required")),
    };
    let p = GuideScreen { arrow, arrow_to_left, left: input.left.map(String::from).unwrap_or_default(), right: input.right.map(String::from).unwrap_or_default() };
    show(&ctx, &req, screen, &p, crate::park::hardware::deadline(&req)).await?;
    Ok(Null)
}

/// The free spaces a screen counts.
pub fn free_for(screen: &Screen, spaces: &[Space]) -> i64 {
    spaces.iter().filter(|s| s.status == SpaceStatus::Free && screen.counts(s)).count() as i64
}

/// What a screen shows for a count: its label on the left, the count on the
/// right, its arrow between.
pub fn count_frame(screen: &Screen, free: i64) -> GuideScreen {
    GuideScreen { arrow: screen.arrow, arrow_to_left: Some(screen.arrow_to_left), left: screen.label.clone(), right: free.to_string() }
}

/// Shows the new free counts on the screens that count `changed`. Failures
/// are logged; the screen keeps its old `shown` and the next change retries.
pub async fn refresh(ctx: &Ctx, req: &Req, changed: &Space) {
    if let Err(e) = try_refresh(ctx, req, changed).await {
        tracing::warn!(branch = req.branchno(), space = %changed.no, error = %e.message, "guidance screens not refreshed");
    }
}

async fn try_refresh(ctx: &Ctx, req: &Req, changed: &Space) -> ApiResult<()> {
    let b = req.branchno();
    let screens: Vec<_> = store::all_versioned::<Screen>(ctx.store(), b).await?.into_iter().filter(|(s, _)| s.counts(changed)).collect();
    if screens.is_empty() {
        return Ok(());
    }
    let spaces = store::all::<Space>(ctx.store(), b).await?;
    let until = Instant::now() + REFRESH_WAIT;
    for (mut screen, version) in screens {
        let free = free_for(&screen, &spaces);
        if screen.shown == Some(free) {
            continue;
        }
        match show(ctx, req, &screen, &count_frame(&screen, free), until).await {
            Ok(()) => {
                screen.shown = Some(free);
                // A concurrent refresh that wrote first showed a count at
                // least as new: losing the race is fine.
                let item = store::item(b, &screen).with_version(version + 1);
                if let Err(e) = ctx.store().put(item, Cond::VersionIs(version)).await {
                    if !e.is_conflict() {
                        return Err(e.into());
                    }
                }
            }
            Err(e) => tracing::warn!(branch = b, screen = %screen.no, error = %e.message, "guidance screen not updated"),
        }
    }
    Ok(())
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::read("pls.led.get", list), kit::write("pls.led.display", display)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_decimal_and_hex_and_arrows_are_checked() {
        assert_eq!(byte("0xFF", "f").unwrap(), Some(255));
        assert_eq!(byte("4", "f").unwrap(), Some(4));
        assert_eq!(byte("", "f").unwrap(), None);
        assert!(byte("256", "f").is_err());
        assert_eq!(arrow("0xff").unwrap(), 255);
        assert!(arrow("8").unwrap_err().message.contains("arrowDirection"));
    }
}
