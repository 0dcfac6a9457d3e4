//! How the site's files are delivered (`server/src/assets.rs`), by a real BFF over HTTP from a
//! site root made here the way `cargo leptos build --release --precompress` with `hash-files`
//! makes it: `pkg/topcluck.<hash>.{js,wasm,css}` each with a brotli `.br` and a gzip `.gz`
//! copy, `favicon.svg` likewise, and `hash.txt` naming the three hashes.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use support::{Bff, Harness, NEW_KEY, http, listener, raw};

const JS_HASH: &str = "Jq0kC1x8a-Uo3SKt2Q9v_w";
const WASM_HASH: &str = "2wXmA5yFZ_1tUdeQnJ-kqw";
const CSS_HASH: &str = "c5S_6u2Y0zH-yB1nqQ7ePg";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// In the file beside the site root: a request that escapes the root would show it.
const SECRET: &str = "the contents of a file outside the site root";

/// A site root on disk, with the bytes of its bundle.
struct Site {
    dir: tempfile::TempDir,
    wasm: Vec<u8>,
    js: Vec<u8>,
    css: Vec<u8>,
    favicon: Vec<u8>,
}

impl Site {
    /// `pkg/topcluck.<hash>.*` (or `pkg/topcluck.*` when not `hashed`), each precompressed,
    /// `favicon.svg`, and `hash.txt` outside the root.
    fn new(hashed: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let site = Self {
            dir,
            // Shaped like the real files (the WASM magic number, then compressible content).
            wasm: [b"\0asm\x01\0\0\0".as_slice(), &b"(func $hydrate) ".repeat(400)].concat(),
            js: b"export function hydrate() { return __wbg_init(); }\n".repeat(100),
            css: b".page { margin: 0 auto; max-width: 40rem; }\n".repeat(100),
            favicon: b"<svg xmlns=\"http://www.w3.org/2000/svg\"><circle r=\"8\"/></svg>\n".repeat(20),
        };
        let name = |hash: &str, ext: &str| match hashed {
            true => format!("pkg/topcluck.{hash}.{ext}"),
            false => format!("pkg/topcluck.{ext}"),
        };
        site.precompressed(&name(WASM_HASH, "wasm"), &site.wasm);
        site.precompressed(&name(JS_HASH, "js"), &site.js);
        site.precompressed(&name(CSS_HASH, "css"), &site.css);
        site.precompressed("favicon.svg", &site.favicon);
        std::fs::write(site.dir.path().join("Cargo.toml"), SECRET).unwrap();
        std::fs::create_dir_all(site.dir.path().join("bin")).unwrap();
        std::fs::write(
            site.hash_file(),
            format!("js: {JS_HASH}\nwasm: {WASM_HASH}\ncss: {CSS_HASH}\n"),
        )
        .unwrap();
        site
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("site")
    }

    /// Where cargo-leptos would write it: beside the server binary (here a directory of its
    /// own, given to Leptos as an absolute `hash_file`).
    fn hash_file(&self) -> PathBuf {
        self.dir.path().join("bin/hash.txt")
    }

    /// Writes `bytes` at `path` in the root, with `path.br` and `path.gz` beside it.
    fn precompressed(&self, path: &str, bytes: &[u8]) {
        let path = self.root().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        std::fs::write(with_suffix(&path, ".br"), brotli(bytes)).unwrap();
        std::fs::write(with_suffix(&path, ".gz"), gzip(bytes)).unwrap();
    }

    fn read(&self, path: &str) -> Vec<u8> {
        std::fs::read(self.root().join(path)).unwrap()
    }

    /// A BFF serving this site, with hash files on or off.
    async fn serve(&self, hash_files: bool) -> (Harness, Bff) {
        let listener = listener().await;
        let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
        let root = self.root().to_str().unwrap().to_owned();
        let hash_file = self.hash_file().to_str().unwrap().to_owned();
        let bff = harness
            .bff_with_site(listener, NEW_KEY, &[], |options| {
                options.site_root = root.into();
                options.hash_file = hash_file.into();
                options.hash_files = hash_files;
            })
            .await;
        (harness, bff)
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        writer.write_all(bytes).unwrap();
    }
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// One `GET`, with these request headers: status, headers, body.
async fn get(bff: &Bff, path: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = http().get(bff.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map_or("", |v| v.to_str().unwrap())
}

/// Whether `Vary` (all its fields, in every `Vary` line) names `field`.
fn varies_by(headers: &HeaderMap, field: &str) -> bool {
    headers
        .get_all("vary")
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(field))
}

#[tokio::test]
async fn the_hashed_wasm_is_sent_brotli_gzip_or_as_is_and_cached_for_good() {
    let site = Site::new(true);
    let (_harness, bff) = site.serve(true).await;
    let path = format!("/pkg/topcluck.{WASM_HASH}.wasm");
    let file = format!("pkg/topcluck.{WASM_HASH}.wasm");
    // (Accept-Encoding, the Content-Encoding expected, the file whose bytes are expected)
    let rows = [
        (Some("br"), Some("br"), format!("{file}.br")),
        (Some("gzip, deflate, br, zstd"), Some("br"), format!("{file}.br")),
        (Some("gzip"), Some("gzip"), format!("{file}.gz")),
        (Some("br;q=0, gzip"), Some("gzip"), format!("{file}.gz")),
        (Some("identity"), None, file.clone()),
        (None, None, file.clone()),
    ];
    for (accept, encoding, served) in rows {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("accept-encoding", *a)).collect();
        let (status, headers, body) = get(&bff, &path, &headers).await;
        let row = format!("Accept-Encoding {accept:?}: {headers:?}");
        assert_eq!(status, StatusCode::OK, "{row}");
        assert_eq!(
            header(&headers, "content-encoding"),
            encoding.unwrap_or(""),
            "{row}"
        );
        assert_eq!(header(&headers, "content-type"), "application/wasm", "{row}");
        assert_eq!(header(&headers, "cache-control"), IMMUTABLE, "{row}");
        assert!(varies_by(&headers, "accept-encoding"), "{row}");
        assert!(
            !varies_by(&headers, "cookie"),
            "an asset is the same for everyone: {row}"
        );
        assert_eq!(body, site.read(&served), "{row}: not the bytes of {served}");
        let decoded = match encoding {
            Some("br") => unbrotli(&body),
            Some(_) => gunzip(&body),
            None => body,
        };
        assert_eq!(decoded, site.wasm, "{row}");
        // The edges still apply: an asset runs nothing on its own, and is never sniffed.
        assert_eq!(
            header(&headers, "content-security-policy"),
            "default-src 'none'; frame-ancestors 'none'",
            "{row}"
        );
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff", "{row}");
    }
}

#[tokio::test]
async fn a_file_asked_again_is_not_modified_with_the_same_cache_headers() {
    let site = Site::new(true);
    let (_harness, bff) = site.serve(true).await;
    let path = format!("/pkg/topcluck.{JS_HASH}.js");
    let (status, headers, _) = get(&bff, &path, &[("accept-encoding", "br")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/javascript");
    let last_modified = header(&headers, "last-modified").to_owned();
    assert!(!last_modified.is_empty(), "{headers:?}");
    let (status, headers, body) = get(
        &bff,
        &path,
        &[("accept-encoding", "br"), ("if-modified-since", &last_modified)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED, "{headers:?}");
    assert!(body.is_empty());
    assert_eq!(header(&headers, "cache-control"), IMMUTABLE, "{headers:?}");
    assert!(varies_by(&headers, "accept-encoding"), "{headers:?}");
}

#[tokio::test]
async fn the_page_links_the_hashed_bundle_and_is_never_cached() {
    let site = Site::new(true);
    let (_harness, bff) = site.serve(true).await;
    let (status, headers, body) = get(&bff, "/", &[("accept-encoding", "br, gzip")]).await;
    let page = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "cache-control"), "no-store", "{headers:?}");
    assert!(varies_by(&headers, "cookie"), "{headers:?}");
    assert_eq!(header(&headers, "content-encoding"), "", "{headers:?}");
    let css = format!("/pkg/topcluck.{CSS_HASH}.css");
    let js = format!("/pkg/topcluck.{JS_HASH}.js");
    let wasm = format!("/pkg/topcluck.{WASM_HASH}.wasm");
    assert!(
        page.contains(&format!(r#"<link id="leptos" rel="stylesheet" href="{css}">"#)),
        "no hashed stylesheet in {page}"
    );
    assert!(
        page.contains(&format!(r#"href="{js}""#)),
        "no hashed JS in {page}"
    );
    assert!(
        page.contains(&format!(r#"href="{wasm}""#)),
        "no hashed WASM in {page}"
    );
    for unhashed in [
        "/pkg/topcluck.css",
        "/pkg/topcluck.js",
        "/pkg/topcluck.wasm",
        "_bg.wasm",
    ] {
        assert!(!page.contains(unhashed), "{unhashed} in {page}");
    }
    // The hydration script still carries the response's CSP nonce.
    let policy = header(&headers, "content-security-policy");
    let nonce = policy
        .split_whitespace()
        .find_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no nonce in {policy}"));
    assert!(
        page.contains(&format!(r#"<script type="module" nonce="{nonce}">"#)),
        "{page}"
    );
    // What the page links is there, and may be kept for good.
    for (path, content_type) in [
        (css, "text/css"),
        (js, "text/javascript"),
        (wasm, "application/wasm"),
    ] {
        let (status, headers, _) = get(&bff, &path, &[("accept-encoding", "gzip")]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(header(&headers, "content-type"), content_type, "{path}");
        assert_eq!(header(&headers, "content-encoding"), "gzip", "{path}");
        assert_eq!(header(&headers, "cache-control"), IMMUTABLE, "{path}");
    }
}

#[tokio::test]
async fn a_logged_in_farmer_gets_the_same_cacheable_files_and_private_pages() {
    let site = Site::new(true);
    let (_harness, bff) = site.serve(true).await;
    let (cookie, _) = bff.login("ada").await;
    let path = format!("/pkg/topcluck.{WASM_HASH}.wasm");
    let (status, headers, body) = get(&bff, &path, &[("cookie", &cookie), ("accept-encoding", "br")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, site.read(&format!("pkg/topcluck.{WASM_HASH}.wasm.br")));
    assert_eq!(header(&headers, "cache-control"), IMMUTABLE, "{headers:?}");
    assert!(headers.get("set-cookie").is_none(), "{headers:?}");
    assert!(!varies_by(&headers, "cookie"), "{headers:?}");
    let (status, headers, body) = get(&bff, "/", &[("cookie", &cookie)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "cache-control"), "no-store", "{headers:?}");
    assert!(varies_by(&headers, "cookie"), "{headers:?}");
    let page = String::from_utf8(body).unwrap();
    assert!(
        page.contains("Ada Henhouse") && page.contains("Log out"),
        "not rendered logged in: {page}"
    );
}

#[tokio::test]
async fn files_outside_pkg_are_cached_for_an_hour_not_for_good() {
    let site = Site::new(true);
    let (_harness, bff) = site.serve(true).await;
    let (status, headers, body) = get(&bff, "/favicon.svg", &[("accept-encoding", "br")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "image/svg+xml");
    assert_eq!(header(&headers, "content-encoding"), "br");
    assert_eq!(unbrotli(&body), site.favicon);
    assert_eq!(
        header(&headers, "cache-control"),
        "public, max-age=3600",
        "{headers:?}"
    );
    assert!(varies_by(&headers, "accept-encoding"), "{headers:?}");
}

#[tokio::test]
async fn a_missing_file_is_the_404_page_never_cached() {
    let site = Site::new(true);
    let (_harness, bff) = site.serve(true).await;
    let other_build = format!("/pkg/topcluck.{JS_HASH}.wasm");
    for path in [
        other_build.as_str(),
        "/pkg/topcluck.wasm",
        "/pkg/",
        "/pkg",
        "/no/such/page",
    ] {
        let (status, headers, body) = get(&bff, path, &[("accept-encoding", "br, gzip")]).await;
        let page = String::from_utf8_lossy(&body);
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            header(&headers, "cache-control"),
            "no-store",
            "{path}: {headers:?}"
        );
        assert!(!varies_by(&headers, "accept-encoding"), "{path}: {headers:?}");
        assert!(page.contains("Page not found"), "{path}: {page}");
    }
}

#[tokio::test]
async fn paths_out_of_the_site_root_are_not_served() {
    let site = Site::new(true);
    let (_harness, bff) = site.serve(true).await;
    // `..` is refused even where it would stay inside the root (`/pkg/../favicon.svg`).
    let targets = [
        "/../Cargo.toml",
        "/pkg/../../Cargo.toml",
        "/pkg/../Cargo.toml",
        "/pkg/../favicon.svg",
        "/%2e%2e/Cargo.toml",
        "/pkg/%2e%2e/%2e%2e/Cargo.toml",
        "/pkg/..%2f..%2fCargo.toml",
        "/pkg/%2E%2E%2F%2E%2E%2FCargo.toml",
        "/..%5cCargo.toml",
        "/pkg/..\\..\\Cargo.toml",
        "/%252e%252e/Cargo.toml",
        "//Cargo.toml",
    ];
    for target in targets {
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nAccept-Encoding: br, gzip\r\nConnection: close\r\n\r\n",
            bff.base.trim_start_matches("http://")
        );
        let (head, body) = raw(&bff.base, request).await;
        let status = head.split(' ').nth(1).unwrap_or_default();
        assert!(status == "404" || status == "400", "{target}: {head}");
        assert!(
            !String::from_utf8_lossy(&body).contains(SECRET),
            "{target} served a file outside the root"
        );
        assert!(!head.contains("immutable"), "{target}: {head}");
    }
}

#[tokio::test]
async fn without_hash_files_pkg_files_are_revalidated() {
    let site = Site::new(false);
    let (_harness, bff) = site.serve(false).await;
    for path in ["/pkg/topcluck.wasm", "/pkg/topcluck.js", "/pkg/topcluck.css"] {
        let (status, headers, _) = get(&bff, path, &[("accept-encoding", "br")]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(header(&headers, "content-encoding"), "br", "{path}");
        assert_eq!(
            header(&headers, "cache-control"),
            "no-cache",
            "{path}: {headers:?}"
        );
        assert!(varies_by(&headers, "accept-encoding"), "{path}: {headers:?}");
    }
    let (_, _, page) = get(&bff, "/", &[]).await;
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains(r#"<link id="leptos" rel="stylesheet" href="/pkg/topcluck.css">"#),
        "{page}"
    );
    assert!(page.contains(r#"href="/pkg/topcluck.js""#), "{page}");
}

#[tokio::test]
async fn hashed_looking_names_are_revalidated_when_hash_files_are_off() {
    let site = Site::new(true);
    let (_harness, bff) = site.serve(false).await;
    let (status, headers, _) = get(&bff, &format!("/pkg/topcluck.{WASM_HASH}.wasm"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "cache-control"), "no-cache", "{headers:?}");
}

#[test]
fn the_hash_file_must_name_files_of_the_site_root() {
    use leptos::prelude::LeptosOptions;
    use server::assets::{HashedBundle, SiteError, check};
    let site = Site::new(true);
    let options = |hash_file: &Path| {
        let mut options = LeptosOptions::builder().output_name("topcluck").build();
        options.site_root = site.root().to_str().unwrap().into();
        options.hash_file = hash_file.to_str().unwrap().into();
        options.hash_files = true;
        options
    };
    assert_eq!(
        check(&options(&site.hash_file())).unwrap(),
        Some(HashedBundle {
            js: format!("topcluck.{JS_HASH}.js"),
            wasm: format!("topcluck.{WASM_HASH}.wasm"),
            css: format!("topcluck.{CSS_HASH}.css"),
        })
    );
    let missing = site.dir.path().join("bin/no-such-hash.txt");
    assert!(matches!(
        check(&options(&missing)),
        Err(SiteError::HashFileUnreadable { .. })
    ));
    let other_build = site.dir.path().join("bin/other.txt");
    std::fs::write(
        &other_build,
        format!("js: {JS_HASH}\nwasm: {JS_HASH}\ncss: {CSS_HASH}\n"),
    )
    .unwrap();
    let error = check(&options(&other_build)).unwrap_err();
    assert!(matches!(error, SiteError::FileMissing { .. }), "{error}");
    assert!(
        error.to_string().starts_with("site: LEPTOS_HASH_FILES: "),
        "{error}"
    );
    let no_css = site.dir.path().join("bin/no-css.txt");
    std::fs::write(&no_css, format!("js: {JS_HASH}\nwasm: {WASM_HASH}\n")).unwrap();
    assert!(matches!(
        check(&options(&no_css)),
        Err(SiteError::HashMissing { kind: "css", .. })
    ));
    // Lines Leptos would read otherwise than the check: a name with spaces around it (Leptos
    // matches it exactly), a kind named twice (Leptos would append both hashes), and a hash
    // that is not cargo-leptos's (it would end up in the page's script).
    for (row, text) in [
        (
            "spaced name",
            format!("js : {JS_HASH}\nwasm: {WASM_HASH}\ncss: {CSS_HASH}\n"),
        ),
        (
            "twice",
            format!("js: {JS_HASH}\njs: {JS_HASH}\nwasm: {WASM_HASH}\ncss: {CSS_HASH}\n"),
        ),
        (
            "not a hash",
            format!("js: {JS_HASH}\"</script>\nwasm: {WASM_HASH}\ncss: {CSS_HASH}\n"),
        ),
    ] {
        let file = site.dir.path().join("bin/odd.txt");
        std::fs::write(&file, text).unwrap();
        assert!(
            matches!(
                check(&options(&file)),
                Err(SiteError::HashMissing { kind: "js", .. })
            ),
            "{row}"
        );
    }
    let mut off = options(&missing);
    off.hash_files = false;
    assert_eq!(check(&off).unwrap(), None);
}
