//! QR codes read back by a real decoder, `zbarimg` (Debian's zbar-tools): from an image such as a browser
//! screenshot, or from the code a terminal shows, which is drawn into an image first.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::{installed, run, skip_or_fail};

/// What starts each line of a terminal QR code: black on bright white, as the banner draws it.
const TERMINAL_QR_LINE: &str = "\x1b[30;107m";
/// Image pixels per QR module; zbar wants a few.
const PIXELS_PER_MODULE: usize = 6;

/// Whether zbarimg is installed; prints a skip line (or fails under CI) when not.
pub fn zbarimg_installed(test: &str) -> bool {
    let present = installed("zbarimg", "--version");
    if !present {
        skip_or_fail(test, "`zbarimg` is not installed (Debian package `zbar-tools`)");
    }
    present
}

/// Every QR code zbarimg finds in the image file `image`, decoded.
pub fn decode_image(image: &Path) -> Vec<String> {
    let mut cmd = Command::new("zbarimg");
    cmd.args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .arg(image);
    let finished = run(&mut cmd, Duration::from_secs(30));
    finished.stdout.lines().map(str::to_owned).collect()
}

/// The QR codes in terminal `output` (lines of upper and lower half blocks), each decoded by zbarimg from a
/// grey-scale image of what the terminal shows: a full block is two dark modules, `▀` the upper, `▄` the lower.
pub fn decode_terminal(output: &[String], scratch: &Path) -> Vec<String> {
    let rows: Vec<Vec<bool>> = output
        .iter()
        .filter_map(|line| line.strip_prefix(TERMINAL_QR_LINE))
        .map(|line| line.trim_end_matches("\x1b[0m"))
        .flat_map(|cells| {
            let top = cells.chars().map(|c| matches!(c, '█' | '▀')).collect();
            let bottom = cells.chars().map(|c| matches!(c, '█' | '▄')).collect();
            [top, bottom]
        })
        .collect();
    assert!(!rows.is_empty(), "no QR code in the output: {output:#?}");
    let width = rows[0].len() * PIXELS_PER_MODULE;
    let mut pgm = format!("P5 {width} {} 255\n", rows.len() * PIXELS_PER_MODULE).into_bytes();
    for row in &rows {
        let line: Vec<u8> = row
            .iter()
            .flat_map(|&dark| [if dark { 0 } else { 255 }; PIXELS_PER_MODULE])
            .collect();
        assert_eq!(
            line.len(),
            width,
            "every line of the code is as wide as the first"
        );
        for _ in 0..PIXELS_PER_MODULE {
            pgm.extend_from_slice(&line);
        }
    }
    let image = scratch.join("terminal-qr.pgm");
    std::fs::write(&image, pgm).expect("write the terminal QR image");
    decode_image(&image)
}
