//! The compiled-in font: Chinese characters draw as themselves (not as the missing-glyph box) in PNG plots, and
//! the subsets embedded in SVG files and report.html draw exactly the glyphs of the full font.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters::prelude::*;
use rivsim::fonts;

const W: u32 = 64;
const H: u32 = 64;

/// Draw one string at 40 px with plotters' text path (the one every PNG plot uses) into an RGB buffer.
fn draw(text: &str) -> Vec<u8> {
    fonts::register();
    let mut buf = vec![255u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
        root.fill(&WHITE).unwrap();
        root.draw(&Text::new(text.to_string(), (8, 8), ("sans-serif", 40)))
            .unwrap();
        root.present().unwrap();
    }
    buf
}

/// Pixels darker than mid-grey.
fn ink(buf: &[u8]) -> usize {
    buf.chunks(3).filter(|p| p[0] < 128).count()
}

/// Pixels whose darkness differs by more than half the range.
fn differing(a: &[u8], b: &[u8]) -> usize {
    a.chunks(3)
        .zip(b.chunks(3))
        .filter(|(p, q)| (p[0] as i32 - q[0] as i32).abs() > 128)
        .count()
}

#[test]
fn two_chinese_characters_draw_differently_and_not_as_the_missing_glyph_box() {
    // 河 (river) and 中 (middle) are in the font; U+E000 (private use) is in no font, so it draws whatever the
    // font's .notdef is: the box a missing glyph shows.
    assert!(fonts::has_glyph('河') && fonts::has_glyph('中'));
    assert!(!fonts::has_glyph('\u{E000}'));
    let he = draw("河");
    let zhong = draw("中");
    let missing = draw("\u{E000}");
    // A 40 px ideograph is made of strokes about 4 px wide: well over 100 dark pixels each. The threshold is
    // far below that and far above anti-aliasing noise.
    assert!(ink(&he) > 100, "河 draws {} dark pixels", ink(&he));
    assert!(ink(&zhong) > 100, "中 draws {} dark pixels", ink(&zhong));
    // the font's .notdef is a drawn box (two contours), not nothing
    assert!(
        ink(&missing) > 30,
        "the missing-glyph box draws {} dark pixels",
        ink(&missing)
    );
    // Different characters, different pictures: at least 50 pixels (of about 200 inked) differ.
    assert!(differing(&he, &zhong) > 50);
    assert!(differing(&he, &missing) > 50);
    assert!(differing(&zhong, &missing) > 50);
    // Latin text draws too (the same face holds it).
    assert!(ink(&draw("IV")) > 30);
}

/// The coverage of a glyph of `font` rasterised at 48 px, as 0–255 per pixel in a 64×64 grid.
fn raster(font: &FontRef, c: char) -> Vec<u8> {
    let scaled = font.as_scaled(PxScale::from(48.0));
    let glyph = scaled.scaled_glyph(c);
    let mut grid = vec![0u8; 64 * 64];
    if let Some(o) = font.outline_glyph(glyph) {
        o.draw(|x, y, v| {
            let i = (y as usize).min(63) * 64 + (x as usize).min(63);
            grid[i] = (v * 255.0).round() as u8;
        });
    }
    grid
}

#[test]
fn a_subset_draws_exactly_the_glyphs_of_the_full_font() {
    let text = "劣V类 水功能区 达标/不达标 Zone Z-HL 九龙河 ≥80% ✔";
    let bytes = fonts::subset(text.chars()).expect("subset");
    // Tens of glyphs of a few hundred bytes each, plus the name and OS/2 tables: far below the 4.3 MB face.
    assert!(bytes.len() < 40_000, "subset is {} bytes", bytes.len());
    let full = FontRef::try_from_slice(fonts::FONT).unwrap();
    let sub = FontRef::try_from_slice(&bytes).expect("the subset parses as a font");
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        assert_ne!(sub.glyph_id(c).0, 0, "{c} is in the subset");
        assert_eq!(raster(&full, c), raster(&sub, c), "{c} draws the same");
        assert_eq!(
            full.h_advance_unscaled(full.glyph_id(c)),
            sub.h_advance_unscaled(sub.glyph_id(c)),
            "{c} advances the same"
        );
    }
    // Characters not asked for are left out.
    assert_eq!(sub.glyph_id('海').0, 0);
    assert_ne!(full.glyph_id('海').0, 0);
}

#[test]
fn an_svg_carries_the_font_of_its_own_text() {
    use base64::Engine;
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">\
               <text x=\"1\" y=\"1\">中大河 &amp; IV</text></svg>";
    let out = fonts::embed_in_svg(svg);
    assert!(out.starts_with("<svg xmlns"));
    assert!(out.ends_with("</text></svg>"));
    let start = out.find("base64,").expect("a data URI") + "base64,".len();
    let end = start + out[start..].find(')').unwrap();
    let font = base64::engine::general_purpose::STANDARD
        .decode(&out[start..end])
        .unwrap();
    let f = FontRef::try_from_slice(&font).unwrap();
    for c in "中大河IV&".chars() {
        assert_ne!(f.glyph_id(c).0, 0, "{c}");
    }
    assert!(out.contains(&format!("text{{font-family:\"{}\"", fonts::FAMILY)));
    // nothing to embed in a drawing without text
    let plain = "<svg xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"1\" height=\"1\"/></svg>";
    assert_eq!(fonts::embed_in_svg(plain), plain);
}
