//! Bounds on what the engine agrees to decode. They are checked against the
//! image header before any pixel is decoded, so a decompression bomb costs a
//! few bytes of parsing, not gigabytes of memory.

/// The limits of one location (`image_max_pixels`, `image_max_side`,
/// `image_max_animation_pixels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most pixels (width × height) of one frame.
    pub max_pixels: u64,
    /// Longest allowed side, in pixels.
    pub max_side: u32,
    /// Most pixels summed over all frames of an animation.
    pub max_animation_pixels: u64,
}

impl Default for Limits {
    /// Cloudflare's published limits: 100 megapixels, 12,000 px per side,
    /// 50 megapixels of animation.
    fn default() -> Self {
        Limits {
            max_pixels: 100_000_000,
            max_side: 12_000,
            max_animation_pixels: 50_000_000,
        }
    }
}
