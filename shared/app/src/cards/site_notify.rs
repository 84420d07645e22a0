//! Telling the site link that a card changed. Here, with the cards, because
//! every build that changes cards (the park and pub functions too) must push
//! the change; the site link itself is only in the builds that serve agents.

use onecard_core::{ApiResult, Ctx};

/// Called where a card that puts a plate on the agents' monthly list changes
/// (issue, renewal, cancellation, plate change): the branch's connected agents
/// get the change now instead of at the next refresh. Never fails the caller:
/// the card is already saved, and the refresh catches up on a missed push.
pub async fn card_changed(ctx: &Ctx, branch: &str) {
    ctx.sites.config_changed(ctx, branch).await;
}

/// [`card_changed`] when the card write `done` succeeded; answers `done`.
pub async fn after_card_change<T>(ctx: &Ctx, branch: &str, done: ApiResult<T>) -> ApiResult<T> {
    if done.is_ok() {
        card_changed(ctx, branch).await;
    }
    done
}
