//! QR codes of the URLs a second device opens: as text for the terminal banner and as SVG for the test page.

use qrcode::render::svg;
use qrcode::{Color, QrCode};

/// Light modules around the code; the QR standard asks for 4, which phones need to find the code on a screen.
const QUIET_ZONE: usize = 4;

/// `text` as a QR code in the terminal: two modules per character cell (upper and lower half blocks), drawn in
/// black on white with ANSI colours so that it scans on dark and light terminal themes alike.
pub(crate) fn terminal(text: &str) -> Option<String> {
    let code = QrCode::new(text).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET_ZONE;
    let dark = |x: usize, y: usize| {
        let inside = |v: usize| (QUIET_ZONE..QUIET_ZONE + width).contains(&v);
        inside(x) && inside(y) && colors[(y - QUIET_ZONE) * width + (x - QUIET_ZONE)] == Color::Dark
    };
    let mut out = String::new();
    for y in (0..size).step_by(2) {
        out.push_str("\x1b[30;107m");
        for x in 0..size {
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push_str("\x1b[0m\n");
    }
    Some(out)
}

/// `text` as a QR code in SVG, black on white with the quiet zone, at least `min_pixels` wide.
pub(crate) fn svg(text: &str, min_pixels: u32) -> Option<String> {
    let code = QrCode::new(text).ok()?;
    Some(
        code.render::<svg::Color>()
            .min_dimensions(min_pixels, min_pixels)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_code_is_square_with_its_quiet_zone_and_every_line_coloured() {
        let text = terminal("http://192.168.1.20:8080/trust").unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let width = QrCode::new("http://192.168.1.20:8080/trust").unwrap().width() + 2 * QUIET_ZONE;
        assert_eq!(lines.len(), width.div_ceil(2));
        let cells = |line: &str| {
            let cells = line
                .strip_prefix("\x1b[30;107m")
                .and_then(|l| l.strip_suffix("\x1b[0m"));
            cells
                .unwrap_or_else(|| panic!("uncoloured line {line:?}"))
                .to_owned()
        };
        for line in &lines {
            assert_eq!(cells(line).chars().count(), width, "{line:?}");
        }
        assert!(cells(lines[0]).chars().all(|c| c == ' '), "the quiet zone on top");
    }
}
