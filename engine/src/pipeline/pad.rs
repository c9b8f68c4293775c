//! Putting the image on a background: the canvas of `fit=pad`, and the
//! flattening of transparency for JPEG.
//!
//! The background goes *underneath* the image (Cloudflare's meaning of
//! `background`): transparent parts of the image show it, and it fills the
//! padding. Blending is source-over on straight (non-premultiplied) alpha in
//! integers, exact at alpha 0 and 255.

use std::borrow::Cow;

use image::{DynamicImage, GrayAlphaImage, GrayImage, RgbImage, Rgba, RgbaImage};

/// The image on a `canvas`-sized background, its top-left corner at
/// `offset`. The result has an alpha channel only if the background is not
/// opaque, and colour only if the image or the background has colour.
pub(super) fn pad(
    image: &DynamicImage,
    canvas: (u32, u32),
    offset: (u32, u32),
    background: [u8; 4],
) -> DynamicImage {
    let src: Cow<'_, RgbaImage> = match image {
        DynamicImage::ImageRgba8(rgba) => Cow::Borrowed(rgba),
        other => Cow::Owned(other.to_rgba8()),
    };
    let mut out = RgbaImage::from_pixel(canvas.0, canvas.1, Rgba(background));
    for (x, y, pixel) in src.enumerate_pixels() {
        let target = x
            .checked_add(offset.0)
            .zip(y.checked_add(offset.1))
            .and_then(|(tx, ty)| out.get_pixel_mut_checked(tx, ty));
        if let Some(target) = target {
            target.0 = over(pixel.0, target.0);
        }
    }
    let keep_alpha = background[3] < 255;
    let keep_color = is_color(image) || !is_grey(background);
    reduce(out, keep_alpha, keep_color)
}

/// The image composited over the background with no transparency left. A
/// background that is itself not opaque is first laid over white, so
/// `transparent` flattens to white rather than black.
pub(super) fn flatten(image: &DynamicImage, background: [u8; 4]) -> DynamicImage {
    let opaque = over(background, [255, 255, 255, 255]);
    pad(image, (image.width(), image.height()), (0, 0), opaque)
}

/// `src` over `dst`, straight alpha. The result's colour is the
/// alpha-weighted mix; its alpha is `sa + da·(1 − sa)`.
fn over(src: [u8; 4], dst: [u8; 4]) -> [u8; 4] {
    let sa = u32::from(src[3]);
    if sa == 255 {
        return src;
    }
    let da = u32::from(dst[3]);
    // Alpha and weights scaled by 255 to stay in integers.
    let src_weight = sa * 255;
    let dst_weight = da * (255 - sa);
    let alpha = src_weight + dst_weight;
    if alpha == 0 {
        return [0, 0, 0, 0];
    }
    let mix = |i: usize| {
        ((u32::from(src[i]) * src_weight + u32::from(dst[i]) * dst_weight + alpha / 2) / alpha)
            as u8
    };
    [mix(0), mix(1), mix(2), ((alpha + 127) / 255) as u8]
}

fn is_color(image: &DynamicImage) -> bool {
    !matches!(
        image,
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLumaA8(_)
    )
}

fn is_grey(color: [u8; 4]) -> bool {
    color[0] == color[1] && color[1] == color[2]
}

/// Drops the channels the result does not need. Grey results take the red
/// channel, which equals the others when nothing coloured was involved.
fn reduce(rgba: RgbaImage, keep_alpha: bool, keep_color: bool) -> DynamicImage {
    let (width, height) = rgba.dimensions();
    let pick = |channels: &[usize]| -> Vec<u8> {
        rgba.pixels()
            .flat_map(|p| channels.iter().map(move |&c| p.0[c]))
            .collect()
    };
    let rebuilt = match (keep_alpha, keep_color) {
        (true, true) => return DynamicImage::ImageRgba8(rgba),
        (false, true) => {
            RgbImage::from_raw(width, height, pick(&[0, 1, 2])).map(DynamicImage::ImageRgb8)
        }
        (true, false) => {
            GrayAlphaImage::from_raw(width, height, pick(&[0, 3])).map(DynamicImage::ImageLumaA8)
        }
        (false, false) => {
            GrayImage::from_raw(width, height, pick(&[0])).map(DynamicImage::ImageLuma8)
        }
    };
    // The buffers have exactly width × height pixels by construction.
    rebuilt.unwrap_or(DynamicImage::ImageRgba8(rgba))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, LumaA, Rgb};

    #[test]
    fn over_is_exact_at_the_extremes() {
        assert_eq!(over([10, 20, 30, 255], [1, 2, 3, 255]), [10, 20, 30, 255]);
        assert_eq!(over([10, 20, 30, 0], [1, 2, 3, 255]), [1, 2, 3, 255]);
        assert_eq!(over([10, 20, 30, 0], [1, 2, 3, 0]), [0, 0, 0, 0]);
        // Half black over white is mid grey, opaque.
        assert_eq!(
            over([0, 0, 0, 128], [255, 255, 255, 255]),
            [127, 127, 127, 255]
        );
        // Over a transparent background the source is unchanged.
        assert_eq!(over([200, 100, 50, 77], [0, 0, 0, 0]), [200, 100, 50, 77]);
    }

    #[test]
    fn pad_places_the_image_and_fills_the_rest() {
        let image = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(2, 1, Rgb([255, 0, 0])));
        let out = pad(&image, (4, 3), (1, 1), [0, 0, 255, 255]);
        let out = out.as_rgb8().expect("rgb");
        assert_eq!(out.dimensions(), (4, 3));
        assert_eq!(out.get_pixel(0, 0).0, [0, 0, 255]);
        assert_eq!(out.get_pixel(1, 1).0, [255, 0, 0]);
        assert_eq!(out.get_pixel(2, 1).0, [255, 0, 0]);
        assert_eq!(out.get_pixel(3, 1).0, [0, 0, 255]);
        assert_eq!(out.get_pixel(3, 2).0, [0, 0, 255]);
    }

    #[test]
    fn layouts_follow_image_and_background() {
        let grey = DynamicImage::ImageLuma8(ImageBuffer::from_pixel(1, 1, Luma([9])));
        assert!(matches!(
            pad(&grey, (2, 2), (0, 0), [255, 255, 255, 255]),
            DynamicImage::ImageLuma8(_)
        ));
        assert!(matches!(
            pad(&grey, (2, 2), (0, 0), [0, 0, 0, 0]),
            DynamicImage::ImageLumaA8(_)
        ));
        assert!(matches!(
            pad(&grey, (2, 2), (0, 0), [255, 0, 0, 255]),
            DynamicImage::ImageRgb8(_)
        ));
        assert!(matches!(
            pad(&grey, (2, 2), (0, 0), [255, 0, 0, 10]),
            DynamicImage::ImageRgba8(_)
        ));
    }

    #[test]
    fn flatten_removes_alpha_onto_the_background() {
        let image = DynamicImage::ImageLumaA8(ImageBuffer::from_fn(2, 1, |x, _| {
            LumaA([0, if x == 0 { 0 } else { 255 }])
        }));
        let flat = flatten(&image, [255, 0, 0, 255]);
        let flat = flat.as_rgb8().expect("rgb");
        assert_eq!(flat.get_pixel(0, 0).0, [255, 0, 0]);
        assert_eq!(flat.get_pixel(1, 0).0, [0, 0, 0]);

        // A transparent background flattens to white.
        let flat = flatten(&image, [0, 0, 0, 0]);
        assert_eq!(flat.as_luma8().map(|b| b.get_pixel(0, 0).0), Some([255]));
    }
}
