//! `image_endpoint_hosts_allowed`: which hosts an absolute SOURCE URL may
//! name. Imagizer's `hostsAllowed`: anything else is refused with 401.

use super::UrlSource;
use crate::{Error, ErrorKind};

/// One entry of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `images.example.com` (or an IP literal): that host only.
    Exact(String),
    /// `*.example.com`: any name below `example.com`, not `example.com`
    /// itself (as nginx's `server_name *.example.com`). Stored with its
    /// leading dot.
    Subdomains(String),
    /// `*`: any host (the address rules still apply).
    Any,
}

impl HostPattern {
    /// Parses one directive argument. Names are compared in their ASCII
    /// form, so `*.bücher.example` matches the `xn--` spelling URLs use.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let text = text.trim();
        if text == "*" {
            return Ok(HostPattern::Any);
        }
        let (wildcard, name) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() || name.contains(['*', '/', ':']) && !name.starts_with('[') {
            return Err(format!("invalid host pattern \"{text}\""));
        }
        let host = url::Host::parse(name).map_err(|_| format!("invalid host \"{text}\""))?;
        match (wildcard, host) {
            (false, host) => Ok(HostPattern::Exact(host.to_string())),
            (true, url::Host::Domain(domain)) => Ok(HostPattern::Subdomains(format!(".{domain}"))),
            (true, _) => Err(format!("\"{text}\": only names can have a \"*.\" wildcard")),
        }
    }

    /// `host` as `url` prints it: lower-case ASCII, IPv6 in brackets.
    fn matches(&self, host: &str, is_domain: bool) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        match self {
            HostPattern::Any => true,
            HostPattern::Exact(name) => name == host,
            HostPattern::Subdomains(suffix) => {
                is_domain && host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        }
    }
}

/// The whole list; empty (the default) refuses every absolute URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostsAllowed {
    pub patterns: Vec<HostPattern>,
}

impl HostsAllowed {
    /// Parses the directive's arguments.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<HostsAllowed, String> {
        let patterns = items
            .into_iter()
            .map(HostPattern::parse)
            .collect::<Result<_, _>>()?;
        Ok(HostsAllowed { patterns })
    }

    pub fn allows(&self, source: &UrlSource) -> bool {
        let is_domain = matches!(source.url().host(), Some(url::Host::Domain(_)));
        self.patterns
            .iter()
            .any(|pattern| pattern.matches(source.host(), is_domain))
    }

    /// Refuses a source whose host is not listed (401, Imagizer's
    /// dynamic-origin rule).
    pub fn check(&self, source: &UrlSource) -> Result<(), Error> {
        if self.allows(source) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::SourceNotAllowed,
            format!(
                "images from \"{}\" are not allowed here (image_endpoint_hosts_allowed)",
                source.host()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> HostsAllowed {
        HostsAllowed::parse(items.iter().copied()).unwrap()
    }

    fn allowed(list: &HostsAllowed, url: &str) -> bool {
        list.allows(&UrlSource::parse(url).unwrap())
    }

    #[test]
    fn exact_names_match_case_insensitively_and_only_themselves() {
        let hosts = list(&["Images.Example.com", "cdn.example.org."]);
        assert!(allowed(&hosts, "https://images.example.com/a.jpg"));
        assert!(allowed(&hosts, "https://IMAGES.example.COM:8443/a.jpg"));
        assert!(allowed(&hosts, "http://images.example.com./a.jpg"));
        assert!(allowed(&hosts, "http://cdn.example.org/a.jpg"));
        assert!(!allowed(&hosts, "https://example.com/a.jpg"));
        assert!(!allowed(&hosts, "https://x.images.example.com/a.jpg"));
        assert!(!allowed(
            &hosts,
            "https://images.example.com.evil.test/a.jpg"
        ));
    }

    #[test]
    fn wildcards_match_names_below_the_suffix() {
        let hosts = list(&["*.example.com"]);
        assert!(allowed(&hosts, "https://a.example.com/x.jpg"));
        assert!(allowed(&hosts, "https://a.b.example.com/x.jpg"));
        assert!(!allowed(&hosts, "https://example.com/x.jpg"));
        assert!(!allowed(&hosts, "https://badexample.com/x.jpg"));
        assert!(!allowed(&hosts, "https://example.com.evil.test/x.jpg"));
    }

    #[test]
    fn ip_literals_and_international_names() {
        let hosts = list(&["127.0.0.1", "[::1]", "*.b\u{fc}cher.example"]);
        assert!(allowed(&hosts, "http://127.0.0.1:8080/a.jpg"));
        // Other spellings of the same address are the same host.
        assert!(allowed(&hosts, "http://0x7f.0.0.1/a.jpg"));
        assert!(allowed(&hosts, "http://[0:0::1]/a.jpg"));
        assert!(allowed(&hosts, "https://shop.xn--bcher-kva.example/a.jpg"));
        assert!(allowed(&hosts, "https://shop.b%C3%BCcher.example/a.jpg"));
        assert!(!allowed(&hosts, "http://127.0.0.2/a.jpg"));
    }

    #[test]
    fn an_empty_list_refuses_everything_and_star_allows_everything() {
        let err = HostsAllowed::default()
            .check(&UrlSource::parse("https://a.example/x.jpg").unwrap())
            .unwrap_err();
        assert_eq!((err.status(), err.code()), (401, Some(9401)));
        assert!(err.message.contains("a.example"), "{}", err.message);
        assert!(allowed(&list(&["*"]), "https://anything.example/x.jpg"));
    }

    #[test]
    fn bad_patterns_are_configuration_errors() {
        for bad in [
            "",
            "*.",
            "a*.example.com",
            "*.*.example.com",
            "a/b",
            "*.127.0.0.1",
            "exa mple.com",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?}");
        }
    }
}
