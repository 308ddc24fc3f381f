//! Signed, expiring media URLs: `/media/{asset}?exp={unix seconds}&sig={hex}`.
//!
//! Platforms that pull media (Instagram containers, TikTok's `PULL_FROM_URL`, Pinterest's
//! `image_url`) fetch it from Chorus. The signature is HMAC-SHA256, with a key derived
//! from the instance's secret key, over the asset id and the expiry; without the key no one
//! can make or stretch a URL, and a URL stops working at its expiry. Comparisons are in
//! constant time (`hmac`'s `verify_slice`).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// How long a URL handed to a plugin stays valid: the call, the platform's fetch (which
/// Instagram and TikTok may do minutes later) and a margin.
pub const DEFAULT_URL_LIFETIME: std::time::Duration = std::time::Duration::from_secs(2 * 60 * 60);

/// Makes and checks media URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: [u8; 32],
    /// Where Chorus is reachable from the platforms, e.g. `https://chorus.example.com`.
    public_base: String,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UrlSigner({})", self.public_base)
    }
}

/// Why a media URL was refused (the server answers 403 to each, with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("the media URL expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("the media URL's signature does not match")]
    BadSignature,
    #[error("the media URL has no valid `exp` and `sig`")]
    Malformed,
}

impl UrlSigner {
    pub fn new(secret: &crate::secrets::SecretKey, public_base: &str) -> Self {
        Self {
            key: secret.derive("media-url"),
            public_base: public_base.trim_end_matches('/').to_owned(),
        }
    }

    pub fn public_base(&self) -> &str {
        &self.public_base
    }

    /// The URL of `asset`, valid until `expires`.
    pub fn url(&self, asset: Uuid, expires: DateTime<Utc>) -> String {
        let exp = expires.timestamp();
        format!(
            "{}/media/{asset}?exp={exp}&sig={}",
            self.public_base,
            self.sign(asset, exp)
        )
    }

    /// Checks the `exp` and `sig` of a request for `asset` at `now`.
    pub fn check(
        &self,
        asset: Uuid,
        exp: Option<&str>,
        sig: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), UrlRefused> {
        let exp: i64 = exp.and_then(|e| e.parse().ok()).ok_or(UrlRefused::Malformed)?;
        let sig = sig.and_then(|s| hex::decode(s).ok()).ok_or(UrlRefused::Malformed)?;
        self.mac(asset, exp)
            .verify_slice(&sig)
            .map_err(|_| UrlRefused::BadSignature)?;
        let expires = DateTime::from_timestamp(exp, 0).ok_or(UrlRefused::Malformed)?;
        if now >= expires {
            return Err(UrlRefused::Expired(expires));
        }
        Ok(())
    }

    fn sign(&self, asset: Uuid, exp: i64) -> String {
        hex::encode(self.mac(asset, exp).finalize().into_bytes())
    }

    fn mac(&self, asset: Uuid, exp: i64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(asset.as_bytes());
        mac.update(&exp.to_be_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> UrlSigner {
        UrlSigner::new(&crate::secrets::SecretKey::generate(), "http://127.0.0.1:8080/")
    }

    fn parts(url: &str) -> (String, String) {
        let q = url::Url::parse(url).unwrap();
        let get = |k: &str| q.query_pairs().find(|(n, _)| n == k).unwrap().1.into_owned();
        (get("exp"), get("sig"))
    }

    #[test]
    fn a_fresh_url_passes_and_names_the_asset_under_the_base() {
        let s = signer();
        let id = Uuid::now_v7();
        let url = s.url(id, Utc::now() + chrono::Duration::minutes(5));
        assert!(
            url.starts_with(&format!("http://127.0.0.1:8080/media/{id}?exp=")),
            "{url}"
        );
        let (exp, sig) = parts(&url);
        assert_eq!(s.check(id, Some(&exp), Some(&sig), Utc::now()), Ok(()));
    }

    #[test]
    fn expired_tampered_or_foreign_urls_are_refused() {
        let s = signer();
        let id = Uuid::now_v7();
        let expires = Utc::now() + chrono::Duration::minutes(5);
        let (exp, sig) = parts(&s.url(id, expires));
        let later = expires + chrono::Duration::seconds(1);
        assert!(matches!(
            s.check(id, Some(&exp), Some(&sig), later),
            Err(UrlRefused::Expired(_))
        ));
        // A stretched expiry, another asset, a flipped signature byte, another instance.
        let stretched = (expires.timestamp() + 3600).to_string();
        assert_eq!(
            s.check(id, Some(&stretched), Some(&sig), Utc::now()),
            Err(UrlRefused::BadSignature)
        );
        assert_eq!(
            s.check(Uuid::now_v7(), Some(&exp), Some(&sig), Utc::now()),
            Err(UrlRefused::BadSignature)
        );
        let mut flipped = sig.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            s.check(id, Some(&exp), Some(&flipped), Utc::now()),
            Err(UrlRefused::BadSignature)
        );
        assert_eq!(
            signer().check(id, Some(&exp), Some(&sig), Utc::now()),
            Err(UrlRefused::BadSignature)
        );
        assert_eq!(s.check(id, None, Some(&sig), Utc::now()), Err(UrlRefused::Malformed));
        assert_eq!(
            s.check(id, Some(&exp), Some("zz"), Utc::now()),
            Err(UrlRefused::Malformed)
        );
    }
}
