//! The spec's route table and the metadata it implies: which group serves a
//! route, who calls it, how (wire kind) and with how big a body. Depends on
//! nothing else of the crate, so the request, the kit and the registry can all
//! name a route without depending on each other.

mod routes;
mod wire;

pub use routes::ROUTES;
pub use wire::{Wire, BODY_LIMIT, MAX_BODY_LIMIT, PICTURE_BODY_LIMIT};

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
