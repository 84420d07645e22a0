//! Reading a request's `data`. The seed says every field is a string, but real
//! clients send numbers and booleans too, so every accessor accepts all three, and
//! every failure is a 100001 that names the field.

use crate::codes::{ApiError, ApiResult};
use crate::money::Fen;
use chrono::NaiveDateTime;
use serde_json::{Map, Value};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Data {
    map: Map<String, Value>,
    /// The whole value, for the few routes whose `data` is an array.
    raw: Value,
}

/// The text of a scalar as a client meant it: strings as they are, numbers in
/// their shortest form, booleans as "true"/"false" (and "1"/"0" when asked).
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Data {
    pub fn new(raw: Value) -> Self {
        let map = match &raw {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        Data { map, raw }
    }

    pub fn raw(&self) -> &Value {
        &self.raw
    }

    pub fn into_raw(self) -> Value {
        self.raw
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// A field's text, trimmed; absent, null and empty all read as None.
    pub fn opt_str(&self, name: &str) -> ApiResult<Option<String>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match scalar_text(v) {
                Some(s) if s.trim().is_empty() => Ok(None),
                Some(s) => Ok(Some(s.trim().to_string())),
                None => Err(ApiError::field(name, "must be a string, number or boolean")),
            },
        }
    }

    pub fn str(&self, name: &str) -> ApiResult<String> {
        self.opt_str(name)?.ok_or_else(|| ApiError::missing(name))
    }

    pub fn opt_i64(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.map.get(name) {
            Some(Value::Bool(b)) => Ok(Some(*b as i64)),
            Some(Value::Number(n)) if n.is_f64() => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 9e15 {
                    Ok(Some(f as i64))
                } else {
                    Err(ApiError::field(name, "must be a whole number"))
                }
            }
            _ => match self.opt_str(name)? {
                None => Ok(None),
                Some(s) => s.parse::<i64>().map(Some).map_err(|_| ApiError::field(name, format!("'{s}' is not a whole number"))),
            },
        }
    }

    pub fn i64(&self, name: &str) -> ApiResult<i64> {
        self.opt_i64(name)?.ok_or_else(|| ApiError::missing(name))
    }

    pub fn i64_or(&self, name: &str, default: i64) -> ApiResult<i64> {
        Ok(self.opt_i64(name)?.unwrap_or(default))
    }

    /// "1"/"true"/1/true read as true; "0"/"false"/0/false as false.
    pub fn opt_bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.opt_str(name)? {
            None => Ok(None),
            Some(s) => match s.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => Ok(Some(true)),
                "0" | "false" | "no" => Ok(Some(false)),
                _ => Err(ApiError::field(name, format!("'{s}' is not a boolean (0/1)"))),
            },
        }
    }

    pub fn opt_money(&self, name: &str) -> ApiResult<Option<Fen>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(v) => Fen::from_json(v)
                .map(Some)
                .ok_or_else(|| ApiError::field(name, "must be an amount in yuan with at most two decimals")),
        }
    }

    pub fn money(&self, name: &str) -> ApiResult<Fen> {
        self.opt_money(name)?.ok_or_else(|| ApiError::missing(name))
    }

    pub fn opt_time(&self, name: &str) -> ApiResult<Option<NaiveDateTime>> {
        match self.opt_str(name)? {
            None => Ok(None),
            Some(s) => crate::time::parse(&s)
                .map(Some)
                .ok_or_else(|| ApiError::field(name, format!("'{s}' is not a time yyyy-MM-dd HH:mm:ss"))),
        }
    }

    pub fn time(&self, name: &str) -> ApiResult<NaiveDateTime> {
        self.opt_time(name)?.ok_or_else(|| ApiError::missing(name))
    }

    /// The first of several names that is present (the seed spells some fields
    /// two ways, e.g. `carNo`/`carno`).
    pub fn opt_str_any(&self, names: &[&str]) -> ApiResult<Option<String>> {
        for n in names {
            if let Some(v) = self.opt_str(n)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    pub fn str_any(&self, names: &[&str]) -> ApiResult<String> {
        self.opt_str_any(names)?.ok_or_else(|| ApiError::missing(names[0]))
    }

    /// A nested array of objects (e.g. tariff periods).
    pub fn opt_array(&self, name: &str) -> ApiResult<Option<Vec<Data>>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.iter().map(|v| Data::new(v.clone())).collect())),
            // Some clients send nested JSON as a string.
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(a)) => Ok(Some(a.into_iter().map(Data::new).collect())),
                _ => Err(ApiError::field(name, "must be an array")),
            },
            Some(_) => Err(ApiError::field(name, "must be an array")),
        }
    }
}

/// Normalises a plate for comparison (decision 7): no white space, Latin letters
/// upper-cased.
pub fn normalize_plate(p: &str) -> String {
    p.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_strings_numbers_booleans() {
        let d = Data::new(json!({"a": "5", "b": 5, "c": true, "d": "", "e": null, "f": [1], "g": 5.0, "h": 2.5}));
        assert_eq!(d.i64("a").unwrap(), 5);
        assert_eq!(d.i64("b").unwrap(), 5);
        assert_eq!(d.i64("c").unwrap(), 1);
        assert_eq!(d.i64("g").unwrap(), 5);
        assert_eq!(d.opt_str("d").unwrap(), None);
        assert_eq!(d.opt_str("e").unwrap(), None);
        let e = d.str("f").unwrap_err();
        assert_eq!(e.code.0, 100001);
        assert!(e.message.contains("'f'"));
        assert!(d.i64("h").unwrap_err().message.contains("'h'"));
        assert!(d.str("zz").unwrap_err().message.contains("'zz'"));
        assert_eq!(d.money("h").unwrap(), Fen(250));
        assert_eq!(d.opt_bool("c").unwrap(), Some(true));
    }

    #[test]
    fn plates() {
        assert_eq!(normalize_plate("浙 aiv587 "), "浙AIV587");
    }
}
