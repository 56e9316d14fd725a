//! The web console's static files (`clients/console`, built by its `build.sh`), served at `/console/`
//! on the HTTP API's port, as CloudFront serves them from the console bucket in AWS. Only files
//! directly in the directory are served, by a name of letters, digits, `.`, `-` and `_` that does not
//! start with a dot: nothing outside it can be named.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use http::{header, StatusCode};

/// `/console`, `/console/` (its `index.html`) and `/console/<file>` from `dir`.
pub fn router(dir: PathBuf) -> Router {
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(index))
        .route("/console/{file}", get(file))
        .with_state(Arc::new(dir))
}

async fn index(State(dir): State<Arc<PathBuf>>) -> Response {
    serve(&dir, "index.html").await
}

async fn file(State(dir): State<Arc<PathBuf>>, UrlPath(name): UrlPath<String>) -> Response {
    serve(&dir, &name).await
}

/// Whether `name` is a plain file name of the directory (no separator, no `..`, no hidden file).
#[must_use]
pub fn servable(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The `Content-Type` of a console file, by its extension.
#[must_use]
pub fn content_type(name: &str) -> &'static str {
    match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// The console's Content-Security-Policy: its own script and styles only; the APIs over HTTP(S) and
/// WebSockets; never framed.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self' http: https: ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn serve(dir: &Path, name: &str) -> Response {
    if !servable(name) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(dir.join(name)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, content_type(name)),
                // Rebuilt by every `make dev`: always revalidated, as the template's CloudFront
                // behaviour does for index.html and config.json.
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                // As a header, since browsers ignore `frame-ancestors` in a <meta> policy.
                (header::CONTENT_SECURITY_POLICY, CSP),
                (header::X_FRAME_OPTIONS, "DENY"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_of_the_directory_are_servable() {
        for ok in ["index.html", "app.js", "app.js.map", "config.json", "style-2_b.css"] {
            assert!(servable(ok), "{ok}");
        }
        for bad in ["", ".env", "..", "../x", "a/b", "a\\b", "%2e%2e", "x y", "ä.js"] {
            assert!(!servable(bad), "{bad}");
        }
    }

    #[test]
    fn each_kind_of_file_gets_its_type() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("app.js.map"), "application/json");
        assert_eq!(content_type("blob"), "application/octet-stream");
    }
}
