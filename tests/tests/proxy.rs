//! A plugin's HTTP never goes through a proxy named in the environment: a proxy resolves
//! host names itself, past the host's private-address filter, and would see the account's
//! token. This is its own test binary because it sets process-wide environment variables.

use chorus_core::plugins::{Invocation, Limits};
use chorus_tests::plugins::{adapted, engine, hostile, test_account};
use std::io::ErrorKind;
use std::net::TcpListener;
use std::time::Duration;

#[tokio::test]
async fn proxy_environment_variables_do_not_route_a_plugins_requests() {
    // A "proxy" that only counts who connects to it.
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let url = format!("http://{}", proxy.local_addr().unwrap());
    for k in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        // SAFETY: this binary holds this one test; nothing else reads the environment now.
        unsafe { std::env::set_var(k, &url) };
    }
    let e = engine();
    let limits = Limits {
        http_timeout: Duration::from_secs(3),
        ..Limits::default()
    };
    let p = hostile(&e, None, limits).await;
    let adapted = adapted("fetch https://api.hostile.test/echo");
    let inv = Invocation {
        token: Some("tok-123".into()),
        ..Invocation::default()
    };
    // The name does not resolve here (no DNS, and the filter would refuse a private answer),
    // so the call fails; through the proxy it would have been sent on.
    let result = p.publish(&adapted, "m", &test_account(), &inv).await;
    assert!(result.is_err(), "the request cannot succeed offline: {result:?}");
    match proxy.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Ok((_, from)) => panic!("the plugin's request went to the proxy (from {from})"),
        Err(e) => panic!("{e}"),
    }
}
