//! Criterion benchmarks of the endpoint's per-request work, which runs on
//! nginx's event loop (not on a thread pool), so it must stay in the
//! microseconds.
//!
//! ```text
//! cargo bench -p image-engine --bench endpoint
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use image_engine::endpoint::headers::origin_headers;
use image_engine::endpoint::redirect::follow;
use image_engine::endpoint::{split, EndpointRules, HostsAllowed};

const PREFIX: &str = "/cdn-cgi/image/";

fn endpoint(c: &mut Criterion) {
    let mut group = c.benchmark_group("endpoint");
    let path =
        b"/cdn-cgi/image/width=80,quality=75,format=auto/uploads/2024/05/avatar%20big.jpg?v=3";
    let url =
        b"/cdn-cgi/image/width=80,quality=75/https://images.example.com/uploads/avatar.jpg?v=3";
    group.bench_function("split path source", |b| {
        b.iter(|| split(PREFIX, black_box(path)).unwrap())
    });
    group.bench_function("split URL source", |b| {
        b.iter(|| split(PREFIX, black_box(url)).unwrap())
    });

    let rules = EndpointRules {
        hosts: HostsAllowed::parse(["images.example.com", "*.cdn.example", "static.example.org"])
            .unwrap(),
        ..EndpointRules::default()
    };
    let source = split(PREFIX, url).unwrap().source;
    group.bench_function("admit and follow a redirect", |b| {
        b.iter(|| {
            let redirects = rules.redirects(PREFIX);
            follow(
                black_box(&source),
                Some(b"https://x.cdn.example/a.jpg"),
                1,
                &redirects,
            )
            .unwrap()
        })
    });

    let client: Vec<(&str, &[u8])> = vec![
        ("Host", b"www.example.com"),
        (
            "User-Agent",
            b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
        ),
        ("Accept", b"image/avif,image/webp,*/*"),
        ("Accept-Encoding", b"gzip, deflate, br"),
        ("Cookie", b"session=0123456789abcdef; theme=dark"),
        ("Referer", b"https://www.example.com/"),
    ];
    group.bench_function("origin headers", |b| {
        b.iter(|| origin_headers(black_box(&client), false))
    });
    group.finish();
}

criterion_group!(benches, endpoint);
criterion_main!(benches);
