//! The 15.1 codes 602-615, where the seed means them. Messages are the
//! caller's: they name what was missing or short.

use onecard_core::{ApiError, Code, Fen};

pub const MERCHANT_MISSING: Code = Code(602);
pub const DISCOUNT_MISSING: Code = Code(603);
pub const DISCOUNT_NOT_YET: Code = Code(604);
pub const DISCOUNT_EXPIRED: Code = Code(605);
/// 606 and 612 print the same text; 606 is the day's print serials, 612 a
/// merchant's own daily quota.
pub const DAY_SERIALS_USED: Code = Code(606);
pub const MERCHANT_DAY_QUOTA: Code = Code(612);
pub const AMOUNT_SHORT: Code = Code(613);
pub const TIME_SHORT: Code = Code(614);
pub const ISSUE_FAILED: Code = Code(615);

pub fn merchant_missing(id: i64) -> ApiError {
    ApiError::new(MERCHANT_MISSING, format!("merchant {id} does not exist"))
}

pub fn discount_missing(what: impl std::fmt::Display) -> ApiError {
    ApiError::new(DISCOUNT_MISSING, format!("discount {what} does not exist"))
}

pub fn not_yet(what: impl std::fmt::Display, from: &str) -> ApiError {
    ApiError::new(DISCOUNT_NOT_YET, format!("discount {what} is valid only from {from}"))
}

pub fn expired(what: impl std::fmt::Display, at: &str) -> ApiError {
    ApiError::new(DISCOUNT_EXPIRED, format!("discount {what} expired at {at}"))
}

pub fn amount_short(merchant: i64, balance: Fen, needed: Fen) -> ApiError {
    ApiError::new(AMOUNT_SHORT, format!("merchant {merchant} has {balance} yuan of gift amount left, {needed} are needed"))
}

pub fn time_short(merchant: i64, balance: i64, needed: i64) -> ApiError {
    ApiError::new(TIME_SHORT, format!("merchant {merchant} has {balance} minutes of gift time left, {needed} are needed"))
}
