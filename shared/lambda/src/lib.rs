//! Lambda glue shared by every function main. (The runtime glue lands once the
//! DynamoDB/SQS adapters are in; the route table is here already for the
//! template generator.)

pub mod routes;

pub use onecard_core::registry::Group;
pub use routes::{function_of, served_paths, FUNCTIONS};
