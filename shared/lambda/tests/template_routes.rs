//! `template.yaml` against the registry: every served route and alias is an
//! HTTP API route of the function serving its group, nothing else is, and the
//! rest of the stack (push on SQS, ws on the WebSocket API, the table, the
//! queues, IAM) has the properties the functions rely on.
//!
//! The template uses long-form intrinsics only (`Ref:`, `Fn::GetAtt:`,
//! `Fn::Sub:`), so a plain YAML parser reads it.

use onecard_lambda::served_paths;
use std::collections::{BTreeMap, BTreeSet};
use yaml_rust2::{Yaml, YamlLoader};

const HTTP_ROUTE_QUOTA: usize = 300;
const HTTP_FUNCTIONS: [&str; 7] = ["park", "acss", "pls", "cat", "pub", "partner", "gate"];
const SITE_SENDERS: [&str; 4] = ["park", "acss", "gate", "pub"];
const QUEUE_SENDERS: [&str; 6] = ["park", "acss", "cat", "pub", "partner", "gate"];

struct Template {
    text: String,
    doc: Yaml,
}

fn template() -> Template {
    // The manifest dir cargo gives the running test, not the one compiled in:
    // a shared target dir can hand over a binary built in another checkout.
    let path = format!("{}/../../template.yaml", std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut docs = YamlLoader::load_from_str(&text).expect("template.yaml is plain YAML");
    assert_eq!(docs.len(), 1);
    Template { text, doc: docs.remove(0) }
}

impl Template {
    fn resource(&self, id: &str) -> &Yaml {
        let r = &self.doc["Resources"][id];
        assert!(!r.is_badvalue(), "resource {id} is missing");
        r
    }

    fn resources_of_type<'a>(&'a self, ty: &'a str) -> impl Iterator<Item = (&'a str, &'a Yaml)> + 'a {
        self.doc["Resources"]
            .as_hash()
            .expect("Resources")
            .iter()
            .filter(move |(_, v)| v["Type"].as_str() == Some(ty))
            .map(|(k, v)| (k.as_str().unwrap(), v))
    }

    /// Logical id of the function whose binary is `bin`.
    fn function_id(&self, bin: &str) -> String {
        let found: Vec<&str> = self
            .resources_of_type("AWS::Serverless::Function")
            .filter(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(bin))
            .map(|(id, _)| id)
            .collect();
        assert_eq!(found.len(), 1, "exactly one function builds binary {bin}: {found:?}");
        found[0].to_string()
    }

    fn function(&self, bin: &str) -> &Yaml {
        self.resource(&self.function_id(bin))
    }

    /// `(function binary, path)` of every route of the HTTP API's OpenAPI body.
    fn http_routes(&self) -> BTreeMap<String, String> {
        let body = &self.resource("HttpApi")["Properties"]["DefinitionBody"];
        let integrations = body["components"]["x-amazon-apigateway-integrations"].as_hash().expect("integrations");
        let mut by_integration = BTreeMap::new();
        for (name, integ) in integrations {
            let name = name.as_str().unwrap();
            assert_eq!(integ["type"].as_str(), Some("aws_proxy"), "{name}");
            assert_eq!(integ["payloadFormatVersion"].as_str(), Some("2.0"), "{name}");
            let uri = integ["uri"]["Fn::Sub"].as_str().expect("uri is a Fn::Sub");
            let id = uri
                .split("${")
                .filter_map(|s| s.split_once('}').map(|(v, _)| v))
                .find_map(|v| v.strip_suffix(".Arn"))
                .unwrap_or_else(|| panic!("integration {name} names no function: {uri}"));
            let bin = self.resource(id)["Metadata"]["BuildProperties"]["Binary"].as_str().expect("Binary");
            by_integration.insert(name.to_string(), bin.to_string());
        }
        let mut out = BTreeMap::new();
        for (path, item) in body["paths"].as_hash().expect("paths") {
            let path = path.as_str().unwrap().to_string();
            if path == PICTURE_PATH {
                continue;
            }
            let methods: Vec<&str> = item.as_hash().unwrap().keys().map(|k| k.as_str().unwrap()).collect();
            assert_eq!(methods, ["post"], "{path} is served on POST only");
            let r = item["post"]["x-amazon-apigateway-integration"]["$ref"].as_str().expect("$ref");
            let name = r.strip_prefix("#/components/x-amazon-apigateway-integrations/").expect("integration ref");
            let bin = by_integration.get(name).unwrap_or_else(|| panic!("{path}: no integration {name}"));
            assert!(out.insert(path.clone(), bin.clone()).is_none(), "{path} twice");
        }
        out
    }
}

fn strings(y: &Yaml) -> Vec<&str> {
    match y {
        Yaml::Array(v) => v.iter().filter_map(Yaml::as_str).collect(),
        Yaml::String(s) => vec![s.as_str()],
        _ => vec![],
    }
}

/// Text of a value (for looking into `Fn::Sub` strings and references).
fn flat(y: &Yaml) -> String {
    match y {
        Yaml::String(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Array(v) => v.iter().map(flat).collect::<Vec<_>>().join(" "),
        Yaml::Hash(h) => h.iter().map(|(k, v)| format!("{}:{}", flat(k), flat(v))).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}

fn policies(f: &Yaml) -> String {
    flat(&f["Properties"]["Policies"])
}

fn env(f: &Yaml, var: &str) -> String {
    flat(&f["Properties"]["Environment"]["Variables"][var])
}

/// The agent's `PUT /site/pictures/{sha}` (decision 16), not a registry route.
const PICTURE_PATH: &str = "/site/pictures/{sha}";

#[test]
fn the_picture_upload_goes_to_cat_which_keeps_pictures_in_the_bucket() {
    let t = template();
    let body = &t.resource("HttpApi")["Properties"]["DefinitionBody"];
    let item = &body["paths"][PICTURE_PATH];
    let methods: Vec<&str> = item.as_hash().expect("the picture path is served").keys().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(methods, ["put"]);
    assert_eq!(item["put"]["x-amazon-apigateway-integration"]["$ref"].as_str(), Some("#/components/x-amazon-apigateway-integrations/cat"));
    assert_eq!(t.resource("PictureBucket")["Type"].as_str(), Some("AWS::S3::Bucket"));
    let cat = t.function("cat");
    assert_eq!(env(cat, "ONECARD_BUCKET"), "Ref:PictureBucket");
    assert!(policies(cat).contains("S3CrudPolicy"), "{}", policies(cat));
    // Every function reads pictures back (6.9/6.10 getphoto, 13.7, faces,
    // maps, positions); those whose routes or uplinks store them write too:
    // pls (8.x maps, 9.17), pub (visitors' and faces' pictures), ws (the
    // site uplinks' records and recognitions), cat (above).
    for bin in ["park", "push", "acss", "partner", "gate"] {
        let f = t.function(bin);
        assert_eq!(env(f, "ONECARD_BUCKET"), "Ref:PictureBucket", "{bin}");
        assert!(policies(f).contains("S3ReadPolicy"), "{bin}");
    }
    for bin in ["pls", "pub", "ws"] {
        let f = t.function(bin);
        assert_eq!(env(f, "ONECARD_BUCKET"), "Ref:PictureBucket", "{bin}");
        assert!(policies(f).contains("S3CrudPolicy"), "{bin}");
    }
    // cat's one invoke permission covers the PUT.
    let perm = t
        .resources_of_type("AWS::Lambda::Permission")
        .find(|(_, p)| flat(&p["Properties"]["FunctionName"]) == format!("Ref:{}", t.function_id("cat")))
        .expect("cat permission");
    assert!(flat(&perm.1["Properties"]["SourceArn"]).contains("${HttpApi}/*/*/*"));
}

#[test]
fn http_routes_are_the_registry() {
    let t = template();
    let got = t.http_routes();
    let want: BTreeMap<String, String> = served_paths().into_iter().map(|(p, f)| (p, f.to_string())).collect();
    let missing: Vec<_> = want.iter().filter(|(p, f)| got.get(*p) != Some(f)).collect();
    let extra: Vec<_> = got.iter().filter(|(p, f)| want.get(*p) != Some(f)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "template.yaml is stale (python3 infra/gen-template.py):\n missing or misrouted {missing:?}\n extra {extra:?}"
    );
    assert!(got.len() <= HTTP_ROUTE_QUOTA, "{} routes: an HTTP API allows {HTTP_ROUTE_QUOTA}", got.len());
    // Every served function has routes, and the header note tells the count.
    let by_fn: BTreeSet<&str> = got.values().map(String::as_str).collect();
    assert_eq!(by_fn, HTTP_FUNCTIONS.into_iter().collect());
    // The registry's routes and the agent's picture upload.
    assert!(t.text.contains(&format!("# HTTP routes: {} (limit {HTTP_ROUTE_QUOTA}", got.len() + 1)));
    assert_eq!(got.get("/api.aspx/hb").map(String::as_str), Some("cat"));
}

#[test]
fn long_form_intrinsics_only() {
    let t = template();
    for tag in ["!Ref", "!GetAtt", "!Sub", "!Join", "!If", "!Select"] {
        assert!(!t.text.contains(tag), "short-form {tag}: a plain YAML parser cannot read it");
    }
    assert_eq!(t.doc["Transform"].as_str(), Some("AWS::Serverless-2016-10-31"));
    for p in ["Stage", "LogLevel"] {
        assert!(!t.doc["Parameters"][p].is_badvalue(), "parameter {p}");
    }
}

#[test]
fn functions_build_and_run_the_same_way() {
    let t = template();
    let bins: BTreeSet<&str> = t
        .resources_of_type("AWS::Serverless::Function")
        .map(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"].as_str().expect("Binary"))
        .collect();
    let want: BTreeSet<&str> = HTTP_FUNCTIONS.into_iter().chain(["push", "ws"]).collect();
    assert_eq!(bins, want);
    for bin in &want {
        let f = t.function(bin);
        assert_eq!(f["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"), "{bin}");
        let p = &f["Properties"];
        assert_eq!(p["Runtime"].as_str(), Some("provided.al2023"), "{bin}");
        assert_eq!(p["Handler"].as_str(), Some("bootstrap"), "{bin}");
        assert_eq!(strings(&p["Architectures"]), ["arm64"], "{bin}");
        assert!(policies(f).contains("DynamoDBCrudPolicy:TableName:Ref:Table"), "{bin}: {}", policies(f));
    }
    let globals = &t.doc["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(flat(&globals["ONECARD_TABLE"]), "Ref:Table");
    assert_eq!(flat(&globals["RUST_LOG"]), "Ref:LogLevel");
}

#[test]
fn http_functions_iam_and_environment() {
    let t = template();
    for bin in HTTP_FUNCTIONS {
        let f = t.function(bin);
        let id = t.function_id(bin);
        let pol = policies(f);
        let sends = QUEUE_SENDERS.contains(&bin);
        assert_eq!(pol.contains("SQSSendMessagePolicy"), sends, "{bin}: {pol}");
        assert_eq!(env(f, "ONECARD_QUEUE_URL") == "Ref:Queue", sends, "{bin}");
        let commands = SITE_SENDERS.contains(&bin);
        assert_eq!(pol.contains("execute-api:ManageConnections"), commands, "{bin}: {pol}");
        assert_eq!(env(f, "ONECARD_WS_ENDPOINT").contains("https://${WsApi}.execute-api."), commands, "{bin}");
        assert!(!pol.contains("SQSPollerPolicy"), "{bin}");
        // One invoke permission for the HTTP API (not one per route: the
        // function policy is capped at 20 KB).
        let perms: Vec<_> = t
            .resources_of_type("AWS::Lambda::Permission")
            .filter(|(_, p)| flat(&p["Properties"]["FunctionName"]) == format!("Ref:{id}"))
            .collect();
        assert_eq!(perms.len(), 1, "{bin}");
        let p = &perms[0].1["Properties"];
        assert_eq!(p["Principal"].as_str(), Some("apigateway.amazonaws.com"));
        assert!(flat(&p["SourceArn"]).contains("${HttpApi}/"), "{bin}");
    }
}

#[test]
fn push_on_the_queue_and_a_schedule() {
    let t = template();
    let push = t.function("push");
    let timeout = push["Properties"]["Timeout"].as_i64().expect("push Timeout");
    let ev = &push["Properties"]["Events"];
    let sqs = ev.as_hash().unwrap().values().find(|e| e["Type"].as_str() == Some("SQS")).expect("an SQS event");
    assert_eq!(flat(&sqs["Properties"]["Queue"]), "Fn::GetAtt:Queue Arn");
    assert!(sqs["Properties"]["BatchSize"].as_i64().unwrap() >= 1);
    assert_eq!(strings(&sqs["Properties"]["FunctionResponseTypes"]), ["ReportBatchItemFailures"]);
    let sched = ev.as_hash().unwrap().values().find(|e| e["Type"].as_str() == Some("Schedule")).expect("a schedule");
    assert_eq!(sched["Properties"]["Schedule"].as_str(), Some("rate(1 minute)"));
    let pol = policies(push);
    assert!(pol.contains("SQSPollerPolicy:QueueName:Fn::GetAtt:Queue QueueName"), "{pol}");
    assert_eq!(env(push, "ONECARD_QUEUE_URL"), "Ref:Queue");
    assert_eq!(env(push, "ONECARD_DLQ_URL"), "Ref:DeadLetterQueue");

    let q = &t.resource("Queue")["Properties"];
    assert!(q["VisibilityTimeout"].as_i64().unwrap() >= 6 * timeout, "visibility >= 6 x push timeout ({timeout})");
    assert_eq!(flat(&q["RedrivePolicy"]["deadLetterTargetArn"]), "Fn::GetAtt:DeadLetterQueue Arn");
    // The push function dead-letters after 24 h of retries (decision 18); the
    // queue's redrive must not give up first.
    let policy = onecard_app::push::RetryPolicy::default();
    let (mut t_secs, mut receives) = (0u64, 1i64);
    while let onecard_app::push::retry::Next::RetryAfter(d) = policy.after_failure(receives as u32, std::time::Duration::from_secs(t_secs)) {
        t_secs += d.as_secs();
        receives += 1;
    }
    let max_receive = q["RedrivePolicy"]["maxReceiveCount"].as_i64().unwrap();
    assert!(max_receive >= 2 * receives, "maxReceiveCount {max_receive} vs {receives} receives in a 24 h window");
    assert_eq!(t.resource("DeadLetterQueue")["Type"].as_str(), Some("AWS::SQS::Queue"));
}

#[test]
fn ws_on_the_websocket_api() {
    let t = template();
    let api = t.resource("WsApi");
    assert_eq!(api["Type"].as_str(), Some("AWS::ApiGatewayV2::Api"));
    assert_eq!(api["Properties"]["ProtocolType"].as_str(), Some("WEBSOCKET"));
    let integ = t.resource("WsIntegration");
    assert_eq!(integ["Properties"]["IntegrationType"].as_str(), Some("AWS_PROXY"));
    assert!(flat(&integ["Properties"]["IntegrationUri"]).contains("${WsFunction.Arn}"));
    let ws_id = t.function_id("ws");
    assert_eq!(ws_id, "WsFunction");
    let keys: BTreeSet<&str> = t
        .resources_of_type("AWS::ApiGatewayV2::Route")
        .inspect(|(id, r)| {
            assert_eq!(flat(&r["Properties"]["ApiId"]), "Ref:WsApi", "{id}");
            assert_eq!(flat(&r["Properties"]["Target"]), "Fn::Sub:integrations/${WsIntegration}", "{id}");
        })
        .map(|(_, r)| r["Properties"]["RouteKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["$connect", "$default", "$disconnect"].into_iter().collect());
    assert_eq!(t.resources_of_type("AWS::ApiGatewayV2::Deployment").count(), 1);
    let stage = t.resource("WsStage");
    assert_eq!(flat(&stage["Properties"]["StageName"]), "Ref:Stage");
    let perm = t
        .resources_of_type("AWS::Lambda::Permission")
        .find(|(_, p)| flat(&p["Properties"]["FunctionName"]) == "Ref:WsFunction")
        .expect("ws invoke permission");
    assert!(flat(&perm.1["Properties"]["SourceArn"]).contains("${WsApi}/"));
    assert!(policies(t.function("ws")).contains("execute-api:ManageConnections"));
    assert!(flat(&t.doc["Outputs"]["WebSocketUrl"]["Value"]).contains("wss://${WsApi}.execute-api."));
    assert!(flat(&t.doc["Outputs"]["HttpApiUrl"]["Value"]).contains("https://${HttpApi}.execute-api."));
}

#[test]
fn the_table() {
    let t = template();
    let table = t.resource("Table");
    assert_eq!(table["Type"].as_str(), Some("AWS::DynamoDB::Table"));
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(flat(&p["KeySchema"]), "AttributeName:pk KeyType:HASH AttributeName:sk KeyType:RANGE");
    assert_eq!(flat(&p["AttributeDefinitions"]), "AttributeName:pk AttributeType:S AttributeName:sk AttributeType:S");
    assert_eq!(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(), Some(true));
    assert_eq!(p["TimeToLiveSpecification"]["AttributeName"].as_str(), Some("ttl"));
    assert_eq!(p["TimeToLiveSpecification"]["Enabled"].as_bool(), Some(true));
    assert_eq!(t.resources_of_type("AWS::DynamoDB::Table").count(), 1, "one table");
}

#[test]
fn stages_are_throttled_functions_can_reserve_concurrency_and_silent_sockets_are_swept() {
    let t = template();
    let http = &t.resource("HttpApi")["Properties"]["DefaultRouteSettings"];
    assert_eq!(flat(&http["ThrottlingBurstLimit"]), "Ref:HttpThrottleBurst");
    assert_eq!(flat(&http["ThrottlingRateLimit"]), "Ref:HttpThrottleRate");
    let ws = &t.resource("WsStage")["Properties"]["DefaultRouteSettings"];
    assert_eq!(flat(&ws["ThrottlingBurstLimit"]), "Ref:WsThrottleBurst");
    assert_eq!(flat(&ws["ThrottlingRateLimit"]), "Ref:WsThrottleRate");
    for p in ["HttpThrottleBurst", "HttpThrottleRate", "WsThrottleBurst", "WsThrottleRate"] {
        assert!(t.doc["Parameters"][p]["Default"].as_i64().is_some_and(|d| d > 0), "{p}");
    }
    // Every function's reservation is a parameter, and 0 means "unreserved"
    // (a reservation of 0 would stop the function).
    for (_, f) in t.resources_of_type("AWS::Serverless::Function") {
        let bin = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        let r = flat(&f["Properties"]["ReservedConcurrentExecutions"]);
        assert!(r.starts_with("Fn::If:Reserve") && r.ends_with("Ref:AWS::NoValue"), "{bin}: {r}");
        let cond = r.trim_start_matches("Fn::If:").split(' ').next().unwrap();
        assert!(!t.doc["Conditions"][cond].is_badvalue(), "{bin}: condition {cond}");
    }
    let sweep = &t.function("ws")["Properties"]["Events"]["Sweep"];
    assert_eq!(sweep["Type"].as_str(), Some("Schedule"));
    assert!(env(t.function("ws"), "ONECARD_WS_SWEEP_PASSES").parse::<u32>().is_ok());
}
