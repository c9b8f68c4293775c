//! SOURCE as an absolute URL (`https://images.example.com/a.jpg`), parsed
//! by the `url` crate (WHATWG rules: IDNA host names, every IPv4 spelling,
//! IPv6 literals) after [`super::syntax::check`] has refused what that
//! parser would quietly repair (spaces, raw Unicode).

use std::net::IpAddr;

use super::invalid;
use crate::Error;

/// An absolute http/https URL without credentials or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlSource {
    url: url::Url,
}

impl UrlSource {
    /// Parses `raw`, refusing other schemes, URLs without a host and URLs
    /// with credentials (`user:pass@host`), which an anonymised fetch must
    /// not send.
    pub fn parse(raw: &str) -> Result<UrlSource, Error> {
        let mut url = url::Url::parse(raw)
            .map_err(|err| invalid(format!("the source is not a valid URL ({err})")))?;
        UrlSource::check_scheme(&url)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("the source URL may not contain credentials"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("the source URL has no host"));
        }
        url.set_fragment(None);
        Ok(UrlSource { url })
    }

    fn check_scheme(url: &url::Url) -> Result<(), Error> {
        match url.scheme() {
            "http" | "https" => Ok(()),
            other => Err(invalid(format!(
                "the source URL's scheme \"{other}\" is not supported; use http or https"
            ))),
        }
    }

    pub(super) fn from_url(url: url::Url) -> Result<UrlSource, Error> {
        UrlSource::parse(url.as_str())
    }

    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The URL as text (`$image_source_url`).
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The host as the URL spells it once normalised: lower-case ASCII
    /// (`xn--` for international names), IPv6 in brackets
    /// (`$image_source_host`).
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The host name to resolve, or `None` when the host is an address.
    pub fn domain(&self) -> Option<&str> {
        self.url.domain()
    }

    /// The address when the host is an IP literal (no lookup needed).
    pub fn ip(&self) -> Option<IpAddr> {
        match self.url.host()? {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        }
    }

    /// The port to connect to (explicit or the scheme's default).
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(80)
    }

    /// The `Host` header for the origin request: the host, with the port
    /// only when it is not the scheme's default.
    pub fn host_header(&self) -> String {
        match self.url.port() {
            Some(port) => format!("{}:{port}", self.host()),
            None => self.host().to_string(),
        }
    }

    /// The URL with its host replaced by `ip`, the address that was checked:
    /// fetching it cannot be re-resolved to another address between the
    /// check and the connection (DNS rebinding). The `Host` header and TLS
    /// name still come from [`host_header`](Self::host_header) and
    /// [`host`](Self::host).
    pub fn pinned_to(&self, ip: IpAddr) -> String {
        let mut url = self.url.clone();
        // Setting an IP on an http(s) URL cannot fail.
        let _ = url.set_ip_host(ip);
        url.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn refused(raw: &str) -> String {
        let err = UrlSource::parse(raw).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidSource, "{raw}");
        assert_eq!(err.code(), Some(9406));
        err.message
    }

    #[test]
    fn http_and_https_urls_are_normalised() {
        let source = UrlSource::parse("HTTPS://Images.Example.COM/a/../b.jpg?v=1#frag").unwrap();
        assert_eq!(source.as_str(), "https://images.example.com/b.jpg?v=1");
        assert_eq!(source.host(), "images.example.com");
        assert_eq!(source.domain(), Some("images.example.com"));
        assert_eq!(source.port(), 443);
        assert_eq!(source.host_header(), "images.example.com");
        assert_eq!(source.ip(), None);

        let source = UrlSource::parse("http://a.example:8080/x.jpg").unwrap();
        assert_eq!(source.port(), 8080);
        assert_eq!(source.host_header(), "a.example:8080");
        // A default port written out is the same URL.
        let source = UrlSource::parse("http://a.example:80/x.jpg").unwrap();
        assert_eq!(source.host_header(), "a.example");
    }

    #[test]
    fn ip_literals_in_any_spelling_are_addresses() {
        for raw in [
            "http://127.0.0.1/a",
            "http://0x7f000001/a",
            "http://2130706433/a",
            "http://0177.0.0.1/a",
        ] {
            let source = UrlSource::parse(raw).unwrap();
            assert_eq!(source.ip(), Some("127.0.0.1".parse().unwrap()), "{raw}");
            assert_eq!(source.domain(), None);
        }
        let source = UrlSource::parse("http://[::ffff:127.0.0.1]:81/a").unwrap();
        assert_eq!(source.ip(), Some("::ffff:7f00:1".parse().unwrap()));
        assert_eq!(source.host_header(), "[::ffff:7f00:1]:81");
    }

    #[test]
    fn other_schemes_credentials_and_hostless_urls_are_refused() {
        assert!(refused("ftp://a.example/x.jpg").contains("ftp"));
        assert!(refused("file:///etc/passwd").contains("file"));
        assert!(refused("gopher://a.example/").contains("gopher"));
        assert!(refused("https://user:pw@a.example/x.jpg").contains("credentials"));
        assert!(refused("https://user@a.example/x.jpg").contains("credentials"));
        refused("http://");
        refused("https://:443/x.jpg");
        refused("https://exa%20mple.com/x.jpg");
        refused("https://[::1/x.jpg");
        refused("http://999.1.1.1/x.jpg");
    }

    #[test]
    fn pinning_replaces_only_the_host() {
        let source = UrlSource::parse("https://images.example.com:8443/a.jpg?x=1").unwrap();
        assert_eq!(
            source.pinned_to("203.0.113.7".parse().unwrap()),
            "https://203.0.113.7:8443/a.jpg?x=1"
        );
        assert_eq!(
            source.pinned_to("2001:db8::1".parse().unwrap()),
            "https://[2001:db8::1]:8443/a.jpg?x=1"
        );
        assert_eq!(source.host_header(), "images.example.com:8443");
    }
}
