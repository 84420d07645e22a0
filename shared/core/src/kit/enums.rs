//! The seed's small code tables, as types: a route input names the enum, so a
//! value outside the table is a 100001 naming the field, and the domain never
//! compares magic numbers.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;

/// Declares a wire enum read from its integer code (as a number or a string)
/// and written back as the code in a string, as the seed prints it.
macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $var:ident = $code:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $var),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            pub fn code(self) -> i64 {
                match self { $($name::$var => $code),+ }
            }
            pub fn from_code(c: i64) -> Option<$name> {
                match c { $($code => Some($name::$var),)+ _ => None }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let n = super::scalars::Int::deserialize(d)?.0;
                $name::from_code(n).ok_or_else(|| de::Error::custom(format!(
                    concat!("{} is not ", $what, " ({})"), n,
                    [$(concat!(stringify!($code), " ", stringify!($var))),+].join(", "))))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.code().to_string())
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> { Cow::Borrowed(stringify!($name)) }
            fn inline_schema() -> bool { true }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({"type": ["string", "integer"], "enum": [$(stringify!($code)),+], "description": $what})
            }
        }
    };
}

code_enum!(
    /// 6.1/6.2 `credentialtype`.
    CredentialType, "a credential type" { Plate = 1, Card = 2 }
);

code_enum!(
    /// 6.26 `status` of a payment order.
    OrderStatus, "an order status" { Unpaid = 0, Paid = 1, Cancelled = 2 }
);

code_enum!(
    /// 9.1/9.2 `sourceType`: who recorded the passage.
    SourceType, "a source type" { Park = 0, Door = 1, ChannelGate = 2 }
);

/// 6.2 `payType`. The seed's table has some fifty channels and grows with each
/// partner, so it is an open code with names for the ones the domain acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayType(pub i64);

impl PayType {
    pub const CASH: PayType = PayType(0);
    /// Paid from a stored-value card: the card is debited what is due.
    pub const STORED_VALUE: PayType = PayType(3);
    /// The seed's default: third-party payment.
    pub const THIRD_PARTY: PayType = PayType(10);
    /// Third-party password-free (contactless) payment.
    pub const CONTACTLESS: PayType = PayType(40);
    pub const MAX: i64 = 999;
}

impl Default for PayType {
    fn default() -> Self {
        PayType::THIRD_PARTY
    }
}

impl<'de> Deserialize<'de> for PayType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = super::scalars::Int::deserialize(d)?.0;
        if !(0..=PayType::MAX).contains(&n) {
            return Err(de::Error::custom(format!("{n} is not a pay type (0..{})", PayType::MAX)));
        }
        Ok(PayType(n))
    }
}

impl Serialize for PayType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl JsonSchema for PayType {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("PayType")
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["string", "integer"], "description": "the seed's payType code (3 stored-value card, 10 third party, ...)"})
    }
}

/// What kind of card a car holds, as pricing sees it (tariff rule 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CardKind {
    Temporary,
    Monthly,
    StoredValue,
    Free,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_round_trip_and_refuse_unknowns() {
        assert_eq!(serde_json::from_value::<CredentialType>(json!("2")).unwrap(), CredentialType::Card);
        assert_eq!(serde_json::from_value::<OrderStatus>(json!(1)).unwrap(), OrderStatus::Paid);
        let e = serde_json::from_value::<CredentialType>(json!(7)).unwrap_err().to_string();
        assert!(e.contains("7 is not a credential type"), "{e}");
        assert_eq!(serde_json::to_value(SourceType::Door).unwrap(), json!("1"));
        assert!(serde_json::from_value::<PayType>(json!(-1)).is_err());
        assert_eq!(serde_json::from_value::<PayType>(json!("3")).unwrap(), PayType::STORED_VALUE);
    }
}
