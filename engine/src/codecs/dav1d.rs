//! One AV1 frame decoded by libdav1d (the system's, through `dav1d-sys`).
//!
//! The binding is used directly rather than through the `dav1d` wrapper
//! crate because the wrapper's release for libdav1d 1.0 does not expose the
//! sequence header's colour range and matrix, which the YUV to RGB step
//! needs. Everything unsafe about libdav1d stays in this file: callers get
//! a [`Frame`] with plain slices.

use std::mem::MaybeUninit;
use std::ptr;

use dav1d_sys::{
    dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture,
    dav1d_open, dav1d_picture_unref, dav1d_send_data, Dav1dContext, Dav1dData, Dav1dPicture,
    DAV1D_ERR_AGAIN, DAV1D_ERR_NOMEM, DAV1D_PIXEL_LAYOUT_I400, DAV1D_PIXEL_LAYOUT_I420,
    DAV1D_PIXEL_LAYOUT_I422, DAV1D_PIXEL_LAYOUT_I444,
};

use super::{corrupt, internal};
use crate::{Error, ErrorKind};

/// How the chroma planes are sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// Monochrome: luma only.
    I400,
    I420,
    I422,
    I444,
}

/// A decoded frame, owned until dropped.
pub(super) struct Frame {
    picture: Dav1dPicture,
}

// SAFETY: a picture is reference-counted by libdav1d with atomic counters and
// is never written after decoding; the context that made it may be closed.
unsafe impl Send for Frame {}

impl Drop for Frame {
    fn drop(&mut self) {
        // SAFETY: `picture` was filled by a successful dav1d_get_picture and
        // is released exactly once, here.
        unsafe { dav1d_picture_unref(&mut self.picture) };
    }
}

impl Frame {
    pub(super) fn width(&self) -> u32 {
        self.picture.p.w.max(0) as u32
    }

    pub(super) fn height(&self) -> u32 {
        self.picture.p.h.max(0) as u32
    }

    /// 8, 10 or 12.
    pub(super) fn bit_depth(&self) -> u32 {
        self.picture.p.bpc.max(0) as u32
    }

    pub(super) fn layout(&self) -> Layout {
        match self.picture.p.layout {
            DAV1D_PIXEL_LAYOUT_I400 => Layout::I400,
            DAV1D_PIXEL_LAYOUT_I420 => Layout::I420,
            DAV1D_PIXEL_LAYOUT_I422 => Layout::I422,
            DAV1D_PIXEL_LAYOUT_I444 => Layout::I444,
            // libdav1d checks the header: no other value reaches here.
            _ => Layout::I444,
        }
    }

    /// Full-range YUV (0..=255 at 8 bits) rather than studio range.
    pub(super) fn full_range(&self) -> bool {
        // SAFETY: a decoded picture always carries its sequence header,
        // kept alive by the picture's reference.
        unsafe { self.picture.seq_hdr.as_ref() }.is_some_and(|seq| seq.color_range != 0)
    }

    /// The matrix coefficients (ITU-T H.273 numbering).
    pub(super) fn matrix(&self) -> u32 {
        // SAFETY: as in `full_range`.
        unsafe { self.picture.seq_hdr.as_ref() }.map_or(2, |seq| seq.mtrx)
    }

    /// Rows and columns of plane `index` (0 luma, 1 and 2 chroma).
    pub(super) fn plane_size(&self, index: usize) -> (u32, u32) {
        let (width, height) = (self.width(), self.height());
        if index == 0 {
            return (width, height);
        }
        match self.layout() {
            Layout::I400 => (0, 0),
            Layout::I420 => (width.div_ceil(2), height.div_ceil(2)),
            Layout::I422 => (width.div_ceil(2), height),
            Layout::I444 => (width, height),
        }
    }

    /// Bytes from one row of plane `index` to the next.
    pub(super) fn stride_bytes(&self, index: usize) -> usize {
        let stride = self.picture.stride[usize::from(index != 0)];
        usize::try_from(stride).unwrap_or(0)
    }

    /// Plane `index` as bytes (`stride_bytes` per row), or an empty slice
    /// for chroma of a monochrome frame.
    pub(super) fn plane_bytes(&self, index: usize) -> &[u8] {
        let (_, rows) = self.plane_size(index);
        let data = self.picture.data[index.min(2)];
        if rows == 0 || data.is_null() {
            return &[];
        }
        let len = self.stride_bytes(index) * rows as usize;
        // SAFETY: libdav1d allocates each plane as `stride` bytes for at
        // least every row of the plane (rows are padded, not cut), and the
        // picture reference held by `self` keeps it alive and unchanged.
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
    }

    /// Plane `index` as 16-bit samples (for 10- and 12-bit frames).
    pub(super) fn plane_words(&self, index: usize) -> &[u16] {
        let bytes = self.plane_bytes(index);
        // SAFETY: high-bit-depth planes are arrays of u16 and libdav1d
        // aligns them to 64 bytes; the length is rounded down to whole
        // samples.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<u16>(), bytes.len() / 2) }
    }
}

/// Closes the decoder however decoding ends.
struct Context(*mut Dav1dContext);

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: the pointer came from a successful dav1d_open and is
        // closed once; dav1d_close sets it to null.
        unsafe { dav1d_close(&mut self.0) };
    }
}

/// Most times the decoder is asked for the picture before giving up: an
/// image item is one temporal unit, which takes one or two rounds.
const MAX_ROUNDS: usize = 64;

/// Decodes the one frame of an AV1 image item (a temporal unit of OBUs).
/// `max_pixels` bounds the frame libdav1d agrees to allocate, a second line
/// behind the header check.
pub(super) fn decode(obus: &[u8], max_pixels: u64) -> Result<Frame, Error> {
    if obus.is_empty() {
        return Err(corrupt("the AVIF image item is empty"));
    }
    let mut settings = MaybeUninit::uninit();
    // SAFETY: dav1d_default_settings initialises every field.
    let mut settings = unsafe {
        dav1d_default_settings(settings.as_mut_ptr());
        settings.assume_init()
    };
    // One thread: nginx's pool already runs one transform per thread.
    settings.n_threads = 1;
    settings.max_frame_delay = 1;
    settings.all_layers = 0;
    settings.frame_size_limit = u32::try_from(max_pixels).unwrap_or(u32::MAX);

    let mut context = Context(ptr::null_mut());
    // SAFETY: `settings` is initialised; the context is written on success.
    if unsafe { dav1d_open(&mut context.0, &settings) } < 0 || context.0.is_null() {
        return Err(internal("the AV1 decoder could not be started"));
    }

    // SAFETY: a zeroed Dav1dData is the empty value libdav1d expects.
    let mut data: Dav1dData = unsafe { std::mem::zeroed() };
    // SAFETY: dav1d_data_create allocates `obus.len()` bytes owned by `data`.
    let buffer = unsafe { dav1d_data_create(&mut data, obus.len()) };
    if buffer.is_null() {
        return Err(internal("out of memory for the AV1 data"));
    }
    // SAFETY: `buffer` has room for exactly `obus.len()` bytes.
    unsafe { ptr::copy_nonoverlapping(obus.as_ptr(), buffer, obus.len()) };

    let result = pull_picture(&context, &mut data);
    // SAFETY: releases what libdav1d did not consume (a no-op otherwise).
    unsafe { dav1d_data_unref(&mut data) };
    result
}

fn pull_picture(context: &Context, data: &mut Dav1dData) -> Result<Frame, Error> {
    // SAFETY: zeroed is the empty picture dav1d_get_picture fills.
    let mut picture: Dav1dPicture = unsafe { std::mem::zeroed() };
    for _ in 0..MAX_ROUNDS {
        if data.sz > 0 {
            // SAFETY: context and data are live; libdav1d takes what it can.
            let sent = unsafe { dav1d_send_data(context.0, data) };
            if sent < 0 && sent != DAV1D_ERR_AGAIN {
                return Err(failure(sent));
            }
        }
        // SAFETY: context is live; `picture` is filled only on success.
        let got = unsafe { dav1d_get_picture(context.0, &mut picture) };
        if got == 0 {
            let frame = Frame { picture };
            if frame.width() == 0 || frame.height() == 0 || frame.plane_bytes(0).is_empty() {
                return Err(corrupt("the AV1 frame is empty"));
            }
            return Ok(frame);
        }
        if got != DAV1D_ERR_AGAIN {
            return Err(failure(got));
        }
        if data.sz == 0 {
            break;
        }
    }
    Err(corrupt("the AVIF image item holds no complete AV1 frame"))
}

fn failure(code: i32) -> Error {
    if code == DAV1D_ERR_NOMEM {
        Error::new(
            ErrorKind::TooManyPixels,
            "the AV1 decoder ran out of memory for this image",
        )
    } else {
        corrupt(&format!("the AV1 data could not be decoded (error {code})"))
    }
}
