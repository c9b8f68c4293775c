//! `trim`: cutting away edges before anything else, either a given number
//! of pixels per side or a uniform border found on the image.
//!
//! The trim does not copy pixels: it yields a region of the image, and the
//! resizer's crop box is moved into it (see `Plan::offset_by`).

use image::{DynamicImage, GenericImageView, Pixel};

use crate::{Error, ErrorKind, Trim};

/// How far (per channel, 0–255) a pixel may differ from the border colour
/// and still count as border: enough for JPEG noise along a flat edge.
pub(crate) const BORDER_TOLERANCE: u8 = 24;

/// A whole-pixel region of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Region {
    pub fn whole(width: u32, height: u32) -> Region {
        Region {
            x: 0,
            y: 0,
            width,
            height,
        }
    }
}

/// The region a pixel trim leaves of a `width × height` image; the whole
/// image for no trim or a border trim (which needs the pixels). A trim that
/// leaves nothing is the client's mistake.
pub(super) fn edges(width: u32, height: u32, trim: Option<Trim>) -> Result<Region, Error> {
    let Some(Trim::Edges {
        top,
        right,
        bottom,
        left,
    }) = trim
    else {
        return Ok(Region::whole(width, height));
    };
    let across = u64::from(left) + u64::from(right);
    let down = u64::from(top) + u64::from(bottom);
    if across >= u64::from(width) || down >= u64::from(height) {
        return Err(Error::new(
            ErrorKind::InvalidOption,
            format!("trim={top};{right};{bottom};{left} removes the whole {width}×{height} image"),
        ));
    }
    Ok(Region {
        x: left,
        y: top,
        width: width - across as u32,
        height: height - down as u32,
    })
}

/// The region inside a uniform border: the colour of the top-left pixel,
/// each channel within `tolerance`, as long as whole rows and columns are
/// made of it. An image that is nothing but border is kept whole.
pub(crate) fn border(image: &DynamicImage, tolerance: u8) -> Region {
    let (width, height) = image.dimensions();
    let whole = Region::whole(width, height);
    if width == 0 || height == 0 {
        return whole;
    }
    let reference = image.get_pixel(0, 0);
    let tolerance = i16::from(tolerance);
    let is_border = |x: u32, y: u32| {
        let pixel = image.get_pixel(x, y);
        pixel
            .channels()
            .iter()
            .zip(reference.channels())
            .all(|(&a, &b)| (i16::from(a) - i16::from(b)).abs() <= tolerance)
    };
    let row_is_border = |y: u32| (0..width).all(|x| is_border(x, y));
    let column_is_border = |x: u32, top: u32, bottom: u32| (top..bottom).all(|y| is_border(x, y));

    let Some(top) = (0..height).find(|&y| !row_is_border(y)) else {
        return whole;
    };
    let bottom = (top..height)
        .rev()
        .find(|&y| !row_is_border(y))
        .map_or(height, |y| y + 1);
    let left = (0..width)
        .find(|&x| !column_is_border(x, top, bottom))
        .unwrap_or(0);
    let right = (left..width)
        .rev()
        .find(|&x| !column_is_border(x, top, bottom))
        .map_or(width, |x| x + 1);
    Region {
        x: left,
        y: top,
        width: right - left,
        height: bottom - top,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, Rgba};

    #[test]
    fn edges_leave_the_middle() {
        let trim = Some(Trim::Edges {
            top: 1,
            right: 2,
            bottom: 3,
            left: 4,
        });
        assert_eq!(
            edges(100, 50, trim).expect("trim"),
            Region {
                x: 4,
                y: 1,
                width: 94,
                height: 46
            }
        );
        assert_eq!(edges(10, 10, None).expect("none"), Region::whole(10, 10));
        assert_eq!(
            edges(10, 10, Some(Trim::Border)).expect("border"),
            Region::whole(10, 10)
        );
    }

    #[test]
    fn edges_that_remove_everything_are_refused() {
        let trim = Some(Trim::Edges {
            top: 0,
            right: 5,
            bottom: 0,
            left: 5,
        });
        let err = edges(10, 10, trim).expect_err("nothing left");
        assert_eq!(err.kind, ErrorKind::InvalidOption);
        assert!(err.message.contains("removes the whole 10×10 image"));
        assert!(edges(11, 10, trim).is_ok());
    }

    #[test]
    fn a_noisy_uniform_border_is_found_to_the_pixel() {
        // White border with ±10 noise around a dark 30×20 block at (12, 7).
        let image = DynamicImage::ImageRgb8(ImageBuffer::from_fn(60, 40, |x, y| {
            if (12..42).contains(&x) && (7..27).contains(&y) {
                Rgb([20, 40, 60])
            } else {
                let noise = ((x * 7 + y * 13) % 21) as u8;
                Rgb([245 + noise / 2, 255 - noise / 2, 250])
            }
        }));
        assert_eq!(
            border(&image, BORDER_TOLERANCE),
            Region {
                x: 12,
                y: 7,
                width: 30,
                height: 20
            }
        );
    }

    #[test]
    fn a_transparent_border_counts_and_a_plain_image_is_kept() {
        let image = DynamicImage::ImageRgba8(ImageBuffer::from_fn(10, 10, |x, y| {
            if x >= 3 && y >= 2 {
                Rgba([200, 0, 0, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        }));
        assert_eq!(
            border(&image, 0),
            Region {
                x: 3,
                y: 2,
                width: 7,
                height: 8
            }
        );
        let plain = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(5, 5, Rgb([9, 9, 9])));
        assert_eq!(border(&plain, 0), Region::whole(5, 5));
    }
}
