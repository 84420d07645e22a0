//! Aibee (爱笔, 11.32-11.36): the cloud drives Aibee's space lights and
//! guidance screens from the guidance data of chapter 8. Aibee is the
//! seed's exception to decision 10: its REST API takes a plain JSON body at
//! `http://ip:port/api/<name>` with no envelope or signature, and answers
//! `{code, message, data}` where `code` 0 is success.
//!
//! Deliveries go through the push pipeline (queue, decision 18's retries,
//! dead-letter queue), a space report never waits for Aibee: a partner
//! subscribed to these routes (`onecard partner add --name aibee --url
//! http://ip:port --secret - --events /api/setRedGreenLightStatus,/api/setGuideLedStatus`)
//! gets one event per change, delivered by [`crate::push::plain`]. Aibee's
//! commands set a state, so a repeat after a lost answer is harmless (there
//! is no envelope `id` to de-duplicate on).
//!
//! Device ids: a space's light is the space's number (`Space.no`), a screen
//! is its agent device id (`Screen::device_id`), the ids the site survey
//! gives them; 11.32 (`setDeviceInfo`, `onecard partners aibee-sync`)
//! announces them to Aibee.
//! 11.33 and 11.35 (reading Aibee's lists) have no use here: the cloud holds
//! the state it sets.

use crate::pls::model::{Screen, Space, SpaceStatus};
use crate::pls::screens::free_for;
use crate::pls::store;
use crate::push::subscriptions;
use chrono::NaiveDateTime;
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::queue::OutEvent;
use onecard_core::store::ItemStore;
use onecard_core::{ApiResult, Ctx};
use serde_json::{json, Value};

/// 11.32, 11.34, 11.36.
pub const DEVICE_INFO: &str = "/api/setDeviceInfo";
pub const LIGHT_STATUS: &str = "/api/setRedGreenLightStatus";
pub const SCREEN_STATUS: &str = "/api/setGuideLedStatus";

/// Aibee's routes take a plain JSON body (its own REST API).
pub fn is_plain(route: &str) -> bool {
    route.starts_with("/api/")
}

/// Appendix A colours of a space light: red taken, green free, yellow when
/// the detector cannot say.
pub fn light_color(status: SpaceStatus) -> i64 {
    match status {
        SpaceStatus::Free => 2,
        SpaceStatus::Occupied => 1,
        SpaceStatus::Unknown | SpaceStatus::Abnormal => 3,
    }
}

/// 11.34's record for one space.
pub fn light_record(space: &Space) -> Value {
    json!({"devices": [{"deviceId": space.no, "status": 1, "color": light_color(space.status)}]})
}

/// 8.23's arrow codes (right, left, up, down; +4 scrolling; 255 none) as
/// Aibee's directions.
fn direction(arrow: u8) -> Option<&'static str> {
    match arrow {
        255 => None,
        a => Some(["right", "left", "front", "back"][(a % 4) as usize]),
    }
}

/// 11.36's record for one screen showing `free`: green digits while there is
/// room, red at zero (15.3's LED codes "02"/"01").
pub fn screen_record(screen: &Screen, free: i64) -> Value {
    let mut show = json!({"number": free, "color": if free > 0 { "02" } else { "01" }, "directionDisplay": 0});
    if let Some(d) = direction(screen.arrow) {
        show["direction"] = json!(d);
        show["directionDisplay"] = json!(1);
        show["directionPosition"] = json!(if screen.arrow_to_left != 0 { "left" } else { "right" });
    }
    json!({"devices": [{"deviceId": screen.device_id(), "status": 1, "showInfo": show}]})
}

async fn subscribed(s: &dyn ItemStore, branch: &str, route: &str) -> ApiResult<bool> {
    Ok(subscriptions::list(s, branch).await?.iter().any(|p| p.enabled && p.events.iter().any(|e| e == route)))
}

/// Writes the events to the outbox and publishes them: the report that
/// caused them is already committed, and the outbox keeps them if the
/// queue is not there (the sweeper publishes them later).
async fn send(ctx: &Ctx, events: Vec<OutEvent>) -> ApiResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    ctx.store.transact(events.iter().map(outbox_write).collect()).await?;
    publish_committed(ctx, &events).await;
    Ok(())
}

/// A space's status changed (8.12, 8.13, 9.14): its light, and the screens
/// that count it when its free count moved. Failures are logged: the report
/// stands, and the next change sends the state again.
pub async fn space_changed(ctx: &Ctx, branch: &str, before: &Space, after: &Space, at: NaiveDateTime) {
    if let Err(e) = try_space_changed(ctx, branch, before, after, at).await {
        tracing::warn!(branch, space = %after.no, error = %e.message, "Aibee not told of a space change");
    }
}

async fn try_space_changed(ctx: &Ctx, branch: &str, before: &Space, after: &Space, at: NaiveDateTime) -> ApiResult<()> {
    if before.status == after.status {
        return Ok(());
    }
    let mut events = Vec::new();
    if subscribed(ctx.store(), branch, LIGHT_STATUS).await? {
        events.push(OutEvent::new(branch, LIGHT_STATUS, light_record(after), at));
    }
    let free_moved = (before.status == SpaceStatus::Free) != (after.status == SpaceStatus::Free);
    if free_moved && subscribed(ctx.store(), branch, SCREEN_STATUS).await? {
        let screens: Vec<Screen> = store::all::<Screen>(ctx.store(), branch).await?.into_iter().filter(|s| s.counts(after)).collect();
        if !screens.is_empty() {
            let spaces = store::all::<Space>(ctx.store(), branch).await?;
            events.extend(screens.iter().map(|s| OutEvent::new(branch, SCREEN_STATUS, screen_record(s, free_for(s, &spaces)), at)));
        }
    }
    send(ctx, events).await
}

/// 11.32: every space light and guidance screen of the branch announced to
/// a subscribed Aibee, then their current state (11.34, 11.36): what
/// `onecard partners aibee-sync` puts in the outbox, from which the push
/// function's sweep publishes them.
pub async fn sync_events(s: &dyn ItemStore, branch: &str, at: NaiveDateTime) -> ApiResult<Vec<OutEvent>> {
    let spaces = store::all::<Space>(s, branch).await?;
    let screens = store::all::<Screen>(s, branch).await?;
    let mut events = Vec::new();
    if subscribed(s, branch, DEVICE_INFO).await? {
        let name = |n: &str, fallback: &str| if n.is_empty() { fallback.to_string() } else { n.to_string() };
        events.extend(spaces.iter().map(|x| OutEvent::new(branch, DEVICE_INFO, json!({"deviceId": x.no, "deviceName": name(&x.name, &x.no), "deviceType": 1}), at)));
        events.extend(screens.iter().map(|x| OutEvent::new(branch, DEVICE_INFO, json!({"deviceId": x.device_id(), "deviceName": name(&x.name, &x.no), "deviceType": 2}), at)));
    }
    if subscribed(s, branch, LIGHT_STATUS).await? {
        events.extend(spaces.iter().map(|x| OutEvent::new(branch, LIGHT_STATUS, light_record(x), at)));
    }
    if subscribed(s, branch, SCREEN_STATUS).await? {
        events.extend(screens.iter().map(|x| OutEvent::new(branch, SCREEN_STATUS, screen_record(x, free_for(x, &spaces)), at)));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(arrow: u8, to_left: u8) -> Screen {
        serde_json::from_value(json!({"no": "LN1", "name": "B2", "mapNo": "M1", "x": 0.0, "y": 0.0, "arrow": arrow, "arrowToLeft": to_left})).unwrap()
    }

    #[test]
    fn screens_show_the_count_and_arrow() {
        let v = screen_record(&screen(1, 1), 10);
        assert_eq!(v["devices"][0]["deviceId"], json!("LN1"));
        assert_eq!(v["devices"][0]["showInfo"], json!({"number": 10, "color": "02", "direction": "left", "directionDisplay": 1, "directionPosition": "left"}));
        let v = screen_record(&screen(255, 0), 0);
        assert_eq!(v["devices"][0]["showInfo"], json!({"number": 0, "color": "01", "directionDisplay": 0}));
        assert_eq!(screen_record(&screen(6, 0), 3)["devices"][0]["showInfo"]["direction"], json!("front"));
    }

    #[test]
    fn lights_are_red_green_or_yellow() {
        assert_eq!(light_color(SpaceStatus::Free), 2);
        assert_eq!(light_color(SpaceStatus::Occupied), 1);
        assert_eq!(light_color(SpaceStatus::Abnormal), 3);
        assert!(is_plain(LIGHT_STATUS) && is_plain(SCREEN_STATUS) && is_plain(DEVICE_INFO) && !is_plain("hisense.regIn"));
    }
}
