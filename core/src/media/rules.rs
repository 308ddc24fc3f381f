//! A post's media against one platform's rules (its plugin's `describe`), checked when the
//! post is composed or scheduled so that "Instagram needs media" or "TikTok takes videos
//! up to 10 minutes" is said then, naming the platform, the item and the rule, not when the
//! publish fails.
//!
//! A platform's `rules` list says which kinds it takes: a kind without a rule is refused.
//! An empty list sets no rules beyond the count.

use crate::plugins::types::{MediaKind, MediaRef, MediaRule, MediaRules};

/// One rule a post's media breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// `media`, or `media[2]` for one item.
    pub field: String,
    pub message: String,
}

fn kind_name(k: MediaKind) -> &'static str {
    match k {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Gif => "GIF",
        MediaKind::Document => "document",
    }
}

/// "an image", "a video".
fn a(what: &str) -> String {
    if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {what}")
    } else {
        format!("a {what}")
    }
}

fn megabytes(b: u64) -> String {
    let mb = b as f64 / 1_000_000.0;
    if mb >= 10.0 {
        format!("{mb:.0} MB")
    } else {
        format!("{mb:.1} MB")
    }
}

fn seconds(ms: u32) -> String {
    let s = f64::from(ms) / 1000.0;
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// The rules of `rules` that `media` breaks, for the platform called `platform`.
///
/// What the plugin adapts is not refused here: items of a kind the platform does not take,
/// items beyond its count, kinds it does not mix are left out of that platform's version
/// with a warning (a post for several platforms keeps them for the others). What is
/// refused is what the adaptation cannot mend: a platform that needs media and would get
/// none, and an item of a kind it takes that breaks that kind's rule (a 4-minute video for
/// a platform that takes 3: dropping it would publish a different post).
pub fn check(platform: &str, rules: &MediaRules, media: &[MediaRef]) -> Vec<Broken> {
    let mut out = Vec::new();
    let rule_of = |m: &MediaRef| -> Option<Option<&MediaRule>> {
        if rules.rules.is_empty() {
            return (rules.max_count > 0).then_some(None);
        }
        rules.rules.iter().find(|r| r.kind == m.kind).map(Some)
    };
    let mut usable = 0;
    for (i, m) in media.iter().enumerate() {
        let Some(rule) = rule_of(m) else { continue };
        usable += 1;
        let Some(rule) = rule else { continue };
        out.extend(check_item(rule, m).into_iter().map(|message| Broken {
            field: format!("media[{i}]"),
            message: format!("{platform}: {message}"),
        }));
    }
    if rules.required && usable == 0 {
        let kinds: Vec<&str> = rules.rules.iter().map(|r| kind_name(r.kind)).collect();
        let takes = if kinds.is_empty() {
            "a media item".to_owned()
        } else {
            format!("an item ({})", kinds.join(" or "))
        };
        out.push(Broken {
            field: "media".into(),
            message: if media.is_empty() {
                format!("{platform} publishes nothing without media; add {takes}")
            } else {
                format!(
                    "{platform} publishes nothing without media, and takes none of this post's ({}); add {takes}",
                    kinds_of(media)
                )
            },
        });
    }
    out
}

fn kinds_of(media: &[MediaRef]) -> String {
    let mut kinds: Vec<&str> = media.iter().map(|m| kind_name(m.kind)).collect();
    kinds.dedup();
    kinds.join(" and ")
}

fn check_item(rule: &MediaRule, m: &MediaRef) -> Vec<String> {
    let mut out = Vec::new();
    let what = kind_name(m.kind);
    if !rule.mime_types.is_empty() && !rule.mime_types.iter().any(|t| t.eq_ignore_ascii_case(&m.mime_type)) {
        out.push(format!(
            "{} of type {} is not taken; allowed: {}",
            a(what),
            m.mime_type,
            rule.mime_types.join(", ")
        ));
    }
    if rule.max_bytes > 0 && m.byte_size > rule.max_bytes {
        out.push(format!(
            "the {what} is {}; at most {} is allowed",
            megabytes(m.byte_size),
            megabytes(rule.max_bytes)
        ));
    }
    if let (Some(w), Some(h)) = (m.width, m.height)
        && h > 0
    {
        let ratio = f64::from(w) / f64::from(h);
        let min = rule.min_aspect_ratio.map(f64::from);
        let max = rule.max_aspect_ratio.map(f64::from);
        // Platforms round: a 1080×1350 image is 4:5 even if 0.8 is stored as 0.79999.
        let below = min.is_some_and(|min| ratio < min - 0.005);
        let above = max.is_some_and(|max| ratio > max + 0.005);
        if below || above {
            out.push(format!(
                "the {what} is {w}×{h} (aspect ratio {ratio:.2}); allowed: {} to {}",
                min.map(|v| format!("{v:.2}")).unwrap_or_else(|| "any".into()),
                max.map(|v| format!("{v:.2}")).unwrap_or_else(|| "any".into()),
            ));
        }
    }
    if let Some(d) = m.duration_ms {
        if let Some(max) = rule.max_duration_ms
            && d > max
        {
            out.push(format!(
                "the {what} lasts {}; at most {} is allowed",
                seconds(d),
                seconds(max)
            ));
        }
        if let Some(min) = rule.min_duration_ms
            && d < min
        {
            out.push(format!(
                "the {what} lasts {}; at least {} is needed",
                seconds(d),
                seconds(min)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: MediaKind, types: &[&str], max_bytes: u64) -> MediaRule {
        MediaRule {
            kind,
            mime_types: types.iter().map(|s| s.to_string()).collect(),
            max_bytes,
            min_aspect_ratio: None,
            max_aspect_ratio: None,
            min_duration_ms: None,
            max_duration_ms: None,
        }
    }

    fn video(ms: u32, w: u32, h: u32) -> MediaRef {
        MediaRef {
            id: "v".into(),
            kind: MediaKind::Video,
            mime_type: "video/mp4".into(),
            byte_size: 20_000_000,
            width: Some(w),
            height: Some(h),
            duration_ms: Some(ms),
            alt_text: None,
            url: None,
        }
    }

    fn image(mime: &str) -> MediaRef {
        MediaRef {
            id: "i".into(),
            kind: MediaKind::Image,
            mime_type: mime.into(),
            byte_size: 500_000,
            width: Some(1080),
            height: Some(1080),
            duration_ms: None,
            alt_text: None,
            url: None,
        }
    }

    fn reels_like() -> MediaRules {
        let mut v = rule(MediaKind::Video, &["video/mp4", "video/quicktime"], 300_000_000);
        v.max_duration_ms = Some(180_000);
        v.min_duration_ms = Some(3_000);
        v.min_aspect_ratio = Some(0.01);
        v.max_aspect_ratio = Some(10.0);
        MediaRules {
            required: true,
            max_count: 10,
            mixed_kinds: true,
            rules: vec![rule(MediaKind::Image, &["image/jpeg"], 8_000_000), v],
        }
    }

    #[test]
    fn a_required_platform_refuses_a_post_without_media_and_names_itself() {
        let broken = check("Instagram", &reels_like(), &[]);
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].field, "media");
        assert!(
            broken[0]
                .message
                .starts_with("Instagram publishes nothing without media"),
            "{broken:?}"
        );
    }

    #[test]
    fn a_long_video_names_the_item_its_length_and_the_limit() {
        let broken = check("TikTok", &reels_like(), &[video(240_000, 1080, 1920)]);
        assert_eq!(
            broken,
            vec![Broken {
                field: "media[0]".into(),
                message: "TikTok: the video lasts 240 s; at most 180 s is allowed".into()
            }]
        );
        assert!(check("TikTok", &reels_like(), &[video(60_000, 1080, 1920)]).is_empty());
    }

    #[test]
    fn types_sizes_and_ratios_are_named_while_what_adaptation_mends_is_not_refused() {
        let mut rules = reels_like();
        rules.mixed_kinds = false;
        rules.max_count = 1;
        rules.rules[0].min_aspect_ratio = Some(0.8);
        rules.rules[0].max_aspect_ratio = Some(1.91);
        let mut tall = image("image/webp");
        tall.height = Some(3000);
        let broken = check("Instagram", &rules, &[tall, video(10_000, 1080, 1920)]);
        let text: Vec<String> = broken.iter().map(|b| format!("{}: {}", b.field, b.message)).collect();
        assert_eq!(
            text,
            vec![
                "media[0]: Instagram: an image of type image/webp is not taken; allowed: image/jpeg",
                "media[0]: Instagram: the image is 1080×3000 (aspect ratio 0.36); allowed: 0.80 to 1.91",
            ],
            "two items over a count of one, mixed kinds: the plugin keeps what fits, with a warning"
        );
        let mut big = image("image/jpeg");
        big.byte_size = 9_500_000;
        assert_eq!(
            check("Instagram", &reels_like(), &[big])[0].message,
            "Instagram: the image is 9.5 MB; at most 8.0 MB is allowed"
        );
    }

    #[test]
    fn a_kind_the_platform_does_not_take_is_left_to_adaptation_unless_nothing_is_left() {
        let mut gif = image("image/gif");
        gif.kind = MediaKind::Gif;
        let broken = check("Instagram", &reels_like(), &[gif.clone()]);
        assert_eq!(broken.len(), 1);
        assert_eq!(
            broken[0].message,
            "Instagram publishes nothing without media, and takes none of this post's (GIF); add an item (image or video)"
        );
        assert!(check("Instagram", &reels_like(), &[gif, image("image/jpeg")]).is_empty());
        let optional = MediaRules {
            required: false,
            ..reels_like()
        };
        let mut doc = image("application/pdf");
        doc.kind = MediaKind::Document;
        assert!(check("X", &optional, &[doc]).is_empty());
    }
}
