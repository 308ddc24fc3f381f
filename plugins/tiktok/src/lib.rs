//! TikTok (Content Posting API v2, direct post; facts and sources in docs/plugins/tiktok.md).
//!
//! Every post starts by reading the creator's info (the privacy levels this account may
//! use, whether comments, duets and stitches are off, the longest video it may post). A
//! video is then sent with `FILE_UPLOAD`: the host streams each chunk from storage to the
//! pre-signed upload URL (`PULL_FROM_URL` would need Chorus's domain verified with
//! TikTok). Photos can only be pulled by URL, so they go as `PULL_FROM_URL` from the
//! host's signed media URLs. Then the publish status is polled until TikTok has
//! published it.
//!
//! A publish that outlives its call keeps its `publish_id`, upload URL and the chunks sent
//! so far in the key-value store; the next attempt continues from there instead of
//! starting a new upload.

use chorus_plugin_sdk::adapt::{extra, field_text, link_in_bio, option};
use chorus_plugin_sdk::host::{self, Body, MediaSlice, Method};
use chorus_plugin_sdk::prelude::*;
use serde_json::{Value, json};

pub struct TikTok;

/// A video's title (its caption), in UTF-16 units. A photo post's description may be
/// 4,000; the body is held to the smaller limit, so it fits either kind.
const TITLE: u32 = 2200;
/// A photo post's title.
const PHOTO_TITLE: u32 = 90;

/// Option keys (`post.options`).
const PRIVACY: &str = "privacy_level";
const COMMENTS: &str = "comments";
const DUET: &str = "duet";
const STITCH: &str = "stitch";
const DISCLOSURE: &str = "disclosure";
const AI_GENERATED: &str = "ai_generated";

/// Privacy levels TikTok knows; each account offers some of them (creator info).
const PRIVACY_LEVELS: [&str; 4] = [
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
];

/// Chunks of a video upload. TikTok takes 5-64 MB per chunk (the last one up to 128 MB,
/// absorbing the remainder), 1-1000 chunks, and a video under 5 MB whole. Chunks are
/// 10 MB, larger for large videos so that most fit one call's requests (40 chunks: 500 MB
/// goes in 13 MB chunks), at most 64 MB (a 4 GB video takes two or three attempts).
const CHUNK: u64 = 10_000_000;
const MAX_CHUNK: u64 = 64_000_000;
const CHUNKS_PER_CALL: u64 = 40;
const MAX_CHUNKS: u64 = 1000;

impl Plugin for TikTok {
    fn describe() -> Description {
        let video = MediaRule {
            max_duration_ms: Some(10 * 60 * 1000),
            min_duration_ms: Some(1_000),
            ..media_rule(
                MediaKind::Video,
                &["video/mp4", "video/quicktime", "video/webm"],
                4 * 1024 * 1024 * 1024,
            )
        };
        let photo = media_rule(MediaKind::Image, &["image/jpeg", "image/webp"], 20 * 1024 * 1024);
        let on_off = |key: &str, label: &str| OptionSpec {
            key: key.into(),
            label: label.into(),
            required: false,
            choices: vec!["on".into(), "off".into()],
        };
        Description {
            id: "tiktok".into(),
            name: "TikTok".into(),
            default_api_base: "https://open.tiktokapis.com".into(),
            text: TextRules {
                max_length: TITLE,
                length_rule: LengthRule::Utf16,
                also: vec![],
                max_hashtags: None,
                max_mentions: None,
            },
            fields: vec![TextField {
                name: "title".into(),
                label: "Photo post title".into(),
                required: false,
                limits: vec![LengthLimit {
                    max: PHOTO_TITLE,
                    rule: LengthRule::Utf16,
                }],
            }],
            options: vec![
                // TikTok's rules for direct posting: the person picks the privacy level
                // themselves, from the account's own list; there is no default.
                OptionSpec {
                    key: PRIVACY.into(),
                    label: "Who can view".into(),
                    required: true,
                    choices: PRIVACY_LEVELS.iter().map(|s| s.to_string()).collect(),
                },
                on_off(COMMENTS, "Comments"),
                on_off(DUET, "Duet"),
                on_off(STITCH, "Stitch"),
                OptionSpec {
                    key: DISCLOSURE.into(),
                    label: "Commercial content".into(),
                    required: false,
                    choices: vec!["none".into(), "your_brand".into(), "branded_content".into()],
                },
                OptionSpec {
                    key: AI_GENERATED.into(),
                    label: "AI-generated content".into(),
                    required: false,
                    choices: vec!["yes".into(), "no".into()],
                },
            ],
            media: MediaRules {
                required: true,
                max_count: 35,
                mixed_kinds: false,
                rules: vec![video, photo],
            },
            features: Features {
                threads: false,
                carousels: true,
                first_comment: false,
                link_previews: false,
            },
            targeting: vec![],
            min_targeting_audience: None,
            // Direct-post inits: 6 per minute per user token.
            publish_budgets: vec![RateBudget {
                max_posts: 6,
                window_seconds: 60,
            }],
            oauth: Some(OauthSpec {
                authorize_url: "https://www.tiktok.com/v2/auth/authorize/".into(),
                token_url: "https://open.tiktokapis.com/v2/oauth/token/".into(),
                scopes: vec!["user.info.basic".into(), "video.publish".into(), "video.list".into()],
                pkce_required: false,
                client_auth: ClientAuth::RequestBody,
                client_id_field: "client_key".into(),
                scope_separator: ",".into(),
            }),
            session: None,
        }
    }

    fn adapt(post: Post, segment: Option<Segment>, _account: Account) -> Result<Adapted, PluginError> {
        let d = Self::describe();
        chorus_plugin_sdk::adapt::check_options(&post, &d.options)?;
        // Captions do not link on TikTok either.
        let (post, link) = link_in_bio(post);
        let mut rules = AdaptRules::from_description(&d);
        rules.default_hashtags = 5;
        rules.default_formality = Formality::Casual;
        rules.append_link = false;
        let mut adapted = adapt_post(&post, segment.as_ref(), &rules)?;
        if let Some(w) = targeting_unsupported("TikTok", segment.as_ref()) {
            adapted.warnings.push(w);
        }
        let photos = adapted_kind(&post, &adapted) == Some(MediaKind::Image);
        if photos {
            if let Some((title, note)) = post.title.as_deref().and_then(|t| field_text(&d.fields[0], t)) {
                adapted.fields.push(title);
                adapted.warnings.extend(note);
            }
        } else if post.title.as_deref().is_some_and(|t| !t.trim().is_empty()) {
            adapted.warnings.push(Warning {
                code: "field-unused".into(),
                message: "a video's caption is its title on TikTok: the separate title is left out".into(),
            });
        }
        if let Some(url) = link {
            adapted.extras.push(Extra {
                key: "link".into(),
                label: "Link (in bio)".into(),
                value: Value::String(url).to_string(),
            });
        }
        // Carried to `publish`: adapt sees the options, publish sees only the adaptation.
        for key in [PRIVACY, COMMENTS, DUET, STITCH, DISCLOSURE, AI_GENERATED] {
            if let Some(v) = option(&post, key) {
                adapted.extras.push(Extra {
                    key: key.into(),
                    label: d
                        .options
                        .iter()
                        .find(|o| o.key == key)
                        .map_or(key.into(), |o| o.label.clone()),
                    value: Value::String(v.into()).to_string(),
                });
            }
        }
        Ok(adapted)
    }

    fn publish(adapted: Adapted, marker: String, ctx: CallContext) -> Result<Published, PluginError> {
        let api = format!("{}/v2", ctx.api_base);
        let media: Vec<&MediaRef> = adapted
            .media
            .iter()
            .filter_map(|id| ctx.media.iter().find(|m| &m.id == id))
            .collect();
        let mut state = match Upload::load(&marker) {
            Some(s) => s,
            None => start(&api, &adapted, &media, &marker)?,
        };
        if let Some(video) = media.first().filter(|m| m.kind == MediaKind::Video) {
            send_chunks(&mut state, video, &marker)?;
        }
        let status = wait_for_publish(&api, &state.publish_id, &marker)?;
        host::kv_delete(&Upload::key(&marker));
        Ok(published(&ctx.account, &state.publish_id, &status))
    }

    /// TikTok keeps no marker of ours. The publish this delivery started is in the
    /// key-value store while it runs: its status says whether it was published. Without
    /// one (the answer to `init` was lost), the account's recent videos with this caption.
    fn find_published(marker: String, adapted: Adapted, ctx: CallContext) -> Result<Option<Published>, PluginError> {
        let api = format!("{}/v2", ctx.api_base);
        if let Some(state) = Upload::load(&marker) {
            let status = fetch_status(&api, &state.publish_id)?;
            return Ok(match status["status"].as_str() {
                Some("PUBLISH_COMPLETE" | "SEND_TO_USER_INBOX") => {
                    Some(published(&ctx.account, &state.publish_id, &status))
                }
                _ => None,
            });
        }
        let v = tiktok(
            Request::post(format!("{api}/video/list/?fields=id,title,video_description,share_url"))
                .json(&json!({"max_count": 20})),
        )?;
        let found = v["videos"].as_array().into_iter().flatten().find(|m| {
            ["title", "video_description"]
                .iter()
                .any(|f| m[*f].as_str().is_some_and(|t| same_text(t, &adapted.text)))
        });
        Ok(found.and_then(|m| {
            let id = m["id"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| m["id"].as_u64().map(|n| n.to_string()))?;
            Some(Published {
                url: m["share_url"].as_str().map(str::to_owned),
                remote_id: id,
                extra_ids: vec![],
            })
        }))
    }

    fn fetch_metrics(remote_ids: Vec<String>, ctx: CallContext) -> Result<Vec<Metrics>, PluginError> {
        let api = format!("{}/v2", ctx.api_base);
        // A post published before moderation finished is known by its publish id until
        // TikTok names the video.
        let mut ids = Vec::with_capacity(remote_ids.len());
        for id in &remote_ids {
            if is_publish_id(id) {
                let status = fetch_status(&api, id)?;
                ids.push((id.clone(), post_id(&status)));
            } else {
                ids.push((id.clone(), Some(id.clone())));
            }
        }
        let videos: Vec<&str> = ids.iter().filter_map(|(_, v)| v.as_deref()).collect();
        let mut out = Vec::with_capacity(ids.len());
        let mut rows = Vec::new();
        for batch in videos.chunks(20) {
            let v = tiktok(
                Request::post(format!(
                    "{api}/video/query/?fields=id,like_count,comment_count,share_count,view_count"
                ))
                .json(&json!({"filters": {"video_ids": batch}})),
            )?;
            rows.extend(v["videos"].as_array().cloned().unwrap_or_default());
        }
        for (asked, video) in ids {
            let row = video.as_deref().and_then(|vid| {
                rows.iter().find(|r| {
                    r["id"].as_str() == Some(vid) || r["id"].as_u64().map(|n| n.to_string()).as_deref() == Some(vid)
                })
            });
            let n = |k: &str| row.and_then(|r| r[k].as_u64());
            out.push(Metrics {
                remote_id: asked,
                impressions: None,
                reach: None,
                likes: n("like_count"),
                comments: n("comment_count"),
                shares: n("share_count"),
                saves: None,
                clicks: None,
                video_views: n("view_count"),
            });
        }
        Ok(out)
    }
}

chorus_plugin_sdk::export_plugin!(TikTok);

/// The kind of media the adaptation kept (TikTok posts one video, or photos).
fn adapted_kind(post: &Post, adapted: &Adapted) -> Option<MediaKind> {
    let first = adapted.media.first()?;
    post.media.iter().find(|m| &m.id == first).map(|m| m.kind)
}

/// Where a publish stands, kept under the delivery's marker between attempts.
#[derive(Debug, Clone, PartialEq)]
struct Upload {
    publish_id: String,
    /// For `FILE_UPLOAD`: where the chunks go (valid for an hour).
    upload_url: Option<String>,
    plan: Option<ChunkPlan>,
    /// Chunks TikTok acknowledged.
    sent: u64,
}

impl Upload {
    fn key(marker: &str) -> String {
        format!("tiktok-upload/{marker}")
    }

    fn load(marker: &str) -> Option<Self> {
        let v: Value = serde_json::from_slice(&host::kv_get(&Self::key(marker))?).ok()?;
        Some(Self {
            publish_id: v["publish_id"].as_str()?.to_owned(),
            upload_url: v["upload_url"].as_str().map(str::to_owned),
            plan: v["size"].as_u64().map(|size| ChunkPlan {
                size,
                chunk: v["chunk"].as_u64().unwrap_or(size),
                count: v["count"].as_u64().unwrap_or(1),
            }),
            sent: v["sent"].as_u64().unwrap_or(0),
        })
    }

    fn save(&self, marker: &str) -> Result<(), PluginError> {
        let v = json!({"publish_id": self.publish_id, "upload_url": self.upload_url, "sent": self.sent,
                       "size": self.plan.map(|p| p.size), "chunk": self.plan.map(|p| p.chunk),
                       "count": self.plan.map(|p| p.count)});
        host::kv_set(&Self::key(marker), v.to_string().as_bytes())
            .map_err(|e| transient(format!("cannot keep the upload's progress: {e}")))
    }
}

/// How a video of `size` bytes is cut: `count` chunks of `chunk` bytes, the last one
/// taking the remainder too (TikTok's `total_chunk_count = floor(video_size / chunk_size)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChunkPlan {
    size: u64,
    chunk: u64,
    count: u64,
}

impl ChunkPlan {
    /// Whole up to one chunk's size; else chunks of 10-64 MB (see [`CHUNK`]), the remainder
    /// going with the last one.
    fn for_size(size: u64) -> Self {
        if size <= CHUNK {
            return Self {
                size,
                chunk: size,
                count: 1,
            };
        }
        let chunk = CHUNK
            .max(size.div_ceil(CHUNKS_PER_CALL))
            .min(MAX_CHUNK)
            .max(size.div_ceil(MAX_CHUNKS));
        Self {
            size,
            chunk,
            count: size / chunk,
        }
    }

    /// The byte range of chunk `i` (0-based), end exclusive.
    fn range(&self, i: u64) -> (u64, u64) {
        let first = i * self.chunk;
        let end = if i + 1 == self.count {
            self.size
        } else {
            first + self.chunk
        };
        (first, end)
    }
}

fn is_publish_id(id: &str) -> bool {
    id.starts_with("v_pub") || id.starts_with("p_pub")
}

/// Sends `req` and returns the answer's `data`, or TikTok's error (`{"error": {"code",
/// "message", "log_id"}}`, on errors and, for some refusals, on a 200) as a typed error.
fn tiktok(req: Request) -> Result<Value, PluginError> {
    let resp = req.send()?;
    let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let code = v["error"]["code"]
        .as_str()
        .unwrap_or(if (200..300).contains(&resp.status) { "ok" } else { "" });
    if code == "ok" && (200..300).contains(&resp.status) {
        return Ok(v["data"].clone());
    }
    let message = format!(
        "TikTok: {}{}",
        v["error"]["message"].as_str().filter(|m| !m.is_empty()).unwrap_or(code),
        v["error"]["log_id"]
            .as_str()
            .map(|l| format!(" (log id {l})"))
            .unwrap_or_default()
    );
    Err(match code {
        "access_token_invalid" => PluginError::AuthExpired(message),
        "scope_not_authorized" | "scope_permission_missed" => {
            PluginError::Denied(format!("{message}; reconnect the account and grant video.publish"))
        }
        "rate_limit_exceeded" => PluginError::RateLimited(RateLimit {
            retry_after_seconds: chorus_plugin_sdk::http::retry_after(&resp),
            message,
        }),
        // TikTok's cap on posts per creator per day.
        "spam_risk_too_many_posts" | "spam_risk_too_many_pending_share" => PluginError::RateLimited(RateLimit {
            retry_after_seconds: 3600,
            message,
        }),
        "spam_risk_user_banned_from_posting"
        | "reached_active_user_cap"
        | "unaudited_client_can_only_post_to_private_accounts"
        | "url_ownership_unverified" => PluginError::Denied(message),
        "privacy_level_option_mismatch" => invalid(PRIVACY_FIELD, message),
        "internal_error" => PluginError::Transient(message),
        _ => error_from_status(&resp, &message),
    })
}

const PRIVACY_FIELD: &str = "options.privacy_level";

/// Reads the creator's info, checks the post against it, and starts the publish (video
/// `FILE_UPLOAD` or photos `PULL_FROM_URL`); the state is kept before anything is sent.
fn start(api: &str, adapted: &Adapted, media: &[&MediaRef], marker: &str) -> Result<Upload, PluginError> {
    let creator = tiktok(Request::post(format!("{api}/post/publish/creator_info/query/")).json(&json!({})))?;
    let offered: Vec<&str> = creator["privacy_level_options"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let privacy = extra(adapted, PRIVACY).ok_or_else(|| invalid(PRIVACY_FIELD, "TikTok needs a privacy level"))?;
    if !offered.contains(&privacy.as_str()) {
        return Err(invalid(
            PRIVACY_FIELD,
            format!(
                "{privacy} is not offered by @{}; it offers {}",
                creator["creator_username"].as_str().unwrap_or("this account"),
                offered.join(", ")
            ),
        ));
    }
    // What the creator switched off in the app stays off.
    let off = |key: &str, creator_off: &str| {
        creator[creator_off].as_bool() == Some(true) || extra(adapted, key).as_deref() == Some("off")
    };
    let disclosure = extra(adapted, DISCLOSURE);
    let mut post_info = json!({
        "privacy_level": privacy,
        "disable_comment": off(COMMENTS, "comment_disabled"),
        "brand_content_toggle": disclosure.as_deref() == Some("branded_content"),
        "brand_organic_toggle": disclosure.as_deref() == Some("your_brand"),
    });
    let Some(first) = media.first() else {
        return Err(invalid(
            "media",
            "TikTok posts a video or photos; this post has neither",
        ));
    };
    let state = if first.kind == MediaKind::Video {
        let max_s = creator["max_video_post_duration_sec"].as_u64().unwrap_or(600);
        if let Some(ms) = first.duration_ms
            && u64::from(ms) > max_s * 1000
        {
            return Err(invalid(
                "media[0]",
                format!(
                    "the video lasts {} s; this account may post at most {max_s} s",
                    u64::from(ms).div_ceil(1000)
                ),
            ));
        }
        post_info["title"] = adapted.text.clone().into();
        post_info["disable_duet"] = off(DUET, "duet_disabled").into();
        post_info["disable_stitch"] = off(STITCH, "stitch_disabled").into();
        post_info["is_aigc"] = (extra(adapted, AI_GENERATED).as_deref() == Some("yes")).into();
        let plan = ChunkPlan::for_size(first.byte_size);
        let data = tiktok(Request::post(format!("{api}/post/publish/video/init/")).json(&json!({
            "post_info": post_info,
            "source_info": {"source": "FILE_UPLOAD", "video_size": plan.size,
                            "chunk_size": plan.chunk, "total_chunk_count": plan.count},
        })))?;
        Upload {
            publish_id: text_of(&data, "publish_id")?,
            upload_url: Some(text_of(&data, "upload_url")?),
            plan: Some(plan),
            sent: 0,
        }
    } else {
        let urls = media
            .iter()
            .map(|m| {
                m.url.clone().ok_or_else(|| {
                    PluginError::Denied(format!(
                        "media {} has no URL TikTok could pull; set Chorus's media public_base_url (a domain verified with TikTok)",
                        m.id
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        post_info["description"] = adapted.text.clone().into();
        if let Some(t) = adapted.fields.iter().find(|f| f.name == "title") {
            post_info["title"] = t.text.clone().into();
        }
        let data = tiktok(Request::post(format!("{api}/post/publish/content/init/")).json(&json!({
            "post_info": post_info,
            "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": urls},
            "post_mode": "DIRECT_POST",
            "media_type": "PHOTO",
        })))?;
        Upload {
            publish_id: text_of(&data, "publish_id")?,
            upload_url: None,
            plan: None,
            sent: 0,
        }
    };
    state.save(marker)?;
    Ok(state)
}

/// PUTs the chunks TikTok has not acknowledged, each streamed by the host from storage.
fn send_chunks(state: &mut Upload, video: &MediaRef, marker: &str) -> Result<(), PluginError> {
    let (Some(url), Some(plan)) = (state.upload_url.clone(), state.plan) else {
        return Ok(());
    };
    // What one call may send, less creator info, init and a few status reads: the rest of a
    // very large video goes in the next attempt, from the chunk reached.
    let room = u64::from(chorus_plugin_sdk::call_limits().publish_max_requests).saturating_sub(8);
    let mut sent_now = 0;
    while state.sent < plan.count {
        if sent_now >= room.max(1) {
            return Err(transient(format!(
                "uploaded {} of {} chunks to TikTok; the next attempt continues from there",
                state.sent, plan.count
            )));
        }
        sent_now += 1;
        let (first, end) = plan.range(state.sent);
        let resp = Request::new(Method::Put, url.clone())
            .header("content-type", video.mime_type.clone())
            .header("content-range", format!("bytes {first}-{}/{}", end - 1, plan.size))
            .body(Body::Media(MediaSlice {
                media_id: video.id.clone(),
                offset: first,
                length: Some(end - first),
            }))
            .send()?;
        match resp.status {
            201 | 206 => state.sent += 1,
            // TikTok already has more (an answer was lost): continue from what it says.
            416 => match acknowledged(&resp, plan) {
                Some(n) if n != state.sent => state.sent = n,
                _ => {
                    return Err(transient(format!(
                        "TikTok refused chunk {} of {} as out of order and did not say how far it got",
                        state.sent + 1,
                        plan.count
                    )));
                }
            },
            403 | 404 => {
                // The upload URL expired (an hour) or the task is gone: start again.
                host::kv_delete(&Upload::key(marker));
                return Err(transient(format!(
                    "TikTok's upload URL is no longer valid ({}); the next attempt starts a new upload",
                    resp.status
                )));
            }
            _ => {
                resp.ok()?;
            }
        }
        state.save(marker)?;
    }
    Ok(())
}

/// How many chunks TikTok holds, from its `Content-Range: bytes 0-{last}/{total}`.
fn acknowledged(resp: &Response, plan: ChunkPlan) -> Option<u64> {
    let range = resp.header("content-range")?.trim().strip_prefix("bytes ")?;
    let last: u64 = range.split('/').next()?.split('-').nth(1)?.trim().parse().ok()?;
    let held = last + 1;
    (0..plan.count)
        .find(|&i| plan.range(i).0 == held)
        .or((held >= plan.size).then_some(plan.count))
}

fn fetch_status(api: &str, publish_id: &str) -> Result<Value, PluginError> {
    tiktok(Request::post(format!("{api}/post/publish/status/fetch/")).json(&json!({"publish_id": publish_id})))
}

/// Polls the publish status until TikTok has published it, sleeping longer each time (its
/// limit is 30 reads a minute), within the call's time. Still processing at the end is
/// transient (the next attempt polls the same publish); a failure is typed by its reason.
fn wait_for_publish(api: &str, publish_id: &str, marker: &str) -> Result<Value, PluginError> {
    let budget = u64::from(chorus_plugin_sdk::call_limits().max_call_ms).min(55_000);
    let start = host::now_ms();
    let mut pause = 1_000u64;
    loop {
        let v = fetch_status(api, publish_id)?;
        match v["status"].as_str().unwrap_or("") {
            "PUBLISH_COMPLETE" | "SEND_TO_USER_INBOX" => return Ok(v),
            "FAILED" => {
                host::kv_delete(&Upload::key(marker));
                return Err(failure(v["fail_reason"].as_str().unwrap_or("no reason given")));
            }
            _ => {}
        }
        if host::now_ms().saturating_sub(start) + pause > budget {
            return Err(transient(format!(
                "TikTok is still processing publish {publish_id}; the next attempt continues with it"
            )));
        }
        host::sleep_ms(pause as u32);
        pause = (pause * 2).min(5_000);
    }
}

/// A failed publish, by TikTok's `fail_reason`.
fn failure(reason: &str) -> PluginError {
    let says = format!("TikTok did not publish the post: {reason}");
    match reason {
        "file_format_check_failed"
        | "duration_check_failed"
        | "frame_rate_check_failed"
        | "picture_size_check_failed" => invalid("media", says),
        "spam_risk_too_many_posts" => PluginError::RateLimited(RateLimit {
            retry_after_seconds: 3600,
            message: says,
        }),
        "auth_removed" => PluginError::AuthExpired(says),
        "spam_risk_user_banned_from_posting" | "spam_risk_text" | "spam_risk" => PluginError::Denied(says),
        "publish_cancelled" => invalid("post", says),
        // internal, video_pull_failed, photo_pull_failed: try again with a new publish.
        _ => PluginError::Transient(says),
    }
}

/// The video's id, once TikTok has one (public posts, after moderation).
fn post_id(status: &Value) -> Option<String> {
    let first = status["publicaly_available_post_id"].as_array()?.first()?;
    first
        .as_str()
        .map(str::to_owned)
        .or_else(|| first.as_u64().map(|n| n.to_string()))
}

/// The video's id and URL when TikTok names it, else the publish id (which
/// `fetch_metrics` resolves later).
fn published(account: &Account, publish_id: &str, status: &Value) -> Published {
    match post_id(status) {
        Some(id) => Published {
            url: Some(format!(
                "https://www.tiktok.com/@{}/video/{id}",
                account.handle.trim_start_matches('@')
            )),
            remote_id: id,
            extra_ids: vec![publish_id.to_owned()],
        },
        None => Published {
            remote_id: publish_id.to_owned(),
            url: None,
            extra_ids: vec![],
        },
    }
}

fn text_of(v: &Value, key: &str) -> Result<String, PluginError> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| transient(format!("TikTok answered without `{key}`: {v}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1_000_000;

    #[test]
    fn chunk_plans_follow_tiktoks_arithmetic() {
        // TikTok's own example: 50,000,123 bytes in 5 chunks of 10,000,000.
        assert_eq!(
            ChunkPlan::for_size(50_000_123),
            ChunkPlan {
                size: 50_000_123,
                chunk: 10 * MB,
                count: 5
            }
        );
        let p = ChunkPlan::for_size(50_000_123);
        assert_eq!(p.range(0), (0, 10 * MB));
        assert_eq!(p.range(4), (40 * MB, 50_000_123), "the last chunk takes the remainder");
        // Small videos go whole.
        assert_eq!(ChunkPlan::for_size(3 * MB).count, 1);
        assert_eq!(ChunkPlan::for_size(3 * MB).range(0), (0, 3 * MB));
        // 15 MB: one chunk of 10 MB whose remainder rides along (15 MB in one PUT).
        let p = ChunkPlan::for_size(15 * MB);
        assert_eq!((p.count, p.range(0)), (1, (0, 15 * MB)));
        // Large videos take larger chunks, so most fit one call's requests.
        let p = ChunkPlan::for_size(500 * 1024 * 1024);
        assert_eq!((p.chunk, p.count), (13_107_200, 40));
        let p = ChunkPlan::for_size(4 * 1024 * 1024 * 1024);
        assert_eq!((p.chunk, p.count), (MAX_CHUNK, 67));
        // Every plan: 1-1000 chunks, 5-64 MB each, the last at most 128 MB.
        for size in [
            5 * MB + 1,
            10 * MB + 1,
            64 * MB,
            500 * MB,
            4_000 * MB,
            4 * 1024 * 1024 * 1024,
        ] {
            let p = ChunkPlan::for_size(size);
            assert!((1..=MAX_CHUNKS).contains(&p.count), "{size}: {p:?}");
            let whole = p.count == 1 && p.chunk == size && size <= 64 * 1024 * 1024;
            assert!(
                whole || (p.chunk >= 5 * 1024 * 1024 && p.chunk <= 64 * 1024 * 1024),
                "{size}: {p:?}"
            );
            let (first, end) = p.range(p.count - 1);
            assert_eq!(end, size);
            assert!(end - first <= 128 * 1024 * 1024, "{size}: {p:?}");
            assert_eq!(p.count, size / p.chunk);
        }
    }
}
