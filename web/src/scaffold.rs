//! `chorus plugin new NAME`: a plugin crate that builds and passes `chorus plugin test`
//! unchanged, for the author to fill in, with unit tests of its pure exports and, beside
//! it, a small fake of the platform that `chorus plugin run` can publish to.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

/// The SDK in this source tree (plugin crates depend on it by path).
pub fn default_sdk_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk")
}

pub fn new_plugin(name: &str, dir: &Path, sdk: &Path) -> anyhow::Result<PathBuf> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !ok {
        bail!("plugin name {name:?} must be 1-32 lowercase letters, digits and '-' (it becomes the plugin id)");
    }
    let root = dir.join(name);
    if root.exists() {
        bail!("{} already exists; choose another name or --path", root.display());
    }
    let sdk = std::fs::canonicalize(sdk).with_context(|| format!("the SDK at {} (use --sdk PATH)", sdk.display()))?;
    let crate_name = format!("chorus-plugin-{name}");
    let ty: String = name.split('-').map(|w| w[..1].to_uppercase() + &w[1..]).collect();
    std::fs::create_dir_all(root.join("src"))?;
    std::fs::write(
        root.join("Cargo.toml"),
        format!(
            r#"[package]
name = "{crate_name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
# cdylib: the component; rlib: `cargo test` runs the unit tests natively.
crate-type = ["cdylib", "rlib"]

[dependencies]
chorus-plugin-sdk = {{ path = {sdk:?} }}
serde_json = "1"

# A plugin is its own workspace, built with `cargo build --release --target wasm32-wasip2`.
[workspace]
"#
        ),
    )?;
    let latest = chorus_core::plugins::bindings::LATEST;
    std::fs::write(
        root.join("plugin.toml"),
        format!(
            r#"id = "{name}"
name = "{ty}"
version = "0.1.0"
api_version = "{latest}"
platform = "{name}"
author = "You"
component = "{name}.wasm"

[capabilities]
# The hosts your plugin calls. Nothing else is reachable.
http_hosts = ["api.{name}.example"]
# Which of them receive the account's token (the platform's own API; never a CDN).
credential_hosts = ["api.{name}.example"]
"#
        ),
    )?;
    std::fs::write(
        root.join("src/lib.rs"),
        LIB_TEMPLATE.replace("__TYPE__", &ty).replace("__NAME__", name),
    )?;
    std::fs::create_dir_all(root.join("fake/src"))?;
    std::fs::write(
        root.join("fake/Cargo.toml"),
        format!(
            r#"[package]
name = "{name}-fake"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
serde_json = "1"

# Built for this machine, apart from the plugin (which is built for wasm32-wasip2).
[workspace]
"#
        ),
    )?;
    std::fs::write(
        root.join("fake/src/main.rs"),
        FAKE_TEMPLATE.replace("__TYPE__", &ty).replace("__NAME__", name),
    )?;
    std::fs::write(
        root.join("README.md"),
        README_TEMPLATE.replace("__TYPE__", &ty).replace("__NAME__", name),
    )?;
    Ok(root)
}

const LIB_TEMPLATE: &str = r#"//! A Chorus platform plugin. `describe` is the single source of truth for the platform's
//! rules: the host, the UI and the validator all read it.

use chorus_plugin_sdk::prelude::*;

struct __TYPE__;

impl Plugin for __TYPE__ {
    fn describe() -> Description {
        Description {
            options: vec![],
            fields: vec![],
            session: None,
            id: "__NAME__".into(),
            name: "__TYPE__".into(),
            default_api_base: "https://api.__NAME__.example".into(),
            text: TextRules { also: vec![], max_length: 500, length_rule: LengthRule::Characters, max_hashtags: Some(5), max_mentions: None },
            media: MediaRules { required: false, max_count: 4, mixed_kinds: false, rules: vec![] },
            features: Features { threads: false, carousels: false, first_comment: false, link_previews: true },
            targeting: vec![],
            min_targeting_audience: None,
            publish_budgets: vec![RateBudget { max_posts: 100, window_seconds: 86_400 }],
            oauth: None,
        }
    }

    fn adapt(post: Post, segment: Option<Segment>, _account: Account) -> Result<Adapted, PluginError> {
        // The SDK's pipeline applies the segment's tone, hashtags, length and media rules.
        adapt_post(&post, segment.as_ref(), &AdaptRules::from_description(&Self::describe()))
    }

    fn publish(adapted: Adapted, marker: String, ctx: CallContext) -> Result<Published, PluginError> {
        let body = serde_json::json!({ "text": adapted.text, "client_reference": marker });
        let created = Request::post(format!("{}/v1/posts", ctx.api_base)).json(&body).send()?.ok()?.json()?;
        let id = created["id"].as_str().ok_or_else(|| transient("the answer had no id"))?;
        Ok(Published { remote_id: id.to_owned(), url: created["url"].as_str().map(str::to_owned), extra_ids: vec![] })
    }

    fn find_published(marker: String, _adapted: Adapted, ctx: CallContext) -> Result<Option<Published>, PluginError> {
        let found = Request::get(format!("{}/v1/posts?client_reference={marker}", ctx.api_base)).send()?.ok()?.json()?;
        Ok(found["data"].as_array().and_then(|a| a.first()).map(|p| Published {
            remote_id: p["id"].as_str().unwrap_or_default().to_owned(),
            url: p["url"].as_str().map(str::to_owned),
            extra_ids: vec![],
        }))
    }

    fn fetch_metrics(remote_ids: Vec<String>, ctx: CallContext) -> Result<Vec<Metrics>, PluginError> {
        remote_ids
            .into_iter()
            .map(|id| {
                let m = Request::get(format!("{}/v1/posts/{id}/metrics", ctx.api_base)).send()?.ok()?.json()?;
                Ok(Metrics {
                    remote_id: id,
                    impressions: m["impressions"].as_u64(),
                    reach: None,
                    likes: m["likes"].as_u64(),
                    comments: m["comments"].as_u64(),
                    shares: m["shares"].as_u64(),
                    saves: None,
                    clicks: m["clicks"].as_u64(),
                    video_views: None,
                })
            })
            .collect()
    }
}

chorus_plugin_sdk::export_plugin!(__TYPE__);

#[cfg(test)]
mod tests {
    //! `cargo test` runs these natively: `describe` and `adapt` are pure and need no host.
    //! The network exports run in the sandbox against the fake, with `chorus plugin run`.
    use super::*;

    fn post(body: &str) -> Post {
        Post::from_text(body)
    }

    fn account() -> Account {
        Account { id: "a1".into(), handle: "tester".into(), remote_id: "1".into(), timezone: "UTC".into() }
    }

    #[test]
    fn a_long_post_is_cut_to_the_platforms_limit_and_says_so() {
        let limit = __TYPE__::describe().text.max_length as usize;
        let a = __TYPE__::adapt(post(&"word ".repeat(200)), None, account()).unwrap();
        assert!(a.text.chars().count() <= limit, "{} characters", a.text.chars().count());
        assert!(a.warnings.iter().any(|w| w.code == "text-truncated"), "{:?}", a.warnings);
    }

    #[test]
    fn an_empty_post_is_refused_naming_the_field() {
        match __TYPE__::adapt(post("  "), None, account()) {
            Err(PluginError::InvalidInput(i)) => assert_eq!(i.field, "body"),
            other => panic!("expected invalid-input on the body, got {other:?}"),
        }
    }
}
"#;

const README_TEMPLATE: &str = r#"# __TYPE__ plugin for Chorus

1. Fill in `describe` with the platform's real rules and `publish` with its real flow
   (docs/plugins/guide.md walks through one; docs/plugins/sdk.md lists the SDK's helpers).
2. `cargo test` runs the unit tests of `describe` and `adapt` natively.
3. Make `fake/` as strict as the real platform (its limits, auth, error shapes), start it
   with `cargo run --manifest-path fake/Cargo.toml -- --port 8787`, and run the plugin's
   network exports in the real sandbox against it:

       chorus plugin run publish . --api-base http://127.0.0.1:8787 --token test-token --text "Hello"
       chorus plugin run find-published . --api-base http://127.0.0.1:8787 --token test-token --text "Hello"
       chorus plugin run fetch-metrics . --api-base http://127.0.0.1:8787 --token test-token --remote-id 1

   Each prints every request the plugin sent and what came back.
4. `chorus plugin test .` builds the plugin, runs the conformance checks and, when they
   pass, packages it into `dist/`; `chorus plugin install dist` installs it.
"#;

const FAKE_TEMPLATE: &str = include_str!("../templates/plugin-fake/main.rs");
