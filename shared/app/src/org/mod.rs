//! The directory every card and door refers to: the organisation lists
//! (10.8 departments, 10.9 duties, 10.10 positions, 10.19 companies), the
//! residence tree (10.20-10.35), and the system (10.36 workstations, 10.37
//! logs, 10.48 parameters).
//!
//! Cardholders store ids; `directory` turns them into the names 10.13/10.14
//! answer, and is the lookup other modules call (`directory::names_for`, or
//! `Directory::load` once for many records). A community, building, unit or
//! room with children or cardholders is not deleted (decision 23; see
//! `residence`). The lists, workstations and parameters are written by
//! `onecard org` and `onecard import`, never by the API.
//!
//! Files: `lists` (10.8-10.10, 10.19), `residence` (the tree and its
//! integrity), `residence_routes` (10.20-10.35), `directory` (names),
//! `system` (10.36, 10.48), `syslog` (10.37), `seed` (demo data).

pub mod directory;
pub mod import;
pub mod lists;
pub mod residence;
pub mod residence_routes;
pub mod seed;
pub mod syslog;
pub mod system;

pub use directory::{names_for, Directory, Names, Refs};

use onecard_core::kit::RouteDef;

/// Every route of the directory (all of group `pub`).
pub fn routes() -> Vec<RouteDef> {
    let mut all = lists::routes();
    all.extend(residence_routes::routes());
    all.extend(system::routes());
    all.extend(syslog::routes());
    all
}
