//! Facebook Pages (Graph API; facts and sources in docs/plugins/facebook.md): long posts, the link as a link preview,
//! photos, and the segment as the post's `targeting` (restrict: only they can see it) or
//! `feed_targeting` (prefer: the feed favours them), with every attribute a Page post
//! cannot target reported. Errors are read from Meta's codes, not HTTP statuses.

use chorus_plugin_sdk::host::{Body, FormPart, MediaSlice, Method, PartBody};
use chorus_plugin_sdk::http::urlencode;
use chorus_plugin_sdk::prelude::*;
use serde_json::{Map, Value, json};

pub struct Facebook;

/// The Graph API version this plugin is written against.
const GRAPH: &str = "v23.0";

impl Plugin for Facebook {
    fn describe() -> Description {
        Description {
            options: vec![],
            fields: vec![],
            session: None,
            id: "facebook".into(),
            name: "Facebook".into(),
            default_api_base: "https://graph.facebook.com".into(),
            text: TextRules {
                also: vec![],
                max_length: 63_206,
                length_rule: LengthRule::Characters,
                max_hashtags: None,
                max_mentions: None,
            },
            media: MediaRules {
                required: false,
                max_count: 10,
                mixed_kinds: false,
                rules: vec![media_rule(
                    MediaKind::Image,
                    &["image/jpeg", "image/png"],
                    4 * 1024 * 1024,
                )],
            },
            features: Features {
                threads: false,
                carousels: true,
                first_comment: false,
                link_previews: true,
            },
            targeting: vec![TargetingFacet::Country, TargetingFacet::Age, TargetingFacet::Gender],
            min_targeting_audience: None,
            // Meta publishes no per-post budget for Pages; throttling is signalled per call.
            publish_budgets: vec![],
            oauth: Some(OauthSpec {
                authorize_url: format!("https://www.facebook.com/{GRAPH}/dialog/oauth"),
                token_url: format!("https://graph.facebook.com/{GRAPH}/oauth/access_token"),
                scopes: vec![
                    "pages_show_list".into(),
                    "pages_manage_posts".into(),
                    "pages_read_engagement".into(),
                    "read_insights".into(),
                ],
                pkce_required: false,
                client_auth: ClientAuth::RequestBody,
                client_id_field: "client_id".into(),
                scope_separator: " ".into(),
            }),
        }
    }

    fn adapt(post: Post, segment: Option<Segment>, _account: Account) -> Result<Adapted, PluginError> {
        let mut rules = AdaptRules::from_description(&Self::describe());
        rules.default_hashtags = 3;
        let (post, dropped) = keep_images(post, "Facebook");
        let mut adapted = adapt_post(&post, segment.as_ref(), &rules)?;
        adapted.warnings.extend(dropped);
        if let Some(seg) = segment.as_ref().filter(|s| !s.audience.is_everyone()) {
            let (targeting, notes) = page_targeting(&seg.audience);
            adapted.targeting = targeting.map(|t| t.to_string());
            adapted.warnings.extend(notes);
        }
        Ok(adapted)
    }

    fn publish(adapted: Adapted, _marker: String, ctx: CallContext) -> Result<Published, PluginError> {
        let page = page_id(&ctx.account)?;
        let targeting: Map<String, Value> = match &adapted.targeting {
            Some(t) => serde_json::from_str(t)
                .map_err(|e| invalid("targeting", format!("not the JSON this plugin's adapt produces: {e}")))?,
            None => Map::new(),
        };
        // One photo: a photo post. Several: unpublished photos attached to a feed post.
        if let [only] = adapted.media.as_slice() {
            let mut parts = vec![
                photo_part(only),
                text_part("caption", &adapted.text),
                text_part("published", "true"),
            ];
            for (k, v) in &targeting {
                parts.push(text_part(k, &v.to_string()));
            }
            let v = graph(
                Request::new(Method::Post, format!("{}/{GRAPH}/{page}/photos", ctx.api_base))
                    .body(Body::Multipart(parts)),
            )?;
            let id = v["post_id"]
                .as_str()
                .or(v["id"].as_str())
                .ok_or_else(|| transient(format!("Facebook answered without an id: {v}")))?
                .to_owned();
            return Ok(published(id));
        }
        let mut attached = Vec::new();
        for m in &adapted.media {
            let parts = vec![photo_part(m), text_part("published", "false")];
            let v = graph(
                Request::new(Method::Post, format!("{}/{GRAPH}/{page}/photos", ctx.api_base))
                    .body(Body::Multipart(parts)),
            )?;
            attached.push(json!({"media_fbid": v["id"].as_str().unwrap_or_default()}));
        }
        let mut body = json!({"message": adapted.text});
        // A URL in a text-only post becomes the link preview.
        if attached.is_empty() {
            if let Some(r) = chorus_plugin_sdk::text::find_urls(&adapted.text).first() {
                body["link"] = adapted.text[r.clone()].into();
            }
        } else {
            body["attached_media"] = attached.into();
        }
        for (k, v) in targeting {
            body[k] = v;
        }
        let v =
            graph(Request::post(format!("{}/{GRAPH}/{page}/feed?fields=id,permalink_url", ctx.api_base)).json(&body))?;
        let id = v["id"]
            .as_str()
            .ok_or_else(|| transient(format!("Facebook answered without an id: {v}")))?;
        let mut p = published(id.to_owned());
        if let Some(url) = v["permalink_url"].as_str() {
            p.url = Some(url.to_owned());
        }
        Ok(p)
    }

    /// Pages keep no marker of ours: the post is found by its message among the Page's
    /// latest posts (Facebook refuses a duplicate message, so a match is the post).
    fn find_published(_marker: String, adapted: Adapted, ctx: CallContext) -> Result<Option<Published>, PluginError> {
        let page = page_id(&ctx.account)?;
        let v = graph(Request::get(format!(
            "{}/{GRAPH}/{page}/feed?fields=id,message,permalink_url&limit=50",
            ctx.api_base
        )))?;
        Ok(v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| same_text(p["message"].as_str().unwrap_or(""), &adapted.text))
            .and_then(|p| {
                let mut out = published(p["id"].as_str()?.to_owned());
                out.url = p["permalink_url"].as_str().map(str::to_owned).or(out.url);
                Some(out)
            }))
    }

    fn fetch_metrics(remote_ids: Vec<String>, ctx: CallContext) -> Result<Vec<Metrics>, PluginError> {
        remote_ids
            .into_iter()
            .map(|id| {
                let node = graph(Request::get(format!(
                    "{}/{GRAPH}/{id}?fields={}",
                    ctx.api_base,
                    urlencode("shares,reactions.summary(total_count),comments.summary(total_count)")
                )))?;
                let ins = graph(Request::get(format!(
                    "{}/{GRAPH}/{id}/insights?metric=post_total_media_view_unique,post_clicks",
                    ctx.api_base
                )))?;
                let metric = |name: &str| chorus_plugin_sdk::meta::insight(&ins, name);
                Ok(Metrics {
                    remote_id: id,
                    impressions: None,
                    reach: metric("post_total_media_view_unique"),
                    likes: node["reactions"]["summary"]["total_count"].as_u64(),
                    comments: node["comments"]["summary"]["total_count"].as_u64(),
                    shares: node["shares"]["count"].as_u64(),
                    saves: None,
                    clicks: metric("post_clicks"),
                    video_views: None,
                })
            })
            .collect()
    }
}

chorus_plugin_sdk::export_plugin!(Facebook);

fn published(id: String) -> Published {
    Published {
        url: Some(format!("https://www.facebook.com/{id}")),
        remote_id: id,
        extra_ids: vec![],
    }
}

fn page_id(account: &Account) -> Result<String, PluginError> {
    let id = account.remote_id.trim();
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
        Ok(id.to_owned())
    } else {
        Err(invalid(
            "account.remote_id",
            format!("{id:?} is not a Facebook Page id (digits only)"),
        ))
    }
}

fn photo_part(media_id: &str) -> FormPart {
    FormPart {
        name: "source".into(),
        filename: Some(media_id.to_owned()),
        content_type: None,
        body: PartBody::Media(MediaSlice {
            media_id: media_id.to_owned(),
            offset: 0,
            length: None,
        }),
    }
}

fn text_part(name: &str, value: &str) -> FormPart {
    FormPart {
        name: name.into(),
        filename: None,
        content_type: None,
        body: PartBody::Bytes(value.as_bytes().to_vec()),
    }
}

/// A Graph request, with Meta's errors typed by the SDK.
fn graph(req: Request) -> Result<Value, PluginError> {
    chorus_plugin_sdk::meta::graph("Facebook", req)
}

/// The segment's audience as Page-post targeting: `targeting` when the segment restricts,
/// `feed_targeting` when it prefers; a note for each attribute a Page post cannot target.
fn page_targeting(a: &Audience) -> (Option<Value>, Vec<Warning>) {
    let mut t = Map::new();
    let mut notes = Vec::new();
    let mut missing = |what: &str, values: &[String]| {
        if !values.is_empty() {
            notes.push(Warning::new(
                "targeting-not-honoured",
                format!("a Page post cannot target {what}: {} left out", values.join(", ")),
            ));
        }
    };
    if !a.countries.is_empty() {
        t.insert(
            "geo_locations".into(),
            json!({"countries": a.countries.iter().map(|c| c.to_ascii_uppercase()).collect::<Vec<_>>()}),
        );
    }
    missing("regions (Meta needs its own region keys)", &a.regions);
    missing("cities (Meta needs its own city keys)", &a.cities);
    missing("languages (Meta needs its own locale ids)", &a.languages);
    missing("interests (Meta needs its own interest ids)", &a.interests);
    missing("industries", &a.industries);
    missing("seniorities", &a.seniorities);
    missing("job functions", &a.job_functions);
    missing("company sizes", &a.company_sizes);
    let clamp = |age: u8, what: &str, notes: &mut Vec<Warning>| {
        let c = age.clamp(13, 65);
        if c != age {
            notes.push(Warning::new(
                "targeting-adjusted",
                format!("{what} {age} is outside Facebook's 13-65; sent {c}"),
            ));
        }
        c
    };
    if let Some(min) = a.age_min {
        t.insert("age_min".into(), clamp(min, "minimum age", &mut notes).into());
    }
    if let Some(max) = a.age_max {
        t.insert("age_max".into(), clamp(max, "maximum age", &mut notes).into());
    }
    let mut genders = Vec::new();
    let mut other = Vec::new();
    for g in &a.genders {
        match g.as_str() {
            "male" => genders.push(1),
            "female" => genders.push(2),
            _ => other.push(g.clone()),
        }
    }
    if !other.is_empty() {
        notes.push(Warning::new(
            "targeting-not-honoured",
            format!(
                "Facebook targets men and women only: {} left out, so the post {}",
                other.join(", "),
                if genders.is_empty() {
                    "is not restricted by gender"
                } else {
                    "reaches fewer people than the segment"
                }
            ),
        ));
    }
    if !genders.is_empty() {
        t.insert("genders".into(), genders.into());
    }
    if t.is_empty() {
        notes.push(Warning::new(
            "targeting-unsupported",
            "none of the segment's attributes can be targeted on a Page post; it goes to everyone",
        ));
        return (None, notes);
    }
    let key = match a.mode {
        TargetingMode::Restrict => "targeting",
        TargetingMode::Prefer => "feed_targeting",
    };
    (Some(json!({ key: t })), notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrict_and_prefer_choose_the_parameter_and_the_rest_is_reported() {
        let a = Audience {
            mode: TargetingMode::Restrict,
            countries: vec!["se".into(), "NO".into()],
            age_min: Some(10),
            age_max: Some(44),
            genders: vec!["female".into(), "non_binary".into()],
            cities: vec!["Uppsala".into()],
            ..Audience::everyone()
        };
        let (t, notes) = page_targeting(&a);
        assert_eq!(
            t.unwrap(),
            json!({"targeting": {"geo_locations": {"countries": ["SE", "NO"]}, "age_min": 13, "age_max": 44, "genders": [2]}})
        );
        let codes: Vec<_> = notes.iter().map(|n| n.code.as_str()).collect();
        assert_eq!(
            codes,
            ["targeting-not-honoured", "targeting-adjusted", "targeting-not-honoured"]
        );
        let prefer = Audience {
            mode: TargetingMode::Prefer,
            ..a
        };
        assert!(page_targeting(&prefer).0.unwrap().get("feed_targeting").is_some());
    }
}
