//! Turning the image: the `rotate` option as one of the orientations the
//! `image` crate applies (180° in place, 90°/270° by copying).

use image::metadata::Orientation;

use crate::{Error, ErrorKind};

/// The orientation for a clockwise rotation. Only the four right angles are
/// valid (`options::parse` produces nothing else; a hand-built
/// [`Transform`](crate::Transform) might).
pub(super) fn rotation(degrees: u16) -> Result<Orientation, Error> {
    match degrees {
        0 => Ok(Orientation::NoTransforms),
        90 => Ok(Orientation::Rotate90),
        180 => Ok(Orientation::Rotate180),
        270 => Ok(Orientation::Rotate270),
        other => Err(Error::new(
            ErrorKind::InvalidOption,
            format!("invalid value \"{other}\" for option \"rotate\": expected 0, 90, 180 or 270"),
        )),
    }
}
