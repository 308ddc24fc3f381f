//! Sealing of platform credentials at rest.
//!
//! Access and refresh tokens are encrypted with XChaCha20-Poly1305 before they reach the
//! database, bound to the account row they belong to (the row id is the associated data,
//! so a sealed blob copied onto another account does not open). The key is 32 random bytes:
//! from `CHORUS_SECRET_KEY` (hex) when several processes share one database, else from a
//! file in the data directory created on first run with owner-only permissions.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use uuid::Uuid;

use crate::StoreError;

const NONCE_LEN: usize = 24;
/// First byte of every sealed blob: lets a later key-rotation scheme tell formats apart.
const FORMAT_V1: u8 = 1;

/// The key credentials are sealed with.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{origin} must be 64 hexadecimal characters (32 bytes); {reason}")]
    Malformed { origin: String, reason: String },
    #[error("cannot read or create the secret key file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl SecretKey {
    /// A key for one purpose (`"media-url"`), derived from this one (HMAC-SHA256 as a PRF):
    /// a signature made with it never doubles as a sealing key, or as another purpose's.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"chorus key derivation v1\0");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill(&mut k);
        Self(k)
    }

    /// Parses a hex key; `origin` names where it came from, for the error message.
    pub fn from_hex(origin: &str, hex_key: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|e| KeyError::Malformed {
            origin: origin.into(),
            reason: e.to_string(),
        })?;
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| KeyError::Malformed {
            origin: origin.into(),
            reason: format!("got {} bytes", b.len()),
        })?;
        Ok(Self(key))
    }

    /// Reads the key file, creating it (mode 0600) with a fresh key if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&path.display().to_string(), &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                let mut file = opts.open(path).map_err(io)?;
                std::io::Write::write_all(&mut file, hex::encode(key.0).as_bytes()).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Encrypts `plain` for the row `owner`.
    pub fn seal(&self, owner: Uuid, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill(&mut nonce);
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Crypto {
                action: "sealed",
                reason: "encryption failed".into(),
            })?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts a blob sealed for `owner`; fails if the key or the owner differ.
    pub fn open(&self, owner: Uuid, blob: &[u8]) -> Result<Vec<u8>, StoreError> {
        let bad = |reason: &str| StoreError::Crypto {
            action: "opened",
            reason: reason.into(),
        };
        if blob.len() < 1 + NONCE_LEN || blob[0] != FORMAT_V1 {
            return Err(bad("unknown format (not sealed by this version of Chorus)"));
        }
        let (nonce, sealed) = blob[1..].split_at(NONCE_LEN);
        XChaCha20Poly1305::new((&self.0).into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| bad("wrong key, or sealed for another account"))
    }
}

/// The secrets that let Chorus act for one social account. Never logged, never handed to
/// a plugin: the host injects the token into the plugin's HTTP requests itself.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// An app password, for platforms that sign in with one (`describe`'s `session`): the
    /// host opens a new session with it when the refresh token is refused.
    #[serde(default)]
    pub app_password: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "<redacted>"))
            .field("expires_at", &self.expires_at)
            .field("app_password", &self.app_password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_credentials_open_only_for_their_owner_and_key() {
        let key = SecretKey::generate();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let blob = key.seal(a, b"token-123").unwrap();
        assert!(!blob.windows(9).any(|w| w == b"token-123"), "plaintext must not appear");
        assert_eq!(key.open(a, &blob).unwrap(), b"token-123");
        assert!(key.open(b, &blob).is_err());
        assert!(SecretKey::generate().open(a, &blob).is_err());
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("chorus-key-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret.key");
        let k1 = SecretKey::load_or_create(&path).unwrap();
        let k2 = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(k1.0, k2.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn malformed_hex_key_names_its_origin() {
        let err = SecretKey::from_hex("CHORUS_SECRET_KEY", "abcd").unwrap_err();
        assert!(err.to_string().contains("CHORUS_SECRET_KEY"));
        assert!(err.to_string().contains("64 hexadecimal"));
    }

    #[test]
    fn debug_output_redacts_tokens() {
        let c = Credentials {
            access_token: "s3cret".into(),
            refresh_token: Some("r3fresh".into()),
            expires_at: None,
            app_password: None,
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("r3fresh"));
    }
}
