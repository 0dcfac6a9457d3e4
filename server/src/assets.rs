//! The site root's files (`LEPTOS_SITE_ROOT`): the browser bundle under `/pkg` (WASM, its JS
//! glue, the stylesheet) and `public/`'s files (the favicon). Served by tower-http's
//! [`ServeDir`]; any other path goes to the service given (the app's 404 page).
//!
//! | what | `Cache-Control` | why |
//! | --- | --- | --- |
//! | `/pkg/<name>.<hash>.<ext>`, hash files on | [`IMMUTABLE`] | the name changes when the content does (cargo-leptos `hash-files`) |
//! | other `/pkg/` files, or hash files off (development) | [`REVALIDATE`] | same name, new content after each build |
//! | other files (`/favicon.svg`) | [`PUBLIC_FILE`] | unhashed, rarely changed |
//! | anything else: pages, JSON, the 404 page | untouched here | `crate::edges` makes them `no-store` |
//!
//! Every file answer also gets `Vary: Accept-Encoding`: a release build with `--precompress`
//! puts a brotli (`.br`) and a gzip (`.gz`) copy beside every file, and `ServeDir` sends the one
//! the request accepts, brotli first, with its `Content-Encoding` and the original file's
//! `Content-Type`; without a copy, or without `Accept-Encoding`, the file itself.
//! `Last-Modified` and conditional requests (`304`) are `ServeDir`'s own. `ServeDir` refuses
//! `..` and anything outside the root, lists no directory (no `index.html` either),
//! and hands requests other than `GET`/`HEAD` to the 404 service.
//!
//! Hashed names: cargo-leptos (`hash-files = true` in the workspace's `Cargo.toml`) renames each
//! file under `pkg/` to `<stem>.<hash>.<ext>`, the hash being the file's MD5 in unpadded
//! base64url (22 characters), and writes the main three into its hash file, `hash.txt`, beside
//! the server binary (`js: …`, `wasm: …`, `css: …`). The server uses them when
//! `LEPTOS_HASH_FILES=true`: Leptos's `HydrationScripts` and `HashedStylesheet` read that file
//! (`LEPTOS_HASH_FILE_NAME`, default `hash.txt`, beside the running binary; an absolute name is
//! used as it is) to link `/pkg/topcluck.<hash>.js` and the others. [`check`] makes sure, before
//! the server listens, that the file is there and names files the site root has.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use leptos::config::LeptosOptions;
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// Files whose name carries the hash of their content: cached for a year, never revalidated.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Files under `/pkg` without a hashed name: kept, but revalidated before each use.
pub const REVALIDATE: &str = "no-cache";
/// The site's other files (the favicon): an hour.
pub const PUBLIC_FILE: &str = "public, max-age=3600";

/// The length of cargo-leptos's hashes: MD5 (16 bytes) in unpadded base64url.
const HASH_LEN: usize = 22;

/// The site root's files, with the headers above; `not_found` answers every path that is not a
/// file there (and every request that is not `GET` or `HEAD`), always with status 404.
pub fn service<S>(options: &LeptosOptions, not_found: S) -> BoxCloneSyncService<Request, Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
{
    let files = ServeDir::new(&*options.site_root)
        .append_index_html_on_directories(false)
        .precompressed_br()
        .precompressed_gzip()
        .call_fallback_on_method_not_allowed(true)
        .not_found_service(not_found);
    BoxCloneSyncService::new(
        ServiceBuilder::new()
            .layer(middleware::from_fn_with_state(
                Arc::new(CachePolicy::new(options)),
                cache_control,
            ))
            .layer(SetResponseHeaderLayer::appending(
                header::VARY,
                |response: &Response| {
                    is_file(response).then_some(HeaderValue::from_static("accept-encoding"))
                },
            ))
            .map_response(IntoResponse::into_response)
            .service(files),
    )
}

/// Which `Cache-Control` a file gets, from its path.
#[derive(Debug)]
pub struct CachePolicy {
    /// `/pkg/`, from `LEPTOS_SITE_PKG_DIR`.
    pkg_prefix: String,
    /// `LEPTOS_HASH_FILES`: the names under `/pkg` carry their content's hash.
    hashed_names: bool,
}

impl CachePolicy {
    pub fn new(options: &LeptosOptions) -> Self {
        Self {
            pkg_prefix: format!("/{}/", options.site_pkg_dir.trim_matches('/')),
            hashed_names: options.hash_files,
        }
    }

    /// The `Cache-Control` of the file at `path` (the request's path).
    pub fn for_path(&self, path: &str) -> &'static str {
        match path.strip_prefix(&self.pkg_prefix) {
            Some(file) if self.hashed_names && carries_hash(file) => IMMUTABLE,
            Some(_) => REVALIDATE,
            None => PUBLIC_FILE,
        }
    }
}

/// Whether the last segment of `path` is `<stem>.<hash>.<ext>` as cargo-leptos names it.
fn carries_hash(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let mut parts = name.rsplit('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(ext), Some(hash), Some(stem)) => !ext.is_empty() && !stem.is_empty() && is_hash(hash),
        _ => false,
    }
}

/// A hash as cargo-leptos writes it: [`HASH_LEN`] characters of unpadded base64url.
fn is_hash(hash: &str) -> bool {
    hash.len() == HASH_LEN
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `Cache-Control` on the files `ServeDir` answers (tower-http's `SetResponseHeader` sees only
/// the response, and this depends on the request's path).
async fn cache_control(State(policy): State<Arc<CachePolicy>>, request: Request, next: Next) -> Response {
    let value = policy.for_path(request.uri().path());
    let mut response = next.run(request).await;
    if is_file(&response) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// A file (or part of one, or "not modified"): not the 404 service's answer, nor an error.
fn is_file<B>(response: &Response<B>) -> bool {
    matches!(
        response.status(),
        StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
    )
}

/// Why the server cannot serve the site it was given.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(
        "site: LEPTOS_HASH_FILES: true, but the hash file {path} cannot be read ({source}): put the \
         hash.txt of the build that made the site root beside the server binary, or point \
         LEPTOS_HASH_FILE_NAME at it"
    )]
    HashFileUnreadable { path: PathBuf, source: std::io::Error },
    #[error(
        "site: LEPTOS_HASH_FILES: true, but the hash file {path} has no single `{kind}: <hash>` line \
         (a 22-character hash, as cargo-leptos writes it)"
    )]
    HashMissing { path: PathBuf, kind: &'static str },
    #[error(
        "site: LEPTOS_HASH_FILES: true, but {file} is not in the site root: the hash file {path} \
         and LEPTOS_SITE_ROOT are from different builds"
    )]
    FileMissing { file: PathBuf, path: PathBuf },
}

/// The hashed bundle of a build: the file names `hash.txt` gives (`topcluck.<hash>.js`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashedBundle {
    pub js: String,
    pub wasm: String,
    pub css: String,
}

/// Where Leptos reads the hash file: `LEPTOS_HASH_FILE_NAME` beside the running binary (as
/// `leptos::HydrationScripts` and `leptos_meta::HashedStylesheet` compute it).
pub fn hash_file_path(options: &LeptosOptions) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default()
        .join(&*options.hash_file)
}

/// With hash files on, the bundle the pages will link to, after checking that the hash file
/// can be read and that the site root has those files; `None` with hash files off. (Leptos
/// panics on every page it renders when the hash file cannot be read.)
pub fn check(options: &LeptosOptions) -> Result<Option<HashedBundle>, SiteError> {
    if !options.hash_files {
        return Ok(None);
    }
    let path = hash_file_path(options);
    let text = std::fs::read_to_string(&path).map_err(|source| SiteError::HashFileUnreadable {
        path: path.clone(),
        source,
    })?;
    // Read as Leptos reads it (`HydrationScripts`, `HashedStylesheet`): each line trimmed, the
    // name before the first `:` exactly, the hash trimmed; Leptos appends every matching line,
    // so exactly one per kind is accepted, and only a hash as cargo-leptos writes it.
    let hash = |kind: &'static str| {
        let mut lines = text
            .lines()
            .filter_map(|line| line.trim().split_once(':'))
            .filter(|(name, _)| *name == kind)
            .map(|(_, hash)| hash.trim());
        match (lines.next(), lines.next()) {
            (Some(hash), None) if is_hash(hash) => Ok(format!("{}.{hash}.{kind}", options.output_name)),
            _ => Err(SiteError::HashMissing {
                path: path.clone(),
                kind,
            }),
        }
    };
    let bundle = HashedBundle {
        js: hash("js")?,
        wasm: hash("wasm")?,
        css: hash("css")?,
    };
    let pkg = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    for name in [&bundle.js, &bundle.wasm, &bundle.css] {
        let file = pkg.join(name);
        if !file.is_file() {
            return Err(SiteError::FileMissing { file, path });
        }
    }
    Ok(Some(bundle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_with_a_hash_are_hashed() {
        let hashed = [
            "topcluck.2wXmA5yFZ_1tUdeQnJ-kqw.wasm",
            "topcluck.2wXmA5yFZ_1tUdeQnJ-kqw.js",
            "sub/dir/topcluck.2wXmA5yFZ_1tUdeQnJ-kqw.css",
            "__wasm_split.2wXmA5yFZ_1tUdeQnJ-kqw.js",
        ];
        for name in hashed {
            assert!(carries_hash(name), "{name}");
        }
        let plain = [
            "topcluck.wasm",
            "topcluck.js",
            "2wXmA5yFZ_1tUdeQnJ-kqw.wasm",
            ".2wXmA5yFZ_1tUdeQnJ-kqw.js",
            "topcluck.2wXmA5yFZ_1tUdeQnJ-kqw.",
            "topcluck.2wXmA5yFZ_1tUdeQnJ-kq.js",
            "topcluck.2wXmA5yFZ_1tUdeQnJ-kqwx.js",
            "topcluck.2wXmA5yFZ_1tUdeQnJ+kqw.js",
            "topcluck.2wXmA5yFZ_1tUdeQnJ-kqw.js/",
        ];
        for name in plain {
            assert!(!carries_hash(name), "{name}");
        }
    }

    #[test]
    fn pkg_files_are_immutable_only_with_hashed_names() {
        let options = |hash_files| {
            LeptosOptions::builder()
                .output_name("topcluck")
                .hash_files(hash_files)
                .build()
        };
        let on = CachePolicy::new(&options(true));
        let off = CachePolicy::new(&options(false));
        let hashed = "/pkg/topcluck.2wXmA5yFZ_1tUdeQnJ-kqw.wasm";
        assert_eq!(on.for_path(hashed), IMMUTABLE);
        assert_eq!(off.for_path(hashed), REVALIDATE);
        assert_eq!(on.for_path("/pkg/snippets/x/inline0.js"), REVALIDATE);
        assert_eq!(on.for_path("/pkg/topcluck.wasm"), REVALIDATE);
        assert_eq!(on.for_path("/favicon.svg"), PUBLIC_FILE);
        assert_eq!(on.for_path("/topcluck.2wXmA5yFZ_1tUdeQnJ-kqw.js"), PUBLIC_FILE);
    }
}
