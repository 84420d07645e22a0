//! Chapter 11: the partners' non-standard interfaces. One file per partner;
//! each maps its wire onto the one domain: fee quotes are 6.1's
//! (`park::fees`), payments end in the 6.2 commit transaction
//! (`park::payments::commit_payment`), monthly cards are chapter 10's,
//! records are 9.1/9.2's, free spaces are 6.3's. No partner keeps a second
//! copy of a fee rule. See `README.md` in this folder for the table of
//! partners and their status.

pub mod common;
pub mod settings;

pub mod changting;
pub mod dongling;
pub mod hanvon;
pub mod jinying;
pub mod litian;
pub mod lvdeng;
pub mod maoku;
pub mod szgdj;
pub mod upark;
pub mod yanji;
pub mod zjdx;

use onecard_core::Registry;

/// The partners' site routes (`Actor::Site`): Lvdeng's lane requests (11.24,
/// 11.25), Dongling's reservation upload (11.30) and Yanji Bailicheng's
/// charge query and payment (11.38, 11.39). The ws function registers these
/// alone; `register` includes them.
pub fn register_site(reg: &mut Registry) {
    reg.add(lvdeng::routes());
    reg.add(dongling::routes());
    reg.add(yanji::routes());
}

/// Every partner's routes: the site ones (`register_site`) and the rest.
pub fn register(reg: &mut Registry) {
    register_site(reg);
    reg.add(upark::routes());
    reg.add(jinying::routes());
    reg.add(maoku::routes());
    reg.add(szgdj::routes());
    reg.add(hanvon::routes());
    reg.add(changting::routes());
    reg.add(zjdx::routes());
    reg.add(litian::routes());
}

/// Demo data: the stand-ins of the partners that reach outside systems
/// (Zhejiang University's canteen, Yanji Bailicheng's CRM), so the demo car
/// park answers their routes. Idempotent.
pub async fn seed_demo(ctx: &onecard_core::Ctx, branch: &str) -> onecard_core::ApiResult<()> {
    zjdx::seed_demo(ctx, branch).await?;
    yanji::seed_demo(ctx, branch).await
}
