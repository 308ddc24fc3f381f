//! Network policy: which URL a plugin may reach, decided before anything is sent.
//!
//! A request is allowed when its host is declared in the plugin's manifest AND allowed by
//! the operator, over HTTPS, to a public address. The one exception is the API base the
//! operator configured for the platform: it may be plain HTTP on a loopback address, which
//! is how the offline sandbox and the tests reach local fakes.

use super::manifest::{Manifest, ManifestError, host_matches};
use std::net::IpAddr;
use url::Url;

/// What the operator decided for one plugin.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// Declared hosts the operator allows (the manifest's list, possibly narrowed).
    pub hosts: Vec<String>,
    /// The operator's API base for the platform, if set (e.g. `http://127.0.0.1:9000`).
    pub api_base: Option<Url>,
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
            api_base,
        })
    }

    /// Checks `url` and returns why it is refused, if it is.
    pub fn check(&self, url: &Url) -> Result<(), String> {
        let host = url.host_str().ok_or_else(|| format!("{url} has no host"))?;
        if self.is_api_base(url) {
            return Ok(());
        }
        if url.scheme() != "https" {
            return Err(format!(
                "{url}: only https is allowed (plain http only to the operator's configured API base)"
            ));
        }
        if let Some(ip) = ip_of(url) {
            return Err(if is_public(ip) {
                format!("{url}: IP addresses are not allowed; plugins reach declared host names only")
            } else {
                format!("{url}: {ip} is a private, loopback or link-local address; plugins may not reach it")
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
        self.api_base.as_ref().is_some_and(|b| {
            b.scheme() == url.scheme()
                && b.host_str() == url.host_str()
                && b.port_or_known_default() == url.port_or_known_default()
        })
    }
}

fn ip_of(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// Whether an address is on the public internet (not loopback, private, link-local, CGNAT,
/// multicast, documentation or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xC0) == 64)
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(base: Option<&str>) -> Grant {
        Grant {
            hosts: vec!["api.x.com".into(), "*.twimg.com".into()],
            api_base: base.map(|b| Url::parse(b).unwrap()),
        }
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
            assert!(
                check(&g, url).unwrap_err().contains("private, loopback or link-local"),
                "{url}"
            );
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
