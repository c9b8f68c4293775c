//! The photo-like test card the quality and progressive tests share.

#![allow(dead_code)]

use image::{DynamicImage, ImageBuffer, Rgb};

/// A photo-like test card: smooth gradients, soft shapes, edges and fine
/// texture at several scales (none of it above what a camera would record
/// through its anti-aliasing filter).
pub fn test_card(width: u32, height: u32) -> DynamicImage {
    let image = ImageBuffer::from_fn(width, height, |x, y| {
        let (fx, fy) = (f64::from(x), f64::from(y));
        let (w, h) = (f64::from(width), f64::from(height));
        let ring = (((fx - w / 2.0).hypot(fy - h / 2.0)) / 40.0).sin() * 40.0;
        let texture = ((fx / 3.1).sin() * (fy / 2.7).cos()) * 12.0;
        let edge = if (x / 97 + y / 61) % 2 == 0 {
            30.0
        } else {
            -30.0
        };
        let r = 128.0 + 90.0 * (fx / w - 0.5) + ring + texture;
        let g = 128.0 + 90.0 * (fy / h - 0.5) + edge;
        let b = 128.0 - ring + texture * 0.5 + edge * 0.5;
        let clamp = |v: f64| v.round().clamp(0.0, 255.0) as u8;
        Rgb([clamp(r), clamp(g), clamp(b)])
    });
    DynamicImage::ImageRgb8(image)
}
