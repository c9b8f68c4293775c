//! A location's default quality per output format (`image_jpeg_quality`,
//! `image_webp_quality`, `image_avif_quality`), used when a request does
//! not give `quality`. The output format is often known only after
//! decoding (the original's format, or PNG for a transparent original), so
//! the defaults travel with the transform and are looked up at encoding.

use super::Transform;
use crate::ImageFormat;

/// Default qualities (1..=100) for the lossy outputs; `None` keeps the
/// engine's default (85).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FormatQualities {
    pub jpeg: Option<u8>,
    pub webp: Option<u8>,
    pub avif: Option<u8>,
}

impl FormatQualities {
    /// The default set for `format`, if any.
    pub fn get(&self, format: ImageFormat) -> Option<u8> {
        match format {
            ImageFormat::Jpeg => self.jpeg,
            ImageFormat::Webp => self.webp,
            ImageFormat::Avif => self.avif,
            _ => None,
        }
    }
}

impl Transform {
    /// The quality `format` is encoded at: the request's `quality` when it
    /// gave one, else the location's default for the format, else the
    /// engine's.
    pub fn quality_for(&self, format: ImageFormat) -> u8 {
        if self.explicit_quality {
            return self.quality;
        }
        self.format_qualities.get(format).unwrap_or(self.quality)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn defaults() -> FormatQualities {
        FormatQualities {
            jpeg: Some(72),
            webp: Some(64),
            avif: Some(50),
        }
    }

    #[test]
    fn each_format_gets_its_default_when_the_request_gives_none() {
        let mut transform = parse("width=100").unwrap();
        transform.format_qualities = defaults();
        assert_eq!(transform.quality_for(ImageFormat::Jpeg), 72);
        assert_eq!(transform.quality_for(ImageFormat::Webp), 64);
        assert_eq!(transform.quality_for(ImageFormat::Avif), 50);
        // Lossless and palette-less formats keep the engine's value.
        assert_eq!(transform.quality_for(ImageFormat::Png), 85);
        assert_eq!(transform.quality_for(ImageFormat::Gif), 85);
    }

    #[test]
    fn a_requested_quality_wins_over_the_defaults() {
        for options in ["quality=90", "q=90", "quality=high"] {
            let mut transform = parse(options).unwrap();
            transform.format_qualities = defaults();
            let requested = transform.quality;
            for format in [ImageFormat::Jpeg, ImageFormat::Webp, ImageFormat::Avif] {
                assert_eq!(transform.quality_for(format), requested, "{options}");
            }
        }
    }

    #[test]
    fn without_defaults_nothing_changes() {
        let transform = parse("width=100").unwrap();
        assert_eq!(transform.format_qualities, FormatQualities::default());
        assert_eq!(transform.quality_for(ImageFormat::Jpeg), transform.quality);
    }
}
