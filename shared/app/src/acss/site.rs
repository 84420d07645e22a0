//! What the site link carries so that doors decide at the site, with the
//! cloud or without it (`onecard_core::link::doors`): the doors, time groups,
//! permission groups, the cards that open doors, the door-code key, the
//! visitor codes cancelled early and the face terminals. Built here and sent
//! as `SiteConfig::doors` by `crate::sitelink::site_state`, the cards in sync
//! buckets of their own (`onecard_core::link::sync`), so a branch's every card
//! reaches its agents whatever their number; every write to any of them calls
//! `changed`, which pushes the new configuration to the agents.

use super::{access, store};
use chrono::NaiveDateTime;
use onecard_core::link::doors::DoorRules;
use onecard_core::{ApiResult, Ctx};

pub async fn rules_for_site(ctx: &Ctx, branch: &str, now: NaiveDateTime) -> ApiResult<DoorRules> {
    let s = ctx.store();
    let doors = store::doors(s, branch).await?;
    let grants = store::grants(s, branch).await?.iter().map(|g| g.row(&doors)).collect();
    let mut cards: Vec<_> = crate::cards::store::list_cards(ctx, branch).await?.iter().filter_map(|c| access::site_card(c, now)).collect();
    cards.sort_by(|a, b| a.no.cmp(&b.no));
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
