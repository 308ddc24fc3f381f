//! Pinterest (API v5; facts and sources in docs/plugins/pinterest.md). A post is a Pin on a
//! board the person chose: from one image, 2-5 images, or a video. Pinterest fetches images
//! from the host's signed media URLs; a video is registered (`POST /v5/media`), uploaded to
//! the pre-signed bucket the registration names (the host streams the bytes), polled until
//! Pinterest has processed it, then pinned with a cover.
//!
//! The link goes on the Pin, not in its description; the title is the post's title, else its
//! first sentence. A registered video is kept in the key-value store under the delivery's
//! marker, so an attempt that ended while Pinterest was processing it is continued by the
//! next one instead of uploading again.

use chorus_plugin_sdk::adapt::{extra, field_text, option, take_links};
use chorus_plugin_sdk::host::{self, Body, FormPart, MediaSlice, Method, PartBody};
use chorus_plugin_sdk::prelude::*;
use serde_json::{Value, json};

pub struct Pinterest;

/// PinCreate's limits (Pinterest API v5 spec).
const TITLE: u32 = 100;
/// The description's limit in the v5 spec (an older 500 is widely quoted).
const DESCRIPTION: u32 = 800;
const LINK: usize = 2048;
const ALT_TEXT: usize = 500;

/// Option keys (`post.options`).
const BOARD: &str = "board";
const SECTION: &str = "board_section";

impl Plugin for Pinterest {
    fn describe() -> Description {
        let image = media_rule(
            MediaKind::Image,
            &["image/jpeg", "image/png", "image/webp", "image/gif"],
            20 * 1024 * 1024,
        );
        let video = MediaRule {
            min_duration_ms: Some(4_000),
            max_duration_ms: Some(15 * 60 * 1000),
            ..media_rule(
                MediaKind::Video,
                &["video/mp4", "video/quicktime"],
                2 * 1024 * 1024 * 1024,
            )
        };
        Description {
            id: "pinterest".into(),
            name: "Pinterest".into(),
            default_api_base: "https://api.pinterest.com".into(),
            text: TextRules {
                max_length: DESCRIPTION,
                length_rule: LengthRule::Utf16,
                also: vec![],
                max_hashtags: None,
                max_mentions: None,
            },
            fields: vec![TextField {
                name: "title".into(),
                label: "Pin title".into(),
                required: false,
                limits: vec![LengthLimit {
                    max: TITLE,
                    rule: LengthRule::Utf16,
                }],
            }],
            options: vec![
                OptionSpec {
                    key: BOARD.into(),
                    label: "Board (id)".into(),
                    required: true,
                    choices: vec![],
                },
                OptionSpec {
                    key: SECTION.into(),
                    label: "Board section (id)".into(),
                    required: false,
                    choices: vec![],
                },
            ],
            media: MediaRules {
                required: true,
                max_count: 5,
                mixed_kinds: false,
                rules: vec![image, video],
            },
            features: Features {
                threads: false,
                carousels: true,
                first_comment: false,
                link_previews: false,
            },
            targeting: vec![],
            min_targeting_audience: None,
            publish_budgets: vec![],
            oauth: Some(OauthSpec {
                authorize_url: "https://www.pinterest.com/oauth/".into(),
                token_url: "https://api.pinterest.com/v5/oauth/token".into(),
                scopes: vec![
                    "boards:read".into(),
                    "boards:write".into(),
                    "pins:read".into(),
                    "pins:write".into(),
                    "user_accounts:read".into(),
                ],
                pkce_required: false,
                client_auth: ClientAuth::Basic,
                client_id_field: "client_id".into(),
                scope_separator: ",".into(),
            }),
            session: None,
        }
    }

    fn adapt(post: Post, segment: Option<Segment>, _account: Account) -> Result<Adapted, PluginError> {
        let d = Self::describe();
        chorus_plugin_sdk::adapt::check_options(&post, &d.options)?;
        for key in [BOARD, SECTION] {
            if let Some(v) = option(&post, key)
                && !is_id(v)
            {
                return Err(invalid(
                    format!("options.{key}"),
                    format!("{v:?} is not a Pinterest id (digits only, as `GET /v5/boards` lists them)"),
                ));
            }
        }
        let (post, link) = take_links(post);
        if let Some(l) = &link
            && l.len() > LINK
        {
            return Err(invalid(
                "link",
                format!("Pinterest takes links of at most {LINK} characters"),
            ));
        }
        let mut rules = AdaptRules::from_description(&d);
        rules.default_hashtags = 5;
        rules.append_link = false;
        let mut adapted = adapt_post(&post, segment.as_ref(), &rules)?;
        if let Some(w) = targeting_unsupported("Pinterest", segment.as_ref()) {
            adapted.warnings.push(w);
        }
        // A Pin is found by its title: the post's, else its first sentence.
        let title = post
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| first_sentence(&post.body));
        if let Some((t, note)) = field_text(&d.fields[0], &title) {
            adapted.fields.push(t);
            adapted.warnings.extend(note);
        }
        if let Some(url) = link {
            adapted.extras.push(string_extra("link", "Link", url));
        }
        for key in [BOARD, SECTION] {
            if let Some(v) = option(&post, key) {
                adapted.extras.push(string_extra(key, key, v.to_owned()));
            }
        }
        Ok(adapted)
    }

    fn publish(adapted: Adapted, marker: String, ctx: CallContext) -> Result<Published, PluginError> {
        let api = format!("{}/v5", ctx.api_base);
        let media: Vec<&MediaRef> = adapted
            .media
            .iter()
            .filter_map(|id| ctx.media.iter().find(|m| &m.id == id))
            .collect();
        let source = match media.as_slice() {
            [] => return Err(invalid("media", "a Pin needs an image or a video")),
            [video] if video.kind == MediaKind::Video => {
                let media_id = upload_video(&api, video, &marker)?;
                json!({"source_type": "video_id", "media_id": media_id, "cover_image_key_frame_time": 0})
            }
            [image] => json!({"source_type": "image_url", "url": url_of(image)?}),
            images => json!({
                "source_type": "multiple_image_urls",
                "index": 0,
                "items": images.iter().take(5).map(|m| Ok(json!({"url": url_of(m)?}))).collect::<Result<Vec<_>, PluginError>>()?,
            }),
        };
        let mut pin = json!({
            "board_id": extra(&adapted, BOARD).ok_or_else(|| invalid("options.board", "a Pin needs a board"))?,
            "description": adapted.text,
            "media_source": source,
        });
        if let Some(s) = extra(&adapted, SECTION) {
            pin["board_section_id"] = s.into();
        }
        if let Some(t) = adapted.fields.iter().find(|f| f.name == "title") {
            pin["title"] = t.text.clone().into();
        }
        if let Some(l) = extra(&adapted, "link") {
            pin["link"] = l.into();
        }
        if let Some(alt) = media.first().and_then(|m| m.alt_text.as_deref()) {
            pin["alt_text"] = alt.chars().take(ALT_TEXT).collect::<String>().into();
        }
        let v = pinterest(Request::post(format!("{api}/pins")).json(&pin))?;
        host::kv_delete(&video_key(&marker));
        let id = text_of(&v, "id")?;
        Ok(Published {
            url: Some(pin_url(&id)),
            remote_id: id,
            extra_ids: vec![],
        })
    }

    /// Pinterest keeps no marker of ours: the Pin is the board's recent Pin with this
    /// description and title.
    fn find_published(_marker: String, adapted: Adapted, ctx: CallContext) -> Result<Option<Published>, PluginError> {
        let api = format!("{}/v5", ctx.api_base);
        let board = extra(&adapted, BOARD).ok_or_else(|| invalid("options.board", "a Pin needs a board"))?;
        let title = adapted
            .fields
            .iter()
            .find(|f| f.name == "title")
            .map(|f| f.text.as_str());
        let v = pinterest(Request::get(format!("{api}/boards/{board}/pins?page_size=50")))?;
        Ok(v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| {
                same_text(p["description"].as_str().unwrap_or(""), &adapted.text)
                    && title.is_none_or(|t| same_text(p["title"].as_str().unwrap_or(""), t))
            })
            .and_then(|p| p["id"].as_str())
            .map(|id| Published {
                url: Some(pin_url(id)),
                remote_id: id.to_owned(),
                extra_ids: vec![],
            }))
    }

    /// Lifetime figures of each Pin (Pinterest keeps 90 days of daily ones).
    fn fetch_metrics(remote_ids: Vec<String>, ctx: CallContext) -> Result<Vec<Metrics>, PluginError> {
        let api = format!("{}/v5", ctx.api_base);
        let now = host::now_ms();
        let start = chorus_plugin_sdk::time::utc_date(now.saturating_sub(89 * 86_400_000));
        let end = chorus_plugin_sdk::time::utc_date(now);
        remote_ids
            .into_iter()
            .map(|id| {
                let v = pinterest(Request::get(format!(
                    "{api}/pins/{id}/analytics?start_date={start}&end_date={end}\
                     &metric_types=IMPRESSION,OUTBOUND_CLICK,PIN_CLICK,SAVE,TOTAL_COMMENTS,TOTAL_REACTIONS,VIDEO_MRC_VIEW"
                )))?;
                let all = &v["all"];
                let n = |k: &str| {
                    all["summary_metrics"][k]
                        .as_u64()
                        .or_else(|| all["lifetime_metrics"][k].as_u64())
                };
                let clicks = match (n("OUTBOUND_CLICK"), n("PIN_CLICK")) {
                    (None, None) => None,
                    (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
                };
                Ok(Metrics {
                    remote_id: id,
                    impressions: n("IMPRESSION"),
                    reach: None,
                    likes: n("TOTAL_REACTIONS"),
                    comments: n("TOTAL_COMMENTS"),
                    shares: None,
                    saves: n("SAVE"),
                    clicks,
                    video_views: n("VIDEO_MRC_VIEW"),
                })
            })
            .collect()
    }
}

chorus_plugin_sdk::export_plugin!(Pinterest);

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn string_extra(key: &str, label: &str, value: String) -> Extra {
    Extra {
        key: key.into(),
        label: label.into(),
        value: Value::String(value).to_string(),
    }
}

fn pin_url(id: &str) -> String {
    format!("https://www.pinterest.com/pin/{id}/")
}

/// The first sentence of `body` (up to `.`, `!`, `?` or a line break), for a title.
fn first_sentence(body: &str) -> String {
    let end = body.find(['.', '!', '?', '\n']).map_or(body.len(), |i| i + 1);
    body[..end].trim().trim_end_matches('.').to_owned()
}

fn url_of(m: &MediaRef) -> Result<String, PluginError> {
    m.url.clone().ok_or_else(|| {
        PluginError::Denied(format!(
            "media {} has no URL Pinterest could fetch; set Chorus's media public_base_url",
            m.id
        ))
    })
}

fn text_of(v: &Value, key: &str) -> Result<String, PluginError> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| transient(format!("Pinterest answered without `{key}`: {v}")))
}

/// Sends `req` and returns the JSON answer, or Pinterest's `{code, message}` as a typed
/// error: a missing board is the person's board choice; "Unable to reach the URL" (the
/// image fetch) is transient, the next attempt signs fresh URLs.
fn pinterest(req: Request) -> Result<Value, PluginError> {
    let resp = req.send()?;
    let resp = resp.ok_with(|r| {
        let m = r.message();
        if m.contains("Board not found") || m.contains("board_id") {
            Some(invalid(BOARD_FIELD, format!("Pinterest: {m}")))
        } else if m.contains("Unable to reach the URL") {
            Some(transient(format!("Pinterest: {m}")))
        } else {
            None
        }
    })?;
    if resp.body.is_empty() {
        return Ok(Value::Null);
    }
    resp.json()
}

const BOARD_FIELD: &str = "options.board";

fn video_key(marker: &str) -> String {
    format!("pinterest-video/{marker}")
}

/// The registered media id of `video`: the one an earlier attempt uploaded (kept under the
/// marker), or a new registration and upload; then polled until Pinterest has processed it.
fn upload_video(api: &str, video: &MediaRef, marker: &str) -> Result<String, PluginError> {
    let key = video_key(marker);
    let media_id = match host::kv_get(&key).and_then(|b| String::from_utf8(b).ok()) {
        Some(id) => id,
        None => {
            let reg = pinterest(Request::post(format!("{api}/media")).json(&json!({"media_type": "video"})))?;
            let media_id = text_of(&reg, "media_id")?;
            let upload_url = text_of(&reg, "upload_url")?;
            // Every upload parameter, then the file, as the bucket's signed policy says.
            let mut parts: Vec<FormPart> = reg["upload_parameters"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| {
                    Some(FormPart {
                        name: k.clone(),
                        filename: None,
                        content_type: None,
                        body: PartBody::Bytes(v.as_str()?.as_bytes().to_vec()),
                    })
                })
                .collect();
            parts.push(FormPart {
                name: "file".into(),
                filename: Some(format!("{}.mp4", video.id)),
                content_type: Some(video.mime_type.clone()),
                body: PartBody::Media(MediaSlice {
                    media_id: video.id.clone(),
                    offset: 0,
                    length: None,
                }),
            });
            Request::new(Method::Post, upload_url)
                .body(Body::Multipart(parts))
                .send()?
                .ok()?;
            host::kv_set(&key, media_id.as_bytes())
                .map_err(|e| transient(format!("cannot keep the registered video: {e}")))?;
            media_id
        }
    };
    let budget = u64::from(chorus_plugin_sdk::call_limits().max_call_ms).min(55_000);
    let start = host::now_ms();
    let mut pause = 500u64;
    let mut polls = 0;
    loop {
        let v = pinterest(Request::get(format!("{api}/media/{media_id}")))?;
        polls += 1;
        match v["status"].as_str().unwrap_or("") {
            "succeeded" => return Ok(media_id),
            "failed" => {
                host::kv_delete(&key);
                return Err(invalid(
                    "media[0]",
                    format!("Pinterest could not process the video (media {media_id})"),
                ));
            }
            // Still waiting for the bytes after several looks: the upload never arrived.
            "registered" if polls >= 3 => {
                host::kv_delete(&key);
                return Err(transient(format!(
                    "Pinterest has not received video {media_id}; the next attempt uploads it again"
                )));
            }
            _ => {}
        }
        if host::now_ms().saturating_sub(start) + pause + 2_000 > budget {
            return Err(transient(format!(
                "Pinterest is still processing video {media_id}; the next attempt continues with it"
            )));
        }
        host::sleep_ms(pause as u32);
        pause = (pause * 2).min(5_000);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_the_first_sentence() {
        assert_eq!(first_sentence("Summer salad. Fresh and quick"), "Summer salad");
        assert_eq!(first_sentence("Which one? Tell us"), "Which one?");
        assert_eq!(first_sentence("No end"), "No end");
        assert!(is_id("549755885175") && !is_id("my-board") && !is_id(""));
    }
}
