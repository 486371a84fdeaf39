//! The one font of every picture and page rivsim draws: WenQuanYi Micro Hei (文泉驿微米黑), compiled into the
//! binary, so Chinese and Latin text render on a machine that has no font installed.
//!
//! - PNG plots (plotters' `ab_glyph` backend): [`register`] makes the face the `sans-serif` family before any
//!   text is drawn; plotters has no per-glyph fallback, so one face must hold both Latin and CJK glyphs (this one
//!   holds the 95 printable ASCII characters, 20,932 CJK unified ideographs of U+4E00–U+9FFF, Roman numerals,
//!   ✔ ✘ → ≤ ≥ and Greek).
//! - SVG plots and `report.html`: their text is drawn by the viewer, which may have no CJK font. [`subset`] cuts
//!   a small TrueType font holding only the characters a document uses (a few kilobytes), and [`css_font_face`] /
//!   [`embed_in_svg`] put it in the document as a `data:` URI, so every viewer draws the same glyphs.
//!
//! The font file is face 0 of Debian's `fonts-wqy-microhei` 0.2.0-beta (`wqy-microhei.ttc`) with its hinting
//! and OpenType layout tables removed (4.3 MB; Apache License 2.0, see `assets/fonts/NOTICE`). It adds about
//! 4.3 MB to the binary and nothing measurable to the build (an `include_bytes!`).
//!
//! The subsetter keeps the tables a browser's font sanitiser requires (`cmap glyf head hhea hmtx loca maxp name
//! OS/2 post`), renumbers the kept glyphs (glyph 0, `.notdef`, first; components of composite glyphs added and
//! their references rewritten), writes a format 4 `cmap` (BMP) and a format 12 `cmap` (all planes), long `loca`
//! offsets, a version 3 `post` (no glyph names) and the checksums of the OpenType specification.

use ab_glyph::{Font, FontRef};
use std::collections::BTreeMap;
use std::sync::Once;

/// The font file (TrueType outlines, 2048 units per em).
pub const FONT: &[u8] = include_bytes!("../assets/fonts/wqy-microhei.ttf");

/// The family name under which the embedded subsets are declared in CSS.
pub const FAMILY: &str = "rivsim-sans";

/// Make the font plotters' `sans-serif` family (normal and bold: the face has no bold, so bold text is drawn
/// in the regular weight). Idempotent and thread-safe; call it before drawing any text.
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use plotters::style::FontStyle;
        // The bytes are compiled in; registration fails only on a corrupt font, which the font tests catch.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, FONT);
    });
}

/// Whether the font has a glyph for `c` (other than `.notdef`).
pub fn has_glyph(c: char) -> bool {
    FontRef::try_from_slice(FONT).is_ok_and(|f| f.glyph_id(c).0 != 0)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The tables of a TrueType font file, by tag.
fn tables(font: &[u8]) -> Option<BTreeMap<[u8; 4], &[u8]>> {
    let n = be16(font, 4)? as usize;
    let mut out = BTreeMap::new();
    for k in 0..n {
        let rec = 12 + 16 * k;
        let tag: [u8; 4] = font.get(rec..rec + 4)?.try_into().ok()?;
        let off = be32(font, rec + 8)? as usize;
        let len = be32(font, rec + 12)? as usize;
        out.insert(tag, font.get(off..off.checked_add(len)?)?);
    }
    Some(out)
}

/// The outline bytes of glyph `g` (empty for a glyph without outline).
fn glyph_bytes<'a>(glyf: &'a [u8], loca: &[u8], long: bool, g: u16) -> Option<&'a [u8]> {
    let g = g as usize;
    let (a, b) = if long {
        (be32(loca, 4 * g)? as usize, be32(loca, 4 * g + 4)? as usize)
    } else {
        (
            2 * be16(loca, 2 * g)? as usize,
            2 * be16(loca, 2 * g + 2)? as usize,
        )
    };
    glyf.get(a..b.max(a))
}

/// The component glyph ids of a composite glyph, with the byte offset of each id (empty for a simple glyph).
fn components(glyph: &[u8]) -> Vec<(usize, u16)> {
    const WORDS: u16 = 0x0001;
    const SCALE: u16 = 0x0008;
    const MORE: u16 = 0x0020;
    const XY_SCALE: u16 = 0x0040;
    const TWO_BY_TWO: u16 = 0x0080;
    let mut out = Vec::new();
    if glyph.len() < 10 || (glyph[0] & 0x80) == 0 {
        return out; // numberOfContours ≥ 0: a simple glyph
    }
    let mut at = 10;
    while let (Some(flags), Some(id)) = (be16(glyph, at), be16(glyph, at + 2)) {
        out.push((at + 2, id));
        at += 4 + if flags & WORDS != 0 { 4 } else { 2 };
        at += if flags & SCALE != 0 {
            2
        } else if flags & XY_SCALE != 0 {
            4
        } else if flags & TWO_BY_TWO != 0 {
            8
        } else {
            0
        };
        if flags & MORE == 0 {
            break;
        }
    }
    out
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, c| {
        let mut w = [0u8; 4];
        w[..c.len()].copy_from_slice(c);
        sum.wrapping_add(u32::from_be_bytes(w))
    })
}

/// The `cmap` table: a format 4 subtable for the BMP characters and a format 12 subtable for all.
fn cmap(map: &[(u32, u16)]) -> Vec<u8> {
    // format 4: one segment per character, then the required final 0xFFFF segment
    let bmp: Vec<(u16, u16)> = map
        .iter()
        .filter(|(c, _)| *c < 0xFFFF)
        .map(|&(c, g)| (c as u16, g))
        .collect();
    let seg = bmp.len() + 1;
    let mut f4 = Vec::new();
    let len4 = 16 + 8 * seg;
    let pow = (seg as u32).next_power_of_two().max(1);
    let pow = if pow as usize > seg { pow / 2 } else { pow };
    let search = 2 * pow as u16;
    for v in [
        4u16,
        len4 as u16,
        0,
        2 * seg as u16,
        search,
        pow.trailing_zeros() as u16,
        2 * seg as u16 - search,
    ] {
        f4.extend(v.to_be_bytes());
    }
    bmp.iter().for_each(|(c, _)| f4.extend(c.to_be_bytes())); // endCode
    f4.extend(0xFFFFu16.to_be_bytes());
    f4.extend(0u16.to_be_bytes()); // reservedPad
    bmp.iter().for_each(|(c, _)| f4.extend(c.to_be_bytes())); // startCode
    f4.extend(0xFFFFu16.to_be_bytes());
    bmp.iter()
        .for_each(|(c, g)| f4.extend(g.wrapping_sub(*c).to_be_bytes())); // idDelta
    f4.extend(1u16.to_be_bytes());
    (0..seg).for_each(|_| f4.extend(0u16.to_be_bytes())); // idRangeOffset
    // format 12: one group per character
    let mut f12 = Vec::new();
    f12.extend(12u16.to_be_bytes());
    f12.extend(0u16.to_be_bytes());
    f12.extend((16 + 12 * map.len() as u32).to_be_bytes());
    f12.extend(0u32.to_be_bytes());
    f12.extend((map.len() as u32).to_be_bytes());
    for &(c, g) in map {
        f12.extend(c.to_be_bytes());
        f12.extend(c.to_be_bytes());
        f12.extend((g as u32).to_be_bytes());
    }
    let mut out = Vec::new();
    out.extend(0u16.to_be_bytes()); // version
    out.extend(2u16.to_be_bytes()); // two encoding records
    let (off4, off12) = (4 + 2 * 8, 4 + 2 * 8 + f4.len());
    for (enc, off) in [(1u16, off4), (10u16, off12)] {
        out.extend(3u16.to_be_bytes()); // platform: Windows
        out.extend(enc.to_be_bytes()); // 1: Unicode BMP, 10: Unicode full
        out.extend((off as u32).to_be_bytes());
    }
    out.extend(f4);
    out.extend(f12);
    out
}

/// A TrueType font holding only the glyphs of `chars` (and `.notdef`), or `None` if the embedded font cannot
/// be read. Characters the font lacks are left out (the viewer draws them with its own fonts).
pub fn subset(chars: impl IntoIterator<Item = char>) -> Option<Vec<u8>> {
    let face = FontRef::try_from_slice(FONT).ok()?;
    let t = tables(FONT)?;
    let (head, hhea, maxp, hmtx) = (
        t.get(b"head")?,
        t.get(b"hhea")?,
        t.get(b"maxp")?,
        t.get(b"hmtx")?,
    );
    let (loca, glyf) = (t.get(b"loca")?, t.get(b"glyf")?);
    let long = be16(head, 50)? == 1;
    let n_metrics = be16(hhea, 34)? as usize;
    let metric = |g: u16| -> Option<(u16, u16)> {
        let g = g as usize;
        if g < n_metrics {
            Some((be16(hmtx, 4 * g)?, be16(hmtx, 4 * g + 2)?))
        } else {
            let adv = be16(hmtx, 4 * (n_metrics - 1))?;
            Some((adv, be16(hmtx, 4 * n_metrics + 2 * (g - n_metrics))?))
        }
    };
    // the kept glyphs in their new order, and the character map
    let mut chars: Vec<char> = chars.into_iter().collect();
    chars.sort_unstable();
    chars.dedup();
    let mut order: Vec<u16> = vec![0];
    let mut new_id: BTreeMap<u16, u16> = BTreeMap::from([(0, 0)]);
    let mut map: Vec<(u32, u16)> = Vec::new();
    let mut keep = |g: u16, order: &mut Vec<u16>| -> u16 {
        *new_id.entry(g).or_insert_with(|| {
            order.push(g);
            (order.len() - 1) as u16
        })
    };
    for c in chars {
        let g = face.glyph_id(c).0;
        if g != 0 {
            map.push((c as u32, keep(g, &mut order)));
        }
    }
    let mut k = 0;
    while k < order.len() {
        let bytes = glyph_bytes(glyf, loca, long, order[k])?;
        for (_, comp) in components(bytes) {
            keep(comp, &mut order);
        }
        k += 1;
    }
    // glyf, loca, hmtx
    let (mut new_glyf, mut new_loca, mut new_hmtx) = (Vec::new(), Vec::new(), Vec::new());
    for &g in &order {
        new_loca.extend((new_glyf.len() as u32).to_be_bytes());
        let mut bytes = glyph_bytes(glyf, loca, long, g)?.to_vec();
        for (at, comp) in components(&bytes) {
            let id = *new_id.get(&comp)?;
            bytes[at..at + 2].copy_from_slice(&id.to_be_bytes());
        }
        new_glyf.extend(&bytes);
        while new_glyf.len() % 4 != 0 {
            new_glyf.push(0);
        }
        let (adv, lsb) = metric(g)?;
        new_hmtx.extend(adv.to_be_bytes());
        new_hmtx.extend(lsb.to_be_bytes());
    }
    new_loca.extend((new_glyf.len() as u32).to_be_bytes());
    let n = order.len() as u16;
    let mut new_head = head.to_vec();
    new_head[8..12].copy_from_slice(&[0; 4]); // checkSumAdjustment, set below
    new_head[50..52].copy_from_slice(&1u16.to_be_bytes()); // long loca
    let mut new_hhea = hhea.to_vec();
    new_hhea[34..36].copy_from_slice(&n.to_be_bytes());
    let mut new_maxp = maxp.to_vec();
    new_maxp[4..6].copy_from_slice(&n.to_be_bytes());
    let mut post = t.get(b"post")?.get(..32)?.to_vec();
    post[0..4].copy_from_slice(&0x0003_0000u32.to_be_bytes());
    let out_tables: Vec<([u8; 4], Vec<u8>)> = vec![
        (*b"OS/2", t.get(b"OS/2")?.to_vec()),
        (*b"cmap", cmap(&map)),
        (*b"glyf", new_glyf),
        (*b"head", new_head),
        (*b"hhea", new_hhea),
        (*b"hmtx", new_hmtx),
        (*b"loca", new_loca),
        (*b"maxp", new_maxp),
        (*b"name", t.get(b"name")?.to_vec()),
        (*b"post", post),
    ];
    Some(assemble(out_tables))
}

/// Write the table directory and the tables (tags sorted, each padded to 4 bytes) and set `head`'s
/// checkSumAdjustment so that the whole file sums to 0xB1B0AFBA.
fn assemble(tables: Vec<([u8; 4], Vec<u8>)>) -> Vec<u8> {
    let n = tables.len() as u16;
    let pow = 1u16 << (15 - n.leading_zeros());
    let mut out = Vec::new();
    out.extend(0x0001_0000u32.to_be_bytes());
    out.extend(n.to_be_bytes());
    out.extend((16 * pow).to_be_bytes());
    out.extend((pow.trailing_zeros() as u16).to_be_bytes());
    out.extend((16 * n - 16 * pow).to_be_bytes());
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = 0;
    for (tag, data) in &tables {
        if tag == b"head" {
            head_at = offset;
        }
        out.extend(tag);
        out.extend(checksum(data).to_be_bytes());
        out.extend((offset as u32).to_be_bytes());
        out.extend((data.len() as u32).to_be_bytes());
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, data) in &tables {
        out.extend(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    let adjust = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
    out[head_at + 8..head_at + 12].copy_from_slice(&adjust.to_be_bytes());
    out
}

/// A CSS `@font-face` rule declaring [`FAMILY`] as the subset of the characters of `text`, base64-encoded in a
/// `data:` URI (empty if the font cannot be subset).
pub fn css_font_face(text: &str) -> String {
    use base64::Engine;
    match subset(text.chars().filter(|c| !c.is_control())) {
        Some(bytes) => format!(
            "@font-face{{font-family:\"{FAMILY}\";src:url(data:font/ttf;base64,{})format(\"truetype\")}}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
        None => String::new(),
    }
}

/// The text of an SVG or HTML document outside its tags (entities count as themselves, which only adds a few
/// ASCII glyphs): the characters a font subset must hold.
pub fn text_outside_tags(svg: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in svg.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// An SVG document with the subset of its own characters embedded: a `<style>` after the opening `<svg …>` tag
/// declares the font and makes it the family of every `<text>`, so viewers without a CJK font draw the same
/// glyphs as the PNG plots. A document without text is returned unchanged.
pub fn embed_in_svg(svg: &str) -> String {
    let chars = text_outside_tags(svg);
    let Some(open) = svg
        .find("<svg")
        .and_then(|i| svg[i..].find('>').map(|j| i + j + 1))
    else {
        return svg.to_string();
    };
    if chars.trim().is_empty() {
        return svg.to_string();
    }
    let style = format!(
        "\n<defs><style>{}text{{font-family:\"{FAMILY}\",sans-serif}}</style></defs>",
        css_font_face(&chars)
    );
    let mut out = String::with_capacity(svg.len() + style.len());
    out.push_str(&svg[..open]);
    out.push_str(&style);
    out.push_str(&svg[open..]);
    out
}
