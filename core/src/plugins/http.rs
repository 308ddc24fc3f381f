//! The HTTP capability: the only way a plugin reaches the network.
//!
//! Every request is checked against the plugin's [`Grant`] before anything is sent; the
//! account's token is added here (a plugin may not set `Authorization`); redirects are
//! returned, never followed; bodies are capped both ways; DNS answers that point at
//! private addresses are dropped, so a public name cannot be turned into a way inside.

use super::bindings::host_api::{Body, HttpError, HttpRequest, HttpResponse, Method, PartBody};
use super::limits::Limits;
use super::policy::{Grant, is_public};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;

/// A media asset's bytes, for plugins that upload them: read as a stream of chunks, a
/// range at a time, so an upload holds one chunk in memory, not the asset.
#[async_trait::async_trait]
pub trait MediaSource: Send + Sync {
    /// The asset's size in bytes.
    async fn size(&self, media_id: &str) -> Result<u64, String>;
    /// The bytes `range` of the asset (within its size).
    async fn stream(&self, media_id: &str, range: std::ops::Range<u64>) -> Result<MediaStream, String>;
}

/// Bytes of a media asset, chunk by chunk.
pub type MediaStream = futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// Media held in memory (tests, previews).
#[derive(Default)]
pub struct MemoryMedia(pub std::collections::HashMap<String, Vec<u8>>);

impl MemoryMedia {
    fn get(&self, media_id: &str) -> Result<&Vec<u8>, String> {
        self.0.get(media_id).ok_or_else(|| format!("no media asset {media_id}"))
    }
}

#[async_trait::async_trait]
impl MediaSource for MemoryMedia {
    async fn size(&self, media_id: &str) -> Result<u64, String> {
        Ok(self.get(media_id)?.len() as u64)
    }

    async fn stream(&self, media_id: &str, range: std::ops::Range<u64>) -> Result<MediaStream, String> {
        let b = self.get(media_id)?;
        let end = (range.end as usize).min(b.len());
        let start = (range.start as usize).min(end);
        let chunk = bytes::Bytes::copy_from_slice(&b[start..end]);
        Ok(Box::pin(futures::stream::once(async move { Ok(chunk) })))
    }
}

/// Headers a plugin may not set: the host owns credentials, routing and framing. Hop-by-hop
/// and framing headers could smuggle a second request or confuse a proxy on the way.
const FORBIDDEN_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "expect",
];

fn forbidden_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    FORBIDDEN_HEADERS.contains(&name.as_str()) || name.starts_with("proxy-")
}

/// Shared HTTP clients: one for the public internet (private addresses filtered out of
/// DNS answers), one for the operator's configured API bases (which may be loopback).
#[derive(Clone)]
pub struct HttpClients {
    public: reqwest::Client,
    configured: reqwest::Client,
}

impl HttpClients {
    pub fn new() -> Result<Self, String> {
        // Chorus uses rustls with ring (shared with sqlx); install it once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let build = |public: bool| {
            let b = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // A proxy from the environment would resolve names itself, past the
                // private-address filter: plugins' requests never use one.
                .no_proxy()
                .user_agent(concat!("chorus/", env!("CARGO_PKG_VERSION")));
            let b = if public {
                b.dns_resolver(Arc::new(PublicOnlyResolver))
            } else {
                b
            };
            b.build().map_err(|e| format!("cannot build the HTTP client: {e}"))
        };
        Ok(Self {
            public: build(true)?,
            configured: build(false)?,
        })
    }
}

/// Resolves names with the system resolver and keeps only public addresses.
pub(crate) struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                let e: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves only to private or loopback addresses").into();
                return Err(e);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The HTTP side of one call.
/// The requests of one or more calls and what came back, for a person watching a plugin
/// run (`chorus plugin run`): bodies as text, cut at [`TRACE_BODY`] bytes; the credentials
/// the host adds are named, never shown.
#[derive(Debug, Default)]
pub struct HttpTrace(std::sync::Mutex<Vec<Exchange>>);

/// Most bytes of a body a trace keeps.
pub const TRACE_BODY: usize = 4096;

/// One request a plugin sent, and its answer or why there was none.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    /// The plugin's headers, then the ones the host added (credentials shown as
    /// `Bearer (the account's token)`).
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    /// Refused by the host, timed out, or failed in transport.
    pub error: Option<String>,
}

impl HttpTrace {
    /// What was recorded so far, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn record(&self, e: Exchange) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(e);
    }
}

/// A body as a person reads it: text if it is text, cut to [`TRACE_BODY`] bytes.
fn body_text(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(TRACE_BODY)];
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > TRACE_BODY {
        text.push_str(&format!("… ({} bytes in all)", bytes.len()));
    }
    text
}

fn request_exchange(req: &HttpRequest) -> Exchange {
    let request_body = match &req.body {
        Body::Empty => None,
        Body::Bytes(b) => Some(body_text(b)),
        Body::Media(m) => Some(format!(
            "(media {} from byte {}{})",
            m.media_id,
            m.offset,
            m.length.map(|l| format!(", {l} bytes")).unwrap_or_default()
        )),
        Body::Multipart(parts) => Some(
            parts
                .iter()
                .map(|p| match &p.body {
                    PartBody::Bytes(b) => format!("part {:?}: {}", p.name, body_text(b)),
                    PartBody::Media(m) => format!("part {:?}: (media {})", p.name, m.media_id),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    };
    Exchange {
        method: match req.method {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
        }
        .into(),
        url: req.url.clone(),
        request_headers: req.headers.clone(),
        request_body,
        status: None,
        response_headers: Vec::new(),
        response_body: None,
        error: None,
    }
}

pub struct CallHttp {
    pub clients: HttpClients,
    pub grant: Grant,
    pub limits: Arc<Limits>,
    /// `None` in describe and adapt: HTTP is refused there.
    pub allowed: bool,
    pub token: Option<String>,
    pub media: Option<Arc<dyn MediaSource>>,
    pub sent: u32,
    /// Where each exchange is recorded, when someone watches.
    pub trace: Option<Arc<HttpTrace>>,
}

impl CallHttp {
    pub async fn send(&mut self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let Some(trace) = self.trace.clone() else {
            return self.send_untraced(req).await;
        };
        let mut exchange = request_exchange(&req);
        let res = self.send_untraced(req).await;
        if self.token.is_some() && url::Url::parse(&exchange.url).is_ok_and(|u| self.grant.sends_credentials(&u)) {
            exchange
                .request_headers
                .push(("authorization".into(), "Bearer (the account's token)".into()));
        }
        match &res {
            Ok(r) => {
                exchange.status = Some(r.status);
                exchange.response_headers = r.headers.clone();
                exchange.response_body = (!r.body.is_empty()).then(|| body_text(&r.body));
            }
            Err(e) => exchange.error = Some(format!("{e:?}")),
        }
        trace.record(exchange);
        res
    }

    async fn send_untraced(&mut self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        if !self.allowed {
            return Err(HttpError::Denied(
                "HTTP is not allowed during describe and adapt, which must be pure; publish, find-published and fetch-metrics may use it".into(),
            ));
        }
        if self.sent >= self.limits.http_requests_per_call {
            return Err(HttpError::Denied(format!(
                "this call already sent {} requests, the most allowed per call",
                self.sent
            )));
        }
        let url =
            url::Url::parse(&req.url).map_err(|e| HttpError::Denied(format!("{:?} is not a URL: {e}", req.url)))?;
        self.grant.check(&url).map_err(HttpError::Denied)?;
        if let Some((name, _)) = req.headers.iter().find(|(n, _)| forbidden_header(n)) {
            return Err(HttpError::Denied(format!(
                "plugins may not set the {name} header; the host adds the account's credentials and owns \
                 routing and framing (Host, Connection, Transfer-Encoding, TE, Upgrade, Content-Length, Proxy-*)"
            )));
        }
        self.sent += 1;
        let client = if self.grant.is_configured(&url) {
            &self.clients.configured
        } else {
            &self.clients.public
        };
        let method = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
            Method::Head => reqwest::Method::HEAD,
        };
        let mut builder = client.request(method, url.clone()).timeout(self.limits.http_timeout);
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        if let Some(token) = self.token.as_ref().filter(|_| self.grant.sends_credentials(&url)) {
            builder = builder.bearer_auth(token);
        }
        builder = match req.body {
            Body::Empty => builder,
            Body::Bytes(b) => builder.body(self.capped(b)?),
            Body::Media(slice) => {
                let (length, body) = self.media_body(&slice.media_id, slice.offset, slice.length).await?;
                builder.header(reqwest::header::CONTENT_LENGTH, length).body(body)
            }
            Body::Multipart(parts) => {
                let mut form = reqwest::multipart::Form::new();
                for part in parts {
                    let mut p = match part.body {
                        PartBody::Bytes(b) => reqwest::multipart::Part::bytes(self.capped(b)?),
                        PartBody::Media(s) => {
                            let (length, body) = self.media_body(&s.media_id, s.offset, s.length).await?;
                            reqwest::multipart::Part::stream_with_length(body, length)
                        }
                    };
                    if let Some(f) = part.filename {
                        p = p.file_name(f);
                    }
                    if let Some(ct) = part.content_type {
                        p = p
                            .mime_str(&ct)
                            .map_err(|e| HttpError::Denied(format!("content type {ct:?}: {e}")))?;
                    }
                    form = form.part(part.name, p);
                }
                builder.multipart(form)
            }
        };
        let mut resp = builder.send().await.map_err(|e| {
            if e.is_timeout() {
                HttpError::Timeout
            } else {
                HttpError::Transport(format!("{url}: {}", error_chain(&e)))
            }
        })?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let cap = self.limits.http_response_bytes;
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > cap {
                        return Err(HttpError::TooLarge(cap));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(HttpError::Timeout),
                Err(e) => {
                    return Err(HttpError::Transport(format!(
                        "{url}: reading the body: {}",
                        error_chain(&e)
                    )));
                }
            }
        }
        Ok(HttpResponse { status, headers, body })
    }

    fn capped(&self, b: Vec<u8>) -> Result<Vec<u8>, HttpError> {
        if b.len() as u64 > self.limits.http_request_bytes {
            return Err(HttpError::Denied(format!(
                "request body of {} bytes exceeds the limit of {}",
                b.len(),
                self.limits.http_request_bytes
            )));
        }
        Ok(b)
    }

    async fn media_body(&self, id: &str, offset: u64, length: Option<u64>) -> Result<(u64, reqwest::Body), HttpError> {
        let media = self
            .media
            .as_ref()
            .ok_or_else(|| HttpError::Denied("no media is available to this call".into()))?;
        media_request_body(media.as_ref(), id, offset, length)
            .await
            .map_err(HttpError::Denied)
    }
}

/// The slice `offset`, `length` (to the end when `None`) of a media asset as a streamed
/// request body, and its length: the bytes go from storage to the socket a chunk at a time,
/// so an upload of a 500 MB video in 64 MB parts never holds a part whole, let alone the
/// video. What the host sends for a plugin's `media-slice` (`chorus bench media` measures it).
pub async fn media_request_body(
    media: &dyn MediaSource,
    id: &str,
    offset: u64,
    length: Option<u64>,
) -> Result<(u64, reqwest::Body), String> {
    let size = media.size(id).await?;
    let start = offset.min(size);
    let end = match length {
        Some(l) => start.saturating_add(l).min(size),
        None => size,
    };
    let stream = media.stream(id, start..end).await?;
    Ok((end - start, reqwest::Body::wrap_stream(stream)))
}

/// An error with its sources, `outer: inner: innermost`.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
