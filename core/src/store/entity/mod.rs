//! sea-orm entities: one module per table, mirroring `migrations/`. Rows are plain data;
//! the rules about them live in `crate::domain` and the queries in the repository modules.

pub mod api_token;
pub mod audience_segment;
pub mod audit_log;
pub mod brand;
pub mod campaign;
pub mod contact;
pub mod contact_event;
pub mod delivery;
pub mod leader_lease;
pub mod media_asset;
pub mod membership;
pub mod oauth_authorization;
pub mod persona;
pub mod plugin_kv;
pub mod post;
pub mod post_media;
pub mod posting_schedule;
pub mod recurrence;
pub mod segment_snapshot;
pub mod session;
pub mod social_account;
pub mod user;
pub mod webhook;
pub mod webhook_delivery;
pub mod workspace;

use sea_orm::FromJsonQueryResult;
use serde::{Deserialize, Serialize};

/// A JSON array of strings (hashtags, OAuth scopes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct StringList(pub Vec<String>);

/// Declares a table-row entity with the columns every Chorus table shares.
macro_rules! entity {
    (
        table = $table:literal;
        $( #[$fmeta:meta] )*
        pub struct Model { $( $(#[$meta:meta])* pub $field:ident : $ty:ty, )* }
    ) => {
        use sea_orm::entity::prelude::*;
        #[allow(unused_imports)]
        use crate::domain::*;

        #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
        #[sea_orm(table_name = $table)]
        $( #[$fmeta] )*
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: Uuid,
            $( $(#[$meta])* pub $field: $ty, )*
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}
pub(crate) use entity;
