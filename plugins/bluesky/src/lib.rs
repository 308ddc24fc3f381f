//! Bluesky (AT Protocol): 300 graphemes and 3,000 UTF-8 bytes per post, links, mentions and
//! tags as facets with byte ranges, threads as reply chains, up to 4 images, app-password
//! sessions, accounts on any PDS. The worked example of contract 0.2.0 in
//! docs/plugins/bluesky.md.

use chorus_plugin_sdk::host::{Body, MediaSlice};
use chorus_plugin_sdk::prelude::*;
use chorus_plugin_sdk::progress::Progress;
use chorus_plugin_sdk::time::now_rfc3339;
use serde_json::{Value, json};

pub struct Bluesky;

const POST: &str = "app.bsky.feed.post";

impl Plugin for Bluesky {
    fn describe() -> Description {
        Description {
            options: vec![],
            id: "bluesky".into(),
            name: "Bluesky".into(),
            default_api_base: "https://bsky.social".into(),
            text: TextRules {
                max_length: 300,
                length_rule: LengthRule::Graphemes,
                also: vec![LengthLimit {
                    max: 3000,
                    rule: LengthRule::Utf8Bytes,
                }],
                max_hashtags: None,
                max_mentions: None,
            },
            fields: vec![],
            media: MediaRules {
                required: false,
                max_count: 4,
                mixed_kinds: false,
                rules: vec![media_rule(
                    MediaKind::Image,
                    &["image/jpeg", "image/png", "image/webp"],
                    1_000_000,
                )],
            },
            features: Features {
                threads: true,
                carousels: false,
                first_comment: false,
                link_previews: true,
            },
            targeting: vec![],
            min_targeting_audience: None,
            // 5,000 points an hour and 35,000 a day per account; a created record costs 3.
            publish_budgets: vec![
                RateBudget {
                    max_posts: 1666,
                    window_seconds: 3600,
                },
                RateBudget {
                    max_posts: 11_666,
                    window_seconds: 86_400,
                },
            ],
            oauth: None,
            session: Some(SessionSpec {
                create_path: "/xrpc/com.atproto.server.createSession".into(),
                identifier_field: "identifier".into(),
                password_field: "password".into(),
                access_token_field: "accessJwt".into(),
                refresh_token_field: Some("refreshJwt".into()),
                refresh_path: Some("/xrpc/com.atproto.server.refreshSession".into()),
                identifier_label: "Handle or email, and an app password".into(),
            }),
        }
    }

    fn adapt(post: Post, segment: Option<Segment>, _account: Account) -> Result<Adapted, PluginError> {
        // One publish sends a request per part, plus a lookup, an upload per image and a
        // handle resolution per mention: the thread is capped to what fits.
        let reserved = 1 + post.media.len() + chorus_plugin_sdk::tags::mention_spans(&post.body).len();
        let mut rules = AdaptRules::from_description(&Self::describe()).with_parts_for_one_publish(reserved);
        rules.default_hashtags = 3;
        let mut adapted = adapt_post(&post, segment.as_ref(), &rules)?;
        adapted
            .warnings
            .extend(targeting_unsupported("Bluesky", segment.as_ref()));
        let parts = adapted.parts_to_post();
        adapted.extras.push(Extra {
            key: "facets".into(),
            label: "Links, mentions and tags (UTF-8 byte ranges)".into(),
            value: Value::Array(parts.iter().map(|p| facets_of(p)).collect()).to_string(),
        });
        Ok(adapted)
    }

    /// Posts the text (or the thread, each part a reply with the thread's root and the part
    /// before). Progress is kept under the marker, as X's plugin does: a retry continues
    /// after the last confirmed part.
    fn publish(adapted: Adapted, marker: String, ctx: CallContext) -> Result<Published, PluginError> {
        let parts = adapted.parts_to_post();
        let facets = stored_facets(&adapted, &parts);
        let mut progress = Progress::resume(&marker, &parts, |text| {
            Ok(find_recent(&ctx, text)?.map(|r| r.to_string()))
        })?;
        let images = if progress.done() == 0 {
            adapted
                .media
                .iter()
                .map(|id| upload(&ctx, id))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        let root = progress.ids().first().map(|s| Ref::parse(s));
        let mut root = root.flatten();
        for (i, text) in parts.iter().enumerate().skip(progress.done()) {
            let mut record = json!({
                "$type": POST,
                "text": text,
                "createdAt": now_rfc3339(),
            });
            let langs: Vec<&String> = adapted.languages.iter().take(3).collect();
            if !langs.is_empty() {
                record["langs"] = json!(langs);
            }
            let resolved = resolve_facets(&ctx, facets.get(i).cloned().unwrap_or_default())?;
            if !resolved.is_empty() {
                record["facets"] = Value::Array(resolved);
            }
            if let (Some(root), Some(parent)) = (&root, progress.last().and_then(Ref::parse)) {
                record["reply"] = json!({ "root": root.json(), "parent": parent.json() });
            }
            if i == 0 && !images.is_empty() {
                record["embed"] = json!({ "$type": "app.bsky.embed.images", "images": images });
            }
            progress.begin(i)?;
            let created = xrpc_post(
                &ctx,
                "com.atproto.repo.createRecord",
                &json!({ "repo": repo(&ctx), "collection": POST, "record": record }),
            )?;
            let made = Ref {
                uri: str_field(&created, "uri")?,
                cid: str_field(&created, "cid")?,
            };
            if root.is_none() {
                root = Some(made.clone());
            }
            progress.posted(made.to_string())?;
        }
        let uris: Vec<String> = progress
            .finish()
            .iter()
            .filter_map(|s| Ref::parse(s))
            .map(|r| r.uri)
            .collect();
        let (first, rest) = uris.split_first().ok_or_else(|| transient("nothing was posted"))?;
        Ok(Published {
            url: web_url(first),
            remote_id: first.clone(),
            extra_ids: rest.to_vec(),
        })
    }

    /// Bluesky stores no marker of ours: the post is found by its text among the account's
    /// latest posts; a thread counts only when every part is there (`publish` finishes a
    /// partial one).
    fn find_published(_marker: String, adapted: Adapted, ctx: CallContext) -> Result<Option<Published>, PluginError> {
        let feed = author_feed(&ctx)?;
        let mut uris = Vec::new();
        for part in adapted.parts_to_post() {
            match feed
                .iter()
                .find(|p| same_text(p["record"]["text"].as_str().unwrap_or(""), &part))
            {
                Some(p) => uris.push(p["uri"].as_str().unwrap_or_default().to_owned()),
                None => return Ok(None),
            }
        }
        let (first, rest) = uris.split_first().ok_or_else(|| transient("an empty adaptation"))?;
        Ok(Some(Published {
            url: web_url(first),
            remote_id: first.clone(),
            extra_ids: rest.to_vec(),
        }))
    }

    fn fetch_metrics(remote_ids: Vec<String>, ctx: CallContext) -> Result<Vec<Metrics>, PluginError> {
        let mut out = Vec::new();
        for chunk in remote_ids.chunks(25) {
            let query: Vec<String> = chunk
                .iter()
                .map(|u| format!("uris={}", chorus_plugin_sdk::http::urlencode(u)))
                .collect();
            let answer = xrpc_get(&ctx, &format!("app.bsky.feed.getPosts?{}", query.join("&")))?;
            for p in answer["posts"].as_array().into_iter().flatten() {
                let n = |k: &str| p[k].as_u64();
                out.push(Metrics {
                    remote_id: p["uri"].as_str().unwrap_or_default().to_owned(),
                    impressions: None,
                    reach: None,
                    likes: n("likeCount"),
                    comments: n("replyCount"),
                    shares: Some(n("repostCount").unwrap_or(0) + n("quoteCount").unwrap_or(0)),
                    saves: None,
                    clicks: None,
                    video_views: None,
                });
            }
        }
        Ok(out)
    }
}

chorus_plugin_sdk::export_plugin!(Bluesky);

/// A record's strong reference: what a reply points at.
#[derive(Debug, Clone, PartialEq)]
struct Ref {
    uri: String,
    cid: String,
}

impl Ref {
    /// From the form progress keeps (`uri cid`).
    fn parse(s: &str) -> Option<Self> {
        let (uri, cid) = s.split_once(' ')?;
        Some(Self {
            uri: uri.into(),
            cid: cid.into(),
        })
    }
    fn json(&self) -> Value {
        json!({ "uri": self.uri, "cid": self.cid })
    }
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.uri, self.cid)
    }
}

/// The facets of one part, as the preview shows them: byte ranges, and what each marks
/// (a link's URI, a tag, or a mention's handle, resolved to a DID when publishing).
fn facets_of(text: &str) -> Value {
    let list: Vec<Value> = spans(text)
        .into_iter()
        .filter_map(|s| {
            let feature = match s.kind {
                SpanKind::Link if s.value.contains("://") => json!({ "link": s.value }),
                SpanKind::Link => json!({ "link": format!("https://{}", s.value) }),
                SpanKind::Hashtag => json!({ "tag": s.value }),
                SpanKind::Mention => json!({ "mention": s.value }),
                // Bluesky has no cashtag facet: it stays plain text.
                SpanKind::Cashtag => return None,
            };
            let mut f = json!({ "byteStart": s.bytes.start, "byteEnd": s.bytes.end });
            if let (Some(o), Some(add)) = (f.as_object_mut(), feature.as_object()) {
                o.extend(add.clone());
            }
            Some(f)
        })
        .collect();
    Value::Array(list)
}

/// The facets `adapt` computed (what the preview showed), else computed again for an
/// adaptation stored without them.
fn stored_facets(a: &Adapted, parts: &[String]) -> Vec<Vec<Value>> {
    let stored = a
        .extras
        .iter()
        .find(|e| e.key == "facets")
        .and_then(|e| serde_json::from_str::<Vec<Vec<Value>>>(&e.value).ok())
        .filter(|f| f.len() == parts.len());
    stored.unwrap_or_else(|| {
        parts
            .iter()
            .map(|p| facets_of(p).as_array().cloned().unwrap_or_default())
            .collect()
    })
}

/// Facets in the lexicon's shape; a mention whose handle does not resolve stays plain text.
fn resolve_facets(ctx: &CallContext, facets: Vec<Value>) -> Result<Vec<Value>, PluginError> {
    let mut out = Vec::new();
    for f in facets {
        let feature = if let Some(uri) = f["link"].as_str() {
            json!({ "$type": "app.bsky.richtext.facet#link", "uri": uri })
        } else if let Some(tag) = f["tag"].as_str() {
            json!({ "$type": "app.bsky.richtext.facet#tag", "tag": tag })
        } else if let Some(handle) = f["mention"].as_str() {
            match resolve_handle(ctx, handle)? {
                Some(did) => json!({ "$type": "app.bsky.richtext.facet#mention", "did": did }),
                None => continue,
            }
        } else {
            continue;
        };
        out.push(json!({
            "index": { "byteStart": f["byteStart"], "byteEnd": f["byteEnd"] },
            "features": [feature],
        }));
    }
    Ok(out)
}

fn resolve_handle(ctx: &CallContext, handle: &str) -> Result<Option<String>, PluginError> {
    let url = format!(
        "{}/xrpc/com.atproto.identity.resolveHandle?handle={}",
        ctx.api_base,
        chorus_plugin_sdk::http::urlencode(handle)
    );
    let r = Request::get(url).send()?;
    if r.status == 400 {
        return Ok(None); // "Unable to resolve handle": not a Bluesky account
    }
    let v = r.ok_with(bluesky_error)?.json()?;
    Ok(v["did"].as_str().map(str::to_owned))
}

/// The repo to write to: the account's DID, else its handle.
fn repo(ctx: &CallContext) -> String {
    if ctx.account.remote_id.starts_with("did:") {
        ctx.account.remote_id.clone()
    } else {
        ctx.account.handle.clone()
    }
}

/// `at://did/app.bsky.feed.post/rkey` → `https://bsky.app/profile/did/post/rkey`.
fn web_url(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("at://")?;
    let (did, rkey) = rest.split_once(&format!("/{POST}/"))?;
    Some(format!("https://bsky.app/profile/{did}/post/{rkey}"))
}

/// XRPC errors: an expired or revoked session token comes back as a 400.
fn bluesky_error(r: &Response) -> Option<PluginError> {
    let v: Value = serde_json::from_slice(&r.body).ok()?;
    match v["error"].as_str()? {
        "ExpiredToken" | "InvalidToken" | "AuthMissing" => Some(PluginError::AuthExpired(r.message())),
        "BlobTooLarge" => Some(invalid("media", r.message())),
        "InvalidRequest" if r.status == 400 => Some(invalid("record", r.message())),
        _ => None,
    }
}

fn xrpc_post(ctx: &CallContext, method: &str, body: &Value) -> Result<Value, PluginError> {
    Request::post(format!("{}/xrpc/{method}", ctx.api_base))
        .json(body)
        .send()?
        .ok_with(bluesky_error)?
        .json()
}

fn xrpc_get(ctx: &CallContext, path: &str) -> Result<Value, PluginError> {
    Request::get(format!("{}/xrpc/{path}", ctx.api_base))
        .send()?
        .ok_with(bluesky_error)?
        .json()
}

fn str_field(v: &Value, k: &str) -> Result<String, PluginError> {
    v[k].as_str()
        .map(str::to_owned)
        .ok_or_else(|| transient(format!("the answer has no {k}")))
}

fn author_feed(ctx: &CallContext) -> Result<Vec<Value>, PluginError> {
    let path = format!(
        "app.bsky.feed.getAuthorFeed?actor={}&limit=50",
        chorus_plugin_sdk::http::urlencode(&repo(ctx))
    );
    Ok(xrpc_get(ctx, &path)?["feed"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| item["post"].clone())
        .collect())
}

/// A part whose answer was lost: is it among the latest posts?
fn find_recent(ctx: &CallContext, text: &str) -> Result<Option<Ref>, PluginError> {
    Ok(author_feed(ctx)?
        .iter()
        .find(|p| same_text(p["record"]["text"].as_str().unwrap_or(""), text))
        .and_then(|p| {
            Some(Ref {
                uri: p["uri"].as_str()?.to_owned(),
                cid: p["cid"].as_str()?.to_owned(),
            })
        }))
}

/// Uploads one image (`com.atproto.repo.uploadBlob`, the bytes streamed by the host) and
/// returns its entry for an images embed.
fn upload(ctx: &CallContext, media_id: &str) -> Result<Value, PluginError> {
    let m = ctx
        .media
        .iter()
        .find(|m| m.id == media_id)
        .ok_or_else(|| invalid("media", format!("media {media_id} is not described in the call")))?;
    let blob = Request::post(format!("{}/xrpc/com.atproto.repo.uploadBlob", ctx.api_base))
        .header("content-type", m.mime_type.clone())
        .body(Body::Media(MediaSlice {
            media_id: media_id.into(),
            offset: 0,
            length: None,
        }))
        .send()?
        .ok_with(bluesky_error)?
        .json()?;
    Ok(json!({ "image": blob["blob"], "alt": m.alt_text.clone().unwrap_or_default() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> Post {
        Post::from_text(body)
    }

    fn account() -> Account {
        Account {
            id: "a".into(),
            handle: "chorus.bsky.social".into(),
            remote_id: "did:plc:chorus".into(),
            timezone: "UTC".into(),
        }
    }

    #[test]
    fn both_limits_hold_and_the_facets_point_at_what_they_mark() {
        // Two-byte letters: 300 graphemes would be 600+ bytes, fine; emoji are 4 bytes each.
        let body = format!(
            "Grüße @alice.bsky.social! See https://example.com/x #Rust {}",
            "🎉 ".repeat(400)
        );
        let a = Bluesky::adapt(post(&body), None, account()).unwrap();
        let parts = a.parts_to_post();
        assert!(parts.len() > 1, "a thread");
        for p in &parts {
            assert!(
                chorus_plugin_sdk::text::grapheme_len(p) <= 300 && p.len() <= 3000,
                "{p}"
            );
        }
        let facets: Vec<Vec<Value>> = serde_json::from_str(&a.extras[0].value).unwrap();
        assert_eq!(facets.len(), parts.len());
        let first = &parts[0];
        let marked =
            |f: &Value| &first[f["byteStart"].as_u64().unwrap() as usize..f["byteEnd"].as_u64().unwrap() as usize];
        let kinds: Vec<(&str, &str)> = facets[0]
            .iter()
            .map(|f| {
                let kind = ["link", "tag", "mention"]
                    .into_iter()
                    .find(|k| f.get(*k).is_some())
                    .unwrap();
                (kind, marked(f))
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("mention", "@alice.bsky.social"),
                ("link", "https://example.com/x"),
                ("tag", "#Rust")
            ]
        );
    }

    #[test]
    fn a_thread_is_capped_to_what_one_publish_may_send() {
        // The host's default: 50 requests per publish; one is kept for the lookup.
        let a = Bluesky::adapt(post(&"A sentence that keeps going on. ".repeat(600)), None, account()).unwrap();
        assert!((47..=49).contains(&a.parts.len()), "{} parts", a.parts.len());
        assert!(
            a.parts
                .last()
                .unwrap()
                .ends_with(&format!("{n}/{n}", n = a.parts.len()))
        );
        assert!(a.warnings.iter().any(|w| w.code == "thread-capped"), "{:?}", a.warnings);
    }

    #[test]
    fn an_at_uri_becomes_the_posts_web_address() {
        assert_eq!(
            web_url("at://did:plc:abc/app.bsky.feed.post/3l123").as_deref(),
            Some("https://bsky.app/profile/did:plc:abc/post/3l123")
        );
    }
}
