//! The image pipeline behind the nginx module, with no nginx in it.
//!
//! The glue hands this crate the bytes of an original image, a validated
//! [`Transform`] (parsed from the `image_transform` option string) and the
//! [`Limits`] of the location; it gets back the encoded output or a typed
//! [`Error`] that already knows its HTTP status and code.
//!
//! ```text
//! options::parse ─► Transform
//! process(bytes, Transform, Limits, Control)
//!     sniff format ─► read header (limits checked before decoding)
//!     ─► plan ─► decode (JPEG: DCT-scaled toward the output size)
//!     ─► orient ─► resize/crop/pad ─► rotate ─► encode ─► Output
//! ```
//!
//! [`sniff_format`] is the first step on its own, for callers that need to
//! know what an original is (its `Content-Type`) without transforming it.
//!
//! [`endpoint`] holds the rules of the `PREFIX/OPTIONS/SOURCE` endpoint
//! (splitting the URL, path and URL sources, allowed hosts and addresses,
//! redirects, loops, origin request headers), as pure functions the glue
//! calls before any fetch.

pub mod admission;
pub mod backoff;
pub mod compat;
pub mod endpoint;
pub mod error;
pub mod http;
pub mod limits;
pub mod memory;
pub mod metrics;
pub mod options;
pub mod policy;

mod codecs;
mod colour;
#[doc(hidden)]
pub mod fuzzing;
mod geometry;
mod json;
mod pipeline;
mod profile_cache;
#[doc(hidden)]
pub mod stages;

pub use codecs::sniff_format;
pub use error::{Error, ErrorKind};
pub use limits::Limits;
pub use memory::predict_memory;
pub use options::FormatQualities;
pub use options::{
    parse, Bound, Compression, Fit, Gravity, MetadataMode, OnError, Slot, Template, Transform,
};
pub use options::{Flip, Trim};
pub use pipeline::{process, Control, Output, StageTimings};
pub use policy::Policy;

/// The image formats the engine reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
    /// Still AVIF in and out; AVIF sequences are refused as originals.
    Avif,
    /// Input only (first page); output as JPEG, or PNG when transparent.
    Tiff,
    /// Input only; output as JPEG, or PNG when transparent.
    Bmp,
    /// Input only (the largest icon); output as JPEG, or PNG when
    /// transparent.
    Ico,
    /// Input only (HEIC: HEVC-coded HEIF, decoded by the system's
    /// libheif); output as JPEG, or PNG when transparent.
    Heic,
    /// Output only (`format=json`): the sizes, read from the header,
    /// nothing decoded or encoded.
    Json,
}

impl ImageFormat {
    /// The `Content-Type` of an image in this format.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
            ImageFormat::Avif => "image/avif",
            ImageFormat::Tiff => "image/tiff",
            ImageFormat::Bmp => "image/bmp",
            ImageFormat::Ico => "image/vnd.microsoft.icon",
            ImageFormat::Heic => "image/heic",
            ImageFormat::Json => "application/json",
        }
    }

    /// The name used in the `format=` option.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::Webp => "webp",
            ImageFormat::Avif => "avif",
            ImageFormat::Tiff => "tiff",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Ico => "ico",
            ImageFormat::Heic => "heic",
            ImageFormat::Json => "json",
        }
    }

    /// Whether the engine can write this format as an image. Originals in
    /// other formats are written as JPEG (or PNG when transparent) unless
    /// `format=` says otherwise.
    pub fn is_output(self) -> bool {
        !matches!(
            self,
            ImageFormat::Tiff
                | ImageFormat::Bmp
                | ImageFormat::Ico
                | ImageFormat::Heic
                | ImageFormat::Json
        )
    }
}
