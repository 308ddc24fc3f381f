//! The media library end to end: files read by their bytes, stored under the data
//! directory, served to platforms only through signed, unexpired URLs.

use chorus::server::{AppState, router};
use chorus_core::domain::MediaKind;
use chorus_core::media::{MediaLibrary, MediaStorage, UrlSigner};
use chorus_core::secrets::SecretKey;
use chorus_tests::TestStore;
use std::time::Instant;

struct Setup {
    t: TestStore,
    ws: uuid::Uuid,
    brand: uuid::Uuid,
    library: MediaLibrary,
    files: tempfile::TempDir,
    base: String,
}

async fn setup(label: &str) -> Setup {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand(label).await;
    let files = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let storage = MediaStorage::local(&files.path().join("store")).unwrap();
    let library = MediaLibrary::new(storage, Some(UrlSigner::new(&SecretKey::generate(), &base)));
    let (plugins, _) =
        chorus_core::plugins::PluginRegistry::load(chorus_tests::plugins::engine(), Default::default(), &[])
            .await
            .unwrap();
    let app = router(AppState {
        store: t.store.clone(),
        plugins: std::sync::Arc::new(plugins),
        started: Instant::now(),
        stats: None,
        media: Some(library.clone()),
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Setup {
        t,
        ws,
        brand,
        library,
        files,
        base,
    }
}

impl Setup {
    fn write(&self, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = self.files.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

#[tokio::test]
async fn images_and_videos_are_read_from_their_bytes_not_their_names() {
    let s = setup("probe").await;
    let tenant = s.t.store.tenant(s.ws);
    // A PNG named like a JPEG is a PNG.
    let png = s.write("photo.jpg", &chorus_tests::media::png(1080, 1350, [200, 80, 40]));
    let image = s
        .library
        .add_file(&tenant, s.brand, &png, Some("An orange square".into()))
        .await
        .unwrap();
    assert_eq!(
        (image.kind, image.mime_type.as_str(), image.width, image.height),
        (MediaKind::Image, "image/png", Some(1080), Some(1350))
    );
    assert_eq!(image.original_name.as_deref(), Some("photo.jpg"));
    assert_eq!(image.alt_text.as_deref(), Some("An orange square"));
    let on_disk = std::fs::read(&png).unwrap();
    assert_eq!(image.byte_size as usize, on_disk.len());
    use sha2::Digest;
    assert_eq!(image.sha256, hex::encode(sha2::Sha256::digest(&on_disk)));

    let jpeg = s.write("photo.png", &chorus_tests::media::jpeg(640, 800, [10, 80, 160]));
    let photo = s.library.add_file(&tenant, s.brand, &jpeg, None).await.unwrap();
    assert_eq!(
        (photo.mime_type.as_str(), photo.width, photo.height),
        ("image/jpeg", Some(640), Some(800))
    );

    let mp4 = s.write("clip.bin", &chorus_tests::media::mp4(720, 1280, 4, 30));
    let video = s.library.add_file(&tenant, s.brand, &mp4, None).await.unwrap();
    assert_eq!(
        (video.kind, video.mime_type.as_str(), video.width, video.height),
        (MediaKind::Video, "video/mp4", Some(720), Some(1280))
    );
    assert_eq!(video.codec.as_deref(), Some("h264"));
    assert_eq!(video.duration_ms, Some(4000));
    assert_eq!(video.frame_rate, Some(30.0));

    let listed = tenant.media().list(s.brand).await.unwrap();
    assert_eq!(
        listed.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![video.id, photo.id, image.id]
    );
}

#[tokio::test]
async fn a_file_chorus_cannot_read_is_refused_with_what_was_wrong_and_nothing_is_kept() {
    let s = setup("refused").await;
    let tenant = s.t.store.tenant(s.ws);
    let text = s.write("notes.png", b"just some text, not an image");
    let e = s
        .library
        .add_file(&tenant, s.brand, &text, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("notes.png is not a media type Chorus can read"), "{e}");
    assert!(e.contains("JPEG, PNG, GIF or WebP image, or an MP4/MOV video"), "{e}");
    // An MP4 header with nothing after it.
    let mut broken = chorus_tests::media::mp4(64, 64, 1, 10);
    broken.truncate(40);
    let broken = s.write("cut.mp4", &broken);
    let e = s
        .library
        .add_file(&tenant, s.brand, &broken, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cut.mp4 looks like an MP4/MOV video but cannot be read as one"),
        "{e}"
    );
    let empty = s.write("empty.png", b"");
    let e = s
        .library
        .add_file(&tenant, s.brand, &empty, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty.png is empty"), "{e}");
    assert!(tenant.media().list(s.brand).await.unwrap().is_empty());
    let stored = std::fs::read_dir(s.files.path().join("store"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(stored, 0, "nothing stored for refused files");
}

#[tokio::test]
async fn signed_urls_serve_the_bytes_and_expired_or_tampered_ones_get_403() {
    let s = setup("urls").await;
    let tenant = s.t.store.tenant(s.ws);
    let bytes = chorus_tests::media::png(40, 30, [0, 120, 200]);
    let path = s.write("pin.png", &bytes);
    let asset = s.library.add_file(&tenant, s.brand, &path, None).await.unwrap();
    let signer = s.library.signer().unwrap();
    let http = chorus_tests::http_client();

    let url = signer.url(asset.id, chrono::Utc::now() + chrono::Duration::minutes(5));
    assert!(url.starts_with(&format!("{}/media/{}", s.base, asset.id)), "{url}");
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let expired = signer.url(asset.id, chrono::Utc::now() - chrono::Duration::seconds(1));
    let resp = http.get(&expired).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("expired"));

    let tampered = url.replace("sig=", "sig=00");
    assert_eq!(http.get(&tampered).send().await.unwrap().status(), 403);
    let unsigned = format!("{}/media/{}", s.base, asset.id);
    assert_eq!(http.get(&unsigned).send().await.unwrap().status(), 403);
    // A URL for one asset does not open another.
    let other = s
        .library
        .add_file(
            &tenant,
            s.brand,
            &s.write("b.png", &chorus_tests::media::png(2, 2, [1, 2, 3])),
            None,
        )
        .await
        .unwrap();
    let swapped = url.replace(&asset.id.to_string(), &other.id.to_string());
    assert_eq!(http.get(&swapped).send().await.unwrap().status(), 403);

    // Removing the asset removes its bytes; a still-valid URL then finds nothing.
    s.library.remove(&tenant, asset.id).await.unwrap();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 404);
    assert!(s.library.storage().size(&asset.storage_key).await.is_err());
}

#[tokio::test]
async fn ranged_streams_read_only_the_slice_asked_for() {
    let s = setup("ranges").await;
    let tenant = s.t.store.tenant(s.ws);
    let bytes = chorus_tests::media::mp4(320, 240, 2, 25);
    let asset = s
        .library
        .add_file(&tenant, s.brand, &s.write("v.mp4", &bytes), None)
        .await
        .unwrap();
    let source = s.library.source(std::slice::from_ref(&asset));
    let id = asset.id.to_string();
    assert_eq!(source.size(&id).await.unwrap(), bytes.len() as u64);
    use futures::TryStreamExt;
    let chunks: Vec<_> = source.stream(&id, 10..110).await.unwrap().try_collect().await.unwrap();
    let part: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    assert_eq!(part, bytes[10..110]);
    // Only the call's own assets are reachable.
    assert!(source.size(&uuid::Uuid::now_v7().to_string()).await.is_err());
}

#[tokio::test]
async fn media_is_added_from_a_url_streamed_to_disk_and_read_like_a_file() {
    let s = setup("from-url").await;
    let tenant = s.t.store.tenant(s.ws);
    let jpeg = chorus_tests::media::jpeg(1080, 1350, [180, 90, 40]);
    let served = jpeg.clone();
    let app = axum::Router::new()
        .route(
            "/photos/cup.jpg",
            axum::routing::get(move || async move { served.clone() }),
        )
        .route("/notes", axum::routing::get(|| async { "just some text" }));
    let origin = chorus_tests::plugins::serve(app).await;
    let a = s
        .library
        .add_url(
            &tenant,
            s.brand,
            &format!("{origin}/photos/cup.jpg?v=2"),
            Some("A cup".into()),
        )
        .await
        .unwrap();
    assert_eq!(a.kind, MediaKind::Image);
    assert_eq!((a.width, a.height), (Some(1080), Some(1350)));
    assert_eq!(a.byte_size, jpeg.len() as i64);
    assert_eq!(a.original_name.as_deref(), Some("cup.jpg"));
    assert_eq!(
        s.library.storage().read_all(&a.storage_key).await.unwrap().as_ref(),
        jpeg.as_slice(),
        "the stored bytes are the served ones"
    );
    let e = s
        .library
        .add_url(&tenant, s.brand, &format!("{origin}/missing.jpg"), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("answered 404"), "{e}");
    let e = s
        .library
        .add_url(&tenant, s.brand, &format!("{origin}/notes"), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not a media type Chorus can read"), "{e}");
    let e = s
        .library
        .add_url(&tenant, s.brand, "ftp://example.com/a.jpg", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not an http(s) URL"), "{e}");
    assert_eq!(
        tenant.media().list(s.brand).await.unwrap().len(),
        1,
        "only the image was kept"
    );
}
