//! Leader leases: a named job (materialising recurrences, settling posts) that one node at
//! a time does. Taking or keeping a lease is one conditional UPDATE (or an INSERT that does
//! nothing when the row exists), so two nodes never both hold one; a node that dies loses
//! its lease when it expires and another takes over.

use super::entity::leader_lease;
use super::{Store, map_db_err};
use crate::StoreError;
use crate::domain::new_id;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, Set};
use std::time::Duration;

impl Store {
    /// Takes the lease `name` for `holder` until `at + ttl`, or keeps it if `holder` has
    /// it; true when `holder` leads now.
    pub async fn lead(&self, name: &str, holder: &str, ttl: Duration, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let until = at + ttl;
        let renewed = leader_lease::Entity::update_many()
            .col_expr(leader_lease::Column::Holder, Expr::value(holder))
            .col_expr(leader_lease::Column::ExpiresAt, Expr::value(until))
            .col_expr(leader_lease::Column::UpdatedAt, Expr::value(at))
            .filter(leader_lease::Column::Name.eq(name))
            .filter(
                Condition::any()
                    .add(leader_lease::Column::Holder.eq(holder))
                    .add(leader_lease::Column::ExpiresAt.lt(at)),
            )
            .exec(&self.db)
            .await?;
        if renewed.rows_affected == 1 {
            return Ok(true);
        }
        let inserted = leader_lease::Entity::insert(leader_lease::ActiveModel {
            id: Set(new_id()),
            name: Set(name.to_owned()),
            holder: Set(holder.to_owned()),
            expires_at: Set(until),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .on_conflict(OnConflict::column(leader_lease::Column::Name).do_nothing().to_owned())
        .exec_without_returning(&self.db)
        .await
        .map_err(|e| map_db_err("leader lease", e))?;
        Ok(inserted == 1)
    }

    /// Gives the lease up (a node stopping cleanly), so another takes over at once.
    pub async fn resign(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        leader_lease::Entity::delete_many()
            .filter(leader_lease::Column::Name.eq(name))
            .filter(leader_lease::Column::Holder.eq(holder))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
