//! How parking records hold times and codes in the store. The stored form is
//! older than the kit's types and data already written must keep reading:
//! times as the spec writes them (chrono's serde is not enabled), order
//! statuses and pay types as plain integers (the kit's enums answer strings
//! on the wire, which would change the stored JSON).

/// A time as `yyyy-MM-dd HH:mm:ss`.
pub(crate) mod ts {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&onecard_core::time::format(*t))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let s = String::deserialize(d)?;
        onecard_core::time::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("bad time '{s}'")))
    }
}

/// An optional time, `null` when absent.
pub(crate) mod opt_ts {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&onecard_core::time::format(*t)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => onecard_core::time::parse(&s).map(Some).ok_or_else(|| serde::de::Error::custom(format!("bad time '{s}'"))),
        }
    }
}

/// An order status as its integer code (0 unpaid, 1 paid, 2 cancelled).
pub(crate) mod order_status {
    use onecard_core::kit::OrderStatus;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &OrderStatus, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(v.code())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OrderStatus, D::Error> {
        let n = i64::deserialize(d)?;
        OrderStatus::from_code(n).ok_or_else(|| serde::de::Error::custom(format!("bad order status {n}")))
    }
}

/// A pay type as its integer code.
pub(crate) mod pay_type {
    use onecard_core::kit::PayType;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &PayType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(v.0)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PayType, D::Error> {
        i64::deserialize(d).map(PayType)
    }
}

/// An optional pay type as its integer code, `null` when absent.
pub(crate) mod opt_pay_type {
    use onecard_core::kit::PayType;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<PayType>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(p) => s.serialize_i64(p.0),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PayType>, D::Error> {
        Ok(Option::<i64>::deserialize(d)?.map(PayType))
    }
}

#[cfg(test)]
mod tests {
    use onecard_core::kit::{OrderStatus, PayType};
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct R {
        #[serde(with = "super::order_status")]
        status: OrderStatus,
        #[serde(with = "super::opt_pay_type", default)]
        pay_type: Option<PayType>,
    }

    #[test]
    fn codes_are_stored_as_the_integers_older_records_hold() {
        let old = json!({"status": 1, "pay_type": 7});
        let r: R = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(r, R { status: OrderStatus::Paid, pay_type: Some(PayType(7)) });
        assert_eq!(serde_json::to_value(&r).unwrap(), old);
        let r: R = serde_json::from_value(json!({"status": 0})).unwrap();
        assert_eq!(r.pay_type, None);
    }
}
