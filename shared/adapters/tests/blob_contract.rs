//! One contract, two blob stores: every case runs against DirBlobs and against
//! S3Blobs on an S3-compatible server (moto, started by
//! `infra/scripts/sqs-local.sh`, which serves S3 on the same endpoint):
//! ONECARD_S3_ENDPOINT, or ONECARD_SKIP_S3=1 to skip it.

mod common;

use onecard_adapters::{DirBlobs, S3Blobs};
use onecard_core::blob::BlobStore;
use std::sync::Arc;

type Blobs = Arc<dyn BlobStore>;

async fn open_dir() -> Option<Blobs> {
    Some(Arc::new(DirBlobs::in_data_dir(&common::temp_dir("blobs")).with_public_base("http://127.0.0.1:8080/blobs")))
}

/// A fresh bucket per test, so cases never see each other's objects.
async fn open_s3() -> Option<Blobs> {
    let endpoint = common::endpoint("ONECARD_S3_ENDPOINT", "ONECARD_SKIP_S3", "infra/scripts/sqs-local.sh")?;
    let blobs: S3Blobs = onecard_adapters::emulator::s3_blobs(&endpoint, &common::unique("onecard-contract"));
    blobs.create_bucket().await.expect("create bucket");
    Some(Arc::new(blobs))
}

mod cases {
    use super::*;

    pub async fn put_then_get_returns_the_same_bytes(b: Blobs) {
        let pic: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        b.put("pictures/1001/abc", pic.clone(), "image/jpeg").await.expect("put");
        assert_eq!(b.get("pictures/1001/abc").await.expect("get"), Some(pic));
    }

    pub async fn a_missing_key_is_none_not_an_error(b: Blobs) {
        assert_eq!(b.get("pictures/1001/none").await.expect("get"), None);
    }

    pub async fn a_second_put_replaces_the_first(b: Blobs) {
        b.put("k/1", b"one".to_vec(), "application/octet-stream").await.expect("put");
        b.put("k/1", b"two!".to_vec(), "application/octet-stream").await.expect("put");
        assert_eq!(b.get("k/1").await.expect("get").as_deref(), Some(&b"two!"[..]));
    }

    pub async fn traversal_keys_are_refused_on_every_call(b: Blobs) {
        for bad in ["../outside", "a/../../b", "/abs", "a//b"] {
            assert!(b.put(bad, b"x".to_vec(), "text/plain").await.is_err(), "put {bad}");
            assert!(b.get(bad).await.is_err(), "get {bad}");
            assert!(b.url(bad).await.is_err(), "url {bad}");
        }
    }

    pub async fn url_names_the_key(b: Blobs) {
        b.put("pictures/1001/u", b"x".to_vec(), "image/png").await.expect("put");
        let url = b.url("pictures/1001/u").await.expect("url").expect("a url");
        assert!(url.contains("pictures/1001/u"), "{url}");
    }
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod dir { use super::*; $( #[tokio::test] async fn $case() { if let Some(b) = open_dir().await { cases::$case(b).await } } )* }
        mod s3 { use super::*; $( #[tokio::test] async fn $case() { if let Some(b) = open_s3().await { cases::$case(b).await } } )* }
    };
}

contract!(
    put_then_get_returns_the_same_bytes,
    a_missing_key_is_none_not_an_error,
    a_second_put_replaces_the_first,
    traversal_keys_are_refused_on_every_call,
    url_names_the_key,
);

#[tokio::test]
async fn dir_writes_leave_no_temporary_files_and_stay_under_the_root() {
    let data = common::temp_dir("blobs-root");
    let b = DirBlobs::in_data_dir(&data);
    b.put("pictures/1001/p", vec![1, 2, 3], "image/jpeg").await.unwrap();
    assert_eq!(std::fs::read(data.join("blobs/pictures/1001/p")).unwrap(), vec![1, 2, 3]);
    let names: Vec<_> = std::fs::read_dir(data.join("blobs/pictures/1001")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("p")]);
    assert!(b.put("../escape", vec![1], "x").await.is_err());
    assert!(!data.join("escape").exists());
}
