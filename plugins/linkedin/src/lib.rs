//! LinkedIn (Posts API; facts and sources in docs/plugins/linkedin.md): commentary up to
//! 3,000 UTF-16 units in a professional voice, up to 3 hashtags at the end, images through `initializeUpload`, and
//! for organization authors the segment's portable attributes as
//! `distribution.targetEntities`, which LinkedIn honours only for 300 members or more.

use chorus_plugin_sdk::host::{Body, MediaSlice, Method};
use chorus_plugin_sdk::http::urlencode;
use chorus_plugin_sdk::prelude::*;
use chorus_plugin_sdk::vocab;
use serde_json::{Value, json};

pub struct LinkedIn;

/// The Posts API version this plugin is written against (`LinkedIn-Version: YYYYMM`).
const VERSION: &str = "202601";

/// LinkedIn refuses narrower targeting on organization posts.
const MIN_AUDIENCE: u32 = 300;

impl Plugin for LinkedIn {
    fn describe() -> Description {
        Description {
            options: vec![],
            fields: vec![],
            session: None,
            id: "linkedin".into(),
            name: "LinkedIn".into(),
            default_api_base: "https://api.linkedin.com".into(),
            text: TextRules {
                also: vec![],
                // LinkedIn does not say which unit its 3,000 counts, and its servers are
                // Java (string length = UTF-16 units): count the unit that is never smaller.
                max_length: 3000,
                length_rule: LengthRule::Utf16,
                max_hashtags: Some(3),
                max_mentions: None,
            },
            media: MediaRules {
                required: false,
                // multiImage takes up to 20; this plugin uploads images only (see README).
                max_count: 20,
                mixed_kinds: false,
                rules: vec![media_rule(
                    MediaKind::Image,
                    &["image/jpeg", "image/png", "image/gif"],
                    36 * 1024 * 1024,
                )],
            },
            features: Features {
                threads: false,
                carousels: true,
                first_comment: false,
                link_previews: true,
            },
            targeting: vec![
                TargetingFacet::Country,
                TargetingFacet::Industry,
                TargetingFacet::Seniority,
                TargetingFacet::JobFunction,
                TargetingFacet::CompanySize,
            ],
            min_targeting_audience: Some(MIN_AUDIENCE),
            // 150 posts per member per day (commonly cited; LinkedIn publishes no figure).
            publish_budgets: vec![RateBudget {
                max_posts: 150,
                window_seconds: 86_400,
            }],
            oauth: Some(OauthSpec {
                authorize_url: "https://www.linkedin.com/oauth/v2/authorization".into(),
                token_url: "https://www.linkedin.com/oauth/v2/accessToken".into(),
                scopes: vec![
                    "openid".into(),
                    "profile".into(),
                    "w_member_social".into(),
                    "w_organization_social".into(),
                    "r_organization_social".into(),
                    "rw_organization_admin".into(),
                ],
                pkce_required: false,
                client_auth: ClientAuth::RequestBody,
                client_id_field: "client_id".into(),
                scope_separator: " ".into(),
            }),
        }
    }

    fn adapt(post: Post, segment: Option<Segment>, account: Account) -> Result<Adapted, PluginError> {
        let mut rules = AdaptRules::from_description(&Self::describe());
        rules.default_hashtags = 3;
        rules.default_formality = Formality::Professional;
        let (post, dropped) = keep_images(post, "LinkedIn");
        let mut adapted = adapt_post(&post, segment.as_ref(), &rules)?;
        adapted.warnings.extend(dropped);
        if let Some(seg) = segment.as_ref().filter(|s| !s.audience.is_everyone()) {
            let (targeting, notes) = target_entities(&seg.audience, &account);
            adapted.targeting = targeting.map(|t| t.to_string());
            adapted.warnings.extend(notes);
        }
        Ok(adapted)
    }

    fn publish(adapted: Adapted, _marker: String, ctx: CallContext) -> Result<Published, PluginError> {
        let author = author_urn(&ctx.account)?;
        let images = adapted
            .media
            .iter()
            .map(|id| upload_image(&ctx, &author, id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut distribution = json!({
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        });
        if let Some(t) = &adapted.targeting {
            let entities: Value = serde_json::from_str(t)
                .map_err(|e| invalid("targeting", format!("not the JSON this plugin's adapt produces: {e}")))?;
            distribution["targetEntities"] = json!([entities]);
        }
        let mut body = json!({
            "author": author,
            "commentary": little_text(&adapted.text),
            "visibility": "PUBLIC",
            "distribution": distribution,
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false,
        });
        match images.as_slice() {
            [] => {}
            [one] => body["content"] = json!({"media": {"id": one}}),
            many => {
                body["content"] =
                    json!({"multiImage": {"images": many.iter().map(|id| json!({"id": id})).collect::<Vec<_>>()}})
            }
        }
        let resp = rest(Method::Post, &ctx, "/rest/posts").json(&body).send()?;
        let resp = ok(resp)?;
        let urn = resp
            .header("x-restli-id")
            .map(str::to_owned)
            .ok_or_else(|| transient("LinkedIn answered 201 without an x-restli-id header"))?;
        Ok(Published {
            url: Some(format!("https://www.linkedin.com/feed/update/{urn}")),
            remote_id: urn,
            extra_ids: vec![],
        })
    }

    /// LinkedIn keeps no marker of ours: the post is found by its text among the author's
    /// latest posts (LinkedIn refuses duplicate content, so a match is the post).
    fn find_published(_marker: String, adapted: Adapted, ctx: CallContext) -> Result<Option<Published>, PluginError> {
        let author = author_urn(&ctx.account)?;
        let path = format!("/rest/posts?q=author&author={}&count=50", urlencode(&author));
        let v = ok(rest(Method::Get, &ctx, &path).send()?)?.json()?;
        let want = little_text(&adapted.text);
        Ok(v["elements"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| same_text(p["commentary"].as_str().unwrap_or(""), &want))
            .and_then(|p| p["id"].as_str())
            .map(|urn| Published {
                url: Some(format!("https://www.linkedin.com/feed/update/{urn}")),
                remote_id: urn.to_owned(),
                extra_ids: vec![],
            }))
    }

    fn fetch_metrics(remote_ids: Vec<String>, ctx: CallContext) -> Result<Vec<Metrics>, PluginError> {
        let author = author_urn(&ctx.account)?;
        if author.starts_with("urn:li:organization:") {
            let list = remote_ids.iter().map(|u| urlencode(u)).collect::<Vec<_>>().join(",");
            let path = format!(
                "/rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={}&shares=List({list})",
                urlencode(&author)
            );
            let v = ok(rest(Method::Get, &ctx, &path).send()?)?.json()?;
            return Ok(v["elements"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    let s = &e["totalShareStatistics"];
                    let n = |k: &str| s[k].as_u64();
                    Metrics {
                        remote_id: e["share"].as_str().unwrap_or_default().to_owned(),
                        impressions: n("impressionCount"),
                        reach: n("uniqueImpressionsCount"),
                        likes: n("likeCount"),
                        comments: n("commentCount"),
                        shares: n("shareCount"),
                        saves: None,
                        clicks: n("clickCount"),
                        video_views: None,
                    }
                })
                .collect());
        }
        // Members' posts: only the social actions are readable.
        remote_ids
            .into_iter()
            .map(|urn| {
                let v =
                    ok(rest(Method::Get, &ctx, &format!("/rest/socialActions/{}", urlencode(&urn))).send()?)?.json()?;
                Ok(Metrics {
                    remote_id: urn,
                    impressions: None,
                    reach: None,
                    likes: v["likesSummary"]["totalLikes"].as_u64(),
                    comments: v["commentsSummary"]["aggregatedTotalComments"].as_u64(),
                    shares: None,
                    saves: None,
                    clicks: None,
                    video_views: None,
                })
            })
            .collect()
    }
}

chorus_plugin_sdk::export_plugin!(LinkedIn);

/// A `/rest` request with the headers LinkedIn requires on every call.
fn rest(method: Method, ctx: &CallContext, path: &str) -> Request {
    Request::new(method, format!("{}{path}", ctx.api_base))
        .header("LinkedIn-Version", VERSION)
        .header("X-Restli-Protocol-Version", "2.0.0")
}

/// The answer if 2xx; LinkedIn's daily throttles carry no Retry-After, and its counters
/// reset at midnight UTC, so a 429 waits until then unless the answer says otherwise.
fn ok(resp: Response) -> Result<Response, PluginError> {
    if resp.status == 429 && resp.header("retry-after").is_none() {
        let now = chorus_plugin_sdk::host::now_ms() / 1000;
        let to_midnight = 86_400 - now % 86_400;
        return Err(PluginError::RateLimited(RateLimit {
            retry_after_seconds: to_midnight as u32,
            message: resp.message(),
        }));
    }
    resp.ok()
}

/// The post's author: the account's remote id must be a person or organization URN.
fn author_urn(account: &Account) -> Result<String, PluginError> {
    let id = account.remote_id.trim();
    if id.starts_with("urn:li:person:") || id.starts_with("urn:li:organization:") {
        Ok(id.to_owned())
    } else {
        Err(invalid(
            "account.remote_id",
            format!("{id:?} is not a LinkedIn author; expected urn:li:person:ID or urn:li:organization:ID"),
        ))
    }
}

/// LinkedIn's "little text": reserved characters are escaped with a backslash, else
/// LinkedIn reads them as markup (mentions, hashtags) or cuts the text.
fn little_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '|' | '{' | '}' | '@' | '[' | ']' | '(' | ')' | '<' | '>' | '#' | '*' | '_' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Uploads one image: `initializeUpload` for the author, one PUT of the bytes, then waits
/// until LinkedIn says the image is AVAILABLE (members' tokens cannot read the status:
/// they wait one polling interval instead).
fn upload_image(ctx: &CallContext, author: &str, media_id: &str) -> Result<String, PluginError> {
    let init = ok(rest(Method::Post, ctx, "/rest/images?action=initializeUpload")
        .json(&json!({"initializeUploadRequest": {"owner": author}}))
        .send()?)?
    .json()?;
    let upload_url = init["value"]["uploadUrl"]
        .as_str()
        .ok_or_else(|| transient(format!("initializeUpload answered without an uploadUrl: {init}")))?;
    let urn = init["value"]["image"]
        .as_str()
        .ok_or_else(|| transient(format!("initializeUpload answered without an image URN: {init}")))?
        .to_owned();
    ok(Request::new(Method::Put, upload_url)
        .body(Body::Media(MediaSlice {
            media_id: media_id.to_owned(),
            offset: 0,
            length: None,
        }))
        .send()?)?;
    for _ in 0..30 {
        let resp = rest(Method::Get, ctx, &format!("/rest/images/{}", urlencode(&urn))).send()?;
        if resp.status == 403 {
            chorus_plugin_sdk::host::sleep_ms(2000);
            return Ok(urn);
        }
        let v = ok(resp)?.json()?;
        match v["status"].as_str() {
            Some("AVAILABLE") => return Ok(urn),
            Some("PROCESSING_FAILED") => {
                return Err(invalid("media", format!("LinkedIn could not process image {media_id}")));
            }
            _ => chorus_plugin_sdk::host::sleep_ms(1000),
        }
    }
    Err(transient(format!(
        "image {media_id} was not AVAILABLE on LinkedIn after 30 checks"
    )))
}

/// LinkedIn's geo URNs (Bing geo ids) for the countries Chorus users target most; others
/// are reported as not honoured rather than guessed.
const GEO: &[(&str, u64)] = &[
    ("US", 103644278),
    ("GB", 101165590),
    ("SE", 105117694),
    ("NO", 103819153),
    ("DK", 104514075),
    ("FI", 100456013),
    ("DE", 101282230),
    ("FR", 105015875),
    ("NL", 102890719),
    ("ES", 105646813),
    ("IT", 103350119),
    ("IE", 104738515),
    ("CA", 101174742),
    ("AU", 101452733),
    ("IN", 102713980),
    ("BR", 106057199),
];

/// LinkedIn's staff count ranges, in the order of the shared company-size vocabulary.
const STAFF_RANGES: [&str; 9] = [
    "SIZE_1",
    "SIZE_2_TO_10",
    "SIZE_11_TO_50",
    "SIZE_51_TO_200",
    "SIZE_201_TO_500",
    "SIZE_501_TO_1000",
    "SIZE_1001_TO_5000",
    "SIZE_5001_TO_10000",
    "SIZE_10001_OR_MORE",
];

/// Industry names to LinkedIn industry ids (the common ones; others are reported).
const INDUSTRIES: &[(&str, u64)] = &[
    ("software", 4),
    ("computer software", 4),
    ("software development", 4),
    ("it services", 96),
    ("information technology", 96),
    ("financial services", 43),
    ("finance", 43),
    ("banking", 41),
    ("insurance", 42),
    ("retail", 27),
    ("health care", 14),
    ("hospital & health care", 14),
    ("education", 69),
    ("marketing and advertising", 80),
    ("real estate", 44),
    ("construction", 48),
    ("automotive", 53),
    ("telecommunications", 8),
];

/// The segment's audience as one LinkedIn target entity, and a note for everything that
/// could not be mapped (or why no targeting is sent at all).
fn target_entities(a: &Audience, account: &Account) -> (Option<Value>, Vec<Warning>) {
    let mut notes = Vec::new();
    if !account.remote_id.starts_with("urn:li:organization:") {
        notes.push(Warning::new(
            "targeting-unsupported",
            "LinkedIn targets organization posts only; this member's post goes to their whole network",
        ));
        return (None, notes);
    }
    if let Some(size) = a.estimated_size.filter(|n| *n < u64::from(MIN_AUDIENCE)) {
        notes.push(Warning::new(
            "targeting-below-minimum",
            format!("the segment has about {size} people; LinkedIn targets {MIN_AUDIENCE} or more, so the post goes untargeted"),
        ));
        return (None, notes);
    }
    let mut entity = serde_json::Map::new();
    let mut facet = |key: &str, values: Vec<String>| {
        if !values.is_empty() {
            entity.insert(key.into(), json!(values));
        }
    };
    let mut missing = |what: &str, values: Vec<String>| {
        if !values.is_empty() {
            notes.push(Warning::new(
                "targeting-not-honoured",
                format!("LinkedIn cannot target {what}: {} left out", values.join(", ")),
            ));
        }
    };
    let (geo, unknown): (Vec<_>, Vec<_>) = a
        .countries
        .iter()
        .partition(|c| GEO.iter().any(|(k, _)| k.eq_ignore_ascii_case(c)));
    facet(
        "geoLocations",
        geo.iter()
            .filter_map(|c| GEO.iter().find(|(k, _)| k.eq_ignore_ascii_case(c)))
            .map(|(_, id)| format!("urn:li:geo:{id}"))
            .collect(),
    );
    missing(
        "these countries (no geo id known)",
        unknown.into_iter().cloned().collect(),
    );
    // Seniorities and job functions: LinkedIn's ids are positions in the shared vocabulary.
    let lookup = |values: &[String], table: &[&str], prefix: &str| -> (Vec<String>, Vec<String>) {
        let mut found = Vec::new();
        let mut lost = Vec::new();
        for v in values {
            match vocab::position(table, v) {
                Some(n) => found.push(format!("{prefix}{n}")),
                None => lost.push(v.clone()),
            }
        }
        (found, lost)
    };
    let (s, lost_s) = lookup(&a.seniorities, vocab::SENIORITIES, "urn:li:seniority:");
    facet("seniorities", s);
    let (f, lost_f) = lookup(&a.job_functions, vocab::JOB_FUNCTIONS, "urn:li:function:");
    facet("jobFunctions", f);
    let mut industries = Vec::new();
    let mut lost_i = Vec::new();
    for i in &a.industries {
        match INDUSTRIES.iter().find(|(k, _)| k.eq_ignore_ascii_case(i.trim())) {
            Some((_, id)) => industries.push(format!("urn:li:industry:{id}")),
            None => lost_i.push(i.clone()),
        }
    }
    facet("industries", industries);
    let mut staff = Vec::new();
    let mut lost_c = Vec::new();
    for c in &a.company_sizes {
        match vocab::position(vocab::COMPANY_SIZES, c) {
            Some(n) => staff.push(STAFF_RANGES[n - 1].to_owned()),
            None => lost_c.push(c.clone()),
        }
    }
    facet("staffCountRanges", staff);
    missing("these seniorities", lost_s);
    missing("these job functions", lost_f);
    missing("these industries (no industry id known)", lost_i);
    missing("these company sizes", lost_c);
    missing("regions on organic posts", a.regions.clone());
    missing("cities on organic posts", a.cities.clone());
    missing("languages on organic posts", a.languages.clone());
    missing("interests on organic posts", a.interests.clone());
    missing("gender on organic posts", a.genders.clone());
    if a.age_min.is_some() || a.age_max.is_some() {
        missing("age on organic posts", vec!["the age range".into()]);
    }
    if entity.is_empty() {
        notes.push(Warning::new(
            "targeting-unsupported",
            "none of the segment's attributes can be targeted on LinkedIn; the post goes untargeted",
        ));
        return (None, notes);
    }
    (Some(Value::Object(entity)), notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Account {
        Account {
            id: "a".into(),
            handle: "acme".into(),
            remote_id: "urn:li:organization:123".into(),
            timezone: "UTC".into(),
        }
    }

    fn segment(a: Audience) -> Segment {
        Segment {
            id: "s".into(),
            name: "Nordic IT managers".into(),
            tone: Tone {
                formality: Formality::Professional,
                emoji: EmojiUse::Keep,
                max_hashtags: None,
                hashtag_placement: HashtagPlacement::End,
                call_to_action: None,
                glossary: vec![],
                language_variant: None,
            },
            audience: a,
        }
    }

    #[test]
    fn portable_attributes_become_target_entities_and_the_rest_is_reported() {
        let a = Audience {
            countries: vec!["SE".into(), "NO".into(), "ZZ".into()],
            seniorities: vec!["manager".into(), "director".into()],
            job_functions: vec!["information_technology".into()],
            company_sizes: vec!["51-200".into()],
            industries: vec!["software".into()],
            cities: vec!["Uppsala".into()],
            estimated_size: Some(5000),
            ..Audience::everyone()
        };
        let (t, notes) = target_entities(&a, &org());
        assert_eq!(
            t.unwrap(),
            json!({
                "geoLocations": ["urn:li:geo:105117694", "urn:li:geo:103819153"],
                "seniorities": ["urn:li:seniority:5", "urn:li:seniority:6"],
                "jobFunctions": ["urn:li:function:13"],
                "industries": ["urn:li:industry:4"],
                "staffCountRanges": ["SIZE_51_TO_200"],
            })
        );
        let text: Vec<_> = notes.iter().map(|n| n.message.as_str()).collect();
        assert!(text.iter().any(|m| m.contains("ZZ")), "{text:?}");
        assert!(text.iter().any(|m| m.contains("Uppsala")), "{text:?}");
    }

    #[test]
    fn small_segments_and_member_authors_are_not_targeted() {
        let small = Audience {
            countries: vec!["SE".into()],
            estimated_size: Some(120),
            ..Audience::everyone()
        };
        let (t, notes) = target_entities(&small, &org());
        assert!(t.is_none());
        assert_eq!(notes[0].code, "targeting-below-minimum");
        let member = Account {
            remote_id: "urn:li:person:abc".into(),
            ..org()
        };
        let (t, notes) = target_entities(&small, &member);
        assert!(t.is_none());
        assert_eq!(notes[0].code, "targeting-unsupported");
    }

    #[test]
    fn adapt_keeps_three_hashtags_at_the_end_and_escapes_only_when_sending() {
        let p = Post {
            options: vec![],
            title: None,
            id: "p".into(),
            body: "We are hiring (remote) engineers!!!".into(),
            link: None,
            hashtags: vec!["hiring".into(), "rust".into(), "remote".into(), "jobs".into()],
            locale: "en".into(),
            media: vec![],
        };
        let a = LinkedIn::adapt(p, Some(segment(Audience::everyone())), org()).unwrap();
        assert!(a.text.ends_with("#hiring #rust #remote"), "{}", a.text);
        assert!(a.text.starts_with("We are hiring (remote) engineers!"), "{}", a.text);
        assert_eq!(little_text("(a) #b @c"), "\\(a\\) \\#b \\@c");
    }
}
