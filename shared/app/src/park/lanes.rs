//! The branch's layout as clients see it: areas (6.95) and lane controllers
//! (6.21-6.23), read from the branch configuration.

use onecard_core::config::Controller;
use onecard_core::{handler, ApiResult, Ctx, Registry, Reply, Req};
use serde_json::{json, Value};

fn controller_row(c: &Controller) -> Value {
    json!({ "controllerNo": c.controller_no, "fullName": c.name, "deviceID": c.device_id })
}

/// 6.21-6.23 all answer every controller: the seed says the entry and exit lists
/// include both kinds (its examples list an exit among the entries), so that a
/// lane used both ways is never missing.
async fn controllers(_ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let rows = req.branch.controllers.iter().map(controller_row).collect();
    Ok(req.list(rows))
}

async fn areas(_ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let rows = req
        .branch
        .areas
        .iter()
        .map(|a| {
            // areaId is typed Int by 6.95; an area configured with a non-numeric
            // id is answered as its text rather than dropped.
            let id = a.id.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(a.id.clone()));
            json!({ "areaId": id, "areaNo": a.name, "chargeSeparate": false, "capacity": a.capacity })
        })
        .collect();
    Ok(req.list(rows))
}

pub fn register(reg: &mut Registry) {
    reg.handle("park.controllers", handler(controllers));
    reg.handle("park.in.controllers", handler(controllers));
    reg.handle("park.out.controllers", handler(controllers));
    reg.handle("park.area.list", handler(areas));
}
