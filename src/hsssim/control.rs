//! The control API (`--control-addr`): HTTP/1.1 on plain threads, parsed by the core's HTTP
//! parser, JSON in and out.
//!
//! - `POST /rtr` `{"impis": [...], "impus": [...], "reason": "PERMANENT_TERMINATION",
//!   "reason_info": ..., "destination_host": ...}` sends an RTR to the node that registered the
//!   identities and answers `{"result_code": ..., "experimental": bool, "destination_host": ...}`.
//! - `POST /ppr` `{"impi": ..., "impu": ..., "user_data": "<IMSSubscription…>", "ifc":
//!   "<ServiceProfile…>", "charging": {"ccf1", "ccf2", "ecf1", "ecf2"}, "destination_host": ...}`
//!   sends a PPR likewise.
//! - `GET /stats`, `GET /config`, `POST /config` (a partial injection update),
//!   `GET /subscriber/<impi>`, `GET /ping`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use hearth_core::diameter::cx::{CxResult, Ppa, Rta};
use hearth_core::http::{HttpDate, Limits, Method, Request, RequestParser, Response};
use serde::Serialize;

use super::hss::{ControlError, PprCommand, RtrCommand};
use super::inject::InjectionUpdate;
use super::transport::Shared;

/// An idle control connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Binds the control listener; its accept loop runs on its own thread.
pub fn listen(shared: &Arc<Shared>, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let shared = Arc::clone(shared);
    thread::Builder::new()
        .name("hss-sim-control".to_owned())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&shared);
                let spawned = thread::Builder::new()
                    .name("hss-sim-http".to_owned())
                    .spawn(move || serve(&shared, stream));
                if let Err(e) = spawned {
                    eprintln!("hss-sim: cannot start a control thread: {e}");
                }
            }
        })?;
    Ok(local)
}

fn serve(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let mut parser = RequestParser::new(Limits::default());
    let mut input = BytesMut::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        match parser.parse(&mut input) {
            Ok(Some(request)) => {
                let response = route(shared, &request);
                if !reply(&mut stream, &response, request.keep_alive) || !request.keep_alive {
                    return;
                }
                continue;
            }
            Ok(None) => {}
            Err(error) => {
                reply(&mut stream, &error.to_response(), false);
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => input.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
}

fn reply(stream: &mut TcpStream, response: &Response, keep_alive: bool) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut out = BytesMut::new();
    hearth_core::http::encode_response(response, keep_alive, &HttpDate::new(now), &mut out);
    stream.write_all(&out).is_ok()
}

fn json(status: u16, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => Response::json(status, body),
        Err(e) => Response::text(500, &e.to_string()),
    }
}

fn error(status: u16, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": message }))
}

fn body<T: serde::de::DeserializeOwned>(request: &Request) -> Result<T, Response> {
    serde_json::from_slice(&request.body)
        .map_err(|e| error(400, &format!("body is not the expected JSON: {e}")))
}

fn route(shared: &Shared, request: &Request) -> Response {
    let path = request.path();
    match (&request.method, path) {
        (Method::Get, "/ping") => Response::text(200, "OK"),
        (Method::Get, "/stats") => json(200, &shared.stats.snapshot()),
        (Method::Get, "/config") => json(200, &shared.injection()),
        (Method::Post, "/config") => match body::<InjectionUpdate>(request) {
            Ok(update) => match shared.injection().updated(update) {
                Ok(next) => {
                    shared.set_injection(next.clone());
                    json(200, &next)
                }
                Err(e) => error(400, &e),
            },
            Err(response) => response,
        },
        (Method::Post, "/rtr") => match body::<RtrCommand>(request) {
            Ok(command) => send_rtr(shared, &command),
            Err(response) => response,
        },
        (Method::Post, "/ppr") => match body::<PprCommand>(request) {
            Ok(command) => send_ppr(shared, &command),
            Err(response) => response,
        },
        (Method::Get, _) if path.starts_with("/subscriber/") => {
            let mut segments = request.path_segments().skip(1);
            match (segments.next(), segments.next()) {
                (Some(Ok(impi)), None) => match shared.hss().view(&impi) {
                    Some(view) => json(200, &view),
                    None => error(404, &format!("unknown IMPI {impi}")),
                },
                _ => error(400, "expected /subscriber/<impi>"),
            }
        }
        (_, "/ping" | "/stats" | "/config" | "/rtr" | "/ppr") => error(405, "method not allowed"),
        _ => error(404, "no such resource"),
    }
}

/// What `POST /rtr` and `POST /ppr` answer.
#[derive(Serialize)]
struct Outcome {
    result_code: u32,
    experimental: bool,
    destination_host: String,
    session_id: String,
}

fn outcome(result: CxResult, destination_host: String, session_id: String) -> Response {
    json(
        200,
        &Outcome {
            result_code: result.code(),
            experimental: matches!(result, CxResult::Experimental { .. }),
            destination_host,
            session_id,
        },
    )
}

fn control_error(e: &ControlError) -> Response {
    error(e.status, &e.message)
}

fn send_rtr(shared: &Shared, command: &RtrCommand) -> Response {
    let outgoing = match shared.hss().rtr(command) {
        Ok(outgoing) => outgoing,
        Err(e) => return control_error(&e),
    };
    let builder = match outgoing.request.builder() {
        Ok(builder) => builder,
        Err(e) => return error(500, &e.to_string()),
    };
    shared.stats.sent("RTR");
    let answer = match shared.request(&outgoing.destination_host, builder) {
        Ok(answer) => answer,
        Err(e) => return error(504, &e),
    };
    match Rta::from_message(&answer) {
        Ok(rta) => {
            if rta.result.is_success() {
                shared.hss().rtr_succeeded(&outgoing.irs_ids);
            }
            outcome(
                rta.result,
                outgoing.destination_host,
                outgoing.request.routing.session_id,
            )
        }
        Err(e) => error(502, &format!("unreadable RTA: {e}")),
    }
}

fn send_ppr(shared: &Shared, command: &PprCommand) -> Response {
    let outgoing = match shared.hss().ppr(command) {
        Ok(outgoing) => outgoing,
        Err(e) => return control_error(&e),
    };
    let builder = match outgoing.request.builder() {
        Ok(builder) => builder,
        Err(e) => return error(500, &e.to_string()),
    };
    shared.stats.sent("PPR");
    let answer = match shared.request(&outgoing.destination_host, builder) {
        Ok(answer) => answer,
        Err(e) => return error(504, &e),
    };
    match Ppa::from_message(&answer) {
        Ok(ppa) => outcome(
            ppa.result,
            outgoing.destination_host,
            outgoing.request.routing.session_id,
        ),
        Err(e) => error(502, &format!("unreadable PPA: {e}")),
    }
}
