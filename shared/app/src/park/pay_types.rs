//! The `payType` filter of 6.29 and 6.45: one pay type or several separated by
//! commas ("5,7"); empty means any. Generic enough for the kit (other lists
//! filter by pay type too); it lives here until it moves there.

use onecard_core::kit::{PayType, Text};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PayTypes(pub Vec<PayType>);

impl PayTypes {
    /// Does the filter let `p` through? An empty filter lets everything through.
    pub fn admits(&self, p: PayType) -> bool {
        self.0.is_empty() || self.0.contains(&p)
    }
}

impl<'de> Deserialize<'de> for PayTypes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Text::deserialize(d)?;
        s.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| match t.parse::<i64>() {
                Ok(n) if (0..=PayType::MAX).contains(&n) => Ok(PayType(n)),
                _ => Err(de::Error::custom(format!("'{t}' is not a payment type"))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(PayTypes)
    }
}

impl JsonSchema for PayTypes {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("PayTypes")
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["string", "integer"], "example": "5,7", "description": "payType codes separated by commas; empty means any"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_one_or_several_codes_and_refuses_others() {
        let p: PayTypes = serde_json::from_value(json!("5, 7")).unwrap();
        assert_eq!(p, PayTypes(vec![PayType(5), PayType(7)]));
        assert!(p.admits(PayType(7)) && !p.admits(PayType(3)));
        let one: PayTypes = serde_json::from_value(json!(3)).unwrap();
        assert!(one.admits(PayType::STORED_VALUE));
        assert!(PayTypes::default().admits(PayType(40)));
        let e = serde_json::from_value::<PayTypes>(json!("5,x")).unwrap_err().to_string();
        assert!(e.contains("'x' is not a payment type"), "{e}");
        assert!(serde_json::from_value::<PayTypes>(json!("-1")).is_err());
    }
}
