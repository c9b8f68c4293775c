//! Animated WebP output with libwebp's `WebPAnimEncoder`.
//!
//! Frames are full canvases; the encoder itself finds the changed
//! rectangle of each, and picks blending and disposal per frame, so an
//! animation re-encoded from composited frames stays small. Frames are
//! streamed in one at a time and compressed as they arrive: only the
//! compressed frames are held.

use std::ffi::CStr;
use std::ptr;

use image::RgbaImage;
use libwebp_sys as sys;

use super::{encode_error, frames::Repeat};
use crate::{Error, ImageFormat};

pub(crate) struct Encoder {
    /// Owned; deleted on drop.
    encoder: *mut sys::WebPAnimEncoder,
    config: sys::WebPConfig,
    width: u32,
    height: u32,
    /// Where the next frame starts, in milliseconds.
    timestamp: i32,
}

fn failed(what: &str) -> Error {
    encode_error(ImageFormat::Webp, what)
}

impl Encoder {
    pub fn new(width: u32, height: u32, quality: u8, repeat: Repeat) -> Result<Encoder, Error> {
        let config = sys::WebPConfig::new_with_preset(
            sys::WebPPreset::WEBP_PRESET_DEFAULT,
            f32::from(quality.clamp(1, 100)),
        )
        .map_err(|()| failed("the encoder configuration was refused"))?;
        let mut options = std::mem::MaybeUninit::<sys::WebPAnimEncoderOptions>::uninit();
        // SAFETY: the init function fills every field of the options struct.
        let ok = unsafe {
            sys::WebPAnimEncoderOptionsInitInternal(
                options.as_mut_ptr(),
                sys::WebPGetMuxABIVersion(),
            )
        };
        if ok == 0 {
            return Err(failed("libwebp's animation options did not initialise"));
        }
        // SAFETY: initialised by the call above, which succeeded.
        let mut options = unsafe { options.assume_init() };
        options.anim_params.loop_count = match repeat {
            Repeat::Forever => 0,
            Repeat::Plays(plays) => plays.min(u32::from(u16::MAX)) as i32,
        };
        // Transparent, as browsers show the canvas before the first frame.
        options.anim_params.bgcolor = 0;
        // SAFETY: valid options; the sizes were checked against WebP's
        // limits by the caller (a refusal returns null, handled below).
        let encoder = unsafe {
            sys::WebPAnimEncoderNewInternal(
                width as i32,
                height as i32,
                &options,
                sys::WebPGetMuxABIVersion(),
            )
        };
        if encoder.is_null() {
            return Err(failed("libwebp refused to create the animation encoder"));
        }
        Ok(Encoder {
            encoder,
            config,
            width,
            height,
            timestamp: 0,
        })
    }

    /// Adds one full-canvas frame shown for `delay_ms`.
    pub fn add(&mut self, frame: &RgbaImage, delay_ms: u32) -> Result<(), Error> {
        if frame.dimensions() != (self.width, self.height) {
            return Err(failed("a frame differs in size from the canvas"));
        }
        let mut picture =
            sys::WebPPicture::new().map_err(|()| failed("the picture did not initialise"))?;
        picture.use_argb = 1;
        picture.width = self.width as i32;
        picture.height = self.height as i32;
        // SAFETY: the buffer holds width × height RGBA pixels (checked
        // above) with rows of 4 × width bytes; libwebp copies it.
        let imported = unsafe {
            sys::WebPPictureImportRGBA(&mut picture, frame.as_raw().as_ptr(), 4 * self.width as i32)
        };
        // SAFETY: the encoder is live, the picture initialised and filled.
        let added = imported != 0
            && unsafe {
                sys::WebPAnimEncoderAdd(self.encoder, &mut picture, self.timestamp, &self.config)
            } != 0;
        // SAFETY: frees what the import allocated; the encoder kept a copy.
        unsafe { sys::WebPPictureFree(&mut picture) };
        if !added {
            return Err(self.error("adding a frame failed"));
        }
        self.timestamp = self
            .timestamp
            .saturating_add(delay_ms.min(i32::MAX as u32) as i32);
        Ok(())
    }

    /// Closes the animation; the end timestamp gives the last frame its
    /// own duration.
    pub fn finish(self) -> Result<Vec<u8>, Error> {
        // SAFETY: a null frame marks the end, as libwebp documents.
        let ended = unsafe {
            sys::WebPAnimEncoderAdd(self.encoder, ptr::null_mut(), self.timestamp, ptr::null())
        };
        if ended == 0 {
            return Err(self.error("ending the animation failed"));
        }
        let mut data = sys::WebPData::default();
        // SAFETY: the encoder is live; on success `data` owns a buffer
        // from libwebp's allocator, copied and freed right below.
        if unsafe { sys::WebPAnimEncoderAssemble(self.encoder, &mut data) } == 0 {
            return Err(self.error("assembling the animation failed"));
        }
        // SAFETY: `data` points at `size` bytes written by libwebp.
        let bytes = unsafe { std::slice::from_raw_parts(data.bytes, data.size) }.to_vec();
        // SAFETY: frees the buffer assembled above, once.
        unsafe { sys::WebPDataClear(&mut data) };
        Ok(bytes)
    }

    fn error(&self, what: &str) -> Error {
        // SAFETY: the encoder is live; the message is a static C string
        // owned by it, copied before the encoder goes away.
        let detail = unsafe {
            let message = sys::WebPAnimEncoderGetError(self.encoder);
            if message.is_null() {
                String::new()
            } else {
                CStr::from_ptr(message).to_string_lossy().into_owned()
            }
        };
        failed(&format!("{what}: {detail}"))
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: created in `new`, deleted exactly once, here.
        unsafe { sys::WebPAnimEncoderDelete(self.encoder) };
    }
}
