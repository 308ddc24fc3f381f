//! The repository test suite. Runs on SQLite, and on PostgreSQL when
//! `CHORUS_TEST_DATABASE_URL` is set (see `chorus_tests`).

use chorus_core::StoreError;
use chorus_core::domain::{AccountStatus, DeliveryStatus, MediaKind, PostDraft, PostStatus, Role, WorkspaceKind};
use chorus_core::secrets::Credentials;
use chorus_core::store::{NewAccount, NewBrand, NewDelivery, NewMediaAsset, NewSegment, NewUser, NewWorkspace, Store};
use chorus_tests::TestStore;
use chrono::{TimeZone, Utc};
use sea_orm::{ConnectionTrait, Database, Statement};
use uuid::Uuid;

fn draft(body: &str) -> PostDraft {
    PostDraft {
        body: body.into(),
        locale: "en".into(),
        ..Default::default()
    }
}

fn account(brand_id: Uuid, remote_id: &str) -> NewAccount {
    NewAccount {
        api_base: None,
        brand_id,
        platform: "linkedin".into(),
        handle: "acme".into(),
        remote_id: remote_id.into(),
        display_name: Some("Acme".into()),
        timezone: "Europe/Stockholm".into(),
        scopes: vec!["w_organization_social".into()],
        credentials: Credentials {
            access_token: "tok-SECRET-123".into(),
            refresh_token: Some("refresh-SECRET-456".into()),
            expires_at: Some(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()),
            app_password: None,
        },
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_create_every_table() {
    let t = TestStore::new().await;
    // `open` migrated already: a second run applies nothing.
    assert_eq!(t.store.migrate(&t.db.url).await.unwrap(), Vec::<String>::new());
    let conn = Database::connect(&t.db.url).await.unwrap();
    for table in [
        "workspaces",
        "users",
        "brands",
        "memberships",
        "social_accounts",
        "campaigns",
        "media_assets",
        "audience_segments",
        "personas",
        "posts",
        "post_media",
        "deliveries",
        "posting_schedules",
        "audit_log",
        "plugin_kv",
        "contacts",
        "contact_tags",
        "contact_events",
        "segment_snapshots",
        "segment_members",
        "sessions",
        "api_tokens",
    ] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = conn
            .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
            .await
            .unwrap_or_else(|e| panic!("table {table} missing: {e}"));
        assert!(row.is_some(), "{table}");
    }
}

#[tokio::test]
async fn workspace_slugs_are_unique_and_validated() {
    let t = TestStore::new().await;
    let ws = t.store.workspaces();
    let new = NewWorkspace {
        slug: "acme".into(),
        name: "Acme".into(),
        kind: WorkspaceKind::Company,
    };
    ws.create(new.clone()).await.unwrap();
    assert!(matches!(
        ws.create(new).await,
        Err(StoreError::Conflict { kind: "workspace", .. })
    ));
    let bad = NewWorkspace {
        slug: "Acme Inc".into(),
        name: "x".into(),
        kind: WorkspaceKind::Company,
    };
    match ws.create(bad).await {
        Err(StoreError::Invalid(i)) => assert_eq!(i.field, "workspace.slug"),
        other => panic!("expected invalid slug, got {other:?}"),
    }
    assert_eq!(ws.by_slug("acme").await.unwrap().kind, WorkspaceKind::Company);
}

#[tokio::test]
async fn one_workspace_cannot_see_or_use_another_workspaces_rows() {
    let t = TestStore::new().await;
    let (ws_a, brand_a) = t.workspace_with_brand("alpha").await;
    let (ws_b, _brand_b) = t.workspace_with_brand("beta").await;
    let a = t.store.tenant(ws_a);
    let b = t.store.tenant(ws_b);

    let post = a.posts().create(brand_a, None, draft("for alpha only")).await.unwrap();
    assert!(matches!(
        b.posts().get(post.id).await,
        Err(StoreError::NotFound { kind: "post", .. })
    ));
    assert!(matches!(
        b.brands().get(brand_a).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(b.brands().list().await.unwrap().len(), 1);
    assert!(b.posts().list(brand_a, None).await.unwrap().is_empty());
    // Writing into another tenant's brand is refused as if it did not exist.
    assert!(matches!(
        b.posts().create(brand_a, None, draft("sneaky")).await,
        Err(StoreError::NotFound { kind: "brand", .. })
    ));
    assert!(matches!(
        b.posts()
            .transition(post.id, PostStatus::Draft, PostStatus::Cancelled, None, None)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(a.posts().get(post.id).await.unwrap().status, PostStatus::Draft);
    // Brand slugs are unique per workspace, not globally.
    t.store
        .tenant(ws_b)
        .brands()
        .create(NewBrand {
            slug: "alpha-brand".into(),
            name: "Same slug".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn brand_rejects_unknown_time_zone_naming_the_field() {
    let t = TestStore::new().await;
    let (ws, _) = t.workspace_with_brand("zones").await;
    let err = t
        .store
        .tenant(ws)
        .brands()
        .create(NewBrand {
            slug: "x".into(),
            name: "X".into(),
            timezone: "Mars/Olympus".into(),
        })
        .await
        .unwrap_err();
    match err {
        StoreError::Invalid(i) => {
            assert_eq!(i.field, "brand.timezone");
            assert!(i.message.contains("IANA"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn post_moves_through_review_and_refuses_illegal_and_stale_moves() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("flow").await;
    let posts = t.store.tenant(ws).posts();
    let p = posts
        .create(
            brand,
            None,
            PostDraft {
                hashtags: vec!["#Fika".into()],
                ..draft("Hello")
            },
        )
        .await
        .unwrap();
    assert_eq!((p.status, p.revision), (PostStatus::Draft, 1));
    assert_eq!(p.hashtags.0, vec!["Fika"]);

    match posts
        .transition(p.id, PostStatus::Draft, PostStatus::Scheduled, None, None)
        .await
    {
        Err(StoreError::IllegalTransition { allowed, .. }) => {
            assert_eq!(allowed, "in_review, approved, cancelled")
        }
        other => panic!("draft -> scheduled must be refused, got {other:?}"),
    }
    posts
        .transition(
            p.id,
            PostStatus::Draft,
            PostStatus::InReview,
            None,
            Some("please check"),
        )
        .await
        .unwrap();
    // A second actor who still believes the post is a draft loses.
    assert!(matches!(
        posts
            .transition(p.id, PostStatus::Draft, PostStatus::InReview, None, None)
            .await,
        Err(StoreError::Stale { .. })
    ));
    let approved = posts
        .transition(p.id, PostStatus::InReview, PostStatus::Approved, None, None)
        .await
        .unwrap();
    assert_eq!(approved.status, PostStatus::Approved);
    let scheduled = posts
        .transition(p.id, PostStatus::Approved, PostStatus::Scheduled, None, None)
        .await
        .unwrap();
    assert_eq!(scheduled.status, PostStatus::Scheduled);
    assert_eq!(posts.count(brand, PostStatus::Scheduled).await.unwrap(), 1);
    assert_eq!(posts.list(brand, Some(PostStatus::Draft)).await.unwrap().len(), 0);
}

#[tokio::test]
async fn editing_checks_the_revision_and_reopens_an_approved_post() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("edits").await;
    let posts = t.store.tenant(ws).posts();
    let p = posts.create(brand, None, draft("v1")).await.unwrap();
    posts
        .transition(p.id, PostStatus::Draft, PostStatus::Approved, None, None)
        .await
        .unwrap();

    let edited = posts.edit(p.id, 1, None, draft("v2"), false).await.unwrap();
    assert_eq!(
        (edited.body.as_str(), edited.revision, edited.status),
        ("v2", 2, PostStatus::Draft)
    );
    match posts.edit(p.id, 1, None, draft("lost update"), false).await {
        Err(StoreError::Stale { expected, found, .. }) => {
            assert_eq!(expected, "revision 1");
            assert!(found.starts_with("revision 2"), "{found}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(posts.get(p.id).await.unwrap().body, "v2");
}

#[tokio::test]
async fn audit_log_records_changes_in_the_same_workspace() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("audit").await;
    let user = t
        .store
        .users()
        .create(NewUser {
            email: "Ann@Example.com".into(),
            display_name: "Ann".into(),
        })
        .await
        .unwrap();
    assert_eq!(user.email, "ann@example.com");
    let tenant = t.store.tenant(ws);
    let p = tenant
        .posts()
        .create(brand, Some(user.id), draft("audited"))
        .await
        .unwrap();
    tenant
        .posts()
        .transition(
            p.id,
            PostStatus::Draft,
            PostStatus::InReview,
            Some(user.id),
            Some("ready"),
        )
        .await
        .unwrap();
    let log = tenant.audit().recent(Some(p.id), 10).await.unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["post.status_changed", "post.created"]);
    assert_eq!(log[0].actor_user_id, Some(user.id));
    assert_eq!(log[0].detail["note"], "ready");
    let (other, _) = t.workspace_with_brand("other").await;
    assert!(
        t.store
            .tenant(other)
            .audit()
            .recent(Some(p.id), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn credentials_are_sealed_at_rest_and_open_only_through_their_tenant() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("creds").await;
    let accounts = t.store.tenant(ws).accounts();
    let acc = accounts.connect(account(brand, "urn:li:organization:1")).await.unwrap();
    assert_eq!(acc.status, AccountStatus::Connected);

    let raw = acc.credentials.clone().unwrap();
    assert!(
        !String::from_utf8_lossy(&raw).contains("SECRET"),
        "token stored in plaintext"
    );
    let opened = accounts.credentials(acc.id).await.unwrap();
    assert_eq!(opened.access_token, "tok-SECRET-123");
    assert_eq!(opened.refresh_token.as_deref(), Some("refresh-SECRET-456"));

    let (other, _) = t.workspace_with_brand("thief").await;
    assert!(t.store.tenant(other).accounts().credentials(acc.id).await.is_err());

    accounts.set_status(acc.id, AccountStatus::NeedsReauth).await.unwrap();
    let renewed = Credentials {
        access_token: "tok-NEW".into(),
        refresh_token: None,
        expires_at: None,
        app_password: None,
    };
    accounts.set_credentials(acc.id, &renewed).await.unwrap();
    assert_eq!(accounts.credentials(acc.id).await.unwrap(), renewed);
    assert_eq!(accounts.get(acc.id).await.unwrap().status, AccountStatus::Connected);

    assert!(matches!(
        accounts.connect(account(brand, "urn:li:organization:1")).await,
        Err(StoreError::Conflict {
            kind: "social account",
            ..
        })
    ));
}

#[tokio::test]
async fn credentials_do_not_open_with_another_key() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("keys").await;
    let acc = t
        .store
        .tenant(ws)
        .accounts()
        .connect(account(brand, "1"))
        .await
        .unwrap();
    let other = Store::connect(&t.db.url, chorus_core::secrets::SecretKey::generate())
        .await
        .unwrap();
    match other.tenant(ws).accounts().credentials(acc.id).await {
        Err(StoreError::Crypto { reason, .. }) => assert!(reason.contains("wrong key")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn deliveries_are_unique_per_account_and_segment_and_finish_once() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("deliver").await;
    let tenant = t.store.tenant(ws);
    let acc = tenant.accounts().connect(account(brand, "42")).await.unwrap();
    let seg = tenant
        .segments()
        .create(NewSegment {
            tone: Some(serde_json::json!({"formality": "casual"})),
            ..NewSegment::named(
                brand,
                "Loyal fans",
                chorus_core::domain::SegmentKind::CustomerGroup,
                chorus_core::domain::FunnelStage::Retention,
            )
        })
        .await
        .unwrap();
    let post = tenant.posts().create(brand, None, draft("launch")).await.unwrap();
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
    let new = |segment| NewDelivery {
        post_id: post.id,
        account_id: acc.id,
        segment_id: segment,
        adapted_text: Some("launch!".into()),
        adaptation: None,
        targeting: Some(serde_json::json!({"geo": ["SE"]})),
        scheduled_at: Some(at),
        timezone: "Europe/Stockholm".into(),
        plugin: None,
        occurrence: None,
    };
    let d1 = tenant.deliveries().create(new(Some(seg.id))).await.unwrap();
    let d2 = tenant.deliveries().create(new(None)).await.unwrap();
    assert_eq!(
        (d1.status, d2.status),
        (DeliveryStatus::Scheduled, DeliveryStatus::Scheduled)
    );
    assert_ne!(d1.idempotency_key, d2.idempotency_key);
    assert_eq!(d1.scheduled_at, Some(at));
    assert_eq!(d1.timezone, "Europe/Stockholm");
    assert!(matches!(
        tenant.deliveries().create(new(Some(seg.id))).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(tenant.deliveries().list_for_post(post.id).await.unwrap().len(), 2);

    // The queue takes it from its instant; the lineage names the post revision.
    assert_eq!((d1.run_at, d1.post_revision, d1.attempts), (Some(at), 1, 0));
}

#[tokio::test]
async fn delivery_refuses_an_account_of_another_brand() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("mix").await;
    let tenant = t.store.tenant(ws);
    let other_brand = tenant
        .brands()
        .create(NewBrand {
            slug: "other".into(),
            name: "Other".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    let acc = tenant.accounts().connect(account(other_brand.id, "7")).await.unwrap();
    let post = tenant.posts().create(brand, None, draft("x")).await.unwrap();
    let err = tenant
        .deliveries()
        .create(NewDelivery {
            post_id: post.id,
            account_id: acc.id,
            segment_id: None,
            adapted_text: None,
            adaptation: None,
            targeting: None,
            scheduled_at: None,
            timezone: "UTC".into(),
            plugin: None,
            occurrence: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(ref i) if i.field == "delivery.account_id"),
        "{err:?}"
    );
}

#[tokio::test]
async fn posts_keep_media_in_order_and_refuse_foreign_assets() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("media").await;
    let tenant = t.store.tenant(ws);
    let asset = |key: &str| NewMediaAsset {
        brand_id: brand,
        kind: MediaKind::Image,
        mime_type: "image/jpeg".into(),
        byte_size: 1024,
        width: Some(1080),
        height: Some(1080),
        duration_ms: None,
        sha256: "a".repeat(64),
        storage_key: key.into(),
        alt_text: Some("a cup".into()),
        codec: None,
        frame_rate: None,
        original_name: None,
    };
    let m1 = tenant.media().register(asset("1.jpg")).await.unwrap();
    let m2 = tenant.media().register(asset("2.jpg")).await.unwrap();
    let campaign = tenant.media().create_campaign(brand, "Winter launch").await.unwrap();
    let p = tenant
        .posts()
        .create(
            brand,
            None,
            PostDraft {
                media: vec![m2.id, m1.id],
                campaign_id: Some(campaign.id),
                ..draft("")
            },
        )
        .await
        .unwrap();
    assert_eq!(tenant.posts().media(p.id).await.unwrap(), vec![m2.id, m1.id]);
    assert_eq!(p.campaign_id, Some(campaign.id));

    let (other, other_brand) = t.workspace_with_brand("elsewhere").await;
    let err = t
        .store
        .tenant(other)
        .posts()
        .create(
            other_brand,
            None,
            PostDraft {
                media: vec![m1.id],
                ..draft("steal")
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(ref i) if i.field == "media[0]"),
        "{err:?}"
    );
}

#[tokio::test]
async fn brand_role_overrides_workspace_role() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("roles").await;
    let u = t
        .store
        .users()
        .create(NewUser {
            email: "client@brand.com".into(),
            display_name: "Client".into(),
        })
        .await
        .unwrap();
    let m = t.store.tenant(ws).memberships();
    assert_eq!(m.role_for(u.id, Some(brand)).await.unwrap(), None);
    m.grant(u.id, None, Role::Viewer).await.unwrap();
    m.grant(u.id, Some(brand), Role::ClientApprover).await.unwrap();
    assert_eq!(m.role_for(u.id, Some(brand)).await.unwrap(), Some(Role::ClientApprover));
    assert_eq!(m.role_for(u.id, None).await.unwrap(), Some(Role::Viewer));
    // Granting again at the same scope replaces, not duplicates.
    m.grant(u.id, None, Role::Editor).await.unwrap();
    assert_eq!(m.role_for(u.id, None).await.unwrap(), Some(Role::Editor));
    let (other, _) = t.workspace_with_brand("no-access").await;
    assert_eq!(
        t.store.tenant(other).memberships().role_for(u.id, None).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn schedules_validate_cron_and_compute_slots_in_their_zone() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("slots").await;
    let s = t.store.tenant(ws).schedules();
    match s
        .create(brand, None, "Mornings", "every day at nine", "Europe/Stockholm")
        .await
    {
        Err(StoreError::Invalid(i)) => assert_eq!(i.field, "cron"),
        other => panic!("{other:?}"),
    }
    let sched = s
        .create(brand, None, "Weekday mornings", "30 9 * * Mon-Fri", "America/New_York")
        .await
        .unwrap();
    // Friday 2026-11-20 15:00 UTC: next slots are Mon 23rd and Tue 24th, 09:30 EST = 14:30 UTC.
    let slots = s
        .next_slots(sched.id, Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap(), 2)
        .await
        .unwrap();
    assert_eq!(
        slots,
        vec![
            Utc.with_ymd_and_hms(2026, 11, 23, 14, 30, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 24, 14, 30, 0).unwrap(),
        ]
    );
    assert_eq!(s.list_for_brand(brand).await.unwrap().len(), 1);
}

/// The sweeper deletes sessions and OAuth authorizations once they have expired, and
/// nothing that is still live.
#[tokio::test]
async fn the_sweeper_deletes_only_expired_sessions_and_authorizations() {
    use chorus_core::delivery::sweeper::{Swept, sweep};
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("sweep").await;
    let user = t
        .store
        .users()
        .create(NewUser {
            email: "s@example.test".into(),
            display_name: "S".into(),
        })
        .await
        .unwrap();
    let identity = t.store.identity();
    let short = identity
        .open_session(user.id, chrono::Duration::hours(1))
        .await
        .unwrap();
    let long = identity
        .open_session(user.id, chrono::Duration::days(14))
        .await
        .unwrap();
    let (state, _) = t
        .store
        .tenant(ws)
        .authorizations()
        .begin(chorus_core::store::NewAuthorization {
            brand_id: brand,
            user_id: user.id,
            platform: "x".into(),
            redirect_uri: "http://127.0.0.1/api/v1/oauth/callback".into(),
            verifier: "v".repeat(43),
            handle: "h".into(),
            remote_id: "1".into(),
            display_name: None,
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    // Now: everything is live.
    assert_eq!(sweep(&t.store, Utc::now()).await.unwrap(), Swept::default());
    // Two hours on: the short session and the ten-minute authorization are gone.
    let later = Utc::now() + chrono::Duration::hours(2);
    assert_eq!(
        sweep(&t.store, later).await.unwrap(),
        Swept {
            sessions: 1,
            authorizations: 1
        }
    );
    assert!(identity.session(&short.secret).await.unwrap().is_none());
    assert!(identity.session(&long.secret).await.unwrap().is_some());
    assert!(t.store.take_authorization(&state).await.unwrap().is_none());
}
