//! The default socket back end: one epoll instance per executor thread, driven by a reactor task
//! that runs on the thread's glommio executor next to the connection tasks.
//!
//! Why not glommio's own sockets: glommio waits for socket readiness with one-shot io_uring poll
//! requests, so every response costs a poll submission, a completion and (without
//! `IORING_SETUP_COOP_TASKRUN`, which glommio 0.9 does not set) a task-work interrupt of the running
//! thread. Measured on the project's machines that costs about twice the CPU per request of an
//! epoll loop such as wrk's (see loadgen/README.md). Here sockets are registered once, edge-triggered,
//! and a response costs one `recv` and one `send`; `epoll_wait` is shared by all connections of the
//! thread. (`--io uring` keeps glommio's sockets and timers.)
//!
//! Each waiting party (a socket, or a connection's timer) has a slot with readiness flags, a waker
//! and an optional deadline. The reactor task polls epoll without blocking while it has just woken
//! someone, and otherwise blocks in `epoll_wait` until the next deadline (a timerfd gives it
//! sub-millisecond precision) or at most [`MAX_BLOCK`], so that other glommio tasks are never held
//! up for long. Deadlines sit in a heap with at most one live entry per slot.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Longest time the reactor blocks the thread in one `epoll_wait`.
const MAX_BLOCK: Duration = Duration::from_millis(5);
/// `epoll_event.u64` of the timerfd.
const TIMER_TOKEN: u64 = u64::MAX;

/// What a waiter waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Readable (or hung up).
    Read,
    /// Writable (or hung up).
    Write,
    /// Only the deadline.
    Timer,
}

#[derive(Default)]
struct Slot {
    in_use: bool,
    readable: bool,
    writable: bool,
    hup: bool,
    waker: Option<Waker>,
    deadline: Option<Instant>,
    queued: Option<Instant>,
}

struct Inner {
    slots: Vec<Slot>,
    free: Vec<usize>,
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
    armed: Option<Instant>,
    stop: bool,
}

/// One thread's reactor.
pub struct Reactor {
    epfd: OwnedFd,
    timerfd: OwnedFd,
    inner: RefCell<Inner>,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

impl Reactor {
    /// A reactor for the current thread.
    pub fn new() -> io::Result<Rc<Reactor>> {
        // SAFETY: plain syscalls; the returned descriptors are owned from here on.
        let epfd = unsafe { OwnedFd::from_raw_fd(cvt(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
        let timerfd = unsafe {
            OwnedFd::from_raw_fd(cvt(libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            ))?)
        };
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: TIMER_TOKEN,
        };
        // SAFETY: both descriptors are valid; `ev` outlives the call.
        cvt(unsafe {
            libc::epoll_ctl(
                epfd.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                timerfd.as_raw_fd(),
                &mut ev,
            )
        })?;
        Ok(Rc::new(Reactor {
            epfd,
            timerfd,
            inner: RefCell::new(Inner {
                slots: Vec::new(),
                free: Vec::new(),
                heap: BinaryHeap::new(),
                armed: None,
                stop: false,
            }),
        }))
    }

    /// A new slot (for a timer, or a socket with [`Reactor::register`]).
    pub fn slot(&self) -> usize {
        let mut inner = self.inner.borrow_mut();
        let id = match inner.free.pop() {
            Some(id) => id,
            None => {
                inner.slots.push(Slot::default());
                inner.slots.len() - 1
            }
        };
        inner.slots[id] = Slot {
            in_use: true,
            ..Slot::default()
        };
        id
    }

    /// Frees a slot (its socket must be closed or deregistered by the caller).
    pub fn release(&self, id: usize) {
        let mut inner = self.inner.borrow_mut();
        if let Some(s) = inner.slots.get_mut(id)
            && s.in_use
        {
            *s = Slot::default();
            inner.free.push(id);
        }
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, id: usize, write: bool) -> io::Result<()> {
        let mut events = libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET;
        if write {
            events |= libc::EPOLLOUT;
        }
        let mut ev = libc::epoll_event {
            events: events as u32,
            u64: id as u64,
        };
        // SAFETY: valid descriptors; `ev` outlives the call.
        cvt(unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), op, fd, &mut ev) }).map(|_| ())
    }

    /// Registers a socket (edge-triggered, readable; writable too with `write`).
    pub fn register(&self, fd: RawFd, id: usize, write: bool) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, id, write)
    }

    /// Changes whether writability is watched.
    pub fn modify(&self, fd: RawFd, id: usize, write: bool) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, id, write)
    }

    fn clear(&self, id: usize, interest: Interest) {
        let mut inner = self.inner.borrow_mut();
        let s = &mut inner.slots[id];
        match interest {
            Interest::Read => s.readable = false,
            Interest::Write => s.writable = false,
            Interest::Timer => {}
        }
    }

    /// Waits until the slot is ready for `interest` (true) or `deadline` passes (false).
    pub fn wait(self: &Rc<Self>, id: usize, interest: Interest, deadline: Option<Instant>) -> Wait {
        Wait {
            reactor: self.clone(),
            id,
            interest,
            deadline,
        }
    }

    /// Sleeps on a timer slot until `when`.
    pub async fn sleep_until(self: &Rc<Self>, id: usize, when: Instant) {
        if when > Instant::now() {
            self.wait(id, Interest::Timer, Some(when)).await;
        }
    }

    /// Makes [`Reactor::run`] return.
    pub fn stop(&self) {
        self.inner.borrow_mut().stop = true;
    }

    fn arm_timer(&self, inner: &mut Inner, at: Option<Instant>, now: Instant) {
        if inner.armed == at {
            return;
        }
        let delta = at.map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
        // A zero it_value disarms; keep an armed-but-due timer at 1 ns.
        let delta = if at.is_some() && delta.is_zero() {
            Duration::from_nanos(1)
        } else {
            delta
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: delta.as_secs() as libc::time_t,
                tv_nsec: libc::c_long::from(delta.subsec_nanos() as i32),
            },
        };
        // SAFETY: valid descriptor, valid spec, null old value.
        unsafe {
            libc::timerfd_settime(self.timerfd.as_raw_fd(), 0, &spec, std::ptr::null_mut());
        }
        inner.armed = at;
    }

    /// Records the readiness in `events`, fires due deadlines; returns how many tasks it woke.
    fn dispatch(&self, events: &[libc::epoll_event]) -> usize {
        let mut woke = 0;
        let mut inner = self.inner.borrow_mut();
        for ev in events {
            let (bits, token) = (ev.events, ev.u64);
            if token == TIMER_TOKEN {
                let mut buf = [0u8; 8];
                // SAFETY: reading 8 bytes into an 8-byte buffer.
                unsafe {
                    libc::read(self.timerfd.as_raw_fd(), buf.as_mut_ptr().cast(), 8);
                }
                inner.armed = None;
                continue;
            }
            let Some(s) = inner.slots.get_mut(token as usize) else {
                continue;
            };
            if !s.in_use {
                continue;
            }
            if bits & (libc::EPOLLIN as u32) != 0 {
                s.readable = true;
            }
            if bits & (libc::EPOLLOUT as u32) != 0 {
                s.writable = true;
            }
            if bits & ((libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLRDHUP) as u32) != 0 {
                s.hup = true;
            }
            if let Some(w) = s.waker.take() {
                w.wake();
                woke += 1;
            }
        }
        // Deadlines.
        let now = Instant::now();
        while let Some(&Reverse((t, id))) = inner.heap.peek() {
            if t > now {
                break;
            }
            inner.heap.pop();
            let s = &mut inner.slots[id];
            if s.queued != Some(t) {
                continue; // stale entry
            }
            s.queued = None;
            match s.deadline {
                Some(d) if d <= now => {
                    if let Some(w) = s.waker.take() {
                        w.wake();
                        woke += 1;
                    }
                }
                Some(d) => {
                    s.queued = Some(d);
                    inner.heap.push(Reverse((d, id)));
                }
                None => {}
            }
        }
        woke
    }

    /// The reactor task: runs until [`Reactor::stop`].
    pub async fn run(self: Rc<Self>) {
        let mut events: Vec<libc::epoll_event> = vec![libc::epoll_event { events: 0, u64: 0 }; 512];
        let mut woke = 1usize;
        loop {
            let timeout_ms = {
                let mut inner = self.inner.borrow_mut();
                if inner.stop {
                    return;
                }
                if woke > 0 {
                    0
                } else {
                    let now = Instant::now();
                    let next = inner.heap.peek().map(|Reverse((t, _))| *t);
                    match next {
                        Some(t) if t <= now => 0,
                        Some(t) if t - now < MAX_BLOCK => {
                            self.arm_timer(&mut inner, Some(t), now);
                            -1
                        }
                        _ => {
                            self.arm_timer(&mut inner, None, now);
                            MAX_BLOCK.as_millis() as libc::c_int
                        }
                    }
                }
            };
            // With -1 the timerfd (armed above) bounds the wait.
            // SAFETY: `events` is a valid buffer of the length given.
            let n = unsafe {
                libc::epoll_wait(
                    self.epfd.as_raw_fd(),
                    events.as_mut_ptr(),
                    events.len() as libc::c_int,
                    timeout_ms,
                )
            };
            woke = self.dispatch(&events[..n.max(0) as usize]);
            futures_lite::future::yield_now().await;
        }
    }
}

/// Future of [`Reactor::wait`].
pub struct Wait {
    reactor: Rc<Reactor>,
    id: usize,
    interest: Interest,
    deadline: Option<Instant>,
}

impl Future for Wait {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = &*self;
        let mut inner = this.reactor.inner.borrow_mut();
        let inner = &mut *inner;
        let s = &mut inner.slots[this.id];
        let ready = match this.interest {
            Interest::Read => s.readable || s.hup,
            Interest::Write => s.writable || s.hup,
            Interest::Timer => false,
        };
        if ready {
            s.deadline = None;
            s.waker = None;
            return Poll::Ready(true);
        }
        if let Some(d) = this.deadline {
            if Instant::now() >= d {
                s.deadline = None;
                s.waker = None;
                return Poll::Ready(false);
            }
            s.deadline = Some(d);
            if s.queued.is_none_or(|q| d < q) {
                s.queued = Some(d);
                inner.heap.push(Reverse((d, this.id)));
            }
        } else {
            s.deadline = None;
        }
        match &mut s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            w => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.reactor.inner.try_borrow_mut()
            && let Some(s) = inner.slots.get_mut(self.id)
        {
            s.waker = None;
            s.deadline = None;
        }
    }
}

/// What a read gave.
pub enum ReadOutcome {
    /// Bytes read.
    Data(usize),
    /// The peer closed.
    Eof,
    /// The deadline passed first.
    Elapsed,
    /// A socket error.
    Error,
}

/// A non-blocking TCP connection registered with a [`Reactor`].
pub struct EpollStream {
    fd: OwnedFd,
    id: usize,
    reactor: Rc<Reactor>,
    watching_write: bool,
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

impl EpollStream {
    /// Connects (non-blocking) within `timeout`.
    pub async fn connect(
        reactor: &Rc<Reactor>,
        addr: SocketAddr,
        timeout: Duration,
    ) -> io::Result<EpollStream> {
        let domain = if addr.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        // SAFETY: plain syscall; the descriptor is owned from here on.
        let fd = unsafe {
            OwnedFd::from_raw_fd(cvt(libc::socket(
                domain,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            ))?)
        };
        let one: libc::c_int = 1;
        // SAFETY: valid descriptor and option buffer.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        let id = reactor.slot();
        let stream = EpollStream {
            fd,
            id,
            reactor: reactor.clone(),
            watching_write: true,
        };
        reactor.register(stream.fd.as_raw_fd(), id, true)?;
        let (sa, len) = sockaddr(&addr);
        // SAFETY: `sa` holds a valid address of length `len`.
        let r = unsafe {
            libc::connect(
                stream.fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_storage).cast(),
                len,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
            let deadline = Instant::now() + timeout;
            if !reactor.wait(id, Interest::Write, Some(deadline)).await {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"));
            }
            let mut err: libc::c_int = 0;
            let mut elen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: valid descriptor and output buffers.
            cvt(unsafe {
                libc::getsockopt(
                    stream.fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_ERROR,
                    (&mut err as *mut libc::c_int).cast(),
                    &mut elen,
                )
            })?;
            if err != 0 {
                return Err(io::Error::from_raw_os_error(err));
            }
        }
        let mut stream = stream;
        reactor.modify(stream.fd.as_raw_fd(), id, false)?;
        stream.watching_write = false;
        Ok(stream)
    }

    /// Reads what is available, waiting until `until` at most.
    pub async fn read_until(&mut self, buf: &mut [u8], until: Instant) -> ReadOutcome {
        loop {
            self.reactor.clear(self.id, Interest::Read);
            // SAFETY: `buf` is valid for `buf.len()` bytes.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n > 0 {
                return ReadOutcome::Data(n as usize);
            }
            if n == 0 {
                return ReadOutcome::Eof;
            }
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::EAGAIN) => {}
                Some(libc::EINTR) => continue,
                _ => return ReadOutcome::Error,
            }
            if !self
                .reactor
                .wait(self.id, Interest::Read, Some(until))
                .await
            {
                return ReadOutcome::Elapsed;
            }
        }
    }

    /// Writes all of `buf`, waiting for room until `deadline` at most.
    pub async fn write_all(&mut self, mut buf: &[u8], deadline: Instant) -> io::Result<()> {
        while !buf.is_empty() {
            self.reactor.clear(self.id, Interest::Write);
            // SAFETY: `buf` is valid for `buf.len()` bytes.
            let n = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
            if n > 0 {
                buf = &buf[n as usize..];
                continue;
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => {}
                Some(libc::EINTR) => continue,
                _ => return Err(e),
            }
            if !self.watching_write {
                self.reactor.modify(self.fd.as_raw_fd(), self.id, true)?;
                self.watching_write = true;
            }
            if !self
                .reactor
                .wait(self.id, Interest::Write, Some(deadline))
                .await
            {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out"));
            }
        }
        if self.watching_write {
            self.reactor.modify(self.fd.as_raw_fd(), self.id, false)?;
            self.watching_write = false;
        }
        Ok(())
    }
}

impl Drop for EpollStream {
    fn drop(&mut self) {
        // Closing the descriptor (after this) removes it from the epoll set.
        self.reactor.release(self.id);
    }
}
