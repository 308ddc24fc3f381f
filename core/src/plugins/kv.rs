//! The key-value store each plugin gets, scoped to (plugin, workspace) so one tenant's
//! data never reaches another through a shared plugin.

use crate::store::entity::plugin_kv;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set};
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// Where plugin key-value data lives.
#[async_trait::async_trait]
pub trait KvBackend: Send + Sync {
    async fn get(&self, plugin: &str, workspace: Uuid, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Stores `value`; refuses a new key when the scope already holds `max_keys`.
    async fn set(&self, plugin: &str, workspace: Uuid, key: &str, value: Vec<u8>, max_keys: u64) -> Result<(), String>;
    async fn delete(&self, plugin: &str, workspace: Uuid, key: &str) -> Result<(), String>;
}

/// Kept in the database (table `plugin_kv`).
pub struct DbKv(pub DatabaseConnection);

#[async_trait::async_trait]
impl KvBackend for DbKv {
    async fn get(&self, plugin: &str, workspace: Uuid, key: &str) -> Result<Option<Vec<u8>>, String> {
        plugin_kv::Entity::find_by_id((plugin.to_owned(), workspace, key.to_owned()))
            .one(&self.0)
            .await
            .map(|r| r.map(|m| m.value))
            .map_err(|e| e.to_string())
    }

    async fn set(&self, plugin: &str, workspace: Uuid, key: &str, value: Vec<u8>, max_keys: u64) -> Result<(), String> {
        let exists = self.get(plugin, workspace, key).await?.is_some();
        if !exists {
            let n = plugin_kv::Entity::find()
                .filter(plugin_kv::Column::PluginId.eq(plugin))
                .filter(plugin_kv::Column::WorkspaceId.eq(workspace))
                .count(&self.0)
                .await
                .map_err(|e| e.to_string())?;
            if n >= max_keys {
                return Err(format!(
                    "the store already holds {n} keys, the most allowed; delete some first"
                ));
            }
        }
        let row = plugin_kv::ActiveModel {
            plugin_id: Set(plugin.to_owned()),
            workspace_id: Set(workspace),
            key: Set(key.to_owned()),
            value: Set(value),
            updated_at: Set(chrono::Utc::now()),
        };
        plugin_kv::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    plugin_kv::Column::PluginId,
                    plugin_kv::Column::WorkspaceId,
                    plugin_kv::Column::Key,
                ])
                .update_columns([plugin_kv::Column::Value, plugin_kv::Column::UpdatedAt])
                .to_owned(),
            )
            .exec(&self.0)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn delete(&self, plugin: &str, workspace: Uuid, key: &str) -> Result<(), String> {
        plugin_kv::Entity::delete_by_id((plugin.to_owned(), workspace, key.to_owned()))
            .exec(&self.0)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// In memory, for previews and tools that run without a database.
#[derive(Default)]
pub struct MemoryKv(Mutex<HashMap<(String, Uuid, String), Vec<u8>>>);

#[async_trait::async_trait]
impl KvBackend for MemoryKv {
    async fn get(&self, plugin: &str, workspace: Uuid, key: &str) -> Result<Option<Vec<u8>>, String> {
        let map = self.0.lock().map_err(|e| e.to_string())?;
        Ok(map.get(&(plugin.to_owned(), workspace, key.to_owned())).cloned())
    }
    async fn set(&self, plugin: &str, workspace: Uuid, key: &str, value: Vec<u8>, max_keys: u64) -> Result<(), String> {
        let mut map = self.0.lock().map_err(|e| e.to_string())?;
        let k = (plugin.to_owned(), workspace, key.to_owned());
        let n = map.keys().filter(|(p, w, _)| p == plugin && *w == workspace).count() as u64;
        if !map.contains_key(&k) && n >= max_keys {
            return Err(format!(
                "the store already holds {n} keys, the most allowed; delete some first"
            ));
        }
        map.insert(k, value);
        Ok(())
    }
    async fn delete(&self, plugin: &str, workspace: Uuid, key: &str) -> Result<(), String> {
        let mut map = self.0.lock().map_err(|e| e.to_string())?;
        map.remove(&(plugin.to_owned(), workspace, key.to_owned()));
        Ok(())
    }
}
