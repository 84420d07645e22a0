//! Shenzhen Power Supply Bureau 深圳供电局 (11.20-11.22): a group platform
//! over several car parks. Data-only wire with bare arrays. The caller's
//! branches (its `onecard caller --branches`) are the car parks it sees;
//! 11.22 acts on the branch its `parkId` maps to (decision 11).
//!
//! An access authorisation (11.22) is a chapter 10 card for the plate, valid
//! over the window given (open ends: from now, until 2099-12-31 23:59:59),
//! so the lanes honour it like any card.

use super::common::{self, call_route};
use super::settings;
use crate::cards::{self, lifecycle, CardState};
use crate::park::stays::{self, Journal, Stay};
use onecard_core::config::{self, Branch};
use onecard_core::kit::{self, DateTime, Plate, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Ctx, Origin, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const PARTNER: &str = "szgdj";
/// Decision 12's cap on a list answer.
const MAX_ROWS: usize = 1000;
const OPEN_END: &str = "2099-12-31 23:59:59";

fn refusal(e: &ApiError) -> Value {
    json!({"success": "false", "message": e.message})
}

/// The branches the calling platform may see.
async fn caller_branches(ctx: &Ctx, req: &Req) -> ApiResult<Vec<Branch>> {
    let all = config::list_branches(ctx.store()).await?;
    Ok(match &req.origin {
        Origin::Caller(c) => all.into_iter().filter(|b| c.may_use_branch(&b.branchno)).collect(),
        _ => vec![req.branch.clone()],
    })
}

async fn park_id(ctx: &Ctx, b: &Branch) -> ApiResult<String> {
    Ok(common::park_id(&settings::get_or_default(ctx.store(), &b.branchno, PARTNER).await?, b))
}

#[derive(Serialize, JsonSchema)]
pub struct ParkRow {
    pub id: String,
    pub name: String,
    pub location: String,
    pub total: i64,
    pub used: i64,
    pub free: i64,
}

/// 11.20: each car park with 6.3's counts.
async fn parks(ctx: Ctx, req: Req, _: kit::Empty) -> ApiResult<Vec<ParkRow>> {
    let mut rows = Vec::new();
    for b in caller_branches(&ctx, &req).await? {
        let s = settings::get_or_default(ctx.store(), &b.branchno, PARTNER).await?;
        let (total, free) = common::spaces(&ctx, &b).await?;
        rows.push(ParkRow {
            id: common::park_id(&s, &b),
            name: b.name.clone(),
            location: s.id("location").unwrap_or_default().to_string(),
            total,
            used: (total - free).max(0),
            free,
        });
    }
    Ok(rows)
}

#[derive(Deserialize, JsonSchema)]
pub struct VehicleIn {
    #[serde(rename = "lastUpdateTime")]
    pub since: DateTime,
}

#[derive(Serialize, JsonSchema)]
pub struct PassRow {
    #[serde(rename = "vehicleNumber")]
    pub plate: String,
    pub picture: String,
    /// 临时停放 or 长期停放 (a car with a monthly card).
    #[serde(rename = "parkingType")]
    pub parking_type: String,
    pub time: String,
    #[serde(rename = "parkId")]
    pub park_id: String,
    /// 0 in, 1 out.
    #[serde(rename = "type")]
    pub kind: i64,
}

/// 11.21: the entries and exits of 9.1/9.2 after `lastUpdateTime`, oldest
/// first, at most 1000 (the platform asks again from the last time it got).
async fn vehicles(ctx: Ctx, req: Req, input: VehicleIn) -> ApiResult<Vec<PassRow>> {
    let since = input.since.get() + chrono::Duration::seconds(1);
    let until = req.now + chrono::Duration::seconds(1);
    let mut rows: Vec<(chrono::NaiveDateTime, PassRow)> = Vec::new();
    for b in caller_branches(&ctx, &req).await? {
        let pid = park_id(&ctx, &b).await?;
        let monthly: std::collections::HashSet<String> = cards::monthly_plates(&ctx, &b.branchno).await?.into_iter().map(|(p, _)| p).collect();
        let kind = |s: &Stay| if monthly.contains(&kit::normalise_plate(&s.plate)) { "长期停放" } else { "临时停放" };
        for s in stays::in_window(&ctx, &b.branchno, Journal::Entries, since, until).await? {
            let picture = common::picture_url(&ctx, s.photo_in.as_deref()).await;
            rows.push((s.entry, PassRow { plate: s.display_plate(), picture, parking_type: kind(&s).into(), time: kit::stamp(s.entry), park_id: pid.clone(), kind: 0 }));
        }
        for s in stays::in_window(&ctx, &b.branchno, Journal::Exits, since, until).await? {
            let Some(at) = s.exit else { continue };
            let picture = common::picture_url(&ctx, s.photo_out.as_deref()).await;
            rows.push((at, PassRow { plate: s.display_plate(), picture, parking_type: kind(&s).into(), time: kit::stamp(at), park_id: pid.clone(), kind: 1 }));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.kind.cmp(&b.1.kind)));
    Ok(rows.into_iter().take(MAX_ROWS).map(|(_, r)| r).collect())
}

#[derive(Deserialize, JsonSchema)]
pub struct RuleIn {
    #[serde(rename = "parkId")]
    pub park_id: Text,
    #[serde(rename = "vehicleNumber")]
    pub plate: Plate,
    #[serde(rename = "startTime")]
    pub start: Option<DateTime>,
    #[serde(rename = "endTime")]
    pub end: Option<DateTime>,
}

#[derive(Serialize, JsonSchema)]
pub struct RuleOut {
    pub success: String,
}

async fn rule(ctx: Ctx, req: Req, input: RuleIn) -> ApiResult<RuleOut> {
    let start = input.start.map(|t| kit::stamp(t.get())).unwrap_or_else(|| kit::stamp(req.now));
    let end = input.end.map(|t| kit::stamp(t.get())).unwrap_or_else(|| OPEN_END.to_string());
    if end <= start {
        return Err(ApiError::field("endTime", "must be later than startTime"));
    }
    let plate = input.plate.norm().to_string();
    let existing = cards::card_for_plate(&ctx, req.branchno(), &plate).await?.filter(|c| c.state != CardState::Cancelled);
    let park = json!({"StartDate": start, "ExpiryDate": end});
    let (route, data) = match existing {
        Some(_) => ("pub.card.update", json!({"CredentialType": 1, "Credential": plate, "Park": park})),
        None => ("pub.card.add", json!({"NumNo": plate, "CardMaterial": 4, "Park": park})),
    };
    call_route(&ctx, &req.branch, lifecycle::routes(), route, data).await?;
    Ok(RuleOut { success: "true".into() })
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("szgdj/api/park", parks).refusal(refusal),
        kit::read("szgdj/api/park/vehicle", vehicles).refusal(refusal),
        kit::write("szgdj/api/park/rules/new", rule).refusal(refusal),
    ]
}
