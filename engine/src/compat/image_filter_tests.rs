use std::io::Cursor;
use std::sync::atomic::AtomicBool;

use image::{DynamicImage, ImageBuffer, Rgb, RgbImage, Rgba};

use super::*;

type Lines = Directives<String>;

fn lines(list: &[&[&str]]) -> Result<Lines, ConfError> {
    let mut d = Lines::default();
    for args in list {
        d.image_filter(args, |text| Some(text.to_string()))?;
    }
    Ok(d)
}

fn settings(list: &[&[&str]]) -> Settings {
    lines(list).unwrap().settings(|_| None)
}

fn invalid(text: &str) -> ConfError {
    ConfError::Invalid(format!("invalid parameter \"{text}\""))
}

/// Left half red, right half blue.
fn halves(width: u32, height: u32) -> RgbImage {
    ImageBuffer::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    })
}

fn encode(image: DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn png(width: u32, height: u32) -> Vec<u8> {
    encode(
        DynamicImage::ImageRgb8(halves(width, height)),
        image::ImageFormat::Png,
    )
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encode(
        DynamicImage::ImageRgb8(halves(width, height)),
        image::ImageFormat::Jpeg,
    )
}

fn run(input: &[u8], settings: &Settings) -> Result<Output, Error> {
    let cancel = AtomicBool::new(false);
    let control = Control {
        cancel: &cancel,
        deadline: None,
    };
    process(input, settings, &Limits::default(), &control)
}

fn decoded(output: &Output) -> DynamicImage {
    image::load_from_memory(&output.bytes).unwrap()
}

#[test]
fn values_are_read_as_nginx_reads_them() {
    assert_eq!(value(b"150"), 150);
    assert_eq!(value(b"-"), UNCONSTRAINED);
    for bad in ["0", "", "abc", "-1", "+5", "1.5", "99999999999999999999"] {
        assert_eq!(value(bad.as_bytes()), 0, "{bad}");
    }
}

#[test]
fn each_mode_of_one_line() {
    assert_eq!(settings(&[&["off"]]).filter, Filter::Off);
    assert_eq!(settings(&[&["test"]]).filter, Filter::Test);
    assert_eq!(settings(&[&["size"]]).filter, Filter::Size);
    let s = settings(&[&["rotate", "270"]]);
    assert_eq!((s.filter, s.angle), (Filter::Rotate, 270));
    let s = settings(&[&["resize", "150", "-"]]);
    assert_eq!(
        (s.filter, s.width, s.height),
        (Filter::Resize, 150, UNCONSTRAINED)
    );
    let s = settings(&[&["crop", "80", "60"]]);
    assert_eq!((s.filter, s.width, s.height), (Filter::Crop, 80, 60));
}

#[test]
fn bad_lines_get_nginx_messages() {
    assert_eq!(lines(&[&["blur"]]), Err(invalid("blur")));
    assert_eq!(lines(&[&["rotate", "45"]]), Err(invalid("45")));
    assert_eq!(lines(&[&["rotate", "-"]]), Err(invalid("-")));
    assert_eq!(lines(&[&["resize", "0", "10"]]), Err(invalid("0")));
    assert_eq!(lines(&[&["crop", "10", "abc"]]), Err(invalid("abc")));
    assert_eq!(lines(&[&["resize", "10"]]), Err(invalid("resize")));
    assert_eq!(lines(&[&["scale", "10", "10"]]), Err(invalid("scale")));
}

#[test]
fn rotate_combines_with_resize_and_crop_in_either_order() {
    let s = settings(&[&["resize", "150", "100"], &["rotate", "90"]]);
    assert_eq!((s.filter, s.angle, s.width), (Filter::Resize, 90, 150));
    let s = settings(&[&["rotate", "180"], &["crop", "50", "50"]]);
    assert_eq!((s.filter, s.angle, s.height), (Filter::Crop, 180, 50));
    // A later mode replaces an earlier one; rotate after size is a rotate.
    assert_eq!(
        settings(&[&["size"], &["rotate", "90"]]).filter,
        Filter::Rotate
    );
    assert_eq!(
        settings(&[&["resize", "1", "1"], &["crop", "2", "3"]]).filter,
        Filter::Crop
    );
}

#[test]
fn variables_are_compiled_and_evaluated_per_request() {
    let d = lines(&[&["resize", "$arg_w", "$arg_h"], &["rotate", "$arg_r"]]).unwrap();
    assert_eq!(d.width, Arg::Variable("$arg_w".to_string()));
    let s = d.settings(|v| match v.as_str() {
        "$arg_w" => Some(b"-".to_vec()),
        "$arg_h" => Some(b"120".to_vec()),
        _ => None,
    });
    assert_eq!((s.width, s.height, s.angle), (UNCONSTRAINED, 120, 0));
    // A failed compile was reported by the glue.
    let mut d = Lines::default();
    assert_eq!(
        d.image_filter(&["resize", "$bad", "1"], |_| None),
        Err(ConfError::Reported)
    );
}

#[test]
fn qualities_and_sharpen_are_checked_as_nginx_does() {
    let compile = |t: &str| Some(t.to_string());
    assert_eq!(Lines::number("90", false, compile), Ok(Arg::Value(90)));
    assert_eq!(Lines::number("0", true, compile), Ok(Arg::Value(0)));
    assert_eq!(Lines::number("250", true, compile), Ok(Arg::Value(250)));
    for (bad, zero) in [("0", false), ("-", false), ("x", false), ("-", true)] {
        assert_eq!(
            Lines::number(bad, zero, compile),
            Err(ConfError::Invalid(format!("invalid value \"{bad}\"")))
        );
    }
    assert_eq!(
        Lines::number("$q", false, compile),
        Ok(Arg::Variable("$q".to_string()))
    );
}

#[test]
fn levels_inherit_the_lines_as_a_whole() {
    let parent = lines(&[&["resize", "100", "100"], &["rotate", "90"]]).unwrap();
    let mut child = Lines::default();
    child.merge(&parent);
    assert_eq!(child.settings(|_| None).angle, 90);

    // A child's own line drops the parent's angle, as in nginx.
    let mut child = lines(&[&["crop", "10", "10"]]).unwrap();
    child.jpeg_quality = None;
    let mut parent = parent;
    parent.jpeg_quality = Some(Arg::Value(50));
    parent.interlace = Some(true);
    child.merge(&parent);
    let s = child.settings(|_| None);
    assert_eq!((s.filter, s.angle), (Filter::Crop, 0));
    assert_eq!((s.jpeg_quality, s.interlace), (50, true));

    let mut top = Lines::default();
    top.merge(&Lines::default());
    let s = top.settings(|_| None);
    assert_eq!(s.filter, Filter::Off);
    assert_eq!((s.jpeg_quality, s.webp_quality, s.sharpen), (75, 80, 0));
    assert!(s.transparency && !s.interlace);
    assert_eq!(top.buffer_size(), 1024 * 1024);
}

#[test]
fn geometry_follows_nginx_arithmetic() {
    let g = |list: &[&[&str]], size| geometry(&settings(list), size);
    // Resize keeps the ratio with integer division, never enlarges.
    assert_eq!(
        g(&[&["resize", "150", "100"]], (400, 300)).output,
        (133, 100)
    );
    assert_eq!(g(&[&["resize", "150", "100"]], (60, 40)).output, (60, 40));
    assert_eq!(g(&[&["resize", "100", "-"]], (400, 300)).output, (100, 75));
    assert_eq!(g(&[&["resize", "-", "30"]], (400, 300)).output, (40, 30));
    // Crop never enlarges: the side already smaller stays.
    assert_eq!(g(&[&["crop", "80", "80"]], (100, 50)).output, (80, 50));
    assert_eq!(
        g(&[&["crop", "100", "100"]], (400, 200)).reduced,
        (200, 100)
    );
    assert_eq!(g(&[&["crop", "100", "100"]], (400, 200)).output, (100, 100));
    // Rotation turns the reduced image, then the cut applies.
    let r = g(&[&["resize", "100", "100"], &["rotate", "90"]], (400, 200));
    assert_eq!((r.reduced, r.angle, r.output), ((100, 50), 90, (50, 100)));
    let c = g(&[&["crop", "100", "50"], &["rotate", "90"]], (200, 100));
    assert_eq!((c.reduced, c.output), ((100, 50), (50, 50)));
    let c = g(&[&["crop", "80", "60"], &["rotate", "270"]], (100, 200));
    assert_eq!((c.reduced, c.output), ((80, 160), (80, 60)));
    // Combined with a size mode, an angle other than a quarter turns nothing.
    let mut s = settings(&[&["resize", "10", "10"]]);
    s.angle = 45;
    assert_eq!(geometry(&s, (20, 20)).angle, 0);
}

#[test]
fn size_json_is_byte_for_byte_nginx() {
    assert_eq!(
        size_json(Some((640, 480, ImageFormat::Jpeg))),
        "{ \"img\" : { \"width\": 640, \"height\": 480, \"type\": \"jpeg\" } }\r\n"
    );
    assert_eq!(size_json(None), "{}\r\n");
}

#[test]
fn image_types_as_image_filter_tests_them() {
    assert_eq!(image_type(&png(4, 4)), Some(ImageFormat::Png));
    assert_eq!(image_type(&jpeg(4, 4)), Some(ImageFormat::Jpeg));
    assert_eq!(
        image_type(b"GIF89a0123456789abcdef"),
        Some(ImageFormat::Gif)
    );
    assert_eq!(image_type(b"RIFF0000WEBPVP8 0000"), Some(ImageFormat::Webp));
    assert_eq!(image_type(b"<html>not an image</html>"), None);
    // Fewer than 16 bytes: nginx does not look.
    assert_eq!(image_type(b"\xff\xd8\xff"), None);
}

#[test]
fn size_answers_json_and_braces_for_a_non_image() {
    let s = settings(&[&["size"]]);
    let out = run(&png(30, 20), &s).unwrap();
    assert_eq!(out.format, ImageFormat::Json);
    assert_eq!(
        String::from_utf8(out.bytes).unwrap(),
        "{ \"img\" : { \"width\": 30, \"height\": 20, \"type\": \"png\" } }\r\n"
    );
    let out = run(b"<html><body>no image here</body></html>", &s).unwrap();
    assert_eq!(out.bytes, b"{}\r\n");
    // Looks like a PNG, has no readable header.
    let out = run(b"\x89PNG\r\n\x1a\n\0\0\0\0garbage-garbage", &s).unwrap();
    assert_eq!(out.bytes, b"{}\r\n");
}

#[test]
fn resize_and_crop_produce_nginx_sizes() {
    let out = run(&png(400, 300), &settings(&[&["resize", "150", "100"]])).unwrap();
    assert_eq!(
        (out.width, out.height, out.format),
        (133, 100, ImageFormat::Png)
    );
    let out = run(&png(100, 50), &settings(&[&["crop", "80", "80"]])).unwrap();
    assert_eq!((out.width, out.height), (80, 50));
    let c = &[&["crop", "80", "60"][..], &["rotate", "270"][..]];
    let out = run(&png(100, 200), &settings(c)).unwrap();
    assert_eq!((out.width, out.height), (80, 60));
    assert_eq!(decoded(&out).dimensions_tuple(), (80, 60));
}

trait Dimensions {
    fn dimensions_tuple(&self) -> (u32, u32);
}

impl Dimensions for DynamicImage {
    fn dimensions_tuple(&self) -> (u32, u32) {
        (self.width(), self.height())
    }
}

#[test]
fn an_image_that_fits_is_sent_as_it_came() {
    let input = jpeg(60, 40);
    let out = run(&input, &settings(&[&["resize", "100", "100"]])).unwrap();
    assert_eq!(out.bytes, input);
    assert_eq!(out.format, ImageFormat::Jpeg);
}

#[test]
fn a_jpeg_mostly_metadata_is_reencoded_even_when_it_fits() {
    let plain = jpeg(60, 40);
    // An APP1 segment of ~2 KB: more than 5% of the file.
    let mut input = plain[..2].to_vec();
    input.extend_from_slice(&[0xff, 0xe1, 0x08, 0x02]);
    input.extend_from_slice(b"Exif\0\0");
    input.resize(input.len() + 0x0800 - 8, 0);
    input.extend_from_slice(&plain[2..]);
    assert!(forces(&input, ImageFormat::Jpeg));
    assert!(!forces(&plain, ImageFormat::Jpeg));
    let out = run(&input, &settings(&[&["resize", "100", "100"]])).unwrap();
    assert_ne!(out.bytes, input);
    assert!(out.bytes.len() < input.len());
    assert_eq!((out.width, out.height), (60, 40));
}

#[test]
fn rotation_is_counter_clockwise() {
    let out = run(&png(20, 10), &settings(&[&["rotate", "90"]])).unwrap();
    let image = decoded(&out).to_rgb8();
    assert_eq!(image.dimensions(), (10, 20));
    // The right half (blue) comes up to the top, the left (red) goes down.
    assert_eq!(image.get_pixel(5, 2).0, [0, 0, 255]);
    assert_eq!(image.get_pixel(5, 17).0, [255, 0, 0]);
    let out = run(&png(20, 10), &settings(&[&["rotate", "270"]])).unwrap();
    let image = decoded(&out).to_rgb8();
    assert_eq!(image.get_pixel(5, 2).0, [255, 0, 0]);
}

#[test]
fn failures_are_415() {
    let not_image = b"<html><body>no image here</body></html>";
    let err = run(not_image, &settings(&[&["resize", "10", "10"]])).unwrap_err();
    assert_eq!(status(&err), 415);
    let mut s = settings(&[&["rotate", "90"]]);
    s.angle = 45;
    assert_eq!(status(&run(&png(20, 10), &s).unwrap_err()), 415);
    let mut s = settings(&[&["resize", "10", "10"]]);
    s.width = 0;
    assert_eq!(status(&run(&png(20, 10), &s).unwrap_err()), 415);
    let mut s = settings(&[&["resize", "10", "10"]]);
    s.jpeg_quality = 0;
    assert_eq!(status(&run(&jpeg(20, 10), &s).unwrap_err()), 415);
    let overloaded = Error::new(ErrorKind::Overloaded, "busy");
    assert_eq!(status(&overloaded), 503);
}

/// The first SOF marker: 0xC0 baseline, 0xC2 progressive.
fn sof(bytes: &[u8]) -> u8 {
    let at = bytes
        .windows(2)
        .position(|w| w[0] == 0xff && matches!(w[1], 0xc0..=0xc2))
        .unwrap();
    bytes[at + 1]
}

#[test]
fn interlace_makes_progressive_jpeg_and_quality_applies() {
    let input = encode(
        DynamicImage::ImageRgb8(ImageBuffer::from_fn(200, 150, |x, y| {
            Rgb([
                (x * 7 % 256) as u8,
                (y * 13 % 256) as u8,
                ((x + y) % 256) as u8,
            ])
        })),
        image::ImageFormat::Jpeg,
    );
    let mut s = settings(&[&["resize", "100", "100"]]);
    let baseline = run(&input, &s).unwrap();
    assert_eq!(sof(&baseline.bytes), 0xc0);
    s.interlace = true;
    assert_eq!(sof(&run(&input, &s).unwrap().bytes), 0xc2);
    s.interlace = false;
    s.jpeg_quality = 10;
    let low = run(&input, &s).unwrap();
    s.jpeg_quality = 95;
    let high = run(&input, &s).unwrap();
    assert!(low.bytes.len() < baseline.bytes.len());
    assert!(baseline.bytes.len() < high.bytes.len());
}

#[test]
fn sharpen_changes_the_pixels() {
    let input = png(40, 40);
    let mut s = settings(&[&["resize", "20", "20"]]);
    let plain = decoded(&run(&input, &s).unwrap()).to_rgb8();
    s.sharpen = 100;
    assert_eq!(
        transform(
            &input,
            ImageFormat::Png,
            &s,
            (40, 40),
            &geometry(&s, (40, 40))
        )
        .sharpen,
        10.0
    );
    let sharp = decoded(&run(&input, &s).unwrap()).to_rgb8();
    assert_ne!(plain, sharp);
}

#[test]
fn transparency_off_drops_the_palette_transparency() {
    let image = ImageBuffer::from_fn(20, 20, |x, _| {
        if x < 10 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([0, 128, 0, 255])
        }
    });
    let gif = encode(DynamicImage::ImageRgba8(image), image::ImageFormat::Gif);
    let mut s = settings(&[&["resize", "10", "10"]]);
    let kept = decoded(&run(&gif, &s).unwrap()).to_rgba8();
    assert!(kept.pixels().any(|p| p.0[3] == 0));
    s.transparency = false;
    let out = run(&gif, &s).unwrap();
    assert_eq!(out.format, ImageFormat::Gif);
    let dropped = decoded(&out).to_rgba8();
    assert!(dropped.pixels().all(|p| p.0[3] == 255));
    // Truecolour PNG keeps its alpha channel whatever the setting.
    let rgba = ImageBuffer::from_fn(20, 20, |x, _| Rgba([0, 0, 0, if x < 10 { 0 } else { 255 }]));
    let png = encode(DynamicImage::ImageRgba8(rgba), image::ImageFormat::Png);
    let kept = decoded(&run(&png, &s).unwrap()).to_rgba8();
    assert!(kept.pixels().any(|p| p.0[3] == 0));
}

#[test]
fn memory_is_predicted_for_the_transform_the_line_amounts_to() {
    let limits = Limits::default();
    let input = jpeg(2048, 1536);
    let whole = crate::predict_memory(&input, &Transform::default(), &limits).unwrap();
    // A reduction to 100 px decodes at 1/8 scale: far less than the whole.
    let small = predict_memory(&input, &settings(&[&["resize", "100", "100"]]), &limits).unwrap();
    assert!(small > 0 && small * 4 < whole, "{small} vs {whole}");
    // A quarter turn of the whole image needs about what the whole does.
    let turned = predict_memory(&input, &settings(&[&["rotate", "90"]]), &limits).unwrap();
    assert!(turned >= whole / 2, "{turned} vs {whole}");
    // `size` and an image that fits are answered without decoding.
    assert_eq!(
        predict_memory(&input, &settings(&[&["size"]]), &limits),
        Ok(0)
    );
    let fits = jpeg(60, 40);
    let box_ = settings(&[&["resize", "100", "100"]]);
    assert_eq!(predict_memory(&fits, &box_, &limits), Ok(0));
    // Not an image: refused as process refuses it.
    let err = predict_memory(b"<html>", &box_, &limits).unwrap_err();
    assert_eq!(status(&err), 415);
}
