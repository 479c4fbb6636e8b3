//! A run in a browser: a self-contained HTML report ([`report`]) and a live
//! latent-space explorer served on the loopback interface ([`explore`],
//! [`server`]).
//!
//! Both pages are ours and small: plain JavaScript drawing on canvases (no
//! plotting library, nothing fetched from the network), embedded in the
//! binary from `assets/`. The report carries its data as one JSON block and
//! its pictures as PNG data URIs, so the file works offline and from a
//! `file://` URL; the explorer's page asks the server for what it shows
//! (the map's points, an example beside its reconstruction, the decoding of
//! any point of the plane, interpolations), and the server answers from the
//! run it loaded.

pub mod explore;
pub mod report;
pub mod server;
pub mod subject;
pub mod text_report;

use image::RgbImage;

use crate::error::{Error, Result};

/// The shared style sheet of both pages.
pub(crate) const STYLE: &str = include_str!("assets/style.css");
/// The drawing code both pages share (axes, curves, scatter points).
pub(crate) const CHARTS: &str = include_str!("assets/charts.js");

/// Opens an image or table run with its `weights` for a page; a text run
/// is refused with what to use instead.
pub fn open_run(
    dir: &std::path::Path,
    weights: crate::run::Weights,
    device: &burn::tensor::Device,
) -> Result<(crate::run::Run, crate::model::Vae)> {
    if crate::text::run::is_text_run(dir) {
        return Err(Error::setting(
            "RUN_DIR",
            "this is a text run; the report and the explorer show image and table runs (for a text run use sample, reconstruct, interpolate and latent)",
        ));
    }
    let run = crate::run::Run::open(dir)?;
    let model = run.load_model(weights, device)?;
    Ok((run, model))
}

/// `image` as a `data:image/png;base64,...` URI.
pub fn png_data_uri(image: &RgbImage) -> Result<String> {
    use base64::Engine;
    let bytes = crate::report::grid::png_bytes(image)
        .map_err(|e| Error::Data(format!("cannot encode a picture for the page: {e}")))?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// `value` as JSON that can stand inside a `<script>` element: every `<`
/// written `\u003c`, so no `</script>` or `<!--` in a string (a column or
/// class name from the data) can end the element early.
pub fn script_json<T: serde::Serialize>(value: &T) -> Result<String> {
    let text = serde_json::to_string(value)
        .map_err(|e| Error::Data(format!("cannot write the page's data: {e}")))?;
    Ok(text.replace('<', "\\u003c"))
}

/// `text` with the five characters that mean something in HTML escaped.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page: `title`, the shared style and drawing code, `data` (already
/// [`script_json`]) as the element `#data`, and the page's own `script`.
pub(crate) fn page(title: &str, body: &str, data: &str, script: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n{body}\n\
         <script type=\"application/json\" id=\"data\">{data}</script>\n\
         <script>\n{CHARTS}\n{script}\n</script>\n</body>\n</html>\n",
        title = escape_html(title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_text_cannot_break_out_of_the_page() {
        let json = script_json(&vec!["</script><script>alert(1)</script>", "<!--"]).unwrap();
        assert!(!json.contains('<'), "{json}");
        let back: Vec<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back[0], "</script><script>alert(1)</script>");
        assert_eq!(escape_html("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        let uri = png_data_uri(&RgbImage::new(3, 2)).unwrap();
        assert!(
            uri.starts_with("data:image/png;base64,iVBORw0KGgo"),
            "{uri}"
        );
    }
}
