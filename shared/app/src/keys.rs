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

/// The bookings still `booked`, ordered by when they stop mattering
/// (`lanes::live_bookings`): sk = `{window end as %Y%m%d%H%M%S}#{booking
/// number}`, body = its number and plate. Holds the `built` marker too (sk
/// `built`, after every entry), so the range read that finds the entries
/// also tells whether the index was built.
pub fn live_bookings(branch: &str) -> String {
    branch_part(branch, "booking-live")
}

/// Bookings whose fee refund is owed (`payments::booking_refund`): what the
/// reconciliation retries, without reading every booking; sk = the booking
/// number.
pub fn owed_booking_refunds(branch: &str) -> String {
    branch_part(branch, "booking-refund-owed")
}

/// The branch's booking configuration (6.12 and its slots for 6.79), admin
/// written; one item, sk = "config".
pub fn booking_config(branch: &str) -> String {
    branch_part(branch, "bookingcfg")
}

// payments beyond cash (QR codes, pay-by-code, password-free pay, Alipay WAP,
// e-invoices, red envelopes)

/// A branch's payment settings (QR base URL, invoice limits, pages); sk = `settings`.
pub fn pay_settings(branch: &str) -> String {
    branch_part(branch, "paycfg")
}

/// Which outside payment systems this deployment uses (decision 21); sk =
/// `providers`. Not per branch: one deployment, one set of contracts.
pub fn pay_providers() -> String {
    "ref#payproviders".to_string()
}

/// Trades sent to the payment provider; sk = `out_trade_no`.
pub fn provider_trades(branch: &str) -> String {
    branch_part(branch, "ptrade")
}

/// The provider trades still undecided (`Sent`/`Paying`): what the
/// reconciliation asks about, without reading every trade ever made.
pub fn open_trades(branch: &str) -> String {
    branch_part(branch, "ptrade-open")
}

/// Dynamic QR `rnd` per device (decision 20); sk = device id.
pub fn qr_rnd(branch: &str) -> String {
    branch_part(branch, "qrrnd")
}

/// Password-free (contactless) cars, 6.69-6.71; sk = normalised plate.
pub fn nopsw_cars(branch: &str) -> String {
    branch_part(branch, "nopsw")
}

/// E-invoice records; sk = einvoiceID.
pub fn einvoices(branch: &str) -> String {
    branch_part(branch, "einvoice")
}

/// Which invoice holds each order; sk = orderNo. Written `MustNotExist` with
/// the invoice, so an order is never on two invoices.
pub fn invoiced_orders(branch: &str) -> String {
    branch_part(branch, "einvorder")
}

/// Red envelopes, one per order (6.84 is idempotent per order); sk = orderNo.
pub fn red_envelopes(branch: &str) -> String {
    branch_part(branch, "redenv")
}

/// The stand-in provider's own books (what the real service keeps on its
/// side); sk = its record id.
pub fn standin_books(kind: &str) -> String {
    format!("standin#{kind}")
}

/// Per-partner settings (chapter 11): ids, URLs, keys of one partner at one
/// branch; sk = the partner's name (`partners::settings`).
pub fn partner_settings(branch: &str) -> String {
    branch_part(branch, "partner-cfg")
}

/// A partner's own records at a branch (first answers of its notifications,
/// its quotes, payment flows, stand-in accounts); sk chosen by the partner's
/// module, always prefixed by what it holds.
pub fn partner_records(branch: &str, partner: &str) -> String {
    branch_part(branch, &format!("partner#{partner}"))
}

// ---- discounts and merchants (issue 14) ----

/// Merchants (6.46-6.52); sk = zero-padded `businessID`.
pub fn merchants(branch: &str) -> String {
    branch_part(branch, "merchant")
}

/// Consumption points (6.49); sk = zero-padded `tollDevID`.
pub fn toll_devices(branch: &str) -> String {
    branch_part(branch, "tolldev")
}

/// Discount sets (6.34); sk = `{businessID}#{discountID}`, both zero-padded.
pub fn discount_sets(branch: &str) -> String {
    branch_part(branch, "dset")
}

/// Coupons (6.57-6.63); sk = barcode.
pub fn coupons(branch: &str) -> String {
    branch_part(branch, "coupon")
}

/// The first form of a car's discount index, one item per discount: sk =
/// `{car}#C#{barcode}` (a coupon bound by 6.60), `{car}#T#{tollID}` (a
/// merchant discount given to its stay), `{car}#P#{id}` (a plate discount);
/// `{car}` is the normalised plate, or `#{cardInId}` for a card-only stay.
/// Only read to rebuild it as `car_discount_sets` (`discounts::car_index`).
pub fn car_discounts(branch: &str) -> String {
    branch_part(branch, "cardisc")
}

/// What discounts a car has, one item per car so that `calc` reads it in a
/// batch get: sk = `{car}` as in `car_discounts`, body = the entries.
pub fn car_discount_sets(branch: &str) -> String {
    branch_part(branch, "cardiscset")
}

/// Whether `car_discount_sets` was built from `car_discounts`; sk = `built`.
pub fn car_discount_sets_built(branch: &str) -> String {
    branch_part(branch, "cardiscset-built")
}

/// Merchant discount records (6.43, 6.50, 6.51); sk = zero-padded `tollID`.
pub fn toll_records(branch: &str) -> String {
    branch_part(branch, "toll")
}

/// Plate discounts (6.106-6.108); sk = zero-padded id.
pub fn plate_discounts(branch: &str) -> String {
    branch_part(branch, "platedisc")
}

/// Uses of discounts that apply once (a plate discount per stay, a shopping
/// ticket ever); sk = `{kind}#{id}`. Written `MustNotExist` in the payment.
pub fn discount_uses(branch: &str) -> String {
    branch_part(branch, "discuse")
}

/// The branch's discount settings (pay URL, quotas, shopping table); sk = `settings`.
pub fn discount_settings(branch: &str) -> String {
    branch_part(branch, "discset")
}

/// The local membership ledger (6.44); sk = card number.
pub fn members(branch: &str) -> String {
    branch_part(branch, "member")
}

/// Self-service find-car notices for the kiosks (6.53); sk = `{deviceId}#{time}`.
pub fn find_car_notices(branch: &str) -> String {
    branch_part(branch, "findcar")
}

/// Coupon issues (6.57 `mainID`); sk = zero-padded id.
pub fn coupon_batches(branch: &str) -> String {
    branch_part(branch, "couponbatch")
}

// org (the directory: departments, duties, positions, companies, residences,
// workstations, system parameters; `org::store` owns these)

/// Organisation lists (10.8 `dept`, 10.9 `duty`, 10.10 `post`, 10.19
/// `company`), admin written; sk = zero-padded id.
pub fn org_list(branch: &str, kind: &str) -> String {
    branch_part(branch, &format!("org#{kind}"))
}

/// Residences (10.20-10.35) by level (`uptown`, `building`, `cell`, `room`);
/// sk = zero-padded id, the parent's id in the body.
pub fn residences(branch: &str, level: &str) -> String {
    branch_part(branch, &format!("hr#{level}"))
}

/// Workstations (10.36), admin written; sk = the workstation number.
pub fn workstations(branch: &str) -> String {
    branch_part(branch, "workstation")
}

/// System parameters (10.48), admin written; one item, sk = "params".
pub fn system_params(branch: &str) -> String {
    branch_part(branch, "sysparams")
}

// ---- parking guidance (chapter 8, `pls`) ----

/// The guidance model's records of one kind (`map`, `node`, `space`, `screen`,
/// ...); sk = the record's number. `pls::store` owns them.
pub fn pls(branch: &str, kind: &str) -> String {
    branch_part(branch, &format!("pls#{kind}"))
}

/// A car's position records (8.5, 8.17, 8.18); sk = `{inDate}#{spaceNo}`.
pub fn pls_car_positions(branch: &str, plate: &str) -> String {
    branch_part(branch, &format!("plspos#car#{plate}"))
}

/// A space's position records (8.6, 8.16, 8.19); sk = `{inDate}#{plate}`.
pub fn pls_space_positions(branch: &str, space_no: &str) -> String {
    branch_part(branch, &format!("plspos#lot#{space_no}"))
}

/// Door access configuration (issue 15): sk = `door#{controller}#{door}`,
/// `tg#{id}`, `grant#{id}`, `bt#{bdid}`, `term#{device}`, and `qrkey`.
pub fn acss(branch: &str) -> String {
    branch_part(branch, "acss")
}

/// Face users (10.43-10.52); sk = uuid.
pub fn faces(branch: &str) -> String {
    branch_part(branch, "face")
}

/// Visitor orders (10.3, 10.49, 10.55, 10.56); sk = order number.
pub fn visitors(branch: &str) -> String {
    branch_part(branch, "visitor")
}

/// The rest of the people side: sk = `shake#{mobile}`, `call#{controllerNo}`
/// (intercom), `job#{id}` (face distribution), `rec#{time}#{id}` (10.39).
pub fn people(branch: &str) -> String {
    branch_part(branch, "people")
}
