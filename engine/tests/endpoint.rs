//! Hostile endpoint URLs and redirect targets, generated from a fixed seed:
//! whatever arrives, splitting and following end in a source that keeps
//! the endpoint's promises or in an error from the catalogue, never in a
//! panic, a path above the root, a control character, a URL with
//! credentials or a host that was not allowed.

use image_engine::endpoint::redirect::{follow, RedirectRules};
use image_engine::endpoint::{split, HostsAllowed, Source};
use image_engine::ErrorKind;

const PREFIX: &str = "/cdn-cgi/image/";
const ROUNDS: usize = 20_000;

/// Pieces hostile URLs are made of: separators, dot segments in every
/// spelling, escapes of control and non-UTF-8 bytes, scheme and authority
/// tricks, raw Unicode.
const PIECES: &[&str] = &[
    "/",
    "//",
    ".",
    "..",
    "%2e",
    "%2E%2e",
    "%2F",
    "%2f",
    "%5C",
    "\\",
    "%00",
    "%0d%0a",
    "%FF",
    "%C3%A9",
    "%",
    "%2",
    "%zz",
    "?",
    "#",
    "&",
    "=",
    ",",
    ":",
    "@",
    "[",
    "]",
    "[::1]",
    "https://",
    "http:/",
    "ftp://",
    "file:",
    "https%3A%2F%2F",
    "user:pw@",
    "127.0.0.1",
    "0x7f.1",
    "localhost",
    "a.example",
    "images.example.com",
    "x.cdn.example",
    "cdn-cgi",
    "image",
    "w=10",
    "width=80,q=75",
    "a.jpg",
    " ",
    "\t",
    "é",
    "\u{202e}",
    "\u{0}",
    "~",
    "+",
    "%20",
    "%23",
    "%3F",
];

fn hostile(rng: &mut oorandom::Rand64) -> String {
    let mut text = String::new();
    for _ in 0..rng.rand_range(1..12) {
        text.push_str(PIECES[rng.rand_range(0..PIECES.len() as u64) as usize]);
    }
    text
}

fn hosts() -> HostsAllowed {
    HostsAllowed::parse(["images.example.com", "*.cdn.example", "127.0.0.1"]).unwrap()
}

/// The promises every source keeps, however it was reached.
fn assert_sound(source: &Source, input: &str) {
    match source {
        Source::Path(path) => {
            assert!(path.uri.starts_with('/'), "{input:?} -> {path:?}");
            assert!(!path.uri.contains("//"), "{input:?} -> {path:?}");
            for segment in path.uri.split('/') {
                assert!(segment != ".." && segment != ".", "{input:?} -> {path:?}");
            }
            assert!(
                !path.uri.chars().any(char::is_control),
                "{input:?} -> {path:?}"
            );
            if let Some(args) = &path.args {
                assert!(
                    args.bytes().all(|b| b.is_ascii_graphic()),
                    "{input:?} -> {args:?}"
                );
            }
        }
        Source::Url(url) => {
            let parsed = url.url();
            assert!(
                matches!(parsed.scheme(), "http" | "https"),
                "{input:?} -> {url:?}"
            );
            assert!(parsed.username().is_empty() && parsed.password().is_none());
            assert!(!url.host().is_empty());
            assert!(parsed.fragment().is_none());
            assert!(
                url.as_str().bytes().all(|b| b.is_ascii_graphic()),
                "{input:?} -> {url:?}"
            );
        }
    }
}

#[test]
fn hostile_endpoint_urls_end_in_sound_sources_or_catalogued_errors() {
    let mut rng = oorandom::Rand64::new(0x1157_e11d);
    let (mut paths, mut urls, mut errors) = (0, 0, 0);
    for _ in 0..ROUNDS {
        // Half the sources start like a URL, so that URL parsing gets its
        // share of the hostility.
        let start =
            ["", "", "https://", "http://images.example.com"][rng.rand_range(0..4) as usize];
        let target = format!("{PREFIX}{}/{start}{}", hostile(&mut rng), hostile(&mut rng));
        match split(PREFIX, target.as_bytes()) {
            Ok(request) => {
                assert!(!request.options.contains('/') || target.contains("%2"));
                assert_sound(&request.source, &target);
                match request.source {
                    Source::Path(_) => paths += 1,
                    Source::Url(_) => urls += 1,
                }
            }
            Err(err) => {
                assert!(
                    matches!(
                        err.kind,
                        ErrorKind::InvalidSource | ErrorKind::InvalidOption | ErrorKind::Loop
                    ),
                    "{target:?}: {err:?}"
                );
                assert!(!err.message.chars().any(char::is_control), "{err:?}");
                errors += 1;
            }
        }
    }
    // The generator must exercise all three outcomes, or the test proves
    // little.
    assert!(
        paths > 500 && urls > 100 && errors > 500,
        "{paths} {urls} {errors}"
    );
}

#[test]
fn hostile_redirect_targets_never_leave_the_allowed_hosts() {
    let mut rng = oorandom::Rand64::new(0x0420_0421);
    let hosts = hosts();
    let rules = RedirectRules {
        max: 5,
        hosts: &hosts,
        prefix: PREFIX,
    };
    let starts = [
        split(PREFIX, b"/cdn-cgi/image/w=1/uploads/a/b.jpg?v=1")
            .unwrap()
            .source,
        split(
            PREFIX,
            b"/cdn-cgi/image/w=1/https://images.example.com/a/b.jpg",
        )
        .unwrap()
        .source,
    ];
    let (mut followed, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let from = &starts[round % 2];
        let location = hostile(&mut rng);
        match follow(from, Some(location.as_bytes()), 0, &rules) {
            Ok(next) => {
                assert_sound(&next, &location);
                if let Source::Url(url) = &next {
                    assert!(hosts.allows(url), "{location:?} -> {}", url.as_str());
                }
                followed += 1;
            }
            Err(err) => {
                assert!(
                    matches!(err.kind, ErrorKind::InvalidRedirect | ErrorKind::Loop),
                    "{location:?}: {err:?}"
                );
                refused += 1;
            }
        }
    }
    assert!(followed > 1000 && refused > 1000, "{followed} {refused}");
}
