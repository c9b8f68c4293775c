//! Parser tests: every option, every refusal, every message.
use super::*;

fn ok(options: &str) -> Transform {
    match parse(options) {
        Ok(transform) => transform,
        Err(err) => panic!("{options:?} was refused: {}", err.message),
    }
}

fn err(options: &str) -> String {
    match parse(options) {
        Ok(transform) => panic!("{options:?} was accepted as {transform:?}"),
        Err(err) => {
            assert_eq!(err.kind, ErrorKind::InvalidOption, "{options:?}");
            err.message
        }
    }
}

#[test]
fn empty_string_is_the_default_transform() {
    assert_eq!(ok(""), Transform::default());
    assert_eq!(ok(" , ,, "), Transform::default());
}

#[test]
fn defaults_match_cloudflare() {
    let t = Transform::default();
    assert_eq!(t.fit, Fit::ScaleDown);
    assert_eq!(t.gravity, Gravity::Center);
    assert_eq!(t.quality, 85);
    assert_eq!(t.format, None);
    assert_eq!(t.background, [255, 255, 255, 255]);
    assert_eq!(t.rotate, 0);
    assert_eq!(t.onerror, OnError::Fail);
}

#[test]
fn width_and_height_long_and_short_names() {
    let t = ok("width=300,height=200");
    assert_eq!((t.width, t.height), (Some(300), Some(200)));
    let t = ok("w=1,h=12000");
    assert_eq!((t.width, t.height), (Some(1), Some(12000)));
    assert_eq!(ok("width=0300").width, Some(300));
}

#[test]
fn whitespace_around_keys_and_values_is_trimmed() {
    let t = ok("  width = 300 ,\theight=  200\t, fit = cover ");
    assert_eq!(
        (t.width, t.height, t.fit),
        (Some(300), Some(200), Fit::Cover)
    );
}

#[test]
fn empty_values_and_items_are_ignored() {
    let t = ok("width=,height=200");
    assert_eq!((t.width, t.height), (None, Some(200)));
    let t = ok(",,width=5,,fit=,format= ,");
    assert_eq!((t.width, t.fit, t.format), (Some(5), Fit::ScaleDown, None));
}

#[test]
fn last_duplicate_wins() {
    assert_eq!(ok("width=100,width=200").width, Some(200));
    assert_eq!(ok("w=100,width=300").width, Some(300));
    assert_eq!(ok("fit=pad,fit=cover").fit, Fit::Cover);
    // An empty repeat means "not given", so it does not erase the first.
    assert_eq!(ok("width=100,width=").width, Some(100));
}

#[test]
fn keys_and_keywords_are_case_insensitive() {
    let t = ok("WIDTH=10,Fit=Cover,g=LEFT,format=WebP,onerror=Original,background=WHITE");
    assert_eq!(t.width, Some(10));
    assert_eq!(t.fit, Fit::Cover);
    assert_eq!(t.gravity, Gravity::Left);
    assert_eq!(t.format, Some(ImageFormat::Webp));
    assert_eq!(t.onerror, OnError::Original);
    assert_eq!(ok("background=#FFaa00").background, [255, 170, 0, 255]);
}

#[test]
fn dpr_multiplies_both_sides_in_any_order() {
    let t = ok("dpr=2,width=300,height=100");
    assert_eq!((t.width, t.height), (Some(600), Some(200)));
    let t = ok("width=301,dpr=1.5");
    assert_eq!((t.width, t.height), (Some(452), None)); // 451.5 rounds up
    assert_eq!(ok("width=100,dpr=1").width, Some(100));
    assert_eq!(ok("width=100,dpr=4").width, Some(400));
    assert_eq!(ok("width=100,dpr=1.").width, Some(100));
    assert_eq!(ok("width=100,dpr=2.50").width, Some(250));
    // Capped at the per-side limit rather than refused.
    assert_eq!(ok("width=10000,height=5000,dpr=3").width, Some(MAX_SIDE));
    assert_eq!(ok("width=10000,height=5000,dpr=3").height, Some(MAX_SIDE));
    // No sizes: nothing to multiply.
    assert_eq!(ok("dpr=2"), Transform::default());
}

#[test]
fn every_fit() {
    for (value, fit) in [
        ("scale-down", Fit::ScaleDown),
        ("contain", Fit::Contain),
        ("cover", Fit::Cover),
        ("crop", Fit::Crop),
        ("pad", Fit::Pad),
        ("squeeze", Fit::Squeeze),
    ] {
        assert_eq!(ok(&format!("fit={value}")).fit, fit);
    }
}

#[test]
fn every_gravity() {
    for (value, gravity) in [
        ("center", Gravity::Center),
        ("auto", Gravity::Auto),
        ("left", Gravity::Left),
        ("right", Gravity::Right),
        ("top", Gravity::Top),
        ("bottom", Gravity::Bottom),
    ] {
        assert_eq!(ok(&format!("gravity={value}")).gravity, gravity);
        assert_eq!(ok(&format!("g={value}")).gravity, gravity);
    }
}

#[test]
fn quality_bounds_and_short_name() {
    assert_eq!(ok("quality=1").quality, 1);
    assert_eq!(ok("quality=100").quality, 100);
    assert_eq!(ok("q=42").quality, 42);
}

#[test]
fn every_format() {
    for (value, format) in [
        ("jpeg", ImageFormat::Jpeg),
        ("jpg", ImageFormat::Jpeg),
        ("png", ImageFormat::Png),
        ("gif", ImageFormat::Gif),
        ("webp", ImageFormat::Webp),
        ("avif", ImageFormat::Avif),
        ("AVIF", ImageFormat::Avif),
    ] {
        assert_eq!(ok(&format!("format={value}")).format, Some(format));
        assert_eq!(ok(&format!("f={value}")).format, Some(format));
    }
}

#[test]
fn every_background_form() {
    for (value, rgba) in [
        ("#fff", [255, 255, 255, 255]),
        ("#f00", [255, 0, 0, 255]),
        ("#0f08", [0, 255, 0, 136]),
        ("#123456", [0x12, 0x34, 0x56, 255]),
        ("#12345678", [0x12, 0x34, 0x56, 0x78]),
        ("%23abcdef", [0xab, 0xcd, 0xef, 255]),
        ("white", [255, 255, 255, 255]),
        ("black", [0, 0, 0, 255]),
        ("transparent", [0, 0, 0, 0]),
    ] {
        assert_eq!(
            ok(&format!("background={value}")).background,
            rgba,
            "{value}"
        );
    }
}

#[test]
fn every_rotation() {
    for angle in [0, 90, 180, 270] {
        assert_eq!(ok(&format!("rotate={angle}")).rotate, angle);
    }
}

#[test]
fn every_onerror() {
    assert_eq!(ok("onerror=original").onerror, OnError::Original);
    assert_eq!(ok("onerror=fail").onerror, OnError::Fail);
}

#[test]
fn everything_at_once() {
    let t = ok(
        "width=640,height=480,dpr=1.5,fit=pad,gravity=top,quality=70,\
                format=png,background=#000,rotate=90,onerror=original",
    );
    assert_eq!(
        t,
        Transform {
            width: Some(960),
            height: Some(720),
            fit: Fit::Pad,
            gravity: Gravity::Top,
            quality: 70,
            format: Some(ImageFormat::Png),
            background: [0, 0, 0, 255],
            rotate: 90,
            onerror: OnError::Original,
            auto_format: false,
            explicit_quality: true,
            ..Transform::default()
        }
    );
}

#[test]
fn integer_options_refuse_out_of_range_and_malformed_values() {
    for key in ["width", "w", "height", "h"] {
        for value in [
            "0",
            "12001",
            "99999999999999999999",
            "-1",
            "+5",
            "1.5",
            "abc",
            "5px",
            "1e3",
            "0x10",
            "1 0",
        ] {
            let message = err(&format!("{key}={value}"));
            assert_eq!(
                message,
                format!(
                    "invalid value \"{value}\" for option \"{key}\": expected an integer from 1 to 12000"
                )
            );
        }
    }
    for key in ["quality", "q"] {
        for value in ["0", "101", "-5", "highest", "50.5"] {
            let message = err(&format!("{key}={value}"));
            assert!(
                message.contains("expected an integer from 1 to 100"),
                "{message}"
            );
            assert!(message.contains(&format!("\"{key}\"")), "{message}");
        }
    }
}

#[test]
fn width_message_is_exactly_as_documented() {
    assert_eq!(
        err("width=abc"),
        "invalid value \"abc\" for option \"width\": expected an integer from 1 to 12000"
    );
}

#[test]
fn dpr_refuses_out_of_range_and_malformed_values() {
    for value in [
        "0", "0.5", "0.99", "4.01", "5", "-1", "+2", "1e0", "inf", "NaN", "2..0", "1.5.1", ".",
        "two", "2x",
    ] {
        let message = err(&format!("dpr={value}"));
        assert!(
            message.contains("for option \"dpr\": expected a number from 1 to 4"),
            "{message}"
        );
    }
}

#[test]
fn keyword_options_refuse_unknown_values() {
    for (option, expected) in [
        (
            "fit=fill",
            "scale-down, contain, cover, crop, pad or squeeze",
        ),
        (
            "fit=scale_down",
            "scale-down, contain, cover, crop, pad or squeeze",
        ),
        (
            "gravity=middle",
            "bottom-right or a focal point XxY (fractions 0 to 1, like 0.5x0.3)",
        ),
        (
            "g=2x0.5",
            "bottom-right or a focal point XxY (fractions 0 to 1, like 0.5x0.3)",
        ),
        (
            "format=heic",
            "auto, jpeg, baseline-jpeg, png, gif, webp, avif or json",
        ),
        (
            "f=automatic",
            "auto, jpeg, baseline-jpeg, png, gif, webp, avif or json",
        ),
        ("onerror=redirect", "original or fail"),
        ("rotate=360", "0, 90, 180 or 270"),
        ("rotate=-90", "0, 90, 180 or 270"),
        ("rotate=45", "0, 90, 180 or 270"),
        ("rotate=090", "0, 90, 180 or 270"),
    ] {
        let message = err(option);
        assert!(message.ends_with(expected), "{option}: {message}");
    }
}

#[test]
fn background_refuses_malformed_colours() {
    for value in [
        "#ff",
        "#fffff",
        "#fffffff",
        "#fffffffff",
        "#ggg",
        "fff",
        "red",
        "rgb(0,0,0)",
        "#",
        "%23",
    ] {
        let message = err(&format!("background={value}"));
        assert!(message.contains("for option \"background\""), "{message}");
    }
}

#[test]
fn unknown_keys_are_refused_even_with_an_empty_value() {
    assert_eq!(err("foo=1"), "unknown option \"foo\"");
    assert_eq!(err("foo="), "unknown option \"foo\"");
    assert_eq!(err("width=10,fade=false"), "unknown option \"fade\"");
    assert_eq!(err("=5"), "option \"=5\" has no name");
}

#[test]
fn missing_equals_is_refused() {
    assert_eq!(
        err("width"),
        "option \"width\" has no value: expected key=value"
    );
    assert_eq!(
        err("width=10,cover"),
        "option \"cover\" has no value: expected key=value"
    );
}

#[test]
fn quoted_values_are_short_and_free_of_control_characters() {
    let long = "x".repeat(500);
    let message = err(&format!("width={long}"));
    assert!(message.len() < 120, "{message}");
    assert!(
        message.contains(&format!("\"{}…\"", "x".repeat(40))),
        "{message}"
    );

    let message = err("width=1\u{7}2\r\n3");
    assert!(!message.chars().any(char::is_control), "{message:?}");
    assert!(message.contains("\"123\""), "{message}");

    let message = err(&format!("{}=1", "k".repeat(100)));
    assert!(message.len() < 70, "{message}");
}

#[test]
fn first_error_wins_and_names_its_option() {
    let message = err("width=10,height=0,quality=500");
    assert!(message.contains("\"height\""), "{message}");
}

#[test]
fn every_name_in_the_table_has_a_parser() {
    for (name, aliases) in OPTION_NAMES {
        for key in std::iter::once(name).chain(aliases.iter()) {
            // A value no option takes: the error must be about the value,
            // never "unknown option".
            let message = err(&format!("{key}=\u{1}"));
            assert!(!message.contains("unknown option"), "{key}: {message}");
            assert_eq!(canonical_name(key), Some(*name));
        }
    }
}

#[test]
fn format_auto_is_negotiated_later_and_last_duplicate_still_wins() {
    let t = ok("format=auto");
    assert!(t.auto_format);
    assert_eq!(t.format, None, "kept until negotiation fills it in");
    assert!(ok("f=AUTO").auto_format);
    let t = ok("format=auto,format=webp");
    assert_eq!((t.auto_format, t.format), (false, Some(ImageFormat::Webp)));
    let t = ok("format=webp,format=auto");
    assert_eq!((t.auto_format, t.format), (true, None));
}

#[test]
fn quality_levels_are_named_like_cloudflares() {
    assert_eq!(ok("quality=high").quality, 90);
    assert_eq!(ok("quality=Medium-High").quality, 80);
    assert_eq!(ok("q=medium-low").quality, 65);
    assert_eq!(ok("quality=low").quality, 50);
    assert!(ok("quality=low").explicit_quality);
    assert!(!ok("width=5").explicit_quality);
    let message = err("quality=best");
    assert!(
        message.contains("high, medium-high, medium-low or low"),
        "{message}"
    );
}

#[test]
fn metadata_and_compression() {
    assert_eq!(ok("").metadata, MetadataMode::Copyright);
    assert_eq!(ok("metadata=keep").metadata, MetadataMode::Keep);
    assert_eq!(ok("metadata=COPYRIGHT").metadata, MetadataMode::Copyright);
    assert_eq!(ok("metadata=none").metadata, MetadataMode::Discard);
    assert!(err("metadata=all").contains("keep, copyright or none"));
    assert_eq!(ok("").compression, Compression::Default);
    assert_eq!(ok("compression=fast").compression, Compression::Fast);
    assert!(err("compression=slow").contains("expected fast"));
}

#[test]
fn jpeg_is_progressive_unless_baseline_is_asked_for() {
    assert!(ok("").progressive);
    assert!(ok("format=jpeg").progressive);
    let baseline = ok("format=baseline-jpeg");
    assert_eq!(baseline.format, Some(ImageFormat::Jpeg));
    assert!(!baseline.progressive);
    assert_eq!(ok("format=json").format, Some(ImageFormat::Json));
    assert!(err("format=tiff").contains("baseline-jpeg"));
}

#[test]
fn corner_gravities_and_focal_points() {
    for (value, gravity) in [
        ("top-left", Gravity::TopLeft),
        ("left-top", Gravity::TopLeft),
        ("top-right", Gravity::TopRight),
        ("bottom-left", Gravity::BottomLeft),
        ("Bottom-Right", Gravity::BottomRight),
        ("0.25x0.75", Gravity::Focus { x: 0.25, y: 0.75 }),
        ("0x1", Gravity::Focus { x: 0.0, y: 1.0 }),
        (".5x.5", Gravity::Focus { x: 0.5, y: 0.5 }),
    ] {
        assert_eq!(ok(&format!("gravity={value}")).gravity, gravity, "{value}");
    }
    for value in [
        "1.5x0.5",
        "0.5",
        "0.5x",
        "x0.5",
        "-0.1x0.5",
        "0.5x0.5x0.5",
        "middle",
    ] {
        let message = err(&format!("gravity={value}"));
        assert!(message.contains("focal point XxY"), "{value}: {message}");
    }
}

#[test]
fn anim_trim_and_flip() {
    assert!(ok("").anim);
    assert!(!ok("anim=false").anim);
    assert!(ok("anim=true").anim);
    assert!(err("anim=maybe").contains("true or false"));

    assert_eq!(ok("").trim, None);
    assert_eq!(
        ok("trim=20;30;40;50").trim,
        Some(Trim::Edges {
            top: 20,
            right: 30,
            bottom: 40,
            left: 50
        })
    );
    assert_eq!(ok("trim=border").trim, Some(Trim::Border));
    assert_eq!(ok("trim=0;0;0;0").trim, None);
    for value in [
        "1;2;3",
        "1;2;3;4;5",
        "a;b;c;d",
        "-1;0;0;0",
        "1.5;0;0;0",
        "100001;0;0;0",
    ] {
        let message = err(&format!("trim={value}"));
        assert!(
            message.contains("top;right;bottom;left"),
            "{value}: {message}"
        );
    }

    for (value, horizontal, vertical) in
        [("h", true, false), ("v", false, true), ("hv", true, true)]
    {
        assert_eq!(
            ok(&format!("flip={value}")).flip,
            Flip {
                horizontal,
                vertical
            }
        );
    }
    assert_eq!(ok("").flip, Flip::default());
    assert!(err("flip=x").contains("h, v or hv"));
}

#[test]
fn adjustments_use_cloudflare_scales() {
    let t = ok("blur=50,sharpen=2.5,brightness=1.5,contrast=0.5,gamma=2,saturation=0");
    assert_eq!(
        (
            t.blur,
            t.sharpen,
            t.brightness,
            t.contrast,
            t.gamma,
            t.saturation
        ),
        (50.0, 2.5, 1.5, 0.5, 2.0, 0.0)
    );
    // Neutral by default; 0 means "no change" for brightness, contrast and
    // gamma, and is greyscale for saturation.
    let neutral = ok("brightness=0,contrast=0,gamma=0");
    assert_eq!(
        (neutral.brightness, neutral.contrast, neutral.gamma),
        (1.0, 1.0, 1.0)
    );
    let t = ok("");
    assert_eq!((t.blur, t.sharpen, t.saturation), (0.0, 0.0, 1.0));
    assert_eq!(ok("blur=0").blur, 0.0);
    assert_eq!(ok("blur=250").blur, 250.0);
    for (option, expected) in [
        ("blur=0.5", "0 or a number from 1 to 250"),
        ("blur=251", "0 or a number from 1 to 250"),
        ("sharpen=11", "a number from 0 to 10"),
        ("brightness=-1", "a number from 0 to 10"),
        ("contrast=10.5", "a number from 0 to 10"),
        ("gamma=1e2", "a number from 0 to 10"),
        ("saturation=inf", "a number from 0 to 10"),
    ] {
        let message = err(option);
        assert!(message.contains(expected), "{option}: {message}");
    }
}
