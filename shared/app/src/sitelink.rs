//! The cloud's half of the agent protocol that does not depend on how frames
//! travel: checking a `hello`, serving an `uplink`, and building the
//! `siteconfig` an agent works from offline. The local hub (`onecard serve`)
//! and the API Gateway WebSocket function both call these, so an agent sees
//! the same cloud behind either.

use crate::keys;
use onecard_core::config::{self, Branch};
use onecard_core::link::sync::SiteState;
use onecard_core::link::{self, route, BlackRow, Hello, LaneRules, MonthlyPlate, OfflinePolicy, Refused, Reply, SiteConfig, Uplink, Welcome};
use onecard_core::store::{Cond, Item, StoreError};
use onecard_core::idempotency::{self, RequestKey};
use onecard_core::{dispatch, time, ApiResult, Code, Ctx, Registry};
use serde_json::Value;

/// Replies to the uploads are remembered this long, so a resend after an agent
/// crash or a lost reply gets the first answer instead of running again. The
/// agent's outbox holds records for days at most while a site is cut off.
const REPLY_MEMORY_SECS: i64 = 14 * 24 * 3600;

fn refused(code: Code, message: impl Into<String>) -> Refused {
    Refused { code: code.0, message: message.into() }
}

/// Checks a hello: the agent is known and enabled for the branch, the signature
/// is its own, the timestamp is within `skew_secs` of the server clock (read in
/// the branch's zone) and the signature was not used before. Answers the branch.
pub async fn authenticate(ctx: &Ctx, hello: &Hello, skew_secs: i64) -> Result<Branch, Refused> {
    if hello.branch.trim().is_empty() || hello.agent_id.trim().is_empty() {
        return Err(refused(Code::BAD_INPUT, "field 'branch' and 'agentId' are required"));
    }
    let store_err = |e: StoreError| refused(Code::SYSTEM, format!("system error: {e}"));
    let site = config::get_site(ctx.store(), &hello.branch, &hello.agent_id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| refused(Code::AUTH, format!("unknown agent '{}' for branch '{}'", hello.agent_id, hello.branch)))?;
    if !hello.verify(&site.secret) {
        return Err(refused(Code::AUTH, "signature does not match"));
    }
    if !site.enabled {
        return Err(refused(Code::NOT_ALLOWED, format!("agent '{}' is disabled", hello.agent_id)));
    }
    // An older agent would take a sync without its door cards, blacklist and
    // locked plates (they moved to buckets it does not know) as complete: it
    // must not believe it is current. Checked after the signature, so only
    // the site's own agent learns why.
    if hello.version < link::PROTOCOL_VERSION {
        return Err(refused(
            Code::BAD_INPUT,
            format!(
                "agent protocol {} is older than the cloud's {}: door cards, blacklist rows and locked plates now travel in sync buckets; update onecard-agent",
                hello.version,
                link::PROTOCOL_VERSION
            ),
        ));
    }
    let branch = config::get_branch(ctx.store(), &hello.branch)
        .await
        .map_err(store_err)?
        .ok_or_else(|| refused(Code::AUTH, format!("unknown branch '{}'", hello.branch)))?;
    let ts = time::parse(&hello.timestamp).ok_or_else(|| refused(Code::AUTH, "timestamp is not yyyy-MM-dd HH:mm:ss"))?;
    let now = ctx.clock.now();
    let skew = (time::to_utc(ts, &branch.tz) - now).num_seconds().abs();
    if skew > skew_secs {
        return Err(refused(
            Code::AUTH,
            format!("timestamp is {skew} s from the server clock in {} (window {skew_secs} s)", branch.tz),
        ));
    }
    // A captured hello must not open a second session inside the window.
    let key = RequestKey::at(keys::site_hello_replay(&hello.branch, &hello.agent_id), hello.sign.trim());
    let expires = onecard_core::store::now_unix().max(now.timestamp()) + 2 * skew_secs.max(60);
    match idempotency::first_time(ctx.store(), &key, expires).await {
        Ok(true) => Ok(branch),
        Ok(false) => Err(refused(Code::AUTH, "replayed hello")),
        Err(e) => Err(refused(e.code, e.message)),
    }
}

pub fn welcome(ctx: &Ctx, branch: &Branch, agent_id: &str, session: &str) -> Welcome {
    Welcome {
        branch: branch.branchno.clone(),
        agent_id: agent_id.to_string(),
        server_time: time::format(time::to_local(ctx.clock.now(), &branch.tz)),
        heartbeat_secs: None,
        session: session.to_string(),
    }
}

/// Uplinks the agent sends at least once from its outbox; a repeat of one of
/// these must not act twice.
pub fn is_upload(route_name: &str) -> bool {
    [
        route::UPLOAD_INDATA,
        route::UPLOAD_OUTDATA,
        route::CAR_INOUT_NOTICE,
        route::GATE_STATE_NOTICE,
        route::GATE_FAULT,
        route::OFFLINE_DECISION,
        crate::people::recognition::UPLINK,
    ]
    .contains(&route_name)
}

/// Runs an uplink through the same handlers as HTTP. An upload whose id was
/// answered before gets that answer again without running; a system error
/// (100002) is not remembered, because the agent keeps the record and retries.
pub async fn serve_uplink(ctx: &Ctx, reg: &Registry, branch: &str, agent_id: &str, up: Uplink) -> Reply {
    let remember = is_upload(&up.route) && !up.id.trim().is_empty();
    let key = RequestKey::at(keys::uplink_replies(branch), format!("{agent_id}#{}", up.id));
    if remember {
        match idempotency::recall(ctx.store(), &key).await {
            Ok(Some(answer)) => {
                tracing::info!(branch, agent = agent_id, id = %up.id, route = %up.route, "repeated upload answered from memory");
                return Reply::from_envelope(&up.id, &answer);
            }
            Ok(None) => {}
            // Without the memory the handler's own idempotence still holds.
            Err(e) => tracing::warn!(error = %e, "upload reply memory unreadable"),
        }
    }
    let data = adapt_input(ctx, branch, &up.route, up.data).await;
    let env = if up.route == route::OFFLINE_DECISION {
        let r = record_offline_decision(ctx, branch, agent_id, &up.id, &data).await;
        onecard_core::envelope::response(&r, &time::format(time::to_local(ctx.clock.now(), time::DEFAULT_TZ)))
    } else if up.route == crate::people::recognition::UPLINK {
        let r = match onecard_core::kit::input::parse(data.clone()) {
            Ok(rec) => crate::people::recognition::record(ctx, branch, agent_id, rec).await.map(|()| onecard_core::Reply::empty()),
            Err(e) => Err(e),
        };
        onecard_core::envelope::response(&r, &time::format(time::to_local(ctx.clock.now(), time::DEFAULT_TZ)))
    } else {
        dispatch::site(ctx, reg, branch, agent_id, &up.route, data).await
    };
    let reply = Reply::from_envelope(&up.id, &env);
    if remember {
        let expires = onecard_core::store::now_unix().max(ctx.clock.now().timestamp()) + REPLY_MEMORY_SECS;
        if let Err(e) = idempotency::remember(ctx.store(), &key, expires, &env).await {
            tracing::warn!(error = %e, "upload reply not remembered");
        }
    }
    reply
}

/// What `cat.offline.decision` must carry; the rest is kept as sent.
#[derive(serde::Deserialize)]
struct OfflineDecision {
    #[serde(rename = "licensePlate")]
    plate: onecard_core::kit::Plate,
    time: onecard_core::kit::DateTime,
}

/// `cat.offline.decision` is the agent protocol's own uplink (no section of
/// the spec has it, so it is not in the registry): what a lane decided while
/// the cloud was unreachable, kept as the audit trail of those decisions. The
/// entries and exits themselves arrive as 9.1/9.2 uploads.
async fn record_offline_decision(ctx: &Ctx, branch: &str, agent_id: &str, id: &str, data: &Value) -> ApiResult<onecard_core::Reply> {
    let d: OfflineDecision = onecard_core::kit::input::parse(data.clone())?;
    let sk = format!("{}#{agent_id}#{id}", time::format(d.time.get()));
    let body = serde_json::json!({ "agentId": agent_id, "licensePlate": d.plate, "record": data });
    match ctx.store.put(Item::new(keys::offline_decisions(branch), sk, body), Cond::MustNotExist).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(onecard_core::Reply::empty()),
        Err(e) => Err(e.into()),
    }
}

/// Fills the names the chapter 9 handlers read from the names the agent
/// protocol sends (`agent/PROTOCOL.md`), where the two differ: 9.18 reads
/// `carNo`/`passTime`/`inOutFlag` (1 entry, 2 exit) where the agent sends
/// `plateNo`/`time`/`inOrOut` (0 entry, 1 exit); 9.1/9.2 read the lane as
/// `gateno`; and an exit decided offline carries no `cardInId` or `areaId`, so
/// they are taken from the car's stay. A field already present is left alone.
pub async fn adapt_input(ctx: &Ctx, branch: &str, route_name: &str, data: Value) -> Value {
    let Value::Object(mut m) = data else { return data };
    let missing = |m: &serde_json::Map<String, Value>, k: &str| match m.get(k) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    };
    let copy = |m: &mut serde_json::Map<String, Value>, to: &str, from: &[&str]| {
        if missing(m, to) {
            if let Some(v) = from.iter().find(|f| !missing(m, f)).and_then(|f| m.get(*f).cloned()) {
                m.insert(to.to_string(), v);
            }
        }
    };
    match route_name {
        route::PASS_VALIDATE => {
            copy(&mut m, "carNo", &["plateNo", "licensePlate"]);
            copy(&mut m, "passTime", &["time"]);
            if missing(&m, "inOutFlag") {
                let flag = match m.get("inOrOut").and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_i64().map(|n| n.to_string()))) {
                    Some(f) if f == "0" => Some("1"),
                    Some(f) if f == "1" => Some("2"),
                    _ => None,
                };
                if let Some(f) = flag {
                    m.insert("inOutFlag".into(), Value::from(f));
                }
            }
        }
        route::UPLOAD_INDATA => copy(&mut m, "gateno", &["controllerNo", "deviceID"]),
        route::UPLOAD_OUTDATA => {
            copy(&mut m, "gateno", &["controllerNo", "deviceID"]);
            if missing(&m, "cardInId") || missing(&m, "areaId") {
                let plate = m.get("licensePlate").and_then(Value::as_str).unwrap_or_default().to_string();
                if !plate.is_empty() {
                    match crate::park::stays::in_park(ctx, branch, 1, &plate).await {
                        Ok(Some((stay, _))) => {
                            if missing(&m, "cardInId") {
                                m.insert("cardInId".into(), Value::from(stay.card_in_id));
                            }
                            if missing(&m, "areaId") {
                                m.insert("areaId".into(), Value::from(stay.area));
                            }
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!(branch, plate, error = %e.message, "exit upload: stay lookup failed"),
                    }
                }
            }
        }
        _ => {}
    }
    Value::Object(m)
}

/// The configuration an agent needs to run its lanes, offline included,
/// indexed for syncing (`link::sync`): its version is a digest of the content,
/// so an unchanged configuration is not sent again and a changed one goes out
/// as the buckets that changed.
pub async fn site_state(ctx: &Ctx, branch: &Branch) -> ApiResult<SiteState> {
    let monthly = crate::cards::monthly_plates(ctx, &branch.branchno).await?.into_iter().map(|(plate, valid_to)| MonthlyPlate {
        plate_no: onecard_core::fields::normalize_plate(&plate),
        valid_from: String::new(),
        valid_to: time::format(valid_to),
        areas: Vec::new(),
    });
    let offline = OfflinePolicy { entry: branch.settings.offline_entry.clone(), exit: branch.settings.offline_exit.clone() };
    let now = time::to_local(ctx.clock.now(), &branch.tz);
    let l = crate::lanes::site::lanes_for_site(ctx, &branch.branchno, now).await?;
    let lanes = LaneRules {
        blacklist: l.blacklist.into_iter().map(|e| BlackRow { plate: e.plate, start: e.start, end: e.end, hint: e.hint }).collect(),
        locked: l.locked,
    };
    let doors = crate::acss::site::rules_for_site(ctx, &branch.branchno, now).await?;
    Ok(SiteState::new(branch.controllers.clone(), monthly, Some(offline)).with_lanes(Some(lanes)).with_doors(Some(doors)))
}

/// The whole configuration in one value (what an agent ends up holding).
pub async fn site_config(ctx: &Ctx, branch: &Branch) -> ApiResult<SiteConfig> {
    let state = site_state(ctx, branch).await?;
    Ok(state.to_config(&state.version()))
}

pub use crate::cards::site_notify::{after_card_change, card_changed};

#[cfg(test)]
mod tests;
