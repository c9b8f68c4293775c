//! `image_max_output_pixels` and `image_max_avif_output_pixels`: an output
//! over the budget of its format is 413/9413 before any decoding, whatever
//! makes it large (an enlarging fit, `dpr`, padding); within the budget
//! the same requests work, and the directives inherit like nginx's own.

mod common;

use common::*;

const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f,dpr=$arg_dpr";
    }
    location /tight/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f,dpr=$arg_dpr";
        image_max_output_pixels 40000;
        image_max_avif_output_pixels 10000;
    }
}
"#;

#[test]
fn outputs_over_the_budget_are_413_9413_before_decoding() {
    let nginx = Nginx::start(CONF);
    // photo.jpg is 800×600; 200 px wide is 200×150 = 30,000 pixels.
    let r = nginx.get("/tight/photo.jpg?w=200");
    assert_eq!(assert_transformed(&r, "image/jpeg").1, 200);
    for (query, size) in [
        // dpr counts: 200 px at dpr 2 is 400×300.
        ("w=200&dpr=2", "400×300"),
        // Enlarging fits may not make more than the budget either.
        ("w=300&h=300&fit=squeeze", "300×300"),
        ("w=300&h=300&fit=pad", "300×300"),
        ("w=1600&fit=contain", "1600×1200"),
        // AVIF has its own, lower budget.
        ("w=200&f=avif", "200×150"),
    ] {
        let r = nginx.get(&format!("/tight/photo.jpg?{query}"));
        let message = assert_image_error(&r, 413, 9413);
        assert!(message.contains(size), "?{query}: {message}");
    }
    // 100×75 is within the AVIF budget (the test client cannot decode AVIF).
    let r = nginx.get("/tight/photo.jpg?w=100&f=avif");
    r.assert_status(200);
    assert_eq!(r.content_type(), Some("image/avif"), "{}", r.describe());
    // The default budget (12 megapixels) lets ordinary enlargements through
    // and stops the absurd ones.
    let r = nginx.get("/img/photo.jpg?w=1600&fit=contain&f=png");
    assert_eq!(assert_transformed(&r, "image/png").1, 1600);
    let (r, took) = timed(|| nginx.get("/img/photo.jpg?w=12000&h=8000&fit=squeeze&f=avif"));
    assert_image_error(&r, 413, 9413);
    eprintln!("photo.jpg w=12000&h=8000&fit=squeeze&f=avif: 413 in {took:?}");
    nginx.assert_log_clean();
}

#[test]
fn the_budgets_must_be_numbers() {
    let (ok, out) = Nginx::test_config(
        r#"server { listen 127.0.0.1:{PORT};
             location / { image_transform "width=10"; image_max_output_pixels lots; } }"#,
    );
    assert!(!ok, "nginx -t accepted a budget of \"lots\":\n{out}");
}
