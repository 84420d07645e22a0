//! The OneCard domain and the handlers of every group, registered in one registry.
//! Lambda mains and the local server both call `registry()`, so a route is
//! written once.

pub mod acss;
pub mod bindings;
pub mod cards;
pub mod cat;
pub mod ids;
pub mod keys;
pub mod park;
pub mod pending;
pub mod pictures;
pub mod push;
pub mod sitelink;
pub mod tariff;

use onecard_core::{ApiResult, Ctx, Registry};

/// Every route of the spec with the handlers built so far; the rest answer 501.
pub fn registry() -> Registry {
    let mut reg = Registry::new();
    park::register(&mut reg);
    cat::register(&mut reg);
    acss::register(&mut reg);
    cards::register(&mut reg);
    reg
}

/// Seeds the demo branch's business data (a default car type) the first time.
/// Idempotent: does nothing when the branch already has car types.
pub async fn seed_demo(ctx: &Ctx) -> ApiResult<()> {
    let branch = onecard_core::config::DEMO_BRANCH;
    if onecard_core::config::get_branch(ctx.store(), branch).await?.is_none() || !park::cartype::list(ctx, branch).await?.is_empty() {
        return Ok(());
    }
    let d = onecard_core::kit::input::parse(serde_json::json!({"carTypeName": "小型车", "defaultCharge": true}))?;
    let car_type = park::cartype::create(ctx, branch, &d).await?;
    // The default car type needs a tariff, or the demo car park cannot price a stay.
    if let Some(b) = onecard_core::config::get_branch(ctx.store(), branch).await? {
        let now = onecard_core::time::to_local(ctx.clock.now(), &b.tz);
        let tariff = onecard_core::kit::input::parse(park::tariffs::demo_tariff(car_type.id))?;
        park::tariffs::create_temp(ctx, &b, &tariff, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use onecard_core::registry::Actor;

    /// Every inbound route of the spec is either built or on the explicit
    /// pending list, never both, and the pending list names real routes.
    #[test]
    fn every_route_is_built_or_pending() {
        let reg = super::registry();
        for spec in reg.routes().iter().filter(|s| s.actor != Actor::Outbound) {
            let pending = super::pending::PENDING.contains(&spec.route);
            assert!(reg.is_built(spec) != pending, "{} ({}) is {}", spec.route, spec.section, if pending { "built and pending" } else { "neither built nor pending" });
        }
        for name in super::pending::PENDING {
            assert!(reg.find(name).is_some_and(|s| s.route == *name), "pending '{name}' is not a route name");
        }
    }

    /// The OpenAPI document lists every inbound route, built or not.
    #[test]
    fn openapi_lists_all_262_inbound_routes() {
        let doc = onecard_core::openapi::document(&super::registry());
        assert_eq!(doc["paths"].as_object().unwrap().len(), 262);
        assert!(doc["paths"]["/api.aspx/park.cartype.add"]["post"]["x-handler"].as_str().unwrap().contains("park::cartype::add"));
    }
}
