//! A minimal Diameter HSS for tests, written with hearth-core's codec over std sockets: it
//! accepts connections (or opens one), answers CER, DWR and DPR by itself, answers Cx requests
//! with 2001 unless told to stay silent, records every message it receives, and lets the test
//! send any message on any connection.
//!
//! Also compiled into the binary's unit tests (src/diameter/tests.rs), so it uses nothing from
//! the rest of the harness.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use hearth_core::diameter::dict::{VENDOR_3GPP, app, auth_session_state, avp, cmd, result};
use hearth_core::diameter::{Message, MessageBuilder, frame};

/// The fake HSS's Origin-Host.
pub const HSS_HOST: &str = "hss.hss.test";
/// The fake HSS's Origin-Realm.
pub const HSS_REALM: &str = "hss.test";

/// A message the HSS received.
#[derive(Clone, Debug)]
pub struct Received {
    /// Index of the connection it came on (in order of acceptance).
    pub conn: usize,
    /// When it arrived.
    pub at: Instant,
    /// The message.
    pub message: Message,
}

impl Received {
    /// Whether it is this command, as a request (`true`) or an answer.
    pub fn is(&self, command_code: u32, request: bool) -> bool {
        is_command(&self.message, command_code, request)
    }
}

/// Whether `message` is this command, as a request or an answer.
pub fn is_command(message: &Message, command_code: u32, request: bool) -> bool {
    message.header().command_code == command_code && message.header().is_request() == request
}

struct Shared {
    log: Mutex<Vec<Received>>,
    changed: Condvar,
    conns: Mutex<Vec<TcpStream>>,
    stop: AtomicBool,
    /// Answer Cx requests (MAR, SAR, ...) with 2001.
    answer_cx: AtomicBool,
    /// Answer DWRs.
    answer_dwr: AtomicBool,
    next_id: AtomicU32,
    /// Connections whose reader saw them end.
    closed: AtomicU32,
}

/// A running fake HSS.
pub struct FakeHss {
    /// Where it listens (when started with [`FakeHss::listen`]).
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl FakeHss {
    /// Listens on `addr` (port 0: any free port).
    pub fn listen(addr: &str) -> FakeHss {
        // A port just given up by a killed instance may take a moment to be free again.
        let deadline = Instant::now() + Duration::from_secs(5);
        let accepting = loop {
            match TcpListener::bind(addr) {
                Ok(listener) => break listener,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("fake HSS: bind {addr}: {e}"),
            }
        };
        let addr = accepting.local_addr().unwrap();
        let shared = Self::shared();
        accepting.set_nonblocking(true).unwrap();
        let shared2 = Arc::clone(&shared);
        let acceptor = std::thread::spawn(move || {
            while !shared2.stop.load(Ordering::Relaxed) {
                match accepting.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        Self::serve(&shared2, stream);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakeHss {
            addr,
            shared,
            acceptor: Mutex::new(Some(acceptor)),
        }
    }

    /// Connects to a Diameter node at `addr` (the HSS opening the connection) and sends a CER;
    /// returns the connection's index.
    pub fn connect(addr: SocketAddr) -> (FakeHss, usize) {
        Self::connect_as(addr, HSS_HOST)
    }

    /// As [`FakeHss::connect`], with `origin_host` in the CER.
    pub fn connect_as(addr: SocketAddr, origin_host: &str) -> (FakeHss, usize) {
        let stream = TcpStream::connect(addr).expect("fake HSS: connect");
        let hss = FakeHss {
            addr,
            shared: Self::shared(),
            acceptor: Mutex::new(None),
        };
        let conn = Self::serve(&hss.shared, stream);
        let cer = hss.cer_from(origin_host);
        hss.send(conn, &cer);
        (hss, conn)
    }

    fn shared() -> Arc<Shared> {
        Arc::new(Shared {
            log: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            conns: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            answer_cx: AtomicBool::new(true),
            answer_dwr: AtomicBool::new(true),
            next_id: AtomicU32::new(0x4000),
            closed: AtomicU32::new(0),
        })
    }

    fn serve(shared: &Arc<Shared>, stream: TcpStream) -> usize {
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let _ = stream.set_nodelay(true);
        let conn = {
            let mut conns = shared.conns.lock().unwrap();
            conns.push(stream.try_clone().unwrap());
            conns.len() - 1
        };
        let shared = Arc::clone(shared);
        let mut stream = stream;
        std::thread::spawn(move || {
            let mut buf = BytesMut::new();
            let mut chunk = [0u8; 16 * 1024];
            while !shared.stop.load(Ordering::Relaxed) {
                match stream.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        continue;
                    }
                    Err(_) => break,
                }
                loop {
                    let message = match frame(&mut buf, 1 << 20) {
                        Ok(Some(message)) => message,
                        Ok(None) => break,
                        Err(e) => panic!("fake HSS: unframeable bytes: {e}"),
                    };
                    // Logged and answered under the connections' lock, which `send` takes
                    // too: a test that saw the CER cannot send a request ahead of the CEA, and
                    // a request is in the log before Hearth can see its answer.
                    let reply = auto_answer(&shared, &message);
                    let writers = shared.conns.lock().unwrap();
                    shared.log.lock().unwrap().push(Received {
                        conn,
                        at: Instant::now(),
                        message,
                    });
                    shared.changed.notify_all();
                    let close = match &reply {
                        Some((reply, close)) => {
                            let _ = stream.write_all(reply.as_bytes());
                            *close
                        }
                        None => false,
                    };
                    drop(writers);
                    if close {
                        let _ = stream.shutdown(Shutdown::Both);
                        shared.closed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
            shared.closed.fetch_add(1, Ordering::Relaxed);
            shared.changed.notify_all();
        });
        conn
    }

    /// Stops answering Cx requests (they time out at Hearth), or starts again.
    pub fn answer_cx(&self, on: bool) {
        self.shared.answer_cx.store(on, Ordering::Relaxed);
    }

    /// Stops answering DWRs, or starts again.
    pub fn answer_dwr(&self, on: bool) {
        self.shared.answer_dwr.store(on, Ordering::Relaxed);
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Waits until `count` received messages satisfy `pred`; returns them (panics after
    /// `timeout`).
    pub fn wait_for(
        &self,
        what: &str,
        count: usize,
        timeout: Duration,
        pred: impl Fn(&Received) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut log = self.shared.log.lock().unwrap();
        loop {
            let found: Vec<Received> = log.iter().filter(|r| pred(r)).cloned().collect();
            if found.len() >= count {
                return found;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "fake HSS: waited {timeout:?} for {count} × {what}, got {}; received: {:?}",
                found.len(),
                log.iter()
                    .map(|r| (
                        r.conn,
                        r.message.header().command_code,
                        r.message.header().is_request()
                    ))
                    .collect::<Vec<_>>()
            );
            log = self
                .shared
                .changed
                .wait_timeout(log, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Sends a message on connection `conn`.
    pub fn send(&self, conn: usize, message: &Message) {
        let conns = self.shared.conns.lock().unwrap();
        let mut stream = conns.get(conn).expect("no such connection");
        stream
            .write_all(message.as_bytes())
            .expect("fake HSS: send");
    }

    /// Waits until one of this HSS's connections has been closed (by either side); panics after
    /// `timeout`.
    pub fn wait_for_close(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.shared.closed.load(Ordering::Relaxed) == 0 {
            assert!(
                Instant::now() < deadline,
                "fake HSS: connection not closed in {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Fresh Hop-by-Hop and End-to-End identifiers.
    pub fn ids(&self) -> (u32, u32) {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        (id, id.wrapping_mul(7))
    }

    /// A CER from this HSS (Cx only).
    pub fn cer(&self) -> Message {
        self.cer_from(HSS_HOST)
    }

    /// A CER (Cx only) naming `origin_host`.
    pub fn cer_from(&self, origin_host: &str) -> Message {
        let (h, e) = self.ids();
        capabilities(
            MessageBuilder::request(app::BASE, cmd::CAPABILITIES_EXCHANGE)
                .hop_by_hop(h)
                .end_to_end(e)
                .avp_str(avp::ORIGIN_HOST, origin_host)
                .avp_str(avp::ORIGIN_REALM, HSS_REALM),
        )
        .finish()
        .unwrap()
    }

    /// A DWR from this HSS.
    pub fn dwr(&self) -> Message {
        let (h, e) = self.ids();
        MessageBuilder::request(app::BASE, cmd::DEVICE_WATCHDOG)
            .hop_by_hop(h)
            .end_to_end(e)
            .avp_str(avp::ORIGIN_HOST, HSS_HOST)
            .avp_str(avp::ORIGIN_REALM, HSS_REALM)
            .finish()
            .unwrap()
    }

    /// Closes every connection and the listener, as a crashed HSS would.
    pub fn kill(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for conn in self.shared.conns.lock().unwrap().iter() {
            let _ = conn.shutdown(Shutdown::Both);
        }
        // The listening socket is closed when the accepting thread ends.
        let acceptor = self.acceptor.lock().unwrap().take();
        if let Some(acceptor) = acceptor {
            let _ = acceptor.join();
        }
    }
}

impl Drop for FakeHss {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Host-IP-Address, Vendor-Id, Product-Name and the Cx application, as in a CER or CEA.
fn capabilities(builder: MessageBuilder) -> MessageBuilder {
    builder
        .avp_address(avp::HOST_IP_ADDRESS, std::net::Ipv4Addr::LOCALHOST)
        .avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
        .avp_str(avp::PRODUCT_NAME, "FakeHSS")
        .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
        })
}

/// What the HSS answers by itself, and whether it then closes the connection.
fn auto_answer(shared: &Shared, message: &Message) -> Option<(Message, bool)> {
    let header = message.header();
    if !header.is_request() {
        return None;
    }
    let base = |builder: MessageBuilder| {
        builder
            .avp_u32(avp::RESULT_CODE, result::SUCCESS)
            .avp_str(avp::ORIGIN_HOST, HSS_HOST)
            .avp_str(avp::ORIGIN_REALM, HSS_REALM)
    };
    let answer = MessageBuilder::answer_to(message);
    match (header.application_id, header.command_code) {
        (app::BASE, cmd::CAPABILITIES_EXCHANGE) => {
            Some((capabilities(base(answer)).finish().unwrap(), false))
        }
        (app::BASE, cmd::DEVICE_WATCHDOG) if shared.answer_dwr.load(Ordering::Relaxed) => {
            Some((base(answer).finish().unwrap(), false))
        }
        (app::BASE, cmd::DISCONNECT_PEER) => Some((base(answer).finish().unwrap(), true)),
        (app::CX, _) if shared.answer_cx.load(Ordering::Relaxed) => {
            let session_id = message
                .avp(avp::SESSION_ID)
                .ok()
                .flatten()
                .and_then(|a| a.as_utf8().ok().map(str::to_owned))
                .unwrap_or_default();
            let answer = answer
                .avp_str(avp::SESSION_ID, &session_id)
                .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
                    g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                        .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
                })
                .avp_i32(
                    avp::AUTH_SESSION_STATE,
                    auth_session_state::NO_STATE_MAINTAINED,
                );
            Some((base(answer).finish().unwrap(), false))
        }
        _ => None,
    }
}

/// The Result-Code of a message.
pub fn result_code(message: &Message) -> Option<u32> {
    message.result_code().ok().flatten().map(|c| c.code())
}

/// The first AVP `key` of a message as text.
pub fn text(message: &Message, key: hearth_core::diameter::AvpKey) -> Option<String> {
    message
        .avp(key)
        .ok()
        .flatten()
        .and_then(|a| a.as_utf8().ok().map(str::to_owned))
}

/// The (Vendor-Id, Auth-Application-Id) pairs of a message's Vendor-Specific-Application-Ids.
pub fn vendor_applications(message: &Message) -> Vec<(u32, u32)> {
    let Ok(avps) = message.avps() else {
        return Vec::new();
    };
    avps.all(avp::VENDOR_SPECIFIC_APPLICATION_ID)
        .filter_map(|vsai| {
            let group = vsai.grouped().ok()?;
            Some((
                group.get(avp::VENDOR_ID)?.as_u32().ok()?,
                group.get(avp::AUTH_APPLICATION_ID)?.as_u32().ok()?,
            ))
        })
        .collect()
}
