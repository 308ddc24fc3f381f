//! The shared `adapt` pipeline: link, tone, hashtags, call to action, length (thread or
//! truncation) and media, each change reported as a warning. A platform plugin supplies its
//! [`AdaptRules`] (read from its own `describe`) and adds only what is truly its own, such
//! as native targeting.

use crate::invalid;
use crate::tags::{dedupe, extract_hashtags, hashtag_spans};
use crate::text::{fits_all, measure, truncate_all};
use crate::thread::split_thread_within;
use crate::tone::{apply_emoji, apply_formality, retone_words};
use crate::types::{
    Adapted, Description, EmojiUse, Formality, HashtagPlacement, LengthRule, PluginError, Post, Segment, Warning,
};

/// How one platform wants posts shaped. Build it from the plugin's own `describe()` with
/// [`AdaptRules::from_description`] so the limits live in one place.
#[derive(Debug, Clone)]
pub struct AdaptRules {
    /// The limit people see counted (`text-rules.max-length`).
    pub max_length: usize,
    /// How the platform counts `max_length`.
    pub length_rule: LengthRule,
    /// Further limits the text (and each thread part) must also meet.
    pub also: Vec<(usize, LengthRule)>,
    /// Most parts a thread may have (`None`: as many as the text needs). Set it from the
    /// host's `limits()` when each part costs a request.
    pub max_parts: Option<usize>,
    /// Platform hard limit on hashtags (`None`: no limit).
    pub max_hashtags: Option<usize>,
    /// Hashtags kept when the segment says nothing.
    pub default_hashtags: usize,
    /// Where hashtags go when the segment says nothing.
    pub default_placement: HashtagPlacement,
    /// The voice when the segment says nothing.
    pub default_formality: Formality,
    /// Split into a numbered thread instead of truncating.
    pub threads: bool,
    /// Most media items in one post.
    pub max_media: usize,
    /// Whether images and videos may share a post. When not, the first item's kind wins,
    /// and a video or GIF goes alone (X, Mastodon: 4 images, or 1 video, or 1 GIF).
    pub mixed_media: bool,
    /// The kinds of media the platform takes (one `media-rule` each in `describe`); media
    /// of another kind is dropped with a warning. Empty: any kind.
    pub media_kinds: Vec<crate::types::MediaKind>,
    /// The declared rule of each kind (MIME types, bytes, aspect ratio, duration): media
    /// outside its kind's rule is dropped with a warning naming the rule, instead of
    /// failing at the platform.
    pub media_rules: Vec<crate::types::MediaRule>,
    /// Whether a post without media is refused.
    pub media_required: bool,
    /// Append the post's link to the text if it is not there (platforms without link cards).
    pub append_link: bool,
}

impl AdaptRules {
    /// Caps threads to what one publish may send: the host's requests per publish less
    /// `reserved` for the publish's other requests (uploads, lookups); at least one part.
    pub fn with_parts_for_one_publish(mut self, reserved: usize) -> Self {
        let requests = crate::call_limits().publish_max_requests as usize;
        self.max_parts = Some(requests.saturating_sub(reserved).max(1));
        self
    }

    /// Every limit a text must meet: the one shown first, then the others.
    pub fn limits(&self) -> Vec<(usize, LengthRule)> {
        std::iter::once((self.max_length, self.length_rule))
            .chain(self.also.iter().copied())
            .collect()
    }

    /// The rules `describe` declares, with the SDK's defaults for the rest.
    pub fn from_description(d: &Description) -> Self {
        Self {
            max_length: d.text.max_length as usize,
            length_rule: d.text.length_rule,
            also: d.text.also.iter().map(|l| (l.max as usize, l.rule)).collect(),
            max_parts: None,
            max_hashtags: d.text.max_hashtags.map(|n| n as usize),
            default_hashtags: d.text.max_hashtags.map_or(5, |n| n as usize).min(5),
            default_placement: HashtagPlacement::End,
            default_formality: Formality::Neutral,
            threads: d.features.threads,
            max_media: d.media.max_count as usize,
            mixed_media: d.media.mixed_kinds,
            media_kinds: d.media.rules.iter().map(|r| r.kind).collect(),
            media_rules: d.media.rules.clone(),
            media_required: d.media.required,
            append_link: true,
        }
    }
}

fn warn(code: &str, message: impl Into<String>) -> Warning {
    Warning {
        code: code.into(),
        message: message.into(),
    }
}

/// Turns `post` into the platform's version for `segment` under `rules`.
pub fn adapt_post(post: &Post, segment: Option<&Segment>, rules: &AdaptRules) -> Result<Adapted, PluginError> {
    let mut warnings = Vec::new();
    let tone = segment.map(|s| &s.tone);

    // Media first: a post the platform cannot take is an error, not a warning.
    if rules.media_required && post.media.is_empty() {
        return Err(invalid(
            "media",
            "this platform needs at least one image or video; attach media to the post",
        ));
    }
    let media = select_media(&post.media, rules, &mut warnings);
    // Nothing to show would reach the platform only to come back as a 400.
    if post.body.trim().is_empty() && post.link.is_none() && post.hashtags.is_empty() && media.is_empty() {
        let why = if post.media.is_empty() {
            "the post has no text and no media; write some text or attach an image or video"
        } else {
            "the post has no text and none of its media can be published here; write some text or attach media this platform takes"
        };
        return Err(invalid("body", why));
    }

    let mut body = post.body.trim().to_owned();
    if let Some(t) = tone {
        let r = retone_words(&body, &t.glossary, t.language_variant.as_deref());
        if r.glossary > 0 {
            warnings.push(warn(
                "glossary-applied",
                format!("replaced {} word(s) from the segment's glossary", r.glossary),
            ));
        }
        if let Some(variant) = &t.language_variant {
            if !r.variant_supported {
                warnings.push(warn(
                    "language-variant-unsupported",
                    format!("no spelling rules for {variant}; text left as written"),
                ));
            } else if r.variant > 0 {
                warnings.push(warn(
                    "language-variant-applied",
                    format!("adjusted {} spelling(s) to {variant}", r.variant),
                ));
            }
        }
        body = r.text;
    }
    let formality = tone.map_or(rules.default_formality, |t| t.formality);
    let (b, changed) = apply_formality(&body, formality);
    if changed {
        warnings.push(warn(
            "formality-applied",
            "toned down repeated punctuation for a professional voice",
        ));
    }
    body = b;
    let emoji = tone.map_or(EmojiUse::Keep, |t| t.emoji);
    let (b, removed) = apply_emoji(&body, emoji);
    if removed > 0 {
        warnings.push(warn(
            "emoji-removed",
            format!(
                "removed {removed} emoji: the segment's tone asks for {}",
                if emoji == EmojiUse::None { "none" } else { "few" }
            ),
        ));
    }
    body = b;

    // Hashtags: those written inline count first, then the post's list.
    let limit = tone
        .and_then(|t| t.max_hashtags.map(|n| n as usize))
        .unwrap_or(rules.default_hashtags)
        .min(rules.max_hashtags.unwrap_or(usize::MAX));
    let placement = tone.map_or(rules.default_placement, |t| t.hashtag_placement);
    let inline = extract_hashtags(&body);
    let listed = post.hashtags.iter().map(|t| retone_tag(t, tone));
    let all = dedupe(inline.iter().cloned().chain(listed));
    let kept: Vec<String> = all.iter().take(limit).cloned().collect();
    if all.len() > kept.len() {
        warnings.push(warn(
            "hashtags-dropped",
            format!(
                "kept {} of {} hashtags (at most {limit} for this platform and segment)",
                kept.len(),
                all.len()
            ),
        ));
        body = unhash_inline(&body, &kept);
    }
    let mut trailing: Vec<String> = Vec::new();
    for tag in kept
        .iter()
        .filter(|t| !inline.iter().any(|i| i.eq_ignore_ascii_case(t)))
    {
        if placement == HashtagPlacement::Inline {
            if let Some(b) = hash_first_word(&body, tag) {
                body = b;
                continue;
            }
        }
        trailing.push(format!("#{tag}"));
    }

    let mut suffix = String::new();
    if !trailing.is_empty() {
        suffix.push_str("\n\n");
        suffix.push_str(&trailing.join(" "));
    }
    if let Some(link) = &post.link {
        if rules.append_link && !body.contains(link.as_str()) {
            suffix.push_str(&format!("\n\n{link}"));
        }
    }
    let rule = rules.length_rule;
    let limits = rules.limits();
    if let Some(cta) = tone
        .and_then(|t| t.call_to_action.as_ref())
        .filter(|c| !c.trim().is_empty())
    {
        let with_cta = format!("{body}{suffix}\n\n{}", cta.trim());
        if rules.threads || fits_all(&with_cta, &limits) {
            suffix.push_str(&format!("\n\n{}", cta.trim()));
        } else {
            warnings.push(warn(
                "call-to-action-dropped",
                format!("no room for the call to action ({} max)", rules.max_length),
            ));
        }
    }

    let full = format!("{body}{suffix}").trim().to_owned();
    let mut parts = Vec::new();
    let text = if fits_all(&full, &limits) {
        full
    } else if rules.threads {
        parts = split_thread_within(&full, &limits, true);
        warnings.push(warn(
            "thread-created",
            format!(
                "split into a thread of {} parts to fit {} per part",
                parts.len(),
                describe_limits(&limits)
            ),
        ));
        if let Some(max) = rules.max_parts.filter(|&max| parts.len() > max.max(1)) {
            let needed = parts.len();
            parts = crate::thread::split_thread_at_most(&full, &limits, max.max(1));
            warnings.push(warn(
                "thread-capped",
                format!(
                    "the text needs {needed} parts; one publish sends at most {}, so it was shortened",
                    max.max(1)
                ),
            ));
        }
        parts[0].clone()
    } else {
        let room: Vec<(usize, LengthRule)> = limits
            .iter()
            .map(|&(max, r)| (max.saturating_sub(measure(&suffix, r)), r))
            .collect();
        let (cut, _) = truncate_all(&body, &room, "…");
        let text = format!("{cut}{suffix}").trim().to_owned();
        let text = if fits_all(&text, &limits) {
            text
        } else {
            truncate_all(&text, &limits, "…").0
        };
        warnings.push(warn(
            "text-truncated",
            format!("shortened to fit {}", describe_limits(&limits)),
        ));
        text
    };
    Ok(Adapted {
        length: measure(&text, rule) as u32,
        text,
        parts,
        hashtags: kept,
        media,
        targeting: None,
        warnings,
        fields: Vec::new(),
        extras: Vec::new(),
        languages: languages(post, segment),
    })
}

/// A text field (a title) cut to every limit of its `spec`, with a warning when it was cut.
/// `None` for an empty text; a required field's absence is [`check_options`]'s and the
/// plugin's to refuse.
pub fn field_text(spec: &crate::types::TextField, text: &str) -> Option<(crate::types::FieldText, Option<Warning>)> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let limits: Vec<(usize, LengthRule)> = spec.limits.iter().map(|l| (l.max as usize, l.rule)).collect();
    let (cut, shortened) = truncate_all(text, &limits, "…");
    let length = spec.limits.first().map_or(0, |l| measure(&cut, l.rule)) as u32;
    let note = shortened.then(|| {
        warn(
            "field-truncated",
            format!("{} shortened to fit {}", spec.label, describe_limits(&limits)),
        )
    });
    Some((
        crate::types::FieldText {
            name: spec.name.clone(),
            text: cut,
            length,
        },
        note,
    ))
}

/// Refuses a post that lacks a required option or gives a value outside an option's
/// choices, naming the option and what is allowed.
pub fn check_options(post: &Post, specs: &[crate::types::OptionSpec]) -> Result<(), PluginError> {
    for spec in specs {
        let given = post.options.iter().find(|(k, _)| k == &spec.key).map(|(_, v)| v.trim());
        match given {
            None | Some("") if spec.required => {
                return Err(invalid(
                    format!("options.{}", spec.key),
                    format!("{} is required for this platform", spec.label),
                ));
            }
            Some(v) if !v.is_empty() && !spec.choices.is_empty() && !spec.choices.iter().any(|c| c == v) => {
                return Err(invalid(
                    format!("options.{}", spec.key),
                    format!("{v:?} is not one of {}", spec.choices.join(", ")),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// "300 (Graphemes counting) and 3000 (Utf8Bytes counting)".
fn describe_limits(limits: &[(usize, LengthRule)]) -> String {
    limits
        .iter()
        .map(|(max, rule)| format!("{max} ({rule:?} counting)"))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The languages of the adapted text, most specific first: the segment's variant, the
/// post's locale, then their primary languages (`en-GB`, `en`). Platforms that take a list
/// (Bluesky's `langs`) or one locale (Meta's) read it in `publish`.
pub fn languages(post: &Post, segment: Option<&Segment>) -> Vec<String> {
    let variant = segment.and_then(|s| s.tone.language_variant.clone());
    let tags: Vec<String> = variant
        .into_iter()
        .chain(std::iter::once(post.locale.clone()))
        .map(|t| t.trim().replace('_', "-"))
        .filter(|t| !t.is_empty())
        .collect();
    let primaries = tags.iter().filter_map(|t| t.split('-').next().map(str::to_owned));
    let mut out: Vec<String> = Vec::new();
    for t in tags.iter().cloned().chain(primaries) {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&t)) {
            out.push(t);
        }
    }
    out
}

/// A media rule with no aspect or duration bounds (set those with struct update syntax).
pub fn media_rule(kind: crate::types::MediaKind, mime_types: &[&str], max_bytes: u64) -> crate::types::MediaRule {
    crate::types::MediaRule {
        kind,
        mime_types: mime_types.iter().map(|m| m.to_string()).collect(),
        max_bytes,
        min_aspect_ratio: None,
        max_aspect_ratio: None,
        min_duration_ms: None,
        max_duration_ms: None,
    }
}

/// The post with its images only, and a warning naming what was left out, for plugins
/// that upload images but not (yet) video or documents.
pub fn keep_images(post: Post, platform: &str) -> (Post, Option<Warning>) {
    let total = post.media.len();
    let media: Vec<_> = post
        .media
        .into_iter()
        .filter(|m| m.kind == crate::types::MediaKind::Image)
        .collect();
    let dropped = total - media.len();
    let note = (dropped > 0).then(|| {
        warn(
            "media-dropped",
            format!("left out {dropped} video or document item(s): this plugin posts images to {platform}"),
        )
    });
    (Post { media, ..post }, note)
}

/// The warning for a platform without organic audience targeting, when the segment names
/// an audience: the post reaches everyone the platform shows it to, only the tone applies.
pub fn targeting_unsupported(platform: &str, segment: Option<&Segment>) -> Option<Warning> {
    let s = segment.filter(|s| !s.audience.is_everyone())?;
    Some(warn(
        "targeting-unsupported",
        format!(
            "{platform} has no audience targeting for organic posts; segment {:?} gets the tone only",
            s.name
        ),
    ))
}

/// A post option's value (`post.options`), trimmed; `None` when absent or empty.
pub fn option<'a>(post: &'a Post, key: &str) -> Option<&'a str> {
    post.options
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A string `extra` of an adaptation (extras hold JSON), by key.
pub fn extra(adapted: &Adapted, key: &str) -> Option<String> {
    adapted
        .extras
        .iter()
        .find(|e| e.key == key)
        .and_then(|e| serde_json::from_str::<String>(&e.value).ok())
}

/// For platforms whose captions do not link (Instagram, TikTok): the links leave the body,
/// which says where to find the link instead ("Link in bio."). Returns the post and the
/// link to keep beside it (the post's `link`, else the first link of the body).
pub fn link_in_bio(post: Post) -> (Post, Option<String>) {
    let (mut post, link) = take_links(post);
    if link.is_some() {
        post.body = format!("{} Link in bio.", post.body);
    }
    (post, link)
}

/// For platforms where the link belongs beside the text (a Pinterest Pin's `link`): the
/// links leave the body; returns the link to keep (the post's `link`, else the body's
/// first).
pub fn take_links(mut post: Post) -> (Post, Option<String>) {
    let urls: Vec<std::ops::Range<usize>> = crate::text::find_urls(&post.body);
    let mut link = post.link.take();
    for r in urls.iter().rev() {
        if link.is_none() {
            link = Some(post.body[r.clone()].to_owned());
        }
        post.body.replace_range(r.clone(), "");
    }
    if !urls.is_empty() {
        let body = post.body.split_whitespace().collect::<Vec<_>>().join(" ");
        let body = body.replace(" .", ".").replace(" ,", ",");
        post.body = body.trim_end_matches([' ', ':']).to_owned();
    }
    (post, link)
}

/// Whether two post texts are the same post (whitespace runs compared as one space), for
/// finding a post again among an account's recent ones.
pub fn same_text(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// The media ids the platform can take together, in order, each drop explained.
fn select_media(all: &[crate::types::MediaRef], rules: &AdaptRules, warnings: &mut Vec<Warning>) -> Vec<String> {
    use crate::types::MediaKind;
    let takes = |k: MediaKind| rules.media_kinds.is_empty() || rules.media_kinds.contains(&k);
    let all: Vec<&crate::types::MediaRef> = all.iter().collect();
    let (usable, refused): (Vec<_>, Vec<_>) = all.iter().copied().partition(|m| takes(m.kind));
    let (usable, outside): (Vec<_>, Vec<_>) = usable
        .into_iter()
        .map(|m| (m, breaks_rule(m, &rules.media_rules)))
        .partition(|(_, why)| why.is_none());
    let usable: Vec<&crate::types::MediaRef> = usable.into_iter().map(|(m, _)| m).collect();
    for (m, why) in outside {
        warnings.push(warn(
            "media-dropped",
            format!("left out media {}: {}", m.id, why.unwrap_or_default()),
        ));
    }
    if !refused.is_empty() {
        warnings.push(warn(
            "media-dropped",
            format!(
                "left out {} media item(s) of a kind this platform does not take ({}); it takes {}",
                refused.len(),
                refused.iter().map(|m| kind_name(m.kind)).collect::<Vec<_>>().join(", "),
                rules
                    .media_kinds
                    .iter()
                    .map(|k| kind_name(*k))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mut kept: Vec<&crate::types::MediaRef> = usable.clone();
    if !rules.mixed_media {
        if let Some(first) = usable.first() {
            let alone = matches!(first.kind, MediaKind::Video | MediaKind::Gif);
            let same: Vec<_> = usable.iter().copied().filter(|m| m.kind == first.kind).collect();
            let cap = if alone { 1 } else { same.len() };
            kept = same.into_iter().take(cap).collect();
            if kept.len() < usable.len() {
                warnings.push(warn(
                    "media-dropped",
                    format!(
                        "kept {} of {} media items: this platform does not mix kinds in one post{}",
                        kept.len(),
                        usable.len(),
                        if alone { ", and a video or GIF goes alone" } else { "" }
                    ),
                ));
            }
        }
    }
    if kept.len() > rules.max_media {
        warnings.push(warn(
            "media-dropped",
            format!(
                "kept the first {} of {} media items: the platform allows {}",
                rules.max_media,
                kept.len(),
                rules.max_media
            ),
        ));
        kept.truncate(rules.max_media);
    }
    kept.into_iter().map(|m| m.id.clone()).collect()
}

/// Why `m` is outside its kind's declared rule, if it is (what is wrong and what is allowed).
pub fn breaks_rule(m: &crate::types::MediaRef, rules: &[crate::types::MediaRule]) -> Option<String> {
    let rule = rules.iter().find(|r| r.kind == m.kind)?;
    let kind = kind_name(m.kind);
    if !rule.mime_types.is_empty() && !rule.mime_types.iter().any(|t| t.eq_ignore_ascii_case(&m.mime_type)) {
        return Some(format!(
            "{} is not a type this platform takes for a {kind} ({})",
            m.mime_type,
            rule.mime_types.join(", ")
        ));
    }
    if m.byte_size > rule.max_bytes {
        return Some(format!(
            "{} bytes is over the {} bytes this platform takes for a {kind}",
            m.byte_size, rule.max_bytes
        ));
    }
    if let Some(d) = m.duration_ms {
        if let Some(max) = rule.max_duration_ms.filter(|max| d > *max) {
            return Some(format!("{kind} of {} s is over the {} s allowed", d / 1000, max / 1000));
        }
        if let Some(min) = rule.min_duration_ms.filter(|min| d < *min) {
            return Some(format!("{kind} of {} ms is under the {} ms required", d, min));
        }
    }
    if let (Some(w), Some(h)) = (m.width, m.height.filter(|h| *h > 0)) {
        let ratio = w as f32 / h as f32;
        let (lo, hi) = (rule.min_aspect_ratio, rule.max_aspect_ratio);
        if lo.is_some_and(|lo| ratio < lo - 0.005) || hi.is_some_and(|hi| ratio > hi + 0.005) {
            return Some(format!(
                "{w}×{h} (aspect ratio {ratio:.2}) is outside {:.2} to {:.2}",
                lo.unwrap_or(0.0),
                hi.unwrap_or(f32::INFINITY)
            ));
        }
    }
    None
}

fn kind_name(k: crate::types::MediaKind) -> &'static str {
    use crate::types::MediaKind;
    match k {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Gif => "GIF",
        MediaKind::Document => "document",
    }
}

/// A listed hashtag in the segment's words and spelling, when that is still one word.
fn retone_tag(tag: &str, tone: Option<&crate::types::Tone>) -> String {
    let Some(t) = tone.filter(|t| !t.glossary.is_empty() || t.language_variant.is_some()) else {
        return tag.to_owned();
    };
    let out = retone_words(tag, &t.glossary, t.language_variant.as_deref()).text;
    crate::tags::normalize_hashtag(&out).unwrap_or_else(|| tag.to_owned())
}

/// Removes `#` from inline hashtags that were not kept (the word stays).
fn unhash_inline(body: &str, kept: &[String]) -> String {
    let mut out = body.to_owned();
    for span in hashtag_spans(body).into_iter().rev() {
        let word = &body[span.start + 1..span.end];
        if !kept.iter().any(|k| k.eq_ignore_ascii_case(word)) {
            out.replace_range(span.start..span.start + 1, "");
        }
    }
    out
}

/// Turns the first whole-word occurrence of `tag` in `body` into `#tag`.
fn hash_first_word(body: &str, tag: &str) -> Option<String> {
    use unicode_segmentation::UnicodeSegmentation;
    let (i, w) = body
        .split_word_bound_indices()
        .find(|(_, w)| w.eq_ignore_ascii_case(tag) || w.to_lowercase() == tag.to_lowercase())?;
    if body[..i].ends_with('#') {
        return None;
    }
    Some(format!("{}#{}{}", &body[..i], w, &body[i + w.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::*;

    fn rules(max: usize, threads: bool) -> AdaptRules {
        AdaptRules {
            max_length: max,
            length_rule: LengthRule::Characters,
            also: vec![],
            max_parts: None,
            max_hashtags: Some(3),
            default_hashtags: 2,
            default_placement: HashtagPlacement::End,
            default_formality: Formality::Neutral,
            threads,
            max_media: 1,
            mixed_media: true,
            media_kinds: vec![],
            media_rules: vec![],
            media_required: false,
            append_link: true,
        }
    }

    fn post(body: &str) -> Post {
        Post {
            id: "p1".into(),
            ..Post::from_text(body)
        }
    }

    #[test]
    fn links_leave_the_caption_for_the_bio() {
        let (p, link) = link_in_bio(post("New menu is out: https://fika.coffee/menu and it is good."));
        assert_eq!(link.as_deref(), Some("https://fika.coffee/menu"));
        assert_eq!(p.body, "New menu is out: and it is good. Link in bio.");
        let mut with_link = post("New menu is out.");
        with_link.link = Some("https://fika.coffee".into());
        let (p, link) = link_in_bio(with_link);
        assert_eq!(
            (p.body.as_str(), link.as_deref()),
            ("New menu is out. Link in bio.", Some("https://fika.coffee"))
        );
        let (p, link) = link_in_bio(post("No links here"));
        assert_eq!((p.body.as_str(), link), ("No links here", None));
    }

    fn segment(tone: Tone) -> Segment {
        Segment {
            id: "s1".into(),
            name: "Pros".into(),
            tone,
            audience: Audience::everyone(),
        }
    }

    fn tone() -> Tone {
        Tone {
            formality: Formality::Professional,
            emoji: EmojiUse::None,
            max_hashtags: Some(1),
            hashtag_placement: HashtagPlacement::Inline,
            call_to_action: Some("Book a demo.".into()),
            glossary: vec![GlossaryEntry {
                term: "app".into(),
                replacement: "platform".into(),
            }],
            language_variant: Some("en-GB".into()),
        }
    }

    #[test]
    fn every_limit_holds_when_truncating_and_when_threading() {
        // 40 two-byte letters a word: 300 characters fit, 100 bytes do not.
        let body = "ääää ".repeat(40);
        let mut r = rules(300, false);
        r.also = vec![(100, LengthRule::Utf8Bytes)];
        let a = adapt_post(&post(&body), None, &r).unwrap();
        assert!(a.text.len() <= 100, "{} bytes: {:?}", a.text.len(), a.text);
        assert!(
            a.warnings
                .iter()
                .any(|w| w.code == "text-truncated" && w.message.contains("Utf8Bytes"))
        );
        r.threads = true;
        let a = adapt_post(&post(&body), None, &r).unwrap();
        assert!(a.parts.len() >= 3, "{:?}", a.parts);
        assert!(a.parts.iter().all(|p| p.len() <= 100), "{:?}", a.parts);
        let words: usize = a.parts.iter().map(|p| p.matches("ääää").count()).sum();
        assert_eq!(words, 40, "no word lost");
    }

    #[test]
    fn a_thread_is_capped_to_the_parts_one_publish_may_send() {
        let body = "One sentence here. ".repeat(40);
        let mut r = rules(50, true);
        let uncapped = adapt_post(&post(&body), None, &r).unwrap();
        assert!(uncapped.parts.len() > 3);
        r.max_parts = Some(3);
        let a = adapt_post(&post(&body), None, &r).unwrap();
        assert_eq!(a.parts.len(), 3, "{:?}", a.parts);
        assert!(a.parts.iter().all(|p| p.chars().count() <= 50));
        assert!(
            a.parts[2].ends_with("3/3"),
            "numbered for the parts sent: {:?}",
            a.parts
        );
        assert!(a.warnings.iter().any(|w| w.code == "thread-capped"));
    }

    #[test]
    fn media_outside_its_kinds_declared_rule_is_dropped_naming_the_rule() {
        let image = |id: &str, mime: &str, bytes: u64, w: u32, h: u32| MediaRef {
            url: None,
            id: id.into(),
            kind: MediaKind::Image,
            mime_type: mime.into(),
            byte_size: bytes,
            width: Some(w),
            height: Some(h),
            duration_ms: None,
            alt_text: None,
        };
        let mut r = rules(300, false);
        r.max_media = 4;
        r.media_rules = vec![MediaRule {
            min_aspect_ratio: Some(0.8),
            max_aspect_ratio: Some(1.91),
            ..media_rule(MediaKind::Image, &["image/jpeg", "image/png"], 1_000_000)
        }];
        let mut p = post("Look");
        p.media = vec![
            image("ok", "image/jpeg", 500_000, 1080, 1080),
            image("heic", "image/heic", 500_000, 1080, 1080),
            image("big", "image/png", 2_000_000, 1080, 1080),
            image("tall", "image/jpeg", 500_000, 1080, 1920),
        ];
        let a = adapt_post(&p, None, &r).unwrap();
        assert_eq!(a.media, ["ok"]);
        let said: Vec<&str> = a.warnings.iter().map(|w| w.message.as_str()).collect();
        assert!(
            said.iter()
                .any(|m| m.contains("heic") && m.contains("image/jpeg, image/png")),
            "{said:?}"
        );
        assert!(
            said.iter().any(|m| m.contains("big") && m.contains("1000000 bytes")),
            "{said:?}"
        );
        assert!(
            said.iter().any(|m| m.contains("tall") && m.contains("0.80 to 1.91")),
            "{said:?}"
        );
    }

    #[test]
    fn a_title_is_cut_to_its_fields_limits_and_options_are_checked() {
        let spec = TextField {
            name: "title".into(),
            label: "Pin title".into(),
            required: false,
            limits: vec![LengthLimit {
                max: 10,
                rule: LengthRule::Characters,
            }],
        };
        let (f, note) = field_text(&spec, "A very long title indeed").unwrap();
        assert!(f.text.chars().count() <= 10, "{}", f.text);
        assert_eq!((f.name.as_str(), f.length as usize), ("title", f.text.chars().count()));
        assert!(note.unwrap().message.contains("Pin title"));
        assert!(field_text(&spec, "  ").is_none());

        let board = OptionSpec {
            key: "board".into(),
            label: "Board".into(),
            required: true,
            choices: vec!["Recipes".into(), "Travel".into()],
        };
        let mut p = post("Hi");
        match check_options(&p, std::slice::from_ref(&board)) {
            Err(PluginError::InvalidInput(i)) => assert_eq!(i.field, "options.board"),
            other => panic!("{other:?}"),
        }
        p.options = vec![("board".into(), "Cars".into())];
        assert!(check_options(&p, std::slice::from_ref(&board)).is_err());
        p.options = vec![("board".into(), "Travel".into())];
        assert!(check_options(&p, &[board]).is_ok());
    }

    #[test]
    fn languages_name_the_segment_variant_then_the_post_locale() {
        let a = adapt_post(&post("Hi"), Some(&segment(tone())), &rules(300, false)).unwrap();
        assert_eq!(a.languages, ["en-GB", "en"]);
        let mut p = post("Hej");
        p.locale = "sv_SE".into();
        assert_eq!(
            adapt_post(&p, None, &rules(300, false)).unwrap().languages,
            ["sv-SE", "sv"]
        );
    }

    #[test]
    fn segment_tone_reshapes_text_and_says_what_changed() {
        let mut p = post("our new app is out!!! 🎉 pick your favorite color");
        p.hashtags = vec!["color".into(), "launch".into()];
        let a = adapt_post(&p, Some(&segment(tone())), &rules(500, false)).unwrap();
        assert_eq!(
            a.text,
            "Our new platform is out! pick your favourite #colour\n\nBook a demo."
        );
        let codes: Vec<_> = a.warnings.iter().map(|w| w.code.as_str()).collect();
        for c in [
            "glossary-applied",
            "language-variant-applied",
            "formality-applied",
            "emoji-removed",
            "hashtags-dropped",
        ] {
            assert!(codes.contains(&c), "{c} missing from {codes:?}");
        }
        assert_eq!(a.hashtags, ["colour"], "listed tags follow the variant's spelling");
    }

    #[test]
    fn hashtags_go_to_the_end_by_default_and_respect_the_limit() {
        let mut p = post("Fresh coffee");
        p.hashtags = vec!["coffee".into(), "fika".into(), "morning".into()];
        let a = adapt_post(&p, None, &rules(500, false)).unwrap();
        assert_eq!(a.text, "Fresh coffee\n\n#coffee #fika");
        assert_eq!(a.hashtags, ["coffee", "fika"]);
    }

    #[test]
    fn too_long_without_threads_is_truncated_keeping_link_and_tags() {
        let mut p = post(&"word ".repeat(100));
        p.link = Some("https://ex.com/x".into());
        p.hashtags = vec!["tag".into()];
        let a = adapt_post(&p, None, &rules(80, false)).unwrap();
        assert!(a.length <= 80, "{}", a.length);
        assert!(a.text.ends_with("#tag\n\nhttps://ex.com/x"), "{}", a.text);
        assert!(a.text.contains('…'));
        assert!(a.warnings.iter().any(|w| w.code == "text-truncated"));
    }

    #[test]
    fn too_long_with_threads_becomes_a_thread() {
        let a = adapt_post(&post(&"This is a sentence. ".repeat(30)), None, &rules(100, true)).unwrap();
        assert!(a.parts.len() > 1);
        assert_eq!(a.text, a.parts[0]);
        assert!(a.parts.iter().all(|p| p.chars().count() <= 100));
    }

    #[test]
    fn a_post_with_no_text_and_no_media_is_refused_naming_the_body() {
        for body in ["", "  \n\t "] {
            match adapt_post(&post(body), None, &rules(100, true)) {
                Err(PluginError::InvalidInput(i)) => {
                    assert_eq!(i.field, "body");
                    assert!(i.message.contains("no text and no media"), "{}", i.message);
                }
                other => panic!("{body:?}: {other:?}"),
            }
        }
        let mut only_link = post("");
        only_link.link = Some("https://ex.com/x".into());
        assert!(
            adapt_post(&only_link, None, &rules(100, true)).is_ok(),
            "a link alone is a post"
        );
    }

    #[test]
    fn missing_required_media_is_an_input_error_and_extra_media_is_dropped() {
        let mut r = rules(100, false);
        r.media_required = true;
        match adapt_post(&post("hi"), None, &r) {
            Err(PluginError::InvalidInput(i)) => assert_eq!(i.field, "media"),
            other => panic!("{other:?}"),
        }
        let mut p = post("hi");
        let m = |id: &str| MediaRef {
            url: None,
            id: id.into(),
            kind: MediaKind::Image,
            mime_type: "image/png".into(),
            byte_size: 1,
            width: None,
            height: None,
            duration_ms: None,
            alt_text: None,
        };
        p.media = vec![m("a"), m("b")];
        let a = adapt_post(&p, None, &rules(100, false)).unwrap();
        assert_eq!(a.media, ["a"]);
        assert!(a.warnings.iter().any(|w| w.code == "media-dropped"));
    }
}
