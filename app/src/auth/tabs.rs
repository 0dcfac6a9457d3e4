//! One app across tabs: what one tab learns about the session (logged in, logged out, ended,
//! or a logout it could not confirm) it tells the others over a `BroadcastChannel`, so every
//! open tab shows the same farmer within a moment, with no polling of the server. Only these
//! four words cross: never a token, never session data (a tab that hears "logged in" asks the
//! BFF itself).

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BroadcastChannel, MessageEvent};

use super::session::SessionState;

/// The channel's name: the same-origin tabs of TopCluck.
const CHANNEL_NAME: &str = "topcluck-session";

/// What a tab tells the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TabNews {
    /// A login completed here: the others ask the BFF who is logged in.
    LoggedIn,
    /// The farmer logged out here: the others show nobody logged in.
    LoggedOut,
    /// The BFF said here that the session ended: the others ask to log in again.
    Ended,
    /// Something may have changed that this tab could not confirm (a logout whose answer was
    /// lost): the others ask the BFF.
    Unsure,
}

impl TabNews {
    fn word(self) -> &'static str {
        match self {
            Self::LoggedIn => "logged-in",
            Self::LoggedOut => "logged-out",
            Self::Ended => "ended",
            Self::Unsure => "unsure",
        }
    }

    fn from_word(word: &str) -> Option<Self> {
        [Self::LoggedIn, Self::LoggedOut, Self::Ended, Self::Unsure]
            .into_iter()
            .find(|news| news.word() == word)
    }
}

thread_local! {
    /// This tab's channel, once [`follow`] opened it: [`announce`] posts through it, so this
    /// tab does not hear its own news (a channel never receives what it posts itself).
    static CHANNEL: std::cell::RefCell<Option<BroadcastChannel>> = const { std::cell::RefCell::new(None) };
}

/// Tells the other tabs. (A browser without `BroadcastChannel` just does not.)
pub fn announce(news: TabNews) {
    let word = wasm_bindgen::JsValue::from_str(news.word());
    let posted = CHANNEL.with_borrow(|channel| channel.as_ref().map(|c| c.post_message(&word)));
    if posted.is_none()
        && let Ok(channel) = BroadcastChannel::new(CHANNEL_NAME)
    {
        let _ = channel.post_message(&word);
        // The message is already queued for every other tab.
        channel.close();
    }
}

/// Makes this tab follow what the others announce, for as long as the page lives.
pub fn follow(state: SessionState) {
    let Ok(channel) = BroadcastChannel::new(CHANNEL_NAME) else {
        return;
    };
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        match event.data().as_string().as_deref().and_then(TabNews::from_word) {
            Some(TabNews::LoggedOut) => state.log_out_elsewhere(),
            Some(TabNews::Ended) => state.end_elsewhere(),
            // Another farmer may have logged in: what this tab shows is dropped and loaded
            // again, and the BFF says who it is (or that nobody is).
            Some(TabNews::LoggedIn | TabNews::Unsure) => super::session::recheck_with_the_bff(state),
            None => {}
        }
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the page: the app is never unmounted.
    on_message.forget();
    CHANNEL.set(Some(channel));
}
