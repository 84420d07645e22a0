//! 13.9 `report/parkHeartbeat`, sent on a schedule straight to the subscribers
//! (not through the queue): a heartbeat is only worth anything now, and the
//! next one follows within the interval, so a missed one is not retried.

use onecard_core::outbound::Outbound;
use super::{deliver, records, subscriptions};
use onecard_core::queue::OutEvent;
use onecard_core::{config, time, Ctx};

pub const ROUTE: &str = "report/parkHeartbeat";

/// One heartbeat to every subscriber of every branch; answers (sent, failed).
pub async fn beat(ctx: &Ctx, client: &dyn Outbound) -> (usize, usize) {
    let branches = match config::list_branches(ctx.store()).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "heartbeat: branches unreadable");
            return (0, 0);
        }
    };
    let (mut sent, mut failed) = (0, 0);
    for b in branches {
        let partners = match subscriptions::subscribers(ctx.store(), &b.branchno, ROUTE).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(branch = %b.branchno, error = %e, "heartbeat: partners unreadable");
                continue;
            }
        };
        if partners.is_empty() {
            continue;
        }
        let now = time::to_local(ctx.clock.now(), &b.tz);
        let ev = OutEvent::new(&b.branchno, ROUTE, records::heartbeat(&b.branchno, now), now);
        let ts = time::format(now);
        let results = futures::future::join_all(partners.iter().map(|p| deliver::deliver(client, p, &ev, &ts))).await;
        for (p, r) in partners.iter().zip(results) {
            match r {
                Ok(()) => sent += 1,
                Err(e) => {
                    failed += 1;
                    tracing::warn!(branch = %b.branchno, partner = %p.name, error = %e, "heartbeat not delivered");
                }
            }
        }
    }
    (sent, failed)
}
