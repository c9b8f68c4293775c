//! Splitting endpoint URLs into options and source.

use super::*;

const PREFIX: &str = "/cdn-cgi/image/";

fn split_ok(target: &str) -> EndpointRequest {
    split(PREFIX, target.as_bytes()).unwrap_or_else(|err| panic!("{target}: {err}"))
}

fn split_err(target: &[u8]) -> Error {
    split(PREFIX, target).unwrap_err()
}

fn path_of(request: &EndpointRequest) -> (&str, Option<&str>) {
    match &request.source {
        Source::Path(path) => (path.uri.as_str(), path.args.as_deref()),
        Source::Url(url) => panic!("expected a path, got {}", url.as_str()),
    }
}

fn url_of(request: &EndpointRequest) -> &str {
    match &request.source {
        Source::Url(url) => url.as_str(),
        Source::Path(path) => panic!("expected a URL, got {}", path.uri),
    }
}

#[test]
fn cloudflare_examples_split_into_options_and_path() {
    let request = split_ok("/cdn-cgi/image/width=80,quality=75/uploads/avatar.jpg");
    assert_eq!(request.options, "width=80,quality=75");
    assert_eq!(path_of(&request), ("/uploads/avatar.jpg", None));
    // The options parse with the one parser.
    let transform = crate::parse(&request.options).unwrap();
    assert_eq!((transform.width, transform.quality), (Some(80), 75));
}

#[test]
fn the_query_string_belongs_to_the_source() {
    let request = split_ok("/cdn-cgi/image/w=80/uploads/a.jpg?v=3&s=%20x");
    assert_eq!(path_of(&request), ("/uploads/a.jpg", Some("v=3&s=%20x")));
    let request = split_ok("/cdn-cgi/image/w=80/https://images.example.com/a.jpg?v=3");
    assert_eq!(url_of(&request), "https://images.example.com/a.jpg?v=3");
}

#[test]
fn absolute_urls_keep_their_double_slash() {
    let request = split_ok("/cdn-cgi/image/fit=cover,w=10/https://Images.Example.com/a%20b.jpg");
    assert_eq!(url_of(&request), "https://images.example.com/a%20b.jpg");
    let request = split_ok("/cdn-cgi/image/w=10/http://127.0.0.1:8081/a.jpg");
    assert_eq!(url_of(&request), "http://127.0.0.1:8081/a.jpg");
    // A proxy in front that merged the slashes: still the same URL.
    let request = split_ok("/cdn-cgi/image/w=10/https:/images.example.com/a.jpg");
    assert_eq!(url_of(&request), "https://images.example.com/a.jpg");
}

#[test]
fn a_source_url_encoded_whole_is_decoded_once() {
    let request = split_ok("/cdn-cgi/image/w=10/https%3A%2F%2Fimages.example.com%2Fa%2520b.jpg");
    assert_eq!(url_of(&request), "https://images.example.com/a%20b.jpg");
    // Decoding must not smuggle in what the raw form may not contain.
    let err = split_err(b"/cdn-cgi/image/w=10/https%3A%2F%2Fa.example%2Fa%20b.jpg");
    assert_eq!(err.code(), Some(9406), "{}", err.message);
}

#[test]
fn options_are_percent_decoded() {
    let request = split_ok("/cdn-cgi/image/background=%23ff0000,fit=pad/a.png");
    assert_eq!(request.options, "background=#ff0000,fit=pad");
    // An escaped slash stays inside the options, it does not end them.
    let request = split_ok("/cdn-cgi/image/w=1%2F2/a.png");
    assert_eq!(request.options, "w=1/2");
    assert_eq!(path_of(&request).0, "/a.png");
}

#[test]
fn the_prefix_may_be_spelled_with_escapes_or_extra_slashes() {
    let request = split_ok("//cdn-cgi/%69mage//w=5/a.jpg");
    assert_eq!(
        (request.options.as_str(), path_of(&request).0),
        ("w=5", "/a.jpg")
    );
    // A prefix without its trailing slash, or the root.
    let request = split("/img", b"/img/w=5/a.jpg").unwrap();
    assert_eq!(path_of(&request).0, "/a.jpg");
    // At the root every path is the endpoint: only URLs can be sources.
    let request = split("/", b"/w=5/https://a.example/cdn-cgi/image/a.jpg").unwrap();
    assert_eq!(url_of(&request), "https://a.example/cdn-cgi/image/a.jpg");
    assert_eq!(split("/", b"/w=5/a.jpg").unwrap_err().code(), Some(9403));
    let err = split_err(b"/other/w=5/a.jpg");
    assert_eq!(err.code(), Some(9406));
}

#[test]
fn missing_options_or_source_are_refused() {
    let err = split_err(b"/cdn-cgi/image/");
    assert_eq!((err.status(), err.code()), (400, Some(9401)));
    // Slashes are merged as nginx merges them: "a.jpg" is taken for the
    // options and nothing is left for the source.
    let err = split_err(b"/cdn-cgi/image//a.jpg");
    assert_eq!(
        (err.status(), err.code()),
        (400, Some(9406)),
        "{}",
        err.message
    );
    for target in [
        "/cdn-cgi/image/w=5",
        "/cdn-cgi/image/w=5/",
        "/cdn-cgi/image/w=5?x=1",
        "/cdn-cgi/image/w=5/?x",
    ] {
        let err = split_err(target.as_bytes());
        assert_eq!(err.code(), Some(9406), "{target}: {}", err.message);
    }
}

#[test]
fn bad_syntax_is_400_9406() {
    let cases: &[&[u8]] = &[
        b"/cdn-cgi/image/w=5/a b.jpg",
        "/cdn-cgi/image/w=5/caf\u{e9}.jpg".as_bytes(),
        b"/cdn-cgi/image/w=5/https://images.example.com/a b.jpg",
        b"/cdn-cgi/image/w=5/ftp://images.example.com/a.jpg",
        b"/cdn-cgi/image/w=5/file:///etc/passwd",
        b"/cdn-cgi/image/w=5/https://u:p@images.example.com/a.jpg",
        b"/cdn-cgi/image/w=5/a%zz.jpg",
        b"/cdn-cgi/image/w=5/../../etc/passwd",
        b"/cdn-cgi/image/w=5/a/%2e%2e/%2e%2e/etc/passwd",
        b"/cdn-cgi/image/w=5/a%00.jpg",
        b"/cdn-cgi/image/w%FF=5/a.jpg",
    ];
    for target in cases {
        let err = split_err(target);
        assert_eq!(
            (err.kind, err.status(), err.code()),
            (ErrorKind::InvalidSource, 400, Some(9406)),
            "{}: {}",
            String::from_utf8_lossy(target),
            err.message
        );
    }
}

#[test]
fn a_path_with_a_colon_is_still_a_path() {
    let request = split_ok("/cdn-cgi/image/w=5/photos/12:30.jpg");
    assert_eq!(path_of(&request).0, "/photos/12:30.jpg");
    let request = split_ok("/cdn-cgi/image/w=5/a:b.jpg");
    assert_eq!(path_of(&request).0, "/a:b.jpg");
}

#[test]
fn a_source_that_is_an_endpoint_url_is_a_loop() {
    let cases = [
        "/cdn-cgi/image/w=5/cdn-cgi/image/w=10/a.jpg",
        "/cdn-cgi/image/w=5//cdn-cgi//image/w=10/a.jpg",
        "/cdn-cgi/image/w=5/x/../cdn-cgi/image/w=10/a.jpg",
        "/cdn-cgi/image/w=5/cdn-cgi/%69mage/w=10/a.jpg",
        "/cdn-cgi/image/w=5/https://images.example.com/cdn-cgi/image/w=10/a.jpg",
        "/cdn-cgi/image/w=5/https%3A%2F%2Fimages.example.com%2Fcdn-cgi%2Fimage%2Fa.jpg",
    ];
    for target in cases {
        let err = split_err(target.as_bytes());
        assert_eq!(
            (err.status(), err.code()),
            (508, Some(9403)),
            "{target}: {}",
            err.message
        );
    }
    // A path that merely contains the words is not.
    assert!(split(PREFIX, b"/cdn-cgi/image/w=5/uploads/cdn-cgi/image/a.jpg").is_ok());
}
