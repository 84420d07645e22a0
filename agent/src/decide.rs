//! What the lane does when the cloud cannot answer in time.

use crate::plates::MonthlyList;
use chrono::NaiveDateTime;
use onecard_core::config::Lane;
use onecard_core::link::OfflinePolicy;

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
    /// `cloud`, `monthly`, `policy:allow`, `policy:deny`, `policy:manual`.
    pub reason: String,
}

pub fn offline(monthly: &MonthlyList, policy: &OfflinePolicy, plate: &str, lane: Lane, at: NaiveDateTime, area: &str) -> Decision {
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
        assert_eq!(offline(&m, &pol, "浙A11111", Lane::Out, at, "1").reason, "monthly");
        assert!(offline(&m, &pol, "浙A11111", Lane::Out, at, "1").open);
        let entry = offline(&m, &pol, "浙A22222", Lane::In, at, "1");
        assert!(entry.open);
        assert_eq!(entry.reason, "policy:allow");
        let exit = offline(&m, &pol, "浙A22222", Lane::Out, at, "1");
        assert!(!exit.open);
        assert_eq!(exit.reason, "policy:manual");
        let deny = OfflinePolicy { entry: "deny".into(), exit: "allow".into() };
        assert!(!offline(&m, &deny, "浙A22222", Lane::In, at, "1").open);
        assert!(offline(&m, &deny, "浙A22222", Lane::Out, at, "1").open);
        assert_eq!(Policy::parse("???"), Policy::Manual);
    }
}
