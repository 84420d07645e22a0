//! The context every handler runs in: the ports, chosen once at start-up.

use crate::blob::{BlobStore, NoBlobs};
use crate::outbound::{NoOutbound, Outbound};
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
pub struct Ctx {
    ports: Arc<Ports>,
    http: Arc<dyn Outbound>,
    blobs: Arc<dyn BlobStore>,
}

impl Ctx {
    /// A context that sends no outbound HTTP (`with_http` gives it a client)
    /// and keeps no pictures (`with_blobs` gives it a store). Configuration
    /// reads go through a short-lived cache (`config_cache`).
    pub fn new(mut p: Ports) -> Self {
        p.store = crate::config_cache::ConfigCache::standard(p.store);
        Ctx { ports: Arc::new(p), http: Arc::new(NoOutbound), blobs: Arc::new(NoBlobs) }
    }
    pub fn with_http(mut self, http: Arc<dyn Outbound>) -> Self {
        self.http = http;
        self
    }
    pub fn with_blobs(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = blobs;
        self
    }
    pub fn store(&self) -> &dyn ItemStore {
        &*self.ports.store
    }
    /// Outbound HTTP (pushes, 6.2.3 verification).
    pub fn http(&self) -> &Arc<dyn Outbound> {
        &self.http
    }
    /// Pictures (decision 16): records keep keys into this store.
    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }
}

impl Deref for Ctx {
    type Target = Ports;
    fn deref(&self) -> &Ports {
        &self.ports
    }
}
