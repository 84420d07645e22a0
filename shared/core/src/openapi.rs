//! The OpenAPI 3.1 document of every inbound route, made from the routes'
//! typed inputs and outputs (JSON Schema 2020-12, which OpenAPI 3.1 speaks), so
//! it cannot drift from the code. Routes not built yet are listed too, saying so.

use crate::kit::RouteDef;
use crate::registry::{Actor, Registry, RouteSpec, Wire};
use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

fn generator(serialize: bool) -> SchemaGenerator {
    let s = SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
        s.meta_schema = None;
    });
    let s = if serialize { s.for_serialize() } else { s.for_deserialize() };
    s.into_generator()
}

/// The document, as JSON.
pub fn document(reg: &Registry) -> Value {
    let (mut gin, mut gout) = (generator(false), generator(true));
    let mut paths = Map::new();
    for spec in reg.routes().iter().filter(|s| s.actor != Actor::Outbound) {
        let def = reg.def(spec);
        let (input, output) = match def {
            Some(d) => ((d.input_schema)(&mut gin).to_value(), (d.output_schema)(&mut gout).to_value()),
            None => (json!({}), json!({})),
        };
        let op = operation(spec, def, input, output);
        let method = if spec.wire() == Wire::ProviderRedirect { "get" } else { "post" };
        paths.insert(crate::registry::http_path(spec.route), json!({ method: op }));
    }
    let mut schemas = gin.take_definitions(true);
    for (k, v) in gout.take_definitions(true) {
        schemas.entry(k).or_insert(v);
    }
    schemas.insert("Envelope".into(), envelope_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "OneCard Cloud (一卡通 APP 应用接口 v2.42)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Chapter 5 routes take the signed envelope (`from`, `timestamp`, `nonce`, `sign`, `branchno`, `data`, `queryFormat`) and answer the response envelope (`status`, `code`, `message`, `time`, `data`, `rowindex`, `total`); the request and response schemas below are those of `data`. Data-only partner routes take bare JSON with `Authorization: Bearer <token>`."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "envelope": {"type": "apiKey", "in": "header", "name": "x-envelope-sign", "description": "HMAC-SHA1 signature inside the envelope (decision 2)"},
                "token": {"type": "http", "scheme": "bearer"}
            }
        }
    })
}

fn operation(spec: &RouteSpec, def: Option<&RouteDef>, input: Value, output: Value) -> Value {
    let wire = spec.wire();
    let built = def.is_some();
    let mut op = json!({
        "operationId": spec.route,
        "summary": format!("{} {}", spec.section, spec.title),
        "tags": [spec.group.name()],
        "x-section": spec.section,
        "x-actor": format!("{:?}", spec.actor).to_lowercase(),
        "x-wire": format!("{wire:?}"),
        "x-body-limit": spec.body_limit(),
        "x-built": built,
    });
    let m = op.as_object_mut().expect("object literal");
    if let Some(d) = def {
        m.insert("x-effect".into(), json!(format!("{:?}", d.effect).to_lowercase()));
        m.insert("x-handler".into(), json!(d.source));
        if !d.codes.is_empty() {
            m.insert("x-codes".into(), d.codes.iter().map(|(c, why)| json!({"code": c, "meaning": why})).collect());
        }
    } else {
        m.insert("description".into(), json!("Not built yet: answers code 501."));
    }
    if let Some(hw) = spec.hardware {
        m.insert("x-hardware".into(), json!(hw));
    }
    match wire {
        Wire::Envelope => {
            m.insert("security".into(), json!([{"envelope": []}]));
            m.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": {
                    "allOf": [{"$ref": "#/components/schemas/Envelope"}],
                    "properties": {"data": input}
                }}}}),
            );
            m.insert(
                "responses".into(),
                json!({
                    "200": {"description": "the response envelope", "content": {"application/json": {"schema": {
                        "allOf": [{"$ref": "#/components/schemas/Envelope"}],
                        "properties": {"data": output}
                    }}}},
                    "413": {"description": "body over the route's limit"}
                }),
            );
        }
        Wire::DataOnly => {
            m.insert("security".into(), json!([{"token": []}]));
            m.insert("requestBody".into(), json!({"content": {"application/json": {"schema": input}}}));
            m.insert(
                "responses".into(),
                json!({
                    "200": {"description": "the partner's own JSON", "content": {"application/json": {"schema": output}}},
                    "401": {"description": "no or unknown token"},
                    "501": {"description": "not built yet"}
                }),
            );
        }
        Wire::ProviderRedirect => {
            m.insert("parameters".into(), json!([{"name": "branchno", "in": "query", "required": true, "schema": {"type": "string"}}]));
            m.insert("responses".into(), json!({"302": {"description": "redirect to the payer's page"}, "501": {"description": "not built yet"}}));
        }
        Wire::ProviderForm => {
            m.insert("requestBody".into(), json!({"content": {"application/x-www-form-urlencoded": {"schema": input}}}));
            m.insert("responses".into(), json!({"200": {"description": "plain text acknowledgement", "content": {"text/plain": {}}}, "501": {"description": "not built yet"}}));
        }
    }
    op
}

fn envelope_schema() -> Value {
    json!({
        "type": "object",
        "description": "Chapter 5 envelope: the request carries from/timestamp/nonce/sign/branchno/data/queryFormat, the response status/code/message/time/data/rowindex/total.",
        "properties": {
            "from": {"type": "string"}, "timestamp": {"type": "string", "format": "yyyy-MM-dd HH:mm:ss"},
            "nonce": {"type": ["string", "integer"]}, "sign": {"type": "string"}, "branchno": {"type": ["string", "integer"]},
            "queryFormat": {"type": "object", "properties": {"rowindex": {"type": ["integer", "string"]}, "pagesize": {"type": ["integer", "string"], "maximum": crate::kit::PAGE_CAP}}},
            "status": {"type": "boolean"}, "code": {"type": "integer"}, "message": {"type": "string"},
            "time": {"type": "string"}, "rowindex": {"type": "integer"}, "total": {"type": "integer"}
        }
    })
}

/// `route → handler` lines for `onecard routes`: one hop from a name to its code.
pub fn route_table(reg: &Registry) -> Vec<String> {
    reg.routes()
        .iter()
        .filter(|s| s.actor != Actor::Outbound)
        .map(|s| {
            let (effect, source) = match reg.def(s) {
                Some(d) => (format!("{:?}", d.effect).to_lowercase(), d.source.to_string()),
                None => ("-".into(), "(not built: 501)".into()),
            };
            format!("{}\t{}\t{}\t{:?}\t{}", s.section, s.route, effect, s.wire(), source)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_inbound_route() {
        let reg = Registry::new();
        let doc = document(&reg);
        assert_eq!(doc["paths"].as_object().unwrap().len(), 262);
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/alipay.wappay.aspx/callback"]["get"].is_object());
    }
}
