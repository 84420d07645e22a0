//! Route metadata the pipeline enforces that the spec's table implies: how a
//! route is called (its wire kind, decision 11) and how big its body may be
//! (decision 12).

use super::RouteSpec;

/// How a route is called and answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// The chapter 5 signed envelope in and out.
    Envelope,
    /// Bare JSON in, the partner's own JSON out, authenticated by a caller
    /// token (the twelve "仅发送 Data" routes and Jinying's `AppPort/*`).
    DataOnly,
    /// A payment provider's browser return (10.6): GET, answered by a redirect.
    ProviderRedirect,
    /// A payment provider's notification (10.7): form POST, answered in plain text.
    ProviderForm,
}

/// Routes whose section says "only data is sent and received".
const DATA_ONLY_PREFIXES: &[&str] = &["maoku/", "szgdj/", "hanwang/", "changting/pr/", "AppPort/"];

/// Bodies over this answer 413 (decision 12).
pub const BODY_LIMIT: usize = 256 * 1024;
/// Routes that carry base64 pictures take this much.
pub const PICTURE_BODY_LIMIT: usize = 3 * 1024 * 1024;
/// The biggest body any route takes: what a server may read before it knows the route.
pub const MAX_BODY_LIMIT: usize = PICTURE_BODY_LIMIT;

/// Sections whose inputs carry base64 pictures (decision 12, and the uploads
/// with an image field: 9.1/9.2 from legacy sites, 9.14, 9.19).
const PICTURE_SECTIONS: &[&str] = &["6.13", "6.101", "9.1", "9.2", "9.3", "9.14", "9.17", "9.19", "10.3", "10.43", "10.45", "10.47"];

impl RouteSpec {
    pub fn wire(&self) -> Wire {
        match self.section {
            "10.6" => Wire::ProviderRedirect,
            "10.7" => Wire::ProviderForm,
            _ if DATA_ONLY_PREFIXES.iter().any(|p| self.route.trim_start_matches('/').starts_with(p)) => Wire::DataOnly,
            _ => Wire::Envelope,
        }
    }

    pub fn body_limit(&self) -> usize {
        if PICTURE_SECTIONS.contains(&self.section) {
            PICTURE_BODY_LIMIT
        } else {
            BODY_LIMIT
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::registry::{Registry, ROUTES};

    use super::*;

    #[test]
    fn sixteen_data_only_routes_and_two_provider_callbacks() {
        assert_eq!(ROUTES.iter().filter(|r| r.wire() == Wire::DataOnly).count(), 16);
        let reg = Registry::new();
        assert_eq!(reg.find("alipay.wappay.aspx/callback").map(|s| s.wire()), Some(Wire::ProviderRedirect));
        assert_eq!(reg.find("maoku/Maoku.GetTraffic").unwrap().wire(), Wire::DataOnly);
        assert_eq!(reg.find("calc").unwrap().body_limit(), BODY_LIMIT);
        assert_eq!(reg.find("pub.face.add").unwrap().body_limit(), PICTURE_BODY_LIMIT);
    }
}
