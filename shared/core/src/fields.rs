//! Small readings of loose JSON shared outside the route kit (envelope scalars,
//! plate comparison). Route inputs use `kit`'s typed fields.

use serde_json::Value;

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

/// Normalises a plate for comparison (decision 7): no white space, Latin letters
/// upper-cased.
pub fn normalize_plate(p: &str) -> String {
    crate::kit::normalise_plate(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plates() {
        assert_eq!(normalize_plate("浙 aiv587 "), "浙AIV587");
    }
}
