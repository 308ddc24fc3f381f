//! Tenant scoping: every query on tenant-owned data goes through here.

use super::Store;
use crate::StoreError;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

/// A view of the store limited to one workspace.
#[derive(Clone, Copy)]
pub struct Tenant<'a> {
    pub(crate) store: &'a Store,
    pub(crate) workspace_id: Uuid,
}

/// An entity whose rows belong to a workspace.
pub(crate) trait TenantOwned: EntityTrait {
    /// How the entity is named in messages ("post", "brand").
    const KIND: &'static str;
    fn workspace_column() -> Self::Column;
    fn id_column() -> Self::Column;
}

macro_rules! tenant_owned {
    ($($module:ident => $kind:literal),* $(,)?) => {$(
        impl TenantOwned for super::entity::$module::Entity {
            const KIND: &'static str = $kind;
            fn workspace_column() -> Self::Column {
                super::entity::$module::Column::WorkspaceId
            }
            fn id_column() -> Self::Column {
                super::entity::$module::Column::Id
            }
        }
    )*};
}
tenant_owned!(
    brand => "brand",
    membership => "membership",
    social_account => "social account",
    campaign => "campaign",
    media_asset => "media asset",
    audience_segment => "segment",
    persona => "persona",
    contact => "contact",
    segment_snapshot => "segment snapshot",
    post => "post",
    delivery => "delivery",
    posting_schedule => "posting schedule",
    recurrence => "recurrence",
    audit_log => "audit entry",
    api_token => "API token",
    webhook => "webhook",
    webhook_delivery => "webhook delivery",
);

impl<'a> Tenant<'a> {
    pub(crate) fn new(store: &'a Store, workspace_id: Uuid) -> Self {
        Self { store, workspace_id }
    }

    pub fn workspace_id(&self) -> Uuid {
        self.workspace_id
    }

    pub(crate) fn db(&self) -> &'a DatabaseConnection {
        &self.store.db
    }

    /// `SELECT ... WHERE workspace_id = ?`: the one place tenancy is applied.
    pub(crate) fn select<E: TenantOwned>(&self) -> Select<E> {
        E::find().filter(E::workspace_column().eq(self.workspace_id))
    }

    /// One row of this workspace by id; another workspace's row is "not found".
    pub(crate) async fn get<E: TenantOwned>(&self, id: Uuid) -> Result<E::Model, StoreError> {
        self.select::<E>()
            .filter(E::id_column().eq(id))
            .one(self.db())
            .await?
            .ok_or_else(|| StoreError::not_found(E::KIND, id))
    }

    pub fn brands(&self) -> super::brands::Brands<'a> {
        super::brands::Brands { t: *self }
    }
    pub fn memberships(&self) -> super::people::Memberships<'a> {
        super::people::Memberships { t: *self }
    }
    pub fn accounts(&self) -> super::accounts::Accounts<'a> {
        super::accounts::Accounts { t: *self }
    }
    /// Webhook subscriptions and their delivery logs.
    pub fn webhooks(&self) -> super::webhooks::Webhooks<'a> {
        super::webhooks::Webhooks { t: *self }
    }
    /// OAuth 2 authorizations in progress (connecting accounts).
    pub fn authorizations(&self) -> super::authorizations::Authorizations<'a> {
        super::authorizations::Authorizations { t: *self }
    }
    pub fn segments(&self) -> super::segments::Segments<'a> {
        super::segments::Segments { t: *self }
    }
    pub fn personas(&self) -> super::segments::Personas<'a> {
        super::segments::Personas { t: *self }
    }
    pub fn posts(&self) -> super::posts::Posts<'a> {
        super::posts::Posts { t: *self }
    }
    pub fn deliveries(&self) -> super::deliveries::Deliveries<'a> {
        super::deliveries::Deliveries { t: *self }
    }
    pub fn recurrences(&self) -> super::recurrences::Recurrences<'a> {
        super::recurrences::Recurrences { t: *self }
    }
    pub fn schedules(&self) -> super::schedules::Schedules<'a> {
        super::schedules::Schedules { t: *self }
    }
    pub fn media(&self) -> super::media::Media<'a> {
        super::media::Media { t: *self }
    }
    pub fn api_tokens(&self) -> super::identity::ApiTokens<'a> {
        super::identity::ApiTokens { t: *self }
    }
    pub fn audit(&self) -> super::audit::Audit<'a> {
        super::audit::Audit { t: *self }
    }
}
