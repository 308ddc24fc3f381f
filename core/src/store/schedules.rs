//! Posting schedules: named recurring slots in a zone.

use super::entity::{delivery, posting_schedule, social_account};
use super::{Tenant, map_db_err, now, workspaces::required_name};
use crate::domain::{CronSchedule, DeliveryStatus, Zone, new_id};
use crate::{Invalid, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
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

    /// The brand's schedule named `name` (exactly one).
    pub async fn named(&self, brand_id: Uuid, name: &str) -> Result<posting_schedule::Model, StoreError> {
        let mut found: Vec<_> = self
            .list_for_brand(brand_id)
            .await?
            .into_iter()
            .filter(|s| s.name == name)
            .collect();
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(StoreError::NotFound {
                kind: "posting schedule",
                id: name.to_owned(),
            }),
            n => Err(Invalid::new(
                "schedule.name",
                format!("{n} of the brand's schedules are named {name:?}; remove all but one or rename one"),
            )
            .into()),
        }
    }

    /// A schedule of the workspace by id.
    pub async fn get(&self, id: Uuid) -> Result<posting_schedule::Model, StoreError> {
        self.t.get::<posting_schedule::Entity>(id).await
    }

    /// Turns the brand's schedule `name` on or off; "add to queue" uses only enabled ones,
    /// and deliveries already planned on its slots keep their times.
    pub async fn set_enabled(
        &self,
        brand_id: Uuid,
        name: &str,
        enabled: bool,
    ) -> Result<posting_schedule::Model, StoreError> {
        let s = self.named(brand_id, name).await?;
        self.set_enabled_id(s.id, enabled).await
    }

    /// [`Schedules::set_enabled`] by id.
    pub async fn set_enabled_id(&self, id: Uuid, enabled: bool) -> Result<posting_schedule::Model, StoreError> {
        let mut am: posting_schedule::ActiveModel = self.get(id).await?.into();
        am.enabled = Set(enabled);
        am.updated_at = Set(now());
        Ok(am.update(self.t.db()).await?)
    }

    /// Removes the brand's schedule `name`; deliveries planned on its slots keep their times.
    pub async fn remove(&self, brand_id: Uuid, name: &str) -> Result<posting_schedule::Model, StoreError> {
        let s = self.named(brand_id, name).await?;
        self.remove_id(s.id).await
    }

    /// [`Schedules::remove`] by id.
    pub async fn remove_id(&self, id: Uuid) -> Result<posting_schedule::Model, StoreError> {
        let s = self.get(id).await?;
        posting_schedule::Entity::delete_many()
            .filter(posting_schedule::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(posting_schedule::Column::Id.eq(s.id))
            .exec(self.t.db())
            .await?;
        Ok(s)
    }

    /// The next `n` slots of a schedule after `after`.
    pub async fn next_slots(&self, id: Uuid, after: DateTime<Utc>, n: usize) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let s = self.t.get::<posting_schedule::Entity>(id).await?;
        let cron = CronSchedule::parse(&s.cron)?;
        Ok(cron.next_slots(Zone::parse("schedule.timezone", &s.timezone)?, after, n))
    }

    /// The posting schedules that apply to an account: its own, else its brand's shared ones.
    pub async fn for_account(
        &self,
        account: &social_account::Model,
    ) -> Result<Vec<posting_schedule::Model>, StoreError> {
        let all: Vec<_> = self
            .list_for_brand(account.brand_id)
            .await?
            .into_iter()
            .filter(|s| s.enabled)
            .collect();
        let own: Vec<_> = all
            .iter()
            .filter(|s| s.social_account_id == Some(account.id))
            .cloned()
            .collect();
        Ok(if own.is_empty() {
            all.into_iter().filter(|s| s.social_account_id.is_none()).collect()
        } else {
            own
        })
    }

    /// "Add to queue": the account's next posting slot after `after` that no delivery of
    /// that account holds (and that is not in `busy`), with the zone it is planned in.
    pub async fn next_free_slot(
        &self,
        account: &social_account::Model,
        after: DateTime<Utc>,
        busy: &[DateTime<Utc>],
    ) -> Result<(DateTime<Utc>, Zone), StoreError> {
        /// Slots looked at before giving up (a year of hourly slots is far beyond this).
        const HORIZON: usize = 2_000;
        let schedules = self.for_account(account).await?;
        if schedules.is_empty() {
            return Err(Invalid::new(
                "when",
                format!(
                    "the {} account @{} has no posting slots; add some with \
                     `chorus schedule add --brand BRAND --name NAME --cron \"0 9 * * 1-5\"`",
                    account.platform, account.handle
                ),
            )
            .into());
        }
        let mut candidates: Vec<(DateTime<Utc>, Zone)> = Vec::new();
        for s in &schedules {
            let zone = Zone::parse("schedule.timezone", &s.timezone)?;
            let cron = CronSchedule::parse(&s.cron)?;
            candidates.extend(cron.slots_after(zone, after).take(HORIZON).map(|t| (t, zone)));
        }
        candidates.sort_by_key(|(t, _)| *t);
        candidates.dedup_by_key(|(t, _)| *t);
        candidates.truncate(HORIZON);
        let last = candidates.last().map(|(t, _)| *t).unwrap_or(after);
        let taken: std::collections::HashSet<DateTime<Utc>> = delivery::Entity::find()
            .select_only()
            .column(delivery::Column::ScheduledAt)
            .filter(delivery::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(delivery::Column::SocialAccountId.eq(account.id))
            .filter(delivery::Column::Status.ne(DeliveryStatus::Cancelled))
            .filter(delivery::Column::ScheduledAt.gt(after))
            .filter(delivery::Column::ScheduledAt.lte(last))
            .into_tuple::<Option<DateTime<Utc>>>()
            .all(self.t.db())
            .await?
            .into_iter()
            .flatten()
            .chain(busy.iter().copied())
            .collect();
        candidates.into_iter().find(|(t, _)| !taken.contains(t)).ok_or_else(|| {
            Invalid::new(
                "when",
                format!(
                    "the next {HORIZON} posting slots of @{} are all taken; add slots or pick a time",
                    account.handle
                ),
            )
            .into()
        })
    }
}
