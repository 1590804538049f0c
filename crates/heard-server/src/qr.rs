//! QR codes for posters in offices: SVG for print, PNG for documents. Error correction level M survives some wear.

use qrcode::{Color, EcLevel, QrCode};

fn code(url: &str) -> QrCode {
    QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .expect("a URL fits in a QR code")
}

pub fn svg(url: &str) -> String {
    code(url)
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build()
}

/// An 8-bit grayscale PNG with `scale` pixels per module and a 4-module quiet zone.
pub fn png(url: &str, scale: usize) -> Vec<u8> {
    let c = code(url);
    let w = c.width();
    let quiet = 4;
    let size = (w + 2 * quiet) * scale;
    let colors = c.to_colors();
    let mut pixels = vec![255u8; size * size];
    for y in 0..w {
        for x in 0..w {
            if colors[y * w + x] == Color::Dark {
                for dy in 0..scale {
                    let row = ((y + quiet) * scale + dy) * size;
                    let start = row + (x + quiet) * scale;
                    pixels[start..start + scale].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, size as u32, size as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().expect("in-memory PNG");
        writer.write_image_data(&pixels).expect("in-memory PNG");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_both_formats() {
        let s = super::svg("https://heard.example.gov/s/dept/0192");
        assert!(s.contains("<svg") && s.contains("</svg>"));
        let p = super::png("https://heard.example.gov/s/dept/0192", 4);
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
    }
}
