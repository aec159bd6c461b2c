//! Incoming Diameter connections: every shard binds `[hss] diameter_addr` (SO_REUSEPORT, as
//! the HTTP listeners) and hands what it accepts to its link as a responder peer.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use glommio::net::TcpListener;

use super::DiameterLink;

/// Binds the incoming-connection listener on the current shard.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).map_err(|e| format!("cannot listen for Diameter on {addr}: {e}"))
}

/// Accepts connections on `[hss] diameter_addr` until the link stops.
pub(super) async fn accept_loop(link: Rc<DiameterLink>, listener: TcpListener) {
    loop {
        let accepted = futures_lite::future::or(async { Some(listener.accept().await) }, async {
            while !link.stopping() {
                glommio::timer::sleep(Duration::from_millis(50)).await;
            }
            None
        })
        .await;
        match accepted {
            None => return,
            Some(Ok(stream)) => link.accept_connection(stream),
            Some(Err(error)) => {
                tracing::warn!(shard = link.shard(), %error, "Diameter accept failed");
                glommio::timer::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}
