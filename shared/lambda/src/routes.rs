//! Which Lambda function serves which route: the single source for the mains,
//! for `infra/gen-template.py` (through `examples/print_routes.rs`) and for the
//! test that checks `template.yaml` against the registry.

use onecard_core::registry::{Actor, Group, Registry, ROUTES};
use std::collections::BTreeMap;

/// Every HTTP function: its binary name (the `Binary` of its SAM `Metadata`)
/// and the groups it serves. One group per function; 10.4 `hb` is in group
/// `cat` in the registry, so the `cat` function serves it.
pub const FUNCTIONS: &[(&str, &[Group])] = &[
    ("park", &[Group::Park]),
    ("acss", &[Group::Acss]),
    ("pls", &[Group::Pls]),
    ("cat", &[Group::Cat]),
    ("pub", &[Group::Pub]),
    ("partner", &[Group::Partner]),
    ("gate", &[Group::Gate]),
];

/// The binary name of the function serving `group` (`None` for `push`, which
/// is not served over HTTP).
pub fn function_of(group: Group) -> Option<&'static str> {
    FUNCTIONS.iter().find(|(_, gs)| gs.contains(&group)).map(|(name, _)| *name)
}

/// Every HTTP path a caller may POST to, each mapped to the function serving it.
/// Routes and aliases of every route that is not outbound; where an alias is
/// also printed as a route of its own, the path goes where the registry sends it.
pub fn served_paths() -> BTreeMap<String, &'static str> {
    let reg = Registry::new();
    let mut out = BTreeMap::new();
    for r in ROUTES.iter().filter(|r| r.actor != Actor::Outbound) {
        for path in r.paths() {
            let Some(spec) = reg.find(&path) else { continue };
            if spec.actor == Actor::Outbound {
                continue;
            }
            let f = function_of(spec.group).unwrap_or_else(|| panic!("no function serves group {:?}", spec.group));
            out.insert(path, f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_group_has_a_function() {
        for g in Group::SERVED {
            assert!(function_of(g).is_some(), "{g:?}");
        }
        assert_eq!(function_of(Group::Push), None);
        assert_eq!(served_paths().get("/api.aspx/hb"), Some(&"cat"));
        assert_eq!(served_paths().get("/api.aspx/calc"), Some(&"park"));
        assert_eq!(served_paths().get("/api.aspx/getstates"), Some(&"park"));
        assert!(served_paths().keys().all(|p| p.starts_with('/')));
    }
}
