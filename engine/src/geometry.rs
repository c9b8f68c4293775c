//! Output geometry for each fit mode.
//!
//! Pure arithmetic, kept apart from pixels so every mode can be tested on
//! numbers alone. A [`Plan`] says which part of the (upright) source is used,
//! what size it is resampled to, and on what canvas it is placed.
//!
//! The rules are Cloudflare's:
//!
//! * no `width` and no `height`: the size is kept;
//! * one side only: the other follows the aspect ratio (rounded, at least
//!   1 px). `scale-down` and `crop` never enlarge; every other mode scales to
//!   the given side, and `cover`, `pad` and `squeeze` behave like `contain`
//!   because with one side there is no box to fill;
//! * both sides:
//!   - `scale-down`: inside the box, aspect kept, never enlarged;
//!   - `contain`: inside the box, aspect kept, may enlarge;
//!   - `cover`: exactly the box; scaled until the box is covered, the excess
//!     cut away on the side away from `gravity`;
//!   - `crop`: a source that fits inside the box is left alone (like
//!     `scale-down`). Otherwise the scale factor is
//!     `min(1, max(w / W, h / H))` — cover's factor, capped so nothing is
//!     enlarged — and the output is `min(w, W·s) × min(h, H·s)`, cut from the
//!     scaled image by `gravity`. When the factor is below 1 this is exactly
//!     `cover`; when it is capped the image is only cut, never resampled;
//!   - `pad`: `contain`, then centred on a `w × h` canvas;
//!   - `squeeze`: exactly the box, aspect ignored.

use crate::{Fit, Gravity};

/// A region of the source, in source pixels. Cover crops may start and end
/// between pixels; the resampler handles fractional boxes, and rounding them
/// would distort the aspect ratio slightly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// What to do with a source of a given size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// The part of the source that is kept.
    pub crop: Rect,
    /// The size `crop` is resampled to.
    pub resized: (u32, u32),
    /// The size of the output; larger than `resized` only for `fit=pad`.
    pub canvas: (u32, u32),
    /// Where the resized image's top-left corner sits on the canvas.
    pub offset: (u32, u32),
}

impl Plan {
    /// The whole source at its own size.
    fn keep(src_w: u32, src_h: u32) -> Plan {
        Plan::scale(src_w, src_h, (src_w, src_h))
    }

    /// The whole source resampled to `size`.
    fn scale(src_w: u32, src_h: u32, size: (u32, u32)) -> Plan {
        Plan {
            crop: Rect {
                x: 0.0,
                y: 0.0,
                width: f64::from(src_w),
                height: f64::from(src_h),
            },
            resized: size,
            canvas: size,
            offset: (0, 0),
        }
    }

    /// Whether pixels have to be resampled or cut; false when the source is
    /// used as it is.
    pub fn needs_resize(&self, src_w: u32, src_h: u32) -> bool {
        self.crop != Plan::keep(src_w, src_h).crop || self.resized != (src_w, src_h)
    }

    /// Whether the resized image is placed on a larger canvas.
    pub fn is_padded(&self) -> bool {
        self.canvas != self.resized
    }

    /// How many times smaller than the kept part of the source the resized
    /// image is, in the direction that shrinks least (1 when nothing
    /// shrinks). A decoder may shrink by up to this much while decoding.
    pub fn reduction(&self) -> f64 {
        let x = self.crop.width / f64::from(self.resized.0.max(1));
        let y = self.crop.height / f64::from(self.resized.1.max(1));
        x.min(y).max(1.0)
    }

    /// The same plan for a source that was shrunk `reduction` times while
    /// decoding (JPEG's DCT scaling) to `decoded` pixels: the kept part is
    /// scaled with the source, the output stays as planned. Decoders round
    /// the shrunk size up (1601 / 8 gives 201 pixels, the last one made of a
    /// single source column), so the exact factor is used rather than the
    /// ratio of the sizes, which would stretch the image by up to a pixel.
    pub fn shrunk_by(&self, reduction: u32, decoded: (u32, u32)) -> Plan {
        if reduction <= 1 {
            return *self;
        }
        let scale = 1.0 / f64::from(reduction);
        let crop = self.crop;
        Plan {
            crop: Rect {
                x: crop.x * scale,
                y: crop.y * scale,
                width: (crop.width * scale).min(f64::from(decoded.0)),
                height: (crop.height * scale).min(f64::from(decoded.1)),
            },
            ..*self
        }
    }
}

/// Works out the plan for a `src_w × src_h` source. A requested side of 0
/// counts as not given; so does a source without pixels, which is left as
/// it is for the caller to refuse.
pub fn plan(
    src_w: u32,
    src_h: u32,
    width: Option<u32>,
    height: Option<u32>,
    fit: Fit,
    gravity: Gravity,
) -> Plan {
    if src_w == 0 || src_h == 0 {
        return Plan::keep(src_w, src_h);
    }
    let never_enlarge = matches!(fit, Fit::ScaleDown | Fit::Crop);
    match (width.filter(|&w| w > 0), height.filter(|&h| h > 0)) {
        (None, None) => Plan::keep(src_w, src_h),
        (Some(w), None) => {
            if never_enlarge && w >= src_w {
                Plan::keep(src_w, src_h)
            } else {
                Plan::scale(src_w, src_h, (w, ratio(src_h, w, src_w)))
            }
        }
        (None, Some(h)) => {
            if never_enlarge && h >= src_h {
                Plan::keep(src_w, src_h)
            } else {
                Plan::scale(src_w, src_h, (ratio(src_w, h, src_h), h))
            }
        }
        (Some(w), Some(h)) => {
            let fits = src_w <= w && src_h <= h;
            match fit {
                Fit::ScaleDown if fits => Plan::keep(src_w, src_h),
                Fit::ScaleDown | Fit::Contain => {
                    Plan::scale(src_w, src_h, inside(src_w, src_h, w, h))
                }
                Fit::Squeeze => Plan::scale(src_w, src_h, (w, h)),
                Fit::Pad => {
                    let resized = inside(src_w, src_h, w, h);
                    Plan {
                        canvas: (w, h),
                        offset: ((w - resized.0) / 2, (h - resized.1) / 2),
                        ..Plan::scale(src_w, src_h, resized)
                    }
                }
                Fit::Cover => cover(src_w, src_h, w, h, gravity),
                Fit::Crop if fits => Plan::keep(src_w, src_h),
                Fit::Crop => {
                    // Cover's factor is max(w / W, h / H); it is at least 1
                    // exactly when one side of the box is at least as long as
                    // the source's, and then the image is only cut.
                    if u64::from(w) >= u64::from(src_w) || u64::from(h) >= u64::from(src_h) {
                        let size = (w.min(src_w), h.min(src_h));
                        let crop =
                            place(src_w, src_h, f64::from(size.0), f64::from(size.1), gravity);
                        Plan {
                            crop,
                            resized: size,
                            canvas: size,
                            offset: (0, 0),
                        }
                    } else {
                        cover(src_w, src_h, w, h, gravity)
                    }
                }
            }
        }
    }
}

/// Exactly `w × h`: the largest box of that aspect ratio inside the source,
/// placed by gravity, resampled to the output size.
fn cover(src_w: u32, src_h: u32, w: u32, h: u32, gravity: Gravity) -> Plan {
    let (sw, sh, w64, h64) = (
        u64::from(src_w),
        u64::from(src_h),
        u64::from(w),
        u64::from(h),
    );
    // The box is relatively wider than the source (w/h >= W/H): the full
    // source width is kept and rows are cut; otherwise columns are cut.
    let (crop_w, crop_h) = if w64 * sh >= h64 * sw {
        (
            f64::from(src_w),
            f64::from(h) * f64::from(src_w) / f64::from(w),
        )
    } else {
        (
            f64::from(w) * f64::from(src_h) / f64::from(h),
            f64::from(src_h),
        )
    };
    Plan {
        crop: place(src_w, src_h, crop_w, crop_h, gravity),
        resized: (w, h),
        canvas: (w, h),
        offset: (0, 0),
    }
}

/// The point a gravity keeps in view, as fractions of the width and height.
/// `auto` is resolved from the pixels by the pipeline before placing; on
/// its own it means the centre.
pub fn focal_point(gravity: Gravity) -> (f64, f64) {
    match gravity {
        Gravity::Center | Gravity::Auto => (0.5, 0.5),
        Gravity::Left => (0.0, 0.5),
        Gravity::Right => (1.0, 0.5),
        Gravity::Top => (0.5, 0.0),
        Gravity::Bottom => (0.5, 1.0),
        Gravity::TopLeft => (0.0, 0.0),
        Gravity::TopRight => (1.0, 0.0),
        Gravity::BottomLeft => (0.0, 1.0),
        Gravity::BottomRight => (1.0, 1.0),
        Gravity::Focus { x, y } => (x, y),
    }
}

/// Positions a `crop_w × crop_h` box inside the source by gravity: centred
/// on the focal point, pushed back inside the image where it would stick
/// out (so `left` puts it against the left edge, `center` in the middle).
/// A box of whole pixels gets a whole-pixel position so that a pure cut
/// stays a copy instead of a half-pixel resample.
fn place(src_w: u32, src_h: u32, crop_w: f64, crop_h: f64, gravity: Gravity) -> Rect {
    let (fx, fy) = focal_point(gravity);
    let position = |full: f64, focus: f64, size: f64| {
        let free = (full - size).max(0.0);
        let at = (focus * full - size / 2.0).clamp(0.0, free);
        if size.fract() == 0.0 {
            at.floor()
        } else {
            at
        }
    };
    Rect {
        x: position(f64::from(src_w), fx, crop_w),
        y: position(f64::from(src_h), fy, crop_h),
        width: crop_w,
        height: crop_h,
    }
}

impl Plan {
    /// The same plan with the kept box moved to be centred on `gravity`
    /// inside a `src_w × src_h` source (same size, same output). Used once
    /// the pixels have said where `gravity=auto` looks.
    pub fn placed(&self, src_w: u32, src_h: u32, gravity: Gravity) -> Plan {
        Plan {
            crop: place(src_w, src_h, self.crop.width, self.crop.height, gravity),
            ..*self
        }
    }

    /// The same plan for a source that starts `(x, y)` pixels into a larger
    /// image (what `trim` leaves): the kept box moves with it.
    pub fn offset_by(&self, x: f64, y: f64) -> Plan {
        let mut plan = *self;
        plan.crop.x += x;
        plan.crop.y += y;
        plan
    }
}

/// The largest size with the source's aspect ratio inside `w × h`.
fn inside(src_w: u32, src_h: u32, w: u32, h: u32) -> (u32, u32) {
    if u64::from(w) * u64::from(src_h) <= u64::from(h) * u64::from(src_w) {
        (w, ratio(src_h, w, src_w))
    } else {
        (ratio(src_w, h, src_h), h)
    }
}

/// `side × num / den`, rounded to the nearest pixel, at least 1 and at most
/// `u32::MAX` (the caller checks the result against the limits).
fn ratio(side: u32, num: u32, den: u32) -> u32 {
    let den = u64::from(den.max(1));
    let value = (u64::from(side) * u64::from(num) * 2 + den) / (2 * den);
    value.clamp(1, u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_FITS: [Fit; 6] = [
        Fit::ScaleDown,
        Fit::Contain,
        Fit::Cover,
        Fit::Crop,
        Fit::Pad,
        Fit::Squeeze,
    ];

    fn p(src: (u32, u32), w: Option<u32>, h: Option<u32>, fit: Fit) -> Plan {
        plan(src.0, src.1, w, h, fit, Gravity::Center)
    }

    fn full(src: (u32, u32)) -> Rect {
        Rect {
            x: 0.0,
            y: 0.0,
            width: f64::from(src.0),
            height: f64::from(src.1),
        }
    }

    fn assert_scaled(plan: Plan, src: (u32, u32), size: (u32, u32)) {
        assert_eq!(plan.crop, full(src), "{plan:?}");
        assert_eq!(plan.resized, size, "{plan:?}");
        assert_eq!(plan.canvas, size, "{plan:?}");
        assert_eq!(plan.offset, (0, 0), "{plan:?}");
    }

    #[test]
    fn reduction_is_the_smaller_shrink_of_the_two_sides() {
        assert_eq!(
            p((4224, 3168), Some(400), None, Fit::ScaleDown).reduction(),
            10.56
        );
        // Squeezed: the side that shrinks least decides.
        let squeezed = p((1000, 1000), Some(100), Some(500), Fit::Squeeze);
        assert_eq!(squeezed.reduction(), 2.0);
        // Enlarging and keeping are no reduction.
        assert_eq!(
            p((100, 100), Some(400), None, Fit::Contain).reduction(),
            1.0
        );
        assert_eq!(p((100, 100), None, None, Fit::Contain).reduction(), 1.0);
        // Cover: the crop, not the whole source, is what shrinks.
        let cover = p((2000, 1000), Some(100), Some(100), Fit::Cover);
        assert_eq!(cover.reduction(), 10.0);
    }

    #[test]
    fn a_plan_follows_a_source_shrunk_while_decoding() {
        let plan = plan(4000, 2000, Some(300), Some(300), Fit::Cover, Gravity::Left);
        assert_eq!(plan.shrunk_by(1, (4000, 2000)), plan);
        let shrunk = plan.shrunk_by(8, (500, 250));
        assert_eq!(shrunk.resized, (300, 300));
        assert_eq!(shrunk.canvas, (300, 300));
        assert_eq!(
            shrunk.crop,
            Rect {
                x: 0.0,
                y: 0.0,
                width: 250.0,
                height: 250.0
            }
        );
        // A size rounded up by the decoder: the exact factor is kept.
        let odd = p((1601, 1067), Some(100), None, Fit::ScaleDown);
        let shrunk = odd.shrunk_by(8, (201, 134));
        assert_eq!(shrunk.crop.width, 200.125);
        assert_eq!(shrunk.crop.height, 133.375);
    }

    #[test]
    fn no_size_keeps_the_source_whatever_the_fit() {
        for fit in ALL_FITS {
            let plan = p((640, 480), None, None, fit);
            assert_scaled(plan, (640, 480), (640, 480));
            assert!(!plan.needs_resize(640, 480));
            assert!(!plan.is_padded());
        }
    }

    #[test]
    fn one_side_follows_the_aspect_ratio() {
        for fit in ALL_FITS {
            assert_scaled(
                p((1000, 500), Some(300), None, fit),
                (1000, 500),
                (300, 150),
            );
            assert_scaled(
                p((1000, 500), None, Some(100), fit),
                (1000, 500),
                (200, 100),
            );
            // Rounded to the nearest pixel, never to zero: 3 × 333 / 1000 = 0.999.
            assert_scaled(p((3, 1000), None, Some(333), fit), (3, 1000), (1, 333));
            assert_scaled(p((1000, 3), Some(500), None, fit), (1000, 3), (500, 2));
            // Never below one pixel.
            assert_scaled(p((1000, 1), Some(10), None, fit), (1000, 1), (10, 1));
        }
    }

    #[test]
    fn one_side_never_enlarges_for_scale_down_and_crop() {
        for fit in [Fit::ScaleDown, Fit::Crop] {
            let plan = p((200, 100), Some(400), None, fit);
            assert_scaled(plan, (200, 100), (200, 100));
            assert!(!plan.needs_resize(200, 100));
            assert_scaled(p((200, 100), None, Some(100), fit), (200, 100), (200, 100));
        }
    }

    #[test]
    fn one_side_enlarges_for_the_other_fits() {
        for fit in [Fit::Contain, Fit::Cover, Fit::Pad, Fit::Squeeze] {
            let plan = p((200, 100), Some(400), None, fit);
            assert_scaled(plan, (200, 100), (400, 200));
            assert!(plan.needs_resize(200, 100));
            assert!(!plan.is_padded());
            assert_scaled(p((200, 100), None, Some(300), fit), (200, 100), (600, 300));
        }
    }

    #[test]
    fn scale_down_fits_inside_and_never_enlarges() {
        assert_scaled(
            p((1000, 500), Some(400), Some(400), Fit::ScaleDown),
            (1000, 500),
            (400, 200),
        );
        assert_scaled(
            p((500, 1000), Some(400), Some(400), Fit::ScaleDown),
            (500, 1000),
            (200, 400),
        );
        // Only one side too long: still scaled down to fit.
        assert_scaled(
            p((1000, 100), Some(500), Some(500), Fit::ScaleDown),
            (1000, 100),
            (500, 50),
        );
        // Smaller than the box: unchanged.
        let plan = p((100, 50), Some(400), Some(400), Fit::ScaleDown);
        assert_scaled(plan, (100, 50), (100, 50));
        assert!(!plan.needs_resize(100, 50));
    }

    #[test]
    fn contain_fits_inside_and_may_enlarge() {
        assert_scaled(
            p((1000, 500), Some(400), Some(400), Fit::Contain),
            (1000, 500),
            (400, 200),
        );
        assert_scaled(
            p((100, 50), Some(400), Some(400), Fit::Contain),
            (100, 50),
            (400, 200),
        );
        assert_scaled(
            p((50, 100), Some(400), Some(400), Fit::Contain),
            (50, 100),
            (200, 400),
        );
        // Same aspect ratio: exactly the box.
        assert_scaled(
            p((300, 200), Some(600), Some(400), Fit::Contain),
            (300, 200),
            (600, 400),
        );
    }

    #[test]
    fn squeeze_ignores_the_aspect_ratio() {
        assert_scaled(
            p((1000, 500), Some(100), Some(100), Fit::Squeeze),
            (1000, 500),
            (100, 100),
        );
        assert_scaled(
            p((10, 20), Some(300), Some(50), Fit::Squeeze),
            (10, 20),
            (300, 50),
        );
    }

    #[test]
    fn pad_contains_then_centres_on_the_box() {
        let plan = p((1000, 500), Some(400), Some(400), Fit::Pad);
        assert_eq!(plan.crop, full((1000, 500)));
        assert_eq!(plan.resized, (400, 200));
        assert_eq!(plan.canvas, (400, 400));
        assert_eq!(plan.offset, (0, 100));
        assert!(plan.is_padded());

        // Enlarges like contain.
        let plan = p((50, 100), Some(400), Some(300), Fit::Pad);
        assert_eq!(plan.resized, (150, 300));
        assert_eq!(plan.canvas, (400, 300));
        assert_eq!(plan.offset, (125, 0));

        // Odd leftovers put the extra pixel after the image.
        let plan = p((100, 100), Some(101), Some(50), Fit::Pad);
        assert_eq!(plan.resized, (50, 50));
        assert_eq!(plan.offset, (25, 0));

        // Same aspect ratio: nothing to pad.
        let plan = p((200, 100), Some(400), Some(200), Fit::Pad);
        assert!(!plan.is_padded());
    }

    #[test]
    fn cover_fills_the_box_and_cuts_by_gravity() {
        // Wide source into a square: columns are cut.
        let src = (1000, 500);
        for (gravity, x) in [
            (Gravity::Center, 250.0),
            (Gravity::Left, 0.0),
            (Gravity::Right, 500.0),
            (Gravity::Top, 250.0),
            (Gravity::Bottom, 250.0),
        ] {
            let plan = plan(src.0, src.1, Some(200), Some(200), Fit::Cover, gravity);
            assert_eq!(plan.resized, (200, 200));
            assert_eq!(plan.canvas, (200, 200));
            assert_eq!(
                plan.crop,
                Rect {
                    x,
                    y: 0.0,
                    width: 500.0,
                    height: 500.0
                },
                "{gravity:?}"
            );
        }
        // Tall source into a wide box: rows are cut.
        let src = (400, 1000);
        for (gravity, y) in [
            (Gravity::Center, 400.0),
            (Gravity::Top, 0.0),
            (Gravity::Bottom, 800.0),
            (Gravity::Left, 400.0),
            (Gravity::Right, 400.0),
        ] {
            let plan = plan(src.0, src.1, Some(200), Some(100), Fit::Cover, gravity);
            assert_eq!(plan.resized, (200, 100));
            assert_eq!(
                plan.crop,
                Rect {
                    x: 0.0,
                    y,
                    width: 400.0,
                    height: 200.0
                },
                "{gravity:?}"
            );
        }
    }

    #[test]
    fn cover_may_enlarge_and_keeps_fractional_boxes() {
        let plan = p((100, 50), Some(300), Some(300), Fit::Cover);
        assert_eq!(plan.resized, (300, 300));
        assert_eq!(
            plan.crop,
            Rect {
                x: 25.0,
                y: 0.0,
                width: 50.0,
                height: 50.0
            }
        );

        // 1000 × 3/7 is not a whole number of rows: the box stays exact.
        let plan = p((1000, 1000), Some(700), Some(300), Fit::Cover);
        assert_eq!(plan.resized, (700, 300));
        let crop = plan.crop;
        assert_eq!((crop.x, crop.width), (0.0, 1000.0));
        assert!((crop.height - 3000.0 / 7.0).abs() < 1e-9, "{crop:?}");
        assert!(
            (crop.y - (1000.0 - 3000.0 / 7.0) / 2.0).abs() < 1e-9,
            "{crop:?}"
        );
        assert!(crop.y + crop.height <= 1000.0);
    }

    #[test]
    fn crop_leaves_small_sources_alone() {
        let plan = p((100, 50), Some(400), Some(400), Fit::Crop);
        assert_scaled(plan, (100, 50), (100, 50));
        assert!(!plan.needs_resize(100, 50));
    }

    #[test]
    fn crop_of_a_larger_source_is_cover() {
        for gravity in [Gravity::Center, Gravity::Left, Gravity::Bottom] {
            assert_eq!(
                plan(1000, 500, Some(200), Some(200), Fit::Crop, gravity),
                plan(1000, 500, Some(200), Some(200), Fit::Cover, gravity)
            );
        }
    }

    #[test]
    fn crop_only_cuts_when_cover_would_enlarge() {
        // 1000 × 500 into 300 × 800: cover's factor would be 1.6, so nothing
        // is scaled and a 300 × 500 piece is cut out.
        for (gravity, x) in [
            (Gravity::Center, 350.0),
            (Gravity::Left, 0.0),
            (Gravity::Right, 700.0),
        ] {
            let plan = plan(1000, 500, Some(300), Some(800), Fit::Crop, gravity);
            assert_eq!(plan.resized, (300, 500));
            assert_eq!(plan.canvas, (300, 500));
            assert_eq!(
                plan.crop,
                Rect {
                    x,
                    y: 0.0,
                    width: 300.0,
                    height: 500.0
                },
                "{gravity:?}"
            );
            assert!(plan.needs_resize(1000, 500));
        }
        // Odd leftover: whole-pixel position, rounded down.
        let plan = plan(101, 10, Some(50), Some(20), Fit::Crop, Gravity::Center);
        assert_eq!(
            plan.crop,
            Rect {
                x: 25.0,
                y: 0.0,
                width: 50.0,
                height: 10.0
            }
        );
        // Tall piece by gravity.
        let plan = super::plan(500, 1000, Some(800), Some(300), Fit::Crop, Gravity::Bottom);
        assert_eq!(plan.resized, (500, 300));
        assert_eq!(
            plan.crop,
            Rect {
                x: 0.0,
                y: 700.0,
                width: 500.0,
                height: 300.0
            }
        );
    }

    #[test]
    fn huge_enlargements_saturate_instead_of_overflowing() {
        let plan = p((1, 100_000), Some(12_000), None, Fit::Contain);
        assert_eq!(plan.resized, (12_000, 1_200_000_000));
        let plan = p((1, u32::MAX), Some(12_000), None, Fit::Contain);
        assert_eq!(plan.resized, (12_000, u32::MAX));
    }

    #[test]
    fn zero_sizes_are_not_divided_by() {
        assert_eq!(p((0, 10), Some(5), Some(5), Fit::Cover).resized, (0, 10));
        assert_scaled(
            p((10, 10), Some(0), Some(0), Fit::Cover),
            (10, 10),
            (10, 10),
        );
    }
}
