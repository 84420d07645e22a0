//! Where each record lives in the item store. One place, so that two modules
//! never invent the same partition by accident. Every business partition is
//! scoped by branch (`b#{branchno}#...`).

pub fn branch_part(branch: &str, kind: &str) -> String {
    format!("b#{branch}#{kind}")
}

/// Car types (6.87-6.90); sk = zero-padded id.
pub fn car_types(branch: &str) -> String {
    branch_part(branch, "cartype")
}

/// Temporary tariffs (6.96-6.100); sk = `{area}#{carTypeId}`.
pub fn temp_tariffs(branch: &str) -> String {
    branch_part(branch, "ttariff")
}

/// Monthly tariffs (6.91-6.94); sk = zero-padded id.
pub fn month_tariffs(branch: &str) -> String {
    branch_part(branch, "mtariff")
}

/// Id counters; sk = what is counted.
pub fn counters(branch: &str) -> String {
    branch_part(branch, "counter")
}

/// Site heartbeats (10.4); sk = the site's `no`.
pub fn heartbeats(branch: &str) -> String {
    branch_part(branch, "hb")
}

/// Zero-padded so that sort-key order is numeric order.
pub fn id_sk(id: i64) -> String {
    format!("{id:010}")
}
