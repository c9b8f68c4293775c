//! The `proxy_cache` recipe of nginx-conf/proxy-cache.conf: a front server
//! caching a transforming server. A repeat is a cache HIT that never reaches
//! the module; 20 simultaneous first requests cost one transform.

mod common;

use std::fs;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread;

use common::*;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The recipe with the test's ports and paths, and a log of every request
/// the transforming server handles (what the module did).
fn recipe() -> String {
    let conf = fs::read_to_string(Path::new(REPO).join("nginx-conf/proxy-cache.conf"))
        .expect("read nginx-conf/proxy-cache.conf");
    let conf = conf
        .replace("127.0.0.1:8080", "127.0.0.1:{PORT}")
        .replace("127.0.0.1:8081", "127.0.0.1:{ORIGIN_PORT}")
        .replace("/var/www/images/", "{FIXTURES}/")
        .replace("/var/cache/nginx/images", "{DIR}/cache")
        .replace(
            "listen 127.0.0.1:{ORIGIN_PORT};",
            "listen 127.0.0.1:{ORIGIN_PORT};\n    access_log transforms.log transforms;",
        );
    assert!(conf.contains("transforms.log"), "the recipe changed shape");
    format!("log_format transforms '$image_status $image_format $request';\n{conf}")
}

fn transforms(nginx: &Nginx) -> Vec<String> {
    nginx
        .read("transforms.log")
        .lines()
        .map(str::to_string)
        .collect()
}

const PATH: &str = "/img/photo.jpg?w=120&q=70";

#[test]
fn twenty_simultaneous_misses_cost_one_transform_and_repeats_are_hits() {
    let nginx = Nginx::start(&recipe());
    let barrier = Arc::new(Barrier::new(20));
    let mut clients: Vec<Client> = (0..20).map(|_| nginx.client()).collect();
    let handles: Vec<_> = clients
        .drain(..)
        .map(|mut client| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                barrier.wait();
                client.request("GET", PATH, &[("Accept", "image/webp,*/*")])
            })
        })
        .collect();
    let responses: Vec<Response> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for r in &responses {
        assert_transformed(r, "image/webp");
        assert_eq!(
            r.body, responses[0].body,
            "every client gets the same bytes"
        );
    }
    let made = transforms(&nginx);
    assert_eq!(made.len(), 1, "one transform for 20 misses: {made:?}");
    assert!(made[0].starts_with("200 webp "), "{made:?}");

    // A repeat is served from the cache: the module does nothing.
    let r = nginx
        .client()
        .request("GET", PATH, &[("Accept", "image/webp,*/*")]);
    assert_transformed(&r, "image/webp");
    assert_eq!(r.header("x-cache-status"), Some("HIT"), "{}", r.describe());
    assert_eq!(transforms(&nginx).len(), 1);
    // The cached copy keeps its validator and revalidates at the front.
    let tag = r.header("etag").expect("cached ETag").to_string();
    let r = nginx.client().request(
        "GET",
        PATH,
        &[("Accept", "image/webp,*/*"), ("If-None-Match", &tag)],
    );
    assert_eq!(r.status, 304, "{}", r.describe());
    assert_eq!(transforms(&nginx).len(), 1);

    // Another negotiated format is another cache entry, made once.
    let r = nginx.client().request("GET", PATH, &[("Accept", "*/*")]);
    assert_transformed(&r, "image/jpeg");
    assert_eq!(r.header("x-cache-status"), Some("MISS"), "{}", r.describe());
    let made = transforms(&nginx);
    assert_eq!(made.len(), 2, "{made:?}");
    assert!(made[1].starts_with("200  GET"), "{made:?}");
}
