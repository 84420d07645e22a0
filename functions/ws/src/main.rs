//! The 'ws' Lambda function: the API Gateway WebSocket API's `$connect`,
//! `$disconnect` and `$default` routes, i.e. the cloud's end of the agent link.

#[tokio::main]
async fn main() -> Result<(), onecard_lambda::Error> {
    onecard_lambda::run_ws().await
}
