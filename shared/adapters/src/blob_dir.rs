//! The local blob store: one file per key under `{data_dir}/blobs/`. A write
//! goes to a temporary file in the same directory and is renamed into place,
//! so a reader (or a crash) never sees half a picture. Keys are checked by
//! `onecard_core::blob::check_key`, so none can name a path outside the root.

use async_trait::async_trait;
use onecard_core::blob::{check_key, BlobError, BlobResult, BlobStore};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct DirBlobs {
    root: PathBuf,
    /// Where `onecard serve` serves the blobs (`http://host:port/blobs`), for
    /// `url`; none when the process serves no HTTP.
    public_base: Option<String>,
}

impl DirBlobs {
    /// The store of a data dir: `{data_dir}/blobs`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        DirBlobs::new(data_dir.join("blobs"), None)
    }

    pub fn new(root: PathBuf, public_base: Option<String>) -> Self {
        DirBlobs { root, public_base: public_base.map(|b| b.trim_end_matches('/').to_string()) }
    }

    pub fn with_public_base(mut self, base: impl Into<String>) -> Self {
        self.public_base = Some(base.into().trim_end_matches('/').to_string());
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> BlobResult<PathBuf> {
        check_key(key)?;
        Ok(key.split('/').fold(self.root.clone(), |p, seg| p.join(seg)))
    }
}

fn io<'a>(what: &'static str, key: &'a str) -> impl FnOnce(std::io::Error) -> BlobError + 'a {
    move |e| BlobError(format!("{what} {key}: {e}"))
}

/// Writes `bytes` to `path` through a temporary sibling, synced before the
/// rename so the renamed file is complete after a power loss too.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other("key has no parent directory"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[async_trait]
impl BlobStore for DirBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> BlobResult<()> {
        let path = self.path(key)?;
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|e| BlobError(format!("put {key}: {e}")))?
            .map_err(io("put", key))
    }

    async fn get(&self, key: &str) -> BlobResult<Option<Vec<u8>>> {
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("get", key)(e)),
        }
    }

    async fn url(&self, key: &str) -> BlobResult<Option<String>> {
        check_key(key)?;
        Ok(self.public_base.as_ref().map(|b| format!("{b}/{key}")))
    }
}
