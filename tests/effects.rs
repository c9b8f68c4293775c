//! The option families of animation, geometry (trim, flip, gravity) and
//! adjustments through nginx: each reaches the engine from
//! `image_transform` with `$arg_*` variables, and each refusal is a 400.

mod common;

use std::io::Cursor;

use common::fixtures::{ANIM, PHOTO};
use common::*;
use image::{AnimationDecoder, ImageFormat};

const CONF: &str = r#"
server {
    listen 127.0.0.1:{PORT};
    location /img/ {
        alias {FIXTURES}/;
        image_transform "width=$arg_w,height=$arg_h,fit=$arg_fit,format=$arg_f,gravity=$arg_g,anim=$arg_anim,trim=$arg_trim,flip=$arg_flip,blur=$arg_blur,sharpen=$arg_sharpen,brightness=$arg_brightness,contrast=$arg_contrast,gamma=$arg_gamma,saturation=$arg_saturation";
    }
}
"#;

fn start() -> Nginx {
    Nginx::start(CONF)
}

fn gif_frames(body: &[u8]) -> usize {
    image::codecs::gif::GifDecoder::new(Cursor::new(body))
        .expect("gif")
        .into_frames()
        .count()
}

fn webp_frames(body: &[u8]) -> usize {
    image::codecs::webp::WebPDecoder::new(Cursor::new(body))
        .expect("webp")
        .into_frames()
        .count()
}

#[test]
fn animations_keep_their_frames_unless_anim_is_false() {
    let nginx = start();
    let frames = gif_frames(&fixture("anim.gif"));
    assert!(frames > 1, "the fixture is animated");

    let resp = nginx.get("/img/anim.gif?w=80");
    let (format, w, h) = assert_transformed(&resp, "image/gif");
    assert_eq!((format, w, h), (ImageFormat::Gif, 80, ANIM.1 * 80 / ANIM.0));
    assert_eq!(gif_frames(&resp.body), frames);

    let resp = nginx.get("/img/anim.gif?w=80&f=webp");
    assert_transformed(&resp, "image/webp");
    assert_eq!(webp_frames(&resp.body), frames);

    // anim=false is the first frame only, in either format.
    let resp = nginx.get("/img/anim.gif?w=80&anim=false");
    assert_transformed(&resp, "image/gif");
    assert_eq!(gif_frames(&resp.body), 1);
    let resp = nginx.get("/img/anim.gif?w=80&anim=false&f=webp");
    assert_transformed(&resp, "image/webp");
    assert!(!resp.body.windows(4).any(|w| w == b"ANMF"));

    let resp = nginx.get("/img/anim.gif?anim=perhaps");
    let message = assert_image_error(&resp, 400, 9401);
    assert!(message.contains("\"anim\""), "{message}");
}

#[test]
fn trim_flip_and_gravity_reach_the_engine() {
    let nginx = start();
    let (_, w, h) = assert_transformed(&nginx.get("/img/photo.jpg?trim=10;20;30;40"), "image/jpeg");
    assert_eq!((w, h), (PHOTO.0 - 60, PHOTO.1 - 40));

    let (_, w, h) = assert_transformed(&nginx.get("/img/photo.jpg?w=200&flip=hv"), "image/jpeg");
    assert_eq!((w, h), (200, 150));

    for gravity in ["auto", "top-left", "bottom-right", "0.2x0.8"] {
        let resp = nginx.get(&format!("/img/photo.jpg?w=100&h=300&fit=cover&g={gravity}"));
        let (_, w, h) = assert_transformed(&resp, "image/jpeg");
        assert_eq!((w, h), (100, 300), "gravity={gravity}");
    }
    // Different gravities cut different parts.
    let left = nginx.get("/img/photo.jpg?w=100&h=300&fit=cover&g=top-left&f=png");
    let right = nginx.get("/img/photo.jpg?w=100&h=300&fit=cover&g=bottom-right&f=png");
    assert_ne!(left.body, right.body);

    for (query, option) in [
        ("trim=1;2", "trim"),
        ("trim=300;0;300;0", "trim"),
        ("flip=x", "flip"),
        ("g=1.5x0.5", "gravity"),
    ] {
        let resp = nginx.get(&format!("/img/photo.jpg?{query}"));
        let message = assert_image_error(&resp, 400, 9401);
        assert!(
            message.contains(option),
            "{query}: the message names {option}: {message}"
        );
    }
}

#[test]
fn adjustments_change_pixels_and_neutral_values_do_not() {
    let nginx = start();
    let plain = nginx.get("/img/photo.jpg?w=100&f=png");
    assert_transformed(&plain, "image/png");
    for query in [
        "blur=10",
        "sharpen=3",
        "brightness=1.5",
        "contrast=0.5",
        "gamma=2",
        "saturation=0",
    ] {
        let resp = nginx.get(&format!("/img/photo.jpg?w=100&f=png&{query}"));
        assert_transformed(&resp, "image/png");
        assert_ne!(resp.body, plain.body, "{query} changed nothing");
    }
    let neutral =
        nginx.get("/img/photo.jpg?w=100&f=png&brightness=1&contrast=0&gamma=1&saturation=1&blur=0");
    assert_eq!(neutral.body, plain.body);

    for query in ["blur=251", "sharpen=11", "brightness=-1", "gamma=abc"] {
        let resp = nginx.get(&format!("/img/photo.jpg?{query}"));
        assert_image_error(&resp, 400, 9401);
    }
}
