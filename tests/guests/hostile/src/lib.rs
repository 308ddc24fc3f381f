//! Misbehaves as the post body (for `adapt`) or adapted text (for `publish`) asks, so each
//! sandbox limit can be proven against real WebAssembly. Harmless modes return what the
//! plugin observed, for the test to check.

use chorus_plugin_sdk::host::{self, Method};
use chorus_plugin_sdk::prelude::*;
use std::hint::black_box;

struct Hostile;

fn simple(text: String) -> Adapted {
    Adapted {
        fields: vec![],
        extras: vec![],
        languages: vec![],
        length: text.chars().count() as u32,
        text,
        parts: vec![],
        hashtags: vec![],
        media: vec![],
        targeting: None,
        warnings: vec![],
    }
}

fn recurse(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        1 + black_box(recurse(black_box(n - 1)))
    }
}

impl Plugin for Hostile {
    fn describe() -> Description {
        Description {
            options: vec![],
            fields: vec![],
            session: None,
            id: "hostile".into(),
            name: "Hostile".into(),
            default_api_base: "https://api.hostile.test".into(),
            text: TextRules {
                also: vec![],
                max_length: 100,
                length_rule: LengthRule::Characters,
                max_hashtags: None,
                max_mentions: None,
            },
            media: MediaRules {
                required: false,
                max_count: 0,
                mixed_kinds: false,
                rules: vec![],
            },
            features: Features {
                threads: false,
                carousels: false,
                first_comment: false,
                link_previews: false,
            },
            targeting: vec![],
            min_targeting_audience: None,
            publish_budgets: vec![],
            oauth: None,
        }
    }

    fn adapt(post: Post, _segment: Option<Segment>, _account: Account) -> Result<Adapted, PluginError> {
        match post.body.as_str() {
            "limits" => {
                let l = host::limits();
                Ok(simple(format!(
                    "{} {} {} {}",
                    l.max_requests, l.max_call_ms, l.max_output_items, l.publish_max_requests
                )))
            }
            "loop" => loop {
                black_box(0);
            },
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![1u8; 1 << 20]));
                }
            }
            "recurse" => Ok(simple(recurse(black_box(u64::MAX)).to_string())),
            "huge" => Ok(simple("x".repeat(16 << 20))),
            "panic" => panic!("the plugin panicked on purpose"),
            "file" => Ok(simple(match std::fs::read_to_string("/etc/passwd") {
                Ok(s) => format!("read {} bytes", s.len()),
                Err(e) => format!("file error: {e}"),
            })),
            "env" => Ok(simple(format!(
                "env vars: {}, HOME: {:?}",
                std::env::vars().count(),
                std::env::var("HOME").ok()
            ))),
            "http" => match host::send(&host::HttpRequest {
                method: Method::Get,
                url: "https://api.hostile.test/ping".into(),
                headers: vec![],
                body: host::Body::Empty,
            }) {
                Ok(r) => Ok(simple(format!("http status {}", r.status))),
                Err(e) => Err(PluginError::Denied(format!("{e:?}"))),
            },
            "clock" => Ok(simple(format!("now {}", host::now_ms()))),
            // 5,000 lines of 2 KB, at error level, one forged host line among them.
            "log-flood" => {
                let line = "x".repeat(2000);
                host::log(
                    host::LogLevel::Error,
                    "ok\n2026-01-01T00:00:00Z ERROR chorus: forged host line",
                );
                for _ in 0..5000 {
                    host::log(host::LogLevel::Error, &line);
                }
                Ok(simple("logged".into()))
            }
            // 400,000 warnings of zero bytes each: nothing for a byte cap to see.
            "warnings" => {
                let mut a = simple("ok".into());
                a.warnings = vec![Warning::new("", ""); 400_000];
                Ok(a)
            }
            "kv-set" => Ok(simple(match host::kv_set("k", &vec![0u8; 60 << 10]) {
                Ok(()) => "stored".into(),
                Err(e) => format!("kv-set refused: {e}"),
            })),
            "kv-delete" => {
                host::kv_delete("k");
                Ok(simple("deleted".into()))
            }
            other => Ok(simple(other.to_owned())),
        }
    }

    fn publish(adapted: Adapted, marker: String, ctx: CallContext) -> Result<Published, PluginError> {
        let api = ctx.api_base.clone();
        let published = |id: String| {
            Ok(Published {
                remote_id: id,
                url: None,
                extra_ids: vec![],
            })
        };
        let (mode, arg) = adapted.text.split_once(' ').unwrap_or((adapted.text.as_str(), ""));
        match mode {
            "limits" => {
                let l = host::limits();
                published(format!("{} {} {}", l.max_requests, l.max_call_ms, l.max_response_bytes))
            }
            "loop" => loop {
                black_box(0);
            },
            "ok" => {
                let r = Request::get(format!("{api}/echo?marker={marker}")).send()?;
                published(format!("{} {}", r.status, String::from_utf8_lossy(&r.body)))
            }
            "fetch" => {
                let r = Request::get(arg).send()?;
                published(format!("{} {}", r.status, String::from_utf8_lossy(&r.body)))
            }
            "header" => {
                let r = Request::get(format!("{api}/echo")).header(arg, "x").send()?;
                published(r.status.to_string())
            }
            "url" => {
                let r = Request::get(arg).send()?;
                published(r.status.to_string())
            }
            "auth" => {
                Request::get(format!("{api}/echo"))
                    .header("Authorization", "Bearer stolen")
                    .send()?;
                published("sent".into())
            }
            "redirect" => {
                let first = Request::get(format!("{api}/redirect")).send()?;
                let location = first.header("location").unwrap_or_default().to_owned();
                let second = Request::get(location).send()?;
                published(format!("{} then {}", first.status, second.status))
            }
            "many" => {
                let mut n = 0;
                loop {
                    Request::get(format!("{api}/echo")).send()?;
                    n += 1;
                    if n > 1000 {
                        return published(n.to_string());
                    }
                }
            }
            "sleep" => {
                host::sleep_ms(u32::MAX);
                published("woke".into())
            }
            "kv" => {
                host::kv_set("greeting", b"hej").map_err(PluginError::Denied)?;
                let got = host::kv_get("greeting").unwrap_or_default();
                host::kv_delete("greeting");
                let gone = host::kv_get("greeting").is_none();
                published(format!("{} {gone}", String::from_utf8_lossy(&got)))
            }
            "kv-big" => {
                host::kv_set("big", &vec![0u8; 1 << 20]).map_err(PluginError::Denied)?;
                published("stored".into())
            }
            "upload" => {
                let part = chorus_plugin_sdk::host::FormPart {
                    name: "file".into(),
                    filename: Some("a.bin".into()),
                    content_type: Some("application/octet-stream".into()),
                    body: chorus_plugin_sdk::host::PartBody::Media(chorus_plugin_sdk::host::MediaSlice {
                        media_id: arg.to_owned(),
                        offset: 0,
                        length: None,
                    }),
                };
                let r = Request::post(format!("{api}/upload"))
                    .body(chorus_plugin_sdk::host::Body::Multipart(vec![part]))
                    .send()?;
                published(format!("{} {}", r.status, String::from_utf8_lossy(&r.body)))
            }
            "status" => {
                let r = Request::get(format!("{api}/status/{arg}")).send()?;
                r.ok().map(|_| Published {
                    remote_id: "fine".into(),
                    url: None,
                    extra_ids: vec![],
                })
            }
            other => Err(invalid("text", format!("unknown mode {other:?}"))),
        }
    }

    fn find_published(marker: String, _adapted: Adapted, _ctx: CallContext) -> Result<Option<Published>, PluginError> {
        Ok(Some(Published {
            remote_id: marker,
            url: None,
            extra_ids: vec![],
        }))
    }

    fn fetch_metrics(remote_ids: Vec<String>, _ctx: CallContext) -> Result<Vec<Metrics>, PluginError> {
        Ok(remote_ids
            .into_iter()
            .map(|id| Metrics {
                remote_id: id,
                impressions: Some(1),
                reach: None,
                likes: None,
                comments: None,
                shares: None,
                saves: None,
                clicks: None,
                video_views: None,
            })
            .collect())
    }
}

chorus_plugin_sdk::export_plugin!(Hostile);
