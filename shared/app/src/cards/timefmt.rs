//! Stored times as the spec's `yyyy-MM-dd HH:mm:ss` text (branch-local), so
//! that items read the same in DynamoDB's console as on the wire, and the
//! records do not depend on chrono's serde feature.

pub mod ts {
    use chrono::NaiveDateTime;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&onecard_core::time::format(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let s = String::deserialize(d)?;
        onecard_core::time::parse(&s).ok_or_else(|| D::Error::custom(format!("bad time '{s}'")))
    }
}

pub mod opt_ts {
    use chrono::NaiveDateTime;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&onecard_core::time::format(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => onecard_core::time::parse(&s).map(Some).ok_or_else(|| D::Error::custom(format!("bad time '{s}'"))),
        }
    }
}
