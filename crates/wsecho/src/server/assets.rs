//! The browser test page, embedded at build time so the binary works offline. `index.html` is served at `/`,
//! every other file at `/<name>`. A new file in `assets/` needs a line here.

/// `(name, content type, bytes)` of every embedded file.
const ASSETS: &[(&str, &str, &[u8])] = &[(
    "index.html",
    "text/html; charset=utf-8",
    include_bytes!("../../assets/index.html"),
)];

/// The content type and bytes served for a request path, if it names an asset.
pub(crate) fn find(path: &str) -> Option<(&'static str, &'static [u8])> {
    let name = match path {
        "/" => "index.html",
        other => other.strip_prefix('/')?,
    };
    ASSETS
        .iter()
        .find(|(asset, _, _)| *asset == name)
        .map(|(_, content_type, bytes)| (*content_type, *bytes))
}
