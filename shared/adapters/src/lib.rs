//! Adapters for the core ports: SQLite-backed store and queue for the local
//! server, DynamoDB and SQS for the cloud.

pub mod apigw_link;
pub mod blob_dir;
pub mod blob_s3;
mod cursor;
mod db;
pub mod dynamo_store;
pub mod embedded_dlq;
pub mod emulator;
pub mod http_out;
pub mod sdk_config;
pub mod embedded_queue;
pub mod sqlite_store;
mod sqlite_writer;
pub mod sqs_dlq;
pub mod sqs_queue;
pub mod throttle;

pub use blob_dir::DirBlobs;
pub use blob_s3::S3Blobs;
pub use dynamo_store::DynamoStore;
pub use embedded_queue::EmbeddedQueue;
pub use sqlite_store::SqliteStore;
pub use sqs_queue::SqsQueue;
