//! Chapter 8, parking guidance, the site uplinks that feed it (9.3, 9.12,
//! 9.14, 9.17) and the charging records of 6.102: one model of maps, the navigation graph, spaces, groups,
//! detectors, screens and position records. See `README.md` beside this file
//! for the model, the survey import format and which free count partners get.

pub mod charging;
pub mod devices;
pub mod graph;
pub mod maps;
pub mod model;
pub mod paths;
pub mod positions;
pub mod relay;
pub mod screens;
pub mod site_events;
pub mod spaces;
pub mod status;
pub mod store;
pub mod survey;

#[cfg(test)]
mod tests;

use onecard_core::kit::RouteDef;

/// Chapter 8's routes and the guidance uplinks of chapter 9 (the registry
/// keeps those of the enabled groups).
pub fn routes() -> Vec<RouteDef> {
    [maps::routes(), paths::routes(), positions::routes(), spaces::routes(), screens::routes(), devices::routes(), site_events::routes(), charging::routes()]
        .into_iter()
        .flatten()
        .collect()
}
