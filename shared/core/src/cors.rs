//! Cross-origin access for browser H5 pages: the origins an operator lists
//! (`onecard serve --cors-origin`, `ONECARD_CORS_ORIGINS` on Lambda) get the
//! CORS headers and their preflights answered; any other origin gets none, so
//! the browser keeps its page out. The chapter 5 signature still guards every
//! call: CORS only decides which pages may make one from a browser.

/// Methods the API is called with (POST routes, the GET redirect callback).
const METHODS: &str = "GET, POST, OPTIONS";
/// Headers a page may send: the JSON (or GBK) body's type and the bearer
/// token of the data-only routes (decision 11).
const HEADERS: &str = "Content-Type, Authorization, X-Requested-With";
/// How long a browser may keep a preflight's answer.
const MAX_AGE_SECS: &str = "600";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cors {
    origins: Vec<String>,
}

/// Origins compare by scheme, host and port; the scheme and host are case
/// insensitive, and a configured trailing slash is not part of an origin.
fn normalise(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

impl Cors {
    pub fn new<S: AsRef<str>>(origins: impl IntoIterator<Item = S>) -> Self {
        let origins = origins.into_iter().map(|o| normalise(o.as_ref())).filter(|o| !o.is_empty()).collect();
        Cors { origins }
    }

    /// A comma-separated list (the Lambda environment variable).
    pub fn from_list(list: &str) -> Self {
        Cors::new(list.split(','))
    }

    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// The request's `Origin` when it is listed, as it was sent (the header
    /// must echo it exactly).
    pub fn allowed<'a>(&self, origin: Option<&'a str>) -> Option<&'a str> {
        origin.filter(|o| self.origins.contains(&normalise(o)))
    }

    /// Whether a request is a CORS preflight rather than a call.
    pub fn is_preflight(method: &str, access_control_request_method: Option<&str>) -> bool {
        method.eq_ignore_ascii_case("OPTIONS") && access_control_request_method.is_some()
    }

    /// Headers for an answer to a call from `origin`. `Vary: Origin` is sent
    /// whenever CORS is on, so a cache never hands one origin's answer to
    /// another.
    pub fn response_headers(&self, origin: Option<&str>) -> Vec<(&'static str, String)> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut h = vec![("vary", "Origin".to_string())];
        if let Some(o) = self.allowed(origin) {
            h.push(("access-control-allow-origin", o.to_string()));
        }
        h
    }

    /// Headers for the (204) answer to a preflight from `origin`; without
    /// the allow headers for an unlisted origin, the browser refuses the call.
    pub fn preflight_headers(&self, origin: Option<&str>) -> Vec<(&'static str, String)> {
        let mut h = self.response_headers(origin);
        if self.allowed(origin).is_some() {
            h.push(("access-control-allow-methods", METHODS.to_string()));
            h.push(("access-control-allow-headers", HEADERS.to_string()));
            h.push(("access-control-max-age", MAX_AGE_SECS.to_string()));
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(h: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        h.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn listed_origins_only() {
        let c = Cors::from_list(" https://h5.example/ ,http://localhost:8080");
        assert_eq!(c.allowed(Some("https://h5.example")), Some("https://h5.example"));
        assert_eq!(c.allowed(Some("HTTPS://H5.example")), Some("HTTPS://H5.example"));
        assert_eq!(c.allowed(Some("http://localhost:8080")), Some("http://localhost:8080"));
        for other in ["https://evil.example", "http://h5.example", "https://h5.example:444", "null", ""] {
            assert_eq!(c.allowed(Some(other)), None, "{other}");
        }
        assert_eq!(c.allowed(None), None);
    }

    #[test]
    fn preflight_and_call_headers() {
        let c = Cors::new(["https://h5.example"]);
        let pre = c.preflight_headers(Some("https://h5.example"));
        assert_eq!(get(&pre, "access-control-allow-origin"), Some("https://h5.example"));
        assert!(get(&pre, "access-control-allow-methods").unwrap().contains("POST"));
        assert!(get(&pre, "access-control-allow-headers").unwrap().contains("Authorization"));
        let call = c.response_headers(Some("https://h5.example"));
        assert_eq!(get(&call, "access-control-allow-origin"), Some("https://h5.example"));
        assert_eq!(get(&call, "vary"), Some("Origin"));
        // An unlisted origin: no allow header of any kind.
        for h in [c.preflight_headers(Some("https://evil.example")), c.response_headers(Some("https://evil.example"))] {
            assert!(h.iter().all(|(k, _)| !k.starts_with("access-control-")), "{h:?}");
        }
        // CORS off: nothing at all.
        assert!(Cors::default().preflight_headers(Some("https://h5.example")).is_empty());
        assert!(Cors::is_preflight("OPTIONS", Some("POST")) && !Cors::is_preflight("OPTIONS", None) && !Cors::is_preflight("POST", Some("POST")));
    }
}
