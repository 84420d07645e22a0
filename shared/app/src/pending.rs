//! Routes of the spec not built yet: each answers 501 naming its section.
//! A route leaves this list in the change that builds it (see `onecard_core::kit`);
//! `tests::every_route_is_built_or_pending` fails on a route in neither or both.

pub const PENDING: &[&str] = &[
];
