//! The chapter 5 envelopes. The request is parsed with `data` kept as the raw
//! bytes it was sent as, because the signature covers those bytes and any
//! re-serialisation (key order, spacing, escapes) would break it.

use crate::codes::{ApiError, ApiResult, Code};
use crate::fields::scalar_text;
use crate::request::{QueryFormat, Reply};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow, default)]
    from: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    nonce: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sign: Option<&'a RawValue>,
    #[serde(borrow, default)]
    branchno: Option<&'a RawValue>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "queryFormat")]
    query_format: Option<&'a RawValue>,
}

/// A parsed request envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestEnvelope {
    pub from: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub sign: Option<String>,
    pub branchno: Option<String>,
    /// The text the signature covers (decision 2), which is also the JSON
    /// document of `data`: it is parsed into a tree only after the signature
    /// matched (`data()`), so an unauthenticated body costs no allocation per
    /// field.
    pub data_text: String,
    pub query: Option<QueryFormat>,
}

fn scalar(raw: Option<&RawValue>, name: &str) -> ApiResult<Option<String>> {
    let Some(raw) = raw else { return Ok(None) };
    let v: Value = serde_json::from_str(raw.get()).map_err(|e| ApiError::field(name, e))?;
    match v {
        Value::Null => Ok(None),
        v => scalar_text(&v).map(Some).ok_or_else(|| ApiError::field(name, "must be a string")),
    }
}

impl RequestEnvelope {
    pub fn parse(body: &[u8]) -> ApiResult<Self> {
        let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_input("request body is not UTF-8"))?;
        // serde would read a struct from an array too; the envelope is an object.
        if !text.trim_start().starts_with('{') {
            return Err(ApiError::bad_input("malformed JSON envelope: expected an object"));
        }
        let w: Wire = serde_json::from_str(text).map_err(|e| ApiError::bad_input(format!("malformed JSON envelope: {e}")))?;
        let data_text = match w.data.map(RawValue::get) {
            None | Some("null") => String::new(),
            // `data` sent as a JSON string: the signature covers its content,
            // and the content is the JSON document.
            Some(raw) if raw.starts_with('"') => serde_json::from_str::<String>(raw).map_err(|e| ApiError::field("data", e))?,
            // Already checked to be well-formed JSON by the envelope's parse.
            Some(raw) => raw.to_string(),
        };
        let query = match w.query_format {
            None => None,
            Some(raw) => parse_query_format(raw.get())?,
        };
        Ok(RequestEnvelope {
            from: scalar(w.from, "from")?,
            timestamp: scalar(w.timestamp, "timestamp")?,
            nonce: scalar(w.nonce, "nonce")?,
            sign: scalar(w.sign, "sign")?,
            branchno: scalar(w.branchno, "branchno")?,
            data_text,
            query,
        })
    }

    /// The `data` document (null when absent), parsed once, after the
    /// signature was checked.
    pub fn data(&self) -> ApiResult<Value> {
        if self.data_text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&self.data_text).map_err(|e| ApiError::field("data", format!("is not JSON: {e}")))
    }
}

fn parse_query_format(raw: &str) -> ApiResult<Option<QueryFormat>> {
    let mut v: Value = serde_json::from_str(raw).map_err(|e| ApiError::field("queryFormat", e))?;
    if let Value::String(s) = &v {
        if s.trim().is_empty() {
            return Ok(None);
        }
        v = serde_json::from_str(s).map_err(|e| ApiError::field("queryFormat", e))?;
    }
    if v.is_null() {
        return Ok(None);
    }
    #[derive(Deserialize)]
    struct Wire {
        rowindex: Option<crate::kit::Int>,
        pagesize: Option<crate::kit::Int>,
    }
    let w: Wire = crate::kit::input::parse(v).map_err(|e| ApiError::bad_input(e.message.replacen("field '", "field 'queryFormat.", 1)))?;
    let num = |n: &str, v: Option<crate::kit::Int>| -> ApiResult<Option<usize>> {
        match v.map(|i| i.0) {
            None => Ok(None),
            Some(x) if x < 0 => Err(ApiError::field(&format!("queryFormat.{n}"), "must not be negative")),
            Some(x) => Ok(Some(x as usize)),
        }
    };
    Ok(Some(QueryFormat { rowindex: num("rowindex", w.rowindex)?.unwrap_or(0), pagesize: num("pagesize", w.pagesize)?.filter(|n| *n > 0) }))
}

/// The response envelope for a result.
pub fn response(result: &ApiResult<Reply>, time: &str) -> Value {
    let owned = match result {
        Ok(r) => Ok(Reply { data: r.data.clone(), message: r.message.clone(), page: r.page }),
        Err(e) => Err(e.clone()),
    };
    response_owned(owned, time)
}

/// `response` for a result the caller is done with: its data moves into the
/// envelope instead of being copied (a list answer is the bulk of the bytes).
pub fn response_owned(result: ApiResult<Reply>, time: &str) -> Value {
    let mut m = Map::new();
    match result {
        Ok(r) => {
            m.insert("status".into(), json!(true));
            m.insert("code".into(), json!(Code::OK.0));
            m.insert("message".into(), Value::String(r.message.unwrap_or_else(|| "success".into())));
            m.insert("time".into(), json!(time));
            m.insert("data".into(), r.data);
            if let Some((rowindex, total)) = r.page {
                m.insert("rowindex".into(), json!(rowindex));
                m.insert("total".into(), json!(total));
            }
        }
        Err(e) => {
            m.insert("status".into(), json!(false));
            m.insert("code".into(), json!(e.code.0));
            m.insert("message".into(), Value::String(e.message));
            m.insert("time".into(), json!(time));
            m.insert("data".into(), Value::Null);
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_raw_data_bytes() {
        let body = br#"{"from":"demo","timestamp":"2026-01-01 00:00:00","nonce":7,"sign":"x","branchno":1001,"data":{ "a" : "1" }}"#;
        let e = RequestEnvelope::parse(body).unwrap();
        assert_eq!(e.data_text, r#"{ "a" : "1" }"#);
        assert_eq!(e.data().unwrap(), json!({"a": "1"}));
        assert_eq!(e.nonce.as_deref(), Some("7"));
        assert_eq!(e.branchno.as_deref(), Some("1001"));
    }

    #[test]
    fn data_as_string_signs_its_content() {
        let body = br#"{"from":"demo","data":"{\"a\":\"1\"}"}"#;
        let e = RequestEnvelope::parse(body).unwrap();
        assert_eq!(e.data_text, r#"{"a":"1"}"#);
        assert_eq!(e.data().unwrap(), json!({"a": "1"}));
    }

    #[test]
    fn absent_or_null_data_signs_empty() {
        assert_eq!(RequestEnvelope::parse(br#"{"from":"a"}"#).unwrap().data_text, "");
        assert_eq!(RequestEnvelope::parse(br#"{"from":"a","data":null}"#).unwrap().data_text, "");
    }

    #[test]
    fn malformed_is_100001() {
        for bad in [&br#"{"from":"demo", "data": {"#[..], b"", b"[1]", b"\xff\xfe", br#"{"data":"{not json"}"#] {
            let e = RequestEnvelope::parse(bad).and_then(|e| e.data()).unwrap_err();
            assert_eq!(e.code, Code::BAD_INPUT, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn query_format() {
        let e = RequestEnvelope::parse(br#"{"queryFormat":{"rowindex":"2","pagesize":3}}"#).unwrap();
        assert_eq!(e.query, Some(QueryFormat { rowindex: 2, pagesize: Some(3) }));
        assert!(RequestEnvelope::parse(br#"{"queryFormat":{"rowindex":-1}}"#).is_err());
    }
}
