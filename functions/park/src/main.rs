//! The 'park' Lambda function: the park interface group over the HTTP API.

use onecard_lambda::Group;

#[tokio::main]
async fn main() -> Result<(), onecard_lambda::Error> {
    onecard_lambda::run_http(&[Group::Park]).await
}
