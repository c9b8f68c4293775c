//! Animated GIF and WebP through the whole pipeline: frame counts, delays,
//! loop counts, conversion both ways, `anim=false`, limits and stopping.

mod common;

use std::io::Cursor;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use common::*;
use image::codecs::gif::GifDecoder;
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, DynamicImage, ImageFormat as Codec, RgbaImage};
use image_engine::{process, Control, ErrorKind, ImageFormat, Limits};

/// Frames of a moving bright square on a gradient; frame `i` shows for
/// `(i + 2) * 10` ms.
fn frames(count: u32, width: u32, height: u32) -> Vec<(RgbaImage, u32)> {
    (0..count)
        .map(|i| {
            let image = RgbaImage::from_fn(width, height, |x, y| {
                let inside = (x + width - i * 3 % width) % width < width / 4 && y < height / 2;
                if inside {
                    image::Rgba([250, 240, 20, 255])
                } else {
                    image::Rgba([(x * 255 / width) as u8, 60, (y * 255 / height) as u8, 255])
                }
            });
            (image, (i + 2) * 10)
        })
        .collect()
}

/// An animated GIF with the `gif` crate; `repeats` is the NETSCAPE count
/// (`None`: no extension, plays once).
fn gif(count: u32, width: u32, height: u32, repeats: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder =
            gif::Encoder::new(&mut out, width as u16, height as u16, &[]).expect("encoder");
        if let Some(repeats) = repeats {
            let repeat = if repeats == 0 {
                gif::Repeat::Infinite
            } else {
                gif::Repeat::Finite(repeats)
            };
            encoder.set_repeat(repeat).expect("repeat");
        }
        for (image, delay) in frames(count, width, height) {
            let mut pixels = image.into_raw();
            let mut frame =
                gif::Frame::from_rgba_speed(width as u16, height as u16, &mut pixels, 30);
            frame.delay = (delay / 10) as u16;
            encoder.write_frame(&frame).expect("frame");
        }
    }
    out
}

/// (frames, delays in ms, size) of an animated GIF, and its NETSCAPE count.
fn read_gif(bytes: &[u8]) -> (Vec<u32>, (u32, u32), Option<gif::Repeat>) {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(Cursor::new(bytes)).expect("gif");
    let size = (u32::from(decoder.width()), u32::from(decoder.height()));
    let mut delays = Vec::new();
    while let Some(frame) = decoder.read_next_frame().expect("frame") {
        delays.push(u32::from(frame.delay) * 10);
    }
    // The extension is seen while reading, so ask at the end.
    let has_loop = bytes.windows(11).any(|w| w == b"NETSCAPE2.0");
    (delays, size, has_loop.then(|| decoder.repeat()))
}

/// Delays in ms and plays (0: forever) of an animated WebP (`image`'s
/// decoder).
fn read_webp(bytes: &[u8]) -> (Vec<u32>, (u32, u32), u32) {
    let decoder = WebPDecoder::new(Cursor::new(bytes)).expect("webp");
    let size = image::ImageDecoder::dimensions(&decoder);
    let loops = match decoder.loop_count() {
        image::metadata::LoopCount::Infinite => 0,
        image::metadata::LoopCount::Finite(n) => n.get(),
    };
    let delays = decoder
        .into_frames()
        .map(|frame| {
            let (n, d) = frame.expect("frame").delay().numer_denom_ms();
            n / d
        })
        .collect();
    (delays, size, loops)
}

fn expected_delays(count: u32) -> Vec<u32> {
    (0..count).map(|i| (i + 2) * 10).collect()
}

#[test]
fn a_resized_gif_keeps_every_frame_delay_and_loop_count() {
    let input = gif(12, 120, 80, Some(3));
    let output = ok(&input, "width=60");
    assert_eq!(output.format, ImageFormat::Gif);
    assert_eq!((output.width, output.height), (60, 40));
    let (delays, size, repeat) = read_gif(&output.bytes);
    assert_eq!(size, (60, 40));
    assert_eq!(delays, expected_delays(12));
    assert_eq!(repeat, Some(gif::Repeat::Finite(3)));

    // Forever stays forever; no extension stays without one.
    let (_, _, repeat) = read_gif(&ok(&gif(3, 40, 40, Some(0)), "width=20").bytes);
    assert_eq!(repeat, Some(gif::Repeat::Infinite));
    let (delays, _, repeat) = read_gif(&ok(&gif(3, 40, 40, None), "width=20").bytes);
    assert_eq!((delays.len(), repeat), (3, None));
}

#[test]
fn gif_to_webp_and_back_keeps_frames_delays_and_loops() {
    let input = gif(20, 100, 100, Some(2));
    let webp = ok(&input, "width=50,format=webp");
    assert_eq!(webp.format, ImageFormat::Webp);
    let (delays, size, loops) = read_webp(&webp.bytes);
    assert_eq!(size, (50, 50));
    assert_eq!(delays, expected_delays(20));
    // GIF repeats 2 times after the first play: 3 plays in all.
    assert_eq!(loops, 3);

    let back = ok(&webp.bytes, "width=40,format=gif");
    let (delays, size, repeat) = read_gif(&back.bytes);
    assert_eq!(size, (40, 40));
    assert_eq!(delays, expected_delays(20));
    assert_eq!(repeat, Some(gif::Repeat::Finite(2)));

    // WebP to WebP, forever.
    let forever = ok(&gif(4, 60, 60, Some(0)), "format=webp");
    let resized = ok(&forever.bytes, "width=30,fit=cover,height=20");
    let (delays, size, loops) = read_webp(&resized.bytes);
    assert_eq!((delays.len(), size), (4, (30, 20)));
    assert_eq!(loops, 0);
}

#[test]
fn frames_are_resized_like_stills() {
    // Frame 5 of the resized animation against frame 5 resized on its own.
    let input = gif(8, 160, 120, Some(0));
    let animated = ok(&input, "width=80,format=webp,quality=100");
    let decoder = WebPDecoder::new(Cursor::new(&animated.bytes)).expect("webp");
    let frame = decoder.into_frames().nth(5).expect("frame").expect("ok");
    // The same frame as the GIF holds it (quantised), as a PNG.
    let still_input = {
        let decoder = GifDecoder::new(Cursor::new(&input)).expect("gif");
        let frame = decoder.into_frames().nth(5).expect("frame").expect("ok");
        png_of(&DynamicImage::ImageRgba8(frame.into_buffer()))
    };
    let still = decode(&ok(&still_input, "width=80,format=png").bytes).to_rgba8();
    let difference: f64 = frame
        .buffer()
        .as_raw()
        .iter()
        .zip(still.as_raw())
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / still.as_raw().len() as f64;
    // Lossy WebP at quality 100 only.
    assert!(difference < 3.0, "mean difference {difference}");
}

#[test]
fn anim_false_takes_the_first_frame_and_stills_are_stills() {
    let input = gif(6, 80, 60, Some(0));
    let output = ok(&input, "anim=false,width=40");
    let (delays, size, _) = read_gif(&output.bytes);
    assert_eq!((delays.len(), size), (1, (40, 30)));
    let webp = ok(&input, "anim=false,format=webp");
    assert!(!webp.bytes.windows(4).any(|w| w == b"ANMF"));
    // A still format gets the first frame whatever `anim` says.
    let jpeg = ok(&input, "format=jpeg");
    assert_eq!(format_of(&jpeg.bytes), ImageFormat::Jpeg);
}

#[test]
fn every_frame_counts_toward_the_animation_limit() {
    let input = gif(10, 100, 100, Some(0));
    let limits = Limits {
        max_animation_pixels: 99_999,
        ..Limits::default()
    };
    let err = run_with(&input, "width=50", &limits).expect_err("too many");
    assert_eq!(err.kind, ErrorKind::TooManyPixels);
    let limits = Limits {
        max_animation_pixels: 100_000,
        ..Limits::default()
    };
    assert!(run_with(&input, "width=50", &limits).is_ok());
}

#[test]
fn a_cancelled_or_late_animation_stops() {
    let input = gif(10, 100, 100, Some(0));
    let transform = image_engine::parse("width=50,format=webp").expect("options");
    let cancelled = AtomicBool::new(true);
    let control = Control {
        cancel: &cancelled,
        deadline: None,
    };
    let err = process(&input, &transform, &Limits::default(), &control).expect_err("cancelled");
    assert_eq!(err.kind, ErrorKind::Cancelled);
    let control = Control {
        cancel: &NEVER,
        deadline: Some(Instant::now()),
    };
    let err = process(&input, &transform, &Limits::default(), &control).expect_err("late");
    assert_eq!(err.kind, ErrorKind::ProcessingTimeout);
}

#[test]
fn geometry_and_adjustments_apply_to_every_frame() {
    let input = gif(5, 100, 80, Some(0));
    let output = ok(
        &input,
        "trim=10;0;10;20,width=40,height=40,fit=cover,gravity=left,flip=h,rotate=90,blur=2",
    );
    let (delays, size, _) = read_gif(&output.bytes);
    assert_eq!((delays.len(), size), (5, (40, 40)));
    assert_eq!((output.width, output.height), (40, 40));
    let output = ok(&input, "width=50,rotate=90");
    assert_eq!((output.width, output.height), (40, 50));
    assert_eq!(read_gif(&output.bytes).1, (40, 50));
}

#[test]
fn the_corpus_animation_resizes_frame_by_frame() {
    let Some(input) = corpus("anim.gif") else {
        return;
    };
    let output = ok(&input, "width=200,format=webp");
    let (delays, size, _) = read_webp(&output.bytes);
    assert_eq!(delays.len(), 8);
    assert_eq!(size, (200, 212));
    let gif_out = ok(&input, "width=200");
    assert_eq!(read_gif(&gif_out.bytes).0.len(), 8);
    assert_eq!(
        image::guess_format(&gif_out.bytes).expect("format"),
        Codec::Gif
    );
    let _ = GifDecoder::new(Cursor::new(&gif_out.bytes)).expect("decodes");
}
