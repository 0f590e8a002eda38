//! Token storage behind one trait: the OS keychain, a 0600 file, or memory. Only the
//! primary token (and its refresh token) is ever stored; `NoEntry` is `Ok(None)`; deleting
//! a missing entry is fine; platform failures become stable, human messages.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::secret::{AccessToken, RefreshToken};

/// The service name of our keychain entries (one account per tenant host). Distinct from
/// the reference server's, so the two never overwrite each other.
pub const KEYCHAIN_SERVICE: &str = "aic-mcp-desktop";

/// The stored record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredToken {
    pub access_token: AccessToken,
    /// Epoch milliseconds.
    pub expires_at: i64,
    /// The tenant the token was issued by (`host[:port]`).
    pub aic_base_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshToken>,
    /// The login's admin, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// A storage failure, worded for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("The OS keychain is not available ({0}). On Linux a Secret Service (gnome-keyring or KeePassXC) must be running and unlocked; or set AIC_TOKEN_STORE=file.")]
    KeychainUnavailable(String),
    #[error("The keychain entry for this tenant is unreadable ({0}); it will be replaced at the next login.")]
    Corrupt(String),
    #[error("Token file {path}: {detail}")]
    File { path: String, detail: String },
}

/// Where the primary token lives between runs.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    async fn load(&self, tenant: &str) -> Result<Option<StoredToken>, StoreError>;
    async fn save(&self, token: &StoredToken) -> Result<(), StoreError>;
    async fn clear(&self, tenant: &str) -> Result<(), StoreError>;
    /// Which kind of store this is (status displays name it).
    fn kind(&self) -> StoreKind;
}

/// The kinds of token store, as the status reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// The OS keychain (Secret Service, macOS Keychain, Windows Credential Manager).
    Keychain,
    /// An owner-only file (container mode).
    File,
    /// Process memory: the sign-in is lost when the process ends.
    Memory,
}

/// The OS keychain through `keyring` (Secret Service on Linux). Every call runs on the
/// blocking pool: it may wait on D-Bus or an unlock prompt.
#[derive(Debug, Clone)]
pub struct KeychainStore {
    service: String,
}

impl Default for KeychainStore {
    fn default() -> Self {
        Self::new(KEYCHAIN_SERVICE)
    }
}

impl KeychainStore {
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_string(),
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        tenant: &str,
        f: impl FnOnce(keyring::Entry) -> Result<T, keyring::Error> + Send + 'static,
    ) -> Result<T, keyring::Error> {
        let service = self.service.clone();
        let account = tenant.to_string();
        tokio::task::spawn_blocking(move || {
            let entry = keyring::Entry::new(&service, &account)?;
            f(entry)
        })
        .await
        .map_err(|e| keyring::Error::Invalid("task".into(), e.to_string()))?
    }
}

fn keyring_message(e: &keyring::Error) -> String {
    match e {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            inner.to_string()
        }
        other => other.to_string(),
    }
}

#[async_trait::async_trait]
impl TokenStore for KeychainStore {
    async fn load(&self, tenant: &str) -> Result<Option<StoredToken>, StoreError> {
        match self.blocking(tenant, |e| e.get_password()).await {
            Ok(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(e.to_string())),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(keyring::Error::BadEncoding(_)) => Err(StoreError::Corrupt("not UTF-8".into())),
            Err(e) => Err(StoreError::KeychainUnavailable(keyring_message(&e))),
        }
    }

    async fn save(&self, token: &StoredToken) -> Result<(), StoreError> {
        let json = serde_json::to_string(token).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.blocking(&token.aic_base_url, move |e| e.set_password(&json))
            .await
            .map_err(|e| StoreError::KeychainUnavailable(keyring_message(&e)))
    }

    async fn clear(&self, tenant: &str) -> Result<(), StoreError> {
        match self.blocking(tenant, |e| e.delete_credential()).await {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(StoreError::KeychainUnavailable(keyring_message(&e))),
        }
    }

    fn kind(&self) -> StoreKind {
        StoreKind::Keychain
    }
}

/// The keychain account of the local HTTP endpoint's bearer (beside the tenant accounts).
pub const LOCAL_BEARER_ACCOUNT: &str = "local-http-bearer";

/// Where the local HTTP endpoint's bearer lives: the keychain for the desktop, memory in
/// tests. Generated once and reused, so the entry an assistant was given keeps working.
#[derive(Debug, Clone)]
pub enum BearerStore {
    Keychain(KeychainStore),
    Memory(std::sync::Arc<Mutex<Option<crate::secret::LocalBearer>>>),
}

impl BearerStore {
    pub fn memory() -> Self {
        Self::Memory(std::sync::Arc::new(Mutex::new(None)))
    }

    /// The stored bearer, or a new one from `generate` (saved first).
    pub async fn load_or_create(
        &self,
        generate: impl FnOnce() -> crate::secret::LocalBearer + Send + 'static,
    ) -> Result<crate::secret::LocalBearer, StoreError> {
        use crate::secret::LocalBearer;
        match self {
            Self::Memory(slot) => {
                let mut slot = slot
                    .lock()
                    .map_err(|_| StoreError::Corrupt("bearer lock".into()))?;
                Ok(slot.get_or_insert_with(generate).clone())
            }
            Self::Keychain(k) => {
                let found = k
                    .blocking(LOCAL_BEARER_ACCOUNT, |e| match e.get_password() {
                        Ok(p) => Ok(Some(p)),
                        Err(keyring::Error::NoEntry) => Ok(None),
                        Err(other) => Err(other),
                    })
                    .await
                    .map_err(|e| StoreError::KeychainUnavailable(keyring_message(&e)))?;
                if let Some(p) = found.filter(|p| p.len() >= 32) {
                    return Ok(LocalBearer::new(p));
                }
                let fresh = generate();
                let value = fresh.expose().to_string();
                k.blocking(LOCAL_BEARER_ACCOUNT, move |e| e.set_password(&value))
                    .await
                    .map_err(|e| StoreError::KeychainUnavailable(keyring_message(&e)))?;
                Ok(fresh)
            }
        }
    }
}

/// A JSON file only the user can read, for containers (`AIC_TOKEN_STORE=file`). Written
/// atomically with mode 0600 ([`crate::atomic`]; a missing folder is created 0700, an
/// existing one is left as it is). On load, a file that is not a regular file, that another
/// user owns, or that group or others can open is refused, never used.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    /// The uid the file must belong to: this process's effective uid.
    #[cfg(unix)]
    owner: u32,
}

impl FileStore {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            #[cfg(unix)]
            owner: rustix::process::geteuid().as_raw(),
        }
    }

    fn err(&self, detail: impl std::fmt::Display) -> StoreError {
        StoreError::File {
            path: self.path.display().to_string(),
            detail: detail.to_string(),
        }
    }

    /// The file's bytes, or `None` when there is no file; checked before it is read.
    fn read_checked(&self) -> Result<Option<Vec<u8>>, StoreError> {
        use std::io::Read;
        let mut file = match open_for_reading(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        // The checks look at the file actually opened (not at the path again).
        let meta = file.metadata().map_err(|e| self.err(e))?;
        if !meta.is_file() {
            return Err(self.err("is not a regular file; it was not used. Remove it"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if meta.uid() != self.owner {
                return Err(self.err(format!(
                    "belongs to uid {}, not to this user (uid {}); it was not used. Remove it \
                     and sign in again",
                    meta.uid(),
                    self.owner
                )));
            }
            let mode = meta.mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(self.err(format!(
                    "can be opened by group or others (mode {mode:04o}, must be 0600); it was \
                     not used. Run `chmod 600` on it or remove it"
                )));
            }
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| self.err(e))?;
        Ok(Some(bytes))
    }
}

/// Opens `path` for reading without blocking on a FIFO planted in its place.
fn open_for_reading(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    {
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(std::fs::File::from(fd))
    }
    #[cfg(not(unix))]
    {
        std::fs::File::open(path)
    }
}

#[async_trait::async_trait]
impl TokenStore for FileStore {
    async fn load(&self, tenant: &str) -> Result<Option<StoredToken>, StoreError> {
        let store = self.clone();
        let bytes = tokio::task::spawn_blocking(move || store.read_checked())
            .await
            .map_err(|e| self.err(e))??;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let token: StoredToken = serde_json::from_slice(&bytes).map_err(|e| self.err(e))?;
        // One file holds one tenant's token: another tenant's is not ours to use.
        Ok((token.aic_base_url == tenant).then_some(token))
    }

    async fn save(&self, token: &StoredToken) -> Result<(), StoreError> {
        let json = serde_json::to_string_pretty(token).map_err(|e| self.err(e))?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_private(&path, json.as_bytes()))
            .await
            .map_err(|e| self.err(e))?
            .map_err(|e| match e {
                // The folder's path is not the file's: keep the whole message.
                crate::atomic::AtomicError::CreateDir { .. } => self.err(e),
                other => self.err(other.io()),
            })
    }

    async fn clear(&self, _tenant: &str) -> Result<(), StoreError> {
        match tokio::fs::remove_file(&self.path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.err(e)),
        }
    }

    fn kind(&self) -> StoreKind {
        StoreKind::File
    }
}

/// Replaces `path` with `bytes`, mode 0600; a missing folder is created 0700.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), crate::atomic::AtomicError> {
    use crate::atomic::{self, Options};
    atomic::write(path, bytes, Options::private().create_dirs(0o700))
}

/// Process memory only; nothing survives a restart.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tokens: Mutex<std::collections::HashMap<String, StoredToken>>,
}

#[async_trait::async_trait]
impl TokenStore for MemoryStore {
    async fn load(&self, tenant: &str) -> Result<Option<StoredToken>, StoreError> {
        Ok(self
            .tokens
            .lock()
            .map(|m| m.get(tenant).cloned())
            .unwrap_or(None))
    }
    async fn save(&self, token: &StoredToken) -> Result<(), StoreError> {
        if let Ok(mut m) = self.tokens.lock() {
            m.insert(token.aic_base_url.clone(), token.clone());
        }
        Ok(())
    }
    async fn clear(&self, tenant: &str) -> Result<(), StoreError> {
        if let Ok(mut m) = self.tokens.lock() {
            m.remove(tenant);
        }
        Ok(())
    }
    fn kind(&self) -> StoreKind {
        StoreKind::Memory
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(tenant: &str) -> StoredToken {
        StoredToken {
            access_token: AccessToken::new("at-123"),
            expires_at: 1_000,
            aic_base_url: tenant.into(),
            refresh_token: Some(RefreshToken::new("rt-456")),
            subject: None,
        }
    }

    #[tokio::test]
    async fn file_store_is_private_atomic_and_tenant_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens").join("token.json");
        let store = FileStore::new(path.clone());
        assert_eq!(store.load("a.example.com").await, Ok(None));
        store.save(&token("a.example.com")).await.expect("save");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let dmode = std::fs::metadata(path.parent().expect("dir"))
                .expect("meta")
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(dmode, 0o700);
        }
        assert_eq!(
            store.load("a.example.com").await,
            Ok(Some(token("a.example.com")))
        );
        assert_eq!(
            store.load("b.example.com").await,
            Ok(None),
            "tenant isolation"
        );
        store.clear("a.example.com").await.expect("clear");
        assert!(!path.exists());
        store
            .clear("a.example.com")
            .await
            .expect("clearing twice is fine");
    }

    #[cfg(unix)]
    fn mode(path: &std::path::Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(path)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn file_store_never_writes_through_a_planted_link_nor_chmods_an_existing_folder() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("shared");
        std::fs::create_dir(&folder).expect("mkdir");
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").expect("write");
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        // The name the token was once staged under, predictable to anyone who can write here.
        std::os::unix::fs::symlink(&victim, folder.join(".token.json.tmp")).expect("symlink");
        let path = folder.join("token.json");
        let store = FileStore::new(path.clone());
        store.save(&token("a.example.com")).await.expect("save");
        assert_eq!(std::fs::read(&victim).expect("read"), b"keep me");
        assert_eq!(mode(&victim), 0o644);
        assert!(std::fs::symlink_metadata(&path).expect("meta").is_file());
        assert_eq!(mode(&path), 0o600);
        assert_eq!(
            mode(&folder),
            0o755,
            "a folder we did not create keeps its mode"
        );
        assert_eq!(
            store.load("a.example.com").await,
            Ok(Some(token("a.example.com")))
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn file_store_refuses_a_token_file_group_or_others_can_open() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token.json");
        let store = FileStore::new(path.clone());
        store.save(&token("a.example.com")).await.expect("save");
        for bad in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bad)).expect("chmod");
            let err = store.load("a.example.com").await.expect_err("refused");
            assert_eq!(
                err.to_string(),
                format!(
                    "Token file {}: can be opened by group or others (mode {bad:04o}, must be \
                     0600); it was not used. Run `chmod 600` on it or remove it",
                    path.display()
                )
            );
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(store.load("a.example.com").await.expect("load").is_some());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn file_store_refuses_a_token_file_another_user_owns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token.json");
        let mut store = FileStore::new(path.clone());
        store.save(&token("a.example.com")).await.expect("save");
        let ours = store.owner;
        let other = ours.wrapping_add(4242);
        if ours == 0 {
            // As root: a real file of another uid.
            std::os::unix::fs::chown(&path, Some(other), None).expect("chown");
        } else {
            // Without root no file can be given away: expect another owner instead.
            store.owner = other;
        }
        let owner = if ours == 0 { other } else { ours };
        let err = store.load("a.example.com").await.expect_err("refused");
        assert_eq!(
            err.to_string(),
            format!(
                "Token file {}: belongs to uid {owner}, not to this user (uid {}); it was not \
                 used. Remove it and sign in again",
                path.display(),
                store.owner
            )
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn file_store_refuses_something_other_than_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token.json");
        std::fs::create_dir(&path).expect("mkdir");
        let err = FileStore::new(path.clone())
            .load("a.example.com")
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("is not a regular file"), "{err}");
    }

    #[tokio::test]
    async fn stored_record_uses_the_reference_field_names() {
        let json = serde_json::to_value(token("h")).expect("json");
        assert_eq!(json["accessToken"], "at-123");
        assert_eq!(json["expiresAt"], 1000);
        assert_eq!(json["aicBaseUrl"], "h");
    }

    #[tokio::test]
    async fn memory_store_round_trips() {
        let s = MemoryStore::default();
        s.save(&token("h")).await.expect("save");
        assert!(s.load("h").await.expect("load").is_some());
        assert!(s.load("other").await.expect("load").is_none());
        s.clear("h").await.expect("clear");
        assert!(s.load("h").await.expect("load").is_none());
    }
}
