//! What a handler gets and gives back.

use crate::config::{Branch, Caller};
use crate::spec::RouteSpec;
use chrono::NaiveDateTime;
use serde_json::Value;

/// `queryFormat` (5.4.2): a page of a list, by 0-based row index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryFormat {
    pub rowindex: usize,
    pub pagesize: Option<usize>,
}

impl QueryFormat {
    /// Applies the page to a full list; answers the page and the total.
    pub fn page<T>(&self, all: Vec<T>) -> (Vec<T>, usize) {
        let total = all.len();
        let size = self.pagesize.unwrap_or(crate::kit::PAGE_CAP).min(crate::kit::PAGE_CAP);
        let rows = all.into_iter().skip(self.rowindex).take(size).collect();
        (rows, total)
    }
}

/// Who sent the request.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// A signed chapter 5 request.
    Caller(Caller),
    /// An authenticated site agent over the site link.
    Site { agent_id: String },
    /// A payment provider's callback (10.6, 10.7); its own signature is
    /// checked by the handler.
    Provider,
    /// The server itself (tests, admin, scheduled jobs).
    Internal,
}

#[derive(Clone, Debug)]
pub struct Req {
    pub route: &'static RouteSpec,
    pub origin: Origin,
    pub branch: Branch,
    /// The request's `data`, read by the kit into the route's typed input
    /// (never by a handler).
    pub(crate) data: Value,
    pub query: Option<QueryFormat>,
    /// Branch-local time the request arrived.
    pub now: NaiveDateTime,
}

impl Req {
    pub fn branchno(&self) -> &str {
        &self.branch.branchno
    }
    /// The request's `data`, handed to the route's input parser once.
    pub(crate) fn take_data(&mut self) -> Value {
        std::mem::take(&mut self.data)
    }
    /// One page of a list, as the caller's `queryFormat` asks (capped).
    pub fn page<R>(&self, all: Vec<R>) -> crate::kit::Page<R> {
        crate::kit::Page::of(self.query, all)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub data: Value,
    /// (rowindex, total) for list answers.
    pub page: Option<(usize, usize)>,
    pub message: Option<String>,
}

impl Reply {
    pub fn data(data: Value) -> Self {
        Reply { data, page: None, message: None }
    }
    pub fn empty() -> Self {
        Reply::data(Value::Object(Default::default()))
    }
    pub fn with_message(mut self, m: impl Into<String>) -> Self {
        self.message = Some(m.into());
        self
    }
}
