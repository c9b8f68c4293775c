//! An ICC profile for colour described by ITU-T H.273 code points (the
//! `nclx` `colr` of AVIF and HEIC), so such images go through the same
//! colour management as an embedded profile (`crate::colour`). Code
//! points that already mean sRGB — and the unspecified ones, which readers
//! take as sRGB — give no profile, so the common case costs nothing.

use moxcms::{
    CicpColorPrimaries, CicpProfile, ColorPrimaries, ColorProfile, MatrixCoefficients,
    ToneReprCurve, TransferCharacteristics,
};

/// H.273 primaries that are sRGB's: BT.709 (1) and unspecified (2).
const SRGB_PRIMARIES: [u16; 2] = [1, 2];

/// H.273 transfer functions shown as sRGB: BT.709 (1), unspecified (2),
/// BT.601 (6), sRGB (13) and BT.2020's 10- and 12-bit curves (14, 15),
/// which browsers and libavif display with the sRGB curve.
const SRGB_TRANSFERS: [u16; 6] = [1, 2, 6, 13, 14, 15];

/// SMPTE ST 2084 (16) and HLG (18): high dynamic range, left alone.
const PQ_AND_HLG: [u16; 2] = [16, 18];

/// `colr` of type `nclx`: ITU-T H.273 code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cicp {
    pub primaries: u16,
    pub transfer: u16,
    pub matrix: u16,
    pub full_range: bool,
}

/// The profile `cicp` describes, encoded as ICC, or `None` when it is sRGB
/// or names primaries or a transfer function that has no profile (PQ and
/// HLG need tone mapping, which is not done: the pixels are left as they
/// are).
pub(super) fn icc_for(cicp: &Cicp) -> Option<Vec<u8>> {
    if SRGB_PRIMARIES.contains(&cicp.primaries) && SRGB_TRANSFERS.contains(&cicp.transfer) {
        return None;
    }
    // Unspecified parts are taken as sRGB's.
    let primaries = if cicp.primaries == 2 {
        1
    } else {
        cicp.primaries
    };
    let transfer = if SRGB_TRANSFERS.contains(&cicp.transfer) {
        13
    } else {
        cicp.transfer
    };
    let color_primaries = CicpColorPrimaries::try_from(u8::try_from(primaries).ok()?).ok()?;
    let transfer_characteristics =
        TransferCharacteristics::try_from(u8::try_from(transfer).ok()?).ok()?;
    if PQ_AND_HLG.contains(&transfer)
        || ColorPrimaries::try_from(color_primaries).is_err()
        || ToneReprCurve::try_from(transfer_characteristics).is_err()
    {
        return None;
    }
    let profile = ColorProfile::new_from_cicp(CicpProfile {
        color_primaries,
        transfer_characteristics,
        // The pixels handed over are RGB already.
        matrix_coefficients: MatrixCoefficients::Identity,
        full_range: true,
    });
    profile.encode().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cicp(primaries: u16, transfer: u16) -> Cicp {
        Cicp {
            primaries,
            transfer,
            matrix: 6,
            full_range: true,
        }
    }

    #[test]
    fn srgb_and_unspecified_need_no_profile() {
        for (primaries, transfer) in [(1, 13), (2, 2), (1, 1), (2, 6)] {
            assert_eq!(icc_for(&cicp(primaries, transfer)), None);
        }
    }

    #[test]
    fn display_p3_and_bt2020_get_a_profile() {
        for (primaries, transfer) in [(12, 13), (9, 14), (1, 8)] {
            let icc = icc_for(&cicp(primaries, transfer)).expect("a profile");
            assert!(
                ColorProfile::new_from_slice(&icc).is_ok(),
                "{primaries}/{transfer}"
            );
        }
    }

    #[test]
    fn reserved_code_points_get_none() {
        assert_eq!(icc_for(&cicp(3, 13)), None);
        assert_eq!(icc_for(&cicp(1, 3)), None);
        assert_eq!(icc_for(&cicp(9, 16)), None);
    }
}
