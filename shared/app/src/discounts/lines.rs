//! The discounts an order carries, and rule 9 applied to them. The lines
//! live on the order (`Order::discounts`); `amount` and the three reported
//! sums are recomputed from them whenever a line is added or removed.

use super::kinds::Kind;
use crate::tariff::discount::{apply, Present, Repricing};
use onecard_core::{ApiError, ApiResult, Fen};
use serde::{Deserialize, Serialize};

/// More lines would not fit the one payment transaction (each line is one write).
pub const MAX_LINES: usize = 10;

/// Where a bill discount comes from; at most one line per source (rule 9:
/// "each discount applies at most once per order, by BarCode or TollID").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Source {
    /// A coupon (6.30, or bound to the car by 6.60).
    Coupon { barcode: String },
    /// A merchant discount record (6.43, 6.50).
    Toll { toll_id: i64 },
    /// A plate discount inside its window (6.106).
    Plate { id: i64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BillLine {
    pub source: Source,
    pub business_id: i64,
    pub discount_id: i64,
    pub name: String,
    pub kind: Kind,
    /// What this line took off `amount` at the last recomputation.
    #[serde(default)]
    pub took: Fen,
}

/// A shopping ticket (6.40) and what the branch's table gives for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketLine {
    pub barcode: String,
    #[serde(default)]
    pub counter: Option<String>,
    #[serde(default)]
    pub money: Option<Fen>,
    pub minutes: i64,
    pub fen: Fen,
}

/// A membership card (6.44) and what its ledger can cover (Jinying's day and
/// night balances, 5.4.4 `Money` and `Money2`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberLine {
    pub card_no: String,
    #[serde(default)]
    pub card_type: Option<String>,
    pub day_balance: Fen,
    pub night_balance: Fen,
    #[serde(default)]
    pub took_day: Fen,
    #[serde(default)]
    pub took_night: Fen,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderDiscounts {
    #[serde(default)]
    pub bills: Vec<BillLine>,
    #[serde(default)]
    pub tickets: Vec<TicketLine>,
    #[serde(default)]
    pub member: Option<MemberLine>,
    /// `billDiscount`.
    #[serde(default)]
    pub bill: Fen,
    /// `shoppingDiscount`.
    #[serde(default)]
    pub shopping: Fen,
    /// `scoreDiscount`.
    #[serde(default)]
    pub score: Fen,
}

impl OrderDiscounts {
    pub fn is_empty(&self) -> bool {
        self.bills.is_empty() && self.tickets.is_empty() && self.member.is_none()
    }

    fn count(&self) -> usize {
        self.bills.len() + self.tickets.len() + usize::from(self.member.is_some())
    }

    fn room(&self) -> ApiResult<()> {
        if self.count() >= MAX_LINES {
            return Err(ApiError::failed(format!("an order carries at most {MAX_LINES} discounts")));
        }
        Ok(())
    }

    /// Adds a bill line; the same source twice is refused.
    pub fn add_bill(&mut self, line: BillLine) -> ApiResult<()> {
        if self.bills.iter().any(|l| l.source == line.source) {
            return Err(ApiError::failed(format!("{} is already on this order", describe(&line.source))));
        }
        self.room()?;
        self.bills.push(line);
        Ok(())
    }

    pub fn add_ticket(&mut self, t: TicketLine) -> ApiResult<()> {
        if self.tickets.iter().any(|x| x.barcode == t.barcode) {
            return Err(ApiError::field("barcode", format!("ticket {} is already on this order", t.barcode)));
        }
        self.room()?;
        self.tickets.push(t);
        Ok(())
    }

    pub fn set_member(&mut self, m: MemberLine) -> ApiResult<()> {
        if self.member.is_none() {
            self.room()?;
        }
        self.member = Some(m);
        Ok(())
    }

    /// Rule 9 over the lines: sets each line's share and the three sums, and
    /// answers `amount`. `span` is what the stay is priced over when there is
    /// no re-pricing (daily free periods need the dates).
    pub fn recompute(&mut self, parkcost: Fen, pricing: Option<&Repricing>, span: (chrono::NaiveDateTime, chrono::NaiveDateTime)) -> Fen {
        let (from, to) = pricing.map(|p| (p.from, p.end)).unwrap_or(span);
        let presents: Vec<Present> = self.bills.iter().map(|l| l.kind.present(from, to)).collect();
        let bills_only = apply(parkcost, pricing, &presents, Fen::ZERO, Fen::ZERO);
        let ticket_fen: Fen = self.tickets.iter().map(|t| t.fen).sum();
        let ticket_minutes: i64 = self.tickets.iter().map(|t| t.minutes.max(0)).sum();
        let minutes_worth = if ticket_minutes > 0 {
            let mut more = presents.clone();
            more.push(Present::GiftTime { minutes: ticket_minutes });
            (bills_only.amount - apply(parkcost, pricing, &more, Fen::ZERO, Fen::ZERO).amount).max0()
        } else {
            Fen::ZERO
        };
        let cover = self.member.as_ref().map(|m| m.day_balance + m.night_balance).unwrap_or(Fen::ZERO);
        let o = apply(parkcost, pricing, &presents, ticket_fen + minutes_worth, cover);
        for (line, took) in self.bills.iter_mut().zip(&o.per_bill) {
            line.took = *took;
        }
        if let Some(m) = &mut self.member {
            m.took_day = o.score.min(m.day_balance);
            m.took_night = o.score - m.took_day;
        }
        self.bill = o.bill;
        self.shopping = o.shopping;
        self.score = o.score;
        o.amount
    }
}

pub fn describe(s: &Source) -> String {
    match s {
        Source::Coupon { barcode } => format!("coupon {barcode}"),
        Source::Toll { toll_id } => format!("merchant discount {toll_id}"),
        Source::Plate { id } => format!("plate discount {id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn at(s: &str) -> NaiveDateTime {
        onecard_core::time::parse(s).unwrap()
    }

    fn line(barcode: &str, kind: Kind) -> BillLine {
        BillLine { source: Source::Coupon { barcode: barcode.into() }, business_id: 1, discount_id: 1, name: String::new(), kind, took: Fen::ZERO }
    }

    #[test]
    fn sums_are_reported_apart_and_add_up() {
        let mut d = OrderDiscounts::default();
        d.add_bill(line("A", Kind::GiftAmount { fen: Fen(500) })).unwrap();
        assert!(d.add_bill(line("A", Kind::GiftAmount { fen: Fen(500) })).is_err(), "one coupon once per order");
        d.add_ticket(TicketLine { barcode: "T".into(), counter: None, money: None, minutes: 0, fen: Fen(300) }).unwrap();
        d.set_member(MemberLine { card_no: "M".into(), card_type: None, day_balance: Fen(200), night_balance: Fen(10_000), took_day: Fen::ZERO, took_night: Fen::ZERO }).unwrap();
        let span = (at("2026-03-02 09:00:00"), at("2026-03-02 14:00:00"));
        let amount = d.recompute(Fen(2100), None, span);
        assert_eq!((d.bill, d.shopping, d.score, amount), (Fen(500), Fen(300), Fen(1300), Fen::ZERO));
        let m = d.member.as_ref().unwrap();
        assert_eq!((m.took_day, m.took_night), (Fen(200), Fen(1100)));
        assert_eq!(d.bills[0].took, Fen(500));
    }

    #[test]
    fn an_order_holds_a_bounded_number_of_lines() {
        let mut d = OrderDiscounts::default();
        for i in 0..MAX_LINES {
            d.add_bill(line(&i.to_string(), Kind::FullyFree)).unwrap();
        }
        assert!(d.add_bill(line("x", Kind::FullyFree)).is_err());
    }
}
