//! The discount lists of a 6.1 answer: 5.4.1 `billDiscounts`, 5.4.3
//! `shoppingBills`, 5.4.4 `scoreDiscounts`.

use super::lines::{OrderDiscounts, Source};
use schemars::JsonSchema;
use serde::Serialize;

/// 5.4.1.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct BillDiscountRow {
    #[serde(rename = "TollID")]
    pub toll_id: String,
    #[serde(rename = "BarCode", skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    #[serde(rename = "PresentType")]
    pub present_type: String,
    #[serde(rename = "DiscountRate")]
    pub discount_rate: String,
}

/// 5.4.3.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ShoppingBillRow {
    #[serde(rename = "BarCode")]
    pub barcode: String,
    #[serde(rename = "Counter")]
    pub counter: String,
    #[serde(rename = "ShoppingMoney")]
    pub money: String,
}

/// 5.4.4.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ScoreDiscountRow {
    #[serde(rename = "CardNo")]
    pub card_no: String,
    #[serde(rename = "Money")]
    pub money: String,
    #[serde(rename = "Money2")]
    pub money2: String,
}

impl OrderDiscounts {
    pub fn bill_rows(&self) -> Vec<BillDiscountRow> {
        self.bills
            .iter()
            .map(|l| {
                let (toll_id, barcode) = match &l.source {
                    Source::Coupon { barcode } => (barcode.clone(), Some(barcode.clone())),
                    Source::Toll { toll_id } => (toll_id.to_string(), None),
                    Source::Plate { id } => (format!("P{id}"), None),
                };
                BillDiscountRow { toll_id, barcode, present_type: l.kind.code().to_string(), discount_rate: l.kind.bill_rate_text(l.took) }
            })
            .collect()
    }

    pub fn ticket_rows(&self) -> Vec<ShoppingBillRow> {
        self.tickets
            .iter()
            .map(|t| ShoppingBillRow { barcode: t.barcode.clone(), counter: t.counter.clone().unwrap_or_default(), money: t.money.map(|m| m.yuan()).unwrap_or_default() })
            .collect()
    }

    pub fn score_rows(&self) -> Vec<ScoreDiscountRow> {
        self.member.iter().map(|m| ScoreDiscountRow { card_no: m.card_no.clone(), money: m.took_day.yuan(), money2: m.took_night.yuan() }).collect()
    }
}
