//! Answers whose envelope message is set on some outcomes only (a repeated
//! upload, a refused scan): `kit::WithMessage::optional`.

use onecard_core::kit::WithMessage;

pub fn noted<T>(data: T, message: Option<String>) -> WithMessage<T> {
    WithMessage::optional(data, message)
}
