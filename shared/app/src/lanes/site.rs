//! What the site link must carry so that an agent deciding offline honours
//! blacklists and locks: the entries in force (or starting later) and the
//! plates locked now. Built here from the cloud's records; the link's config
//! message (`onecard_core::link`, `crate::sitelink`) is to add it as a field
//! `lanes` next to the monthly-card plates, and the agent's offline decision
//! to refuse entry for an active `blacklist` row and hold exit for `locked`.

use super::blacklist;
use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::kit::stamp;
use onecard_core::store::Query;
use onecard_core::{ApiResult, Ctx};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SiteBlack {
    /// Normalised plate.
    pub plate: String,
    /// `yyyy-MM-dd HH:mm:ss`, branch-local, both ends inclusive.
    pub start: String,
    pub end: String,
    /// The 6.78 text to show and say.
    pub hint: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SiteLanes {
    pub blacklist: Vec<SiteBlack>,
    /// Normalised plates held at every exit.
    pub locked: Vec<String>,
}

/// The lane data of `branch` for its agents at `now`: entries already over or
/// lifted are left out (an agent cannot use them), ones starting later stay
/// (the agent may be offline when they start).
pub async fn lanes_for_site(ctx: &Ctx, branch: &str, now: NaiveDateTime) -> ApiResult<SiteLanes> {
    let hints = blacklist::hints(ctx.store(), branch).await?;
    let t = stamp(now);
    let blacklist = blacklist::entries(ctx, branch)
        .await?
        .into_iter()
        .filter(|e| !e.lifted && e.end >= t)
        .map(|e| SiteBlack {
            hint: e.hint_id.and_then(|h| hints.iter().find(|x| x.id == h)).map_or_else(|| blacklist::DEFAULT_HINT.to_string(), |h| h.text.clone()),
            plate: e.plate,
            start: e.start,
            end: e.end,
        })
        .collect();
    let items = ctx.store.query_all(&Query::partition(keys::car_locks(branch))).await?;
    let mut locked = Vec::new();
    for item in &items {
        let l: super::locks::CarLock = item.parse()?;
        if l.status != super::locks::LOCKED {
            continue;
        }
        // A lock awaiting its car goes too: the car may enter while the site is offline.
        let holds = match crate::park::stays::in_park(ctx, branch, 1, &l.plate).await? {
            Some((stay, _)) => super::locks::is_locked(ctx, branch, &stay).await?,
            None => l.card_in_id.is_empty(),
        };
        if holds {
            locked.push(l.plate);
        }
    }
    Ok(SiteLanes { blacklist, locked })
}
