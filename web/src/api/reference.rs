//! `/api/docs`: the OpenAPI document as a readable page, rendered here from the same
//! document `/api/openapi.json` serves (no CDN, no script).

use axum::response::Html;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::{OpenApi, RefOr};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn method_name(m: &HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Head => "HEAD",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Trace => "TRACE",
    }
}

pub fn page(doc: &OpenApi) -> Html<String> {
    let mut ops = String::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in item_operations(item) {
            let summary = op
                .summary
                .clone()
                .or_else(|| op.description.clone())
                .unwrap_or_default();
            ops.push_str(&format!(
                "<section><h3><span class=m>{}</span> <code>{}</code></h3><p>{}</p>",
                method,
                esc(path),
                esc(&summary)
            ));
            if let Some(params) = &op.parameters {
                ops.push_str("<table><tr><th>parameter</th><th>in</th><th>description</th></tr>");
                for p in params {
                    ops.push_str(&format!(
                        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                        esc(&p.name),
                        match p.parameter_in {
                            utoipa::openapi::path::ParameterIn::Path => "path",
                            utoipa::openapi::path::ParameterIn::Query => "query",
                            utoipa::openapi::path::ParameterIn::Header => "header",
                            utoipa::openapi::path::ParameterIn::Cookie => "cookie",
                        },
                        esc(p.description.as_deref().unwrap_or(""))
                    ));
                }
                ops.push_str("</table>");
            }
            ops.push_str("<ul>");
            for (status, r) in &op.responses.responses {
                let text = match r {
                    RefOr::T(r) => r.description.clone(),
                    RefOr::Ref(r) => r.ref_location.clone(),
                };
                ops.push_str(&format!("<li><b>{}</b> {}</li>", esc(status), esc(&text)));
            }
            ops.push_str("</ul></section>");
        }
    }
    Html(format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>{title} reference</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}}\
         section{{border-top:1px solid #ccc;padding:.5rem 0}}.m{{display:inline-block;min-width:4.5rem;font-weight:700;color:#0b5394}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}}</style></head>\
         <body><h1>{title} {version}</h1><p>{desc}</p><p>The machine-readable document: <a href=\"/api/openapi.json\">/api/openapi.json</a> (OpenAPI 3.1). \
         Errors are <code>application/problem+json</code> (RFC 9457).</p>{ops}</body></html>",
        title = esc(&doc.info.title),
        version = esc(&doc.info.version),
        desc = esc(doc.info.description.as_deref().unwrap_or("")),
    ))
}

fn item_operations(item: &utoipa::openapi::PathItem) -> Vec<(&'static str, &utoipa::openapi::path::Operation)> {
    let all = [
        (HttpMethod::Get, &item.get),
        (HttpMethod::Post, &item.post),
        (HttpMethod::Put, &item.put),
        (HttpMethod::Patch, &item.patch),
        (HttpMethod::Delete, &item.delete),
    ];
    all.into_iter()
        .filter_map(|(m, op)| op.as_ref().map(|op| (method_name(&m), op)))
        .collect()
}
