//! Response codes (seed 5.2 plus the spec README's decision 4) and the error type
//! every handler returns. A handler never panics on bad input: it returns
//! `ApiError::field(..)` and the dispatcher turns that into a 100001 envelope.

use std::fmt;

/// A response code. Kept as a newtype over the wire integer so unknown codes from
/// chapter 12's table can still be carried, while the common ones have names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Code(pub i64);

impl Code {
    pub const OK: Code = Code(200);
    pub const FAILED: Code = Code(500);
    pub const NOT_ALLOWED: Code = Code(403);
    pub const UNKNOWN_ROUTE: Code = Code(404);
    pub const NOT_BUILT: Code = Code(501);
    /// Payment order timed out or cancelled.
    pub const ORDER_EXPIRED: Code = Code(510);
    /// Duplicate transaction (already paid).
    pub const DUPLICATE: Code = Code(511);
    pub const VISITEE_MISSING: Code = Code(530);
    pub const VISITEE_NOT_UNIQUE: Code = Code(531);
    /// Device did not answer in time.
    pub const DEVICE_TIMEOUT: Code = Code(620);
    /// Vehicle not in the car park.
    pub const CAR_NOT_IN_PARK: Code = Code(700);
    pub const BAD_INPUT: Code = Code(100001);
    pub const SYSTEM: Code = Code(100002);
    pub const AUTH: Code = Code(100003);
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a request did not succeed: a code and a message for the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: Code,
    pub message: String,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }
    /// 100001 naming the field, the answer to every kind of bad input.
    pub fn field(name: &str, problem: impl fmt::Display) -> Self {
        ApiError::new(Code::BAD_INPUT, format!("field '{name}': {problem}"))
    }
    pub fn missing(name: &str) -> Self {
        ApiError::field(name, "is required")
    }
    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::new(Code::BAD_INPUT, message)
    }
    pub fn auth(message: impl Into<String>) -> Self {
        ApiError::new(Code::AUTH, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(Code::NOT_ALLOWED, message)
    }
    pub fn failed(message: impl Into<String>) -> Self {
        ApiError::new(Code::FAILED, message)
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::new(Code::FAILED, format!("{} does not exist", what.into()))
    }
    /// Infrastructure failed (store, queue): the caller may retry.
    pub fn system(err: impl fmt::Display) -> Self {
        tracing::error!(error = %err, "system error");
        ApiError::new(Code::SYSTEM, format!("system error: {err}"))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::system(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
