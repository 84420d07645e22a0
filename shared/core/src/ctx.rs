//! The context every handler runs in: the ports, chosen once at start-up.

use crate::queue::EventQueue;
use crate::sitelink::SiteLink;
use crate::store::ItemStore;
use crate::time::Clock;
use std::ops::Deref;
use std::sync::Arc;

pub struct Ports {
    pub store: Arc<dyn ItemStore>,
    pub queue: Arc<dyn EventQueue>,
    pub sites: Arc<dyn SiteLink>,
    pub clock: Arc<dyn Clock>,
}

/// Cheap to clone; handlers take it by value.
#[derive(Clone)]
pub struct Ctx(Arc<Ports>);

impl Ctx {
    pub fn new(p: Ports) -> Self {
        Ctx(Arc::new(p))
    }
    pub fn store(&self) -> &dyn ItemStore {
        &*self.0.store
    }
}

impl Deref for Ctx {
    type Target = Ports;
    fn deref(&self) -> &Ports {
        &self.0
    }
}
