//! `chorus:plugin@0.1.0`, frozen: its bindings, and the conversions that let a 0.1.0
//! component run in a host that works in the latest contract's types.
//!
//! Arguments go down (the fields 0.1.0 lacks are dropped: a post's title, an adaptation's
//! fields, extras and languages; hashtags meant for a first comment go at the end), results
//! come up (what 0.1.0 cannot say is empty: no further limits, no text fields, no session
//! sign-in; OAuth as the host did it then: Basic, `client_id`, spaces). Host imports are the latest
//! host's, reached through [`old_host`]'s conversions, so both versions share one
//! implementation of the sandbox's rules.

use super::{host_api as new_host, types as new};
use crate::plugins::host::HostState;
use serde::{Serialize, de::DeserializeOwned};

wasmtime::component::bindgen!({
    world: "platform",
    path: "../plugins/wit/since_v0.1.0",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
});

pub use chorus::plugin::host as old_host;
pub use chorus::plugin::types as old;

/// Why a value could not be carried between contract versions (a bug in this module, not
/// in the plugin: every type converted here has the same shape in both versions).
#[derive(Debug, thiserror::Error)]
#[error("converting between contract 0.1.0 and 0.2.0: {0}")]
pub struct Mismatch(String);

/// For the types whose shape did not change between the versions: the same JSON.
fn same<A: Serialize, B: DeserializeOwned>(a: &A) -> Result<B, Mismatch> {
    serde_json::to_value(a)
        .and_then(serde_json::from_value)
        .map_err(|e| Mismatch(e.to_string()))
}

pub fn post(p: &new::Post) -> Result<old::Post, Mismatch> {
    Ok(old::Post {
        id: p.id.clone(),
        body: p.body.clone(),
        link: p.link.clone(),
        hashtags: p.hashtags.clone(),
        locale: p.locale.clone(),
        media: same(&p.media)?,
    })
}

/// 0.1.0 knows no first comment: hashtags meant for one go at the end.
pub fn segment(s: &new::Segment) -> Result<old::Segment, Mismatch> {
    let mut s = s.clone();
    if s.tone.hashtag_placement == new::HashtagPlacement::FirstComment {
        s.tone.hashtag_placement = new::HashtagPlacement::End;
    }
    same(&s)
}

pub fn account(a: &new::Account) -> Result<old::Account, Mismatch> {
    same(a)
}

pub fn adapted_down(a: &new::Adapted) -> Result<old::Adapted, Mismatch> {
    Ok(old::Adapted {
        text: a.text.clone(),
        parts: a.parts.clone(),
        hashtags: a.hashtags.clone(),
        media: a.media.clone(),
        targeting: a.targeting.clone(),
        length: a.length,
        warnings: same(&a.warnings)?,
    })
}

pub fn adapted_up(a: old::Adapted) -> Result<new::Adapted, Mismatch> {
    Ok(new::Adapted {
        warnings: same(&a.warnings)?,
        text: a.text,
        parts: a.parts,
        hashtags: a.hashtags,
        media: a.media,
        targeting: a.targeting,
        length: a.length,
        fields: Vec::new(),
        extras: Vec::new(),
        languages: Vec::new(),
    })
}

pub fn context(c: &new::CallContext) -> Result<old::CallContext, Mismatch> {
    same(c)
}

pub fn description(d: old::Description) -> Result<new::Description, Mismatch> {
    Ok(new::Description {
        text: new::TextRules {
            max_length: d.text.max_length,
            length_rule: same(&d.text.length_rule)?,
            also: Vec::new(),
            max_hashtags: d.text.max_hashtags,
            max_mentions: d.text.max_mentions,
        },
        fields: Vec::new(),
        options: Vec::new(),
        media: same(&d.media)?,
        features: same(&d.features)?,
        targeting: same(&d.targeting)?,
        publish_budgets: same(&d.publish_budgets)?,
        // 0.1.0 plugins were written for the host's OAuth client as it was: HTTP Basic,
        // `client_id`, scopes joined by spaces.
        oauth: d.oauth.map(|o| new::OauthSpec {
            authorize_url: o.authorize_url,
            token_url: o.token_url,
            scopes: o.scopes,
            pkce_required: o.pkce_required,
            client_auth: new::ClientAuth::Basic,
            client_id_field: "client_id".into(),
            scope_separator: " ".into(),
        }),
        session: None,
        id: d.id,
        name: d.name,
        default_api_base: d.default_api_base,
        min_targeting_audience: d.min_targeting_audience,
    })
}

pub fn published(p: old::Published) -> Result<new::Published, Mismatch> {
    same(&p)
}

pub fn metrics(m: Vec<old::Metrics>) -> Result<Vec<new::Metrics>, Mismatch> {
    same(&m)
}

pub fn plugin_error(e: old::PluginError) -> Result<new::PluginError, Mismatch> {
    same(&e)
}

impl old::Host for HostState {}

/// The 0.1.0 host imports, answered by the latest host's implementation.
impl old_host::Host for HostState {
    async fn send(
        &mut self,
        request: old_host::HttpRequest,
    ) -> wasmtime::Result<Result<old_host::HttpResponse, old_host::HttpError>> {
        let answer = new_host::Host::send(self, http::request(request)).await?;
        Ok(answer.map(http::response).map_err(http::error))
    }

    async fn log(&mut self, level: old_host::LogLevel, message: String) -> wasmtime::Result<()> {
        use old_host::LogLevel as L;
        let level = match level {
            L::Trace => new_host::LogLevel::Trace,
            L::Debug => new_host::LogLevel::Debug,
            L::Info => new_host::LogLevel::Info,
            L::Warn => new_host::LogLevel::Warn,
            L::Error => new_host::LogLevel::Error,
        };
        new_host::Host::log(self, level, message).await
    }

    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        new_host::Host::now_ms(self).await
    }

    async fn sleep_ms(&mut self, ms: u32) -> wasmtime::Result<()> {
        new_host::Host::sleep_ms(self, ms).await
    }

    async fn kv_get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        new_host::Host::kv_get(self, key).await
    }

    async fn kv_set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        new_host::Host::kv_set(self, key, value).await
    }

    async fn kv_delete(&mut self, key: String) -> wasmtime::Result<()> {
        new_host::Host::kv_delete(self, key).await
    }
}

/// HTTP by hand rather than through JSON: bodies are bytes, and can be megabytes.
mod http {
    use super::{new_host as new, old_host as old};

    pub fn request(r: old::HttpRequest) -> new::HttpRequest {
        new::HttpRequest {
            method: match r.method {
                old::Method::Get => new::Method::Get,
                old::Method::Post => new::Method::Post,
                old::Method::Put => new::Method::Put,
                old::Method::Patch => new::Method::Patch,
                old::Method::Delete => new::Method::Delete,
                old::Method::Head => new::Method::Head,
            },
            url: r.url,
            headers: r.headers,
            body: match r.body {
                old::Body::Empty => new::Body::Empty,
                old::Body::Bytes(b) => new::Body::Bytes(b),
                old::Body::Media(m) => new::Body::Media(slice(m)),
                old::Body::Multipart(parts) => new::Body::Multipart(
                    parts
                        .into_iter()
                        .map(|p| new::FormPart {
                            name: p.name,
                            filename: p.filename,
                            content_type: p.content_type,
                            body: match p.body {
                                old::PartBody::Bytes(b) => new::PartBody::Bytes(b),
                                old::PartBody::Media(m) => new::PartBody::Media(slice(m)),
                            },
                        })
                        .collect(),
                ),
            },
        }
    }

    fn slice(m: old::MediaSlice) -> new::MediaSlice {
        new::MediaSlice {
            media_id: m.media_id,
            offset: m.offset,
            length: m.length,
        }
    }

    pub fn response(r: new::HttpResponse) -> old::HttpResponse {
        old::HttpResponse {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }

    pub fn error(e: new::HttpError) -> old::HttpError {
        match e {
            new::HttpError::Denied(why) => old::HttpError::Denied(why),
            new::HttpError::Timeout => old::HttpError::Timeout,
            new::HttpError::TooLarge(n) => old::HttpError::TooLarge(n),
            new::HttpError::Transport(why) => old::HttpError::Transport(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adaptation_goes_down_and_comes_back_without_its_new_fields() {
        let a = new::Adapted {
            text: "Hello".into(),
            parts: vec!["Hello".into(), "again".into()],
            hashtags: vec!["rust".into()],
            media: vec!["m1".into()],
            targeting: Some("{}".into()),
            length: 5,
            warnings: vec![new::Warning {
                code: "text-truncated".into(),
                message: "cut".into(),
            }],
            fields: vec![new::FieldText {
                name: "title".into(),
                text: "T".into(),
                length: 1,
            }],
            extras: vec![new::Extra {
                key: "board".into(),
                label: "Board".into(),
                value: "\"b1\"".into(),
            }],
            languages: vec!["en".into()],
        };
        let back = adapted_up(adapted_down(&a).unwrap()).unwrap();
        assert_eq!(
            back,
            new::Adapted {
                fields: vec![],
                extras: vec![],
                languages: vec![],
                ..a
            }
        );
    }

    #[test]
    fn every_error_kind_crosses_unchanged() {
        for e in [
            old::PluginError::InvalidInput(old::InvalidInput {
                field: "text".into(),
                message: "too long".into(),
            }),
            old::PluginError::AuthExpired("expired".into()),
            old::PluginError::RateLimited(old::RateLimit {
                retry_after_seconds: 7,
                message: "slow".into(),
            }),
            old::PluginError::Transient("503".into()),
            old::PluginError::Denied("policy".into()),
        ] {
            let text = format!("{e:?}");
            assert_eq!(format!("{:?}", plugin_error(e).unwrap()), text);
        }
    }
}
