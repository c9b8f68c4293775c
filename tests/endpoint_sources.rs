//! `image_endpoint` with absolute source URLs (allowed hosts, private
//! addresses, `image_endpoint_upstream`) and redirects followed inside the
//! module.

mod common;

use common::*;

const CONF: &str = r#"
log_format echo '$uri|host=$http_host|via=$http_via|cookie=$http_cookie';

server {
    listen 127.0.0.1:{ORIGIN_PORT};
    access_log echo.log echo;
    location / {
        root {FIXTURES};
    }
    location = /moved.jpg {
        return 302 /photo.jpg;
    }
    location = /away.jpg {
        return 301 http://images.example.net/photo.jpg;
    }
    location = /again.jpg {
        return 307 /again.jpg;
    }
}

server {
    listen 127.0.0.1:{PORT};
    root {FIXTURES};

    location /cdn-cgi/image/ {
        image_endpoint;
        image_endpoint_upstream /_image_origin;
    }
    location /open/image/ {
        image_endpoint;
        image_endpoint_hosts_allowed 127.0.0.1 *.example.com;
        image_endpoint_private_addresses on;
        image_endpoint_upstream /_image_origin;
    }
    location /guarded/image/ {
        image_endpoint;
        image_endpoint_hosts_allowed 127.0.0.1;
        image_endpoint_upstream /_image_origin;
    }
    location /short/image/ {
        image_endpoint;
        image_endpoint_max_redirects 0;
    }
    location /_image_origin {
        internal;
        proxy_pass $image_source_url;
        proxy_set_header Host $image_source_host;
    }
    location /proxied/ {
        proxy_pass http://127.0.0.1:{ORIGIN_PORT}/;
    }
    location = /local-moved.jpg {
        return 302 /photo.jpg;
    }
    location = /local-loop.jpg {
        return 302 /local-loop.jpg;
    }
    location = /local-away.jpg {
        return 302 http://elsewhere.example.org/photo.jpg;
    }
}
"#;

fn start() -> Nginx {
    Nginx::start(CONF)
}

#[test]
fn absolute_urls_are_refused_unless_the_host_is_allowed() {
    let nginx = start();
    let url = format!("http://127.0.0.1:{}/photo.jpg", nginx.origin_port);
    let r = nginx.get(&format!("/cdn-cgi/image/width=20/{url}"));
    assert_image_error(&r, 401, 9401);
    let r = nginx.get("/open/image/width=20/https://images.example.net/a.jpg");
    assert_image_error(&r, 401, 9401);
    // Listed, but a loopback address needs image_endpoint_private_addresses.
    let r = nginx.get(&format!("/guarded/image/width=20/{url}"));
    assert_image_error(&r, 401, 9401);
    assert!(
        !nginx.read("echo.log").contains("photo.jpg"),
        "nothing may be fetched for a refused source"
    );
    nginx.assert_log_clean();
}

#[test]
fn allowed_absolute_urls_are_fetched_through_the_upstream_location() {
    let nginx = start();
    let url = format!("http://127.0.0.1:{}/photo.jpg", nginx.origin_port);
    let mut client = nginx.client();
    let r = client.request(
        "GET",
        &format!("/open/image/width=40,format=png/{url}"),
        &[("Cookie", "session=secret")],
    );
    assert_eq!(assert_transformed(&r, "image/png").1, 40);
    // Escaped whole, as some templates write it.
    let escaped = url.replace(':', "%3A").replace('/', "%2F");
    let r = client.request("GET", &format!("/open/image/width=30/{escaped}"), &[]);
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 30);
    let line = nginx
        .wait_for_log("echo.log", |l| l.starts_with("/photo.jpg|"), READ_TIMEOUT)
        .expect("the origin saw the fetch");
    let host = format!("host=127.0.0.1:{}|", nginx.origin_port);
    assert!(line.contains(&host), "{line}");
    assert!(line.contains("via=1.1 nginx-image|"), "{line}");
    assert!(line.contains("cookie=-"), "{line}");
    nginx.assert_log_clean();
}

#[test]
fn names_without_a_resolver_are_502_9407() {
    let nginx = start();
    let r = nginx.get("/open/image/width=20/https://void.example.com/a.jpg");
    assert_image_error(&r, 502, 9407);
    nginx.assert_log_clean();
}

#[test]
fn redirects_are_followed_inside_the_module() {
    let nginx = start();
    let r = nginx.get("/cdn-cgi/image/width=20/local-moved.jpg");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 20);
    assert!(r.header("location").is_none());
    // Through a proxied location: the origin's Location is rewritten by
    // proxy_redirect to a path of this server.
    let r = nginx.get("/cdn-cgi/image/width=24/proxied/moved.jpg");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 24);
    // An absolute source that redirects to a relative path.
    let url = format!("http://127.0.0.1:{}/moved.jpg", nginx.origin_port);
    let r = nginx.get(&format!("/open/image/width=28/{url}"));
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 28);
    nginx.assert_log_clean();
}

#[test]
fn redirect_limits_and_targets_are_enforced() {
    let nginx = start();
    let r = nginx.get("/cdn-cgi/image/width=20/local-loop.jpg");
    assert_image_error(&r, 502, 9421);
    let r = nginx.get("/short/image/width=20/local-moved.jpg");
    assert_image_error(&r, 502, 9421);
    let r = nginx.get("/cdn-cgi/image/width=20/local-away.jpg");
    assert_image_error(&r, 502, 9420);
    let url = format!("http://127.0.0.1:{}/away.jpg", nginx.origin_port);
    let r = nginx.get(&format!("/open/image/width=20/{url}"));
    assert_image_error(&r, 502, 9420);
    nginx.assert_log_clean();
}
