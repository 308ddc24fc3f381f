//! `chorus media add|list|show|remove`: a brand's media library from the command line.

use crate::audience_cmd::{BrandRef, tenant_for};
use anyhow::Context;
use chorus_core::media::MediaLibrary;
use chorus_core::store::Store;
use chorus_core::store::entity::media_asset;
use serde_json::json;
use std::path::Path;
use uuid::Uuid;

fn as_json(a: &media_asset::Model) -> serde_json::Value {
    json!({
        "id": a.id,
        "kind": a.kind,
        "mime_type": a.mime_type,
        "byte_size": a.byte_size,
        "width": a.width,
        "height": a.height,
        "duration_ms": a.duration_ms,
        "codec": a.codec,
        "frame_rate": a.frame_rate,
        "sha256": a.sha256,
        "alt_text": a.alt_text,
        "original_name": a.original_name,
        "created_at": a.created_at,
    })
}

fn summary(a: &media_asset::Model) -> String {
    let mut parts = vec![a.mime_type.clone(), human_bytes(a.byte_size)];
    if let (Some(w), Some(h)) = (a.width, a.height) {
        parts.push(format!("{w}×{h}"));
    }
    if let Some(d) = a.duration_ms {
        parts.push(format!("{:.1} s", d as f64 / 1000.0));
    }
    if let Some(c) = &a.codec {
        parts.push(c.clone());
    }
    if let Some(f) = a.frame_rate {
        parts.push(format!("{f} fps"));
    }
    parts.join(", ")
}

fn human_bytes(b: i64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.0} KB", b / 1e3)
    } else {
        format!("{b} B")
    }
}

pub async fn add(
    store: &Store,
    library: &MediaLibrary,
    at: &BrandRef<'_>,
    file: &str,
    alt: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let asset = if file.starts_with("http://") || file.starts_with("https://") {
        library.add_url(&tenant, brand, file, alt).await?
    } else {
        library.add_file(&tenant, brand, Path::new(file), alt).await?
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&as_json(&asset))?);
    } else {
        println!("added {} ({})", asset.id, summary(&asset));
        if asset.alt_text.is_none() {
            println!("  no alt text: add it with --alt so screen-reader users know what it shows");
        }
    }
    Ok(())
}

pub async fn list(store: &Store, at: &BrandRef<'_>, json: bool) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let assets = tenant.media().list(brand).await?;
    if json {
        let rows: Vec<_> = assets.iter().map(as_json).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if assets.is_empty() {
        println!(
            "no media in brand {:?}; add some with `chorus media add FILE --brand {}`",
            at.brand, at.brand
        );
    }
    for a in &assets {
        println!(
            "{}  {}  {}",
            a.id,
            a.original_name.as_deref().unwrap_or("-"),
            summary(a)
        );
    }
    Ok(())
}

fn parse_id(id: &str) -> anyhow::Result<Uuid> {
    id.parse()
        .with_context(|| format!("{id:?} is not a media id; `chorus media list --brand SLUG` shows them"))
}

pub async fn show(
    store: &Store,
    library: &MediaLibrary,
    at: &BrandRef<'_>,
    id: &str,
    json: bool,
) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let id = parse_id(id)?;
    let asset = tenant.media().get(id).await?;
    anyhow::ensure!(asset.brand_id == brand, "media asset {id} belongs to another brand");
    let uses = tenant.media().uses(id).await?;
    let url = library
        .signer()
        .map(|s| s.url(id, chrono::Utc::now() + chrono::Duration::hours(1)));
    if json {
        let mut v = as_json(&asset);
        v["posts"] = json!(uses);
        v["url"] = json!(url);
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{}  {}", asset.id, summary(&asset));
        println!("  name      {}", asset.original_name.as_deref().unwrap_or("-"));
        println!("  alt text  {}", asset.alt_text.as_deref().unwrap_or("(none)"));
        println!("  sha256    {}", asset.sha256);
        println!("  used by   {uses} post(s)");
        if let Some(u) = url {
            println!("  URL       {u}  (valid for an hour)");
        }
    }
    Ok(())
}

pub async fn remove(store: &Store, library: &MediaLibrary, at: &BrandRef<'_>, id: &str) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let id = parse_id(id)?;
    let asset = tenant.media().get(id).await?;
    anyhow::ensure!(asset.brand_id == brand, "media asset {id} belongs to another brand");
    library.remove(&tenant, id).await?;
    println!("removed {id}");
    Ok(())
}
