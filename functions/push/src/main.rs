//! The 'push' Lambda function (see the library for what it does).

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), onecard_lambda::Error> {
    let pusher = fn_push::init().await?;
    let pusher = &pusher;
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<Value>| async move { fn_push::handle(pusher, ev.payload).await })).await
}
