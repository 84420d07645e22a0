//! The 'pub' Lambda function: the pub interface group over the HTTP API.

use onecard_lambda::Group;

#[tokio::main]
async fn main() -> Result<(), onecard_lambda::Error> {
    onecard_lambda::run_http(&[Group::Pub]).await
}
