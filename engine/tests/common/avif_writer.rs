//! AVIFs made with ravif (the encoder the engine writes AVIF with), at 8
//! or 10 bits, for the tests that read AVIF originals.

use ravif::{BitDepth, Encoder, Img, RGB8, RGBA8};

fn encoder(depth: BitDepth) -> Encoder<'static> {
    Encoder::new()
        .with_quality(95.0)
        .with_alpha_quality(95.0)
        .with_speed(8)
        .with_bit_depth(depth)
        .with_num_threads(Some(1))
}

pub fn avif_rgb(image: &image::RgbImage, depth: BitDepth) -> Vec<u8> {
    let pixels: Vec<RGB8> = image
        .pixels()
        .map(|p| RGB8::new(p[0], p[1], p[2]))
        .collect();
    let (width, height) = (image.width() as usize, image.height() as usize);
    encoder(depth)
        .encode_rgb(Img::new(&pixels[..], width, height))
        .expect("ravif encodes")
        .avif_file
}

pub fn avif_rgba(image: &image::RgbaImage, depth: BitDepth) -> Vec<u8> {
    let pixels: Vec<RGBA8> = image
        .pixels()
        .map(|p| RGBA8::new(p[0], p[1], p[2], p[3]))
        .collect();
    let (width, height) = (image.width() as usize, image.height() as usize);
    encoder(depth)
        .encode_rgba(Img::new(&pixels[..], width, height))
        .expect("ravif encodes")
        .avif_file
}
