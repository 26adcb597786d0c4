//! The embedded files: path under `/ui/`, content type and bytes, fixed at compile time.

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Path below `/ui/` (`index.html`, `js/chat.js`, …).
    pub path: &'static str,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// The file's bytes.
    pub bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $ctype:expr),* $(,)?) => {
        /// Every embedded file.
        pub const ASSETS: &[Asset] = &[
            $(Asset {
                path: $path,
                content_type: $ctype,
                bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)),
            }),*
        ];
    };
}

const JS: &str = "text/javascript; charset=utf-8";

assets! {
    "index.html" => "text/html; charset=utf-8",
    "app.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "js/main.js" => JS,
    "js/api.js" => JS,
    "js/markdown.js" => JS,
    "js/store.js" => JS,
    "js/chat.js" => JS,
    "js/models.js" => JS,
    "js/server.js" => JS,
    "js/prom.js" => JS,
    "js/chart.js" => JS,
    "js/util.js" => JS,
}

/// The asset at `path` (below `/ui/`; empty means `index.html`).
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_there_and_index_is_the_default() {
        assert_eq!(asset("").map(|a| a.path), Some("index.html"));
        assert!(asset("nope.js").is_none());
        for a in ASSETS {
            assert!(!a.bytes.is_empty(), "{} is empty", a.path);
        }
    }

    #[test]
    fn index_references_only_embedded_files_and_no_network() {
        let index = std::str::from_utf8(asset("index.html").unwrap().bytes).unwrap();
        for a in ASSETS {
            let text = std::str::from_utf8(a.bytes)
                .unwrap_or("")
                .replace("http://www.w3.org/2000/svg", "");
            assert!(
                !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
                "{} refers to the network",
                a.path
            );
        }
        for src in index
            .split("src=\"")
            .skip(1)
            .chain(index.split("href=\"").skip(1))
        {
            let target = src.split('"').next().unwrap_or("");
            if target.starts_with('#') {
                continue;
            }
            let rel = target.trim_start_matches("/ui/").trim_start_matches("./");
            assert!(
                asset(rel).is_some(),
                "index.html refers to {target}, not embedded"
            );
        }
    }
}
