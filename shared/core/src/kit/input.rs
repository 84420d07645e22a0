//! From a request's `data` to a route's typed input: one pass that trims
//! strings and drops empty fields (the seed's clients send `""` for "not
//! given"), then serde, with the path of whatever failed so the 100001 names
//! the field (`periods[1].startTime`, not "invalid type").

use crate::codes::{ApiError, ApiResult};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Trims every string; removes object members that are null or empty strings,
/// at every depth, so `Option` fields read them as absent.
pub fn normalise(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| {
                normalise(x);
                !(x.is_null() || x.as_str().is_some_and(str::is_empty))
            });
        }
        Value::Array(a) => a.iter_mut().for_each(normalise),
        Value::String(s) => {
            let t = s.trim();
            if t.len() != s.len() {
                *s = t.to_string();
            }
        }
        _ => {}
    }
}

/// Parses a route's input. `null` data (no `data` at all) reads as `{}`, so a
/// route whose fields are all optional can be called without data.
pub fn parse<T: DeserializeOwned>(mut data: Value) -> ApiResult<T> {
    if data.is_null() {
        data = Value::Object(Default::default());
    }
    normalise(&mut data);
    serde_path_to_error::deserialize(data).map_err(|e| error(&e))
}

/// "field 'x': problem", naming the deepest field serde could point at.
pub fn describe(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let (field, problem) = split(e);
    match field {
        Some(f) => format!(".{f}: {problem}"),
        None => format!(": {problem}"),
    }
}

fn split(e: &serde_path_to_error::Error<serde_json::Error>) -> (Option<String>, String) {
    let inner = e.inner().to_string();
    let path = e.path().to_string();
    let path = (path != ".").then_some(path);
    // serde reports a missing field at its parent, by name in the message.
    if let Some(rest) = inner.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        let full = match path {
            Some(p) => format!("{p}.{name}"),
            None => name.to_string(),
        };
        return (Some(full), "is required".into());
    }
    if let Some(rest) = inner.strip_prefix("duplicate field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        return (Some(name.to_string()), "is given twice (under two spellings?)".into());
    }
    // serde_json appends " at line L column C", meaningless for a Value.
    let problem = match inner.find(" at line ") {
        Some(i) => inner[..i].to_string(),
        None => inner,
    };
    // `List` reports an element's failure as "[i].field: problem": the path
    // continues inside the element.
    if problem.starts_with('[') {
        if let Some((tail, rest)) = problem.split_once(": ") {
            return (Some(format!("{}{tail}", path.unwrap_or_default())), rest.to_string());
        }
    }
    (path, problem)
}

fn error(e: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    match split(e) {
        // Already named by an inner parse (`Both`).
        (_, p) if p.starts_with("field '") => ApiError::bad_input(p),
        (Some(f), p) => ApiError::field(&f, p),
        (None, p) => ApiError::bad_input(format!("data: {p}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::{Int, Text};
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Period {
        #[serde(rename = "startTime")]
        start: Int,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct In {
        #[serde(alias = "orderno")]
        #[serde(rename = "orderNo")]
        order_no: Text,
        note: Option<Text>,
        periods: Option<Vec<Period>>,
    }

    #[test]
    fn names_the_field() {
        let e = parse::<In>(json!({"note": "x"})).unwrap_err();
        assert_eq!(e.code.0, 100001);
        assert!(e.message.contains("'orderNo'") && e.message.contains("required"), "{}", e.message);
        let e = parse::<In>(json!({"orderNo": "1", "periods": [{"startTime": 1}, {"startTime": "x"}]})).unwrap_err();
        assert!(e.message.contains("'periods[1].startTime'"), "{}", e.message);
        let e = parse::<In>(json!({"orderNo": "1", "periods": [{}]})).unwrap_err();
        assert!(e.message.contains("'periods[0].startTime'"), "{}", e.message);
    }

    #[test]
    fn list_elements_keep_their_path() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct WithList {
            periods: crate::kit::List<Period>,
        }
        let e = parse::<WithList>(json!({"periods": [{"startTime": 1}, {"startTime": "x"}]})).unwrap_err();
        assert!(e.message.starts_with("field 'periods[1].startTime'"), "{}", e.message);
        let e = parse::<WithList>(json!({"periods": "[{}]"})).unwrap_err();
        assert!(e.message.starts_with("field 'periods[0].startTime'"), "{}", e.message);
        let e = parse::<WithList>(json!({"periods": "not an array"})).unwrap_err();
        assert!(e.message.starts_with("field 'periods'"), "{}", e.message);
        let e = parse::<WithList>(json!({})).unwrap_err();
        assert_eq!(e.message, "field 'periods': is required");
    }

    #[test]
    fn both_halves_name_their_fields() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Key {
            id: Int,
        }
        let e = parse::<crate::kit::Both<Key, In>>(json!({"id": 1, "orderNo": "2", "periods": [{"startTime": "x"}]})).unwrap_err();
        assert!(e.message.starts_with("field 'periods[0].startTime'"), "{}", e.message);
        let e = parse::<crate::kit::Both<Key, In>>(json!({"orderNo": "2"})).unwrap_err();
        assert!(e.message.contains("'id'") && e.message.contains("required"), "{}", e.message);
        let crate::kit::Both(k, i) = parse::<crate::kit::Both<Key, In>>(json!({"id": "3", "orderno": "4"})).unwrap();
        assert_eq!((k.id.0, i.order_no.as_str()), (3, "4"));
    }

    #[test]
    fn empty_and_null_are_absent_and_aliases_read() {
        let i = parse::<In>(json!({"orderno": " 7 ", "note": "", "periods": null})).unwrap();
        assert_eq!(i.order_no.as_str(), "7");
        assert!(i.note.is_none() && i.periods.is_none());
        assert!(parse::<In>(json!({"orderNo": ""})).is_err());
        assert!(parse::<In>(Value::Null).is_err());
    }
}
