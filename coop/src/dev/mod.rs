//! Development and test aids, served under `/dev/` only when `COOP_DEV_ENDPOINTS=1` (always on
//! when TopCluck embeds COOP):
//!
//! - `GET /dev/counters`: what the token endpoint did, and introspections ([`counters`]).
//! - `POST /dev/faults` `{"unavailable_seconds", "latency_ms", "answer_delay_ms",
//!   "unreadable_answer", "lost_answer_status", "reset_after_rotate", "html_after_rotate",
//!   "gateway_5xx_html", "extra_scope", "api_status", "api_status_seconds"}` and
//!   `DELETE /dev/faults`: make the token endpoint
//!   unavailable, slow before the work, or slow after it (so a client that gives up loses an
//!   answer whose work is done), answer HTML, lose a done work's answer (a gateway's bare 5xx;
//!   for refreshes also a connection cut mid-answer or a proxy's HTML page), answer refreshes
//!   with a gateway's HTML 5xx without doing them, or grant more scope than asked
//!   (`"extra_scope": "offline_access"`: code and refresh answers report it and their access
//!   tokens carry it); or make the egg API answer a 5xx for a while ([`faults`]).
//! - `GET /dev/clock` → `{"now", "offset_seconds"}` and `POST /dev/clock`
//!   `{"advance_seconds": n}`: move this COOP's clock forward, so codes, tokens and outages
//!   expire without waiting ([`clock`]).
//! - `GET /dev/grants?username=` (each grant with `id`, `client_id`, `offline`, `scope`,
//!   `revoked`, `created_at`, `last_used_at`), `POST /dev/grants/revoke` `{"username", "offline"?}` and
//!   `POST /dev/access-tokens/revoke` `{"username"}`: look at and revoke a farmer's grants
//!   (all, or only offline or online ones) or access tokens ([`grants`]).

mod clock;
mod counters;
mod faults;
mod grants;

use axum::Router;
use axum::routing::{get, post};

pub use counters::Counters;
pub use faults::Faults;

use crate::state::SharedCoop;

pub fn router() -> Router<SharedCoop> {
    Router::new()
        .route("/counters", get(counters::show))
        .route("/faults", post(faults::set).delete(faults::clear))
        .route("/clock", get(clock::show).post(clock::advance))
        .route("/grants", get(grants::list))
        .route("/grants/revoke", post(grants::revoke))
        .route("/access-tokens/revoke", post(grants::revoke_access_tokens))
}
