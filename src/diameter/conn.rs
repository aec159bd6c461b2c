//! One Diameter transport connection on a shard: one task that reads (feeding the pool) and
//! writes (the pool's output for this peer, in order) at the same time, until either side ends it.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;

use bytes::Bytes;
use futures_lite::{AsyncRead, AsyncWrite};
use glommio::channels::local_channel::{self, LocalReceiver, LocalSender};
use glommio::net::TcpStream;
use hearth_core::diameter::peer::PeerId;

use super::DiameterLink;

/// Bytes read from the socket per read call.
const READ_CHUNK: usize = 64 * 1024;

/// What the link hands a connection's writer.
pub(super) enum Outbound {
    /// Bytes to write, in order.
    Bytes(Bytes),
    /// Close once everything before this is written.
    Close,
}

/// The link's side of one connection (or connection attempt) of a peer.
pub(super) struct Conn {
    tx: LocalSender<Outbound>,
    /// Set once the pool is done with this connection (it asked to close it, or was told it
    /// ended): nothing more is reported to the pool about it.
    ended: Cell<bool>,
    /// The remote end.
    pub(super) remote: Cell<Option<SocketAddr>>,
}

impl Conn {
    /// A connection slot and the receiving end its task writes from.
    pub(super) fn new(remote: Option<SocketAddr>) -> (Rc<Self>, LocalReceiver<Outbound>) {
        let (tx, rx) = local_channel::new_unbounded();
        let conn = Rc::new(Self {
            tx,
            ended: Cell::new(false),
            remote: Cell::new(remote),
        });
        (conn, rx)
    }

    /// Queues bytes for the writer.
    pub(super) fn send(&self, bytes: Bytes) {
        // The task may be gone already (the connection broke): the bytes are moot then.
        let _ = self.tx.try_send(Outbound::Bytes(bytes));
    }

    /// The pool is done with this connection: close it after the queued bytes.
    pub(super) fn close(&self) {
        self.ended.set(true);
        let _ = self.tx.try_send(Outbound::Close);
    }

    /// Whether the pool is done with it.
    pub(super) fn ended(&self) -> bool {
        self.ended.get()
    }

    /// Marks it ended; true if it was not already (so the caller reports it once).
    pub(super) fn end(&self) -> bool {
        !self.ended.replace(true)
    }
}

/// Opens an outgoing connection for `peer`, then serves it. A failed attempt is reported to the
/// pool unless the pool gave up on it meanwhile.
pub(super) async fn connect(
    link: Rc<DiameterLink>,
    peer: PeerId,
    addr: SocketAddr,
    conn: Rc<Conn>,
    rx: LocalReceiver<Outbound>,
) {
    let attempt = TcpStream::connect_timeout(addr, link.connect_timeout()).await;
    if conn.ended() {
        // The handshake timer fired or the link closed while connecting.
        return;
    }
    match attempt {
        Ok(stream) => {
            let _ = stream.set_nodelay(true);
            link.connection_up(peer, &conn, &stream);
            serve(link, peer, stream, conn, rx).await;
        }
        Err(error) => {
            tracing::debug!(shard = link.shard(), %addr, %error, "Diameter connection attempt failed");
            if conn.end() {
                link.connection_failed(peer, &conn);
            }
        }
    }
}

/// Reads and writes one connection until it ends: the remote end closes it or breaks, a write
/// fails or times out, or the pool asks for it to be closed (after its last bytes are written).
pub(super) async fn serve(
    link: Rc<DiameterLink>,
    peer: PeerId,
    stream: TcpStream,
    conn: Rc<Conn>,
    rx: LocalReceiver<Outbound>,
) {
    // A peer that stops reading cannot block our writes for long: the watchdog would notice
    // anyway, this frees the task.
    let _ = stream.set_write_timeout(Some(link.write_timeout()));
    let stream = RefCell::new(stream);
    let reader = async {
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            let n = match read(&stream, &mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if conn.ended() {
                // The pool closed this connection; what still arrives is of no use.
                continue;
            }
            if let Some(data) = buf.get(..n) {
                link.bytes_received(peer, data);
            }
        }
    };
    let writer = async {
        while let Some(outbound) = rx.recv().await {
            match outbound {
                Outbound::Bytes(bytes) => {
                    if write_all(&stream, &bytes).await.is_err() {
                        return;
                    }
                }
                Outbound::Close => return,
            }
        }
    };
    futures_lite::future::or(reader, writer).await;
    let _ = stream.into_inner().shutdown(Shutdown::Both).await;
    if conn.end() {
        link.connection_closed(peer, &conn);
    }
}

async fn read(stream: &RefCell<TcpStream>, buf: &mut [u8]) -> io::Result<usize> {
    // The reader and the writer are polled by one task in turn: the borrow never overlaps.
    poll_fn(|cx| Pin::new(&mut *stream.borrow_mut()).poll_read(cx, buf)).await
}

async fn write_all(stream: &RefCell<TcpStream>, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *stream.borrow_mut()).poll_write(cx, data)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        data = data.get(n..).unwrap_or_default();
    }
    Ok(())
}
