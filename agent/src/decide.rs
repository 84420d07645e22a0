//! What the lane does when the cloud cannot answer in time.

use crate::plates::MonthlyList;
use chrono::NaiveDateTime;
use onecard_core::config::Lane;
use onecard_core::fields::normalize_plate;
use onecard_core::link::{LaneRules, OfflinePolicy};

/// Shown and said for a blacklist row the cloud sent without its own text.
const BLACKLIST_HINT: &str = "黑名单车辆，禁止通行";
const LOCKED_HINT: &str = "车辆已锁定，请联系管理处";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Allow,
    Deny,
    /// The gate stays shut and staff decide (they can open by hand).
    Manual,
}

impl Policy {
    /// Unknown words fall back to manual: a person at the booth is the safe
    /// default when the configuration is unclear.
    pub fn parse(s: &str) -> Policy {
        match s.trim().to_ascii_lowercase().as_str() {
            "allow" | "open" | "pass" => Policy::Allow,
            "deny" | "refuse" | "block" => Policy::Deny,
            _ => Policy::Manual,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub open: bool,
    pub text: String,
    pub voice: String,
    /// `cloud`, `blacklist`, `locked`, `monthly`, `policy:allow`,
    /// `policy:deny`, `policy:manual`.
    pub reason: String,
}

fn bound(s: &str) -> Option<NaiveDateTime> {
    onecard_core::time::parse(s.trim())
}

/// The hint of the blacklist row of `plate` in force at `at` (both ends
/// inclusive, branch time). An unreadable bound counts as open, so a garbled
/// row still refuses rather than silently letting the car in.
pub fn blacklisted(rules: &LaneRules, plate: &str, at: NaiveDateTime) -> Option<String> {
    let plate = normalize_plate(plate);
    rules
        .blacklist
        .iter()
        .find(|r| normalize_plate(&r.plate) == plate && bound(&r.start).is_none_or(|s| at >= s) && bound(&r.end).is_none_or(|e| at <= e))
        .map(|r| if r.hint.trim().is_empty() { BLACKLIST_HINT.to_string() } else { r.hint.trim().to_string() })
}

pub fn locked(rules: &LaneRules, plate: &str) -> bool {
    let plate = normalize_plate(plate);
    rules.locked.iter().any(|p| normalize_plate(p) == plate)
}

/// The lane's decision without the cloud. As the cloud's rules do, a
/// blacklist refuses entry and a lock holds the exit before any card or
/// policy is looked at: a monthly card does not lift either.
pub fn offline(
    monthly: &MonthlyList,
    rules: &LaneRules,
    policy: &OfflinePolicy,
    plate: &str,
    lane: Lane,
    at: NaiveDateTime,
    area: &str,
) -> Decision {
    if lane == Lane::In {
        if let Some(hint) = blacklisted(rules, plate, at) {
            return Decision { open: false, text: format!("{plate} {hint}"), voice: hint, reason: "blacklist".into() };
        }
    } else if locked(rules, plate) {
        return Decision { open: false, text: format!("{plate} {LOCKED_HINT}"), voice: LOCKED_HINT.into(), reason: "locked".into() };
    }
    let (welcome, bye) = ("欢迎光临", "一路顺风");
    let greet = if lane == Lane::In { welcome } else { bye };
    if monthly.valid(plate, at, area) {
        return Decision { open: true, text: format!("{plate} 月卡 {greet}"), voice: greet.into(), reason: "monthly".into() };
    }
    let p = Policy::parse(if lane == Lane::In { &policy.entry } else { &policy.exit });
    match p {
        Policy::Allow => Decision { open: true, text: format!("{plate} {greet}"), voice: greet.into(), reason: "policy:allow".into() },
        Policy::Deny => Decision { open: false, text: format!("{plate} 禁止通行"), voice: "禁止通行".into(), reason: "policy:deny".into() },
        Policy::Manual => Decision {
            open: false,
            text: format!("{plate} 请等待人工处理"),
            voice: "请等待人工处理".into(),
            reason: "policy:manual".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecard_core::link::MonthlyPlate;

    #[test]
    fn monthly_passes_temporary_follows_policy() {
        let at = onecard_core::time::parse("2026-03-01 10:00:00").unwrap();
        let m = MonthlyList::new(&[MonthlyPlate { plate_no: "浙A11111".into(), ..Default::default() }]);
        let pol = OfflinePolicy::default();
        let none = LaneRules::default();
        assert_eq!(offline(&m, &none, &pol, "浙A11111", Lane::Out, at, "1").reason, "monthly");
        assert!(offline(&m, &none, &pol, "浙A11111", Lane::Out, at, "1").open);
        let entry = offline(&m, &none, &pol, "浙A22222", Lane::In, at, "1");
        assert!(entry.open);
        assert_eq!(entry.reason, "policy:allow");
        let exit = offline(&m, &none, &pol, "浙A22222", Lane::Out, at, "1");
        assert!(!exit.open);
        assert_eq!(exit.reason, "policy:manual");
        let deny = OfflinePolicy { entry: "deny".into(), exit: "allow".into() };
        assert!(!offline(&m, &none, &deny, "浙A22222", Lane::In, at, "1").open);
        assert!(offline(&m, &none, &deny, "浙A22222", Lane::Out, at, "1").open);
        assert_eq!(Policy::parse("???"), Policy::Manual);
    }

    #[test]
    fn a_blacklisted_car_is_refused_entry_in_its_window_and_a_locked_car_held_at_the_exit() {
        use onecard_core::link::BlackRow;
        let t = |s: &str| onecard_core::time::parse(s).unwrap();
        let m = MonthlyList::new(&[MonthlyPlate { plate_no: "浙A11111".into(), ..Default::default() }]);
        let rules = LaneRules {
            blacklist: vec![
                BlackRow { plate: "浙A11111".into(), start: "2026-03-01 00:00:00".into(), end: "2026-03-31 23:59:59".into(), hint: "欠费车辆，请到管理处缴费".into() },
                BlackRow { plate: "浙A33333".into(), start: "2026-03-01 00:00:00".into(), end: "2026-03-31 23:59:59".into(), hint: String::new() },
            ],
            locked: vec!["浙A22222".into()],
        };
        let pol = OfflinePolicy::default();
        // Even a monthly card: the blacklist comes first.
        let d = offline(&m, &rules, &pol, "浙a 11111", Lane::In, t("2026-03-31 23:59:59"), "1");
        assert!(!d.open);
        assert_eq!(d.reason, "blacklist");
        assert_eq!(d.voice, "欠费车辆，请到管理处缴费");
        assert!(d.text.contains("欠费车辆"), "{}", d.text);
        let d = offline(&m, &rules, &pol, "浙A33333", Lane::In, t("2026-03-15 08:00:00"), "1");
        assert_eq!((d.open, d.voice.as_str()), (false, BLACKLIST_HINT), "a row without a hint still says why");
        // Outside the window the card and the policy decide again.
        assert_eq!(offline(&m, &rules, &pol, "浙A11111", Lane::In, t("2026-04-01 00:00:00"), "1").reason, "monthly");
        assert_eq!(offline(&m, &rules, &pol, "浙A11111", Lane::In, t("2026-02-28 23:59:59"), "1").reason, "monthly");
        // A blacklist never keeps a car in.
        assert!(offline(&m, &rules, &pol, "浙A11111", Lane::Out, t("2026-03-15 08:00:00"), "1").open);
        let allow_all = OfflinePolicy { entry: "allow".into(), exit: "allow".into() };
        let held = offline(&m, &rules, &allow_all, "浙A22222", Lane::Out, t("2026-03-15 08:00:00"), "1");
        assert!(!held.open);
        assert_eq!(held.reason, "locked");
        assert!(held.text.contains("锁定"));
        assert!(offline(&m, &rules, &allow_all, "浙A22222", Lane::In, t("2026-03-15 08:00:00"), "1").open, "a lock holds exits only");
    }
}
