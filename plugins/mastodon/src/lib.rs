//! Mastodon: 500 characters, up to 4 media, threads as reply chains, no audience targeting.
//! The worked example of docs/plugins/guide.md.

use chorus_plugin_sdk::host::{Body, FormPart, MediaSlice, Method, PartBody};
use chorus_plugin_sdk::prelude::*;
use serde_json::Value;

pub struct Mastodon;

impl Plugin for Mastodon {
    fn describe() -> Description {
        Description {
            options: vec![],
            fields: vec![],
            session: None,
            id: "mastodon".into(),
            name: "Mastodon".into(),
            default_api_base: "https://mastodon.social".into(),
            text: TextRules {
                also: vec![],
                max_length: 500,
                length_rule: LengthRule::Characters,
                max_hashtags: None,
                max_mentions: None,
            },
            media: MediaRules {
                required: false,
                max_count: 4,
                mixed_kinds: false,
                rules: vec![
                    media_rule(
                        MediaKind::Image,
                        &["image/jpeg", "image/png", "image/webp"],
                        16 * 1024 * 1024,
                    ),
                    media_rule(MediaKind::Gif, &["image/gif"], 16 * 1024 * 1024),
                    media_rule(
                        MediaKind::Video,
                        &["video/mp4", "video/webm", "video/quicktime"],
                        99 * 1024 * 1024,
                    ),
                ],
            },
            features: Features {
                threads: true,
                carousels: false,
                first_comment: false,
                link_previews: true,
            },
            targeting: vec![],
            min_targeting_audience: None,
            publish_budgets: vec![RateBudget {
                max_posts: 300,
                window_seconds: 3 * 3600,
            }],
            oauth: Some(OauthSpec {
                authorize_url: "https://mastodon.social/oauth/authorize".into(),
                token_url: "https://mastodon.social/oauth/token".into(),
                scopes: vec![
                    "read:accounts".into(),
                    "read:statuses".into(),
                    "write:statuses".into(),
                    "write:media".into(),
                ],
                pkce_required: false,
                client_auth: ClientAuth::Basic,
                client_id_field: "client_id".into(),
                scope_separator: " ".into(),
            }),
        }
    }

    fn adapt(post: Post, segment: Option<Segment>, _account: Account) -> Result<Adapted, PluginError> {
        // A status per part, plus an upload and a status poll per attachment.
        let reserved = 1 + 2 * post.media.len();
        let mut rules = AdaptRules::from_description(&Self::describe()).with_parts_for_one_publish(reserved);
        rules.default_hashtags = 3;
        let mut adapted = adapt_post(&post, segment.as_ref(), &rules)?;
        adapted
            .warnings
            .extend(targeting_unsupported("Mastodon", segment.as_ref()));
        Ok(adapted)
    }

    fn publish(adapted: Adapted, marker: String, ctx: CallContext) -> Result<Published, PluginError> {
        let media_ids = adapted
            .media
            .iter()
            .map(|m| upload_media(&ctx.api_base, m))
            .collect::<Result<Vec<_>, _>>()?;
        let parts = adapted.parts_to_post();
        let mut ids: Vec<(String, Option<String>)> = Vec::new();
        for (i, text) in parts.iter().enumerate() {
            let mut body = serde_json::json!({ "status": text, "visibility": "public" });
            // Mastodon takes one ISO 639-1 code: the primary language of the text's most
            // specific tag (`en-GB` → `en`).
            if let Some(lang) = adapted.languages.first().and_then(|l| l.split('-').next()) {
                if lang.len() == 2 {
                    body["language"] = lang.to_ascii_lowercase().into();
                }
            }
            if i == 0 && !media_ids.is_empty() {
                body["media_ids"] = media_ids.clone().into();
            }
            if let Some((prev, _)) = ids.last() {
                body["in_reply_to_id"] = prev.clone().into();
            }
            // Mastodon keeps an Idempotency-Key for an hour: a retried publish returns the
            // status made the first time instead of posting twice.
            let status = Request::post(format!("{}/api/v1/statuses", ctx.api_base))
                .header("idempotency-key", format!("{marker}-{i}"))
                .json(&body)
                .send()?
                .ok()?
                .json()?;
            ids.push((str_field(&status, "id")?, status["url"].as_str().map(str::to_owned)));
        }
        let (first, url) = ids.remove(0);
        Ok(Published {
            remote_id: first,
            url,
            extra_ids: ids.into_iter().map(|(id, _)| id).collect(),
        })
    }

    fn find_published(_marker: String, adapted: Adapted, ctx: CallContext) -> Result<Option<Published>, PluginError> {
        let me = Request::get(format!("{}/api/v1/accounts/verify_credentials", ctx.api_base))
            .send()?
            .ok()?
            .json()?;
        let id = str_field(&me, "id")?;
        let recent = Request::get(format!(
            "{}/api/v1/accounts/{id}/statuses?limit=40&exclude_replies=false",
            ctx.api_base
        ))
        .send()?
        .ok()?
        .json()?;
        Ok(recent
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| same_text(&strip_html(s["content"].as_str().unwrap_or("")), &adapted.text))
            .map(|s| Published {
                remote_id: s["id"].as_str().unwrap_or_default().to_owned(),
                url: s["url"].as_str().map(str::to_owned),
                extra_ids: vec![],
            }))
    }

    fn fetch_metrics(remote_ids: Vec<String>, ctx: CallContext) -> Result<Vec<Metrics>, PluginError> {
        remote_ids
            .into_iter()
            .map(|id| {
                let s = Request::get(format!("{}/api/v1/statuses/{id}", ctx.api_base))
                    .send()?
                    .ok()?
                    .json()?;
                let n = |k: &str| s[k].as_u64();
                Ok(Metrics {
                    remote_id: id,
                    impressions: None,
                    reach: None,
                    likes: n("favourites_count"),
                    comments: n("replies_count"),
                    shares: n("reblogs_count"),
                    saves: None,
                    clicks: None,
                    video_views: None,
                })
            })
            .collect()
    }
}

chorus_plugin_sdk::export_plugin!(Mastodon);

/// Uploads one asset (`POST /api/v2/media`), then waits while the server processes it.
fn upload_media(api: &str, media_id: &str) -> Result<String, PluginError> {
    let part = FormPart {
        name: "file".into(),
        filename: Some(media_id.to_owned()),
        content_type: None,
        body: PartBody::Media(MediaSlice {
            media_id: media_id.to_owned(),
            offset: 0,
            length: None,
        }),
    };
    let resp = Request::new(Method::Post, format!("{api}/api/v2/media"))
        .body(Body::Multipart(vec![part]))
        .send()?
        .ok()?;
    let mut media = resp.json()?;
    let id = str_field(&media, "id")?;
    // 202 means "accepted, still processing": poll until the URL appears (bounded).
    for _ in 0..30 {
        if media["url"].is_string() {
            return Ok(id);
        }
        chorus_plugin_sdk::host::sleep_ms(1000);
        media = Request::get(format!("{api}/api/v1/media/{id}")).send()?.ok()?.json()?;
    }
    Err(transient(format!("media {id} was still processing after 30 s")))
}

fn str_field(v: &Value, key: &str) -> Result<String, PluginError> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| transient(format!("the answer had no \"{key}\": {v}")))
}

/// Mastodon returns HTML; compare on plain text.
fn strip_html(html: &str) -> String {
    let with_breaks = html
        .replace("<br>", "\n")
        .replace("<br />", "\n")
        .replace("</p><p>", "\n\n");
    let mut out = String::new();
    let mut in_tag = false;
    for c in with_breaks.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}
