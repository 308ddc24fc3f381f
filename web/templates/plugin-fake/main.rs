//! A small fake of the __TYPE__ platform, for `chorus plugin run` to publish to while the
//! real API is out of reach. It enforces the contract the plugin is written against, so a
//! plugin that passes here sends what the platform expects: a bearer token, a JSON body
//! with `text` (1-500 characters) and `client_reference`, and it honours 429s.
//! Make it as strict as the real platform: copy its limits and its error shapes.
//!
//!     cargo run --manifest-path fake/Cargo.toml -- [--port 8787] [--token test-token] [--rate-limit-after N]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

struct Post {
    id: String,
    text: String,
    client_reference: String,
}

struct Fake {
    token: String,
    rate_limit_after: Option<usize>,
    posts: Vec<Post>,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut port, mut token, mut rate_limit_after) = (8787u16, "test-token".to_owned(), None);
    while let Some(a) = args.next() {
        let value = args.next().unwrap_or_default();
        match a.as_str() {
            "--port" => port = value.parse().expect("--port takes a number"),
            "--token" => token = value,
            "--rate-limit-after" => rate_limit_after = Some(value.parse().expect("--rate-limit-after takes a number")),
            other => panic!("unknown option {other}; see the comment at the top of fake/src/main.rs"),
        }
    }
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the port");
    println!("__NAME__ fake on http://{}", listener.local_addr().unwrap());
    let mut fake = Fake { token, rate_limit_after, posts: Vec::new() };
    for stream in listener.incoming().flatten() {
        if let Err(e) = fake.serve(stream) {
            eprintln!("a request failed: {e}");
        }
    }
}

impl Fake {
    fn serve(&mut self, stream: TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length.min(1 << 20)];
        reader.read_exact(&mut body)?;
        let authorized = header("authorization") == Some(&format!("Bearer {}", self.token));
        let (status, answer) = if authorized {
            self.route(&method, &target, header("content-type"), &body)
        } else {
            (401, json!({ "message": "a valid bearer token is required" }))
        };
        println!("{method} {target} -> {status}");
        let text = answer.to_string();
        let mut out = stream;
        let retry = if status == 429 { "Retry-After: 30\r\n" } else { "" };
        write!(
            out,
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{retry}connection: close\r\n\r\n{text}",
            if status < 400 { "OK" } else { "Error" },
            text.len()
        )
    }

    fn route(&mut self, method: &str, target: &str, content_type: Option<&str>, body: &[u8]) -> (u16, Value) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        };
        match (method, path) {
            ("POST", "/v1/posts") => {
                if self.rate_limit_after.is_some_and(|n| self.posts.len() >= n) {
                    return (429, json!({ "message": "too many posts; wait 30 seconds" }));
                }
                if content_type != Some("application/json") {
                    return (415, json!({ "message": "send application/json" }));
                }
                let Ok(v) = serde_json::from_slice::<Value>(body) else {
                    return (400, json!({ "message": "the body is not JSON" }));
                };
                let (Some(text), Some(reference)) = (v["text"].as_str(), v["client_reference"].as_str()) else {
                    return (400, json!({ "message": "text and client_reference are required strings" }));
                };
                let chars = text.chars().count();
                if chars == 0 || chars > 500 {
                    return (422, json!({ "message": format!("text must be 1-500 characters; got {chars}") }));
                }
                if self.posts.iter().any(|p| p.client_reference == reference) {
                    return (409, json!({ "message": format!("a post with client_reference {reference} exists") }));
                }
                let id = (self.posts.len() + 1).to_string();
                self.posts.push(Post { id: id.clone(), text: text.to_owned(), client_reference: reference.to_owned() });
                (201, json!({ "id": id, "url": format!("https://__NAME__.example/p/{id}") }))
            }
            ("GET", "/v1/posts") => {
                let wanted = param("client_reference");
                let data: Vec<Value> = self
                    .posts
                    .iter()
                    .filter(|p| Some(&p.client_reference) == wanted.as_ref())
                    .map(|p| json!({ "id": p.id, "url": format!("https://__NAME__.example/p/{}", p.id), "text": p.text }))
                    .collect();
                (200, json!({ "data": data }))
            }
            ("GET", p) if p.starts_with("/v1/posts/") && p.ends_with("/metrics") => {
                let id = &p["/v1/posts/".len()..p.len() - "/metrics".len()];
                match self.posts.iter().position(|p| p.id == id) {
                    // Deterministic figures, so a test can check them.
                    Some(i) => (200, json!({ "impressions": 100 * (i + 1), "likes": 10 * (i + 1), "comments": i, "shares": 1, "clicks": 5 })),
                    None => (404, json!({ "message": format!("no post {id}") })),
                }
            }
            _ => (404, json!({ "message": format!("no route {method} {path}") })),
        }
    }
}
