//! Animations: reading every frame of a GIF or WebP as a full RGBA canvas
//! (disposal and blending already applied by the decoder), with its delay
//! and the loop count, and writing frames back as an animated GIF or WebP.
//!
//! Frames come and go one at a time, so a job holds one decoded canvas,
//! one resized frame and the compressed output, never the whole animation
//! decoded.

use std::io::Cursor;

use image::codecs::gif::GifDecoder;
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, ImageDecoder, RgbaImage};

use super::decode::{animation_limits, decode_error};
use super::panic_guard::{guarded, guarded_iter};
use super::{gif, gif_frames, webp, webp_frames};
use crate::{Error, ImageFormat, Limits};

/// How many times an animation plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    Forever,
    /// Plays this many times in all (at least 1), then stops on the last
    /// frame.
    Plays(u32),
}

/// One composited frame.
pub(crate) struct Frame {
    pub image: RgbaImage,
    pub delay_ms: u32,
}

/// An animation opened for reading.
pub(crate) struct Animation<'a> {
    pub width: u32,
    pub height: u32,
    pub repeat: Repeat,
    pub frames: Box<dyn Iterator<Item = Result<Frame, Error>> + 'a>,
}

/// Whether a format can be written as an animation.
pub(crate) fn animates(format: ImageFormat) -> bool {
    matches!(format, ImageFormat::Gif | ImageFormat::Webp)
}

/// Opens every frame of an animated GIF or WebP, with the location's limits
/// on each decoder allocation.
pub(crate) fn open<'a>(
    input: &'a [u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<Animation<'a>, Error> {
    // Memory for the decoders is sized from this animation's own header.
    let header = super::read_header(input, format)?;
    let (width, height, repeat, frames) = match format {
        ImageFormat::Gif => {
            let mut decoder =
                guarded(|| GifDecoder::new(Cursor::new(input)).map_err(decode_error))?;
            decoder
                .set_limits(animation_limits(&header, limits))
                .map_err(decode_error)?;
            let (width, height) = decoder.dimensions();
            (width, height, gif::repeat(input), decoder.into_frames())
        }
        ImageFormat::Webp => {
            let mut decoder =
                guarded(|| WebPDecoder::new(Cursor::new(input)).map_err(decode_error))?;
            decoder
                .set_limits(animation_limits(&header, limits))
                .map_err(decode_error)?;
            let (width, height) = decoder.dimensions();
            (width, height, webp::repeat(input), decoder.into_frames())
        }
        _ => return Err(super::internal("only GIF and WebP are read as animations")),
    };
    let frames = guarded_iter(frames.map(|frame| frame.map_err(decode_error))).map(|frame| {
        let frame = frame?;
        let (numerator, denominator) = frame.delay().numer_denom_ms();
        Ok(Frame {
            delay_ms: numerator / denominator.max(1),
            image: frame.into_buffer(),
        })
    });
    Ok(Animation {
        width,
        height,
        repeat,
        frames: Box::new(frames),
    })
}

/// Writes frames of one size as an animated GIF or WebP.
pub(crate) enum Encoder {
    Gif(gif_frames::Encoder),
    Webp(webp_frames::Encoder),
}

impl Encoder {
    pub fn new(
        format: ImageFormat,
        width: u32,
        height: u32,
        quality: u8,
        repeat: Repeat,
    ) -> Result<Encoder, Error> {
        super::check_size(format, width, height)?;
        match format {
            ImageFormat::Gif => Ok(Encoder::Gif(gif_frames::Encoder::new(
                width, height, repeat,
            )?)),
            ImageFormat::Webp => Ok(Encoder::Webp(webp_frames::Encoder::new(
                width, height, quality, repeat,
            )?)),
            _ => Err(super::internal(
                "only GIF and WebP are written as animations",
            )),
        }
    }

    pub fn add(&mut self, frame: &RgbaImage, delay_ms: u32) -> Result<(), Error> {
        match self {
            Encoder::Gif(encoder) => encoder.add(frame, delay_ms),
            Encoder::Webp(encoder) => encoder.add(frame, delay_ms),
        }
    }

    pub fn finish(self) -> Result<Vec<u8>, Error> {
        match self {
            Encoder::Gif(encoder) => encoder.finish(),
            Encoder::Webp(encoder) => encoder.finish(),
        }
    }
}
