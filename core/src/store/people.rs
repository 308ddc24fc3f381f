//! People and their roles per workspace or brand.

use super::entity::{membership, user};
use super::{Tenant, map_db_err, now, workspaces::required_name};
use crate::domain::{Role, new_id};
use crate::{Invalid, StoreError};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

pub struct Users<'a> {
    pub(crate) db: &'a DatabaseConnection,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
}

impl Users<'_> {
    pub async fn create(&self, new: NewUser) -> Result<user::Model, StoreError> {
        let email = new.email.trim().to_lowercase();
        let valid = email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
        if !valid || email.len() > 320 || email.contains(char::is_whitespace) {
            return Err(Invalid::new(
                "email",
                format!("{:?} is not an e-mail address like name@example.com", new.email),
            )
            .into());
        }
        let at = now();
        user::ActiveModel {
            id: Set(new_id()),
            email: Set(email),
            display_name: Set(required_name("display_name", &new.display_name)?),
            created_at: Set(at),
            updated_at: Set(at),
            password_hash: Set(None),
        }
        .insert(self.db)
        .await
        .map_err(|e| map_db_err("user", e))
    }

    pub async fn get(&self, id: Uuid) -> Result<user::Model, StoreError> {
        user::Entity::find_by_id(id)
            .one(self.db)
            .await?
            .ok_or_else(|| StoreError::not_found("user", id))
    }

    pub async fn by_email(&self, email: &str) -> Result<user::Model, StoreError> {
        user::Entity::find()
            .filter(user::Column::Email.eq(email.trim().to_lowercase()))
            .one(self.db)
            .await?
            .ok_or_else(|| StoreError::not_found("user", email))
    }
}

pub struct Memberships<'a> {
    pub(crate) t: Tenant<'a>,
}

impl Memberships<'_> {
    /// Gives `user` a role in the workspace (`brand: None`) or in one of its brands,
    /// replacing the role they held at that same scope.
    pub async fn grant(&self, user: Uuid, brand: Option<Uuid>, role: Role) -> Result<membership::Model, StoreError> {
        if let Some(b) = brand {
            self.t.brands().get(b).await?;
        }
        let existing = self
            .t
            .select::<membership::Entity>()
            .filter(membership::Column::UserId.eq(user))
            .filter(match brand {
                Some(b) => membership::Column::BrandId.eq(b),
                None => membership::Column::BrandId.is_null(),
            })
            .one(self.t.db())
            .await?;
        let result = match existing {
            Some(m) => {
                let mut am: membership::ActiveModel = m.into();
                am.role = Set(role);
                am.update(self.t.db()).await
            }
            None => {
                membership::ActiveModel {
                    id: Set(new_id()),
                    workspace_id: Set(self.t.workspace_id),
                    user_id: Set(user),
                    brand_id: Set(brand),
                    role: Set(role),
                    created_at: Set(now()),
                }
                .insert(self.t.db())
                .await
            }
        };
        result.map_err(|e| map_db_err("membership", e))
    }

    /// The role that applies to `user` for `brand`: a brand-level role wins over the
    /// workspace-level one; `None` means no access.
    pub async fn role_for(&self, user: Uuid, brand: Option<Uuid>) -> Result<Option<Role>, StoreError> {
        let rows = self
            .t
            .select::<membership::Entity>()
            .filter(membership::Column::UserId.eq(user))
            .all(self.t.db())
            .await?;
        let brand_role = brand.and_then(|b| rows.iter().find(|m| m.brand_id == Some(b)).map(|m| m.role));
        Ok(brand_role.or_else(|| rows.iter().find(|m| m.brand_id.is_none()).map(|m| m.role)))
    }
}
