//! Redirects from the source, followed inside the module as Cloudflare
//! does ("resizing follows redirects internally"): a 301/302/303/307/308
//! leads to another fetch, up to `image_endpoint_max_redirects` times
//! (9421 beyond), and only to a target the endpoint could have been asked
//! for directly (9420 otherwise).

use super::{loops, syntax, HostsAllowed, PathSource, Source, UrlSource};
use crate::{Error, ErrorKind};

/// `image_endpoint_max_redirects`'s default.
pub const DEFAULT_MAX_REDIRECTS: u32 = 5;

/// What a redirect target must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct RedirectRules<'a> {
    /// `image_endpoint_max_redirects`.
    pub max: u32,
    /// `image_endpoint_hosts_allowed`.
    pub hosts: &'a HostsAllowed,
    /// The endpoint's prefix (a redirect into the endpoint is a loop).
    pub prefix: &'a str,
}

/// The statuses that are followed.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The source to fetch next, after `from` answered a redirect whose
/// `Location` is `location`; `followed` redirects were followed before
/// this one.
///
/// A relative target of a path source stays a path on this server; an
/// absolute target must be an http(s) URL to an allowed host, whatever
/// kind of source redirected to it.
pub fn follow(
    from: &Source,
    location: Option<&[u8]>,
    followed: u32,
    rules: &RedirectRules,
) -> Result<Source, Error> {
    if followed >= rules.max {
        return Err(Error::new(
            ErrorKind::TooManyRedirects,
            format!(
                "the origin redirected more than {} times (image_endpoint_max_redirects)",
                rules.max
            ),
        ));
    }
    let location = location
        .map(|value| value.trim_ascii())
        .filter(|value| !value.is_empty())
        .ok_or_else(|| bad("the origin redirected without a Location"))?;
    // Origins are sloppier than clients: a raw space or Unicode character
    // is escaped, as browsers do, but a control character is refused.
    if location.iter().any(|b| b.is_ascii_control()) {
        return Err(bad("the redirect target contains a control character"));
    }
    let location =
        std::str::from_utf8(location).map_err(|_| bad("the redirect target is not UTF-8"))?;
    let location = escape_lenient(location);

    let target = match from {
        Source::Path(path) => {
            // Resolved against the path on a placeholder host: a target
            // that kept the placeholder was relative and stays local.
            let base = url::Url::parse(LOCAL_BASE)
                .and_then(|base| base.join(&path.target()))
                .map_err(|_| bad("the redirect target is not a valid URL"))?;
            let joined = base
                .join(&location)
                .map_err(|_| bad("the redirect target is not a valid URL"))?;
            if joined.scheme() == "http" && joined.host_str() == Some(LOCAL_HOST) {
                let mut raw = joined.path().to_string();
                if let Some(query) = joined.query() {
                    raw.push('?');
                    raw.push_str(query);
                }
                let checked = syntax::check(raw.as_bytes()).map_err(as_bad)?;
                Source::Path(PathSource::parse(checked).map_err(as_bad)?)
            } else {
                Source::Url(UrlSource::from_url(joined).map_err(as_bad)?)
            }
        }
        Source::Url(url) => {
            let joined = url
                .url()
                .join(&location)
                .map_err(|_| bad("the redirect target is not a valid URL"))?;
            Source::Url(UrlSource::from_url(joined).map_err(as_bad)?)
        }
    };

    if let Source::Url(url) = &target {
        if !rules.hosts.allows(url) {
            return Err(bad(format!(
                "the origin redirected to \"{}\", a host that is not allowed",
                url.host()
            )));
        }
    }
    if super::is_endpoint_url(&target, rules.prefix) {
        return Err(loops::loop_error("the origin redirected to the endpoint"));
    }
    Ok(target)
}

/// The placeholder origin relative targets of path sources resolve against
/// (`.invalid` can never be a real host).
const LOCAL_HOST: &str = "path.invalid";
const LOCAL_BASE: &str = "http://path.invalid/";

/// Percent-encodes raw spaces and non-ASCII characters (UTF-8), leaving
/// everything else, including existing escapes, alone.
fn escape_lenient(location: &str) -> String {
    let mut out = String::with_capacity(location.len());
    for ch in location.chars() {
        if ch == ' ' || !ch.is_ascii() {
            let mut buf = [0; 4];
            for byte in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(ch);
        }
    }
    out
}

fn bad(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidRedirect, message)
}

/// A target that would have been refused as a SOURCE is an invalid
/// redirect: the origin's fault, not the request's.
fn as_bad(err: Error) -> Error {
    bad(format!("invalid redirect target: {}", err.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> HostsAllowed {
        HostsAllowed::parse(["images.example.com", "*.cdn.example"]).unwrap()
    }

    fn url(raw: &str) -> Source {
        Source::Url(UrlSource::parse(raw).unwrap())
    }

    fn path(raw: &str) -> Source {
        Source::Path(PathSource::parse(raw).unwrap())
    }

    fn go(from: &Source, location: &str, followed: u32) -> Result<Source, Error> {
        let hosts = hosts();
        let rules = RedirectRules {
            max: DEFAULT_MAX_REDIRECTS,
            hosts: &hosts,
            prefix: "/cdn-cgi/image/",
        };
        follow(from, Some(location.as_bytes()), followed, &rules)
    }

    fn kind(result: Result<Source, Error>) -> ErrorKind {
        result.unwrap_err().kind
    }

    #[test]
    fn only_the_five_redirect_statuses_are_followed() {
        for status in [301, 302, 303, 307, 308] {
            assert!(is_redirect(status));
        }
        for status in [200, 300, 304, 305, 306, 404] {
            assert!(!is_redirect(status), "{status}");
        }
    }

    #[test]
    fn url_sources_follow_relative_and_absolute_targets_to_allowed_hosts() {
        let from = url("https://images.example.com/a/b.jpg?x=1");
        assert_eq!(
            go(&from, "c.jpg", 0).unwrap(),
            url("https://images.example.com/a/c.jpg")
        );
        assert_eq!(
            go(&from, "/new/b.jpg?v=2", 0).unwrap(),
            url("https://images.example.com/new/b.jpg?v=2")
        );
        assert_eq!(
            go(&from, "//x.cdn.example/b.jpg", 0).unwrap(),
            url("https://x.cdn.example/b.jpg")
        );
        assert_eq!(
            go(&from, "http://x.cdn.example/b.jpg", 4).unwrap(),
            url("http://x.cdn.example/b.jpg")
        );
        assert_eq!(
            go(&from, " /caf\u{e9} 1.jpg ", 0).unwrap(),
            url("https://images.example.com/caf%C3%A9%201.jpg")
        );
    }

    #[test]
    fn path_sources_stay_local_for_relative_targets() {
        let from = path("/uploads/old/a.jpg?v=1");
        assert_eq!(
            go(&from, "/uploads/new/a.jpg", 0).unwrap(),
            path("/uploads/new/a.jpg")
        );
        assert_eq!(
            go(&from, "b.jpg?v=2", 0).unwrap(),
            path("/uploads/old/b.jpg?v=2")
        );
        assert_eq!(go(&from, "../../../../x.jpg", 0).unwrap(), path("/x.jpg"));
        assert_eq!(
            go(&from, "https://images.example.com/a.jpg", 0).unwrap(),
            url("https://images.example.com/a.jpg")
        );
    }

    #[test]
    fn too_many_redirects_is_9421() {
        let from = url("https://images.example.com/a.jpg");
        let err = go(&from, "/b.jpg", DEFAULT_MAX_REDIRECTS).unwrap_err();
        assert_eq!(
            (err.kind, err.status(), err.code()),
            (ErrorKind::TooManyRedirects, 502, Some(9421))
        );
        let hosts = hosts();
        let none = RedirectRules {
            max: 0,
            hosts: &hosts,
            prefix: "/img/",
        };
        assert_eq!(
            kind(follow(&from, Some(b"/b.jpg"), 0, &none)),
            ErrorKind::TooManyRedirects
        );
    }

    #[test]
    fn invalid_targets_are_9420() {
        let from = url("https://images.example.com/a.jpg");
        let cases = [
            "https://evil.example/a.jpg",
            "https://cdn.example/a.jpg",
            "ftp://images.example.com/a.jpg",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:pw@images.example.com/a.jpg",
            "https://[::1/a.jpg",
            "/a\r\nSet-Cookie: x=1",
            "   ",
        ];
        for location in cases {
            let err = go(&from, location, 0).unwrap_err();
            assert_eq!(
                err.kind,
                ErrorKind::InvalidRedirect,
                "{location:?}: {}",
                err.message
            );
            assert_eq!((err.status(), err.code()), (502, Some(9420)));
        }
        let hosts = hosts();
        let rules = RedirectRules {
            max: 5,
            hosts: &hosts,
            prefix: "/img/",
        };
        assert_eq!(
            kind(follow(&from, None, 0, &rules)),
            ErrorKind::InvalidRedirect
        );
        assert_eq!(
            kind(follow(&from, Some(b"/\xff.jpg"), 0, &rules)),
            ErrorKind::InvalidRedirect
        );
        // A path source redirected to another site needs that site allowed.
        assert_eq!(
            kind(go(&path("/a.jpg"), "https://evil.example/a.jpg", 0)),
            ErrorKind::InvalidRedirect
        );
        assert_eq!(
            kind(go(&path("/a.jpg"), "/a%00.jpg", 0)),
            ErrorKind::InvalidRedirect
        );
        assert_eq!(
            kind(go(&path("/a.jpg"), "javascript:alert(1)", 0)),
            ErrorKind::InvalidRedirect
        );
        assert_eq!(
            kind(go(&path("/a.jpg"), "data:image/png;base64,AAAA", 0)),
            ErrorKind::InvalidRedirect
        );
    }

    #[test]
    fn a_redirect_into_the_endpoint_is_a_loop() {
        let err = go(&path("/a.jpg"), "/cdn-cgi/image/w=10/a.jpg", 0).unwrap_err();
        assert_eq!((err.kind, err.code()), (ErrorKind::Loop, Some(9403)));
        let from = url("https://images.example.com/a.jpg");
        assert_eq!(
            kind(go(&from, "/cdn-cgi/image/w=1/b.jpg", 0)),
            ErrorKind::Loop
        );
    }
}
