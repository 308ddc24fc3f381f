//! OAuth 2 authorizations in progress: a person asked to connect an account and was sent to
//! the platform; the platform sends them back with a code and the `state`. The state is a
//! 256-bit secret stored only as its SHA-256, good once and for [`AUTHORIZATION_TTL`]; the
//! PKCE verifier is sealed to the row.

use super::entity::oauth_authorization;
use super::identity::{new_secret, secret_digest};
use super::{Store, Tenant, map_db_err, now};
use crate::domain::{PlatformId, Zone, new_id};
use crate::{Invalid, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

/// How long a person has to finish at the platform.
pub const AUTHORIZATION_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// What a person asked to connect, kept until the platform sends them back.
#[derive(Debug, Clone)]
pub struct NewAuthorization {
    pub brand_id: Uuid,
    pub user_id: Uuid,
    pub platform: String,
    pub redirect_uri: String,
    /// The PKCE code verifier (sealed at rest).
    pub verifier: String,
    pub handle: String,
    pub remote_id: String,
    pub display_name: Option<String>,
    pub timezone: String,
}

/// An authorization taken back by its `state`: it cannot be taken again.
#[derive(Debug, Clone)]
pub struct TakenAuthorization {
    pub row: oauth_authorization::Model,
    pub verifier: String,
}

pub struct Authorizations<'a> {
    pub(super) t: Tenant<'a>,
}

impl Authorizations<'_> {
    /// Records an authorization and answers its `state` (the secret to send to the platform).
    pub async fn begin(&self, new: NewAuthorization) -> Result<(String, DateTime<Utc>), StoreError> {
        let platform = PlatformId::parse(&new.platform)?;
        let zone = Zone::parse("account.timezone", &new.timezone)?;
        for (field, v) in [("account.handle", &new.handle), ("account.remote_id", &new.remote_id)] {
            if v.trim().is_empty() || v.len() > 200 {
                return Err(Invalid::new(field, "must be 1-200 characters").into());
            }
        }
        self.t.brands().get(new.brand_id).await?;
        let id = new_id();
        let state = new_secret("");
        let at = now();
        let expires_at = at + AUTHORIZATION_TTL;
        oauth_authorization::ActiveModel {
            id: Set(id),
            workspace_id: Set(self.t.workspace_id),
            brand_id: Set(new.brand_id),
            user_id: Set(new.user_id),
            state_hash: Set(secret_digest(&state)),
            platform: Set(platform.to_string()),
            redirect_uri: Set(new.redirect_uri),
            verifier: Set(self.t.store.key.seal(id, new.verifier.as_bytes())?),
            handle: Set(new.handle.trim().to_owned()),
            remote_id: Set(new.remote_id.trim().to_owned()),
            display_name: Set(new.display_name),
            timezone: Set(zone.to_string()),
            created_at: Set(at),
            expires_at: Set(expires_at),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("OAuth authorization", e))?;
        Ok((state, expires_at))
    }
}

impl Store {
    /// Deletes authorizations that expired before `at` (nobody finished them).
    pub async fn sweep_authorizations(&self, at: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(oauth_authorization::Entity::delete_many()
            .filter(oauth_authorization::Column::ExpiresAt.lt(at))
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    /// Takes the authorization `state` names, once: a second take of the same state, or a
    /// state never issued, finds nothing. Expired ones are taken too (and deleted); the
    /// caller refuses them by `expires_at`.
    pub async fn take_authorization(&self, state: &str) -> Result<Option<TakenAuthorization>, StoreError> {
        let Some(row) = oauth_authorization::Entity::find()
            .filter(oauth_authorization::Column::StateHash.eq(secret_digest(state)))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        // Whoever deletes the row owns it: two callbacks racing with one state get one row.
        let gone = oauth_authorization::Entity::delete_by_id(row.id)
            .exec(&self.db)
            .await?
            .rows_affected;
        if gone != 1 {
            return Ok(None);
        }
        let verifier = String::from_utf8(self.key.open(row.id, &row.verifier)?).map_err(|e| StoreError::Crypto {
            action: "opened",
            reason: e.to_string(),
        })?;
        Ok(Some(TakenAuthorization { row, verifier }))
    }
}
