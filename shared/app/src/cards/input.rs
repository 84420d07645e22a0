//! Reading the nested objects of 10.15/10.42 (`Park`, `Acss`) so that errors
//! name the field as the client sees it (`Park.StartDate`), and reading plates.

use onecard_core::fields::normalize_plate;
use onecard_core::{ApiError, ApiResult, Data};
use serde_json::Value;

/// A nested object of a request, with its name for error messages.
#[derive(Debug)]
pub struct Section {
    pub name: &'static str,
    pub data: Data,
}

impl Section {
    /// The object `name` of `d`; some clients send nested JSON as a string.
    pub fn of(d: &Data, name: &'static str) -> ApiResult<Option<Section>> {
        let v = match d.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
            Some(Value::String(s)) => serde_json::from_str::<Value>(s).map_err(|_| ApiError::field(name, "must be an object"))?,
            Some(v) => v.clone(),
        };
        if !v.is_object() {
            return Err(ApiError::field(name, "must be an object"));
        }
        Ok(Some(Section { name, data: Data::new(v) }))
    }

    /// Runs a `Data` accessor, renaming the field in its error to `Section.field`.
    pub fn read<T>(&self, r: ApiResult<T>) -> ApiResult<T> {
        r.map_err(|e| self.rename(e))
    }

    pub fn rename(&self, mut e: ApiError) -> ApiError {
        if let Some(rest) = e.message.strip_prefix("field '") {
            e.message = format!("field '{}.{rest}", self.name);
        }
        e
    }

    pub fn field(&self, field: &str, problem: impl std::fmt::Display) -> ApiError {
        ApiError::field(&format!("{}.{field}", self.name), problem)
    }
}

/// Separators clients put between two plates in one field. White space is not
/// one: the seed's plates carry spaces inside ("浙 AIV587").
const PLATE_SEPARATORS: [char; 6] = [',', '，', ';', '；', '/', '|'];

/// One plate, normalised and checked.
pub fn plate(field: &str, raw: &str) -> ApiResult<String> {
    let p = normalize_plate(raw);
    let n = p.chars().count();
    if !(2..=12).contains(&n) {
        return Err(ApiError::field(field, format!("'{raw}' is not a licence plate")));
    }
    Ok(p)
}

/// The plates of one field (one or two, separated), normalised, without
/// duplicates.
pub fn plates(field: &str, raw: &str) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for part in raw.split(PLATE_SEPARATORS).filter(|s| !s.trim().is_empty()) {
        let p = plate(field, part)?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
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
pub fn opt_text(d: &Data, name: &str, max: usize) -> ApiResult<Option<String>> {
    match d.opt_str(name)? {
        Some(s) if s.chars().count() > max => Err(ApiError::field(name, format!("is longer than {max} characters"))),
        v => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn section_errors_name_the_nested_field() {
        let d = Data::new(json!({"Park": {"StartDate": "soon"}, "Acss": "{\"FuncType\": \"9\"}", "Bad": 5}));
        let park = Section::of(&d, "Park").unwrap().unwrap();
        let e = park.read(park.data.time("StartDate")).unwrap_err();
        assert_eq!(e.code.0, 100001);
        assert!(e.message.contains("'Park.StartDate'"), "{}", e.message);
        let e = park.read(park.data.time("ExpiryDate")).unwrap_err();
        assert!(e.message.contains("'Park.ExpiryDate'"), "{}", e.message);
        let acss = Section::of(&d, "Acss").unwrap().unwrap();
        assert_eq!(acss.data.i64("FuncType").unwrap(), 9);
        assert!(Section::of(&d, "Bad").unwrap_err().message.contains("'Bad'"));
        assert!(Section::of(&d, "None").unwrap().is_none());
    }

    #[test]
    fn plates_are_split_normalised_and_checked() {
        assert_eq!(plates("p", "粤 b12345").unwrap(), vec!["粤B12345"]);
        assert_eq!(plates("p", "粤B12345,粤 b54321").unwrap(), vec!["粤B12345", "粤B54321"]);
        assert_eq!(plates("p", "粤B12345；粤B12345").unwrap(), vec!["粤B12345"]);
        let three = plates("p", "粤A1,粤A2,粤A3").unwrap();
        let e = check_plate_count("Park.LicensePlate", &three).unwrap_err();
        assert!(e.message.contains("'Park.LicensePlate'"));
        assert!(plate("new", "X").unwrap_err().message.contains("'new'"));
    }
}
