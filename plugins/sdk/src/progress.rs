//! Publishes made of several requests (a thread, a post and its first comment) that survive
//! a failed attempt. Which parts the platform confirmed is kept in the plugin's key-value
//! store under the host's marker, so the next attempt continues after the last confirmed
//! part, as a reply to it, instead of posting the thread again. A part whose answer was
//! lost (the request went out, no reply came) is remembered as pending: the next attempt
//! looks for it on the platform before posting it.
//!
//! ```text
//! let mut progress = Progress::load_for(&marker, parts.len());
//! if let Some(i) = progress.pending() {
//!     match find_on_platform(&parts[i])? { Some(id) => progress.posted(id)?, None => progress.forget_pending()? }
//! }
//! for (i, text) in parts.iter().enumerate().skip(progress.done()) {
//!     progress.begin(i)?;
//!     let id = post(text, progress.last())?;
//!     progress.posted(id)?;
//! }
//! let ids = progress.finish();
//! ```

use crate::host;
use crate::types::PluginError;
use serde_json::{Value, json};

/// The confirmed parts of one multi-part publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    key: String,
    ids: Vec<String>,
    pending: Option<usize>,
    /// Whether anything is (or was) kept in the store: a one-part publish keeps nothing,
    /// since the host's own intent record and `find-published` already recover it.
    persist: bool,
    stored: bool,
}

impl Progress {
    /// The progress of a publish of `parts` requests. A one-part publish neither reads nor
    /// writes the key-value store (four round trips fewer per post): the host records its
    /// intent before `publish` and asks `find-published` after a lost answer, which is all a
    /// single request needs. More parts record each step.
    pub fn load_for(marker: &str, parts: usize) -> Self {
        if parts <= 1 {
            return Self {
                key: format!("publish-progress/{marker}"),
                ids: Vec::new(),
                pending: None,
                persist: false,
                stored: false,
            };
        }
        Self::load(marker)
    }

    /// [`Progress::load_for`] `parts`, then settles a part whose answer was lost: `find`
    /// looks for its text on the platform (among the account's latest posts); found, it
    /// counts as posted, else it is posted again. What every multi-part publish starts with.
    pub fn resume(
        marker: &str,
        parts: &[String],
        find: impl FnOnce(&str) -> Result<Option<String>, PluginError>,
    ) -> Result<Self, PluginError> {
        let mut progress = Self::load_for(marker, parts.len());
        if let Some(text) = progress.pending().and_then(|i| parts.get(i)) {
            match find(text)? {
                Some(id) => progress.posted(id)?,
                None => progress.forget_pending()?,
            }
        }
        Ok(progress)
    }

    /// The progress an earlier attempt with this marker left, or a fresh start; every step
    /// is recorded.
    pub fn load(marker: &str) -> Self {
        let key = format!("publish-progress/{marker}");
        let saved = host::kv_get(&key).and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        let ids = saved
            .as_ref()
            .and_then(|v| v["ids"].as_array())
            .map(|a| a.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let pending = saved.as_ref().and_then(|v| v["pending"].as_u64()).map(|p| p as usize);
        Self {
            key,
            ids,
            pending,
            persist: true,
            stored: saved.is_some(),
        }
    }

    /// How many parts the platform confirmed.
    pub fn done(&self) -> usize {
        self.ids.len()
    }

    /// The id of the last confirmed part (what the next part replies to).
    pub fn last(&self) -> Option<&str> {
        self.ids.last().map(String::as_str)
    }

    /// The confirmed parts' ids, in order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// A part that was sent but whose answer never came.
    pub fn pending(&self) -> Option<usize> {
        self.pending
    }

    /// Records that part `index` is about to be sent (before sending it).
    pub fn begin(&mut self, index: usize) -> Result<(), PluginError> {
        self.pending = Some(index);
        self.save()
    }

    /// Records the platform's id for the part being sent.
    pub fn posted(&mut self, id: String) -> Result<(), PluginError> {
        self.ids.push(id);
        self.pending = None;
        self.save()
    }

    /// The pending part was looked for and is not on the platform: it will be sent again.
    pub fn forget_pending(&mut self) -> Result<(), PluginError> {
        self.pending = None;
        self.save()
    }

    /// The whole publish is confirmed: forgets the progress and returns the ids in order.
    pub fn finish(self) -> Vec<String> {
        if self.stored {
            host::kv_delete(&self.key);
        }
        self.ids
    }

    fn save(&mut self) -> Result<(), PluginError> {
        if !self.persist {
            return Ok(());
        }
        self.stored = true;
        let v = json!({ "ids": self.ids, "pending": self.pending });
        host::kv_set(&self.key, &serde_json::to_vec(&v).unwrap_or_default())
            .map_err(|e| PluginError::Transient(format!("could not record the publish's progress: {e}")))
    }
}
