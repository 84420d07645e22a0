//! The OneCard domain and the handlers of every group, registered in one registry.
//! Lambda mains and the local server both call `registry()`, so a route is
//! written once.
//!
//! One Cargo feature per group (`park`, `acss`, `pls`, `cat`, `pub`,
//! `partner`, `gate`) plus `push` and `ws` for the two functions that are not
//! a group's HTTP API; the default is all of them (the local server, the
//! agent, the tests). A Lambda enables its own group only: `registry()` then
//! registers that group's routes and nothing else, so the linker drops every
//! other handler, and modules no enabled group uses are not compiled at all.
//!
//! Modules by what needs them (dependencies between modules decide, not
//! chapters): parking (`park`, its `push::records` and
//! `push::verify`, and through `cat` and `push` back to `park`) is one
//! connected set, `parking`, that every group but `gate` needs now: `park`,
//! `acss`, `cat`, `pls` (guidance reads stays and lane hardware), `pub`
//! (Alipay WAP 10.5-10.7 commits payments), `partner` (chapter 11 pays
//! through 6.2), `push` and `ws`. `gate` has no handler built
//! yet, and its function answers 501 from the registry alone.

// A partial build leaves helpers that only another group's handlers call.
#![cfg_attr(not(all(feature = "park", feature = "acss", feature = "pls", feature = "cat", feature = "pub", feature = "partner", feature = "gate", feature = "push", feature = "ws")), allow(dead_code, unused_imports))]

#[cfg(feature = "people")]
pub mod acss;
#[cfg(test)]
mod demo_ctx;
#[cfg(feature = "parking")]
pub mod bindings;
#[cfg(feature = "people")]
pub mod brands;
#[cfg(feature = "people")]
pub mod cards;
#[cfg(feature = "parking")]
pub mod cat;
#[cfg(feature = "parking")]
pub mod discounts;
#[cfg(feature = "people")]
pub mod ids;
#[cfg(feature = "people")]
pub mod keys;
#[cfg(feature = "parking")]
pub mod lanes;
#[cfg(any(feature = "parking", feature = "pub"))]
pub mod org;
#[cfg(feature = "parking")]
pub mod merchants;
#[cfg(feature = "parking")]
pub mod park;
// The ws function serves three partners' site routes (`partners::register_site`).
#[cfg(any(feature = "partner", feature = "ws"))]
pub mod partners;
/// Chapter 11's outbound hooks at the lanes: the entry code calls them, so
/// they build with parking even where no partner route does.
#[cfg(feature = "parking")]
#[path = "partners/hooks.rs"]
pub mod partner_hooks;
#[cfg(feature = "people")]
pub mod people;
pub mod pending;
#[cfg(feature = "parking")]
pub mod payments;
#[cfg(feature = "parking")]
pub mod pictures;
#[cfg(feature = "parking")]
pub mod pls;
#[cfg(feature = "parking")]
pub mod push;
#[cfg(feature = "sitelink")]
pub mod sitelink;
#[cfg(feature = "people")]
pub mod tariff;

use onecard_core::kit::RouteDef;
use onecard_core::registry::{Group, ROUTES};
use onecard_core::{ApiResult, Ctx, Registry};

/// The groups whose routes this build registers (its features).
pub const GROUPS: &[Group] = &[
    #[cfg(feature = "park")]
    Group::Park,
    #[cfg(feature = "acss")]
    Group::Acss,
    #[cfg(feature = "pls")]
    Group::Pls,
    #[cfg(feature = "cat")]
    Group::Cat,
    #[cfg(feature = "pub")]
    Group::Pub,
    #[cfg(feature = "partner")]
    Group::Partner,
    #[cfg(feature = "gate")]
    Group::Gate,
];

/// The groups of the site routes (`Actor::Site`) the `ws` function serves
/// through the uplink. Every cat route is a site route; of park and partner
/// only six are (6.103; 11.24, 11.25, 11.30, 11.38, 11.39), so the `ws`
/// feature enables cat and registers those six alone (`registry`): the ws
/// bootstrap links none of park's or the partners' other handlers. A test
/// checks that a build with `ws` serves every built site route.
pub const WS_GROUPS: &[Group] = &[Group::Cat, Group::Park, Group::Partner];

/// Every route of the spec with the handlers of the enabled groups; the rest
/// answer 501.
pub fn registry() -> Registry {
    // Not mutated in a build whose groups have no handler yet (pls, gate, push).
    #[allow(unused_mut)]
    let mut reg = Registry::new();
    #[cfg(feature = "park")]
    park::register(&mut reg);
    #[cfg(feature = "cat")]
    cat::register(&mut reg);
    #[cfg(feature = "acss")]
    acss::register(&mut reg);
    #[cfg(feature = "partner")]
    partners::register(&mut reg);
    // Cards serve two groups: parking's card routes (6.4-6.8, 6.32-6.39) and
    // the holders' (10.11-10.18); the lifecycle module has both.
    #[cfg(feature = "park")]
    {
        use cards::{catalog, monthly, queries, stored};
        add(&mut reg, [monthly::routes(), stored::routes(), queries::routes(), catalog::routes()]);
    }
    #[cfg(any(feature = "park", feature = "pub"))]
    add(&mut reg, [cards::lifecycle::routes()]);
    #[cfg(feature = "pub")]
    add(&mut reg, [cards::holders::routes(), org::routes()]);
    // Visitors, faces, phones (pub), 9.26 (cat) and 12.1 (gate).
    #[cfg(feature = "people")]
    add(&mut reg, [people::routes()]);
    // Brands (6.36) and the lanes' routes (6.12-6.19, 6.54, 6.65-6.79, 9.4)
    // are parking's, 9.4 the site's: filtered by group like the cards.
    #[cfg(feature = "parking")]
    {
        use lanes::{blacklist, bookings, groups, locks};
        add(&mut reg, [brands::routes(), blacklist::routes(), bookings::routes(), locks::routes(), groups::routes()]);
        add(&mut reg, [payments::routes()]);
        add(&mut reg, [discounts::routes()]);
        // Parking guidance (chapter 8), its site uplinks (9.3, 9.12, 9.14, 9.17),
        // 6.102 charging records and 6.103 plate reports (a park route of the site).
        add(&mut reg, [pls::routes(), cat::plate_reports::routes()]);
    }
    // The ws function without the park and partner groups: their site routes
    // alone (see `WS_GROUPS`).
    #[cfg(all(feature = "ws", not(feature = "park")))]
    reg.add(cat::plate_reports::routes());
    #[cfg(all(feature = "ws", not(feature = "partner")))]
    partners::register_site(&mut reg);
    reg
}

/// Adds the routes of the enabled groups from route lists that may mix groups.
fn add<L: IntoIterator<Item = RouteDef>>(reg: &mut Registry, lists: impl IntoIterator<Item = L>) {
    let enabled = |d: &RouteDef| ROUTES.iter().any(|r| r.route == d.name && GROUPS.contains(&r.group));
    for list in lists {
        reg.add(list.into_iter().filter(enabled));
    }
}

/// Seeds the demo branch's business data (a default car type, blacklist types
/// and hints, a booking configuration) and the car brands of a new store.
/// Idempotent: each part is written once; brands are never overwritten.
#[cfg(feature = "park")]
pub async fn seed_demo(ctx: &Ctx) -> ApiResult<()> {
    brands::ensure_seeded(ctx.store()).await?;
    let branch = onecard_core::config::DEMO_BRANCH;
    let Some(b) = onecard_core::config::get_branch(ctx.store(), branch).await? else { return Ok(()) };
    let now = onecard_core::time::to_local(ctx.clock.now(), &b.tz);
    // One line per capability; each seeder is idempotent (it checks before it
    // writes), so a restarted server seeds nothing twice.
    lanes::blacklist::seed_demo(ctx.store(), branch, now).await?;
    lanes::bookings::seed_demo(ctx.store(), branch).await?;
    payments::seed_demo(ctx, branch).await?;
    org::seed::seed_demo(ctx.store(), branch, onecard_core::config::DEMO_AGENT).await?;
    acss::store::seed_demo(ctx.store(), branch).await?;
    seed_car_type(ctx, &b, now).await?;
    #[cfg(feature = "partner")]
    partners::seed_demo(ctx, branch).await?;
    discounts::import::seed_demo(ctx, branch, now).await?;
    pls::survey::seed_demo(ctx.store(), ctx.blobs().as_ref(), branch).await.map_err(|e| onecard_core::ApiError::system(e))?;
    Ok(())
}

/// The default car type with its tariff, or the demo car park cannot price a stay.
#[cfg(feature = "parking")]
async fn seed_car_type(ctx: &Ctx, b: &onecard_core::config::Branch, now: chrono::NaiveDateTime) -> ApiResult<()> {
    if !park::cartype::list(ctx, &b.branchno).await?.is_empty() {
        return Ok(());
    }
    let d = onecard_core::kit::input::parse(serde_json::json!({"carTypeName": "小型车", "defaultCharge": true}))?;
    let car_type = park::cartype::create(ctx, &b.branchno, &d).await?;
    let tariff = onecard_core::kit::input::parse(park::tariffs::demo_tariff(car_type.id))?;
    park::tariffs::create_temp(ctx, b, &tariff, now).await?;
    Ok(())
}

#[cfg(all(test, feature = "park", feature = "acss", feature = "pls", feature = "cat", feature = "pub", feature = "partner", feature = "gate", feature = "push", feature = "ws"))]
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

    /// `registry()` names the card modules itself (they serve two groups):
    /// it must register everything `cards::register` does.
    #[test]
    fn registry_has_every_card_route() {
        let (mut cards, all) = (onecard_core::Registry::new(), super::registry());
        super::cards::register(&mut cards);
        let built: Vec<_> = cards.routes().iter().filter(|s| cards.is_built(s)).collect();
        assert!(built.len() > 20, "{}", built.len());
        for spec in built {
            assert!(all.is_built(spec), "{} is in cards::register but not in registry()", spec.route);
        }
    }

    /// The OpenAPI document lists every inbound route, built or not.
    #[cfg(feature = "schemas")]
    #[test]
    fn openapi_lists_all_262_inbound_routes() {
        let doc = onecard_core::openapi::document(&super::registry());
        assert_eq!(doc["paths"].as_object().unwrap().len(), 262);
        assert!(doc["paths"]["/api.aspx/park.cartype.add"]["post"]["x-handler"].as_str().unwrap().contains("park::cartype::add"));
    }
}
