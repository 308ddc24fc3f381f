//! Instagram (Graph API content publishing, Instagram Login; facts and sources in
//! docs/plugins/instagram.md). Instagram fetches media itself: every post is a container made
//! from the host's signed media URLs, polled until Instagram has processed it, then
//! published; a carousel is a container of 2-10 child containers. Captions do not link, so a
//! link becomes a "link in bio" call to action; hashtags can go to a first comment.
//!
//! A publish that outlives its call keeps its container id in the key-value store and the
//! next attempt continues from it (polling, then publishing) instead of making a new one.

use chorus_plugin_sdk::adapt::{extra, link_in_bio, option};
use chorus_plugin_sdk::host;
use chorus_plugin_sdk::http::urlencode;
use chorus_plugin_sdk::meta::graph;
use chorus_plugin_sdk::prelude::*;
use serde_json::Value;

pub struct Instagram;

/// The Graph API version this plugin is written against.
const GRAPH: &str = "v23.0";

/// Instagram's caption limit (characters; counted in UTF-16 units, the larger count).
const CAPTION: usize = 2200;

/// Option keys (`post.options`).
const FIRST_COMMENT: &str = "first_comment";
const HASHTAGS: &str = "hashtags";

impl Plugin for Instagram {
    fn describe() -> Description {
        let image = MediaRule {
            min_aspect_ratio: Some(0.8),
            max_aspect_ratio: Some(1.91),
            ..media_rule(MediaKind::Image, &["image/jpeg"], 8 * 1024 * 1024)
        };
        let reel = MediaRule {
            min_aspect_ratio: Some(0.01),
            max_aspect_ratio: Some(10.0),
            min_duration_ms: Some(3_000),
            max_duration_ms: Some(15 * 60 * 1000),
            // Meta's pages disagree on 300 MB and 1 GB; the smaller is kept.
            ..media_rule(MediaKind::Video, &["video/mp4", "video/quicktime"], 300 * 1024 * 1024)
        };
        Description {
            id: "instagram".into(),
            name: "Instagram".into(),
            default_api_base: "https://graph.instagram.com".into(),
            text: TextRules {
                max_length: CAPTION as u32,
                length_rule: LengthRule::Utf16,
                also: vec![],
                max_hashtags: Some(30),
                max_mentions: Some(20),
            },
            fields: vec![],
            options: vec![
                OptionSpec {
                    key: FIRST_COMMENT.into(),
                    label: "First comment".into(),
                    required: false,
                    choices: vec![],
                },
                OptionSpec {
                    key: HASHTAGS.into(),
                    label: "Hashtags in".into(),
                    required: false,
                    choices: vec!["caption".into(), "first_comment".into()],
                },
            ],
            media: MediaRules {
                required: true,
                max_count: 10,
                mixed_kinds: true,
                rules: vec![image, reel],
            },
            features: Features {
                threads: false,
                carousels: true,
                first_comment: true,
                link_previews: false,
            },
            targeting: vec![],
            min_targeting_audience: None,
            // "50 posts within a 24 hour moving period" (Media Publish reference); the
            // account's own quota is read again before each publish.
            publish_budgets: vec![RateBudget {
                max_posts: 50,
                window_seconds: 86_400,
            }],
            oauth: Some(OauthSpec {
                authorize_url: "https://www.instagram.com/oauth/authorize".into(),
                token_url: "https://api.instagram.com/oauth/access_token".into(),
                scopes: vec![
                    "instagram_business_basic".into(),
                    "instagram_business_content_publish".into(),
                    "instagram_business_manage_comments".into(),
                    "instagram_business_manage_insights".into(),
                ],
                pkce_required: false,
                client_auth: ClientAuth::RequestBody,
                client_id_field: "client_id".into(),
                scope_separator: " ".into(),
            }),
            session: None,
        }
    }

    fn adapt(post: Post, segment: Option<Segment>, _account: Account) -> Result<Adapted, PluginError> {
        let d = Self::describe();
        chorus_plugin_sdk::adapt::check_options(&post, &d.options)?;
        let (post, link) = link_in_bio(post);
        let mut rules = AdaptRules::from_description(&d);
        rules.default_hashtags = 10;
        rules.append_link = false;
        // The post's own choice, else the segment's tone.
        let to_comment = match option(&post, HASHTAGS) {
            Some(choice) => choice == "first_comment",
            None => segment
                .as_ref()
                .is_some_and(|s| s.tone.hashtag_placement == HashtagPlacement::FirstComment),
        };
        let mut adapted = adapt_post(&post, segment.as_ref(), &rules)?;
        let mut comment = option(&post, FIRST_COMMENT).map(str::to_owned);
        if to_comment && !adapted.hashtags.is_empty() {
            let tags: Vec<String> = adapted.hashtags.iter().map(|h| format!("#{h}")).collect();
            adapted.text = strip_tags(&adapted.text, &adapted.hashtags);
            adapted.length = chorus_plugin_sdk::text::measure(&adapted.text, LengthRule::Utf16) as u32;
            let tags = tags.join(" ");
            comment = Some(match comment {
                Some(c) if !c.trim().is_empty() => format!("{c}\n\n{tags}"),
                _ => tags,
            });
        }
        if let Some(url) = link {
            adapted.extras.push(Extra {
                key: "link".into(),
                label: "Link (in bio)".into(),
                value: Value::String(url).to_string(),
            });
        }
        if let Some(c) = comment.filter(|c| !c.trim().is_empty()) {
            if chorus_plugin_sdk::text::measure(&c, LengthRule::Utf16) > CAPTION {
                return Err(invalid(
                    "options.first_comment",
                    format!("a comment takes at most {CAPTION} characters"),
                ));
            }
            adapted.extras.push(Extra {
                key: "first-comment".into(),
                label: "First comment".into(),
                value: Value::String(c).to_string(),
            });
        }
        Ok(adapted)
    }

    fn publish(adapted: Adapted, marker: String, ctx: CallContext) -> Result<Published, PluginError> {
        let user = ig_user(&ctx.account)?;
        let api = format!("{}/{GRAPH}", ctx.api_base);
        let comment = extra(&adapted, "first-comment");
        let parts: Vec<String> = std::iter::once(adapted.text.clone()).chain(comment.clone()).collect();
        let mut progress = Progress::resume(&marker, &parts, |caption| find_media(&api, &user, caption))?;
        if progress.done() == 0 {
            check_quota(&api, &user)?;
            let container = container(&api, &user, &adapted, &ctx, &marker)?;
            wait_until_finished(&api, &container)?;
            progress.begin(0)?;
            let v = graph(
                "Instagram",
                Request::post(format!("{api}/{user}/media_publish?creation_id={container}")),
            )?;
            let id = text_of(&v, "id")?;
            host::kv_delete(&container_key(&marker));
            progress.posted(id)?;
        }
        if let (Some(c), 1) = (&comment, progress.done()) {
            let media = progress.last().unwrap_or_default().to_owned();
            progress.begin(1)?;
            let v = graph(
                "Instagram",
                Request::post(format!("{api}/{media}/comments?message={}", urlencode(c))),
            )?;
            progress.posted(text_of(&v, "id")?)?;
        }
        let ids = progress.finish();
        let media = ids.first().cloned().unwrap_or_default();
        let permalink = graph("Instagram", Request::get(format!("{api}/{media}?fields=permalink")))
            .ok()
            .and_then(|v| v["permalink"].as_str().map(str::to_owned));
        Ok(Published {
            remote_id: media,
            url: permalink,
            extra_ids: ids.into_iter().skip(1).collect(),
        })
    }

    /// Instagram keeps no marker of ours: the post is the account's recent media with this
    /// caption, and its first comment (when one was asked for) must be there too.
    fn find_published(_marker: String, adapted: Adapted, ctx: CallContext) -> Result<Option<Published>, PluginError> {
        let user = ig_user(&ctx.account)?;
        let api = format!("{}/{GRAPH}", ctx.api_base);
        let Some(id) = find_media(&api, &user, &adapted.text)? else {
            return Ok(None);
        };
        let mut extra_ids = vec![];
        if let Some(c) = extra(&adapted, "first-comment") {
            let v = graph("Instagram", Request::get(format!("{api}/{id}/comments?fields=id,text")))?;
            match v["data"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| same_text(m["text"].as_str().unwrap_or(""), &c))
                .and_then(|m| m["id"].as_str())
            {
                Some(cid) => extra_ids.push(cid.to_owned()),
                // The post is there, its comment is not: `publish` adds the comment.
                None => return Ok(None),
            }
        }
        let permalink = graph("Instagram", Request::get(format!("{api}/{id}?fields=permalink")))
            .ok()
            .and_then(|v| v["permalink"].as_str().map(str::to_owned));
        Ok(Some(Published {
            remote_id: id,
            url: permalink,
            extra_ids,
        }))
    }

    fn fetch_metrics(remote_ids: Vec<String>, ctx: CallContext) -> Result<Vec<Metrics>, PluginError> {
        let api = format!("{}/{GRAPH}", ctx.api_base);
        remote_ids
            .into_iter()
            .map(|id| {
                let v = graph(
                    "Instagram",
                    Request::get(format!(
                        "{api}/{id}/insights?metric=views,reach,saved,likes,comments,shares"
                    )),
                )?;
                let metric = |name: &str| chorus_plugin_sdk::meta::insight(&v, name);
                Ok(Metrics {
                    remote_id: id,
                    impressions: None,
                    reach: metric("reach"),
                    likes: metric("likes"),
                    comments: metric("comments"),
                    shares: metric("shares"),
                    saves: metric("saved"),
                    clicks: None,
                    video_views: metric("views"),
                })
            })
            .collect()
    }
}

chorus_plugin_sdk::export_plugin!(Instagram);

/// `text` without the hashtags `tags` (wherever they stand), and without the lines that
/// held only hashtags.
fn strip_tags(text: &str, tags: &[String]) -> String {
    let is_tag = |word: &str| {
        let bare = word.trim_start_matches('#');
        word.starts_with('#') && tags.iter().any(|t| t.eq_ignore_ascii_case(bare))
    };
    let lines: Vec<String> = text
        .lines()
        .map(|line| line.split(' ').filter(|w| !is_tag(w)).collect::<Vec<_>>().join(" "))
        .map(|l| l.trim_end().to_owned())
        .collect();
    let mut out = lines.join("\n");
    while out.ends_with('\n') {
        out.pop();
    }
    out.trim_end().to_owned()
}

fn ig_user(account: &Account) -> Result<String, PluginError> {
    let id = account.remote_id.trim();
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
        Ok(id.to_owned())
    } else {
        Err(invalid(
            "account.remote_id",
            format!("{id:?} is not an Instagram professional account id (digits only)"),
        ))
    }
}

fn text_of(v: &Value, key: &str) -> Result<String, PluginError> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| transient(format!("Instagram answered without `{key}`: {v}")))
}

/// Refuses early, as a rate limit, when the account's 24-hour publishing quota is spent
/// (`content_publishing_limit`): a container made now could not be published anyway.
fn check_quota(api: &str, user: &str) -> Result<(), PluginError> {
    let v = graph(
        "Instagram",
        Request::get(format!(
            "{api}/{user}/content_publishing_limit?fields=quota_usage,config"
        )),
    )?;
    let row = &v["data"][0];
    let used = row["quota_usage"].as_u64().unwrap_or(0);
    let total = row["config"]["quota_total"].as_u64().unwrap_or(50);
    if used >= total {
        return Err(PluginError::RateLimited(RateLimit {
            retry_after_seconds: 3600,
            message: format!("Instagram's publishing limit is reached: {used} of {total} posts in the last 24 hours"),
        }));
    }
    Ok(())
}

fn container_key(marker: &str) -> String {
    format!("ig-container/{marker}")
}

/// The container to publish: the one an earlier attempt made (kept under the marker), or a
/// new one: a single image, a reel, or a carousel of child containers.
fn container(api: &str, user: &str, adapted: &Adapted, ctx: &CallContext, marker: &str) -> Result<String, PluginError> {
    let key = container_key(marker);
    if let Some(id) = host::kv_get(&key).and_then(|b| String::from_utf8(b).ok()) {
        return Ok(id);
    }
    let media: Vec<&MediaRef> = adapted
        .media
        .iter()
        .filter_map(|id| ctx.media.iter().find(|m| &m.id == id))
        .collect();
    if media.is_empty() {
        return Err(invalid(
            "media",
            "Instagram publishes nothing without an image or a video",
        ));
    }
    let caption = format!("caption={}", urlencode(&adapted.text));
    let id = if let [only] = media.as_slice() {
        let source = source_param(only, false)?;
        create(api, user, &format!("{source}&{caption}"))?
    } else {
        let mut children = Vec::with_capacity(media.len());
        for m in media.iter().take(10) {
            let source = source_param(m, true)?;
            children.push(create(api, user, &format!("{source}&is_carousel_item=true"))?);
        }
        for c in &children {
            wait_until_finished(api, c)?;
        }
        create(
            api,
            user,
            &format!("media_type=CAROUSEL&children={}&{caption}", children.join(",")),
        )?
    };
    host::kv_set(&key, id.as_bytes()).map_err(|e| transient(format!("cannot keep the container id: {e}")))?;
    Ok(id)
}

/// `image_url=…` (with alt text) or `video_url=…&media_type=REELS|VIDEO`: Instagram fetches
/// the bytes from the host's signed URL.
fn source_param(m: &MediaRef, child: bool) -> Result<String, PluginError> {
    let url = m.url.as_deref().ok_or_else(|| {
        PluginError::Denied(format!(
            "media {} has no URL Instagram could fetch; set Chorus's media public_base_url",
            m.id
        ))
    })?;
    Ok(match m.kind {
        MediaKind::Video => format!(
            "video_url={}&media_type={}",
            urlencode(url),
            if child { "VIDEO" } else { "REELS" }
        ),
        _ => {
            let alt = m
                .alt_text
                .as_deref()
                .map(|a| format!("&alt_text={}", urlencode(a)))
                .unwrap_or_default();
            format!("image_url={}{alt}", urlencode(url))
        }
    })
}

fn create(api: &str, user: &str, params: &str) -> Result<String, PluginError> {
    let v = graph("Instagram", Request::post(format!("{api}/{user}/media?{params}")))?;
    text_of(&v, "id")
}

/// Polls a container's `status_code` until `FINISHED`, sleeping longer each time, within
/// the call's time (and under the host's default total of sleeps, 60 s). Still processing at
/// the end is transient (the next attempt continues from the same container); `ERROR` and
/// `EXPIRED` are typed errors.
fn wait_until_finished(api: &str, container: &str) -> Result<(), PluginError> {
    let budget = u64::from(chorus_plugin_sdk::call_limits().max_call_ms).min(55_000);
    let start = host::now_ms();
    let mut pause = 250u64;
    loop {
        let v = graph(
            "Instagram",
            Request::get(format!("{api}/{container}?fields=status_code,status")),
        )?;
        match v["status_code"].as_str().unwrap_or("") {
            "FINISHED" | "PUBLISHED" => return Ok(()),
            "ERROR" => {
                return Err(invalid(
                    "media",
                    format!(
                        "Instagram could not process the media: {}",
                        v["status"].as_str().unwrap_or("no reason given")
                    ),
                ));
            }
            "EXPIRED" => {
                return Err(transient(format!(
                    "Instagram's container {container} expired before it was published; a new one is made"
                )));
            }
            _ => {}
        }
        let spent = host::now_ms().saturating_sub(start);
        // Leave room for publishing after the last poll.
        if spent + pause + 2_000 > budget {
            return Err(transient(format!(
                "Instagram is still processing container {container}; the next attempt continues from it"
            )));
        }
        host::sleep_ms(pause as u32);
        pause = (pause * 2).min(5_000);
    }
}

/// The id of the account's recent media with `caption`.
fn find_media(api: &str, user: &str, caption: &str) -> Result<Option<String>, PluginError> {
    let v = graph(
        "Instagram",
        Request::get(format!("{api}/{user}/media?fields=id,caption,permalink&limit=50")),
    )?;
    Ok(v["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| same_text(m["caption"].as_str().unwrap_or(""), caption))
        .and_then(|m| m["id"].as_str().map(str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_leave_the_caption_when_they_go_to_the_first_comment() {
        let tags = vec!["coffee".to_owned(), "Fika".to_owned()];
        assert_eq!(
            strip_tags("Fresh roast #coffee today #fika", &tags),
            "Fresh roast today"
        );
    }
}
