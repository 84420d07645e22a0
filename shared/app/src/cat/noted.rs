//! Answers whose envelope message is set on some outcomes only (a repeated
//! upload, a refused scan). `kit::WithMessage` always sets one, so the other
//! outcomes carry the envelope's own default, and the wire is as before.
//! Belongs in the kit as a `WithMessage` whose message is optional.

use onecard_core::kit::WithMessage;

/// What the envelope says when a handler sets no message (`envelope::response`).
pub const ENVELOPE_DEFAULT: &str = "success";

pub fn noted<T>(data: T, message: Option<String>) -> WithMessage<T> {
    WithMessage { data, message: message.unwrap_or_else(|| ENVELOPE_DEFAULT.to_string()) }
}
