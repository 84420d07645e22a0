//! The method registry: every route of the spec, its group, and the handler that
//! serves it (if built). Lambda mains and the local server both dispatch through
//! one `Registry`, so a route is written once.

pub use crate::kit::{Handler, HandlerFuture};
pub use crate::spec::{http_path, Actor, Group, RouteSpec, Wire, BODY_LIMIT, MAX_BODY_LIMIT, PICTURE_BODY_LIMIT, ROUTES};

use crate::kit::RouteDef;
use std::collections::HashMap;
use std::sync::Arc;

fn key(route: &str) -> String {
    route.trim_start_matches('/').to_ascii_lowercase()
}

#[derive(Clone, Default)]
pub struct Registry {
    /// Route or alias (without a leading slash, lower-cased: ASP.NET clients
    /// do not keep case) to its spec row.
    names: HashMap<String, &'static RouteSpec>,
    routes: HashMap<&'static str, Arc<RouteDef>>,
}

impl Registry {
    /// Every route of the spec, none built yet.
    pub fn new() -> Self {
        let mut names = HashMap::new();
        for r in ROUTES {
            names.insert(key(r.route), r);
            for a in r.aliases {
                names.entry(key(a)).or_insert(r);
            }
        }
        Registry { names, routes: HashMap::new() }
    }

    /// Adds built routes. Panics at start-up on a name the spec does not have
    /// (a typo must not ship) and on a route registered twice (two handlers for
    /// one route would make the answer depend on registration order).
    pub fn add(&mut self, defs: impl IntoIterator<Item = RouteDef>) -> &mut Self {
        for def in defs {
            let spec = self
                .names
                .get(&key(def.name))
                .copied()
                .unwrap_or_else(|| panic!("registry: '{}' is not a route of the spec", def.name));
            assert_eq!(spec.route, def.name, "registry: register '{}' under its route name, not an alias", def.name);
            if let Some(old) = self.routes.insert(spec.route, Arc::new(def)) {
                panic!("registry: '{}' is registered twice ({} and another handler)", spec.route, old.source);
            }
        }
        self
    }

    /// Finds a route by the name or path it was called with, in any case.
    pub fn find(&self, name: &str) -> Option<&'static RouteSpec> {
        let name = name.trim_start_matches('/');
        let name = match name.get(..9) {
            Some(p) if p.eq_ignore_ascii_case("api.aspx/") => &name[9..],
            _ => name,
        };
        self.names.get(&key(name)).copied()
    }

    pub fn handler(&self, spec: &RouteSpec) -> Option<&Handler> {
        self.routes.get(spec.route).map(|d| &d.handler)
    }

    /// The built route's definition (effect, source, schemas).
    pub fn def(&self, spec: &RouteSpec) -> Option<&RouteDef> {
        self.routes.get(spec.route).map(|d| &**d)
    }

    pub fn is_built(&self, spec: &RouteSpec) -> bool {
        self.routes.contains_key(spec.route)
    }

    pub fn routes(&self) -> &'static [RouteSpec] {
        ROUTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry covers every row of the kit's route list, aliases included.
    #[test]
    fn covers_methods_tsv() {
        // The manifest dir cargo gives the running test, not the one compiled
        // in: a shared target dir can hand over a binary built elsewhere.
        let path = format!("{}/../../../shared/spec/methods.tsv", std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()));
        let Ok(text) = std::fs::read_to_string(&path) else {
            panic!("the kit's methods.tsv is not at {path}");
        };
        let reg = Registry::new();
        let mut rows = 0;
        for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let f: Vec<&str> = line.split('\t').collect();
            let (group, route, aliases) = (f[1], f[3], f[4]);
            let spec = reg.find(route).unwrap_or_else(|| panic!("route {route} missing"));
            assert_eq!(spec.group.name(), group, "{route} in the wrong group");
            for a in aliases.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                // The seed prints a few aliases that are routes of their own
                // (e.g. park.monthtariff.query): the route wins.
                if ROUTES.iter().any(|r| r.route == a) {
                    continue;
                }
                assert_eq!(reg.find(a).map(|s| s.route), Some(spec.route), "alias {a} of {route}");
            }
            rows += 1;
        }
        assert_eq!(rows, ROUTES.len());
        assert_eq!(rows, 287);
    }

    #[test]
    fn paths() {
        let reg = Registry::new();
        assert_eq!(reg.find("api.aspx/calc").unwrap().section, "6.1");
        assert_eq!(reg.find("/maoku/Maoku.GetTraffic").unwrap().section, "11.16");
        assert_eq!(reg.find("getstates").unwrap().route, "park.lot.status.total");
        assert!(reg.find("park.no.such").is_none());
        assert_eq!(reg.find("API.ASPX/Park.CarType.Query").unwrap().section, "6.90");
        assert_eq!(http_path("calc"), "/api.aspx/calc");
        assert_eq!(http_path("/api/setDeviceInfo"), "/api/setDeviceInfo");
    }
}
