//! One HTTP/1.1 connection: read, parse (pipelined requests allowed), dispatch, write in order.

use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use hearth_core::http::{
    Limits, RequestParser, Response, encode_chunk, encode_chunked_head, encode_last_chunk,
    encode_response,
};

use super::{ListenerKind, Reply, Shard};

/// Bytes read from the socket per read call.
const READ_CHUNK: usize = 16 * 1024;
/// How often a connection waiting for bytes re-checks whether the server is shutting down.
const SHUTDOWN_POLL: Duration = Duration::from_millis(250);

/// Serves one connection until the peer closes it, an error or timeout ends it, or shutdown.
pub(super) async fn serve(shard: &Rc<Shard>, mut stream: TcpStream, kind: ListenerKind) {
    let _ = stream.set_nodelay(true);
    let cfg = &shard.config.http;
    let mut parser = RequestParser::new(Limits {
        max_request_line: cfg.max_request_line,
        max_head_bytes: cfg.max_head_bytes,
        max_headers: cfg.max_headers,
        max_body_bytes: cfg.max_body_bytes,
    });
    let mut inbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut outbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut scratch = vec![0u8; READ_CHUNK];
    let idle_timeout = shard.config.idle_timeout();
    let request_timeout = shard.config.request_timeout();
    // When the first byte of a not-yet-complete request arrived (slow-client defence).
    let mut partial_since: Option<Instant> = None;
    let mut idle_since = Instant::now();

    loop {
        // Answer every complete request already buffered, in order (pipelining).
        let mut close = false;
        loop {
            match parser.parse(&mut inbuf) {
                Ok(Some(request)) => {
                    partial_since = None;
                    let keep_alive = request.keep_alive && !shard.shutting_down();
                    let head_only = request.method == hearth_core::http::Method::Head;
                    let reply = shard.dispatch(kind, request).await;
                    if let Err(()) =
                        write_reply(shard, &mut stream, &mut outbuf, reply, keep_alive, head_only)
                            .await
                    {
                        return;
                    }
                    if !keep_alive {
                        close = true;
                        break;
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    let resp = Response::text(err.status, &err.reason);
                    encode_response(&resp, false, &shard.http_date(), &mut outbuf);
                    close = true;
                    break;
                }
            }
        }
        if !outbuf.is_empty() {
            if stream.write_all(&outbuf).await.is_err() {
                return;
            }
            outbuf.clear();
        }
        if close {
            let _ = stream.flush().await;
            return;
        }
        if inbuf.is_empty() {
            partial_since = None;
        } else if partial_since.is_none() {
            partial_since = Some(Instant::now());
        }
        if shard.shutting_down() && inbuf.is_empty() {
            return;
        }

        // Wait for more bytes, bounded by the idle or the whole-request deadline.
        let deadline = match partial_since {
            Some(t) => t + request_timeout,
            None => idle_since + idle_timeout,
        };
        let now = Instant::now();
        if now >= deadline {
            if partial_since.is_some() {
                let resp = Response::text(408, "request not received in time");
                encode_response(&resp, false, &shard.http_date(), &mut outbuf);
                let _ = stream.write_all(&outbuf).await;
            }
            return;
        }
        let wait = (deadline - now).min(SHUTDOWN_POLL);
        let read = glommio::timer::timeout(wait, async {
            stream.read(&mut scratch).await.map_err(Into::into)
        })
        .await;
        match read {
            Ok(0) => return,
            Ok(n) => {
                inbuf.extend_from_slice(&scratch[..n]);
                idle_since = Instant::now();
            }
            Err(glommio::GlommioError::TimedOut(_)) => continue,
            Err(_) => return,
        }
    }
}

/// Encodes `reply` into `out`; streamed replies are flushed chunk by chunk as they come.
async fn write_reply(
    shard: &Rc<Shard>,
    stream: &mut TcpStream,
    out: &mut BytesMut,
    reply: Reply,
    keep_alive: bool,
    head_only: bool,
) -> Result<(), ()> {
    match reply {
        Reply::Full(mut resp) => {
            if head_only {
                resp.body = bytes::Bytes::new();
            }
            encode_response(&resp, keep_alive, &shard.http_date(), out);
            Ok(())
        }
        Reply::Chunked { head, chunks } => {
            encode_chunked_head(&head, keep_alive, &shard.http_date(), out);
            if head_only {
                encode_last_chunk(out);
                return Ok(());
            }
            while let Some(piece) = chunks.recv().await {
                if piece.is_empty() {
                    continue;
                }
                encode_chunk(&piece, out);
                if out.len() >= READ_CHUNK {
                    stream.write_all(out).await.map_err(|_| ())?;
                    out.clear();
                }
            }
            encode_last_chunk(out);
            Ok(())
        }
    }
}
