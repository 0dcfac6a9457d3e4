//! COOP's connections, each with a switch that cuts it off in the middle of its next answer:
//! the `reset_after_rotate` fault (`/dev/faults`). A handler reaches the switch of the
//! connection it answers on as [`ConnectInfo<CutSwitch>`] and arms it; the answer then goes out
//! as usual until its head and the first [`BODY_BYTES`] bytes of its body are written, and the
//! next write fails, so hyper aborts the connection. The client has read `200`, the headers
//! (`Content-Length` included) and a few bytes of JSON, then the connection ends: an error
//! reading the body, never a parseable answer.
//!
//! A body that fails to stream would not do: hyper stops at the error before it has written
//! anything, and the client sees no answer at all.
//!
//! [`ConnectInfo<CutSwitch>`]: axum::extract::ConnectInfo

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How many bytes of an armed answer's body get through before the connection is cut.
pub const BODY_BYTES: usize = 16;

/// The end of an HTTP/1.1 message head.
const HEAD_END: &[u8] = b"\r\n\r\n";

/// A TCP listener whose connections can be cut ([`CutIo`]).
pub struct CuttableListener(pub TcpListener);

impl Listener for CuttableListener {
    type Io = CutIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CutIo, SocketAddr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        let io = CutIo {
            inner: stream,
            switch: CutSwitch::default(),
        };
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Listener::local_addr(&self.0)
    }
}

/// The switch of one connection.
#[derive(Clone, Debug, Default)]
pub struct CutSwitch(Arc<Mutex<Phase>>);

impl CutSwitch {
    /// Cuts the connection once the head and [`BODY_BYTES`] bytes of the body of the next
    /// answer written on it are out.
    pub fn cut_next_answer(&self) {
        *self.phase() = Phase::Head { matched: 0 };
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Connected<IncomingStream<'_, CuttableListener>> for CutSwitch {
    fn connect_info(stream: IncomingStream<'_, CuttableListener>) -> Self {
        stream.io().switch.clone()
    }
}

/// Where a connection is in cutting its answer off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// Not armed: everything is written.
    #[default]
    Off,
    /// Writing the head; `matched` bytes of [`HEAD_END`] seen last.
    Head { matched: usize },
    /// Writing the body; `left` bytes more may go.
    Body { left: usize },
    /// Cut: every write fails.
    Cut,
}

impl Phase {
    /// How many of `buf`'s bytes may be written.
    fn allowance(self, buf: &[u8]) -> usize {
        match self {
            Self::Off => buf.len(),
            Self::Head { matched } => match head_end(matched, buf) {
                Ok(end) => buf.len().min(end + BODY_BYTES),
                Err(_) => buf.len(),
            },
            Self::Body { left } => buf.len().min(left),
            Self::Cut => 0,
        }
    }

    /// The phase once `written` has gone out (no more than [`Phase::allowance`] allowed).
    fn after(self, written: &[u8]) -> Self {
        let left = match self {
            Self::Off | Self::Cut => return self,
            Self::Head { matched } => match head_end(matched, written) {
                Ok(end) => BODY_BYTES - (written.len() - end),
                Err(matched) => return Self::Head { matched },
            },
            Self::Body { left } => left - written.len(),
        };
        if left == 0 { Self::Cut } else { Self::Body { left } }
    }
}

/// Where in `buf` the head ends (just after [`HEAD_END`]), given `matched` bytes of it seen
/// before `buf`; or how many are matched at the end of `buf`.
fn head_end(mut matched: usize, buf: &[u8]) -> Result<usize, usize> {
    for (at, &byte) in buf.iter().enumerate() {
        matched = if byte == HEAD_END[matched] {
            matched + 1
        } else if byte == HEAD_END[0] {
            1
        } else {
            0
        };
        if matched == HEAD_END.len() {
            return Ok(at + 1);
        }
    }
    Err(matched)
}

/// A TCP stream that fails its writes once its [`CutSwitch`] says so.
pub struct CutIo {
    inner: TcpStream,
    switch: CutSwitch,
}

impl AsyncRead for CutIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CutIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let phase = *self.switch.phase();
        if phase == Phase::Off {
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        }
        let allowed = phase.allowance(buf);
        if allowed == 0 && !buf.is_empty() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "answer cut off (the reset_after_rotate fault)",
            )));
        }
        let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &buf[..allowed]))?;
        *self.switch.phase() = phase.after(&buf[..written]);
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if *self.switch.phase() == Phase::Off {
            return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        }
        // Armed: one slice at a time, each counted.
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &b[..]);
        self.poll_write(cx, first)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `writes` through the phases from armed; what gets out of each.
    fn out(writes: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut phase = Phase::Head { matched: 0 };
        writes
            .iter()
            .map(|buf| {
                let allowed = phase.allowance(buf);
                phase = phase.after(&buf[..allowed]);
                buf[..allowed].to_vec()
            })
            .collect()
    }

    #[test]
    fn the_head_and_a_few_body_bytes_get_out_and_nothing_after() {
        let body = br#"{"access_token":"eyJhbGciOiJFUzI1NiJ9.e30.sig"}"#;
        let answer = [&b"HTTP/1.1 200 OK\r\ncontent-length: 48\r\n\r\n"[..], body].concat();
        let head = answer.len() - body.len();
        assert_eq!(out(&[&answer]), [answer[..head + BODY_BYTES].to_vec()]);
        // Written in pieces, the end of the head split between them.
        let (a, b) = answer.split_at(head - 2);
        let (b, c) = b.split_at(2 + 5);
        assert_eq!(
            out(&[a, b, c, c]),
            [a.to_vec(), b.to_vec(), c[..BODY_BYTES - 5].to_vec(), vec![]]
        );
        // Near misses of the head's end are not its end.
        assert_eq!(head_end(0, b"a\r\n\rb\r\r\n\r\nc"), Ok(10));
        assert_eq!(head_end(2, b"\r\n"), Ok(2));
        assert_eq!(head_end(0, b"\r\n\r"), Err(3));
        assert_eq!(Phase::Off.allowance(b"anything"), 8);
    }
}
