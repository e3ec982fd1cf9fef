//! The HTTP/1.1 client of the adapters that ask a server: many requests in flight on one
//! thread.
//!
//! A [`Client`] waits on all of its connections at once (epoll on Linux, kqueue on macOS,
//! through mio), so a run keeps 64 requests in flight on two threads rather than on 64
//! blocked ones. Each request is one [`Exchange`]: its bytes written, its answer read as it
//! comes (`Content-Length`, chunked, or up to the connection's close), every part bounded
//! (headers [`MAX_HEAD`], body [`MAX_BODY`]) and the whole of it — looking the host up,
//! connecting, TLS, writing, waiting, reading — within one deadline.
//!
//! Connections are kept open between requests (for [`IDLE_AGE`], under the keep-alive
//! timeouts servers commonly use) and a request that finds its kept connection closed by
//! the server before any byte of an answer is sent again on a new one, once, without
//! counting as an attempt. `https` endpoints are spoken to through rustls, with the Web PKI
//! roots. A host name's addresses are looked up on a thread of their own (so the deadline
//! holds even when the resolver does not answer) and kept for [`NAME_TTL`]; an address is
//! taken as it is.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// The moment `timeout` from now (a year from now, should that not be a moment).
pub(crate) fn deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)))
        .unwrap_or(now)
}

/// The longest head (status line and headers) of an answer.
pub(crate) const MAX_HEAD: usize = 32 << 10;
/// The longest body of an answer.
pub(crate) const MAX_BODY: usize = 16 << 20;
/// How long a connection is kept unused before it is closed.
const IDLE_AGE: Duration = Duration::from_secs(4);
/// How long a host name's addresses are used before it is looked up again.
const NAME_TTL: Duration = Duration::from_secs(10);
/// The most headers an answer may have.
const MAX_HEADERS: usize = 96;
/// The longest line of a chunked body's framing (a size and its extensions, a trailer).
const MAX_FRAMING_LINE: usize = 4 << 10;
/// What one read takes from a socket at most.
const READ_BUFFER: usize = 64 << 10;

/// Why an exchange failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The deadline passed.
    Timeout,
    /// The host's name has no address.
    NotFound,
    /// No connection could be made.
    Connect(io::Error),
    /// The connection failed after it was made.
    Io(io::Error),
    /// The answer is not HTTP as it may be, or breaks a bound.
    Protocol(String),
    /// The proxy would not open a tunnel to the server: its status.
    Proxy(u16),
    /// The URL cannot be asked.
    Url(String),
}

impl Failure {
    /// Whether asking again may go better: a timeout, a failed or broken connection, a
    /// garbled answer.
    pub(crate) fn retryable(&self) -> bool {
        match self {
            Failure::Url(_) | Failure::NotFound => false,
            Failure::Proxy(status) => *status >= 500 || *status == 408 || *status == 429,
            _ => true,
        }
    }
}

/// An answer.
#[derive(Debug, Default)]
pub(crate) struct Response {
    /// Its status code.
    pub status: u16,
    /// Its `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// Its body.
    pub body: Vec<u8>,
}

/// Where requests go: a URL taken apart once, with the headers every request carries.
pub(crate) struct Endpoint {
    /// The host to connect to (the server's, or its proxy's), without brackets.
    host: String,
    port: u16,
    /// Through a proxy, to an `https` server: the `CONNECT` request that opens a tunnel to
    /// it.
    tunnel: Option<Vec<u8>>,
    /// TLS: the settings and the name the server's certificate must carry.
    tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
    /// The request target: the path and query.
    target: String,
    /// The header lines every request carries (`Host`, `User-Agent`, any authorization),
    /// each ended by CRLF. It may hold a key: never shown.
    headers: String,
    /// The host name's addresses and when they were looked up.
    names: Mutex<Option<(Vec<SocketAddr>, Instant)>>,
    /// Lookups made (for the tests).
    lookups: AtomicUsize,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// The endpoint of `url` (`http://` or `https://`), each request carrying the header
    /// lines `extra` (name, value) besides `Host` and `User-Agent`. A URL's user and
    /// password become a basic `Authorization` unless `extra` has one.
    ///
    /// Through `proxy` (an `http://` proxy's URL, its user and password sent as a basic
    /// `Proxy-Authorization`), a plain request is sent to the proxy whole (its target the
    /// server's full URL), and an `https` one through a tunnel the proxy opens (`CONNECT`).
    pub(crate) fn new(
        url: &str,
        extra: &[(&str, &str)],
        proxy: Option<&str>,
    ) -> Result<Endpoint, String> {
        Endpoint::trusting(url, extra, proxy, tls_config)
    }

    /// [`Endpoint::new`], an `https` endpoint's server checked with the settings `tls`
    /// makes (asked for only by an `https` URL).
    fn trusting(
        url: &str,
        extra: &[(&str, &str)],
        proxy: Option<&str>,
        tls: impl FnOnce() -> Result<Arc<rustls::ClientConfig>, String>,
    ) -> Result<Endpoint, String> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            "the URL has no scheme: start it with http:// or https://".to_string()
        })?;
        let secure = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return Err(format!("the URL's scheme `{scheme}` is not http or https"));
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        let target = match target {
            "" => "/".to_string(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_string(),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport)?;
        let port = port.unwrap_or(if secure { 443 } else { 80 });
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        let bad = |c: char| c.is_control() || c.is_whitespace();
        if host.contains(bad) || target.contains(bad) {
            return Err(
                "the URL has spaces or control characters in it: percent-encode them".into(),
            );
        }
        let tls = if secure {
            let name = rustls::pki_types::ServerName::try_from(host.to_string())
                .map_err(|_| format!("`{host}` is not a host name TLS can check"))?;
            Some((tls()?, name))
        } else {
            None
        };
        // The Host header: brackets back around an IPv6 address, the port when not the
        // scheme's own.
        let shown = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let mut headers = if port == if secure { 443 } else { 80 } {
            format!("Host: {shown}\r\n")
        } else {
            format!("Host: {shown}:{port}\r\n")
        };
        headers.push_str(&format!(
            "User-Agent: quandary/{}\r\nAccept: */*\r\n",
            env!("CARGO_PKG_VERSION")
        ));
        let mut authorized = false;
        for (name, value) in extra {
            if value.contains(['\r', '\n']) || name.contains(['\r', '\n', ':']) {
                return Err(format!("the header `{name}` has a line break in it"));
            }
            authorized |= name.eq_ignore_ascii_case("authorization");
            headers.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(userinfo) = userinfo
            && !authorized
        {
            headers.push_str(&format!(
                "Authorization: Basic {}\r\n",
                base64(&percent_decode(userinfo))
            ));
        }
        let authority = format!("{shown}:{port}");
        let (mut host, mut port, mut target, mut tunnel) = (host.to_string(), port, target, None);
        if let Some(proxy) = proxy {
            let (proxy_host, proxy_port, credentials) = parse_proxy(proxy)?;
            let credentials = credentials
                .map(|c| format!("Proxy-Authorization: Basic {c}\r\n"))
                .unwrap_or_default();
            if secure {
                tunnel = Some(
                    format!(
                        "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{credentials}\
                         User-Agent: quandary/{}\r\n\r\n",
                        env!("CARGO_PKG_VERSION")
                    )
                    .into_bytes(),
                );
            } else {
                target = format!("http://{authority}{target}");
                headers.push_str(&credentials);
            }
            (host, port) = (proxy_host, proxy_port);
        }
        Ok(Endpoint {
            host,
            port,
            tunnel,
            tls,
            target,
            headers,
            names: Mutex::new(None),
            lookups: AtomicUsize::new(0),
        })
    }

    /// The bytes of a request: `method` to the target, with `body` when it has one
    /// (as JSON).
    fn request(&self, method: &str, body: &[u8]) -> Vec<u8> {
        let mut wire = Vec::with_capacity(self.headers.len() + self.target.len() + body.len() + 96);
        wire.extend_from_slice(method.as_bytes());
        wire.push(b' ');
        wire.extend_from_slice(self.target.as_bytes());
        wire.extend_from_slice(b" HTTP/1.1\r\n");
        wire.extend_from_slice(self.headers.as_bytes());
        if method != "GET" {
            wire.extend_from_slice(b"Content-Type: application/json\r\nContent-Length: ");
            wire.extend_from_slice(body.len().to_string().as_bytes());
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(body);
        wire
    }

    /// The host's addresses: an address as it is, a name's as looked up within
    /// `deadline` (kept for [`NAME_TTL`]).
    fn addresses(&self, deadline: Instant) -> Result<Vec<SocketAddr>, Failure> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        let now = Instant::now();
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((addresses, at)) = &*names
            && now.duration_since(*at) < NAME_TTL
        {
            return Ok(addresses.clone());
        }
        self.lookups.fetch_add(1, Ordering::Relaxed);
        // On a thread of its own: the system's resolver has no deadline.
        let (tx, rx) = std::sync::mpsc::channel();
        let name = (self.host.clone(), self.port);
        std::thread::Builder::new()
            .name("quandary-lookup".into())
            .spawn(move || {
                let _ = tx.send(name.to_socket_addrs().map(Iterator::collect::<Vec<_>>));
            })
            .map_err(Failure::Io)?;
        let wait = deadline.saturating_duration_since(now);
        match rx.recv_timeout(wait) {
            Ok(Ok(addresses)) if !addresses.is_empty() => {
                *names = Some((addresses.clone(), now));
                Ok(addresses)
            }
            Ok(_) => Err(Failure::NotFound),
            Err(_) => Err(Failure::Timeout),
        }
    }

    /// Forgets the name's addresses (none of them could be connected to).
    fn forget(&self) {
        *self.names.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// An `http://` proxy's host, port (80 unless given) and basic credentials, if any.
fn parse_proxy(proxy: &str) -> Result<(String, u16, Option<String>), String> {
    let rest = match proxy.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) => {
            return Err(format!(
                "the proxy's scheme `{scheme}` is not supported: give an http:// proxy"
            ));
        }
        None => proxy,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostport).map_err(|e| format!("the proxy: {e}"))?;
    if host.is_empty() || host.contains(|c: char| c.is_control() || c.is_whitespace()) {
        return Err("the proxy's URL has no host".into());
    }
    Ok((
        host.to_string(),
        port.unwrap_or(80),
        userinfo.map(|u| base64(&percent_decode(u))),
    ))
}

/// The host of `url` (without an IPv6 address's brackets), if it has one.
pub(crate) fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    split_host_port(hostport)
        .ok()
        .map(|(h, _)| h.to_ascii_lowercase())
}

/// Whether `NO_PROXY`'s list (`no_proxy`: names, `.suffixes`, addresses, `*`, separated by
/// commas) takes `host` out of the proxy's hands: a name matches itself and the names under
/// it.
pub(crate) fn bypasses(no_proxy: &str, host: &str) -> bool {
    no_proxy
        .split(',')
        .map(|e| e.trim().trim_start_matches("*.").trim_start_matches('.'))
        .filter(|e| !e.is_empty())
        .any(|entry| {
            let entry = entry.trim_start_matches('[').trim_end_matches(']');
            entry == "*"
                || host.eq_ignore_ascii_case(entry)
                || host.len() > entry.len()
                    && host.as_bytes()[host.len() - entry.len() - 1] == b'.'
                    && host[host.len() - entry.len()..].eq_ignore_ascii_case(entry)
        })
}

/// `host[:port]`, the host without an IPv6 address's brackets.
fn split_host_port(hostport: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "the URL's IPv6 address has no closing `]`".to_string())?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| format!("the URL's port `{p}` is not a number from 0 to 65535"))?,
        ),
    };
    Ok((host, port))
}

/// `%XX` escapes decoded (others left as they are).
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Standard base64, padded.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The TLS settings every `https` endpoint shares: the Web PKI roots, TLS 1.2 and 1.3,
/// HTTP/1.1 by ALPN.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let mut config = tls_builder()?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        })
        .clone()
}

/// TLS settings with the ring provider and its default protocol versions, to be given
/// the roots to trust.
fn tls_builder()
-> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>, String> {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS cannot be set up: {e}"))
}

/// A client: connections to one endpoint, and the requests on them, waited on together.
/// It belongs to one thread at a time.
pub(crate) struct Client {
    poll: Result<Poll, String>,
    events: Events,
    /// The connections, by token; `None` is a free token.
    conns: Vec<Option<Conn>>,
    /// Tokens of connections kept open without a request, the most recently used last.
    idle: Vec<usize>,
    /// Room for what one read takes.
    buffer: Box<[u8]>,
    /// The tokens of the connections a wake found ready (room kept between waits).
    ready: Vec<usize>,
}

/// One request on its connection.
struct Exchange {
    /// Its caller's number.
    id: u64,
    /// Its bytes, and how many are written.
    wire: Vec<u8>,
    written: usize,
    deadline: Instant,
    reading: Reading,
    /// Whether it may be sent again on a new connection, should the kept one it was sent on
    /// turn out closed.
    resend: bool,
}

/// A connection.
struct Conn {
    stream: TcpStream,
    tls: Option<Box<rustls::ClientConnection>>,
    /// A tunnel through a proxy, being opened.
    tunnel: Option<Tunnel>,
    connected: bool,
    /// Addresses to try should this one refuse.
    rest: Vec<SocketAddr>,
    /// When it was last given back.
    since: Instant,
    exchange: Option<Exchange>,
}

/// A `CONNECT` request to a proxy, and its answer as read so far.
struct Tunnel {
    wire: Vec<u8>,
    written: usize,
    head: Vec<u8>,
}

/// What became of a connection's exchange after a turn.
enum Turn {
    /// Still going.
    Going,
    /// Answered; the connection can be kept for another request.
    Answered(Response, bool),
    Failed(Failure),
    /// The kept connection was closed before any byte of the answer: send it again.
    Stale,
}

impl Client {
    /// A client without connections.
    pub(crate) fn new() -> Client {
        Client {
            poll: Poll::new().map_err(|e| format!("cannot wait on connections: {e}")),
            events: Events::with_capacity(256),
            conns: Vec::new(),
            idle: Vec::new(),
            buffer: vec![0; READ_BUFFER].into_boxed_slice(),
            ready: Vec::new(),
        }
    }

    /// Requests on their way.
    pub(crate) fn in_flight(&self) -> usize {
        self.conns
            .iter()
            .flatten()
            .filter(|c| c.exchange.is_some())
            .count()
    }

    /// Starts `method` (`GET` or `POST`) of `body` to `endpoint`, known as `id`, to end by
    /// `deadline`. A failure found at once (no address, no connection possible) is
    /// pushed to `done`.
    pub(crate) fn start(
        &mut self,
        endpoint: &Endpoint,
        id: u64,
        method: &str,
        body: &[u8],
        deadline: Instant,
        done: &mut Vec<(u64, Result<Response, Failure>)>,
    ) {
        let exchange = Exchange {
            id,
            wire: endpoint.request(method, body),
            written: 0,
            deadline,
            reading: Reading::default(),
            resend: false,
        };
        self.send(endpoint, exchange, done);
    }

    /// Asks one request of a client with nothing else in flight, and waits for its end.
    pub(crate) fn ask(
        &mut self,
        endpoint: &Endpoint,
        method: &str,
        body: &[u8],
        deadline: Instant,
    ) -> Result<Response, Failure> {
        let mut done = Vec::new();
        self.start(endpoint, 0, method, body, deadline, &mut done);
        while done.is_empty() && self.in_flight() > 0 {
            self.wait(endpoint, None, &mut done);
        }
        done.pop().map_or_else(
            || Err(Failure::Io(io::Error::other("the request was lost"))),
            |(_, ended)| ended,
        )
    }

    /// Sends `exchange` on a kept connection, or a new one.
    fn send(
        &mut self,
        endpoint: &Endpoint,
        mut exchange: Exchange,
        done: &mut Vec<(u64, Result<Response, Failure>)>,
    ) {
        let now = Instant::now();
        while let Some(token) = self.idle.pop() {
            let fresh = self.conns[token]
                .as_ref()
                .is_some_and(|c| c.exchange.is_none() && now.duration_since(c.since) < IDLE_AGE);
            if !fresh {
                self.close(token);
                continue;
            }
            exchange.resend = true;
            if let Some(conn) = self.conns[token].as_mut() {
                conn.exchange = Some(exchange);
            }
            self.turn(endpoint, token, done);
            return;
        }
        let addresses = match endpoint.addresses(exchange.deadline) {
            Ok(a) => a,
            Err(f) => return done.push((exchange.id, Err(f))),
        };
        self.open(endpoint, addresses, exchange, done);
    }

    /// Opens a connection to the first of `addresses` that takes one, for `exchange`.
    fn open(
        &mut self,
        endpoint: &Endpoint,
        mut addresses: Vec<SocketAddr>,
        exchange: Exchange,
        done: &mut Vec<(u64, Result<Response, Failure>)>,
    ) {
        let poll = match &self.poll {
            Ok(p) => p,
            Err(why) => {
                return done.push((exchange.id, Err(Failure::Io(io::Error::other(why.clone())))));
            }
        };
        addresses.reverse();
        let mut last = None;
        while let Some(address) = addresses.pop() {
            let mut stream = match TcpStream::connect(address) {
                Ok(s) => {
                    // Requests are written whole; TLS writes its records as they are made.
                    let _ = s.set_nodelay(true);
                    s
                }
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            let token = match self.conns.iter().position(Option::is_none) {
                Some(t) => t,
                None => {
                    self.conns.push(None);
                    self.conns.len() - 1
                }
            };
            if let Err(e) = poll.registry().register(
                &mut stream,
                Token(token),
                Interest::READABLE | Interest::WRITABLE,
            ) {
                last = Some(e);
                continue;
            }
            let tls = match &endpoint.tls {
                Some((config, name)) => {
                    match rustls::ClientConnection::new(config.clone(), name.clone()) {
                        Ok(c) => Some(Box::new(c)),
                        Err(e) => {
                            let _ = poll.registry().deregister(&mut stream);
                            return done
                                .push((exchange.id, Err(Failure::Protocol(format!("TLS: {e}")))));
                        }
                    }
                }
                None => None,
            };
            addresses.reverse();
            self.conns[token] = Some(Conn {
                stream,
                tls,
                tunnel: endpoint.tunnel.as_ref().map(|wire| Tunnel {
                    wire: wire.clone(),
                    written: 0,
                    head: Vec::new(),
                }),
                connected: false,
                rest: addresses,
                since: Instant::now(),
                exchange: Some(exchange),
            });
            return;
        }
        endpoint.forget();
        done.push((
            exchange.id,
            Err(Failure::Connect(last.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "no address")
            }))),
        ));
    }

    /// Closes the connection `token`.
    fn close(&mut self, token: usize) {
        // Its token may be given to a new connection: not one kept idle.
        self.idle.retain(|&t| t != token);
        if let Some(mut conn) = self.conns[token].take()
            && let Ok(poll) = &self.poll
        {
            let _ = poll.registry().deregister(&mut conn.stream);
        }
    }

    /// Waits until a request ends (or `until`, or a moment when nothing is in flight) and
    /// pushes each that ended to `done`: its answer, or why there is none.
    pub(crate) fn wait(
        &mut self,
        endpoint: &Endpoint,
        until: Option<Instant>,
        done: &mut Vec<(u64, Result<Response, Failure>)>,
    ) {
        let before = done.len();
        loop {
            let now = Instant::now();
            // Deadlines first: what has run out ends, its connection closed.
            for token in 0..self.conns.len() {
                let late = self.conns[token]
                    .as_ref()
                    .and_then(|c| c.exchange.as_ref())
                    .is_some_and(|e| e.deadline <= now);
                if late && let Some(mut conn) = self.conns[token].take() {
                    if let Ok(poll) = &self.poll {
                        let _ = poll.registry().deregister(&mut conn.stream);
                    }
                    if let Some(e) = conn.exchange {
                        done.push((e.id, Err(Failure::Timeout)));
                    }
                }
            }
            if done.len() > before || until.is_some_and(|u| u <= now) {
                return;
            }
            let next = self
                .conns
                .iter()
                .flatten()
                .filter_map(|c| c.exchange.as_ref().map(|e| e.deadline))
                .chain(until)
                .min();
            let Some(next) = next else {
                return;
            };
            let Ok(poll) = &mut self.poll else {
                return;
            };
            // A millisecond past the deadline, so that it has passed on waking.
            let timeout = next.saturating_duration_since(now) + Duration::from_millis(1);
            if let Err(e) = poll.poll(&mut self.events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                // Polling itself failed: every request in flight fails with it.
                for token in 0..self.conns.len() {
                    if let Some(id) = self.conns[token]
                        .as_ref()
                        .and_then(|c| c.exchange.as_ref().map(|e| e.id))
                    {
                        self.close(token);
                        done.push((
                            id,
                            Err(Failure::Io(io::Error::new(e.kind(), e.to_string()))),
                        ));
                    }
                }
                return;
            }
            let mut ready = std::mem::take(&mut self.ready);
            ready.clear();
            ready.extend(self.events.iter().map(|e| e.token().0));
            for &token in &ready {
                self.turn(endpoint, token, done);
            }
            self.ready = ready;
        }
    }

    /// Moves the connection `token` on as far as it can go without waiting.
    fn turn(
        &mut self,
        endpoint: &Endpoint,
        token: usize,
        done: &mut Vec<(u64, Result<Response, Failure>)>,
    ) {
        let Some(conn) = self.conns.get_mut(token).and_then(Option::as_mut) else {
            return;
        };
        if conn.exchange.is_none() {
            // A kept connection has something to say: the server closed it, or sent what
            // was not asked. Either way it is no longer of use.
            self.close(token);
            return;
        }
        if !conn.connected {
            match connected(&conn.stream) {
                Ok(true) => conn.connected = true,
                Ok(false) => return,
                Err(e) => {
                    // Refused: the next address, if there is one.
                    let rest = std::mem::take(&mut conn.rest);
                    let Some(exchange) = conn.exchange.take() else {
                        return;
                    };
                    self.close(token);
                    if rest.is_empty() {
                        endpoint.forget();
                        done.push((exchange.id, Err(Failure::Connect(e))));
                    } else {
                        self.open(endpoint, rest, exchange, done);
                    }
                    return;
                }
            }
        }
        if let Some(tunnel) = conn.tunnel.as_mut() {
            match dig(&mut conn.stream, tunnel, &mut self.buffer) {
                Ok(false) => return,
                Ok(true) => conn.tunnel = None,
                Err(failure) => {
                    if let Some(exchange) = conn.exchange.take() {
                        done.push((exchange.id, Err(failure)));
                    }
                    self.close(token);
                    return;
                }
            }
        }
        let Some(exchange) = conn.exchange.as_mut() else {
            return;
        };
        let turn = match conn.tls.as_deref_mut() {
            Some(tls) => turn_tls(&mut conn.stream, tls, exchange, &mut self.buffer),
            None => turn_plain(&mut conn.stream, exchange, &mut self.buffer),
        };
        let turn = match turn {
            Turn::Stale if !exchange.resend => Turn::Failed(Failure::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection before it answered",
            ))),
            t => t,
        };
        match turn {
            Turn::Going => {}
            Turn::Answered(response, keep) => {
                let Some(exchange) = conn.exchange.take() else {
                    return;
                };
                done.push((exchange.id, Ok(response)));
                if keep {
                    conn.since = Instant::now();
                    self.idle.push(token);
                } else {
                    self.close(token);
                }
            }
            Turn::Failed(failure) => {
                let Some(exchange) = conn.exchange.take() else {
                    return;
                };
                self.close(token);
                done.push((exchange.id, Err(failure)));
            }
            Turn::Stale => {
                let Some(mut exchange) = conn.exchange.take() else {
                    return;
                };
                self.close(token);
                exchange.written = 0;
                exchange.reading = Reading::default();
                exchange.resend = false;
                // Never on a kept connection again: a new one.
                let addresses = match endpoint.addresses(exchange.deadline) {
                    Ok(a) => a,
                    Err(f) => return done.push((exchange.id, Err(f))),
                };
                self.open(endpoint, addresses, exchange, done);
            }
        }
    }
}

/// Opens a tunnel through a proxy as far as it can without waiting: `Ok(true)` once the
/// proxy has said yes.
fn dig(stream: &mut TcpStream, tunnel: &mut Tunnel, buffer: &mut [u8]) -> Result<bool, Failure> {
    while tunnel.written < tunnel.wire.len() {
        match stream.write(&tunnel.wire[tunnel.written..]) {
            Ok(0) => return Err(Failure::Io(io::ErrorKind::WriteZero.into())),
            Ok(n) => tunnel.written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Failure::Io(e)),
        }
    }
    loop {
        match stream.read(buffer) {
            Ok(0) => {
                return Err(Failure::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the proxy closed the connection before it opened a tunnel",
                )));
            }
            Ok(n) => tunnel.head.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::Io(e)),
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut answer = httparse::Response::new(&mut headers);
        match answer.parse(&tunnel.head) {
            Ok(httparse::Status::Complete(n)) => {
                let status = answer.code.unwrap_or_default();
                return if !(200..300).contains(&status) {
                    Err(Failure::Proxy(status))
                } else if n < tunnel.head.len() {
                    // The server speaks first on no protocol asked through a tunnel here.
                    Err(Failure::Protocol(
                        "the proxy sent more than its answer to CONNECT".into(),
                    ))
                } else {
                    Ok(true)
                };
            }
            Ok(httparse::Status::Partial) if tunnel.head.len() <= MAX_HEAD => {}
            Ok(httparse::Status::Partial) => return Err(Failure::Protocol(too_long_head())),
            Err(e) => {
                return Err(Failure::Protocol(format!(
                    "the proxy's answer to CONNECT is not HTTP: {e}"
                )));
            }
        }
    }
}

/// Whether a connection being made is made: `Ok(false)` while it is under way.
fn connected(stream: &TcpStream) -> io::Result<bool> {
    if let Some(e) = stream.take_error()? {
        return Err(e);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

/// A turn of a plain connection: write what is left, read what has come.
fn turn_plain(stream: &mut TcpStream, exchange: &mut Exchange, buffer: &mut [u8]) -> Turn {
    while exchange.written < exchange.wire.len() {
        match stream.write(&exchange.wire[exchange.written..]) {
            Ok(0) => return Turn::Failed(Failure::Io(io::ErrorKind::WriteZero.into())),
            Ok(n) => exchange.written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return broken(exchange, e),
        }
    }
    loop {
        match stream.read(buffer) {
            Ok(0) => return exchange.reading.end(),
            Ok(n) => match exchange.reading.feed(&buffer[..n]) {
                Ok(None) => {}
                Ok(Some(t)) => return t,
                Err(why) => return Turn::Failed(Failure::Protocol(why)),
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Turn::Going,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return broken(exchange, e),
        }
    }
}

/// A turn of a TLS connection: hand rustls what is left to write, move its records both
/// ways, read what it has decrypted.
fn turn_tls(
    stream: &mut TcpStream,
    tls: &mut rustls::ClientConnection,
    exchange: &mut Exchange,
    buffer: &mut [u8],
) -> Turn {
    loop {
        let mut progress = false;
        if exchange.written < exchange.wire.len() {
            match tls.writer().write(&exchange.wire[exchange.written..]) {
                Ok(n) => {
                    exchange.written += n;
                    progress |= n > 0;
                }
                Err(e) => return Turn::Failed(Failure::Io(e)),
            }
        }
        while tls.wants_write() {
            match tls.write_tls(stream) {
                Ok(_) => progress = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return broken(exchange, e),
            }
        }
        let mut closed = false;
        match tls.read_tls(stream) {
            Ok(0) => closed = true,
            Ok(_) => {
                progress = true;
                if let Err(e) = tls.process_new_packets() {
                    // An alert is owed to the server; it may not be sent.
                    let _ = tls.write_tls(stream);
                    return Turn::Failed(Failure::Protocol(format!("TLS: {e}")));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => progress = true,
            Err(e) => return broken(exchange, e),
        }
        loop {
            match tls.reader().read(buffer) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => match exchange.reading.feed(&buffer[..n]) {
                    Ok(None) => {}
                    Ok(Some(t)) => return t,
                    Err(why) => return Turn::Failed(Failure::Protocol(why)),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // Closed without a close_notify: as a plain connection's end.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    closed = true;
                    break;
                }
                Err(e) => return Turn::Failed(Failure::Io(e)),
            }
        }
        if closed {
            return exchange.reading.end();
        }
        if !progress {
            return Turn::Going;
        }
    }
}

/// A connection reset or broken: a kept one, before any of the answer, is sent again.
fn broken(exchange: &Exchange, e: io::Error) -> Turn {
    if exchange.reading.is_untouched()
        && matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionAborted
        )
    {
        Turn::Stale
    } else {
        Turn::Failed(Failure::Io(e))
    }
}

/// An answer as it is read.
#[derive(Default)]
struct Reading {
    /// The head until it is whole; then the body.
    bytes: Vec<u8>,
    phase: Phase,
    status: u16,
    retry_after: Option<String>,
    keep: bool,
    /// Where the body starts in `bytes` (after the head, which is kept until the end).
    body_at: usize,
    /// Whether any byte came.
    touched: bool,
}

#[derive(Default)]
enum Phase {
    #[default]
    Head,
    /// This many bytes of body to come.
    Length(usize),
    /// A chunked body.
    Chunked(Chunk),
    /// A body that ends when the connection closes.
    Close,
}

/// Where a chunked body's reading is.
enum Chunk {
    /// The size line, as read so far.
    Size(Vec<u8>),
    /// This many bytes of the chunk to come.
    Data(usize),
    /// The line end after a chunk's data (`\r` seen or not).
    DataEnd(bool),
    /// The trailer's lines, as read so far (the current one).
    Trailer(Vec<u8>),
}

impl Reading {
    fn is_untouched(&self) -> bool {
        !self.touched
    }

    /// The connection closed: the answer ends here, if it may.
    fn end(&mut self) -> Turn {
        match self.phase {
            _ if !self.touched => Turn::Stale,
            Phase::Close => Turn::Answered(self.response(), false),
            _ => Turn::Failed(Failure::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection before its answer was whole",
            ))),
        }
    }

    /// The answer read.
    fn response(&mut self) -> Response {
        let mut body = std::mem::take(&mut self.bytes);
        body.drain(..self.body_at);
        Response {
            status: self.status,
            retry_after: self.retry_after.take(),
            body,
        }
    }

    /// Takes `data`: `Some` when the answer is whole (and nothing came after it).
    fn feed(&mut self, mut data: &[u8]) -> Result<Option<Turn>, String> {
        self.touched |= !data.is_empty();
        while !data.is_empty() {
            match &mut self.phase {
                Phase::Head => {
                    let had = self.bytes.len();
                    let room = MAX_HEAD + 1 - had.min(MAX_HEAD + 1);
                    let take = data.len().min(room);
                    self.bytes.extend_from_slice(&data[..take]);
                    // Looked at again only when a line ended.
                    if !data[..take].contains(&b'\n') {
                        if self.bytes.len() > MAX_HEAD {
                            return Err(too_long_head());
                        }
                        return Ok(None);
                    }
                    match self.head()? {
                        Some(n) => {
                            // What came past the head is the body's start.
                            let used = n.saturating_sub(had).min(data.len());
                            self.bytes.truncate(n);
                            data = &data[used..];
                            if self.status < 200 {
                                // An interim answer (100 Continue): the real one follows.
                                self.bytes.clear();
                                self.phase = Phase::Head;
                                continue;
                            }
                            self.body_at = n;
                            if let Some(t) = self.finished(data) {
                                return Ok(Some(t));
                            }
                        }
                        None if self.bytes.len() > MAX_HEAD => return Err(too_long_head()),
                        None => return Ok(None),
                    }
                }
                Phase::Length(left) => {
                    let take = data.len().min(*left);
                    self.bytes.extend_from_slice(&data[..take]);
                    *left -= take;
                    data = &data[take..];
                    if let Some(t) = self.finished(data) {
                        return Ok(Some(t));
                    }
                }
                Phase::Close => {
                    if self.bytes.len() - self.body_at + data.len() > MAX_BODY {
                        return Err(too_long_body());
                    }
                    self.bytes.extend_from_slice(data);
                    data = &[];
                }
                Phase::Chunked(chunk) => {
                    let body = self.bytes.len() - self.body_at;
                    match chunk {
                        Chunk::Size(line) => {
                            let Some(text) = framing_line(line, &mut data)? else {
                                continue;
                            };
                            let size = text.split(|&b| b == b';').next().unwrap_or_default();
                            let size = std::str::from_utf8(size)
                                .ok()
                                .map(str::trim)
                                .and_then(|s| usize::from_str_radix(s, 16).ok())
                                .ok_or("a chunk's size is not a hexadecimal number")?;
                            if size > MAX_BODY.saturating_sub(body) {
                                return Err(too_long_body());
                            }
                            *chunk = if size == 0 {
                                Chunk::Trailer(Vec::new())
                            } else {
                                Chunk::Data(size)
                            };
                        }
                        Chunk::Trailer(line) => {
                            let Some(text) = framing_line(line, &mut data)? else {
                                continue;
                            };
                            if text.is_empty() {
                                // Bytes past the answer: kept, the connection not.
                                let keep = self.keep && data.is_empty();
                                return Ok(Some(Turn::Answered(self.response(), keep)));
                            }
                            line.clear();
                        }
                        Chunk::Data(left) => {
                            let take = data.len().min(*left);
                            *left -= take;
                            let done = *left == 0;
                            self.bytes.extend_from_slice(&data[..take]);
                            data = &data[take..];
                            if done {
                                self.phase = Phase::Chunked(Chunk::DataEnd(false));
                            }
                        }
                        Chunk::DataEnd(cr) => {
                            match (data[0], *cr) {
                                (b'\r', false) => *cr = true,
                                (b'\n', _) => *chunk = Chunk::Size(Vec::new()),
                                _ => return Err("a chunk does not end with a line end".into()),
                            }
                            data = &data[1..];
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    /// Reads the head, if it is whole: its length.
    fn head(&mut self) -> Result<Option<usize>, String> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let n = match response.parse(&self.bytes) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(format!("the answer is not HTTP: {e}")),
        };
        self.status = response.code.unwrap_or_default();
        let http10 = response.version == Some(0);
        let mut length: Option<usize> = None;
        let mut chunked = false;
        let mut encoded = false;
        let mut close = http10;
        self.retry_after = None;
        for h in response.headers.iter() {
            let value = std::str::from_utf8(h.value).unwrap_or_default().trim();
            if h.name.eq_ignore_ascii_case("content-length") {
                let l = value.parse::<usize>().map_err(|_| {
                    format!("the answer's Content-Length `{value}` is not a length")
                })?;
                if length.is_some_and(|x| x != l) {
                    return Err("the answer has two different Content-Lengths".into());
                }
                length = Some(l);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                encoded = true;
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            } else if h.name.eq_ignore_ascii_case("connection") {
                for token in value.split(',').map(str::trim) {
                    if token.eq_ignore_ascii_case("close") {
                        close = true;
                    } else if http10 && token.eq_ignore_ascii_case("keep-alive") {
                        close = false;
                    }
                }
            } else if h.name.eq_ignore_ascii_case("retry-after") {
                self.retry_after = Some(value.to_string());
            }
        }
        self.keep = !close;
        self.phase = if matches!(self.status, 204 | 304) || (100..200).contains(&self.status) {
            Phase::Length(0)
        } else if chunked {
            Phase::Chunked(Chunk::Size(Vec::new()))
        } else if encoded {
            // An encoding that is not chunked: the body ends with the connection.
            Phase::Close
        } else if let Some(l) = length {
            if l > MAX_BODY {
                return Err(too_long_body());
            }
            // Room for what is said to come, up to a megabyte: past it, room grows with
            // what does come, so a length that is never sent costs nothing.
            self.bytes.reserve(l.min(1 << 20));
            Phase::Length(l)
        } else {
            Phase::Close
        };
        if matches!(self.phase, Phase::Close) {
            self.keep = false;
        }
        Ok(Some(n))
    }

    /// The answer, when a body read by its length is whole; with `rest` (bytes past it)
    /// its connection is not kept.
    fn finished(&mut self, rest: &[u8]) -> Option<Turn> {
        match self.phase {
            Phase::Length(0) => Some(Turn::Answered(
                self.response(),
                self.keep && rest.is_empty(),
            )),
            _ => None,
        }
    }
}

/// Takes the rest of a framing line from `data` into `line`: the line without its end once
/// it is whole.
fn framing_line<'l>(line: &'l mut Vec<u8>, data: &mut &[u8]) -> Result<Option<&'l [u8]>, String> {
    let end = data.iter().position(|&b| b == b'\n');
    let take = end.map_or(data.len(), |e| e + 1);
    if line.len() + take > MAX_FRAMING_LINE {
        return Err("a chunk's framing line is too long".into());
    }
    line.extend_from_slice(&data[..take]);
    *data = &data[take..];
    Ok(end.map(|_| trim_line(line)))
}

/// A line without its end (`\r\n` or `\n`).
fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn too_long_head() -> String {
    format!(
        "the answer's headers are longer than {} KiB",
        MAX_HEAD >> 10
    )
}

fn too_long_body() -> String {
    format!("the answer is longer than {} MiB", MAX_BODY >> 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `answer` read whole when fed in pieces of every size `step`.
    fn read_in_steps(answer: &[u8], step: usize) -> Result<(Response, bool), String> {
        let mut reading = Reading::default();
        for piece in answer.chunks(step) {
            if let Some(turn) = reading.feed(piece)? {
                return match turn {
                    Turn::Answered(r, keep) => Ok((r, keep)),
                    _ => Err("not answered".into()),
                };
            }
        }
        match reading.end() {
            Turn::Answered(r, keep) => Ok((r, keep)),
            Turn::Failed(f) => Err(format!("{f:?}")),
            _ => Err("not answered".into()),
        }
    }

    #[test]
    fn answers_are_read_whole_however_they_are_cut() {
        let cases: [(&[u8], &[u8], u16, bool); 6] = [
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                b"hello",
                200,
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nhel\r\n2\r\nlo\r\n0\r\nTrailer: t\r\n\r\n",
                b"hello",
                200,
                true,
            ),
            (
                b"HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n\nA\nhellohello\n0\n\n",
                b"hellohello",
                200,
                true,
            ),
            (
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                b"{}",
                429,
                false,
            ),
            (b"HTTP/1.0 200 OK\r\n\r\nto the end", b"to the end", 200, false),
            (b"HTTP/1.1 204 No Content\r\n\r\n", b"", 204, true),
        ];
        for (answer, body, status, keep) in cases {
            for step in 1..=answer.len() {
                let (r, kept) =
                    read_in_steps(answer, step).unwrap_or_else(|e| panic!("{e} at step {step}"));
                assert_eq!(r.body, body, "step {step}");
                assert_eq!(r.status, status);
                assert_eq!(kept, keep, "step {step}");
            }
        }
        let (r, _) = read_in_steps(
            b"HTTP/1.1 429 x\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n",
            7,
        )
        .unwrap();
        assert_eq!(r.retry_after.as_deref(), Some("3"));
    }

    #[test]
    fn answers_past_their_bounds_or_broken_are_errors() {
        let long_head = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        for step in [1000, 1 << 20] {
            let e = read_in_steps(long_head.as_bytes(), step).unwrap_err();
            assert_eq!(e, too_long_head());
        }
        let big = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert_eq!(
            read_in_steps(big.as_bytes(), 64).unwrap_err(),
            too_long_body()
        );
        let chunk = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
            MAX_BODY + 1
        );
        assert_eq!(
            read_in_steps(chunk.as_bytes(), 64).unwrap_err(),
            too_long_body()
        );
        for broken in [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"SMTP ready\r\n\r\n",
        ] {
            assert!(
                read_in_steps(broken, 3).is_err(),
                "{}",
                String::from_utf8_lossy(broken)
            );
        }
        // Cut short by the close.
        assert!(read_in_steps(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", 4).is_err());
        // Bytes past an answer: the answer is kept, the connection not.
        let (r, keep) = read_in_steps(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n",
            1 << 10,
        )
        .unwrap();
        assert_eq!((r.body.as_slice(), keep), (&b"{}"[..], false));
        // So after an answer without a body.
        let (r, keep) = read_in_steps(b"HTTP/1.1 204 No Content\r\n\r\nstray", 1 << 10).unwrap();
        assert_eq!((r.status, r.body.is_empty(), keep), (204, true, false));
    }

    /// Seeded mutations of valid answers (bytes flipped, cut, repeated, framing
    /// characters put in), fed in pieces of random sizes: each ends in an answer or an
    /// error, within its bounds, never a panic; and what is read whole is read the same
    /// whatever the pieces.
    #[test]
    fn mutated_answers_end_in_an_answer_or_an_error() {
        let seeds: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nRetry-After: 2\r\n\r\n{\"a\": true}",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n7;e=1\r\n: true}\r\n0\r\nT: x\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 503 Busy\r\nConnection: keep-alive\r\n\r\nlater",
            b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
        ];
        let tokens: [&[u8]; 8] = [
            b"\r\n",
            b"\n",
            b"0",
            b"ffffffffffffffff",
            b";",
            b":",
            b"\r\n\r\n",
            b" ",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below.max(1) as u64) as usize
        };
        let (mut answered, mut failed) = (0, 0);
        for _ in 0..20_000 {
            let mut bytes = seeds[next(seeds.len())].to_vec();
            for _ in 0..1 + next(3) {
                let at = next(bytes.len() + 1);
                match next(5) {
                    0 if at < bytes.len() => bytes[at] ^= 1 << next(8),
                    1 => bytes.truncate(at),
                    2 => {
                        let end = (at + next(16)).min(bytes.len());
                        let piece = bytes[at..end].to_vec();
                        bytes.splice(at..at, piece);
                    }
                    _ => {
                        let token = tokens[next(tokens.len())];
                        bytes.splice(at..at, token.iter().copied());
                    }
                }
            }
            let whole = read_in_steps(&bytes, bytes.len().max(1));
            let cut = read_in_steps(&bytes, 1 + next(8));
            match (&whole, &cut) {
                (Ok((a, _)), Ok((b, _))) => {
                    assert_eq!((a.status, &a.body), (b.status, &b.body));
                    assert!(a.body.len() <= MAX_BODY);
                    answered += 1;
                }
                _ => failed += 1,
            }
        }
        // Both kinds of end are reached: the mutations are neither all harmless nor all
        // fatal.
        assert!(
            answered > 1_000 && failed > 1_000,
            "{answered} answered, {failed} failed"
        );
    }

    #[test]
    fn urls_are_taken_apart() {
        let e = Endpoint::new(
            "http://127.0.0.1:8080/v1/chat/completions?x=1#frag",
            &[],
            None,
        )
        .unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.tls.is_none()),
            ("127.0.0.1", 8080, true)
        );
        assert_eq!(e.target, "/v1/chat/completions?x=1");
        assert!(e.headers.starts_with("Host: 127.0.0.1:8080\r\n"));
        let e = Endpoint::new("HTTPS://u%40x:p%3Aw@[::1]/v1", &[], None).unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.tls.is_some()),
            ("::1", 443, true)
        );
        assert!(e.headers.starts_with("Host: [::1]\r\n"));
        // `u@x:p:w`
        assert!(
            e.headers
                .contains(&format!("Authorization: Basic {}\r\n", base64(b"u@x:p:w")))
        );
        let e = Endpoint::new("http://h", &[("Authorization", "Bearer k")], None).unwrap();
        assert_eq!(e.target, "/");
        assert!(e.headers.contains("Authorization: Bearer k\r\n"));
        for bad in [
            "127.0.0.1:8080/v1",
            "ftp://h/v1",
            "http:///v1",
            "http://h:99999/v1",
            "http://[::1/v1",
            "http://h/a b",
        ] {
            assert!(Endpoint::new(bad, &[], None).is_err(), "{bad}");
        }
        assert!(Endpoint::new("http://h", &[("X", "a\r\nb")], None).is_err());
    }

    /// A TLS server on 127.0.0.1 with the test certificate (tests/data/tls): it answers
    /// `answers` requests on each connection it accepts with their own body, then closes
    /// it; it counts the connections.
    fn tls_server(answers: usize) -> (u16, Arc<AtomicUsize>) {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let cert =
            CertificateDer::from_pem_slice(include_bytes!("../../../tests/data/tls/server.pem"))
                .unwrap();
        let key =
            PrivateKeyDer::from_pem_slice(include_bytes!("../../../tests/data/tls/server.key"))
                .unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let config = config.clone();
                std::thread::spawn(move || {
                    let conn = rustls::ServerConnection::new(config).unwrap();
                    let mut tls = rustls::StreamOwned::new(conn, stream);
                    for _ in 0..answers {
                        let mut head = Vec::new();
                        let mut byte = [0u8; 1];
                        while !head.ends_with(b"\r\n\r\n") {
                            if tls.read(&mut byte).unwrap_or(0) == 0 {
                                return;
                            }
                            head.push(byte[0]);
                        }
                        let head = String::from_utf8_lossy(&head).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .map_or(0, |l| l.trim().parse().unwrap());
                        let mut body = vec![0; length];
                        tls.read_exact(&mut body).unwrap();
                        let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n");
                        tls.write_all(answer.as_bytes()).unwrap();
                        tls.write_all(&body).unwrap();
                        tls.flush().unwrap();
                    }
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        (port, accepted)
    }

    /// A client's settings trusting the test certificate authority.
    fn trusting_the_test_authority() -> Arc<rustls::ClientConfig> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(
                CertificateDer::from_pem_slice(include_bytes!("../../../tests/data/tls/ca.pem"))
                    .unwrap(),
            )
            .unwrap();
        Arc::new(
            tls_builder()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    /// Asks `endpoint` `body` on `client` and waits for the end.
    fn ask(client: &mut Client, endpoint: &Endpoint, body: &[u8]) -> Result<Response, Failure> {
        client.ask(
            endpoint,
            "POST",
            body,
            Instant::now() + Duration::from_secs(20),
        )
    }

    #[test]
    fn https_is_spoken_kept_open_and_its_certificate_checked() {
        let (port, accepted) = tls_server(2);
        for host in ["localhost", "127.0.0.1"] {
            let url = format!("https://{host}:{port}/v1");
            let endpoint =
                Endpoint::trusting(&url, &[], None, || Ok(trusting_the_test_authority())).unwrap();
            let mut client = Client::new();
            let before = accepted.load(Ordering::SeqCst);
            // Two answers on one connection; the third finds it closed (the server's close
            // comes after its second answer), and is sent again on a new one.
            for n in 0..5 {
                let body = format!("{{\"n\": {n}, \"pad\": \"{}\"}}", "x".repeat(n * 40_000));
                let r = ask(&mut client, &endpoint, body.as_bytes()).unwrap();
                assert_eq!((r.status, r.body), (200, body.into_bytes()));
            }
            assert_eq!(accepted.load(Ordering::SeqCst) - before, 3, "{host}");
        }
        // Without the test authority, the certificate is refused.
        let endpoint = Endpoint::new(&format!("https://localhost:{port}/v1"), &[], None).unwrap();
        match ask(&mut Client::new(), &endpoint, b"{}") {
            Err(Failure::Protocol(why)) => assert!(why.contains("certificate"), "{why}"),
            other => panic!("{other:?}"),
        }
        // A plain request to the TLS port is not an answer.
        let endpoint = Endpoint::new(&format!("http://127.0.0.1:{port}/v1"), &[], None).unwrap();
        assert!(ask(&mut Client::new(), &endpoint, b"{}").is_err());
    }

    /// A proxy on 127.0.0.1: a `CONNECT` opens a tunnel to its target (when the request
    /// carries `Proxy-Authorization: Basic dTpw`, else 407); any other request is answered
    /// by the proxy itself with its request line as the body. It keeps the request lines.
    fn proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut client) = stream else { return };
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if client.read(&mut byte).unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let line = head.lines().next().unwrap_or_default().to_string();
                    log.lock().unwrap().push(line.clone());
                    if let Some(target) = line.strip_prefix("CONNECT ") {
                        if !head.contains("Proxy-Authorization: Basic dTpw\r\n") {
                            let _ =
                                client.write_all(b"HTTP/1.1 407 Who\r\nContent-Length: 0\r\n\r\n");
                            return;
                        }
                        let target = target.split(' ').next().unwrap().to_string();
                        let upstream = std::net::TcpStream::connect(target).unwrap();
                        client
                            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                            .unwrap();
                        let (mut a, mut b) =
                            (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                        let mut upstream = upstream;
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut a, &mut b);
                            let _ = b.shutdown(std::net::Shutdown::Write);
                        });
                        let _ = std::io::copy(&mut upstream, &mut client);
                        let _ = client.shutdown(std::net::Shutdown::Write);
                    } else {
                        let body = format!(
                            "{line}|{}",
                            head.contains("Proxy-Authorization: Basic dTpw")
                        );
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = client.write_all(answer.as_bytes());
                    }
                });
            }
        });
        (port, seen)
    }

    #[test]
    fn a_proxy_is_asked_plain_requests_whole_and_tunnels_https() {
        let (proxy_port, seen) = proxy();
        let proxy = format!("http://u:p@127.0.0.1:{proxy_port}");
        // Plain: the proxy is sent the request with the server's full URL.
        let endpoint =
            Endpoint::new("http://example.test:8080/v1/chat", &[], Some(&proxy)).unwrap();
        let r = ask(&mut Client::new(), &endpoint, b"{}").unwrap();
        assert_eq!(
            String::from_utf8_lossy(&r.body),
            "POST http://example.test:8080/v1/chat HTTP/1.1|true"
        );
        // https: through a tunnel, TLS with the server itself, the connection kept.
        let (port, accepted) = tls_server(3);
        let url = format!("https://localhost:{port}/v1");
        let endpoint =
            Endpoint::trusting(
                &url,
                &[],
                Some(&proxy),
                || Ok(trusting_the_test_authority()),
            )
            .unwrap();
        let mut client = Client::new();
        for n in 0..3 {
            let body = format!("{{\"n\": {n}}}");
            let r = ask(&mut client, &endpoint, body.as_bytes()).unwrap();
            assert_eq!(r.body, body.into_bytes());
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert!(
            seen.lock()
                .unwrap()
                .contains(&format!("CONNECT localhost:{port} HTTP/1.1"))
        );
        // Without the proxy's credentials, its refusal.
        let bare = format!("http://127.0.0.1:{proxy_port}");
        let endpoint =
            Endpoint::trusting(&url, &[], Some(&bare), || Ok(trusting_the_test_authority()))
                .unwrap();
        match ask(&mut Client::new(), &endpoint, b"{}") {
            Err(f @ Failure::Proxy(407)) => assert!(!f.retryable()),
            other => panic!("{other:?}"),
        }
        assert!(Endpoint::new(&url, &[], Some("socks5://127.0.0.1:1080")).is_err());
    }

    #[test]
    fn base64_pads_as_the_standard_does() {
        for (input, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), encoded);
        }
    }

    #[test]
    fn addresses_are_taken_as_they_are_and_names_looked_up_once_a_while() {
        let later = Instant::now() + Duration::from_secs(10);
        let e = Endpoint::new("http://127.0.0.1:8080/v1", &[], None).unwrap();
        assert_eq!(
            e.addresses(later).unwrap(),
            ["127.0.0.1:8080".parse().unwrap()]
        );
        let e6 = Endpoint::new("https://[::1]/v1", &[], None).unwrap();
        assert_eq!(e6.addresses(later).unwrap(), ["[::1]:443".parse().unwrap()]);
        assert_eq!(
            e.lookups.load(Ordering::Relaxed) + e6.lookups.load(Ordering::Relaxed),
            0
        );
        let named = Endpoint::new("http://localhost:8080/v1", &[], None).unwrap();
        let first = named.addresses(later).unwrap();
        assert!(
            first
                .iter()
                .all(|a| a.port() == 8080 && a.ip().is_loopback())
        );
        for _ in 0..10 {
            assert_eq!(named.addresses(later).unwrap(), first);
        }
        assert_eq!(named.lookups.load(Ordering::Relaxed), 1);
        named.forget();
        assert!(named.addresses(later).is_ok());
        assert_eq!(named.lookups.load(Ordering::Relaxed), 2);
    }
}
