//! What the site link carries so that doors decide at the site, with the
//! cloud or without it (`onecard_core::link::doors`): the doors, time groups,
//! permission groups, the cards that open doors, the door-code key, the
//! visitor codes cancelled early and the face terminals. Built here and sent
//! as `SiteConfig::doors` by `crate::sitelink::site_state`; every write to any
//! of them calls `changed`, which pushes the new configuration to the agents.

use super::{access, store};
use chrono::NaiveDateTime;
use onecard_core::link::doors::DoorRules;
use onecard_core::{ApiResult, Ctx};

/// What the door cards may take of the sync's first frame (32 KiB in all,
/// shared with the controllers and the lanes): the rules travel whole in the
/// head, so a branch with more door cards than this needs them moved to the
/// plate buckets' transport. Until then the cards past the budget are left
/// out, loudly, rather than the whole sync failing for the lanes too.
pub const CARDS_BUDGET: usize = 14 * 1024;

pub async fn rules_for_site(ctx: &Ctx, branch: &str, now: NaiveDateTime) -> ApiResult<DoorRules> {
    let s = ctx.store();
    let doors = store::doors(s, branch).await?;
    let grants = store::grants(s, branch).await?.iter().map(|g| g.row(&doors)).collect();
    let mut cards: Vec<_> = crate::cards::store::list_cards(ctx, branch).await?.iter().filter_map(|c| access::site_card(c, now)).collect();
    cards.sort_by(|a, b| a.no.cmp(&b.no));
    let (mut size, total) = (0usize, cards.len());
    cards.retain(|c| {
        size += serde_json::to_string(c).map(|t| t.len() + 1).unwrap_or(0);
        size <= CARDS_BUDGET
    });
    if cards.len() < total {
        tracing::error!(branch, sent = cards.len(), total, "door cards over the site link's budget; the rest cannot open doors offline");
    }
    Ok(DoorRules {
        doors: doors.iter().map(|d| d.row()).collect(),
        time_groups: store::time_groups(s, branch).await?.iter().map(|g| g.row()).collect(),
        grants,
        cards,
        qr_key: store::qr_key(ctx, branch).await?,
        revoked: crate::people::visitors::revoked(ctx, branch, now).await?,
        terminals: store::terminals(s, branch).await?.iter().map(|t| t.row()).collect(),
    })
}

/// Door access changed: the branch's agents get it now (best effort; the
/// periodic refresh stays the safety net).
pub async fn changed(ctx: &Ctx, branch: &str) {
    ctx.sites.config_changed(ctx, branch).await;
}
