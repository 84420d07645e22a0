//! People at doors and gates: visitors (10.3, 10.48, 10.49, 10.55, 10.56),
//! faces (10.43-10.47, 10.50-10.52, the 10.53 pushes), phones and codes
//! (10.1, 10.2, 10.38, 10.40, 10.41), the channel gates' cards (12.1) and
//! intercom calls (9.26, moved on by 6.104/6.105). Door access itself
//! (doors, grants, the site's rules) is `crate::acss`.

pub mod device;
pub mod faces;
pub mod intercom;
pub mod phones;
pub mod pictures;
pub mod recognition;
pub mod visitors;

use onecard_core::kit::RouteDef;

/// Every route of the module; `crate::registry` keeps those of the enabled groups.
pub fn routes() -> Vec<RouteDef> {
    let mut all = Vec::new();
    all.extend(visitors::routes());
    all.extend(faces::routes());
    all.extend(phones::routes());
    all.extend(intercom::routes());
    all.extend(recognition::routes());
    all
}
