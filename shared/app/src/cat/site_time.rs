//! The time a site stamps a notice with.

use chrono::NaiveDateTime;
use onecard_core::kit::{DateTime, Text};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, IntoDeserializer};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;

/// `yyyy-MM-dd HH:mm:ss.fff` as the site wrote it: range-checked as
/// `kit::DateTime` is, and kept as sent, because chapters 9 and 14 pass the
/// milliseconds on to the partners. Belongs in the kit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteTime {
    pub at: NaiveDateTime,
    pub text: String,
}

impl<'de> Deserialize<'de> for SiteTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Text::deserialize(d)?.into_string();
        let checked: Result<DateTime, de::value::Error> = DateTime::deserialize(text.as_str().into_deserializer());
        let at = checked.map_err(de::Error::custom)?.get();
        Ok(SiteTime { at, text })
    }
}

impl Serialize for SiteTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl JsonSchema for SiteTime {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("SiteTime")
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "yyyy-MM-dd HH:mm:ss.fff", "example": "2020-07-08 17:31:59.999"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_milliseconds_and_refuses_what_datetime_refuses() {
        let t: SiteTime = serde_json::from_value(json!("2020-07-08 17:31:59.999")).unwrap();
        assert_eq!(t.text, "2020-07-08 17:31:59.999");
        assert_eq!(serde_json::to_value(&t).unwrap(), json!("2020-07-08 17:31:59.999"));
        let e = serde_json::from_value::<SiteTime>(json!("9999-12-31 00:00:00")).unwrap_err().to_string();
        assert!(e.contains("outside"), "{e}");
        assert!(serde_json::from_value::<SiteTime>(json!("yesterday")).is_err());
    }
}
