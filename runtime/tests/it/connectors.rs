//! Connector tests; each runs on SQLite and PostgreSQL (see `harness`).

use aima_runtime::store::{
    CONNECTOR_STATUS_NEW, Connector, NewConnector, SecretKey, Store, StoreError,
};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::harness::{Ctx, raw_column, raw_execute, store_tests};

store_tests!(
    credentials_round_trip,
    credentials_are_encrypted_at_rest,
    wrong_key_fails_to_decrypt,
    other_organizations_see_nothing,
    ciphertext_moved_to_another_org_fails,
    delete_connector_removes_it,
    status_updates,
);

/// A secret that must never appear in clear in the database.
const SECRET: &str = "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";

fn ts(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

async fn org(store: &Store, slug: &str) -> Uuid {
    store.create_organization(slug, slug).await.unwrap().id
}

fn shop(name: &str) -> NewConnector {
    NewConnector {
        kind: "shopify".into(),
        name: name.into(),
        credentials: json!({ "access_token": SECRET, "scopes": ["read_orders"] }),
        config: json!({ "shop": "acme.myshopify.com", "since": "2024-01-01" }),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn credentials_round_trip(ctx: Ctx) {
    let store = &ctx.store;
    let key = SecretKey::generate();
    let o = org(store, "round-trip").await;
    let created = store.create_connector(o, &key, shop("main")).await.unwrap();
    assert_eq!(created.organization_id, o);
    assert_eq!(created.kind, "shopify");
    assert_eq!(created.name, "main");
    assert_eq!(created.status, CONNECTOR_STATUS_NEW);
    assert_eq!(created.last_sync_at, None);
    assert_eq!(created.config["shop"], "acme.myshopify.com");

    // The serialized form never carries credentials.
    let serialized = serde_json::to_string(&created).unwrap();
    assert!(!serialized.contains(SECRET), "{serialized}");
    assert!(!serialized.contains("credentials"), "{serialized}");
    let debug = format!("{:?}", shop("x"));
    assert!(!debug.contains(SECRET), "{debug}");

    let second = store
        .create_connector(
            o,
            &key,
            NewConnector {
                kind: "google_ads".into(),
                name: "ads".into(),
                credentials: json!("plain string token"),
                config: json!({}),
            },
        )
        .await
        .unwrap();
    let listed: Vec<Connector> = store.list_connectors(o).await.unwrap();
    assert_eq!(listed, vec![created.clone(), second.clone()]);

    assert_eq!(
        store
            .connector_credentials(o, created.id, &key)
            .await
            .unwrap(),
        Some(shop("main").credentials)
    );
    assert_eq!(
        store
            .connector_credentials(o, second.id, &key)
            .await
            .unwrap(),
        Some(json!("plain string token"))
    );
    // A key loaded again from its hex form works too.
    let dir = tempfile::tempdir().unwrap();
    let saved = SecretKey::load_or_create(dir.path()).unwrap();
    let third = store
        .create_connector(o, &saved, shop("third"))
        .await
        .unwrap();
    let reloaded = SecretKey::load_or_create(dir.path()).unwrap();
    assert_eq!(
        store
            .connector_credentials(o, third.id, &reloaded)
            .await
            .unwrap(),
        Some(shop("third").credentials)
    );
    assert_eq!(
        store
            .connector_credentials(o, Uuid::now_v7(), &key)
            .await
            .unwrap(),
        None
    );
}

async fn credentials_are_encrypted_at_rest(ctx: Ctx) {
    let store = &ctx.store;
    let key = SecretKey::generate();
    let o = org(store, "at-rest").await;
    store.create_connector(o, &key, shop("a")).await.unwrap();
    store.create_connector(o, &key, shop("b")).await.unwrap();

    let ciphertexts = raw_column::<Vec<u8>>(
        &ctx,
        "SELECT credentials_ciphertext FROM connectors ORDER BY created_at, id",
    )
    .await;
    let nonces = raw_column::<Vec<u8>>(
        &ctx,
        "SELECT credentials_nonce FROM connectors ORDER BY created_at, id",
    )
    .await;
    assert_eq!(ciphertexts.len(), 2);
    let plaintext_len = serde_json::to_vec(&shop("a").credentials).unwrap().len();
    for (ct, nonce) in ciphertexts.iter().zip(&nonces) {
        assert_eq!(nonce.len(), 24);
        assert_eq!(ct.len(), plaintext_len + 16);
        assert!(!contains(ct, SECRET.as_bytes()));
        assert!(!contains(ct, b"access_token"));
    }
    // Same plaintext, different nonce and ciphertext.
    assert_ne!(nonces[0], nonces[1]);
    assert_ne!(ciphertexts[0], ciphertexts[1]);

    // No text column carries the secret either.
    let texts = raw_column::<String>(
        &ctx,
        "SELECT kind || ' ' || name || ' ' || CAST(config AS TEXT) || ' ' || status \
         FROM connectors",
    )
    .await;
    assert_eq!(texts.len(), 2);
    for text in &texts {
        assert!(text.contains("acme.myshopify.com"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains("access_token"), "{text}");
    }
}

async fn wrong_key_fails_to_decrypt(ctx: Ctx) {
    let store = &ctx.store;
    let key = SecretKey::generate();
    let o = org(store, "wrong-key").await;
    let c = store.create_connector(o, &key, shop("main")).await.unwrap();
    let wrong = SecretKey::from_hex(&"ab".repeat(32)).unwrap();
    match store.connector_credentials(o, c.id, &wrong).await {
        Err(err @ StoreError::Decrypt { .. }) => {
            let message = err.to_string();
            assert!(message.contains("cannot decrypt"), "{message}");
            assert!(message.contains(&c.id.to_string()), "{message}");
            assert!(message.contains("wrong secret key"), "{message}");
        }
        other => panic!("expected Decrypt, got {other:?}"),
    }
    // The right key still works.
    assert!(
        store
            .connector_credentials(o, c.id, &key)
            .await
            .unwrap()
            .is_some()
    );
}

async fn other_organizations_see_nothing(ctx: Ctx) {
    let store = &ctx.store;
    let key = SecretKey::generate();
    let mine = org(store, "mine").await;
    let theirs = org(store, "theirs").await;
    let c = store
        .create_connector(mine, &key, shop("main"))
        .await
        .unwrap();

    assert_eq!(store.list_connectors(theirs).await.unwrap(), vec![]);
    assert_eq!(
        store
            .connector_credentials(theirs, c.id, &key)
            .await
            .unwrap(),
        None
    );
    assert!(!store.delete_connector(theirs, c.id).await.unwrap());
    assert!(
        !store
            .set_connector_status(theirs, c.id, "error", Some(ts(2024, 1, 1, 0, 0, 0)))
            .await
            .unwrap()
    );

    // Untouched for its owner.
    let listed = store.list_connectors(mine).await.unwrap();
    assert_eq!(listed, vec![c.clone()]);
    assert_eq!(
        store.connector_credentials(mine, c.id, &key).await.unwrap(),
        Some(shop("main").credentials)
    );
}

async fn ciphertext_moved_to_another_org_fails(ctx: Ctx) {
    let store = &ctx.store;
    let key = SecretKey::generate();
    let from = org(store, "from").await;
    let to = org(store, "to").await;
    let c = store
        .create_connector(from, &key, shop("main"))
        .await
        .unwrap();
    let moved = raw_execute(
        &ctx,
        "UPDATE connectors SET organization_id = \
         (SELECT id FROM organizations WHERE slug = 'to')",
    )
    .await;
    assert_eq!(moved, 1);
    assert_eq!(store.list_connectors(to).await.unwrap().len(), 1);
    match store.connector_credentials(to, c.id, &key).await {
        Err(StoreError::Decrypt { .. }) => {}
        other => panic!("expected Decrypt, got {other:?}"),
    }
}

async fn delete_connector_removes_it(ctx: Ctx) {
    let store = &ctx.store;
    let key = SecretKey::generate();
    let o = org(store, "delete").await;
    let a = store.create_connector(o, &key, shop("a")).await.unwrap();
    let b = store.create_connector(o, &key, shop("b")).await.unwrap();

    assert!(store.delete_connector(o, a.id).await.unwrap());
    assert!(!store.delete_connector(o, a.id).await.unwrap());
    assert!(!store.delete_connector(o, Uuid::now_v7()).await.unwrap());
    assert_eq!(store.list_connectors(o).await.unwrap(), vec![b.clone()]);
    assert_eq!(
        store.connector_credentials(o, a.id, &key).await.unwrap(),
        None
    );
    let left = raw_column::<Vec<u8>>(&ctx, "SELECT credentials_ciphertext FROM connectors").await;
    assert_eq!(left.len(), 1);
}

async fn status_updates(ctx: Ctx) {
    let store = &ctx.store;
    let key = SecretKey::generate();
    let o = org(store, "status").await;
    let c = store.create_connector(o, &key, shop("main")).await.unwrap();
    let other = store
        .create_connector(o, &key, shop("other"))
        .await
        .unwrap();

    let synced = ts(2024, 5, 6, 7, 8, 9);
    assert!(
        store
            .set_connector_status(o, c.id, "ok", Some(synced))
            .await
            .unwrap()
    );
    let listed = store.list_connectors(o).await.unwrap();
    assert_eq!(listed[0].status, "ok");
    assert_eq!(listed[0].last_sync_at, Some(synced));
    assert_eq!(listed[1], other);

    // `None` keeps the last sync time.
    assert!(
        store
            .set_connector_status(o, c.id, "error", None)
            .await
            .unwrap()
    );
    let listed = store.list_connectors(o).await.unwrap();
    assert_eq!(listed[0].status, "error");
    assert_eq!(listed[0].last_sync_at, Some(synced));

    let later = ts(2024, 5, 7, 0, 0, 0);
    assert!(
        store
            .set_connector_status(o, c.id, "ok", Some(later))
            .await
            .unwrap()
    );
    let listed = store.list_connectors(o).await.unwrap();
    assert_eq!(listed[0].last_sync_at, Some(later));
    // Everything else is unchanged, and the credentials still decrypt.
    assert_eq!(
        Connector {
            status: c.status.clone(),
            last_sync_at: None,
            ..listed[0].clone()
        },
        c
    );
    assert_eq!(
        store.connector_credentials(o, c.id, &key).await.unwrap(),
        Some(shop("main").credentials)
    );

    assert!(
        !store
            .set_connector_status(o, Uuid::now_v7(), "ok", None)
            .await
            .unwrap()
    );
}
