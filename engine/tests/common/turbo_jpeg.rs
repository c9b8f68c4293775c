//! Progressive JPEGs as libjpeg-turbo writes them (`jpeg_simple_progression`,
//! optional restart markers), and their lossless sequential twins
//! (jpegtran without `-progressive`: the same coefficients, one scan).

#![allow(dead_code)]

use image::RgbImage;
use turbojpeg_sys as tj;

type CInt = std::os::raw::c_int;

pub const S420: tj::TJSAMP = tj::TJSAMP_TJSAMP_420;
pub const S422: tj::TJSAMP = tj::TJSAMP_TJSAMP_422;
pub const S440: tj::TJSAMP = tj::TJSAMP_TJSAMP_440;
pub const S444: tj::TJSAMP = tj::TJSAMP_TJSAMP_444;
pub const GREY: tj::TJSAMP = tj::TJSAMP_TJSAMP_GRAY;

struct Handle(tj::tjhandle);

impl Handle {
    fn new(kind: tj::TJINIT) -> Handle {
        // SAFETY: no preconditions; checked for null.
        let handle = unsafe { tj::tj3Init(kind as CInt) };
        assert!(!handle.is_null());
        Handle(handle)
    }

    fn set(&self, param: tj::TJPARAM, value: CInt) {
        // SAFETY: valid handle.
        assert_eq!(unsafe { tj::tj3Set(self.0, param as CInt, value) }, 0);
    }

    /// Copies and frees a buffer libjpeg-turbo allocated.
    fn take(buffer: *mut u8, size: tj::size_t) -> Vec<u8> {
        assert!(!buffer.is_null());
        // SAFETY: libjpeg-turbo filled `size` bytes; freed once.
        unsafe {
            let out = std::slice::from_raw_parts(buffer, size as usize).to_vec();
            tj::tj3Free(buffer.cast());
            out
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: created by tj3Init, destroyed once.
        unsafe { tj::tj3Destroy(self.0) }
    }
}

/// Encodes `image` progressive with libjpeg's default scan script;
/// `restart_blocks` > 0 adds a restart marker every that many MCUs.
pub fn progressive(
    image: &RgbImage,
    subsampling: tj::TJSAMP,
    quality: u8,
    restart_blocks: u16,
) -> Vec<u8> {
    let handle = Handle::new(tj::TJINIT_TJINIT_COMPRESS);
    handle.set(tj::TJPARAM_TJPARAM_QUALITY, CInt::from(quality));
    handle.set(tj::TJPARAM_TJPARAM_SUBSAMP, subsampling as CInt);
    handle.set(tj::TJPARAM_TJPARAM_PROGRESSIVE, 1);
    handle.set(
        tj::TJPARAM_TJPARAM_RESTARTBLOCKS,
        CInt::from(restart_blocks),
    );
    let mut buffer: *mut u8 = std::ptr::null_mut();
    let mut size: tj::size_t = 0;
    // SAFETY: the image holds width × height RGB pixels, rows packed.
    let status = unsafe {
        tj::tj3Compress8(
            handle.0,
            image.as_raw().as_ptr(),
            image.width() as CInt,
            0,
            image.height() as CInt,
            tj::TJPF_TJPF_RGB as CInt,
            &mut buffer,
            &mut size,
        )
    };
    assert_eq!(status, 0);
    Handle::take(buffer, size)
}

/// The same coefficients in one sequential scan.
pub fn sequential_twin(jpeg: &[u8]) -> Vec<u8> {
    lossless(jpeg, 0)
}

/// The same coefficients with libjpeg's default progressive scan script
/// (what `jpegtran -progressive` writes).
pub fn progressive_twin(jpeg: &[u8]) -> Vec<u8> {
    lossless(jpeg, tj::TJXOPT_PROGRESSIVE as CInt)
}

/// A lossless transform that only rewrites the scans.
fn lossless(jpeg: &[u8], options: CInt) -> Vec<u8> {
    let handle = Handle::new(tj::TJINIT_TJINIT_TRANSFORM);
    let transform = tj::tjtransform {
        r: tj::tjregion {
            x: 0,
            y: 0,
            w: 0,
            h: 0,
        },
        op: tj::TJXOP_TJXOP_NONE as CInt,
        options,
        data: std::ptr::null_mut(),
        customFilter: None,
    };
    let mut buffer: *mut u8 = std::ptr::null_mut();
    let mut size: tj::size_t = 0;
    // SAFETY: one transform, one output buffer allocated by the library.
    let status = unsafe {
        tj::tj3Transform(
            handle.0,
            jpeg.as_ptr(),
            jpeg.len() as tj::size_t,
            1,
            &mut buffer,
            &mut size,
            &transform,
        )
    };
    assert_eq!(status, 0);
    Handle::take(buffer, size)
}

/// Whether `jpeg` is progressive (has an SOF2 before its first scan).
pub fn is_progressive(jpeg: &[u8]) -> bool {
    jpeg.windows(2)
        .take_while(|w| w != &[0xFF, 0xDA])
        .any(|w| w == [0xFF, 0xC2])
}
