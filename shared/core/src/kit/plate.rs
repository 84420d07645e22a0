//! A licence plate, parsed once at the edge (decision 7): compared in its
//! normalised form (no white space, Latin letters upper-cased) and echoed back
//! as the caller sent it, because the seed's clients show what they typed.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// No plate of any country is longer; anything longer is not a plate.
pub const PLATE_MAX_CHARS: usize = 16;

#[derive(Clone, Debug, Eq)]
pub struct Plate {
    original: String,
    norm: String,
}

impl Plate {
    pub fn parse(s: &str) -> Result<Plate, String> {
        let original = s.trim().to_string();
        let norm = normalise(&original);
        if norm.is_empty() {
            return Err("is empty".into());
        }
        if norm.chars().count() > PLATE_MAX_CHARS {
            return Err(format!("'{original}' is longer than {PLATE_MAX_CHARS} characters"));
        }
        if norm.chars().any(|c| c.is_control()) {
            return Err("contains control characters".into());
        }
        Ok(Plate { original, norm })
    }

    /// The form plates are compared and keyed by.
    pub fn norm(&self) -> &str {
        &self.norm
    }

    /// As the caller sent it (trimmed).
    pub fn original(&self) -> &str {
        &self.original
    }
}

/// Removes white space and upper-cases Latin letters.
pub fn normalise(p: &str) -> String {
    p.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect()
}

impl PartialEq for Plate {
    fn eq(&self, other: &Plate) -> bool {
        self.norm == other.norm
    }
}

impl std::hash::Hash for Plate {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.norm.hash(h)
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl<'de> Deserialize<'de> for Plate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = super::scalars::Text::deserialize(d)?;
        Plate::parse(&s).map_err(de::Error::custom)
    }
}

/// Serialises as sent.
impl Serialize for Plate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.original)
    }
}

impl JsonSchema for Plate {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Plate")
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "maxLength": 32, "example": "浙A12345", "description": "licence plate; compared without spaces, Latin letters upper-cased"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_normalised_and_echoes_original() {
        let a = Plate::parse(" 浙 aiv587 ").unwrap();
        assert_eq!(a.norm(), "浙AIV587");
        assert_eq!(a.original(), "浙 aiv587");
        assert_eq!(a, Plate::parse("浙AIV587").unwrap());
        assert!(Plate::parse("  ").is_err());
        assert!(Plate::parse(&"A".repeat(40)).is_err());
    }
}
