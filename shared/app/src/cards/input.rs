//! Input pieces the card routes share and the kit does not have (yet): nested
//! objects that some clients send as JSON text (10.15/10.42 `Park`, `Acss`), a
//! field holding one or two plates, the card plate rules, length-limited text
//! and credentials.

use onecard_core::kit::{self, Int, Plate, Text};
use onecard_core::{ApiError, ApiResult};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// An object field. Some clients send nested objects as a string holding the
/// JSON; both read alike. Sent as an object, errors inside name the nested
/// field (`Park.StartDate`) because the kit's path tracking sees through.
#[derive(Clone, Debug, PartialEq)]
pub struct Nested<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Nested<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for V<T> {
            type Value = Nested<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Nested<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Nested)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Nested<T>, E> {
                let mut v: serde_json::Value = serde_json::from_str(s).map_err(|_| E::custom("must be an object"))?;
                if !v.is_object() {
                    return Err(E::custom("must be an object"));
                }
                kit::input::normalise(&mut v);
                // Without the path of the text's inside, a missing field still
                // reads "missing field `X`", which the kit names `Park.X`.
                serde_json::from_value(v).map(Nested).map_err(|e| E::custom(e.to_string()))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for Nested<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        T::json_schema(g)
    }
}

impl<T> Nested<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Separators clients put between two plates in one field. White space is not
/// one: the seed's plates carry spaces inside ("浙 AIV587").
const PLATE_SEPARATORS: [char; 6] = [',', '，', ';', '；', '/', '|'];

/// A card plate: a `kit::Plate` of 2 to 12 characters once normalised (the
/// card side has always refused shorter and longer ones).
fn card_plate_of(raw: &str) -> Result<Plate, String> {
    let bad = || format!("'{raw}' is not a licence plate");
    let p = Plate::parse(raw).map_err(|_| bad())?;
    if !(2..=12).contains(&p.norm().chars().count()) {
        return Err(bad());
    }
    Ok(p)
}

/// A plate field of a card route, checked by the card plate rule; answers the
/// normalised plate the card and its index keep.
pub fn card_plate(field: &str, p: &Plate) -> ApiResult<String> {
    card_plate_text(field, p.original())
}

/// Text that must be a card plate (10.15: a plate card's face number).
pub fn card_plate_text(field: &str, raw: &str) -> ApiResult<String> {
    card_plate_of(raw).map(|p| p.norm().to_string()).map_err(|e| ApiError::field(field, e))
}

/// A field holding one or two plates, separated (`粤A11111,粤A22222`): each
/// checked as a card plate, without repeats.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plates(pub Vec<Plate>);

impl<'de> Deserialize<'de> for Plates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Text::deserialize(d)?;
        let mut out: Vec<Plate> = Vec::new();
        for part in raw.split(PLATE_SEPARATORS).filter(|s| !s.trim().is_empty()) {
            let p = card_plate_of(part).map_err(de::Error::custom)?;
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Ok(Plates(out))
    }
}

impl JsonSchema for Plates {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Plates")
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({"type": "string", "example": "粤A11111,粤A22222",
            "description": "one plate, or two separated by , ; / or |"})
    }
}

impl Plates {
    /// The normalised plates.
    pub fn norms(&self) -> Vec<String> {
        self.0.iter().map(|p| p.norm().to_string()).collect()
    }
}

/// A card holds at most two plates (6.4 answers `LicensePlate1`/`2`).
pub const MAX_PLATES: usize = 2;

pub fn check_plate_count(field: &str, plates: &[String]) -> ApiResult<()> {
    if plates.len() > MAX_PLATES {
        return Err(ApiError::field(field, format!("a card binds at most {MAX_PLATES} plates, got {}", plates.len())));
    }
    Ok(())
}

/// A text field with a length limit (counted in characters).
pub fn limited(field: &str, v: Option<Text>, max: usize) -> ApiResult<Option<String>> {
    match v {
        Some(s) if s.chars().count() > max => Err(ApiError::field(field, format!("is longer than {max} characters"))),
        v => Ok(v.map(String::from)),
    }
}

/// How a request names a card (`credentialtype`): the union of the codes the
/// sections use; each route says which it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    Plate,
    CardNo,
    UserNo,
    Mobile,
}

/// Checks a credential's type code against the codes the section allows
/// (`allowed` pairs code → meaning), naming `type_field` when it is not one.
pub fn credential(type_field: &str, code: Int, value: Text, allowed: &[(i64, Credential)]) -> ApiResult<(Credential, String)> {
    let code = code.get();
    let kind = allowed.iter().find(|(c, _)| *c == code).map(|(_, k)| *k).ok_or_else(|| {
        let codes: Vec<String> = allowed.iter().map(|(c, _)| c.to_string()).collect();
        ApiError::field(type_field, format!("'{code}' is not one of {}", codes.join(", ")))
    })?;
    Ok((kind, value.into_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Park {
        #[serde(rename = "StartDate")]
        start: kit::DateTime,
        #[serde(rename = "FuncType")]
        func_type: Option<Int>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct In {
        #[serde(rename = "Park")]
        park: Option<Nested<Park>>,
    }

    #[test]
    fn nested_errors_name_the_nested_field() {
        let e = kit::input::parse::<In>(json!({"Park": {"StartDate": "soon"}})).unwrap_err();
        assert_eq!(e.code.0, 100001);
        assert!(e.message.contains("'Park.StartDate'"), "{}", e.message);
        let e = kit::input::parse::<In>(json!({"Park": {"FuncType": 26}})).unwrap_err();
        assert!(e.message.contains("'Park.StartDate'") && e.message.contains("required"), "{}", e.message);
        let e = kit::input::parse::<In>(json!({"Park": "{\"FuncType\": \"9\"}"})).unwrap_err();
        assert!(e.message.contains("'Park.StartDate'"), "{}", e.message);
        let i = kit::input::parse::<In>(json!({"Park": "{\"FuncType\": \" 9 \", \"StartDate\": \"2026-03-01\"}"})).unwrap();
        assert_eq!(i.park.unwrap().0.func_type, Some(Int(9)));
        assert!(kit::input::parse::<In>(json!({"Park": 5})).unwrap_err().message.contains("'Park'"));
        assert!(kit::input::parse::<In>(json!({"Park": "not json"})).unwrap_err().message.contains("'Park'"));
        assert!(kit::input::parse::<In>(json!({"Park": ""})).unwrap().park.is_none());
    }

    fn plates(s: &str) -> Result<Vec<String>, String> {
        serde_json::from_value::<Plates>(json!(s)).map(|p| p.norms()).map_err(|e| e.to_string())
    }

    #[test]
    fn plates_are_split_normalised_and_checked() {
        assert_eq!(plates("粤 b12345").unwrap(), vec!["粤B12345"]);
        assert_eq!(plates("粤B12345,粤 b54321").unwrap(), vec!["粤B12345", "粤B54321"]);
        assert_eq!(plates("粤B12345；粤B12345").unwrap(), vec!["粤B12345"]);
        let three = plates("粤A1,粤A2,粤A3").unwrap();
        let e = check_plate_count("Park.LicensePlate", &three).unwrap_err();
        assert!(e.message.contains("'Park.LicensePlate'"));
        assert!(plates("粤A1,X").unwrap_err().contains("'X' is not a licence plate"));
        assert!(plates("粤A123456789012").is_err(), "longer than 12");
        let x = Plate::parse("X").unwrap();
        assert!(card_plate("new", &x).unwrap_err().message.contains("'new'"));
    }

    #[test]
    fn credential_codes_are_checked() {
        let allowed = [(1, Credential::Plate), (2, Credential::CardNo)];
        assert_eq!(credential("t", Int(2), Text("7".into()), &allowed).unwrap(), (Credential::CardNo, "7".into()));
        let e = credential("CredentialType", Int(3), Text("7".into()), &allowed).unwrap_err();
        assert!(e.message.contains("'CredentialType'") && e.message.contains("not one of 1, 2"), "{}", e.message);
    }
}
