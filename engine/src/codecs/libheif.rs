//! The primary image of a HEIF file (HEIC: HEVC-coded) decoded by the
//! system's libheif (Debian's 1.15, through `libheif-sys` 1.14, the last
//! binding release that links the system library without asking for 1.16
//! or later). Everything unsafe about libheif stays in this file: callers
//! get an RGB or RGBA image, 8-bit for 8-bit HEVC and 16-bit for deeper
//! (10- and 12-bit HEICs keep their precision through resampling, as
//! 10-bit AVIF does).
//!
//! The container's own transforms (`irot`, `imir`, `clap`) are not applied
//! here: orientation is the pipeline's business, from the item properties
//! read in Rust ([`super::item_properties`]), so the size checked before
//! decoding and the pixels agree.

use std::ffi::CStr;
use std::ptr;

use image::{DynamicImage, ImageBuffer, RgbImage, RgbaImage};
use libheif_sys::{
    heif_channel_heif_channel_interleaved, heif_chroma_heif_chroma_interleaved_RGB,
    heif_chroma_heif_chroma_interleaved_RGBA, heif_chroma_heif_chroma_interleaved_RRGGBBAA_LE,
    heif_chroma_heif_chroma_interleaved_RRGGBB_LE, heif_colorspace_heif_colorspace_RGB,
    heif_context, heif_context_alloc, heif_context_free, heif_context_get_primary_image_handle,
    heif_context_read_from_memory_without_copy, heif_context_set_max_decoding_threads,
    heif_context_set_maximum_image_size_limit, heif_decode_image, heif_decoding_options_alloc,
    heif_decoding_options_free, heif_error, heif_error_code_heif_error_Memory_allocation_error,
    heif_error_code_heif_error_Ok, heif_error_code_heif_error_Unsupported_feature,
    heif_error_code_heif_error_Unsupported_filetype, heif_image,
    heif_image_get_bits_per_pixel_range, heif_image_get_height, heif_image_get_plane_readonly,
    heif_image_get_width, heif_image_handle, heif_image_handle_get_luma_bits_per_pixel,
    heif_image_handle_has_alpha_channel, heif_image_handle_release, heif_image_release,
};

use super::{corrupt, detail, internal};
use crate::{Error, ErrorKind, Limits};

/// Frees the context however decoding ends.
struct Context(*mut heif_context);

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: allocated by heif_context_alloc, freed once, here.
        unsafe { heif_context_free(self.0) };
    }
}

struct Handle(*mut heif_image_handle);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: obtained from the context, released once, here.
        unsafe { heif_image_handle_release(self.0) };
    }
}

struct Image(*mut heif_image);

impl Drop for Image {
    fn drop(&mut self) {
        // SAFETY: made by heif_decode_image, released once, here.
        unsafe { heif_image_release(self.0) };
    }
}

/// Decodes the primary image of `file` to RGB, or RGBA when it has an
/// alpha item: 8-bit when the HEVC luma is 8 bits deep, otherwise 16-bit
/// (the samples scaled to the full range). libheif converts from YUV with the matrix and range the
/// file gives. `limits.max_side` bounds what libheif agrees to allocate, a
/// second line behind the header check.
pub(super) fn decode(file: &[u8], limits: &Limits) -> Result<DynamicImage, Error> {
    // SAFETY: returns a new context or null.
    let context = Context(unsafe { heif_context_alloc() });
    if context.0.is_null() {
        return Err(internal("the HEIF decoder could not be started"));
    }
    let max_side = i32::try_from(limits.max_side).unwrap_or(i32::MAX);
    // SAFETY: the context is live. Zero decoding threads: tiles are
    // decoded on the calling thread (nginx's pool already runs one
    // transform per thread).
    unsafe {
        heif_context_set_maximum_image_size_limit(context.0, max_side);
        heif_context_set_max_decoding_threads(context.0, 0);
    }
    // SAFETY: `file` outlives the context (dropped at the end of this
    // function), as reading without a copy requires.
    check(unsafe {
        heif_context_read_from_memory_without_copy(
            context.0,
            file.as_ptr().cast(),
            file.len(),
            ptr::null(),
        )
    })?;
    let mut handle = Handle(ptr::null_mut());
    // SAFETY: the context is live; the handle is written on success.
    check(unsafe { heif_context_get_primary_image_handle(context.0, &mut handle.0) })?;
    // SAFETY: the handle is live.
    let alpha = unsafe { heif_image_handle_has_alpha_channel(handle.0) } != 0;
    // SAFETY: the handle is live. -1 when the file does not say.
    let deep = unsafe { heif_image_handle_get_luma_bits_per_pixel(handle.0) } > 8;
    let chroma = match (deep, alpha) {
        (false, false) => heif_chroma_heif_chroma_interleaved_RGB,
        (false, true) => heif_chroma_heif_chroma_interleaved_RGBA,
        // Little-endian samples of the coded depth in 16-bit words.
        (true, false) => heif_chroma_heif_chroma_interleaved_RRGGBB_LE,
        (true, true) => heif_chroma_heif_chroma_interleaved_RRGGBBAA_LE,
    };
    // SAFETY: returns default options (or null), freed below.
    let options = unsafe { heif_decoding_options_alloc() };
    if options.is_null() {
        return Err(internal("out of memory for the HEIF decoding options"));
    }
    // SAFETY: `options` points to the struct libheif allocated.
    unsafe { (*options).ignore_transformations = 1 };
    let mut image = Image(ptr::null_mut());
    // SAFETY: the handle and options are live; the image is written on
    // success. The options are freed once, right after.
    let decoded = unsafe {
        let result = heif_decode_image(
            handle.0,
            &mut image.0,
            heif_colorspace_heif_colorspace_RGB,
            chroma,
            options,
        );
        heif_decoding_options_free(options);
        result
    };
    check(decoded)?;
    let channels = if alpha { 4 } else { 3 };
    if deep {
        deep_pixels(&image, channels)
    } else {
        pixels(&image, alpha)
    }
}

/// The decoded interleaved plane: its width and height, and each row's
/// first `width × bytes_per_pixel` bytes, in order (the stride dropped).
struct Plane<'a> {
    width: u32,
    height: u32,
    bytes: &'a [u8],
    stride: usize,
    row: usize,
}

impl Plane<'_> {
    fn rows(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.height as usize).map(|y| &self.bytes[y * self.stride..y * self.stride + self.row])
    }
}

fn plane(image: &Image, bytes_per_pixel: usize) -> Result<Plane<'_>, Error> {
    let channel = heif_channel_heif_channel_interleaved;
    // SAFETY: the image is live.
    let (width, height) = unsafe {
        (
            heif_image_get_width(image.0, channel),
            heif_image_get_height(image.0, channel),
        )
    };
    let (Ok(width), Ok(height)) = (usize::try_from(width), usize::try_from(height)) else {
        return Err(corrupt("the HEIF image has no pixels"));
    };
    let mut stride = 0;
    // SAFETY: the image is live; `stride` is written.
    let plane = unsafe { heif_image_get_plane_readonly(image.0, channel, &mut stride) };
    let stride = usize::try_from(stride).unwrap_or(0);
    let row = width * bytes_per_pixel;
    if plane.is_null() || width == 0 || height == 0 || stride < row {
        return Err(corrupt("the HEIF image has no pixels"));
    }
    // SAFETY: libheif allocates `stride` bytes for each of `height` rows
    // of the interleaved plane, alive while `image` is (the borrow).
    let bytes = unsafe { std::slice::from_raw_parts(plane, stride * (height - 1) + row) };
    Ok(Plane {
        width: width as u32,
        height: height as u32,
        bytes,
        stride,
        row,
    })
}

/// An 8-bit interleaved RGB(A) plane as an `image` buffer.
fn pixels(image: &Image, alpha: bool) -> Result<DynamicImage, Error> {
    let plane = plane(image, if alpha { 4 } else { 3 })?;
    // Row by row: a byte-wise collect would not know its length.
    let mut out = Vec::with_capacity(plane.row * plane.height as usize);
    plane.rows().for_each(|row| out.extend_from_slice(row));
    let (width, height) = (plane.width, plane.height);
    let image = if alpha {
        RgbaImage::from_raw(width, height, out).map(DynamicImage::ImageRgba8)
    } else {
        RgbImage::from_raw(width, height, out).map(DynamicImage::ImageRgb8)
    };
    image.ok_or_else(|| internal("the decoded HEIF has the wrong size"))
}

/// A 10- or 12-bit interleaved plane (little-endian words) as a 16-bit
/// `image` buffer, converted straight from libheif's plane.
fn deep_pixels(image: &Image, channels: usize) -> Result<DynamicImage, Error> {
    // SAFETY: the image is live.
    let depth = unsafe {
        heif_image_get_bits_per_pixel_range(image.0, heif_channel_heif_channel_interleaved)
    };
    let depth = u32::try_from(depth)
        .ok()
        .filter(|depth| (9..=16).contains(depth))
        .ok_or_else(|| corrupt("the HEIF image has no pixels of a known depth"))?;
    let plane = plane(image, channels * 2)?;
    let mut samples: Vec<u16> = Vec::with_capacity(plane.row / 2 * plane.height as usize);
    for row in plane.rows() {
        samples.extend(
            row.chunks_exact(2)
                .map(|pair| super::widen(u16::from_le_bytes([pair[0], pair[1]]), depth)),
        );
    }
    let (width, height) = (plane.width, plane.height);
    let image = if channels == 4 {
        ImageBuffer::from_raw(width, height, samples).map(DynamicImage::ImageRgba16)
    } else {
        ImageBuffer::from_raw(width, height, samples).map(DynamicImage::ImageRgb16)
    };
    image.ok_or_else(|| internal("the decoded HEIF has the wrong size"))
}

/// libheif's error sorted into the catalogue.
fn check(error: heif_error) -> Result<(), Error> {
    if error.code == heif_error_code_heif_error_Ok {
        return Ok(());
    }
    let message = if error.message.is_null() {
        String::new()
    } else {
        // SAFETY: libheif's messages are static NUL-terminated strings.
        unsafe { CStr::from_ptr(error.message) }
            .to_string_lossy()
            .into_owned()
    };
    let code = error.code;
    Err(
        if code == heif_error_code_heif_error_Unsupported_feature
            || code == heif_error_code_heif_error_Unsupported_filetype
        {
            Error::new(
                ErrorKind::UnsupportedFormat,
                format!(
                    "the HEIF uses a feature that is not supported: {}",
                    detail(&message)
                ),
            )
        } else if code == heif_error_code_heif_error_Memory_allocation_error {
            Error::new(
                ErrorKind::TooManyPixels,
                "the HEIF decoder ran out of memory for this image",
            )
        } else {
            corrupt(&format!("HEIF: {message}"))
        },
    )
}
