//! Bounds on what the engine agrees to decode and to make. They are checked
//! against the image header and the planned output before any pixel is
//! decoded, so a decompression bomb or an enlargement to 96 megapixels costs
//! a few bytes of parsing, not gigabytes of memory or a minute of CPU.

use crate::ImageFormat;

/// The limits of one location (`image_max_pixels`, `image_max_side`,
/// `image_max_animation_pixels`, `image_max_output_pixels`,
/// `image_max_avif_output_pixels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most pixels (width × height) of one frame.
    pub max_pixels: u64,
    /// Longest allowed side, in pixels.
    pub max_side: u32,
    /// Most pixels summed over all frames of an animation.
    pub max_animation_pixels: u64,
    /// Most pixels of the output (the canvas, `dpr` included) in JPEG, PNG,
    /// GIF and WebP: the encoders' cost grows with the output's area, and
    /// enlarging modes can ask for far more pixels than the original has.
    pub max_output_pixels: u64,
    /// The same for AVIF output, whose encoder is about ten times slower.
    pub max_avif_output_pixels: u64,
}

impl Limits {
    /// Cloudflare's published input limits (100 megapixels, 12,000 px per
    /// side, 50 megapixels of animation), and output budgets measured with
    /// `examples/encode_rate.rs` on one core (README, "Budgets"): 12
    /// megapixels (a full-size phone photo) take JPEG 0.2 s, PNG 0.5 s and
    /// WebP 3.6 s of a photo (6.3 s of a hard, noisy image) within the
    /// default 10 s `image_timeout`; rav1e at its fast preset makes 1.2
    /// megapixels a second of a photo (0.3 of noise), so AVIF is held to 2
    /// megapixels. The default JPEG encoder (jpegli, progressive) is 7×
    /// WebP's speed: 88 megapixels a second of a photo and 52 of noise in
    /// a run where WebP made 12.5 and 6.9 (a quiet machine, faster than
    /// the one the other figures come from), so the 12 megapixel budget
    /// holds for it with room to spare.
    pub const DEFAULT: Limits = Limits {
        max_pixels: 100_000_000,
        max_side: 12_000,
        max_animation_pixels: 50_000_000,
        max_output_pixels: 12_000_000,
        max_avif_output_pixels: 2_000_000,
    };

    /// The output budget for `format`.
    pub fn max_output_pixels_for(&self, format: ImageFormat) -> u64 {
        match format {
            ImageFormat::Avif => self.max_avif_output_pixels.min(self.max_output_pixels),
            _ => self.max_output_pixels,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
