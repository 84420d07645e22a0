//! The field types every route input is made of. The seed says every `data`
//! field is a string, but real clients send numbers and booleans too (decision
//! 5), so each type accepts all three and turns them into one Rust value, or a
//! message that `input::parse` wraps into a 100001 naming the field.
//!
//! By the time these run, `input::normalise` has trimmed every string and
//! removed empty and null fields, so "absent", `null` and `""` all read as a
//! missing field: `Option<T>` is None, a required `T` is "is required".

use crate::money::Fen;
use crate::time;
use chrono::{NaiveDateTime, NaiveTime, Timelike};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// Reads a JSON scalar as the text a client meant: strings as they are,
/// numbers in their shortest form, booleans as "true"/"false".
struct ScalarText;

impl<'de> Visitor<'de> for ScalarText {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(serde_json::Number::from_f64(v).map(|n| n.to_string()).unwrap_or_else(|| v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

fn scalar_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(ScalarText)
}

macro_rules! schema {
    ($ty:ty, $name:literal, $json:tt) => {
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($json)
            }
        }
    };
}

/// Free text. Longer than 2,000 characters is refused: no field of the seed is
/// that long, and a handler should never copy megabytes it did not ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Text(pub String);

pub const TEXT_MAX_CHARS: usize = 2000;

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = scalar_text(d)?;
        if s.chars().count() > TEXT_MAX_CHARS {
            return Err(de::Error::custom(format!("is longer than {TEXT_MAX_CHARS} characters")));
        }
        Ok(Text(s))
    }
}
schema!(Text, "Text", {"type": ["string", "number", "boolean"], "description": "text; numbers and booleans are read as their text"});

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.0
    }
}

/// A picture as base64 text (entry/exit snapshots, faces, maps). Not bound
/// by `Text`'s length: the route's body limit (3 MiB on picture routes)
/// bounds it, and decision 16 sends it to the blob store, never into a record.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Picture(pub String);

impl fmt::Debug for Picture {
    // A picture in a log line is megabytes of noise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Picture({} base64 chars)", self.0.len())
    }
}

impl<'de> Deserialize<'de> for Picture {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let body = s.split_once("base64,").map_or(s.as_str(), |(_, b)| b);
        if !body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\r' | b'\n')) {
            return Err(de::Error::custom("is not base64"));
        }
        Ok(Picture(s))
    }
}
schema!(Picture, "Picture", {"type": "string", "contentEncoding": "base64"});

/// A whole number: `5`, `"5"`, `5.0` and `true` (1) all read as 5.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                i64::try_from(v).map(Int).map_err(|_| E::custom("is too large"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Int, E> {
                if v.fract() == 0.0 && v.abs() < 9e15 {
                    Ok(Int(v as i64))
                } else {
                    Err(E::custom(format!("{v} is not a whole number")))
                }
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Int, E> {
                Ok(Int(v as i64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int, E> {
                v.parse::<i64>().map(Int).map_err(|_| E::custom(format!("'{v}' is not a whole number")))
            }
        }
        d.deserialize_any(V)
    }
}
schema!(Int, "Int", {"type": ["integer", "string"], "description": "a whole number, as a number or a string"});

impl Int {
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A yes/no: `1`/`"1"`/`true`/`"true"`/`"yes"` and their opposites.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = scalar_text(d)?;
        match s.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => Ok(Flag(true)),
            "0" | "false" | "no" => Ok(Flag(false)),
            _ => Err(de::Error::custom(format!("'{s}' is not a boolean (0/1)"))),
        }
    }
}
schema!(Flag, "Flag", {"type": ["boolean", "integer", "string"], "description": "0/1, true/false"});

impl Flag {
    pub fn get(self) -> bool {
        self.0
    }
}

/// A decimal measure (the seed's "Decimal" that is not money: heights,
/// weights): finite, read from a number or a string.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Decimal(pub f64);

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = scalar_text(d)?;
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Decimal(v)),
            _ => Err(de::Error::custom(format!("'{s}' is not a decimal number"))),
        }
    }
}
schema!(Decimal, "Decimal", {"type": ["number", "string"]});

/// An amount in yuan with at most two decimals, held as integer fen. More
/// decimals are refused rather than rounded: money must not change silently.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Money(pub Fen);

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = scalar_text(d)?;
        Fen::parse_yuan(&s).map(Money).ok_or_else(|| de::Error::custom("must be an amount in yuan with at most two decimals"))
    }
}
schema!(Money, "Money", {"type": ["string", "number"], "description": "yuan with at most two decimals, e.g. \"12.50\""});

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.yuan())
    }
}

impl Money {
    pub fn fen(self) -> Fen {
        self.0
    }
}

/// The first and last day a date-time field may name (decision 12): outside
/// this a time is a typo or an attack (a `passTime` of 9999-12-31 once made the
/// fee engine allocate millions of pieces).
pub const EARLIEST_YEAR: i32 = 2000;
pub const LATEST_YEAR: i32 = 2099;

/// `yyyy-MM-dd HH:mm:ss` (loose forms accepted, see `time::parse`), between
/// 2000-01-01 and 2099-12-31. Serialises in the seed's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTime(pub NaiveDateTime);

fn parse_datetime(s: &str) -> Result<NaiveDateTime, String> {
    let t = time::parse(s).ok_or_else(|| format!("'{s}' is not a time yyyy-MM-dd HH:mm:ss"))?;
    let y = chrono::Datelike::year(&t);
    if !(EARLIEST_YEAR..=LATEST_YEAR).contains(&y) {
        return Err(format!("'{s}' is outside {EARLIEST_YEAR}-01-01..{LATEST_YEAR}-12-31"));
    }
    Ok(t)
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = scalar_text(d)?;
        parse_datetime(&s).map(DateTime).map_err(de::Error::custom)
    }
}
schema!(DateTime, "DateTime", {"type": "string", "format": "yyyy-MM-dd HH:mm:ss", "example": "2026-03-02 09:00:00"});

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time::format(self.0))
    }
}

impl DateTime {
    pub fn get(self) -> NaiveDateTime {
        self.0
    }
}

/// An end time where the seed's `1970-01-01 00:00:00` means "now" (decision 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndTime {
    Now,
    At(NaiveDateTime),
}

impl<'de> Deserialize<'de> for EndTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = scalar_text(d)?;
        if time::parse(&s).is_some_and(|t| time::format(t) == time::NOW_SENTINEL) {
            return Ok(EndTime::Now);
        }
        parse_datetime(&s).map(EndTime::At).map_err(de::Error::custom)
    }
}
schema!(EndTime, "EndTime", {"type": "string", "format": "yyyy-MM-dd HH:mm:ss", "description": "1970-01-01 00:00:00 means now"});

impl EndTime {
    /// The time it names, `now` for the sentinel.
    pub fn or_now(self, now: NaiveDateTime) -> NaiveDateTime {
        match self {
            EndTime::Now => now,
            EndTime::At(t) => t,
        }
    }
}

/// A time of day, which the seed writes as `1970-01-01 HH:mm:ss` (tariff
/// periods, `midnight`); `HH:mm:ss` and `HH:mm` are read too. Serialises in
/// the seed's form. Not range-checked as a date (decision 12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeOfDay(pub NaiveTime);

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = scalar_text(d)?;
        let clock = s.rsplit(' ').next().unwrap_or(&s);
        ["%H:%M:%S", "%H:%M"]
            .iter()
            .find_map(|f| NaiveTime::parse_from_str(clock, f).ok())
            .map(TimeOfDay)
            .ok_or_else(|| de::Error::custom(format!("'{s}' is not a time of day 1970-01-01 HH:mm:ss")))
    }
}
schema!(TimeOfDay, "TimeOfDay", {"type": "string", "format": "1970-01-01 HH:mm:ss", "example": "1970-01-01 08:00:00"});

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("1970-01-01 {:02}:{:02}:{:02}", self.0.hour(), self.0.minute(), self.0.second()))
    }
}

/// A list that some clients send as a JSON string holding the array.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct List<T>(pub Vec<T>);

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Through a Value, so a missing field still reads as "is required".
        let items = match serde_json::Value::deserialize(d)? {
            serde_json::Value::Array(a) => a,
            serde_json::Value::String(s) => match serde_json::from_str::<serde_json::Value>(&s) {
                Ok(serde_json::Value::Array(a)) => a,
                _ => return Err(de::Error::custom("must be an array")),
            },
            _ => return Err(de::Error::custom("must be an array")),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, mut v) in items.into_iter().enumerate() {
            super::input::normalise(&mut v);
            out.push(serde_path_to_error::deserialize(v).map_err(|e| de::Error::custom(format!("[{i}]{}", super::input::describe(&e))))?);
        }
        Ok(List(out))
    }
}

impl<T: JsonSchema> JsonSchema for List<T> {
    fn schema_name() -> Cow<'static, str> {
        Cow::Owned(format!("List_of_{}", T::schema_name()))
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let item = g.subschema_for::<T>();
        json_schema!({"type": "array", "items": item})
    }
}

impl<T> List<T> {
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

/// A time in the seed's format for outputs.
pub fn stamp(t: NaiveDateTime) -> String {
    time::format(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn de<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn scalars_accept_strings_numbers_booleans() {
        assert_eq!(de::<Int>(json!("5")).unwrap(), Int(5));
        assert_eq!(de::<Int>(json!(5.0)).unwrap(), Int(5));
        assert_eq!(de::<Int>(json!(true)).unwrap(), Int(1));
        assert!(de::<Int>(json!(2.5)).is_err());
        assert!(de::<Int>(json!("x")).unwrap_err().contains("'x' is not a whole number"));
        assert_eq!(de::<Text>(json!(12)).unwrap(), Text("12".into()));
        assert_eq!(de::<Flag>(json!("1")).unwrap(), Flag(true));
        assert_eq!(de::<Flag>(json!(false)).unwrap(), Flag(false));
        assert_eq!(de::<Money>(json!(2.5)).unwrap(), Money(Fen(250)));
        assert!(de::<Money>(json!("1.001")).is_err());
    }

    #[test]
    fn datetimes_are_range_checked_but_times_of_day_are_not() {
        assert!(de::<DateTime>(json!("2026-03-02 09:00:00")).is_ok());
        assert!(de::<DateTime>(json!("9999-12-31 00:00:00")).unwrap_err().contains("outside"));
        assert!(de::<DateTime>(json!("1970-01-01 08:00:00")).is_err());
        assert_eq!(de::<EndTime>(json!("1970-01-01 00:00:00")).unwrap(), EndTime::Now);
        let t = de::<TimeOfDay>(json!("1970-01-01 08:30:00")).unwrap();
        assert_eq!(serde_json::to_value(t).unwrap(), json!("1970-01-01 08:30:00"));
        assert_eq!(de::<TimeOfDay>(json!("23:59")).unwrap().0, NaiveTime::from_hms_opt(23, 59, 0).unwrap());
    }

    #[test]
    fn lists_may_come_as_strings() {
        let l: List<Int> = de(json!("[1, \"2\"]")).unwrap();
        assert_eq!(l.0, vec![Int(1), Int(2)]);
        assert!(de::<List<Int>>(json!("nope")).is_err());
    }
}
