//! Switchable faults: the next requests to a fake fail the way real networks and platforms
//! fail, so retry and error mapping can be tested.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One injected failure.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 500 or 503 with the platform's error body (given by the fake).
    ServerError(u16),
    /// 429 with the platform's rate-limit signal, retry after this many seconds.
    RateLimited(u32),
    /// Answers normally, after this long (for client timeouts).
    Slow(Duration),
    /// Sends the status line and headers, then drops the connection mid-body.
    Drop,
    /// Lets the platform handle the request (a post is created), then drops the
    /// connection before the answer: the client never learns the outcome.
    DropAfter,
    /// Handles the request normally (to aim a later fault at a later request).
    Pass,
}

/// Faults drawn at random for requests with none queued, in shares of 1.0.
#[derive(Debug, Clone, Copy, Default)]
pub struct FaultMix {
    pub server_errors: f64,
    pub rate_limited: f64,
    /// Retry-After of the random 429s, in seconds.
    pub retry_after: u32,
    /// Answers later than this (past the client's timeout).
    pub timeouts: f64,
    pub slow: Duration,
    pub dropped_after: f64,
}

#[derive(Default)]
struct FaultState {
    queued: VecDeque<Fault>,
    mix: Option<(FaultMix, rand::rngs::StdRng)>,
    /// Per caller (its Authorization header): until when a 429 told it to wait.
    told_to_wait: std::collections::HashMap<String, std::time::Instant>,
    violations: u64,
    requests: u64,
}

/// A queue of faults applied to the next requests, one each, and optionally a random mix
/// for the rest. Records every caller that came back before its Retry-After.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<FaultState>>);

/// How a fake renders the faults that need its own error shapes.
pub(crate) trait FaultShapes: Clone + Send + Sync + 'static {
    fn server_error(&self, status: u16) -> Response;
    fn rate_limited(&self, retry_after: u32) -> Response;
}

impl Faults {
    /// Queues `fault` for the next request that has none queued before it.
    pub fn push(&self, fault: Fault) {
        self.lock().queued.push_back(fault);
    }

    /// Draws a fault from `mix` for every request with none queued (reproducibly, by `seed`).
    pub fn randomly(&self, mix: FaultMix, seed: u64) {
        use rand::SeedableRng;
        self.lock().mix = Some((mix, rand::rngs::StdRng::seed_from_u64(seed)));
    }

    /// Requests that came before the Retry-After their caller was given.
    pub fn retry_after_violations(&self) -> u64 {
        self.lock().violations
    }

    /// Requests seen (faulted or not).
    pub fn requests(&self) -> u64 {
        self.lock().requests
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `fault` for each of the next `n` requests.
    pub fn push_n(&self, fault: Fault, n: usize) {
        for _ in 0..n {
            self.push(fault.clone());
        }
    }

    pub fn clear(&self) {
        let mut s = self.lock();
        s.queued.clear();
        s.mix = None;
    }

    /// The fault for the next request of `caller`, noting a caller that did not wait.
    fn next(&self, caller: &str) -> Option<Fault> {
        use rand::Rng;
        let mut s = self.lock();
        s.requests += 1;
        let now = std::time::Instant::now();
        if let Some(until) = s.told_to_wait.get(caller).copied() {
            if now < until {
                s.violations += 1;
            } else {
                s.told_to_wait.remove(caller);
            }
        }
        let fault = match s.queued.pop_front() {
            Some(f) => Some(f),
            None => s.mix.as_mut().and_then(|(mix, rng)| {
                let r: f64 = rng.random();
                let mut edge = 0.0;
                let mut pick = |share: f64| {
                    edge += share;
                    r < edge
                };
                if pick(mix.server_errors) {
                    Some(Fault::ServerError(if rng.random_bool(0.5) { 500 } else { 503 }))
                } else if pick(mix.rate_limited) {
                    Some(Fault::RateLimited(mix.retry_after))
                } else if pick(mix.timeouts) {
                    Some(Fault::Slow(mix.slow))
                } else if pick(mix.dropped_after) {
                    Some(Fault::DropAfter)
                } else {
                    None
                }
            }),
        };
        if let Some(Fault::RateLimited(secs)) = fault {
            s.told_to_wait
                .insert(caller.to_owned(), now + Duration::from_secs(u64::from(secs)));
        }
        fault
    }

    /// Notes a 429 the fake itself answered (its own rate limit), with its Retry-After.
    pub fn told_to_wait(&self, caller: &str, secs: u64) {
        self.lock()
            .told_to_wait
            .insert(caller.to_owned(), std::time::Instant::now() + Duration::from_secs(secs));
    }
}

/// Serves `router` on loopback with a fault queue in front of it: what every fake's `start`
/// does. Returns the base URL and the queue.
pub(crate) async fn launch<S: FaultShapes>(router: axum::Router, shapes: S) -> std::io::Result<(String, Faults)> {
    let faults = Faults::default();
    let router = router.layer(axum::middleware::from_fn_with_state(
        (faults.clone(), shapes),
        apply::<S>,
    ));
    Ok((crate::serve(router).await?, faults))
}

/// Middleware: applies the next queued fault, if any.
async fn apply<S: FaultShapes>(State((faults, shapes)): State<(Faults, S)>, req: Request, next: Next) -> Response {
    let caller = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    match faults.next(&caller) {
        None | Some(Fault::Pass) => next.run(req).await,
        Some(Fault::DropAfter) => {
            let _ = next.run(req).await;
            dropped()
        }
        Some(Fault::ServerError(status)) => shapes.server_error(status),
        Some(Fault::RateLimited(secs)) => shapes.rate_limited(secs),
        Some(Fault::Slow(d)) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(Fault::Drop) => dropped(),
    }
}

/// A response that promises bytes and then fails: hyper aborts the connection.
fn dropped() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("connection dropped by the fake"))
    });
    let mut resp = (StatusCode::OK, Body::from_stream(stream)).into_response();
    resp.headers_mut()
        .insert("content-length", HeaderValue::from_static("1024"));
    resp
}
