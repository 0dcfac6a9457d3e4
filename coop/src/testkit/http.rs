//! Plain HTTP for tests: clients that show redirects instead of following them, loopback
//! listeners, and requests written byte for byte (which clients would normalise).

use std::time::{Duration, Instant};

use serde_json::Value;

/// An HTTP client without cookies that shows redirects instead of following them.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A client backend: [`http`] with a 10-second deadline per request.
pub fn backend() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A listener on a free loopback port.
pub async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// `N` listeners on free loopback ports, and their ports (known before anything listens on
/// them: a provider registers redirect URIs for them first).
pub async fn listeners<const N: usize>() -> ([tokio::net::TcpListener; N], [u16; N]) {
    let mut listeners = Vec::with_capacity(N);
    for _ in 0..N {
        listeners.push(listener().await);
    }
    let ports = std::array::from_fn(|i| listeners[i].local_addr().unwrap().port());
    let Ok(listeners) = listeners.try_into() else {
        unreachable!("N listeners")
    };
    (listeners, ports)
}

/// `GET url`, its JSON body.
pub async fn get_json(url: &str) -> Value {
    json_of(backend().get(url)).await
}

/// Sends `request` (any status is an answer; no answer at all fails the test).
pub async fn fetch(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.unwrap()
}

/// Sends `request`; the answer's body as text (whatever its status).
pub async fn text_of(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// Sends `request`; the answer's JSON body (whatever its status).
pub async fn json_of<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    request.send().await.unwrap().json().await.unwrap()
}

/// Whether `url` answered 2xx within `limit` (asked every 50 ms, 2 s per attempt).
pub async fn wait_until_answers(url: &str, limit: Duration) -> bool {
    let started = Instant::now();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return true;
        }
        if started.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `target` as the request line's target, byte for byte (clients normalise `..` away),
/// with this cookie and `X-CSRF: 1`; returns the status.
pub async fn raw_get(base: &str, target: &str, cookie: &str) -> u16 {
    let authority = base.trim_start_matches("http://");
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nCookie: {cookie}\r\nX-CSRF: 1\r\nConnection: close\r\n\r\n"
    );
    let (head, _) = raw(base, &request).await;
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

/// Sends `request` as it is (text or any bytes); returns the response head, byte for byte as
/// the server sent it (lower-cased), and the body.
pub async fn raw(base: &str, request: impl AsRef<[u8]>) -> (String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request.as_ref()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    (
        String::from_utf8_lossy(&response[..end]).to_ascii_lowercase(),
        response[end + 4..].to_vec(),
    )
}
