//! Demo data for a new data dir: the seed's own examples (软件部, 新景天,
//! workstation WS0001 of the demo site). Idempotent: lists are written under
//! fixed ids and residences found by name before they are added.

use super::lists::{self, Entry, ListKind};
use super::residence::{self, Detail, Level};
use super::system::{self, LogType, Workstation};
use onecard_core::store::ItemStore;
use onecard_core::ApiResult;

const LISTS: &[(ListKind, i64, &str, Option<&str>)] = &[
    (ListKind::Dept, 1, "软件部", None),
    (ListKind::Dept, 2, "财务部", None),
    (ListKind::Dept, 3, "物业管理部", None),
    (ListKind::Duty, 1, "软件工程师", None),
    (ListKind::Duty, 2, "会计", None),
    (ListKind::Position, 1, "软件工程师", None),
    (ListKind::Position, 2, "开发工程师", None),
    (ListKind::Company, 1, "车安科技", Some("ca")),
];

pub async fn seed_demo(store: &dyn ItemStore, branch: &str, agent: &str) -> ApiResult<()> {
    for (kind, id, name, abbr) in LISTS {
        if lists::get(store, branch, *kind, *id).await?.is_none() {
            lists::put(store, branch, *kind, &Entry { id: *id, name: name.to_string(), abbr: abbr.map(str::to_string) }).await?;
        }
    }
    let f = ("parent", "name");
    let node = |level, parent, name: &'static str, detail: Detail| async move {
        match residence::find_named(store, branch, level, parent, name).await? {
            Some(n) => Ok::<_, onecard_core::ApiError>(n),
            None => residence::create(store, branch, level, parent, name, detail, f).await,
        }
    };
    let c = node(Level::Community, 0, "新景天", Detail::Plain).await?;
    let b = node(Level::Building, c.id, "新景天大厦", Detail::Plain).await?;
    let u = node(Level::Unit, b.id, "1 单元", Detail::Unit { floors: 45, basement_floors: 2 }).await?;
    node(Level::Room, u.id, "消防 9-2", Detail::Room { floor_no: 9, door_plate: "0902".into() }).await?;
    node(Level::Room, u.id, "1001", Detail::Room { floor_no: 10, door_plate: "1001".into() }).await?;
    if system::workstation(store, branch, "WS0001").await?.is_none() {
        let w = Workstation {
            no: "WS0001".into(),
            log_type: LogType::J,
            name: "南进口".into(),
            ip: "192.168.1.101".into(),
            log_dir: r"\\192.168.1.101\ParkLog".into(),
            agent: agent.into(),
        };
        system::put_workstation(store, branch, &w).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecard_core::memstore::MemStore;

    #[tokio::test]
    async fn seeding_twice_adds_nothing() {
        let s = MemStore::new();
        seed_demo(&s, "b", "A1").await.unwrap();
        seed_demo(&s, "b", "A1").await.unwrap();
        assert_eq!(residence::list(&s, "b", Level::Room).await.unwrap().len(), 2);
        assert_eq!(lists::list(&s, "b", ListKind::Dept).await.unwrap().len(), 3);
        assert_eq!(system::workstations(&s, "b").await.unwrap().len(), 1);
    }
}
