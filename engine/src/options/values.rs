//! Reading one option's value: integers, decimals, keywords, colours. Each
//! refusal names the option and what it expected.

use super::{
    format_from_name, invalid, quote, Compression, Fit, Flip, Gravity, MetadataMode, OnError, Trim,
    MAX_FACTOR,
};
use crate::{Error, ImageFormat};

/// One `key=value` pair, kept together so every error names both.
pub(super) struct Pair<'a> {
    pub key: &'a str,
    pub value: &'a str,
}

impl Pair<'_> {
    pub fn error(&self, expected: &str) -> Error {
        invalid(format!(
            "invalid value {} for option {}: expected {}",
            quote(self.value),
            quote(self.key),
            expected
        ))
    }

    pub fn keyword(&self) -> String {
        self.value.to_ascii_lowercase()
    }

    /// Plain decimal digits only: `+5`, `1e3`, `0x10` and `5px` are refused
    /// rather than guessed at.
    pub fn integer(&self, min: u32, max: u32) -> Result<u32, Error> {
        let expected = format!("an integer from {min} to {max}");
        if !self.value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error(&expected));
        }
        match self.value.parse::<u64>() {
            Ok(n) if (u64::from(min)..=u64::from(max)).contains(&n) => Ok(n as u32),
            _ => Err(self.error(&expected)),
        }
    }

    /// `2`, `1.5`, `.5`: digits with at most one dot. Exponents, signs,
    /// `inf` and `NaN` (which `f64::from_str` would take) are refused.
    pub fn decimal(&self, min: f64, max: f64) -> Result<f64, Error> {
        let expected = format!("a number from {min} to {max}");
        let digits = self.value.bytes().filter(u8::is_ascii_digit).count();
        let dots = self.value.bytes().filter(|&b| b == b'.').count();
        if digits == 0 || dots > 1 || digits + dots != self.value.len() {
            return Err(self.error(&expected));
        }
        match self.value.parse::<f64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(self.error(&expected)),
        }
    }

    pub fn fit(&self) -> Result<Fit, Error> {
        Ok(match self.keyword().as_str() {
            "scale-down" => Fit::ScaleDown,
            "contain" => Fit::Contain,
            "cover" => Fit::Cover,
            "crop" => Fit::Crop,
            "pad" => Fit::Pad,
            "squeeze" => Fit::Squeeze,
            _ => return Err(self.error("scale-down, contain, cover, crop, pad or squeeze")),
        })
    }

    pub fn gravity(&self) -> Result<Gravity, Error> {
        const EXPECTED: &str = "auto, center, left, right, top, bottom, top-left, top-right, \
             bottom-left, bottom-right or a focal point XxY (fractions 0 to 1, like 0.5x0.3)";
        Ok(match self.keyword().as_str() {
            "auto" => Gravity::Auto,
            "center" | "centre" => Gravity::Center,
            "left" => Gravity::Left,
            "right" => Gravity::Right,
            "top" => Gravity::Top,
            "bottom" => Gravity::Bottom,
            "top-left" | "left-top" => Gravity::TopLeft,
            "top-right" | "right-top" => Gravity::TopRight,
            "bottom-left" | "left-bottom" => Gravity::BottomLeft,
            "bottom-right" | "right-bottom" => Gravity::BottomRight,
            point => {
                let (x, y) = point.split_once('x').ok_or_else(|| self.error(EXPECTED))?;
                let fraction = |value: &str| {
                    Pair {
                        key: self.key,
                        value,
                    }
                    .decimal(0.0, 1.0)
                    .map_err(|_| self.error(EXPECTED))
                };
                Gravity::Focus {
                    x: fraction(x)?,
                    y: fraction(y)?,
                }
            }
        })
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`).
    pub fn boolean(&self) -> Result<bool, Error> {
        match self.keyword().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(self.error("true or false")),
        }
    }

    /// `0` (off), or a number from `min` to `max`.
    pub fn zero_or_decimal(&self, min: f64, max: f64) -> Result<f64, Error> {
        match self.decimal(0.0, max) {
            Ok(n) if n == 0.0 || n >= min => Ok(n),
            _ => Err(self.error(&format!("0 or a number from {min} to {max}"))),
        }
    }

    /// A factor where 1 changes nothing and 0 means "no change" too.
    pub fn factor(&self) -> Result<f64, Error> {
        let n = self.decimal(0.0, MAX_FACTOR)?;
        Ok(if n == 0.0 { 1.0 } else { n })
    }

    /// `top;right;bottom;left` in pixels (CSS order, as Cloudflare), or
    /// `border`. `0;0;0;0` is no trim at all.
    pub fn trim(&self) -> Result<Option<Trim>, Error> {
        const EXPECTED: &str = "border or four pixel counts top;right;bottom;left";
        if self.keyword() == "border" {
            return Ok(Some(Trim::Border));
        }
        let sides: Vec<&str> = self.value.split(';').map(str::trim).collect();
        let [top, right, bottom, left] = sides[..] else {
            return Err(self.error(EXPECTED));
        };
        let side = |value: &str| {
            Pair {
                key: self.key,
                value,
            }
            .integer(0, super::MAX_TRIM)
            .map_err(|_| self.error(EXPECTED))
        };
        let (top, right, bottom, left) = (side(top)?, side(right)?, side(bottom)?, side(left)?);
        if top == 0 && right == 0 && bottom == 0 && left == 0 {
            return Ok(None);
        }
        Ok(Some(Trim::Edges {
            top,
            right,
            bottom,
            left,
        }))
    }

    pub fn flip(&self) -> Result<Flip, Error> {
        let (horizontal, vertical) = match self.keyword().as_str() {
            "h" => (true, false),
            "v" => (false, true),
            "hv" | "vh" => (true, true),
            _ => return Err(self.error("h, v or hv")),
        };
        Ok(Flip {
            horizontal,
            vertical,
        })
    }

    pub fn format(&self) -> Result<ImageFormat, Error> {
        format_from_name(self.value)
            .ok_or_else(|| self.error("auto, jpeg, baseline-jpeg, png, gif, webp, avif or json"))
    }

    /// 1 to 100, or one of Cloudflare's perceptual levels.
    pub fn quality(&self) -> Result<u8, Error> {
        const EXPECTED: &str = "an integer from 1 to 100, high, medium-high, medium-low or low";
        Ok(match self.keyword().as_str() {
            "high" => 90,
            "medium-high" => 80,
            "medium-low" => 65,
            "low" => 50,
            _ => self.integer(1, 100).map_err(|_| self.error(EXPECTED))? as u8,
        })
    }

    pub fn metadata(&self) -> Result<MetadataMode, Error> {
        Ok(match self.keyword().as_str() {
            "keep" => MetadataMode::Keep,
            "copyright" => MetadataMode::Copyright,
            "none" => MetadataMode::Discard,
            _ => return Err(self.error("keep, copyright or none")),
        })
    }

    pub fn compression(&self) -> Result<Compression, Error> {
        match self.keyword().as_str() {
            "fast" => Ok(Compression::Fast),
            _ => Err(self.error("fast")),
        }
    }

    pub fn rotation(&self) -> Result<u16, Error> {
        match self.value {
            "0" => Ok(0),
            "90" => Ok(90),
            "180" => Ok(180),
            "270" => Ok(270),
            _ => Err(self.error("0, 90, 180 or 270")),
        }
    }

    pub fn onerror(&self) -> Result<OnError, Error> {
        Ok(match self.keyword().as_str() {
            "original" => OnError::Original,
            "fail" => OnError::Fail,
            _ => return Err(self.error("original or fail")),
        })
    }

    /// `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa` or `white`, `black`,
    /// `transparent`. `%23` is taken for `#` because nginx's `$arg_*`
    /// variables are not percent-decoded and a bare `#` cannot appear in a
    /// query string.
    pub fn color(&self) -> Result<[u8; 4], Error> {
        const EXPECTED: &str = "#rgb, #rrggbb, #rrggbbaa, white, black or transparent";
        let value = self.keyword();
        match value.as_str() {
            "white" => return Ok([255, 255, 255, 255]),
            "black" => return Ok([0, 0, 0, 255]),
            "transparent" => return Ok([0, 0, 0, 0]),
            _ => {}
        }
        let hex = value
            .strip_prefix('#')
            .or_else(|| value.strip_prefix("%23"))
            .ok_or_else(|| self.error(EXPECTED))?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error(EXPECTED));
        }
        let nibble = |i: usize| u8::from_str_radix(&hex[i..=i], 16).unwrap_or(0);
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
        Ok(match hex.len() {
            3 => [nibble(0) * 17, nibble(1) * 17, nibble(2) * 17, 255],
            4 => [
                nibble(0) * 17,
                nibble(1) * 17,
                nibble(2) * 17,
                nibble(3) * 17,
            ],
            6 => [byte(0), byte(2), byte(4), 255],
            8 => [byte(0), byte(2), byte(4), byte(6)],
            _ => return Err(self.error(EXPECTED)),
        })
    }
}
