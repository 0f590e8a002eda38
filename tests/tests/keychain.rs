//! The real Secret Service (gnome-keyring in a dbus session): the keychain store saves,
//! loads and clears one entry per tenant; a missing entry is `None`; deleting twice is
//! fine. Runs where a session bus is present; in CI (`CI=true`) it must run.

use aic_mcp_core::auth::{KeychainStore, StoredToken, TokenStore};
use aic_mcp_core::secret::{AccessToken, RefreshToken};

fn available() -> bool {
    let present = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some();
    if !present && aic_mcp_tests::required() {
        panic!("CI must run the keychain tests inside a dbus session with gnome-keyring unlocked");
    }
    present
}

#[tokio::test]
async fn keychain_round_trip_per_tenant() {
    if !available() {
        eprintln!("skipped: no session bus");
        return;
    }
    let store = KeychainStore::new("aic-mcp-desktop-test");
    let tenant = format!("tenant-{}.example.com", uuid::Uuid::new_v4());
    let other = format!("other-{}.example.com", uuid::Uuid::new_v4());
    assert_eq!(store.load(&tenant).await, Ok(None), "no entry yet");
    let token = StoredToken {
        access_token: AccessToken::new(format!("at-{}", uuid::Uuid::new_v4())),
        expires_at: 4_102_444_800_000,
        aic_base_url: tenant.clone(),
        refresh_token: Some(RefreshToken::new("rt-keychain")),
        subject: None,
    };
    store
        .save(&token)
        .await
        .expect("save to the Secret Service");
    assert_eq!(store.load(&tenant).await, Ok(Some(token.clone())));
    assert_eq!(store.load(&other).await, Ok(None), "one account per tenant");
    // Overwrite in place.
    let mut newer = token.clone();
    newer.access_token = AccessToken::new("at-newer");
    store.save(&newer).await.expect("overwrite");
    assert_eq!(
        store
            .load(&tenant)
            .await
            .expect("load")
            .map(|t| t.access_token),
        Some(AccessToken::new("at-newer"))
    );
    store.clear(&tenant).await.expect("clear");
    assert_eq!(store.load(&tenant).await, Ok(None));
    store
        .clear(&tenant)
        .await
        .expect("clearing a missing entry is fine");
}
