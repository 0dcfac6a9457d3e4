//! What the fuzz targets share: a runtime for the async code under test and the fixed cookie
//! key ring, each made once.

use std::sync::OnceLock;

use server::cookies::KeyRing;
use server::settings::Secret;

/// A current-thread runtime: one input at a time.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    })
}

/// The cookie key ring of one fixed key.
pub fn keys() -> &'static KeyRing {
    static KEYS: OnceLock<KeyRing> = OnceLock::new();
    KEYS.get_or_init(|| {
        KeyRing::new(&[Secret::new("bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0")]).expect("the fixed key")
    })
}
