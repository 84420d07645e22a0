//! The 'pls' Lambda function: the pls interface group over the HTTP API.

use onecard_lambda::Group;

#[tokio::main]
async fn main() -> Result<(), onecard_lambda::Error> {
    onecard_lambda::run_http(&[Group::Pls]).await
}
