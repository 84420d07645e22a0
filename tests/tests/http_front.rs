//! The HTTP front for real clients (issue 10, fidelity item 8), against the
//! real server: a body in GBK with its charset declared is read, signed over
//! either the client's GBK bytes or UTF-8; browser pages of a configured
//! origin get their preflight answered and the CORS headers, any other origin
//! none.

use onecard_core::charset::Charset;
use onecard_core::sign;
use onecard_tests::{http_with, now_local, Server};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;

/// One POST of raw bytes with the given Content-Type; answers (status, body).
fn post_bytes(port: u16, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    (head.split_whitespace().nth(1).unwrap().parse().unwrap(), rest.to_string())
}

/// A car type named in Chinese, added through a GBK request.
fn gbk_request(name: &str, nonce: &str, gbk_signature: bool) -> Vec<u8> {
    let gbk = Charset::of(Some("application/json; charset=gbk")).unwrap();
    let ts = now_local();
    let data = json!({"carTypeName": name}).to_string();
    let signing = sign::signing_string("demo", &ts, nonce, &data);
    let sig = if gbk_signature { gbk.sign("demo-secret", &signing) } else { sign::sign("demo-secret", &signing) };
    let text = format!(r#"{{"from":"demo","timestamp":"{ts}","nonce":"{nonce}","sign":"{sig}","branchno":"1001","data":{data}}}"#);
    gbk.encode(&text).into_owned()
}

#[test]
fn a_gbk_body_with_its_charset_is_read_and_its_signature_checked() {
    let srv = Server::start();
    let path = "/api.aspx/park.cartype.add";
    for (name, nonce, gbk_sig, ct) in [
        ("临时车甲", "11", true, "application/json; charset=gbk"),
        ("临时车乙", "12", false, "application/json; charset=GB2312"),
        ("临时车丙", "13", true, "application/json;charset=gb18030"),
    ] {
        let body = gbk_request(name, nonce, gbk_sig);
        assert!(std::str::from_utf8(&body).is_err(), "the body really is GBK");
        let (st, text) = post_bytes(srv.port, path, ct, &body);
        let env: Value = serde_json::from_str(&text).unwrap();
        assert_eq!((st, &env["code"]), (200, &json!(200)), "{name} ({ct}): {env}");
    }
    // Stored as the right Unicode text.
    let list = srv.client().ok("park.cartype.query", json!({}));
    let names = list.to_string();
    for name in ["临时车甲", "临时车乙", "临时车丙"] {
        assert!(names.contains(name), "{name} in {names}");
    }
    // The same GBK bytes without the charset are not UTF-8: bad input.
    let (_, text) = post_bytes(srv.port, path, "application/json", &gbk_request("临时车丁", "14", true));
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["code"], json!(100001), "{text}");
    // A wrong secret is refused whatever the charset.
    let mut forged = gbk_request("临时车戊", "15", true);
    let at = forged.windows(6).position(|w| w == b"\"sign\"").unwrap() + 8;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let (_, text) = post_bytes(srv.port, path, "application/json; charset=gbk", &forged);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["code"], json!(100003), "{text}");
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()))
}

#[test]
fn browser_pages_of_a_configured_origin_may_call_and_others_may_not() {
    let dir = onecard_tests::temp_dir("cors");
    let srv = Server::start_with(&dir, &["--no-demo-site", "--cors-origin", "https://h5.example", "--cors-origin", "http://localhost:8080"]);
    let preflight = |origin: &str| {
        http_with(
            srv.port,
            "OPTIONS",
            "/api.aspx/park.cartype.query",
            &[("Origin", origin), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type")],
            "",
        )
        .unwrap()
    };
    let (st, head, _) = preflight("https://h5.example");
    assert_eq!(st, 204, "{head}");
    assert_eq!(header(&head, "access-control-allow-origin"), Some("https://h5.example"), "{head}");
    assert!(header(&head, "access-control-allow-methods").unwrap().contains("POST"));
    assert!(header(&head, "access-control-allow-headers").unwrap().to_ascii_lowercase().contains("content-type"));
    let (st, head, _) = preflight("https://evil.example");
    assert_eq!(st, 204);
    assert_eq!(header(&head, "access-control-allow-origin"), None, "{head}");

    // The call itself carries the header for a listed origin only.
    let c = srv.client();
    let body = c.body(&json!({}));
    let (st, head, text) = http_with(srv.port, "POST", "/api.aspx/park.cartype.query", &[("Origin", "http://localhost:8080")], &body).unwrap();
    assert_eq!(st, 200, "{text}");
    assert_eq!(header(&head, "access-control-allow-origin"), Some("http://localhost:8080"));
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["code"], json!(200));
    let body = c.body(&json!({}));
    let (_, head, _) = http_with(srv.port, "POST", "/api.aspx/park.cartype.query", &[("Origin", "https://evil.example")], &body).unwrap();
    assert_eq!(header(&head, "access-control-allow-origin"), None, "{head}");
}

#[test]
fn without_configured_origins_no_cors_headers_are_sent() {
    let srv = Server::start();
    let (_, head, _) = http_with(srv.port, "OPTIONS", "/api.aspx/park.cartype.query", &[("Origin", "https://h5.example"), ("Access-Control-Request-Method", "POST")], "").unwrap();
    assert!(!head.to_ascii_lowercase().contains("access-control-"), "{head}");
}
