//! The media library on an S3-compatible bucket (a real server: moto, on loopback): what
//! one worker stores another one, with its own connection, reads; large files go up in
//! parts and come back in ranges.

use chorus_core::domain::MediaKind;
use chorus_core::media::{MediaLibrary, MediaStorage, UrlSigner};
use chorus_core::secrets::SecretKey;
use chorus_tests::TestStore;
use chorus_tests::s3::S3Server;
use futures::TryStreamExt;

async fn collect(s: chorus_core::plugins::MediaStream) -> Vec<u8> {
    let chunks: Vec<_> = s.try_collect().await.unwrap();
    chunks.iter().flat_map(|c| c.iter().copied()).collect()
}

#[tokio::test]
async fn what_one_worker_stores_in_the_bucket_another_reads() {
    let s3 = S3Server::start("chorus-media").await;
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("s3").await;
    let tenant = t.store.tenant(ws);
    let key = SecretKey::generate();
    let here = MediaLibrary::new(
        MediaStorage::s3(&s3.settings()).unwrap(),
        Some(UrlSigner::new(&key, "http://a")),
    );
    let there = MediaLibrary::new(
        MediaStorage::s3(&s3.settings()).unwrap(),
        Some(UrlSigner::new(&key, "http://b")),
    );
    assert_eq!(here.storage().location, "s3://chorus-media");

    let dir = tempfile::tempdir().unwrap();
    let video = chorus_tests::media::mp4(1080, 1920, 6, 30);
    let path = dir.path().join("reel.mp4");
    std::fs::write(&path, &video).unwrap();
    let asset = here.add_file(&tenant, brand, &path, None).await.unwrap();
    assert_eq!((asset.kind, asset.duration_ms), (MediaKind::Video, Some(6000)));

    // Another machine: its own client, the same bucket.
    let source = there.source(std::slice::from_ref(&asset));
    let id = asset.id.to_string();
    assert_eq!(source.size(&id).await.unwrap(), video.len() as u64);
    assert_eq!(
        collect(source.stream(&id, 0..video.len() as u64).await.unwrap()).await,
        video
    );
    assert_eq!(
        collect(source.stream(&id, 100..228).await.unwrap()).await,
        video[100..228]
    );

    there.remove(&tenant, asset.id).await.unwrap();
    assert!(
        here.storage().size(&asset.storage_key).await.is_err(),
        "the bytes are gone from the bucket"
    );
}

#[tokio::test]
async fn a_file_larger_than_a_part_goes_up_in_parts_and_comes_back_whole_and_in_ranges() {
    let s3 = S3Server::start("chorus-parts").await;
    let storage = MediaStorage::s3(&s3.settings()).unwrap();
    // 2.5 parts of 8 MiB, with a pattern that shows any misplaced part.
    let len = chorus_core::media::storage::PART_BYTES * 5 / 2;
    let bytes: Vec<u8> = (0..len)
        .map(|i| (i % 251) as u8 ^ ((i / 8_388_608) as u8 * 7))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, &bytes).unwrap();
    storage.put_file("ws/big", &path).await.unwrap();
    assert_eq!(storage.size("ws/big").await.unwrap(), len as u64);
    let across = (8_388_600u64)..(8_388_700u64);
    assert_eq!(
        collect(storage.stream("ws/big", across.clone()).await.unwrap()).await,
        bytes[across.start as usize..across.end as usize]
    );
    assert_eq!(
        collect(storage.stream("ws/big", 0..len as u64).await.unwrap()).await,
        bytes
    );
    storage.delete("ws/big").await.unwrap();
    storage.delete("ws/big").await.unwrap();
}
