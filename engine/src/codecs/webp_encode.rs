//! Still WebP encoding through libwebp's `WebPEncode`, stoppable: libwebp
//! calls a progress hook as it works through the picture (every row of
//! macroblocks in lossy mode, every stage in lossless), and the hook asks
//! the job's control whether to go on. A 7000 px WebP takes seconds to
//! encode; without the hook a job whose client left, or whose
//! `image_timeout` passed, would hold its thread until the end.
//!
//! The settings are those of the `webp` crate's `encode_simple`, which this
//! replaces: libwebp's default configuration, the quality, lossless when
//! asked, alpha compressed losslessly in lossy mode.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use libwebp_sys as sys;

use super::encode_error;
use crate::{Error, ImageFormat};

/// Tells the encoder to go on (`Ok`) or stop with that error.
pub(crate) type Check<'a> = &'a dyn Fn() -> Result<(), Error>;

/// The pixels' layout: tightly packed, 8 bits a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channels {
    Rgb,
    Rgba,
}

/// What the progress hook reaches through `WebPPicture::user_data`.
struct Progress<'a> {
    check: Check<'a>,
    /// Why the hook stopped the encoder.
    stopped: Option<Error>,
}

/// Owns a picture and the memory writer it writes to; frees both on drop,
/// whatever path the encode took.
struct Encoding {
    picture: sys::WebPPicture,
    writer: sys::WebPMemoryWriter,
}

impl Drop for Encoding {
    fn drop(&mut self) {
        // SAFETY: both were initialised by `encode` before this value was
        // made; freeing an empty picture or writer is allowed.
        unsafe {
            sys::WebPPictureFree(&mut self.picture);
            sys::WebPMemoryWriterClear(&mut self.writer);
        }
    }
}

/// Called by libwebp from inside `WebPEncode` on this thread; 0 aborts.
unsafe extern "C" fn on_progress(_percent: i32, picture: *const sys::WebPPicture) -> i32 {
    // A panic must not unwind into C: it stops the encode instead.
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: libwebp passes the picture being encoded, whose
        // `user_data` `encode` set to a `Progress` that outlives the call.
        let progress = unsafe { &mut *((*picture).user_data as *mut Progress) };
        match (progress.check)() {
            Ok(()) => 1,
            Err(err) => {
                progress.stopped = Some(err);
                0
            }
        }
    }))
    .unwrap_or(0)
}

/// Encodes `pixels` (`width` × `height`, `channels`) as a still WebP.
pub(crate) fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: Channels,
    lossless: bool,
    quality: f32,
    check: Check<'_>,
) -> Result<Vec<u8>, Error> {
    let failed = |what: &str| encode_error(ImageFormat::Webp, what);
    let stride = match channels {
        Channels::Rgb => 3,
        Channels::Rgba => 4,
    };
    if pixels.len() as u64 != u64::from(width) * u64::from(height) * stride as u64 {
        return Err(failed("the pixel buffer does not match the size"));
    }
    let mut config = sys::WebPConfig::new().map_err(|()| failed("no encoder configuration"))?;
    config.lossless = i32::from(lossless);
    config.alpha_compression = i32::from(!lossless);
    config.quality = quality;
    // SAFETY: a configuration initialised by libwebp, only plain fields set.
    if unsafe { sys::WebPValidateConfig(&config) } == 0 {
        return Err(failed("the encoder configuration was refused"));
    }
    let picture = sys::WebPPicture::new().map_err(|()| failed("no picture"))?;
    let mut writer = std::mem::MaybeUninit::<sys::WebPMemoryWriter>::uninit();
    // SAFETY: the init function fills every field of the writer.
    unsafe { sys::WebPMemoryWriterInit(writer.as_mut_ptr()) };
    let mut encoding = Encoding {
        picture,
        // SAFETY: initialised just above.
        writer: unsafe { writer.assume_init() },
    };
    let mut progress = Progress {
        check,
        stopped: None,
    };
    let picture = &mut encoding.picture;
    picture.use_argb = 1;
    picture.width = width as i32;
    picture.height = height as i32;
    let row = (width as usize * stride) as i32;
    // SAFETY: `pixels` holds `height` rows of `row` bytes (checked above);
    // libwebp copies them into the picture's own buffer.
    let imported = unsafe {
        match channels {
            Channels::Rgb => sys::WebPPictureImportRGB(picture, pixels.as_ptr(), row),
            Channels::Rgba => sys::WebPPictureImportRGBA(picture, pixels.as_ptr(), row),
        }
    };
    if imported == 0 {
        return Err(failed("the picture could not be allocated"));
    }
    picture.writer = Some(sys::WebPMemoryWrite);
    picture.custom_ptr = &mut encoding.writer as *mut sys::WebPMemoryWriter as *mut c_void;
    picture.progress_hook = Some(on_progress);
    picture.user_data = &mut progress as *mut Progress as *mut c_void;
    // SAFETY: a validated configuration and a picture with pixels, a
    // writer and a hook whose pointers stay valid for the whole call (the
    // writer lives in `encoding`, the progress on this stack frame).
    let ok = unsafe { sys::WebPEncode(&config, &mut encoding.picture) };
    if let Some(err) = progress.stopped.take() {
        return Err(err);
    }
    if ok == 0 {
        return Err(failed(&format!("{:?}", encoding.picture.error_code)));
    }
    let writer = &encoding.writer;
    // SAFETY: after a successful encode `mem` holds `size` bytes written by
    // `WebPMemoryWrite` (null only when nothing was written).
    Ok(if writer.mem.is_null() {
        Vec::new()
    } else {
        unsafe { std::slice::from_raw_parts(writer.mem, writer.size) }.to_vec()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn card(width: u32, height: u32, channels: Channels) -> Vec<u8> {
        let stride = match channels {
            Channels::Rgb => 3,
            Channels::Rgba => 4,
        };
        (0..width * height * stride)
            .map(|i| (i * 7 % 251) as u8)
            .collect()
    }

    fn go_on() -> Result<(), Error> {
        Ok(())
    }

    #[test]
    fn encodes_lossy_and_lossless_rgb_and_rgba() {
        for channels in [Channels::Rgb, Channels::Rgba] {
            for lossless in [false, true] {
                let pixels = card(67, 45, channels);
                let webp = encode(&pixels, 67, 45, channels, lossless, 80.0, &go_on).unwrap();
                let decoded = image::load_from_memory(&webp).unwrap();
                assert_eq!((decoded.width(), decoded.height()), (67, 45));
                assert_eq!(decoded.color().has_alpha(), channels == Channels::Rgba);
                let vp8l = webp.windows(4).any(|w| w == b"VP8L");
                assert_eq!(vp8l, lossless, "{channels:?}");
            }
        }
    }

    #[test]
    fn the_check_is_asked_while_encoding_and_can_stop_it() {
        let pixels = card(512, 512, Channels::Rgb);
        let asked = Cell::new(0);
        let count = || {
            asked.set(asked.get() + 1);
            Ok(())
        };
        encode(&pixels, 512, 512, Channels::Rgb, false, 80.0, &count).unwrap();
        // Every row of 16-pixel macroblocks at least.
        assert!(asked.get() >= 32, "asked {} times", asked.get());

        // Stopped half-way: the check's own error comes back.
        let asked = Cell::new(0);
        let stop = || {
            asked.set(asked.get() + 1);
            if asked.get() > 10 {
                Err(Error::new(crate::ErrorKind::Cancelled, "stop"))
            } else {
                Ok(())
            }
        };
        let err = encode(&pixels, 512, 512, Channels::Rgb, false, 80.0, &stop).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Cancelled);
        assert_eq!(asked.get(), 11, "no more checks after the stop");

        // A panicking check stops the encode instead of unwinding into C.
        let panics = || -> Result<(), Error> { panic!("a check that panics, on purpose") };
        let small = card(64, 64, Channels::Rgb);
        let result = encode(&small, 64, 64, Channels::Rgb, false, 80.0, &panics);
        assert_eq!(result.unwrap_err().kind, crate::ErrorKind::Internal);
    }

    #[test]
    fn a_buffer_of_the_wrong_size_is_an_error() {
        let err = encode(&[0; 10], 4, 4, Channels::Rgb, false, 80.0, &go_on).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Internal);
    }
}
