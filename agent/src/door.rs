//! Pedestrian doors hang on a relay board speaking the same frame protocol as
//! the lane boards; only the relay channels differ in meaning.

use crate::frame::{relay, Payload};
use crate::serial_driver::{Board, DeviceError};

/// Default pulse when the cloud does not say how long the door stays unlocked.
pub const DEFAULT_OPEN_SECONDS: u8 = 5;

#[derive(Clone)]
pub struct Door {
    board: Board,
}

impl Door {
    pub fn new(board: Board) -> Door {
        Door { board }
    }

    pub async fn open(&self, seconds: Option<u8>) -> Result<(), DeviceError> {
        let seconds = seconds.unwrap_or(DEFAULT_OPEN_SECONDS);
        self.board.send(&Payload::Relay { channel: relay::OPEN, seconds }).await
    }

    /// Normally-open holds the relay until told otherwise (fire alarm, events).
    pub async fn normal_open(&self, on: bool) -> Result<(), DeviceError> {
        let channel = if on { relay::HOLD_OPEN } else { relay::RELEASE };
        self.board.send(&Payload::Relay { channel, seconds: 0 }).await
    }
}
