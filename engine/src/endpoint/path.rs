//! SOURCE as a path on this server (`/uploads/a.jpg`): percent-decoded and
//! normalised the way nginx normalises a request URI, so that the
//! subrequest asks for exactly the file a plain request would, and `..`
//! can never climb above the root.

use super::{invalid, syntax};
use crate::Error;

/// A path source, ready for a subrequest: `uri` is decoded and normalised
/// (nginx's `r->uri`), `args` is the query string as it arrived (nginx's
/// `r->args`, still escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSource {
    pub uri: String,
    pub args: Option<String>,
}

impl PathSource {
    /// Parses `raw` (`/uploads/a.jpg?v=2`, already checked by
    /// [`syntax::check`]). A fragment is dropped, as nginx drops it.
    pub(super) fn parse(raw: &str) -> Result<PathSource, Error> {
        let raw = raw.split_once('#').map_or(raw, |(before, _)| before);
        let (path, args) = match raw.split_once('?') {
            Some((path, args)) => (path, (!args.is_empty()).then(|| args.to_string())),
            None => (raw, None),
        };
        let decoded = syntax::decode(path, "source path")?;
        Ok(PathSource {
            uri: normalise(&decoded)?,
            args,
        })
    }

    /// The path and query as one request target, for messages and logs.
    pub fn target(&self) -> String {
        match &self.args {
            Some(args) => format!("{}?{args}", self.uri),
            None => self.uri.clone(),
        }
    }
}

/// Resolves `.` and `..` and merges repeated slashes in a decoded path
/// (`%2F` has already become a separator, `%2E%2E` a `..`: the decoded
/// form is what nginx maps to a file). A `..` above the root is an error.
pub(super) fn normalise(decoded: &str) -> Result<String, Error> {
    let mut segments: Vec<&str> = Vec::new();
    let mut ends_with_slash = false;
    for segment in decoded.split('/') {
        ends_with_slash = matches!(segment, "" | "." | "..");
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(invalid("the source path climbs above the root with \"..\""));
                }
            }
            _ => segments.push(segment),
        }
    }
    let mut uri = String::with_capacity(decoded.len() + 1);
    for segment in &segments {
        uri.push('/');
        uri.push_str(segment);
    }
    if ends_with_slash || segments.is_empty() {
        uri.push('/');
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn path(raw: &str) -> Result<PathSource, Error> {
        PathSource::parse(raw)
    }

    #[test]
    fn plain_paths_keep_their_query_and_lose_the_fragment() {
        let source = path("/uploads/a.jpg?v=2&x=%20").unwrap();
        assert_eq!(source.uri, "/uploads/a.jpg");
        assert_eq!(source.args.as_deref(), Some("v=2&x=%20"));
        assert_eq!(source.target(), "/uploads/a.jpg?v=2&x=%20");
        assert_eq!(path("/a.jpg#top").unwrap().target(), "/a.jpg");
        assert_eq!(path("/a.jpg?").unwrap().args, None);
    }

    #[test]
    fn escapes_are_decoded_before_normalising() {
        assert_eq!(
            path("/caf%C3%A9%20au%20lait.jpg").unwrap().uri,
            "/caf\u{e9} au lait.jpg"
        );
        assert_eq!(path("/a%2Fb.jpg").unwrap().uri, "/a/b.jpg");
        assert_eq!(path("/a/%2e%2E/b.jpg").unwrap().uri, "/b.jpg");
        // A "?" that was escaped is part of the file name, not a query.
        let source = path("/what%3F.jpg").unwrap();
        assert_eq!((source.uri.as_str(), source.args), ("/what?.jpg", None));
    }

    #[test]
    fn dots_and_slashes_are_resolved() {
        let cases = [
            ("/a/./b//c.jpg", "/a/b/c.jpg"),
            ("/a/b/../c.jpg", "/a/c.jpg"),
            ("//a.jpg", "/a.jpg"),
            ("/a/b/", "/a/b/"),
            ("/a/b/..", "/a/"),
            ("/a/.", "/a/"),
            ("/", "/"),
            ("/a/..", "/"),
        ];
        for (raw, uri) in cases {
            assert_eq!(path(raw).unwrap().uri, uri, "{raw}");
        }
    }

    #[test]
    fn climbing_above_the_root_is_refused() {
        for raw in [
            "/../etc/passwd",
            "/a/../../b",
            "/%2e%2e/x",
            "/a/%2E%2E%2F%2E%2E/x",
            "/..%2Fx",
        ] {
            let err = path(raw).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidSource, "{raw}");
            assert_eq!(err.status(), 400);
            assert!(err.message.contains(".."), "{}", err.message);
        }
    }

    #[test]
    fn decoded_control_characters_and_bad_utf8_are_refused() {
        for raw in ["/a%00.jpg", "/a%0D%0AX-Injected:%201", "/a%C3.jpg"] {
            assert_eq!(
                path(raw).unwrap_err().kind,
                ErrorKind::InvalidSource,
                "{raw}"
            );
        }
    }
}
