//! The car's discount index item (`car_index`) against the discounts it
//! names, through the routes that change them: a card-only car's merchant
//! discount, a plate discount moved to another plate and deleted, a coupon
//! bound, used up by a payment and so gone from the index.

use super::car_index::{self, Entry};
use onecard_core::config::{self, Branch};
use onecard_core::{dispatch, Ctx, Origin, Registry};
use serde_json::{json, Value};

struct Park {
    ctx: Ctx,
    reg: Registry,
    branch: Branch,
}

impl Park {
    async fn new() -> Park {
        let (ctx, reg, branch) = super::race_tests::setup().await;
        Park { ctx, reg, branch }
    }

    async fn ok(&self, route: &str, data: Value) -> Value {
        let spec = self.reg.find(route).unwrap();
        dispatch::run(&self.ctx, &self.reg, spec, Origin::Internal, self.branch.clone(), data, None)
            .await
            .unwrap_or_else(|e| panic!("{route}: {e}"))
            .data
    }

    async fn index(&self, car: &str) -> Vec<Entry> {
        car_index::of_car(&self.ctx, config::DEMO_BRANCH, car).await.unwrap().entries()
    }
}

/// A merchant discount given to a card-only car (its record's plate is the
/// card number) is indexed under the car `calc` looks up, `#{cardInId}`.
#[tokio::test]
async fn a_card_only_cars_merchant_discount_is_found_and_used() {
    let p = Park::new().await;
    p.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "CO1", "cardNo": "88001", "inDate": "2026-03-02 09:00:00"})).await;
    let plain = p.ok("calc", json!({"credentialtype": "2", "credential": "88001", "calcendtime": "2026-03-02 14:00:00"})).await;
    p.ok("park.business.discount", json!({"businessID": "1", "tollDevID": "1", "credentialType": "2", "credential": "88001", "discountIDs": "2"})).await;
    assert_eq!(p.index("#CO1").await.len(), 1, "indexed under the card-only car");
    let quote = p.ok("calc", json!({"credentialtype": "2", "credential": "88001", "calcendtime": "2026-03-02 14:00:00"})).await;
    assert_ne!(quote["amount"], plain["amount"], "the merchant discount applies: {quote}");
    p.ok("commit", json!({"credentialtype": "2", "credential": "88001", "parkcost": quote["parkcost"], "amount": quote["amount"], "orderNo": quote["orderNo"], "payType": "7"})).await;
    assert!(p.index("#CO1").await.is_empty(), "used by the payment, gone from the index");
}

#[tokio::test]
async fn plate_discounts_and_coupons_move_in_and_out_of_the_index() {
    let p = Park::new().await;
    let window = json!({"startTime": "2026-03-01 00:00:00", "endTime": "2026-03-03 00:00:00", "businessId": "1", "discountId": "1"});
    let mut add = window.clone();
    add["licensePlate"] = json!("浙A60001");
    let id = p.ok("park.licensePlateDiscount.add", add).await["plateDiscountId"].clone();
    assert_eq!(p.index("浙A60001").await, vec![Entry::Plate(id.as_i64().unwrap())]);
    p.ok("park.licensePlateDiscount.edit", json!({"plateDiscountId": id.to_string(), "licensePlate": "浙A60002"})).await;
    assert!(p.index("浙A60001").await.is_empty());
    assert_eq!(p.index("浙A60002").await, vec![Entry::Plate(id.as_i64().unwrap())]);
    p.ok("park.licensePlateDiscount.delete", json!({"plateDiscountId": id.to_string()})).await;
    assert!(p.index("浙A60002").await.is_empty());

    let issued = p.ok("park.coupon.issue", json!({"businessID": "1", "discountID": "1", "issueNum": "1"})).await;
    let barcode = issued["couponNumbers"].as_str().unwrap().to_string();
    p.ok("park.coupon.add4car", json!({"barcode": barcode, "credential": "浙A60003"})).await;
    assert_eq!(p.index("浙A60003").await, vec![Entry::Coupon(barcode.clone())]);
    p.ok("park.coupon.del4car", json!({"barcode": barcode, "credential": "浙A60003"})).await;
    assert!(p.index("浙A60003").await.is_empty());
    p.ok("park.coupon.add4car", json!({"barcode": barcode, "credential": "浙A60003"})).await;
    p.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "CP1", "licensePlate": "浙A60003", "inDate": "2026-03-02 09:00:00"})).await;
    let quote = p.ok("calc", json!({"credentialtype": "1", "credential": "浙A60003", "calcendtime": "2026-03-02 14:00:00"})).await;
    assert_eq!(quote["billDiscounts"].as_array().map(Vec::len), Some(1), "{quote}");
    p.ok("commit", json!({"credentialtype": "1", "credential": "浙A60003", "parkcost": quote["parkcost"], "amount": quote["amount"], "orderNo": quote["orderNo"], "payType": "7"})).await;
    assert!(p.index("浙A60003").await.is_empty(), "a used-up coupon leaves the index with its payment");
}
