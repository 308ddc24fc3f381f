//! What a plugin call can end in, besides success. The scheduler acts on these: a plugin's
//! own typed error says what the platform said; the rest say what the sandbox stopped.

use super::bindings::types::PluginError;
use std::time::Duration;

/// A failed call to one plugin.
#[derive(Debug, thiserror::Error)]
#[error("plugin {plugin}, {call}: {kind}")]
pub struct CallError {
    pub plugin: String,
    pub call: &'static str,
    pub kind: CallErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum CallErrorKind {
    /// The plugin answered with its own typed error.
    #[error("{}", describe_plugin_error(.0))]
    Plugin(PluginError),
    /// Wall time ran out (waiting on HTTP or a busy machine counts).
    #[error("stopped after {0:?}, its wall-time limit for this call")]
    Timeout(Duration),
    /// The guest's own computing ran out: a runaway loop, or work too heavy for the call.
    #[error("stopped after {0:?} of CPU, its CPU limit for this call")]
    CpuLimit(Duration),
    #[error("stopped: it needed more than its memory limit of {} MiB", .0 >> 20)]
    OutOfMemory(usize),
    #[error("stopped: it overflowed its stack (runaway recursion)")]
    StackOverflow,
    #[error("crashed: {0}")]
    Crashed(String),
    #[error("returned {bytes} bytes of text, more than the limit of {limit}")]
    OutputTooLarge { bytes: usize, limit: usize },
    #[error("returned {count} elements in `{field}`, more than the limit of {limit}")]
    TooManyItems {
        field: &'static str,
        count: usize,
        limit: usize,
    },
    /// The guest called a host function its phase does not allow (key-value writes while
    /// adapting, which must be pure).
    #[error("denied: {0}")]
    Forbidden(String),
    #[error("could not be started: {0}")]
    Instantiate(String),
}

impl CallError {
    /// The plugin's own error, if it answered with one.
    pub fn plugin_error(&self) -> Option<&PluginError> {
        match &self.kind {
            CallErrorKind::Plugin(e) => Some(e),
            _ => None,
        }
    }

    /// The error's name as the contract and the docs spell it: the plugin's own
    /// (`invalid-input`, `auth-expired`, `rate-limited`, `transient`, `denied`) or what the
    /// sandbox stopped (`timeout`, `cpu-limit`, ...).
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            CallErrorKind::Plugin(e) => match e {
                PluginError::InvalidInput(_) => "invalid-input",
                PluginError::AuthExpired(_) => "auth-expired",
                PluginError::RateLimited(_) => "rate-limited",
                PluginError::Transient(_) => "transient",
                PluginError::Denied(_) => "denied",
            },
            CallErrorKind::Timeout(_) => "timeout",
            CallErrorKind::CpuLimit(_) => "cpu-limit",
            CallErrorKind::OutOfMemory(_) => "out-of-memory",
            CallErrorKind::StackOverflow => "stack-overflow",
            CallErrorKind::Crashed(_) => "crashed",
            CallErrorKind::OutputTooLarge { .. } => "output-too-large",
            CallErrorKind::TooManyItems { .. } => "too-many-items",
            CallErrorKind::Forbidden(_) => "forbidden",
            CallErrorKind::Instantiate(_) => "instantiate",
        }
    }

    /// Whether retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            CallErrorKind::Plugin(PluginError::RateLimited(_) | PluginError::Transient(_)) => true,
            CallErrorKind::Timeout(_) => true,
            _ => false,
        }
    }
}

/// One line for a person: what the plugin (and through it, the platform) said.
pub fn describe_plugin_error(e: &PluginError) -> String {
    match e {
        PluginError::InvalidInput(i) => format!("invalid input at `{}`: {}", i.field, i.message),
        PluginError::AuthExpired(m) => format!("the account's authorization expired: {m}"),
        PluginError::RateLimited(r) => format!("rate limited, retry after {} s: {}", r.retry_after_seconds, r.message),
        PluginError::Transient(m) => format!("temporary failure: {m}"),
        PluginError::Denied(m) => format!("denied by the host's policy: {m}"),
    }
}
