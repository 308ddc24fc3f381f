//! Social accounts and their sealed credentials.

use super::entity::{StringList, social_account};
use super::{Tenant, map_db_err, now};
use crate::domain::{AccountStatus, PlatformId, Zone, new_id};
use crate::secrets::Credentials;
use crate::{Invalid, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

pub struct Accounts<'a> {
    pub(crate) t: Tenant<'a>,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub brand_id: Uuid,
    pub platform: String,
    pub handle: String,
    pub remote_id: String,
    pub display_name: Option<String>,
    pub timezone: String,
    pub scopes: Vec<String>,
    pub credentials: Credentials,
    /// The account's own server on a federated platform (`https://fosstodon.org`); the
    /// plugin's manifest must declare `account_api_base` for calls to use it.
    pub api_base: Option<String>,
}

impl Accounts<'_> {
    /// Connects an account: stores it with its credentials sealed, status `connected`.
    pub async fn connect(&self, new: NewAccount) -> Result<social_account::Model, StoreError> {
        let platform = PlatformId::parse(&new.platform)?;
        let zone = Zone::parse("account.timezone", &new.timezone)?;
        for (field, v) in [("account.handle", &new.handle), ("account.remote_id", &new.remote_id)] {
            if v.trim().is_empty() || v.len() > 200 {
                return Err(Invalid::new(field, "must be 1-200 characters").into());
            }
        }
        let api_base = new.api_base.as_deref().map(account_server).transpose()?;
        self.t.brands().get(new.brand_id).await?;
        let id = new_id();
        let sealed = self.seal(id, &new.credentials)?;
        let at = now();
        social_account::ActiveModel {
            id: Set(id),
            workspace_id: Set(self.t.workspace_id),
            brand_id: Set(new.brand_id),
            platform: Set(platform.to_string()),
            handle: Set(new.handle.trim().to_owned()),
            remote_id: Set(new.remote_id.trim().to_owned()),
            display_name: Set(new.display_name),
            timezone: Set(zone.to_string()),
            api_base: Set(api_base),
            status: Set(AccountStatus::Connected),
            credentials: Set(Some(sealed)),
            credentials_expire_at: Set(new.credentials.expires_at),
            scopes: Set(StringList(new.scopes)),
            refresh_holder: Set(None),
            refresh_until: Set(None),
            paused_until: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("social account", e))
    }

    pub async fn get(&self, id: Uuid) -> Result<social_account::Model, StoreError> {
        self.t.get::<social_account::Entity>(id).await
    }

    /// Every account of the workspace, by brand then platform.
    pub async fn list(&self) -> Result<Vec<social_account::Model>, StoreError> {
        Ok(self
            .t
            .select::<social_account::Entity>()
            .order_by_asc(social_account::Column::BrandId)
            .order_by_asc(social_account::Column::Platform)
            .all(self.t.db())
            .await?)
    }

    pub async fn list_for_brand(&self, brand_id: Uuid) -> Result<Vec<social_account::Model>, StoreError> {
        Ok(self
            .t
            .select::<social_account::Entity>()
            .filter(social_account::Column::BrandId.eq(brand_id))
            .order_by_asc(social_account::Column::Platform)
            .all(self.t.db())
            .await?)
    }

    /// Opens the account's credentials: for the host's HTTP layer only.
    pub async fn credentials(&self, id: Uuid) -> Result<Credentials, StoreError> {
        self.open(&self.get(id).await?)
    }

    /// Opens the credentials of an account row already read (no second query).
    pub fn open(&self, account: &social_account::Model) -> Result<Credentials, StoreError> {
        let id = account.id;
        let blob = account.credentials.as_ref().ok_or_else(|| StoreError::Crypto {
            action: "opened",
            reason: format!("account {id} has no stored credentials; reconnect it"),
        })?;
        let plain = self.t.store.key.open(id, blob)?;
        serde_json::from_slice(&plain).map_err(|e| StoreError::Crypto {
            action: "opened",
            reason: e.to_string(),
        })
    }

    /// Replaces the credentials (after a token refresh or a reconnect) and marks the
    /// account connected again. Deliveries held while it waited for a person go out now,
    /// not at their next look.
    pub async fn set_credentials(&self, id: Uuid, creds: &Credentials) -> Result<(), StoreError> {
        let account = self.get(id).await?;
        let was = account.status;
        let mut am: social_account::ActiveModel = account.into();
        am.credentials = Set(Some(self.seal(id, creds)?));
        am.credentials_expire_at = Set(creds.expires_at);
        am.status = Set(AccountStatus::Connected);
        am.updated_at = Set(now());
        am.update(self.t.db()).await?;
        if was != AccountStatus::Connected {
            self.release_held(id).await?;
        }
        Ok(())
    }

    /// Makes the account's held deliveries (`crate::store::queue::HELD`) due now.
    async fn release_held(&self, id: Uuid) -> Result<u64, StoreError> {
        use crate::domain::DeliveryStatus;
        use crate::store::entity::delivery;
        let at = now();
        let res = delivery::Entity::update_many()
            .col_expr(delivery::Column::RunAt, Expr::value(at))
            .col_expr(delivery::Column::UpdatedAt, Expr::value(at))
            .filter(delivery::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(delivery::Column::SocialAccountId.eq(id))
            .filter(delivery::Column::Status.is_in([DeliveryStatus::Scheduled, DeliveryStatus::Retrying]))
            .filter(delivery::Column::LastError.starts_with(crate::store::queue::HELD))
            .filter(delivery::Column::RunAt.gt(at))
            .exec(self.t.db())
            .await?;
        if res.rows_affected > 0 {
            self.t.notify_due().await;
        }
        Ok(res.rows_affected)
    }

    /// Takes the account's refresh lock for `holder` until `until`: one conditional UPDATE,
    /// so across every worker one refresh runs at a time. False when another holds it.
    pub async fn begin_refresh(&self, id: Uuid, holder: &str, until: DateTime<Utc>) -> Result<bool, StoreError> {
        let at = now();
        let res = social_account::Entity::update_many()
            .col_expr(social_account::Column::RefreshHolder, Expr::value(holder))
            .col_expr(social_account::Column::RefreshUntil, Expr::value(until))
            .filter(social_account::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(social_account::Column::Id.eq(id))
            .filter(unset_or_before(social_account::Column::RefreshUntil, at))
            .exec(self.t.db())
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Stores refreshed credentials and releases the lock, in one statement. Stored even if
    /// the lock ran out meanwhile: these tokens are the newest the platform issued.
    pub async fn finish_refresh(&self, id: Uuid, creds: &Credentials) -> Result<(), StoreError> {
        let sealed = self.seal(id, creds)?;
        let res = social_account::Entity::update_many()
            .col_expr(social_account::Column::Credentials, Expr::value(sealed))
            .col_expr(
                social_account::Column::CredentialsExpireAt,
                Expr::value(creds.expires_at),
            )
            .col_expr(social_account::Column::Status, Expr::value(AccountStatus::Connected))
            .col_expr(
                social_account::Column::RefreshHolder,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                social_account::Column::RefreshUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(social_account::Column::UpdatedAt, Expr::value(now()))
            .filter(social_account::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(social_account::Column::Id.eq(id))
            .exec(self.t.db())
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::not_found("social account", id));
        }
        Ok(())
    }

    /// Releases the refresh lock `holder` took (the refresh failed or was not needed).
    pub async fn end_refresh(&self, id: Uuid, holder: &str) -> Result<(), StoreError> {
        social_account::Entity::update_many()
            .col_expr(
                social_account::Column::RefreshHolder,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                social_account::Column::RefreshUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(social_account::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(social_account::Column::Id.eq(id))
            .filter(social_account::Column::RefreshHolder.eq(holder))
            .exec(self.t.db())
            .await?;
        Ok(())
    }

    /// Marks the access token expired (the platform refused it while a refresh token is
    /// held): the next attempt refreshes it first.
    pub async fn expire_token(&self, id: Uuid) -> Result<(), StoreError> {
        let mut creds = self.credentials(id).await?;
        creds.expires_at = Some(now() - chrono::Duration::seconds(1));
        let mut am: social_account::ActiveModel = self.get(id).await?.into();
        am.credentials = Set(Some(self.seal(id, &creds)?));
        am.credentials_expire_at = Set(creds.expires_at);
        am.updated_at = Set(now());
        am.update(self.t.db()).await?;
        Ok(())
    }

    /// Leaves the account alone until `until` (the platform answered 429), for every
    /// worker; an earlier pause never shortens a later one.
    pub async fn pause(&self, id: Uuid, until: DateTime<Utc>) -> Result<(), StoreError> {
        social_account::Entity::update_many()
            .col_expr(social_account::Column::PausedUntil, Expr::value(until))
            .filter(social_account::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(social_account::Column::Id.eq(id))
            .filter(unset_or_before(social_account::Column::PausedUntil, until))
            .exec(self.t.db())
            .await?;
        Ok(())
    }

    pub async fn set_status(&self, id: Uuid, status: AccountStatus) -> Result<(), StoreError> {
        let account = self.get(id).await?;
        let (was, platform, handle) = (account.status, account.platform.clone(), account.handle.clone());
        let txn = crate::store::begin_write(self.t.db()).await?;
        let mut am: social_account::ActiveModel = account.into();
        am.status = Set(status);
        am.updated_at = Set(now());
        am.update(&txn).await?;
        // A connection lost is news for people (and their webhooks), once.
        if status == AccountStatus::NeedsReauth && was != AccountStatus::NeedsReauth {
            crate::store::audit::append(
                &txn,
                self.t.workspace_id,
                crate::store::AuditEntry {
                    actor: None,
                    action: "account.needs_reauth",
                    subject_kind: "social_account",
                    subject_id: Some(id),
                    detail: serde_json::json!({ "platform": platform, "handle": handle }),
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    fn seal(&self, id: Uuid, creds: &Credentials) -> Result<Vec<u8>, StoreError> {
        let plain = serde_json::to_vec(creds).map_err(|e| StoreError::Crypto {
            action: "sealed",
            reason: e.to_string(),
        })?;
        self.t.store.key.seal(id, &plain)
    }
}

/// `column IS NULL OR column < at`: a lock or pause that is not set, or has run out.
fn unset_or_before(column: social_account::Column, at: DateTime<Utc>) -> Condition {
    Condition::any().add(column.is_null()).add(column.lt(at))
}

/// An account's server as stored: an http(s) origin without a path, e.g.
/// `https://fosstodon.org` (whether a call may reach it is the plugin policy's decision).
fn account_server(raw: &str) -> Result<String, Invalid> {
    let bad = || {
        Invalid::new(
            "account.api_base",
            format!("{raw:?} must be the server's origin, like https://fosstodon.org (https, a host, no path)"),
        )
    };
    let url = url::Url::parse(raw.trim()).map_err(|_| bad())?;
    let origin_only = url.path().trim_end_matches('/').is_empty() && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() || !origin_only || raw.len() > 300 {
        return Err(bad());
    }
    Ok(url.origin().ascii_serialization())
}
