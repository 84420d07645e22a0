//! The method registry: every route of the spec, its group, and the handler that
//! serves it (if built). Lambda mains and the local server both dispatch through
//! one `Registry`, so a route is written once.

mod routes;

pub use routes::ROUTES;

use crate::codes::ApiResult;
use crate::ctx::Ctx;
use crate::request::{Reply, Req};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    Park,
    Acss,
    Pls,
    Cat,
    Pub,
    Partner,
    Gate,
    Push,
}

impl Group {
    pub const SERVED: [Group; 7] = [Group::Park, Group::Acss, Group::Pls, Group::Cat, Group::Pub, Group::Partner, Group::Gate];

    pub fn name(self) -> &'static str {
        match self {
            Group::Park => "park",
            Group::Acss => "acss",
            Group::Pls => "pls",
            Group::Cat => "cat",
            Group::Pub => "pub",
            Group::Partner => "partner",
            Group::Gate => "gate",
            Group::Push => "push",
        }
    }

    pub fn parse(s: &str) -> Option<Group> {
        Group::SERVED.into_iter().chain([Group::Push]).find(|g| g.name() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    Client,
    Site,
    Partner,
    /// The cloud calls a third party; nobody calls us on it.
    Outbound,
}

#[derive(Debug, PartialEq, Eq)]
pub struct RouteSpec {
    pub section: &'static str,
    pub group: Group,
    pub actor: Actor,
    pub route: &'static str,
    pub aliases: &'static [&'static str],
    pub hardware: Option<&'static str>,
    pub title: &'static str,
}

impl RouteSpec {
    /// The HTTP path it is served at: `api.aspx/{route}` unless the spec prints
    /// the route as a path of its own.
    pub fn paths(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(self.route).chain(self.aliases.iter().copied()).map(http_path)
    }
}

pub fn http_path(route: &str) -> String {
    if route.contains('/') {
        format!("/{}", route.trim_start_matches('/'))
    } else {
        format!("/api.aspx/{route}")
    }
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = ApiResult<Reply>> + Send>>;
pub type Handler = Arc<dyn Fn(Ctx, Req) -> HandlerFuture + Send + Sync>;

/// Wraps an `async fn(Ctx, Req) -> ApiResult<Reply>` as a `Handler`.
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Ctx, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Reply>> + Send + 'static,
{
    Arc::new(move |ctx, req| Box::pin(f(ctx, req)))
}

#[derive(Clone, Default)]
pub struct Registry {
    /// Route or alias (without a leading slash) to its spec row.
    names: HashMap<&'static str, &'static RouteSpec>,
    handlers: HashMap<&'static str, Handler>,
}

impl Registry {
    /// Every route of the spec, none built yet.
    pub fn new() -> Self {
        let mut names = HashMap::new();
        for r in ROUTES {
            names.insert(r.route.trim_start_matches('/'), r);
            for a in r.aliases {
                names.entry(a.trim_start_matches('/')).or_insert(r);
            }
        }
        Registry { names, handlers: HashMap::new() }
    }

    /// Registers the handler of a route (by its canonical name).
    /// Panics at start-up on a name the spec does not have: a typo must not ship.
    pub fn handle(&mut self, route: &str, h: Handler) -> &mut Self {
        let spec = self
            .names
            .get(route.trim_start_matches('/'))
            .unwrap_or_else(|| panic!("registry: '{route}' is not a route of the spec"));
        self.handlers.insert(spec.route, h);
        self
    }

    /// Finds a route by the name or path it was called with.
    pub fn find(&self, name: &str) -> Option<&'static RouteSpec> {
        let name = name.trim_start_matches('/');
        let name = name.strip_prefix("api.aspx/").unwrap_or(name);
        self.names.get(name).copied()
    }

    pub fn handler(&self, spec: &RouteSpec) -> Option<&Handler> {
        self.handlers.get(spec.route)
    }

    pub fn is_built(&self, spec: &RouteSpec) -> bool {
        self.handlers.contains_key(spec.route)
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
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/spec/methods.tsv");
        let Ok(text) = std::fs::read_to_string(path) else {
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
        assert_eq!(http_path("calc"), "/api.aspx/calc");
        assert_eq!(http_path("/api/setDeviceInfo"), "/api/setDeviceInfo");
    }
}
