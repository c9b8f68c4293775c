//! Colour management with `moxcms`: pixels described by an embedded ICC
//! profile are converted to sRGB next to the resize, on whichever side of
//! it has fewer pixels (see `pipeline::render`), so every output is sRGB
//! and needs no profile of its own (browsers take untagged images as
//! sRGB).
//!
//! Converting (rather than carrying the profile to the output) is what
//! Cloudflare and imgproxy do by default: every output format shows the
//! same colours whether or not it can hold a profile, and `metadata=none`
//! cannot change colours.
//!
//! Images without a profile pay nothing. A profile that turns out to be
//! sRGB (most cameras and phones tag sRGB photos) is recognised by a small
//! probe of the transform and skipped. Both the probe's verdict and the
//! transforms are built once per distinct profile and kept
//! ([`ProfileCache`]). A damaged profile is not worth
//! failing a request over: the pixels are then taken as sRGB.

use std::sync::{Arc, OnceLock};

use image::{DynamicImage, ImageBuffer, RgbImage};
use moxcms::{
    ColorProfile, DataColorSpace, Layout, Transform16BitExecutor, Transform8BitExecutor,
    TransformExecutor, TransformOptions,
};

use crate::profile_cache::ProfileCache;

/// Points per channel of the probe that recognises sRGB-equivalent
/// profiles: 9³ = 729 colours cover the cube's corners, edges and inside.
const PROBE_STEPS: u32 = 9;

/// Largest difference (in 8-bit steps) a probe colour may show for the
/// profile to count as sRGB: rounding, nothing visible.
const PROBE_TOLERANCE: u8 = 1;

/// Distinct embedded profiles whose transforms are kept (per worker).
const CACHED_PROFILES: usize = 16;

/// What conversion needs of one embedded RGB profile, built once per
/// distinct profile: whether it is sRGB after all, and each layout's
/// transform when first asked for.
struct Prepared {
    profile: ColorProfile,
    srgb_like: bool,
    rgb8: OnceLock<Option<Arc<Transform8BitExecutor>>>,
    rgba8: OnceLock<Option<Arc<Transform8BitExecutor>>>,
    rgb16: OnceLock<Option<Arc<Transform16BitExecutor>>>,
    rgba16: OnceLock<Option<Arc<Transform16BitExecutor>>>,
}

/// `None` for bytes that are not an RGB profile.
static RGB_PROFILES: ProfileCache<Option<Prepared>> = ProfileCache::new(CACHED_PROFILES);

/// CMYK profiles' transforms to sRGB (`None`: not a usable CMYK profile).
static CMYK_PROFILES: ProfileCache<Option<Arc<Transform8BitExecutor>>> =
    ProfileCache::new(CACHED_PROFILES);

impl Prepared {
    fn new(icc: &[u8]) -> Option<Prepared> {
        let profile = rgb_profile(icc)?;
        let srgb_like = is_srgb_like(&profile, &ColorProfile::new_srgb());
        Some(Prepared {
            profile,
            srgb_like,
            rgb8: OnceLock::new(),
            rgba8: OnceLock::new(),
            rgb16: OnceLock::new(),
            rgba16: OnceLock::new(),
        })
    }

    fn build8(&self, layout: Layout) -> Option<Arc<Transform8BitExecutor>> {
        let srgb = ColorProfile::new_srgb();
        let options = TransformOptions::default();
        self.profile
            .create_transform_8bit(layout, &srgb, layout, options)
            .ok()
    }

    fn build16(&self, layout: Layout) -> Option<Arc<Transform16BitExecutor>> {
        let srgb = ColorProfile::new_srgb();
        let options = TransformOptions::default();
        self.profile
            .create_transform_16bit(layout, &srgb, layout, options)
            .ok()
    }
}

/// Converts an RGB(A) image tagged with `icc` to sRGB. 8- and 16-bit
/// images keep their depth (16-bit PNGs keep their precision into the
/// resampler); grey images, profiles of another colour space and broken
/// profiles leave the pixels as they are.
pub(crate) fn to_srgb(image: DynamicImage, icc: Option<&[u8]>) -> DynamicImage {
    let Some(icc) = icc else {
        return image;
    };
    let entry = RGB_PROFILES.get_or_build(icc, || Prepared::new(icc));
    let Some(prepared) = entry.as_ref().as_ref().filter(|p| !p.srgb_like) else {
        return image;
    };
    match image {
        DynamicImage::ImageRgb8(mut rgb) => {
            let transform = prepared.rgb8.get_or_init(|| prepared.build8(Layout::Rgb));
            if let Some(transform) = transform {
                in_place(&**transform, &mut rgb);
            }
            DynamicImage::ImageRgb8(rgb)
        }
        DynamicImage::ImageRgba8(mut rgba) => {
            let transform = prepared.rgba8.get_or_init(|| prepared.build8(Layout::Rgba));
            if let Some(transform) = transform {
                in_place(&**transform, &mut rgba);
            }
            DynamicImage::ImageRgba8(rgba)
        }
        DynamicImage::ImageRgb16(mut rgb) => {
            let transform = prepared.rgb16.get_or_init(|| prepared.build16(Layout::Rgb));
            if let Some(transform) = transform {
                in_place(&**transform, &mut rgb);
            }
            DynamicImage::ImageRgb16(rgb)
        }
        DynamicImage::ImageRgba16(mut rgba) => {
            let transform = prepared
                .rgba16
                .get_or_init(|| prepared.build16(Layout::Rgba));
            if let Some(transform) = transform {
                in_place(&**transform, &mut rgba);
            }
            DynamicImage::ImageRgba16(rgba)
        }
        other => other,
    }
}

/// Converts decoded CMYK (4 bytes a pixel, 0 = no ink unless `inverted`)
/// to sRGB. With an embedded CMYK profile the conversion is the profile's;
/// without one there is no right answer, and the result is what browsers
/// show for an untagged CMYK JPEG: each ink subtracts its share of light
/// (`R = (1 − C)(1 − K)`).
///
/// `inverted` is the Adobe convention (Photoshop writes CMYK JPEGs with
/// 255 = no ink and marks them with an `Adobe` APP14 segment).
pub(crate) fn cmyk_to_srgb(
    mut cmyk: Vec<u8>,
    width: u32,
    height: u32,
    icc: Option<&[u8]>,
    inverted: bool,
) -> Option<RgbImage> {
    if inverted {
        cmyk.iter_mut().for_each(|value| *value = 255 - *value);
    }
    let mut rgb = vec![0u8; cmyk.len() / 4 * 3];
    let transform = icc.map(|icc| CMYK_PROFILES.get_or_build(icc, || cmyk_transform(icc)));
    let converted = transform
        .as_deref()
        .and_then(Option::as_ref)
        .is_some_and(|transform| transform.transform(&cmyk, &mut rgb).is_ok());
    if !converted {
        for (ink, out) in cmyk.chunks_exact(4).zip(rgb.chunks_exact_mut(3)) {
            let white = 255 - u32::from(ink[3]);
            for channel in 0..3 {
                out[channel] = ((255 - u32::from(ink[channel])) * white / 255) as u8;
            }
        }
    }
    ImageBuffer::from_raw(width, height, rgb)
}

/// The transform of a CMYK profile to sRGB, or `None`.
fn cmyk_transform(icc: &[u8]) -> Option<Arc<Transform8BitExecutor>> {
    let profile = ColorProfile::new_from_slice(icc)
        .ok()
        .filter(|profile| profile.color_space == DataColorSpace::Cmyk)?;
    profile
        .create_transform_8bit(
            Layout::Rgba,
            &ColorProfile::new_srgb(),
            Layout::Rgb,
            TransformOptions::default(),
        )
        .ok()
}

/// An RGB profile that parses, or `None`.
fn rgb_profile(icc: &[u8]) -> Option<ColorProfile> {
    ColorProfile::new_from_slice(icc)
        .ok()
        .filter(|profile| profile.color_space == DataColorSpace::Rgb)
}

/// Whether the profile maps every probe colour to itself in sRGB (within
/// rounding): such images are left alone.
fn is_srgb_like(profile: &ColorProfile, srgb: &ColorProfile) -> bool {
    let Ok(transform) =
        profile.create_transform_8bit(Layout::Rgb, srgb, Layout::Rgb, TransformOptions::default())
    else {
        // A transform that cannot be built cannot be applied either.
        return true;
    };
    let step = 255 / (PROBE_STEPS - 1);
    let probe: Vec<u8> = (0..PROBE_STEPS.pow(3))
        .flat_map(|i| {
            let level = |n: u32| ((n % PROBE_STEPS) * step).min(255) as u8;
            [
                level(i),
                level(i / PROBE_STEPS),
                level(i / PROBE_STEPS / PROBE_STEPS),
            ]
        })
        .collect();
    let mut out = vec![0u8; probe.len()];
    if transform.transform(&probe, &mut out).is_err() {
        return true;
    }
    probe
        .iter()
        .zip(&out)
        .all(|(a, b)| a.abs_diff(*b) <= PROBE_TOLERANCE)
}

/// Runs a transform over an image buffer, through a copy of the source
/// (moxcms transforms from one slice into another).
fn in_place<P, T>(
    transform: &(dyn TransformExecutor<T> + Send + Sync),
    image: &mut ImageBuffer<P, Vec<T>>,
) where
    P: image::Pixel<Subpixel = T>,
    T: Copy + Default,
{
    let source: Vec<T> = image.as_raw().clone();
    // A failure leaves the pixels unconverted (they are still an image).
    let _ = transform.transform(&source, image);
}
