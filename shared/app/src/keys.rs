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

/// Car brands (6.36), shared by every branch; sk = zero-padded id.
pub fn car_brands() -> String {
    "ref#carbrand".to_string()
}

/// Whether the brands of `brands::SEED` were seeded; sk = `seeded`. Apart
/// from the brands so that 6.36 lists only brands.
pub fn car_brand_seeding() -> String {
    "ref#carbrand-seeding".to_string()
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

// ---- parking core (stays, orders, payments) ----

/// Stays, one per entry record; sk = `cardInId` (the site's id makes uploads
/// idempotent).
pub fn stays(branch: &str) -> String {
    branch_part(branch, "stay")
}

/// Cars in the park now; sk = `P{plate}` (or `C{cardNo}` for a card-only
/// entry), body = the stay's cardInId and area. One item per car, so the
/// partition's size is the occupancy.
pub fn in_park(branch: &str) -> String {
    branch_part(branch, "inpark")
}

/// The in-park counter (`park::occupancy`): shards `s00`.. with cars per
/// area, and `init`, written when the counter was first counted.
pub fn in_park_count(branch: &str) -> String {
    branch_part(branch, "inparkn")
}

/// Entry journal; sk = `{inDate}#{cardInId}`, so a time window is a range.
pub fn entry_log(branch: &str) -> String {
    branch_part(branch, "inlog")
}

/// Exit journal; sk = `{outDate}#{cardInId}`.
pub fn exit_log(branch: &str) -> String {
    branch_part(branch, "outlog")
}

/// Door (sourceType 1) and channel-gate (2) passages, kept as history only;
/// sk = `{sourceType}#{cardInId}#{in|out}`.
pub fn passages(branch: &str) -> String {
    branch_part(branch, "passage")
}

/// Parking orders (6.1/6.2) and zero-fee calculations; sk = orderNo or
/// `Z{calcId}`.
pub fn orders(branch: &str) -> String {
    branch_part(branch, "order")
}

/// Payments, one per paid order; sk = orderNo (`MustNotExist` makes a payment
/// exactly-once).
pub fn payments(branch: &str) -> String {
    branch_part(branch, "payment")
}

/// Parking payments by the payer's own id (6.2 `thirdPayId`); sk = thirdPayId.
/// `MustNotExist` on it makes a repeat of one payment detectable even when
/// the commit names no order.
pub fn parking_trades(branch: &str) -> String {
    branch_part(branch, "paytrade")
}

/// Payment journal; sk = `{paidAt}#{orderNo}`.
pub fn payment_log(branch: &str) -> String {
    branch_part(branch, "paylog")
}

/// Sort key of a journal entry: time first so that windows are ranges.
pub fn log_sk(at: &str, id: &str) -> String {
    format!("{at}#{id}")
}

// ---- cards (cardholders, cards, monthly and stored-value payments) ----

/// Cardholders (10.11-10.14); sk = UserNo.
pub fn holders(branch: &str) -> String {
    branch_part(branch, "holder")
}

/// Cards (10.15-10.18, 10.42); sk = CardNo.
pub fn cards(branch: &str) -> String {
    branch_part(branch, "card")
}

/// Plate → card index; sk = normalised plate, body = `{"cardNo": ..}`. Written
/// in the same transaction as the card, so a plate names at most one card.
pub fn plate_cards(branch: &str) -> String {
    branch_part(branch, "platecard")
}

/// Monthly-card payment orders (6.39); sk = orderNo.
pub fn month_orders(branch: &str) -> String {
    branch_part(branch, "mcardorder")
}

/// Monthly-card renewals (6.6, 6.35); sk = the payment's idempotency key
/// (orderNo), so `MustNotExist` makes a renewal exactly-once.
pub fn month_charges(branch: &str) -> String {
    branch_part(branch, "mcardpay")
}

/// Stored-value top-ups (6.8, 6.28); sk = idempotency key, as for renewals.
pub fn value_topups(branch: &str) -> String {
    branch_part(branch, "scardtopup")
}

/// Stored-value debits by parking payments (payType 3); sk = the parking orderNo.
pub fn value_debits(branch: &str) -> String {
    branch_part(branch, "scarddebit")
}

// sitelink (the agent link: hello replay markers, upload replies, hardware)

/// Hello signatures already used by an agent; sk = the signature.
pub fn site_hello_replay(branch: &str, agent: &str) -> String {
    branch_part(branch, &format!("hello#{agent}"))
}

/// Replies to agent uploads, so a resend is answered without acting twice;
/// sk = `{agentId}#{uplinkId}`.
pub fn uplink_replies(branch: &str) -> String {
    branch_part(branch, "uplinkreply")
}

/// Abnormal gate openings (13.6) by command; sk = the record id.
pub fn abnormal_openings(branch: &str) -> String {
    branch_part(branch, "abnormalopen")
}

/// Lane decisions an agent took while offline; sk = `{time}#{agentId}#{uplinkId}`.
pub fn offline_decisions(branch: &str) -> String {
    branch_part(branch, "offlinedecision")
}

// push (outbound pushes and notifications, chapters 13 and 14)

/// Partners subscribed to outbound events; sk = partner name.
pub fn partners(branch: &str) -> String {
    branch_part(branch, "partner")
}

/// Per-(event, partner) delivered markers, so a retried fan-out skips the
/// partners that already have the event; sk = `{eventId}#{partner}`.
pub fn push_delivered(branch: &str) -> String {
    branch_part(branch, "pushed")
}

/// The site notices 9.19-9.25 as received; sk = `{route}#{eventId}` (the event
/// id is time-ordered, so one route's notices list in time order).
pub fn site_notices(branch: &str) -> String {
    branch_part(branch, "notice")
}

// lanes (who may enter and leave: blacklists, locks, groups, lane presence)

/// Blacklist entries (6.72-6.76); sk = zero-padded autoID. Lifted entries stay
/// (soft delete), so 6.76 lists them.
pub fn blacklist(branch: &str) -> String {
    branch_part(branch, "blacklist")
}

/// Blacklist types (6.77), admin-seeded; sk = zero-padded id.
pub fn black_types(branch: &str) -> String {
    branch_part(branch, "blacktype")
}

/// Blacklist hint texts (6.78), admin-seeded; sk = zero-padded id.
pub fn black_hints(branch: &str) -> String {
    branch_part(branch, "blackhint")
}

/// Car locks (6.16-6.19, 6.54, 9.4); sk = normalised plate. A lock belongs to
/// one stay (its cardInId), so a later visit starts unlocked.
pub fn car_locks(branch: &str) -> String {
    branch_part(branch, "carlock")
}

/// Groups (6.65-6.68); sk = zero-padded id.
pub fn groups(branch: &str) -> String {
    branch_part(branch, "group")
}

/// The car now in front of each lane; sk = deviceID. Expires (TTL) so a lane
/// nobody reported on for a while names no car.
pub fn lane_presence(branch: &str) -> String {
    branch_part(branch, "lanecar")
}

/// Bookings (6.13, 6.14, 6.101); sk = the booking number.
pub fn bookings(branch: &str) -> String {
    branch_part(branch, "booking")
}

/// The branch's booking configuration (6.12 and its slots for 6.79), admin
/// written; one item, sk = "config".
pub fn booking_config(branch: &str) -> String {
    branch_part(branch, "bookingcfg")
}
