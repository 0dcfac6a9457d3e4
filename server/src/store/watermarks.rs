//! Logout watermarks: each accepted back-channel logout token also says "the provider ended
//! the login sessions of this `iss` and `sub` (and `sid`) at `ended_at`" ([`Watermark`],
//! recorded with the logout, [`Store::record_logout`](super::Store)). Every instance follows
//! them into memory ([`Watermarks`], like the revoked sessions, [`super::sessions`]), and the
//! gate refuses a session that logged in at or before a watermark of its farmer
//! ([`Watermarks::ends`]) — also a session the registry does not know: a cookie from before the
//! registry, a legacy session id, a session an older instance started during a rolling deploy,
//! a login that was completing when the logout arrived. The check is a hash lookup by `sub`
//! (or by `sid`, for tokens naming `sid` alone).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::{Store, StoreError, on_pool};

/// Rows re-read before the last one seen (see [`super::sessions`]: identities may become
/// visible out of order on PostgreSQL).
const OVERLAP: i64 = 256;

/// The provider ended the login sessions of `iss` and `sub` — all of them, or with `sid` those
/// of that `sid` and those without one — at `ended_at` (the BFF's clock). `sub` is `None` for a
/// token naming `sid` alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watermark {
    pub iss: String,
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub ended_at: i64,
}

/// A watermark as kept in memory, with its expiry.
#[derive(Clone, Debug)]
struct Kept {
    iss: String,
    sid: Option<String>,
    ended_at: i64,
    expires_at: i64,
}

type Row = (i64, String, Option<String>, Option<String>, i64, i64);

impl Store {
    /// The watermarks recorded after `seq` (with an overlap).
    async fn watermarks_after(&self, seq: i64) -> Result<Vec<Row>, StoreError> {
        Ok(on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "SELECT seq, iss, sub, sid, ended_at, expires_at FROM logout_watermarks WHERE seq > $1 ORDER BY seq",
            )
            .bind(seq - OVERLAP)
            .fetch_all(pool)
            .await?
        }))
    }
}

/// The watermarks this instance knows. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Watermarks {
    inner: Arc<RwLock<Known>>,
}

#[derive(Default)]
struct Known {
    /// By `sub`: tokens that named one.
    by_sub: HashMap<String, Vec<Kept>>,
    /// By `sid`: tokens that named `sid` alone.
    by_sid: HashMap<String, Vec<Kept>>,
    last_seq: i64,
}

impl Known {
    fn add(&mut self, mark: &Watermark, expires_at: i64) {
        let kept = Kept {
            iss: mark.iss.clone(),
            sid: mark.sid.clone(),
            ended_at: mark.ended_at,
            expires_at,
        };
        let list = match (&mark.sub, &mark.sid) {
            (Some(sub), _) => self.by_sub.entry(sub.clone()).or_default(),
            (None, Some(sid)) => self.by_sid.entry(sid.clone()).or_default(),
            (None, None) => return,
        };
        if !list
            .iter()
            .any(|k| k.iss == kept.iss && k.sid == kept.sid && k.ended_at >= kept.ended_at)
        {
            list.push(kept);
        }
    }
}

impl Watermarks {
    /// Whether a session of `iss` and `sub`, in the provider's login session `sid` (if known),
    /// that logged in at `logged_in_at`, was ended by the provider: a watermark of its `sid`
    /// (that provider session is over, so whenever its login was), or one of its farmer naming
    /// no `sid` (or any, when the session's is unknown) strictly after its login. Times are whole
    /// seconds on two clocks: a login in the very second of a farmer-wide logout is given the
    /// benefit of the doubt (it is most likely the one that followed it: a silent login after a
    /// revocation), while one in the ended provider session is refused by its `sid`.
    pub fn ends(&self, iss: &str, sub: &str, sid: Option<&str>, logged_in_at: i64) -> bool {
        let known = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let by_sub = known.by_sub.get(sub).into_iter().flatten().any(|k| {
            k.iss == iss
                && ((k.sid.is_some() && k.sid.as_deref() == sid)
                    || ((k.sid.is_none() || sid.is_none()) && logged_in_at < k.ended_at))
        });
        by_sub || sid.is_some_and(|sid| known.by_sid.get(sid).into_iter().flatten().any(|k| k.iss == iss))
    }

    /// Adds `mark` here at once (the store has it too, for the other instances).
    pub fn insert(&self, mark: &Watermark, expires_at: i64) {
        let mut known = self.inner.write().unwrap_or_else(|p| p.into_inner());
        known.add(mark, expires_at);
    }

    /// Reads what the store has that this instance does not, and forgets what expired.
    pub async fn refresh(&self, store: &Store, now: i64) -> Result<(), StoreError> {
        let last_seq = self.inner.read().unwrap_or_else(|p| p.into_inner()).last_seq;
        let rows = store.watermarks_after(last_seq).await?;
        let mut known = self.inner.write().unwrap_or_else(|p| p.into_inner());
        for (seq, iss, sub, sid, ended_at, expires_at) in rows {
            known.last_seq = known.last_seq.max(seq);
            // Re-read rows (the overlap) are added once: `add` skips what it holds.
            let mark = Watermark {
                iss,
                sub,
                sid,
                ended_at,
            };
            known.add(&mark, expires_at);
        }
        let live = |_: &String, list: &mut Vec<Kept>| {
            list.retain(|k| k.expires_at > now);
            !list.is_empty()
        };
        known.by_sub.retain(live);
        known.by_sid.retain(live);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(sub: Option<&str>, sid: Option<&str>, ended_at: i64) -> Watermark {
        Watermark {
            iss: "https://op".into(),
            sub: sub.map(Into::into),
            sid: sid.map(Into::into),
            ended_at,
        }
    }

    #[test]
    fn a_watermark_ends_the_sessions_it_names_that_logged_in_before_it() {
        let marks = Watermarks::default();
        marks.insert(&mark(Some("ada"), None, 100), 1000);
        marks.insert(&mark(Some("bert"), Some("s1"), 100), 1000);
        marks.insert(&mark(None, Some("s9"), 100), 1000);
        assert!(marks.ends("https://op", "ada", Some("x"), 99), "all of ada's");
        assert!(!marks.ends("https://op", "ada", None, 101), "a later login");
        assert!(
            !marks.ends("https://op", "ada", None, 100),
            "a login in the same second as a farmer-wide logout (a silent login after a revocation)"
        );
        assert!(
            marks.ends("https://op", "bert", Some("s1"), 150),
            "a session in the ended provider session, whenever it logged in"
        );
        assert!(!marks.ends("https://other", "ada", None, 50), "another issuer");
        assert!(marks.ends("https://op", "bert", Some("s1"), 50));
        assert!(
            marks.ends("https://op", "bert", None, 50),
            "a session without sid"
        );
        assert!(!marks.ends("https://op", "bert", Some("s2"), 50), "another sid");
        assert!(
            marks.ends("https://op", "cid", Some("s9"), 50),
            "a sid-only token"
        );
        assert!(!marks.ends("https://op", "cid", None, 50));
    }
}
