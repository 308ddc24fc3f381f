//! Network policy: which URL a plugin may reach, decided before anything is sent.
//!
//! A request is allowed when its host is declared in the plugin's manifest AND allowed by
//! the operator, over HTTPS, to a public address. The one exception is the API base the
//! operator configured for the platform (and any local origin the operator set up for a
//! declared host): it may be plain HTTP on a loopback address, which is how the offline
//! sandbox and the tests reach local fakes.
//!
//! Credentials are a second, narrower decision: the account's token goes only to the
//! operator's API base and to the hosts the manifest names in `credential_hosts`, never to
//! the rest of `http_hosts` (CDNs, pre-signed upload URLs, anything else a plugin declared).
//!
//! A plugin whose manifest says `account_api_base` (a federated platform) also reaches, in
//! one account's calls, that account's own server ([`Grant::for_account`]): over HTTPS to a
//! public address like any declared host, and it receives that account's token. People
//! connect accounts, so their servers are never trusted like the operator's API base:
//! plain HTTP on loopback is allowed only where the operator said so (tests, the demo).

use super::manifest::{Manifest, ManifestError, host_matches};
use std::net::IpAddr;
use url::Url;

/// What the operator decided for one plugin.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// Declared hosts the operator allows (the manifest's list, possibly narrowed).
    pub hosts: Vec<String>,
    /// Declared hosts that receive the account's credentials (the platform's own API).
    pub credential_hosts: Vec<String>,
    /// The operator's API base for the platform, if set (e.g. `http://127.0.0.1:9000`).
    pub api_base: Option<Url>,
    /// Local stand-ins the operator set up for declared hosts (`upload.x.com` →
    /// `http://127.0.0.1:9001`): reachable like the API base, and credentialed only when the
    /// host they stand for is a credential host.
    pub local_origins: Vec<(String, Url)>,
    /// The manifest lets each account name its own server.
    pub per_account: bool,
    /// The operator allows accounts on plain-HTTP loopback servers (local fakes).
    pub loopback_accounts: bool,
    /// In one account's call: that account's server.
    pub account_base: Option<Url>,
}

/// Where a URL leads, as far as the policy is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Destination<'a> {
    /// The operator's API base.
    ApiBase,
    /// The server of the account this call acts for.
    Account,
    /// A local origin standing in for this declared host.
    Local(&'a str),
    /// Anywhere else: the URL's own host.
    Public(&'a str),
}

impl Grant {
    /// Grants the manifest's hosts, if the operator allows them all (`None`: the operator
    /// set no list for this plugin). A manifest asking for more is refused, not narrowed:
    /// a plugin that silently lost a host would fail later in a confusing way.
    pub fn for_manifest(
        manifest: &Manifest,
        operator_hosts: Option<&[String]>,
        api_base: Option<Url>,
    ) -> Result<Self, ManifestError> {
        if let Some(allowed) = operator_hosts {
            if let Some(h) = manifest.capabilities.http_hosts.iter().find(|h| !allowed.contains(h)) {
                return Err(ManifestError::HostNotAllowed {
                    id: manifest.id.clone(),
                    host: h.clone(),
                    allowed: if allowed.is_empty() {
                        "none".into()
                    } else {
                        allowed.join(", ")
                    },
                });
            }
        }
        Ok(Self {
            hosts: manifest.capabilities.http_hosts.clone(),
            credential_hosts: manifest.capabilities.credential_hosts.clone(),
            api_base,
            local_origins: Vec::new(),
            per_account: manifest.capabilities.account_api_base,
            loopback_accounts: false,
            account_base: None,
        })
    }

    /// This grant for one account's call on `base`, the account's own server; refused,
    /// with the reason, unless the manifest takes per-account servers and `base` is an
    /// HTTPS origin on a host name (or plain HTTP on loopback where the operator allows it).
    pub fn for_account(&self, base: &str) -> Result<Self, String> {
        if !self.per_account {
            return Err(format!(
                "the account names its own server ({base}), but this plugin's manifest does not declare `account_api_base`"
            ));
        }
        let url = Url::parse(base).map_err(|e| format!("the account's API base {base:?} is not a URL: {e}"))?;
        let loopback = url.scheme() == "http" && ip_of(&url).is_some_and(|ip| ip.is_loopback());
        let origin_only = url.path().trim_end_matches('/').is_empty() && url.query().is_none();
        let ok = match url.scheme() {
            "https" => ip_of(&url).is_none() && url.host_str().is_some(),
            "http" => loopback && self.loopback_accounts,
            _ => false,
        };
        if !ok || !origin_only || !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "the account's API base {base} must be https://HOST with a host name and no path{}",
                if loopback {
                    " (plain http on loopback only where the operator allows it)"
                } else {
                    ""
                }
            ));
        }
        Ok(Self {
            account_base: Some(url),
            ..self.clone()
        })
    }

    /// Adds the operator's local stand-ins for declared hosts; a host the manifest does not
    /// declare is refused (the operator cannot widen a plugin's reach by accident).
    pub fn with_local_origins(mut self, origins: &[(String, Url)]) -> Result<Self, String> {
        if let Some((h, _)) = origins
            .iter()
            .find(|(h, _)| !self.hosts.iter().any(|p| host_matches(p, h)))
        {
            return Err(format!(
                "a local origin is configured for {h}, which the plugin does not declare (declared: {})",
                self.hosts.join(", ")
            ));
        }
        self.local_origins = origins.to_vec();
        Ok(self)
    }

    /// When the manifest names no credential host (plugins written before the field
    /// existed), the only credential host is the one of the platform's default API base.
    pub fn default_credential_host(&mut self, default_api_base: &str) {
        if self.credential_hosts.is_empty() {
            if let Some(h) = Url::parse(default_api_base)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
            {
                self.credential_hosts.push(h);
            }
        }
    }

    fn destination<'a>(&'a self, url: &'a Url) -> Destination<'a> {
        if self.account_base.as_ref().is_some_and(|b| same_origin(b, url)) {
            return Destination::Account;
        }
        if self.is_api_base(url) {
            return Destination::ApiBase;
        }
        if let Some((h, _)) = self.local_origins.iter().find(|(_, base)| same_origin(base, url)) {
            return Destination::Local(h);
        }
        Destination::Public(url.host_str().unwrap_or(""))
    }

    /// Whether a request to `url` carries the account's credentials. Call after [`check`].
    ///
    /// [`check`]: Grant::check
    pub fn sends_credentials(&self, url: &Url) -> bool {
        let credentialed = |h: &str| self.credential_hosts.iter().any(|p| host_matches(p, h));
        match self.destination(url) {
            Destination::ApiBase | Destination::Account => true,
            Destination::Local(h) => credentialed(h),
            Destination::Public(h) => url.scheme() == "https" && credentialed(h),
        }
    }

    /// Whether `url` goes to a destination the operator configured (API base or local
    /// origin), which may be on loopback and so uses the unfiltered client.
    pub fn is_configured(&self, url: &Url) -> bool {
        match self.destination(url) {
            // An account's HTTPS server goes through the filtered client like any public
            // host (its name must not resolve to a private address).
            Destination::Account => url.scheme() == "http",
            Destination::Public(_) => false,
            Destination::ApiBase | Destination::Local(_) => true,
        }
    }

    /// Checks `url` and returns why it is refused, if it is.
    pub fn check(&self, url: &Url) -> Result<(), String> {
        let host = url.host_str().ok_or_else(|| format!("{url} has no host"))?;
        if self.destination(url) == Destination::Account {
            return Ok(()); // checked by `for_account`
        }
        if self.is_configured(url) {
            return Ok(());
        }
        if url.scheme() != "https" {
            return Err(format!(
                "{url}: only https is allowed (plain http only to the operator's configured API base)"
            ));
        }
        if let Some(ip) = ip_of(url) {
            return Err(match special_purpose(ip) {
                None => format!("{url}: IP addresses are not allowed; plugins reach declared host names only"),
                Some(block) => format!(
                    "{url}: {ip} is in a special-purpose block ({block}); private, loopback, link-local and every other non-public address are refused"
                ),
            });
        }
        if !self.hosts.iter().any(|p| host_matches(p, host)) {
            return Err(format!(
                "{url}: host {host} is not declared in the plugin's manifest or not allowed by the operator (allowed: {})",
                if self.hosts.is_empty() {
                    "none".to_owned()
                } else {
                    self.hosts.join(", ")
                }
            ));
        }
        Ok(())
    }

    /// Whether `url` is on the operator's configured API base (same scheme, host and port).
    pub fn is_api_base(&self, url: &Url) -> bool {
        self.api_base.as_ref().is_some_and(|b| same_origin(b, url))
    }
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

fn ip_of(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// IPv4 blocks a plugin may never reach: the IANA IPv4 Special-Purpose Address Registry
/// (RFC 6890 and its updates), plus multicast and broadcast. Globally reachable anycast
/// entries (AS112, AMT) are refused too: no platform API lives there.
pub const IPV4_SPECIAL: &[(&str, [u8; 4], u8)] = &[
    ("this network", [0, 0, 0, 0], 8),
    ("private", [10, 0, 0, 0], 8),
    ("shared address space (CGNAT)", [100, 64, 0, 0], 10),
    ("loopback", [127, 0, 0, 0], 8),
    ("link-local", [169, 254, 0, 0], 16),
    ("private", [172, 16, 0, 0], 12),
    ("IETF protocol assignments", [192, 0, 0, 0], 24),
    ("documentation (TEST-NET-1)", [192, 0, 2, 0], 24),
    ("AS112-v4", [192, 31, 196, 0], 24),
    ("AMT", [192, 52, 193, 0], 24),
    ("6to4 relay anycast", [192, 88, 99, 0], 24),
    ("private", [192, 168, 0, 0], 16),
    ("direct delegation AS112", [192, 175, 48, 0], 24),
    ("benchmarking", [198, 18, 0, 0], 15),
    ("documentation (TEST-NET-2)", [198, 51, 100, 0], 24),
    ("documentation (TEST-NET-3)", [203, 0, 113, 0], 24),
    ("multicast", [224, 0, 0, 0], 4),
    ("reserved", [240, 0, 0, 0], 4),
    ("limited broadcast", [255, 255, 255, 255], 32),
];

/// IPv6 blocks a plugin may never reach: the IANA IPv6 Special-Purpose Address Registry,
/// plus multicast and the deprecated site-local and IPv4-compatible forms. Every block that
/// embeds an IPv4 address (NAT64, 6to4, Teredo, IPv4-compatible) is refused outright rather
/// than decoded: a translator on the path would otherwise lead inside. IPv4-mapped addresses
/// (`::ffff:a.b.c.d`) are judged by the IPv4 address they carry. Anything outside global
/// unicast (`2000::/3`) is refused as well.
pub const IPV6_SPECIAL: &[(&str, u128, u8)] = &[
    ("unspecified", 0, 128),
    ("loopback", 1, 128),
    ("IPv4-compatible (deprecated)", 0, 96),
    (
        "IPv4-IPv6 translation (NAT64)",
        0x0064_ff9b_0000_0000_0000_0000_0000_0000,
        96,
    ),
    (
        "local-use IPv4-IPv6 translation",
        0x0064_ff9b_0001_0000_0000_0000_0000_0000,
        48,
    ),
    ("discard-only", 0x0100_0000_0000_0000_0000_0000_0000_0000, 64),
    ("dummy IPv6 prefix", 0x0100_0000_0000_0001_0000_0000_0000_0000, 64),
    (
        "IETF protocol assignments (Teredo, benchmarking, ORCHID...)",
        0x2001_0000_0000_0000_0000_0000_0000_0000,
        23,
    ),
    ("documentation", 0x2001_0db8_0000_0000_0000_0000_0000_0000, 32),
    ("6to4", 0x2002_0000_0000_0000_0000_0000_0000_0000, 16),
    ("documentation", 0x3fff_0000_0000_0000_0000_0000_0000_0000, 20),
    ("segment routing SIDs", 0x5f00_0000_0000_0000_0000_0000_0000_0000, 16),
    ("unique local", 0xfc00_0000_0000_0000_0000_0000_0000_0000, 7),
    ("site-local (deprecated)", 0xfec0_0000_0000_0000_0000_0000_0000_0000, 10),
    ("link-local", 0xfe80_0000_0000_0000_0000_0000_0000_0000, 10),
    ("multicast", 0xff00_0000_0000_0000_0000_0000_0000_0000, 8),
];

/// The special-purpose block `ip` is in, if any (for errors and tests).
pub fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let a = u32::from(v4);
            IPV4_SPECIAL
                .iter()
                .find(|(_, net, len)| prefix_match32(a, u32::from_be_bytes(*net), *len))
                .map(|(name, ..)| *name)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_purpose(IpAddr::V4(v4));
            }
            let a = u128::from(v6);
            IPV6_SPECIAL
                .iter()
                .find(|(_, net, len)| prefix_match128(a, *net, *len))
                .map(|(name, ..)| *name)
                .or_else(|| (!prefix_match128(a, 0x2000 << 112, 3)).then_some("not global unicast"))
        }
    }
}

fn prefix_match32(a: u32, net: u32, len: u8) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
    a & mask == net & mask
}

fn prefix_match128(a: u128, net: u128, len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    };
    a & mask == net & mask
}

/// Whether an address is on the public internet: in no special-purpose block.
pub fn is_public(ip: IpAddr) -> bool {
    special_purpose(ip).is_none()
}

#[cfg(test)]
mod account_tests {
    use super::*;

    fn federated(per_account: bool) -> Grant {
        Grant {
            hosts: vec!["mastodon.social".into()],
            credential_hosts: vec!["mastodon.social".into()],
            per_account,
            ..Grant::default()
        }
    }

    #[test]
    fn an_accounts_server_is_reached_with_its_token_in_its_calls_only() {
        let g = federated(true).for_account("https://fosstodon.org").unwrap();
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(g.check(&u("https://fosstodon.org/api/v1/statuses")), Ok(()));
        assert!(g.sends_credentials(&u("https://fosstodon.org/api/v1/statuses")));
        assert!(
            !g.is_configured(&u("https://fosstodon.org/api/v1/statuses")),
            "filtered client"
        );
        // Another account's server is not reachable in this call.
        assert!(g.check(&u("https://hachyderm.io/api/v1/statuses")).is_err());
        assert!(
            federated(true).check(&u("https://fosstodon.org/x")).is_err(),
            "not without the account"
        );
    }

    #[test]
    fn an_account_server_is_refused_unless_the_plugin_is_federated_and_the_url_is_a_public_https_origin() {
        let why = federated(false).for_account("https://fosstodon.org").unwrap_err();
        assert!(why.contains("does not declare `account_api_base`"), "{why}");
        for bad in [
            "http://fosstodon.org",
            "https://10.0.0.1",
            "https://fosstodon.org/api",
            "https://user:pw@fosstodon.org",
            "ftp://fosstodon.org",
            "http://127.0.0.1:8080",
            "not a url",
        ] {
            assert!(federated(true).for_account(bad).is_err(), "{bad} was allowed");
        }
        let local = Grant {
            loopback_accounts: true,
            ..federated(true)
        };
        let g = local.for_account("http://127.0.0.1:8080").unwrap();
        assert!(g.is_configured(&Url::parse("http://127.0.0.1:8080/api/v1/statuses").unwrap()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(base: Option<&str>) -> Grant {
        Grant {
            hosts: vec!["api.x.com".into(), "*.twimg.com".into()],
            credential_hosts: vec!["api.x.com".into()],
            api_base: base.map(|b| Url::parse(b).unwrap()),
            ..Grant::default()
        }
    }

    #[test]
    fn every_special_purpose_block_is_refused_at_both_ends_and_its_neighbours_pass() {
        for (name, net, len) in IPV4_SPECIAL {
            let first = u32::from_be_bytes(*net);
            let last = first | (u32::MAX.checked_shr(u32::from(*len)).unwrap_or(0));
            for a in [first, last] {
                let ip = IpAddr::V4(std::net::Ipv4Addr::from(a));
                assert!(!is_public(ip), "{ip} ({name}) must be refused");
                // The same address written as IPv4-mapped IPv6 is refused too.
                let mapped = IpAddr::V6(std::net::Ipv4Addr::from(a).to_ipv6_mapped());
                assert!(!is_public(mapped), "{mapped} ({name}, mapped) must be refused");
            }
        }
        for (name, net, len) in IPV6_SPECIAL {
            let last = net | u128::MAX.checked_shr(u32::from(*len)).unwrap_or(0);
            for a in [*net, last] {
                let ip = IpAddr::V6(std::net::Ipv6Addr::from(a));
                assert!(!is_public(ip), "{ip} ({name}) must be refused");
            }
        }
        for named in [
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:a00:1::1",
            "::10.0.0.1",
            "::ffff:127.0.0.1",
            "2001:0:4136:e378::1",
            "100::1",
            "3fff::1",
            "fec0::1",
        ] {
            assert!(!is_public(named.parse().unwrap()), "{named}");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "99.255.255.255",
            "100.128.0.0",
            "192.0.1.0",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a03:2880:f10c::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn credentials_go_only_to_the_api_base_and_credential_hosts() {
        let g = grant(Some("http://127.0.0.1:9000"))
            .with_local_origins(&[("pbs.twimg.com".into(), Url::parse("http://127.0.0.1:9001").unwrap())])
            .unwrap();
        let sends = |u: &str| g.sends_credentials(&Url::parse(u).unwrap());
        assert!(sends("http://127.0.0.1:9000/2/tweets"));
        assert!(sends("https://api.x.com/2/tweets"));
        assert!(!sends("https://pbs.twimg.com/media/1.jpg"), "a CDN gets no token");
        assert!(
            !sends("http://127.0.0.1:9001/upload"),
            "a local stand-in for a CDN gets no token"
        );
        assert!(!sends("http://api.x.com/2/tweets"), "never over plain http");
        assert!(check(&g, "http://127.0.0.1:9001/upload").is_ok());
        let e = grant(None)
            .with_local_origins(&[("evil.example".into(), Url::parse("http://127.0.0.1:1").unwrap())])
            .unwrap_err();
        assert!(e.contains("does not declare"), "{e}");
    }

    #[test]
    fn without_credential_hosts_only_the_default_api_host_gets_the_token() {
        let mut g = grant(None);
        g.credential_hosts.clear();
        g.default_credential_host("https://api.x.com/");
        assert_eq!(g.credential_hosts, ["api.x.com"]);
        assert!(!g.sends_credentials(&Url::parse("https://pbs.twimg.com/x").unwrap()));
    }

    fn check(g: &Grant, url: &str) -> Result<(), String> {
        g.check(&Url::parse(url).unwrap())
    }

    #[test]
    fn declared_https_hosts_pass_others_do_not() {
        let g = grant(None);
        assert!(check(&g, "https://api.x.com/2/tweets").is_ok());
        assert!(check(&g, "https://upload.twimg.com/x").is_ok());
        assert!(check(&g, "https://evil.example/").unwrap_err().contains("not declared"));
        assert!(check(&g, "http://api.x.com/").unwrap_err().contains("only https"));
    }

    #[test]
    fn private_and_link_local_addresses_are_refused() {
        let g = grant(None);
        for url in [
            "https://169.254.169.254/latest",
            "https://10.0.0.1/",
            "https://127.0.0.1:8080/",
            "https://[::1]/",
            "https://[fd00::1]/",
        ] {
            assert!(check(&g, url).unwrap_err().contains("special-purpose block"), "{url}");
        }
    }

    #[test]
    fn the_configured_loopback_api_base_is_the_only_http_exception() {
        let g = grant(Some("http://127.0.0.1:9000"));
        assert!(check(&g, "http://127.0.0.1:9000/2/tweets").is_ok());
        assert!(
            check(&g, "http://127.0.0.1:9001/").is_err(),
            "another port is another service"
        );
        assert!(check(&g, "http://localhost:9000/").is_err());
    }

    #[test]
    fn a_manifest_asking_for_more_than_the_operator_allows_is_refused() {
        let m: Manifest = toml::from_str(
            "id='x'\nname='X'\nversion='0.1.0'\napi_version='0.1.0'\nplatform='x'\nauthor='a'\ncomponent='x.wasm'\n[capabilities]\nhttp_hosts=['api.x.com','upload.x.com']",
        )
        .unwrap();
        let e = Grant::for_manifest(&m, Some(&["api.x.com".to_owned()]), None).unwrap_err();
        assert!(e.to_string().contains("upload.x.com"), "{e}");
        let g = Grant::for_manifest(&m, Some(&["api.x.com".to_owned(), "upload.x.com".to_owned()]), None).unwrap();
        assert_eq!(g.hosts, ["api.x.com", "upload.x.com"]);
        assert_eq!(Grant::for_manifest(&m, None, None).unwrap().hosts.len(), 2);
    }
}
