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
}

/// A queue of faults applied to the next requests, one each.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<VecDeque<Fault>>>);

/// How a fake renders the faults that need its own error shapes.
pub(crate) trait FaultShapes: Clone + Send + Sync + 'static {
    fn server_error(&self, status: u16) -> Response;
    fn rate_limited(&self, retry_after: u32) -> Response;
}

impl Faults {
    /// Queues `fault` for the next request that has none queued before it.
    pub fn push(&self, fault: Fault) {
        self.0.lock().expect("faults lock").push_back(fault);
    }

    /// Queues `fault` for each of the next `n` requests.
    pub fn push_n(&self, fault: Fault, n: usize) {
        for _ in 0..n {
            self.push(fault.clone());
        }
    }

    pub fn clear(&self) {
        self.0.lock().expect("faults lock").clear();
    }

    fn next(&self) -> Option<Fault> {
        self.0.lock().expect("faults lock").pop_front()
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
    match faults.next() {
        None => next.run(req).await,
        Some(Fault::ServerError(status)) => shapes.server_error(status),
        Some(Fault::RateLimited(secs)) => shapes.rate_limited(secs),
        Some(Fault::Slow(d)) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(Fault::Drop) => {
            // A body that promises bytes and then fails: hyper aborts the connection.
            let stream = futures_util::stream::once(async {
                Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("connection dropped by the fake"))
            });
            let mut resp = (StatusCode::OK, Body::from_stream(stream)).into_response();
            resp.headers_mut()
                .insert("content-length", HeaderValue::from_static("1024"));
            resp
        }
    }
}
