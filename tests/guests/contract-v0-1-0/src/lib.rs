//! A platform plugin as a 0.1.0 author wrote it: wit-bindgen against the frozen
//! `since_v0.1.0` contract, no SDK. Its platform stores posts with `POST /posts` (the text
//! and the marker as a form body) and finds them with `GET /posts?marker=`. The tests load
//! it into today's host and check that it still adapts, publishes, recovers and measures.

wit_bindgen::generate!({
    world: "platform",
    path: "../../../plugins/wit/since_v0.1.0",
});

use chorus::plugin::host::{self, Body, HttpRequest, Method};
use chorus::plugin::types::*;

struct OldTimer;

/// `key=value` lines, the platform's answer format.
fn field(body: &[u8], key: &str) -> Option<String> {
    String::from_utf8_lossy(body)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

fn send(method: Method, url: String, body: Vec<u8>) -> Result<host::HttpResponse, PluginError> {
    let r = host::send(&HttpRequest {
        method,
        url,
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        body: if body.is_empty() {
            Body::Empty
        } else {
            Body::Bytes(body)
        },
    })
    .map_err(|e| PluginError::Transient(format!("{e:?}")))?;
    match r.status {
        200..=299 => Ok(r),
        401 => Err(PluginError::AuthExpired("the token was refused".into())),
        s => Err(PluginError::Transient(format!("status {s}"))),
    }
}

fn published(body: &[u8]) -> Result<Published, PluginError> {
    let id = field(body, "id").ok_or_else(|| PluginError::Transient("no id in the answer".into()))?;
    Ok(Published {
        url: Some(format!("https://old-timer.test/p/{id}")),
        remote_id: id,
        extra_ids: vec![],
    })
}

impl Guest for OldTimer {
    fn describe() -> Description {
        Description {
            id: "old-timer".into(),
            name: "Old Timer".into(),
            default_api_base: "https://api.old-timer.test".into(),
            text: TextRules {
                max_length: 40,
                length_rule: LengthRule::Graphemes,
                max_hashtags: Some(2),
                max_mentions: None,
            },
            media: MediaRules {
                required: false,
                max_count: 0,
                mixed_kinds: false,
                rules: vec![],
            },
            features: Features {
                threads: false,
                carousels: false,
                first_comment: false,
                link_previews: false,
            },
            targeting: vec![],
            min_targeting_audience: None,
            publish_budgets: vec![RateBudget {
                max_posts: 100,
                window_seconds: 3600,
            }],
            oauth: None,
        }
    }

    fn adapt(post: Post, segment: Option<Segment>, _account: Account) -> Result<Adapted, PluginError> {
        if post.body.trim().is_empty() {
            return Err(PluginError::InvalidInput(InvalidInput {
                field: "body".into(),
                message: "write some text".into(),
            }));
        }
        let mut text: String = post.body.chars().take(40).collect();
        let mut warnings = vec![];
        if text.len() < post.body.len() {
            warnings.push(Warning {
                code: "text-truncated".into(),
                message: "cut to 40".into(),
            });
        }
        if let Some(s) = segment {
            warnings.push(Warning {
                code: "segment-seen".into(),
                message: format!("{} ({:?})", s.name, s.tone.formality),
            });
            text = text.trim_end().to_owned();
        }
        Ok(Adapted {
            length: text.chars().count() as u32,
            text,
            parts: vec![],
            hashtags: post.hashtags.into_iter().take(2).collect(),
            media: vec![],
            targeting: None,
            warnings,
        })
    }

    fn adapt_segments(
        post: Post,
        segments: Vec<Option<Segment>>,
        account: Account,
    ) -> Vec<Result<Adapted, PluginError>> {
        segments
            .into_iter()
            .map(|s| Self::adapt(post.clone(), s, account.clone()))
            .collect()
    }

    fn publish(adapted: Adapted, marker: String, context: CallContext) -> Result<Published, PluginError> {
        let body = format!(
            "text={}&marker={marker}&account={}",
            adapted.text, context.account.remote_id
        );
        let r = send(Method::Post, format!("{}/posts", context.api_base), body.into_bytes())?;
        published(&r.body)
    }

    fn find_published(
        marker: String,
        _adapted: Adapted,
        context: CallContext,
    ) -> Result<Option<Published>, PluginError> {
        let r = send(
            Method::Get,
            format!("{}/posts?marker={marker}", context.api_base),
            vec![],
        )?;
        if r.body.is_empty() {
            return Ok(None);
        }
        published(&r.body).map(Some)
    }

    fn fetch_metrics(remote_ids: Vec<String>, context: CallContext) -> Result<Vec<Metrics>, PluginError> {
        remote_ids
            .into_iter()
            .map(|id| {
                let r = send(Method::Get, format!("{}/posts/{id}", context.api_base), vec![])?;
                Ok(Metrics {
                    remote_id: id,
                    impressions: None,
                    reach: None,
                    likes: field(&r.body, "likes").and_then(|l| l.parse().ok()),
                    comments: None,
                    shares: None,
                    saves: None,
                    clicks: None,
                    video_views: None,
                })
            })
            .collect()
    }
}

export!(OldTimer);
