//! `gravity=auto`: a saliency crop.
//!
//! The kept box goes where the image has most to look at. The image (or the
//! region `trim` left of it) is divided into a grid of about
//! [`GRID`]×[`GRID`] cells; each cell scores its *detail* (the standard
//! deviation of luma inside it: texture and edges, high on a subject in
//! focus, low on sky, walls and bokeh), its *edges* against neighbouring
//! cells (outlines larger than a cell), and its *colourfulness* (chroma,
//! which draws the eye and tells a subject from a grey background). A
//! summed-area table then gives every position of the box, scaled to the
//! grid, its total score in constant time; the best one wins, ties going to
//! the one nearest the centre. The result is a focal point, placed like
//! `gravity=XxY`, so the box never leaves the image.
//!
//! This is a saliency heuristic in the family of libvips' `attention`
//! crop, not a learned model: it finds what is sharp and colourful, which
//! is the subject of most product shots, portraits with a soft background
//! and photos of animals.

use image::DynamicImage;

use super::trim::Region;
use crate::Gravity;

/// Cells along the longer side of the region.
const GRID: u32 = 48;

/// Weights of the three scores (detail and edges are in luma levels,
/// chroma in colour levels).
const DETAIL_WEIGHT: f64 = 1.0;
const EDGE_WEIGHT: f64 = 0.5;
const CHROMA_WEIGHT: f64 = 0.5;

/// Most pixels sampled per cell: a grid of at most this many per side is
/// read, enough for a stable standard deviation.
const SAMPLES_PER_SIDE: u32 = 8;

/// The focal point for a `crop_w × crop_h` box (in the image's pixels)
/// inside `region` of `image`, as fractions of the region.
pub(crate) fn focus(image: &DynamicImage, region: Region, crop_w: f64, crop_h: f64) -> Gravity {
    let Some(grid) = Scores::measure(image, region) else {
        return Gravity::Center;
    };
    let (columns, rows, cell) = (grid.columns, grid.rows, f64::from(grid.cell));
    // The box in whole cells that fit inside it, at least one.
    let box_w = ((crop_w / cell).floor() as u32).clamp(1, columns);
    let box_h = ((crop_h / cell).floor() as u32).clamp(1, rows);

    let table = grid.summed_area();
    let at = |x: u32, y: u32| table[(y * (columns + 1) + x) as usize];
    let centre = (
        f64::from(columns - box_w) / 2.0,
        f64::from(rows - box_h) / 2.0,
    );
    let mut best = (f64::MIN, f64::MAX, 0u32, 0u32);
    for y in 0..=rows - box_h {
        for x in 0..=columns - box_w {
            let score = at(x + box_w, y + box_h) - at(x, y + box_h) - at(x + box_w, y) + at(x, y);
            let distance = (f64::from(x) - centre.0).powi(2) + (f64::from(y) - centre.1).powi(2);
            // A score within a hair of the best counts as a tie.
            let margin = best.0.abs() * 1e-9;
            if score > best.0 + margin || (score >= best.0 - margin && distance < best.1) {
                best = (score, distance, x, y);
            }
        }
    }
    let (_, _, x, y) = best;
    // The centre of the best window, in pixels of the region.
    let centre_x = (f64::from(x) + f64::from(box_w) / 2.0) * cell;
    let centre_y = (f64::from(y) + f64::from(box_h) / 2.0) * cell;
    Gravity::Focus {
        x: (centre_x / f64::from(region.width)).min(1.0),
        y: (centre_y / f64::from(region.height)).min(1.0),
    }
}

/// One score per cell, row by row.
struct Scores {
    columns: u32,
    rows: u32,
    /// Side of a cell in pixels.
    cell: u32,
    cells: Vec<f64>,
}

impl Scores {
    fn measure(image: &DynamicImage, region: Region) -> Option<Scores> {
        if region.width == 0 || region.height == 0 {
            return None;
        }
        let long = region.width.max(region.height);
        let cell = long.div_ceil(GRID).max(1);
        let columns = region.width.div_ceil(cell);
        let rows = region.height.div_ceil(cell);
        let step = (cell / SAMPLES_PER_SIDE).max(1);
        let rgb = Sampler::new(image);

        let mut means = vec![0.0; (columns * rows) as usize];
        let mut cells = vec![0.0; (columns * rows) as usize];
        for row in 0..rows {
            for column in 0..columns {
                let x0 = region.x + column * cell;
                let y0 = region.y + row * cell;
                let x1 = (x0 + cell).min(region.x + region.width);
                let y1 = (y0 + cell).min(region.y + region.height);
                let (mut n, mut sum, mut squares, mut chroma) = (0.0, 0.0, 0.0, 0.0);
                for y in (y0..y1).step_by(step as usize) {
                    for x in (x0..x1).step_by(step as usize) {
                        let [r, g, b] = rgb.get(x, y);
                        let luma = 0.299 * r + 0.587 * g + 0.114 * b;
                        n += 1.0;
                        sum += luma;
                        squares += luma * luma;
                        chroma += r.max(g).max(b) - r.min(g).min(b);
                    }
                }
                let mean = sum / n;
                let detail = (squares / n - mean * mean).max(0.0).sqrt();
                let index = (row * columns + column) as usize;
                means[index] = mean;
                cells[index] = DETAIL_WEIGHT * detail + CHROMA_WEIGHT * chroma / n;
            }
        }
        // Edges between cells: the luma step to the right and below.
        for row in 0..rows {
            for column in 0..columns {
                let index = (row * columns + column) as usize;
                let mut edge = 0.0;
                if column + 1 < columns {
                    edge += (means[index + 1] - means[index]).abs();
                }
                if row + 1 < rows {
                    edge += (means[index + columns as usize] - means[index]).abs();
                }
                cells[index] += EDGE_WEIGHT * edge;
            }
        }
        Some(Scores {
            columns,
            rows,
            cell,
            cells,
        })
    }

    /// `(columns + 1) × (rows + 1)` partial sums with a zero first row and
    /// column.
    fn summed_area(&self) -> Vec<f64> {
        let stride = (self.columns + 1) as usize;
        let mut table = vec![0.0; stride * (self.rows + 1) as usize];
        for row in 0..self.rows as usize {
            let mut line = 0.0;
            for column in 0..self.columns as usize {
                line += self.cells[row * self.columns as usize + column];
                table[(row + 1) * stride + column + 1] = table[row * stride + column + 1] + line;
            }
        }
        table
    }
}

/// Reads RGB from any 8-bit layout without converting the image.
enum Sampler<'a> {
    Grey(&'a [u8], u32, usize),
    Colour(&'a [u8], u32, usize),
}

impl<'a> Sampler<'a> {
    fn new(image: &'a DynamicImage) -> Sampler<'a> {
        let channels = usize::from(image.color().channel_count());
        let bytes = image.as_bytes();
        if channels >= 3 {
            Sampler::Colour(bytes, image.width(), channels)
        } else {
            Sampler::Grey(bytes, image.width(), channels)
        }
    }

    fn get(&self, x: u32, y: u32) -> [f64; 3] {
        match *self {
            Sampler::Grey(bytes, width, channels) => {
                let v = f64::from(bytes[(y as usize * width as usize + x as usize) * channels]);
                [v, v, v]
            }
            Sampler::Colour(bytes, width, channels) => {
                let at = (y as usize * width as usize + x as usize) * channels;
                [
                    f64::from(bytes[at]),
                    f64::from(bytes[at + 1]),
                    f64::from(bytes[at + 2]),
                ]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};

    /// A smooth gradient with a detailed, colourful 60×60 patch at
    /// (`px`, `py`).
    fn scene(px: u32, py: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(ImageBuffer::from_fn(600, 400, |x, y| {
            if (px..px + 60).contains(&x) && (py..py + 60).contains(&y) {
                let v = ((x * 37 + y * 91) % 97) as u8;
                Rgb([200, v.saturating_mul(2), 40])
            } else {
                let v = (100 + x / 20 + y / 40) as u8;
                Rgb([v, v, v])
            }
        }))
    }

    fn point(gravity: Gravity) -> (f64, f64) {
        match gravity {
            Gravity::Focus { x, y } => (x, y),
            other => panic!("not a focal point: {other:?}"),
        }
    }

    #[test]
    fn the_box_goes_to_the_detailed_patch() {
        for (px, py) in [(20, 30), (500, 300), (480, 20)] {
            let image = scene(px, py);
            let (x, y) = point(focus(&image, Region::whole(600, 400), 200.0, 200.0));
            // The box centred on the point, pushed inside, holds the patch.
            let left = (x * 600.0 - 100.0).clamp(0.0, 400.0);
            let top = (y * 400.0 - 100.0).clamp(0.0, 200.0);
            assert!(
                left <= f64::from(px) && left + 200.0 >= f64::from(px + 60),
                "patch at {px} not inside box at {left}"
            );
            assert!(
                top <= f64::from(py) && top + 200.0 >= f64::from(py + 60),
                "patch at {py} not inside box at {top}"
            );
        }
    }

    #[test]
    fn a_flat_image_keeps_the_centre_and_a_region_is_respected() {
        let flat = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(300, 200, Rgb([9, 9, 9])));
        let (x, y) = point(focus(&flat, Region::whole(300, 200), 100.0, 100.0));
        assert!((x - 0.5).abs() < 0.02 && (y - 0.5).abs() < 0.02, "{x} {y}");
        // Inside the right half only, the patch at (500, 300) is near the
        // region's bottom-right.
        let image = scene(500, 300);
        let region = Region {
            x: 300,
            y: 0,
            width: 300,
            height: 400,
        };
        let (x, y) = point(focus(&image, region, 100.0, 100.0));
        assert!(x > 0.6 && y > 0.7, "{x} {y}");
    }
}
