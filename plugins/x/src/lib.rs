//! X (API v2): 280 by X's weighted count, threads as reply chains, up to 4 images or one
//! video or GIF through the v2 chunked upload, a hashtag or two inline, no audience
//! targeting for organic posts. Platform facts and their sources: docs/plugins/x.md.

use chorus_plugin_sdk::host::{Body, FormPart, MediaSlice, Method, PartBody};
use chorus_plugin_sdk::prelude::*;
use chorus_plugin_sdk::twitter_text;
use serde_json::{Value, json};

pub struct X;

/// Bytes per append call (X's examples and Postiz use 1 MiB; the cap is 5 MiB).
const CHUNK: u64 = 1024 * 1024;

/// Hashtags X readers tolerate: "kept few (1-2)", whatever the segment asks.
const MAX_HASHTAGS: u32 = 2;

impl Plugin for X {
    fn describe() -> Description {
        Description {
            options: vec![],
            fields: vec![],
            session: None,
            id: "x".into(),
            name: "X".into(),
            default_api_base: "https://api.x.com".into(),
            text: TextRules {
                also: vec![],
                max_length: 280,
                length_rule: LengthRule::XWeighted,
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
                        5 * 1024 * 1024,
                    ),
                    media_rule(MediaKind::Gif, &["image/gif"], 15 * 1024 * 1024),
                    MediaRule {
                        min_aspect_ratio: Some(1.0 / 3.0),
                        max_aspect_ratio: Some(3.0),
                        min_duration_ms: Some(500),
                        max_duration_ms: Some(140_000),
                        ..media_rule(MediaKind::Video, &["video/mp4", "video/quicktime"], 512 * 1024 * 1024)
                    },
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
            // POST /2/tweets: 100 per user per 15 minutes (the lower of the documented figures).
            publish_budgets: vec![RateBudget {
                max_posts: 100,
                window_seconds: 15 * 60,
            }],
            oauth: Some(OauthSpec {
                authorize_url: "https://x.com/i/oauth2/authorize".into(),
                token_url: "https://api.x.com/2/oauth2/token".into(),
                scopes: vec![
                    "tweet.read".into(),
                    "tweet.write".into(),
                    "users.read".into(),
                    "media.write".into(),
                    "offline.access".into(),
                ],
                pkce_required: true,
                client_auth: ClientAuth::Basic,
                client_id_field: "client_id".into(),
                scope_separator: " ".into(),
            }),
        }
    }

    fn adapt(post: Post, segment: Option<Segment>, _account: Account) -> Result<Adapted, PluginError> {
        // A post per part, a lookup, and per medium the upload's initialize, one append per
        // chunk, finalize and a few status polls: the thread is capped to what one publish
        // may send.
        let uploads: usize = post
            .media
            .iter()
            .map(|m| m.byte_size.div_ceil(CHUNK) as usize + 8)
            .sum();
        let mut rules = AdaptRules::from_description(&Self::describe()).with_parts_for_one_publish(1 + uploads);
        rules.max_hashtags = Some(MAX_HASHTAGS as usize);
        rules.default_hashtags = MAX_HASHTAGS as usize;
        rules.default_placement = HashtagPlacement::Inline;
        // X refuses a post holding U+FFFE, U+FEFF or U+FFFF anywhere; they are invisible.
        let visible: String = post
            .body
            .chars()
            .filter(|c| !twitter_text::is_invalid_char(*c))
            .collect();
        let removed = post.body.len() != visible.len();
        let (body, dropped) = one_cashtag(&visible);
        let post = Post { body, ..post };
        let mut adapted = adapt_post(&post, segment.as_ref(), &rules)?;
        if removed {
            adapted.warnings.push(Warning::new(
                "invalid-characters-removed",
                "X refuses U+FEFF, U+FFFE and U+FFFF: they were removed",
            ));
        }
        if dropped > 0 {
            adapted.warnings.push(Warning::new(
                "cashtags-reduced",
                format!("X allows one cashtag per post: {dropped} more became plain words"),
            ));
        }
        adapted.warnings.extend(targeting_unsupported("X", segment.as_ref()));
        Ok(adapted)
    }

    /// Posts the text (or the thread, each part a reply to the one before). Progress is
    /// kept under the marker: a retry after part 3 of 5 failed posts parts 3-5 only, as
    /// replies under part 2, and a part whose answer was lost is looked for first.
    fn publish(adapted: Adapted, marker: String, ctx: CallContext) -> Result<Published, PluginError> {
        let parts = adapted.parts_to_post();
        let mut progress = Progress::resume(&marker, &parts, |text| find_recent(&ctx, text))?;
        let media_ids = if progress.done() == 0 {
            adapted
                .media
                .iter()
                .map(|id| upload(&ctx, id))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        for (i, text) in parts.iter().enumerate().skip(progress.done()) {
            let mut body = json!({ "text": text });
            if i == 0 && !media_ids.is_empty() {
                body["media"] = json!({ "media_ids": media_ids });
            }
            if let Some(prev) = progress.last() {
                body["reply"] = json!({ "in_reply_to_tweet_id": prev });
            }
            progress.begin(i)?;
            let created = Request::post(format!("{}/2/tweets", ctx.api_base))
                .json(&body)
                .send()?
                .ok()?
                .json()?;
            progress.posted(data_str(&created, "id")?)?;
        }
        let mut ids = progress.finish();
        let first = ids.remove(0);
        Ok(Published {
            url: Some(format!("https://x.com/{}/status/{first}", ctx.account.handle)),
            remote_id: first,
            extra_ids: ids,
        })
    }

    /// X stores no marker of ours: the post is found by its text among the account's
    /// latest posts (X refuses duplicate text, so a match is the post). A thread counts as
    /// published only when every part is there; a partial one is finished by `publish`.
    fn find_published(_marker: String, adapted: Adapted, ctx: CallContext) -> Result<Option<Published>, PluginError> {
        let posts = recent(&ctx)?;
        let find = |text: &str| {
            posts
                .iter()
                .find(|t| same_text(t["text"].as_str().unwrap_or(""), text))
                .and_then(|t| t["id"].as_str().map(str::to_owned))
        };
        let Some(id) = find(&adapted.text) else {
            return Ok(None);
        };
        let extra_ids: Vec<String> = adapted.parts.iter().skip(1).map_while(|p| find(p)).collect();
        if extra_ids.len() + 1 < adapted.parts.len() {
            return Ok(None);
        }
        Ok(Some(Published {
            url: Some(format!("https://x.com/{}/status/{id}", ctx.account.handle)),
            remote_id: id,
            extra_ids,
        }))
    }

    fn fetch_metrics(remote_ids: Vec<String>, ctx: CallContext) -> Result<Vec<Metrics>, PluginError> {
        let mut out = Vec::with_capacity(remote_ids.len());
        for batch in remote_ids.chunks(100) {
            let v = Request::get(format!(
                "{}/2/tweets?ids={}&tweet.fields=public_metrics,non_public_metrics",
                ctx.api_base,
                batch.join(",")
            ))
            .send()?
            .ok()?
            .json()?;
            for t in v["data"].as_array().into_iter().flatten() {
                let p = &t["public_metrics"];
                let np = &t["non_public_metrics"];
                let n = |v: &Value, k: &str| v[k].as_u64();
                out.push(Metrics {
                    remote_id: t["id"].as_str().unwrap_or_default().to_owned(),
                    impressions: n(np, "impression_count").or(n(p, "impression_count")),
                    reach: None,
                    likes: n(p, "like_count"),
                    comments: n(p, "reply_count"),
                    shares: match (n(p, "retweet_count"), n(p, "quote_count")) {
                        (None, None) => None,
                        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
                    },
                    saves: n(p, "bookmark_count"),
                    clicks: n(np, "url_link_clicks"),
                    video_views: None,
                });
            }
        }
        Ok(out)
    }
}

chorus_plugin_sdk::export_plugin!(X);

/// Uploads one asset with the v2 chunked flow: initialize (type, size, category), append
/// 1 MiB segments, finalize, then poll STATUS while X processes video and GIFs.
fn upload(ctx: &CallContext, media_id: &str) -> Result<String, PluginError> {
    let api = &ctx.api_base;
    let m = ctx
        .media
        .iter()
        .find(|m| m.id == media_id)
        .ok_or_else(|| invalid("media", format!("the host sent no details of media {media_id}")))?;
    let category = match m.kind {
        MediaKind::Video => "tweet_video",
        MediaKind::Gif => "tweet_gif",
        _ => "tweet_image",
    };
    let init = Request::post(format!("{api}/2/media/upload/initialize"))
        .json(&json!({"media_type": m.mime_type, "total_bytes": m.byte_size, "media_category": category}))
        .send()?
        .ok()?
        .json()?;
    let id = data_str(&init, "id")?;
    let mut offset = 0;
    let mut index = 0;
    while offset < m.byte_size {
        let len = CHUNK.min(m.byte_size - offset);
        let parts = vec![
            FormPart {
                name: "segment_index".into(),
                filename: None,
                content_type: None,
                body: PartBody::Bytes(index.to_string().into_bytes()),
            },
            FormPart {
                name: "media".into(),
                filename: Some(media_id.to_owned()),
                content_type: Some("application/octet-stream".into()),
                body: PartBody::Media(MediaSlice {
                    media_id: media_id.to_owned(),
                    offset,
                    length: Some(len),
                }),
            },
        ];
        Request::new(Method::Post, format!("{api}/2/media/upload/{id}/append"))
            .body(Body::Multipart(parts))
            .send()?
            .ok()?;
        offset += len;
        index += 1;
    }
    let mut state = Request::post(format!("{api}/2/media/upload/{id}/finalize"))
        .send()?
        .ok()?
        .json()?;
    for _ in 0..60 {
        let info = &state["data"]["processing_info"];
        match info["state"].as_str() {
            None | Some("succeeded") => return Ok(id),
            Some("failed") => {
                return Err(invalid(
                    "media",
                    format!(
                        "X could not process media {media_id}: {}",
                        info["error"]["message"].as_str().unwrap_or("no reason given")
                    ),
                ));
            }
            _ => {
                let wait = info["check_after_secs"].as_u64().unwrap_or(1).clamp(1, 10);
                chorus_plugin_sdk::host::sleep_ms(wait as u32 * 1000);
                state = Request::get(format!("{api}/2/media/upload?command=STATUS&media_id={id}"))
                    .send()?
                    .ok()?
                    .json()?;
            }
        }
    }
    Err(transient(format!(
        "media {media_id} was still processing on X after 60 checks"
    )))
}

/// The account's latest posts (up to 100), newest first. The account's remote id is its
/// X user id; only an account connected without one costs a `users/me` call.
fn recent(ctx: &CallContext) -> Result<Vec<Value>, PluginError> {
    let known = &ctx.account.remote_id;
    let user = if !known.is_empty() && known.bytes().all(|b| b.is_ascii_digit()) {
        known.clone()
    } else {
        let me = Request::get(format!("{}/2/users/me", ctx.api_base))
            .send()?
            .ok()?
            .json()?;
        data_str(&me, "id")?
    };
    let recent = Request::get(format!("{}/2/users/{user}/tweets?max_results=100", ctx.api_base))
        .send()?
        .ok()?
        .json()?;
    Ok(recent["data"].as_array().cloned().unwrap_or_default())
}

/// The id of the account's recent post with this text, if there is one.
fn find_recent(ctx: &CallContext, text: &str) -> Result<Option<String>, PluginError> {
    Ok(recent(ctx)?
        .iter()
        .find(|t| same_text(t["text"].as_str().unwrap_or(""), text))
        .and_then(|t| t["id"].as_str().map(str::to_owned)))
}

fn data_str(v: &Value, key: &str) -> Result<String, PluginError> {
    v["data"][key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| transient(format!("X answered without data.{key}: {v}")))
}

/// Keeps the first cashtag (`$ACME`) and turns the others into plain words: self-serve X
/// accounts may post at most one.
fn one_cashtag(text: &str) -> (String, usize) {
    let extra = chorus_plugin_sdk::tags::cashtag_spans(text);
    let extra = extra.get(1..).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for tag in extra {
        out.push_str(&text[pos..tag.start]);
        pos = tag.start + 1; // drop the `$`
    }
    out.push_str(&text[pos..]);
    (out, extra.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> Post {
        Post {
            options: vec![],
            title: None,
            id: "p".into(),
            body: body.into(),
            link: None,
            hashtags: vec![],
            locale: "en".into(),
            media: vec![],
        }
    }

    fn account() -> Account {
        Account {
            id: "a".into(),
            handle: "acme".into(),
            remote_id: "1".into(),
            timezone: "UTC".into(),
        }
    }

    #[test]
    fn a_long_post_becomes_a_numbered_thread_within_the_weighted_limit() {
        let body = "Our spring range is here. ".repeat(20) + "Read more at example.com/spring";
        let a = X::adapt(post(&body), None, account()).unwrap();
        assert!(a.parts.len() > 1);
        for (i, p) in a.parts.iter().enumerate() {
            assert!(chorus_plugin_sdk::text::x_weighted_len(p) <= 280, "{p}");
            assert!(p.ends_with(&format!("{}/{}", i + 1, a.parts.len())), "{p}");
        }
        assert!(a.warnings.iter().any(|w| w.code == "thread-created"));
    }

    #[test]
    fn hashtags_are_two_at_most_inline_and_mentions_and_one_cashtag_stay() {
        let mut p = post("Coffee with @bean_team today: $ACME and $BEAN up, fika time");
        p.hashtags = vec!["coffee".into(), "fika".into(), "morning".into()];
        let a = X::adapt(p, None, account()).unwrap();
        assert_eq!(a.hashtags, ["coffee", "fika"]);
        assert!(a.text.contains("#Coffee with @bean_team"), "{}", a.text);
        assert!(a.text.contains("$ACME and BEAN"), "{}", a.text);
        let codes: Vec<_> = a.warnings.iter().map(|w| w.code.as_str()).collect();
        assert!(
            codes.contains(&"hashtags-dropped") && codes.contains(&"cashtags-reduced"),
            "{codes:?}"
        );
    }

    #[test]
    fn characters_x_refuses_are_removed_with_a_warning() {
        let a = X::adapt(post("Hello\u{feff} world"), None, account()).unwrap();
        assert_eq!(a.text, "Hello world");
        assert!(a.warnings.iter().any(|w| w.code == "invalid-characters-removed"));
        assert!(twitter_text::parse(&a.text).valid);
    }
}
