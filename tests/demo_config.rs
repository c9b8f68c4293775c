//! The demo configuration in nginx-conf/ (what `scripts/run.sh` serves)
//! loads and does what its comments promise.

mod common;

use std::fs;
use std::path::Path;

use common::*;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Lays out the prefix as run.sh does: the module under modules/, a link to
/// demo/, a logs/ directory, and demo.conf on the chosen port.
fn prepare(prefix: &Path, port: u16) {
    fs::create_dir_all(prefix.join("modules")).unwrap();
    fs::create_dir_all(prefix.join("logs")).unwrap();
    fs::copy(
        module_path(),
        prefix.join("modules/ngx_http_image_module.so"),
    )
    .unwrap();
    std::os::unix::fs::symlink(Path::new(REPO).join("demo"), prefix.join("demo")).unwrap();
    let conf = fs::read_to_string(Path::new(REPO).join("nginx-conf/demo.conf")).unwrap();
    let conf = conf
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
        // The harness reads error.log at the prefix's top.
        .replace("error_log logs/error.log", "error_log error.log");
    fs::write(prefix.join("nginx.conf"), format!("user root;\n{conf}")).unwrap();
}

#[test]
fn demo_page_and_originals_are_served() {
    let nginx = Nginx::start_prepared(prepare);
    let page = nginx.get("/");
    page.assert_status(200);
    assert!(page.text().contains("<img"), "{}", page.describe());
    // Every image the page shows must exist in demo/images/.
    for name in [
        "photo-small.jpg",
        "photo-2mp.jpg",
        "transparent.png",
        "photo-adobergb.jpg",
        "photo-adobergb-untagged.jpg",
        "animated.gif",
        "framed.jpg",
    ] {
        nginx.get(&format!("/images/{name}")).assert_status(200);
    }
    // The format=json example the page links to.
    let json = nginx.get("/resize/photo-2mp.jpg?width=300&format=json");
    json.assert_status(200);
    assert_eq!(json.content_type(), Some("application/json"));
    assert!(json.text().contains("\"width\":300"), "{}", json.describe());
}

#[test]
fn every_transformed_image_on_the_demo_page_is_served() {
    let nginx = Nginx::start_prepared(prepare);
    let page = nginx.get("/").text();
    let urls: Vec<&str> = page
        .split("src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|url| url.starts_with("/resize/"))
        .collect();
    assert!(urls.len() >= 20, "{urls:?}");
    for url in urls {
        let r = nginx.get(url);
        r.assert_status(200);
        r.image();
    }
    // The animated resize keeps its frames; the smart crop differs from
    // the centre crop.
    let animated = nginx.get("/resize/animated.gif?width=120&format=webp");
    assert!(animated.body.windows(4).filter(|w| w == b"ANMF").count() > 1);
    let auto = nginx.get("/resize/framed.jpg?width=160&height=200&fit=cover&gravity=auto");
    let centre = nginx.get("/resize/framed.jpg?width=160&height=200&fit=cover");
    assert_ne!(auto.body, centre.body);
}

#[test]
fn demo_resizes_to_webp_and_logs_what_it_did() {
    let nginx = Nginx::start_prepared(prepare);
    let r = nginx.get("/resize/photo-2mp.jpg?width=300&format=webp");
    let (_, width, _) = assert_transformed(&r, "image/webp");
    assert_eq!(width, 300);

    let r = nginx.get("/resize/transparent.png?width=200&height=200&fit=pad&format=webp");
    let (_, width, height) = assert_transformed(&r, "image/webp");
    assert_eq!((width, height), (200, 200));

    let r = nginx.get("/resize/photo-small.jpg?width=abc");
    assert_image_error(&r, 400, 9401);

    // Access log lines are written when each request ends.
    nginx.wait_for_log(
        "logs/access.log",
        |line| line.contains("err=9401"),
        std::time::Duration::from_secs(5),
    );
    let log = nginx.read("logs/access.log");
    assert!(log.contains("img=200"), "{log}");
    assert!(log.contains("err=9401"), "{log}");
    assert!(log.contains("size=1920x1280"), "{log}");
}

#[test]
fn every_example_on_the_demo_page_answers_an_image() {
    let nginx = Nginx::start_prepared(prepare);
    let page = nginx.get("/").text();
    let mut checked = 0;
    for src in page
        .split("src=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
    {
        if !src.starts_with("/resize/") {
            continue;
        }
        let url = src.replace("&amp;", "&");
        let r = nginx.get(&url);
        r.assert_status(200);
        assert!(
            r.content_type().is_some_and(|t| t.starts_with("image/")),
            "{url}: {}",
            r.describe()
        );
        checked += 1;
    }
    assert!(
        checked >= 3,
        "the demo page shows transformed examples ({checked})"
    );
}

#[test]
fn an_enlargement_past_the_output_budget_is_refused_at_once() {
    let nginx = Nginx::start_prepared(prepare);
    // A 2.5 MP photo stretched to 96 MP of AVIF used to take over 20 s;
    // the planned output is refused before anything is decoded.
    let (r, took) = timed(|| {
        nginx.get("/resize/photo-2mp.jpg?width=12000&height=8000&fit=squeeze&format=avif")
    });
    let message = assert_image_error(&r, 413, 9413);
    eprintln!("width=12000&height=8000&fit=squeeze&format=avif: 413 in {took:?}: {message}");
    assert!(message.contains("12000×8000"), "{message}");
    assert!(
        took < std::time::Duration::from_millis(500),
        "took {took:?}"
    );
}

#[test]
fn demo_endpoint_examples_answer_images() {
    let nginx = Nginx::start_prepared(prepare);
    let page = nginx.get("/").text();
    let urls: Vec<&str> = page
        .split("src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|url| url.starts_with("/cdn-cgi/image/"))
        .collect();
    assert!(urls.len() >= 3, "{urls:?}");
    for url in urls {
        let r = nginx.get(url);
        r.assert_status(200);
        r.image();
    }
    let r = nginx.get("/cdn-cgi/image/width=100/cdn-cgi/image/width=50/images/photo-small.jpg");
    assert_image_error(&r, 508, 9403);
    let r = nginx.get("/cdn-cgi/image/width=100/images/missing.jpg");
    assert_image_error(&r, 404, 9404);
}
