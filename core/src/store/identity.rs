//! Who is calling: passwords, browser sessions and API tokens.
//!
//! Secrets (session cookies, API tokens) are 256 random bits shown once; the database keeps
//! only their SHA-256, so a dump or a backup cannot be replayed as a login. Passwords are
//! argon2id hashes in PHC format. Looking a secret up happens before the caller's workspace
//! is known, so it lives here rather than behind [`super::Tenant`]; what the caller may then
//! reach is decided by its memberships (or the token's own scope).

use super::entity::{api_token, membership, session, user};
use super::{Tenant, map_db_err, now};
use crate::domain::{Role, new_id};
use crate::{Invalid, StoreError};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The shortest password accepted (NIST SP 800-63B asks for at least 8; a manager's
/// password guards every client's accounts).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longer passwords are refused so hashing cannot be used to burn CPU.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Every API token starts with this, so secret scanners and people recognise it.
pub const TOKEN_PREFIX: &str = "chorus_";

pub struct Identity<'a> {
    pub(crate) db: &'a DatabaseConnection,
}

/// A session just opened: the cookie's secret and the CSRF token are shown only now.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    pub secret: String,
    pub csrf_token: String,
    pub session: session::Model,
}

/// A signed-in browser: its session and its user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: session::Model,
    pub user: user::Model,
}

/// An API token just created: the secret is shown only now.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub secret: String,
    pub token: api_token::Model,
}

/// What a new API token may do.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub user_id: Uuid,
    pub name: String,
    pub role: Role,
    /// Limits the token to one brand of the workspace.
    pub brand_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// 256 random bits, URL-safe, after `prefix`.
pub(crate) fn new_secret(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// A random password of 24 URL-safe characters (144 bits), for accounts a program makes.
pub fn generated_password() -> String {
    new_secret("").chars().take(24).collect()
}

/// What the database stores of a secret.
pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn hasher() -> argon2::Argon2<'static> {
    // OWASP's first argon2id choice: 19 MiB, 2 passes, 1 lane.
    let params = argon2::Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Hashes a password (argon2id, random salt, PHC string), after checking its length.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(Invalid::new(
            "password",
            format!("is {chars} characters long; use at least {MIN_PASSWORD_CHARS} (a few words make a good one)"),
        )
        .into());
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Invalid::new("password", format!("is longer than {MAX_PASSWORD_BYTES} bytes")).into());
    }
    let salt: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Crypto {
        action: "hashed",
        reason: e.to_string(),
    })?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Crypto {
            action: "hashed",
            reason: e.to_string(),
        })
}

fn password_matches(phc: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| hasher().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the e-mail is unknown, so a miss takes as long as a wrong
/// password and response times do not reveal who has an account.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing").unwrap_or_default())
}

impl Identity<'_> {
    /// Sets (or replaces) a user's password and signs out their other sessions.
    pub async fn set_password(&self, user_id: Uuid, password: &str) -> Result<(), StoreError> {
        let hash = hash_password(password)?;
        let user = user::Entity::find_by_id(user_id)
            .one(self.db)
            .await?
            .ok_or_else(|| StoreError::not_found("user", user_id))?;
        let mut am: user::ActiveModel = user.into();
        am.password_hash = Set(Some(hash));
        am.updated_at = Set(now());
        am.update(self.db).await.map_err(|e| map_db_err("user", e))?;
        session::Entity::delete_many()
            .filter(session::Column::UserId.eq(user_id))
            .exec(self.db)
            .await?;
        Ok(())
    }

    /// The user with this e-mail and password, or `None` (unknown e-mail, no password set,
    /// or a wrong one: the caller cannot tell which).
    pub async fn check_password(&self, email: &str, password: &str) -> Result<Option<user::Model>, StoreError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(None);
        }
        let user = user::Entity::find()
            .filter(user::Column::Email.eq(email.trim().to_lowercase()))
            .one(self.db)
            .await?;
        let phc = user.as_ref().and_then(|u| u.password_hash.clone());
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || match phc {
            Some(phc) => password_matches(&phc, &password),
            None => {
                password_matches(decoy_hash(), &password);
                false
            }
        })
        .await
        .unwrap_or(false);
        Ok(if ok { user } else { None })
    }

    /// Whether anyone can sign in yet (first start offers a setup link until someone can).
    pub async fn has_users(&self) -> Result<bool, StoreError> {
        Ok(user::Entity::find()
            .filter(user::Column::PasswordHash.is_not_null())
            .one(self.db)
            .await?
            .is_some())
    }

    /// Opens a session for `user_id`, valid for `ttl`.
    pub async fn open_session(&self, user_id: Uuid, ttl: chrono::Duration) -> Result<OpenedSession, StoreError> {
        let secret = new_secret("");
        let csrf_token = new_secret("");
        let at = now();
        let session = session::ActiveModel {
            id: Set(new_id()),
            user_id: Set(user_id),
            secret_hash: Set(secret_digest(&secret)),
            csrf_token: Set(secret_digest(&csrf_token)),
            created_at: Set(at),
            expires_at: Set(at + ttl),
            last_seen_at: Set(at),
        }
        .insert(self.db)
        .await
        .map_err(|e| map_db_err("session", e))?;
        Ok(OpenedSession {
            secret,
            csrf_token,
            session,
        })
    }

    /// Deletes sessions that expired before `at` (they already sign nobody in).
    pub async fn sweep_sessions(&self, at: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lt(at))
            .exec(self.db)
            .await?
            .rows_affected)
    }

    /// The live session a cookie's secret names, with its user.
    pub async fn session(&self, secret: &str) -> Result<Option<SignedIn>, StoreError> {
        let Some(session) = session::Entity::find()
            .filter(session::Column::SecretHash.eq(secret_digest(secret)))
            .filter(session::Column::ExpiresAt.gt(now()))
            .one(self.db)
            .await?
        else {
            return Ok(None);
        };
        let user = user::Entity::find_by_id(session.user_id).one(self.db).await?;
        Ok(user.map(|user| SignedIn { session, user }))
    }

    /// Ends the session a cookie's secret names (signing out); unknown secrets are ignored.
    pub async fn close_session(&self, secret: &str) -> Result<(), StoreError> {
        session::Entity::delete_many()
            .filter(session::Column::SecretHash.eq(secret_digest(secret)))
            .exec(self.db)
            .await?;
        Ok(())
    }

    /// Every membership of a user, across workspaces.
    pub async fn memberships(&self, user_id: Uuid) -> Result<Vec<membership::Model>, StoreError> {
        Ok(membership::Entity::find()
            .filter(membership::Column::UserId.eq(user_id))
            .order_by_asc(membership::Column::CreatedAt)
            .all(self.db)
            .await?)
    }

    /// The live token a bearer secret names (not revoked, not expired), noting its use.
    pub async fn token(&self, secret: &str) -> Result<Option<api_token::Model>, StoreError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let at = now();
        let Some(token) = api_token::Entity::find()
            .filter(api_token::Column::SecretHash.eq(secret_digest(secret)))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(self.db)
            .await?
        else {
            return Ok(None);
        };
        if token.expires_at.is_some_and(|e| e <= at) {
            return Ok(None);
        }
        // Noted at most once a minute, so a busy integration does not write on every call.
        if token.last_used_at.is_none_or(|u| at - u > chrono::Duration::minutes(1)) {
            api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, sea_orm::sea_query::Expr::value(at))
                .filter(api_token::Column::Id.eq(token.id))
                .exec(self.db)
                .await?;
        }
        Ok(Some(token))
    }
}

/// A workspace's API tokens.
pub struct ApiTokens<'a> {
    pub(crate) t: Tenant<'a>,
}

impl ApiTokens<'_> {
    /// Issues a token for `new.user_id`, who must hold a role in the workspace (or the
    /// brand) that covers the token's role.
    pub async fn issue(&self, new: NewToken) -> Result<IssuedToken, StoreError> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Invalid::new(
                "name",
                "name the token (1-200 characters), e.g. the integration using it",
            )
            .into());
        }
        let held = self.t.memberships().role_for(new.user_id, new.brand_id).await?;
        if let Some(b) = new.brand_id {
            self.t.brands().get(b).await?;
        }
        match held {
            Some(r) if r.covers(new.role) => {}
            Some(r) => {
                return Err(Invalid::new(
                    "role",
                    format!(
                        "a token cannot do more than its user: you are {}, the token asks for {}",
                        r.as_str(),
                        new.role.as_str()
                    ),
                )
                .into());
            }
            None => return Err(StoreError::not_found("membership", new.user_id)),
        }
        if let Some(at) = new.expires_at
            && at <= now()
        {
            return Err(Invalid::new(
                "expires_at",
                format!("{at} has passed: a token must expire in the future (or leave expires_at out)"),
            )
            .into());
        }
        let secret = new_secret(TOKEN_PREFIX);
        let token = api_token::ActiveModel {
            id: Set(new_id()),
            workspace_id: Set(self.t.workspace_id),
            user_id: Set(new.user_id),
            brand_id: Set(new.brand_id),
            name: Set(name.to_owned()),
            role: Set(new.role),
            prefix: Set(secret.chars().take(12).collect()),
            secret_hash: Set(secret_digest(&secret)),
            created_at: Set(now()),
            last_used_at: Set(None),
            expires_at: Set(new.expires_at),
            revoked_at: Set(None),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("API token", e))?;
        Ok(IssuedToken { secret, token })
    }

    pub async fn list(&self) -> Result<Vec<api_token::Model>, StoreError> {
        Ok(self
            .t
            .select::<api_token::Entity>()
            .order_by_asc(api_token::Column::CreatedAt)
            .all(self.t.db())
            .await?)
    }

    /// Revokes a token at once; revoking twice is harmless.
    pub async fn revoke(&self, id: Uuid) -> Result<api_token::Model, StoreError> {
        let token = self.t.get::<api_token::Entity>(id).await?;
        if token.revoked_at.is_some() {
            return Ok(token);
        }
        let mut am: api_token::ActiveModel = token.into();
        am.revoked_at = Set(Some(now()));
        am.update(self.t.db()).await.map_err(|e| map_db_err("API token", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(password_matches(&h, "correct horse battery"));
        assert!(!password_matches(&h, "correct horse battery!"));
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn short_passwords_are_refused_with_the_rule() {
        let e = hash_password("short").unwrap_err().to_string();
        assert!(e.contains("password") && e.contains("at least 12"), "{e}");
    }

    #[test]
    fn secrets_are_random_and_stored_as_digests() {
        let (a, b) = (new_secret(TOKEN_PREFIX), new_secret(TOKEN_PREFIX));
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 43);
        assert_eq!(secret_digest(&a).len(), 64);
        assert!(!secret_digest(&a).contains(&a[TOKEN_PREFIX.len()..]));
    }

    #[test]
    fn roles_never_delegate_more_than_they_hold() {
        assert!(Role::Owner.covers(Role::Owner));
        assert!(!Role::Admin.covers(Role::Owner));
        assert!(Role::Editor.covers(Role::Viewer));
        assert!(!Role::Editor.covers(Role::Admin));
        assert!(!Role::ClientApprover.covers(Role::Editor));
        assert!(!Role::Viewer.covers(Role::ClientApprover));
    }
}
