//! Posting schedules: named recurring slots in a zone.

use super::entity::posting_schedule;
use super::{Tenant, map_db_err, now, workspaces::required_name};
use crate::domain::{CronSchedule, Zone, new_id};
use crate::{Invalid, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

pub struct Schedules<'a> {
    pub(crate) t: Tenant<'a>,
}

impl Schedules<'_> {
    /// Adds a schedule for a brand, or for one of its accounts.
    pub async fn create(
        &self,
        brand_id: Uuid,
        account_id: Option<Uuid>,
        name: &str,
        cron: &str,
        timezone: &str,
    ) -> Result<posting_schedule::Model, StoreError> {
        let cron = CronSchedule::parse(cron)?;
        let zone = Zone::parse("schedule.timezone", timezone)?;
        self.t.brands().get(brand_id).await?;
        if let Some(a) = account_id {
            if self.t.accounts().get(a).await?.brand_id != brand_id {
                return Err(Invalid::new("schedule.account_id", "the account belongs to another brand").into());
            }
        }
        let at = now();
        posting_schedule::ActiveModel {
            id: Set(new_id()),
            workspace_id: Set(self.t.workspace_id),
            brand_id: Set(brand_id),
            social_account_id: Set(account_id),
            name: Set(required_name("schedule.name", name)?),
            cron: Set(cron.as_str().to_owned()),
            timezone: Set(zone.to_string()),
            enabled: Set(true),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("posting schedule", e))
    }

    pub async fn list_for_brand(&self, brand_id: Uuid) -> Result<Vec<posting_schedule::Model>, StoreError> {
        Ok(self
            .t
            .select::<posting_schedule::Entity>()
            .filter(posting_schedule::Column::BrandId.eq(brand_id))
            .order_by_asc(posting_schedule::Column::Name)
            .all(self.t.db())
            .await?)
    }

    /// The next `n` slots of a schedule after `after`.
    pub async fn next_slots(&self, id: Uuid, after: DateTime<Utc>, n: usize) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let s = self.t.get::<posting_schedule::Entity>(id).await?;
        let cron = CronSchedule::parse(&s.cron)?;
        Ok(cron.next_slots(Zone::parse("schedule.timezone", &s.timezone)?, after, n))
    }
}
