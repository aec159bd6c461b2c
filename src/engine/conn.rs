//! One HTTP/1.1 connection: read, parse (pipelined requests allowed), dispatch, write in order.

use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use hearth_core::http::{
    Limits, ReplyContext, RequestParser, Response, encode_chunk, encode_chunked_head,
    encode_continue, encode_last_chunk, encode_reply, encode_response,
};

use super::{ListenerKind, Reply, Shard};

/// Bytes read from the socket per read call.
const READ_CHUNK: usize = 16 * 1024;
/// How often a connection waiting for bytes re-checks whether the server is shutting down.
const SHUTDOWN_POLL: Duration = Duration::from_millis(250);

/// Serves one connection until the peer closes it, an error or timeout ends it, or shutdown.
pub(super) async fn serve(shard: &Rc<Shard>, mut stream: TcpStream, kind: ListenerKind) {
    let _ = stream.set_nodelay(true);
    // A client that stops reading cannot hold a shard's connection (and its buffers) forever.
    if stream
        .set_write_timeout(Some(shard.config.idle_timeout()))
        .is_err()
    {
        return;
    }
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
                    let mut context = request.reply_context();
                    context.keep_alive &= !shard.shutting_down();
                    let reply = shard.dispatch(kind, request).await;
                    if let Err(()) =
                        write_reply(shard, &mut stream, &mut outbuf, reply, context).await
                    {
                        return;
                    }
                    if !context.keep_alive {
                        close = true;
                        break;
                    }
                }
                Ok(None) => {
                    if parser.take_expect_continue() {
                        encode_continue(&mut outbuf);
                    }
                    break;
                }
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
            // The keep-alive idle time counts from the last answer, not from the last bytes read
            // (a long answer must not leave the connection already past its idle deadline).
            idle_since = Instant::now();
        }
        if close {
            let _ = stream.flush().await;
            return;
        }
        // A request is in progress while bytes of it wait in the buffer, and also while the parser
        // holds its head and awaits the body: chunked framing is consumed as it arrives, so the
        // buffer can be empty between chunks, and a slow client must not be able to hold the
        // connection by dribbling chunks.
        let in_progress = !inbuf.is_empty() || parser.awaiting_body();
        if !in_progress {
            partial_since = None;
        } else if partial_since.is_none() {
            partial_since = Some(Instant::now());
        }
        if shard.shutting_down() && !in_progress {
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
        // The socket's own read timeout arms a timer only when the read has to wait, so a read of
        // bytes already there costs no timer (unlike wrapping every read in a timeout future).
        if stream.set_read_timeout(Some(wait)).is_err() {
            return;
        }
        match stream.read(&mut scratch).await {
            Ok(0) => return,
            Ok(n) => {
                inbuf.extend_from_slice(&scratch[..n]);
                idle_since = Instant::now();
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
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
    context: ReplyContext,
) -> Result<(), ()> {
    match reply {
        Reply::Full(resp) => {
            encode_reply(&resp, context, &shard.http_date(), out);
            Ok(())
        }
        Reply::Chunked { head, chunks } => {
            if context.head_request {
                encode_reply(&head, context, &shard.http_date(), out);
                return Ok(());
            }
            if context.version == hearth_core::http::Version::Http10 {
                // HTTP/1.0 has no chunked encoding: gather the body and send it whole.
                let mut body = Vec::new();
                while let Some(piece) = chunks.recv().await {
                    body.extend_from_slice(&piece);
                }
                let whole = head.with_body("application/json", body);
                encode_reply(&whole, context, &shard.http_date(), out);
                return Ok(());
            }
            encode_chunked_head(&head, context.keep_alive, &shard.http_date(), out);
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
