//! Animated GIF output with the `gif` crate.
//!
//! Each frame gets its own 256-colour palette from `color_quant`'s
//! NeuQuant (through `gif::Frame::from_rgba_speed`; a frame with at most
//! 256 colours keeps them exactly), so a resized photo-like frame is not
//! banded by a palette made for another frame. Frames are full canvases
//! disposed to the background, which is right for frames that carry
//! transparency of their own.

use gif::{DisposalMethod, Repeat as GifRepeat};
use image::RgbaImage;

use super::{encode_error, frames::Repeat};
use crate::{Error, ImageFormat};

/// NeuQuant's sampling factor, 1 (best) to 30 (fastest); 10 is the `gif`
/// crate's suggested balance.
const QUANTISATION_SPEED: i32 = 10;

pub(crate) struct Encoder {
    encoder: gif::Encoder<Vec<u8>>,
    width: u16,
    height: u16,
}

fn failed(err: impl std::fmt::Display) -> Error {
    encode_error(ImageFormat::Gif, err)
}

impl Encoder {
    /// The size was checked against GIF's limit (65,535) by the caller.
    pub fn new(width: u32, height: u32, repeat: Repeat) -> Result<Encoder, Error> {
        let (width, height) = (
            u16::try_from(width).map_err(failed)?,
            u16::try_from(height).map_err(failed)?,
        );
        let mut encoder = gif::Encoder::new(Vec::new(), width, height, &[]).map_err(failed)?;
        // GIF counts repeats after the first play; without the NETSCAPE
        // extension an animation plays once.
        let repeat = match repeat {
            Repeat::Forever => Some(GifRepeat::Infinite),
            Repeat::Plays(plays) if plays > 1 => Some(GifRepeat::Finite(
                (plays - 1).min(u32::from(u16::MAX)) as u16,
            )),
            Repeat::Plays(_) => None,
        };
        if let Some(repeat) = repeat {
            encoder.set_repeat(repeat).map_err(failed)?;
        }
        Ok(Encoder {
            encoder,
            width,
            height,
        })
    }

    pub fn add(&mut self, frame: &RgbaImage, delay_ms: u32) -> Result<(), Error> {
        if frame.dimensions() != (u32::from(self.width), u32::from(self.height)) {
            return Err(failed("a frame differs in size from the canvas"));
        }
        let mut pixels = frame.as_raw().clone();
        let mut frame =
            gif::Frame::from_rgba_speed(self.width, self.height, &mut pixels, QUANTISATION_SPEED);
        // GIF delays are in hundredths of a second.
        frame.delay = ((delay_ms + 5) / 10).min(u32::from(u16::MAX)) as u16;
        frame.dispose = DisposalMethod::Background;
        self.encoder.write_frame(&frame).map_err(failed)
    }

    pub fn finish(self) -> Result<Vec<u8>, Error> {
        self.encoder.into_inner().map_err(failed)
    }
}
