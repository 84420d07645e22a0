//! What a build's `registry()` serves, for whatever features it was built
//! with: exactly the built routes of its enabled groups. Run it per function:
//!
//!     cargo test -p onecard-app --no-default-features --features pub --test registry_groups
//!
//! (an integration test, so the modules' own unit tests, which need every
//! group, are not compiled into a partial build).

use onecard_app::{pending::PENDING, registry, GROUPS, WS_GROUPS};
use onecard_core::registry::{Actor, Group};

/// The groups the features ask for, read here independently of the crate's
/// own `GROUPS` (the features reach every target of the package).
fn expected_groups() -> Vec<Group> {
    let mut g = Vec::new();
    for (on, group) in [
        (cfg!(feature = "park"), Group::Park),
        (cfg!(feature = "acss"), Group::Acss),
        (cfg!(feature = "pls"), Group::Pls),
        (cfg!(feature = "cat") || cfg!(feature = "ws"), Group::Cat),
        (cfg!(feature = "pub"), Group::Pub),
        (cfg!(feature = "partner"), Group::Partner),
        (cfg!(feature = "gate"), Group::Gate),
    ] {
        if on {
            g.push(group);
        }
    }
    g
}

#[test]
fn groups_follow_the_features() {
    assert_eq!(GROUPS, expected_groups().as_slice());
}

/// An enabled group's inbound route is built or pending (never both); a
/// disabled group's route is not built, so its handler is not linked.
#[test]
fn registry_serves_exactly_the_enabled_groups_built_routes() {
    let reg = registry();
    for spec in reg.routes().iter().filter(|s| s.actor != Actor::Outbound) {
        let built = reg.is_built(spec);
        if GROUPS.contains(&spec.group) {
            let pending = PENDING.contains(&spec.route);
            assert!(built != pending, "{} ({}, {}) is {}", spec.route, spec.section, spec.group.name(), if pending { "built and pending" } else { "neither built nor pending" });
        } else {
            // A ws build serves the site routes of park and partner too.
            let site = cfg!(feature = "ws") && spec.actor == Actor::Site;
            assert!(!built || site, "{} ({}) of group {} is built in a build of {:?}", spec.route, spec.section, spec.group.name(), GROUPS);
        }
    }
}

/// The `ws` function serves the site routes through the uplink: a build with
/// `ws` has the handler of every site route that is not pending, whichever
/// group it belongs to (cat's, and the six of park and partner it registers
/// alone).
#[test]
fn a_ws_build_serves_every_site_route() {
    if !cfg!(feature = "ws") {
        return;
    }
    let reg = registry();
    let mut served = 0;
    for spec in reg.routes().iter().filter(|s| s.actor == Actor::Site && !PENDING.contains(&s.route)) {
        assert!(WS_GROUPS.contains(&spec.group), "site route {} ({}) is in group {}: add it to WS_GROUPS and to `registry`'s ws part", spec.route, spec.section, spec.group.name());
        assert!(reg.is_built(spec), "site route {} ({}, {}) is not served by this ws build", spec.route, spec.section, spec.group.name());
        served += 1;
    }
    assert!(served >= 33, "{served} site routes");
}
