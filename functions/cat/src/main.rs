//! The 'cat' Lambda function: the cat interface group over the HTTP API
//! (site-facing routes, 10.4 `hb` included: its group is cat in the registry).

use onecard_lambda::Group;

#[tokio::main]
async fn main() -> Result<(), onecard_lambda::Error> {
    onecard_lambda::run_http(&[Group::Cat]).await
}
