//! Local stand-ins for the outside systems (decision 21): they keep their
//! own books in the store, as the real services keep theirs, so that results
//! arrive late, repeats are recognised and signatures are checked exactly
//! as with the real thing. `onecard payments standin --fail <op>` makes an
//! operation fail; pay-by-code also reads the payer's code:
//!
//! | code ends in | the stand-in answers |
//! |---|---|
//! | `9991` | declined (insufficient balance) |
//! | `9992` | the payer is confirming: paying, then paid on the fourth query |
//! | `9993` | the answer is lost on the way (unreachable), yet the trade is paid |
//! | anything else | paid |

pub mod invoice;
pub mod pay;
pub mod redpacket;

pub use invoice::StandinInvoices;
pub use pay::StandinPay;
pub use redpacket::StandinRedPackets;
