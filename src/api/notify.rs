//! Notifications to the SIP core, as Homestead sends them to Sprout when the HSS deregisters a
//! user (RTR → `DELETE /registrations`) or pushes a new profile (PPR → `PUT
//! /registrations/<impu>`).
//!
//! The HTTP calls are blocking (ureq) and run on a plain thread of their own, so no shard ever
//! waits on a socket: a shard queues a call and awaits its outcome on a oneshot channel.

use std::time::Duration;

use crossbeam_channel::{Sender, TrySendError};
use futures_channel::oneshot;

/// How long the SIP core may take to answer one notification.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(2);
/// Most notifications waiting for the thread; beyond it they fail at once.
const QUEUE_CAPACITY: usize = 1024;

/// The HTTP method of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyMethod {
    /// `DELETE /registrations?send-notifications=…`.
    Delete,
    /// `PUT /registrations/<impu>`.
    Put,
}

struct Job {
    method: NotifyMethod,
    url: String,
    body: String,
    reply: oneshot::Sender<Result<u16, String>>,
}

/// Sends notifications to the SIP core's registration API at a base URL.
pub struct SipCoreNotifier {
    base_url: String,
    jobs: Sender<Job>,
}

impl SipCoreNotifier {
    /// Starts the notification thread for `base_url` (e.g. `http://sprout:9888`).
    pub fn start(base_url: &str) -> Result<SipCoreNotifier, String> {
        let (jobs, queue) = crossbeam_channel::bounded::<Job>(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("hearth-notify".into())
            .spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(NOTIFY_TIMEOUT))
                    .http_status_as_error(false)
                    .build()
                    .into();
                for job in queue {
                    let result = match job.method {
                        NotifyMethod::Delete => agent
                            .delete(&job.url)
                            .force_send_body()
                            .content_type("application/json")
                            .send(job.body.as_bytes()),
                        NotifyMethod::Put => agent
                            .put(&job.url)
                            .content_type("application/json")
                            .send(job.body.as_bytes()),
                    };
                    let outcome = result
                        .map(|response| response.status().as_u16())
                        .map_err(|e| e.to_string());
                    // The shard may have given up waiting; nothing to do then.
                    let _ = job.reply.send(outcome);
                }
            })
            .map_err(|e| format!("cannot start the notification thread: {e}"))?;
        Ok(SipCoreNotifier {
            base_url: base_url.trim_end_matches('/').to_owned(),
            jobs,
        })
    }

    /// Sends one notification to `path_and_query` (starting with `/`) and returns the HTTP
    /// status the SIP core answered, or why there was none.
    pub async fn send(
        &self,
        method: NotifyMethod,
        path_and_query: &str,
        body: String,
    ) -> Result<u16, String> {
        let (reply, outcome) = oneshot::channel();
        let job = Job {
            method,
            url: format!("{}{path_and_query}", self.base_url),
            body,
            reply,
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err("notification queue is full".into()),
            Err(TrySendError::Disconnected(_)) => {
                return Err("notification thread has stopped".into());
            }
        }
        outcome
            .await
            .unwrap_or_else(|_| Err("notification thread has stopped".into()))
    }
}
