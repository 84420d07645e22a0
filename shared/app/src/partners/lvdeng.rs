//! placeholder
use onecard_core::kit::RouteDef;
pub fn routes() -> Vec<RouteDef> { vec![] }
