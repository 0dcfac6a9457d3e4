//! The server build's stand-in for the client: the same calls, which never finish. The server
//! renders the pages that make them, but only the browser runs them (see the module above).

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::pending;

use super::CallError;

pub async fn get<T: DeserializeOwned>(_path: &str) -> Result<T, CallError> {
    pending().await
}

pub async fn get_with_query<T: DeserializeOwned>(
    _path: &str,
    _query: &[(&str, &str)],
) -> Result<T, CallError> {
    pending().await
}

pub async fn post<T: DeserializeOwned>(_path: &str, _body: &impl Serialize) -> Result<T, CallError> {
    pending().await
}

pub async fn post_empty<T: DeserializeOwned>(_path: &str) -> Result<T, CallError> {
    pending().await
}
