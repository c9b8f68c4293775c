//! `format=json`: what the transformation would produce, and what the
//! original is, computed from the header alone (nothing is decoded or
//! encoded). The shape is Cloudflare's, with `format` as a MIME type:
//!
//! ```text
//! {"width":400,"height":300,"format":"image/jpeg",
//!  "original":{"width":4032,"height":3024,"format":"image/jpeg","bytes":2480311}}
//! ```
//!
//! Every value is a number or one of the engine's own MIME types, so there
//! is nothing to escape and no JSON library to carry.

use crate::ImageFormat;

/// The sizes of one `format=json` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Description {
    pub width: u32,
    pub height: u32,
    pub format: ImageFormat,
    pub original_width: u32,
    pub original_height: u32,
    pub original_format: ImageFormat,
    pub original_bytes: usize,
}

impl Description {
    pub(crate) fn to_json(self) -> Vec<u8> {
        format!(
            concat!(
                "{{\"width\":{},\"height\":{},\"format\":\"{}\",",
                "\"original\":{{\"width\":{},\"height\":{},\"format\":\"{}\",\"bytes\":{}}}}}\n"
            ),
            self.width,
            self.height,
            self.format.mime(),
            self.original_width,
            self.original_height,
            self.original_format.mime(),
            self.original_bytes,
        )
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_json_with_every_field() {
        let json = Description {
            width: 400,
            height: 300,
            format: ImageFormat::Webp,
            original_width: 4032,
            original_height: 3024,
            original_format: ImageFormat::Jpeg,
            original_bytes: 2_480_311,
        }
        .to_json();
        let value: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
        assert_eq!(value["width"], 400);
        assert_eq!(value["height"], 300);
        assert_eq!(value["format"], "image/webp");
        assert_eq!(value["original"]["width"], 4032);
        assert_eq!(value["original"]["height"], 3024);
        assert_eq!(value["original"]["format"], "image/jpeg");
        assert_eq!(value["original"]["bytes"], 2_480_311);
    }
}
