//! The ephemeral SIP credential service, end to end: the real `hearth` binary issues credentials
//! for bearer tokens (HS256, RS256/ES256 from a JWKS file, static tokens), and a real Kamailio
//! with auth_ephemeral, driven by sipsak, accepts or refuses them.
//!
//! The Kamailio tests need `kamailio`, `kamailio-autheph-modules` and `sipsak` (Debian; `tests/run`
//! installs them). Without them they are skipped with a message, unless CI is set, where their
//! absence is a failure.

mod common;

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Server, data_dir};
use hearth_core::crypto::ephemeral::{self, ShaVariant, UsernameFormat};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const RSA1: &str = include_str!("../core/testdata/jwt/rsa1.pem");
const RSA2: &str = include_str!("../core/testdata/jwt/rsa2.pem");
const EC1: &str = include_str!("../core/testdata/jwt/ec1.pem");
const HS_SECRET: &str = "jwt-shared-secret-for-tests";
const SIP_SECRET: &str = "kamailio-new-secret";
const SIP_OLD_SECRET: &str = "kamailio-old-secret";
const ISSUER: &str = "https://idp.example.com";
const AUDIENCE: &str = "hearth-credential";
const STATIC_TOKEN: &str = "lab-token-for-zoe";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn free_tcp() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rsa(pem: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
}

fn ec(pem: &str) -> EncodingKey {
    EncodingKey::from_ec_pem(pem.as_bytes()).unwrap()
}

fn jwks(keys: &[(&str, &EncodingKey, Algorithm)]) -> String {
    let set = JwkSet {
        keys: keys
            .iter()
            .map(|(kid, key, alg)| {
                let mut jwk = Jwk::from_encoding_key(key, *alg).unwrap();
                jwk.common.key_id = Some((*kid).to_owned());
                jwk
            })
            .collect(),
    };
    serde_json::to_string_pretty(&set).unwrap()
}

/// Claims Hearth accepts: right issuer and audience, valid for an hour.
fn claims(sub: &str) -> Value {
    json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "exp": now() + 3600})
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn hs(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        None,
        claims,
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
}

/// Writes a Hearth config with a `[credential]` section signing with `secrets`; `extra` lines go
/// inside the section.
fn write_config(dir: &Path, jwks_file: &Path, secrets: &[&str], extra: &str) -> PathBuf {
    let path = dir.join("hearth.toml");
    let secrets = serde_json::to_string(secrets).unwrap();
    let text = format!(
        r#"[credential]
secrets = {secrets}
sha = "sha256"
uris = ["sip:127.0.0.1;transport=udp", "sip:sip.example.com;transport=tcp"]
hs256_secret = "{HS_SECRET}"
jwks_file = "{jwks}"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
leeway_secs = 5
{extra}

[credential.static_tokens]
"{STATIC_TOKEN}" = "zoe"
"#,
        jwks = jwks_file.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A running Hearth with its credential listener.
struct Hearth {
    _server: Server,
    addr: SocketAddr,
    config: PathBuf,
    _dir: common::TestDir,
}

impl Hearth {
    /// Starts Hearth with the standard credential section plus `extra`, and a JWKS of rsa1/ec1.
    fn start(shards: usize, extra: &str) -> Hearth {
        Self::start_signing(shards, &[SIP_SECRET, SIP_OLD_SECRET], extra)
    }

    /// The same, with other SIP secrets (the first signs).
    fn start_signing(shards: usize, secrets: &[&str], extra: &str) -> Hearth {
        let dir = data_dir();
        let jwks_file = dir.path().join("jwks.json");
        std::fs::write(
            &jwks_file,
            jwks(&[
                ("rsa-2024", &rsa(RSA1), Algorithm::RS256),
                ("ec-2024", &ec(EC1), Algorithm::ES256),
            ]),
        )
        .unwrap();
        let config = write_config(dir.path(), &jwks_file, secrets, extra);
        let addr = free_tcp();
        let server = Server::start_with(
            dir.path(),
            shards,
            &[
                "--config",
                config.to_str().unwrap(),
                "--credential-addr",
                &addr.to_string(),
            ],
        );
        Hearth {
            _server: server,
            addr,
            config,
            _dir: dir,
        }
    }

    fn jwks_file(&self) -> PathBuf {
        self.config.with_file_name("jwks.json")
    }
}

/// An HTTP answer with the headers the tests look at.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: String,
    challenge: Option<String>,
    retry_after: Option<String>,
    cache_control: Option<String>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One request on a fresh connection (so requests spread over the shards).
fn request(addr: SocketAddr, method: &str, path: &str, authorization: Option<&str>) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if let Some(value) = authorization {
        req = req.header("Authorization", value);
    }
    let mut resp = agent
        .run(req.body(()).unwrap())
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let challenge = header("www-authenticate");
    let retry_after = header("retry-after");
    let cache_control = header("cache-control");
    Reply {
        status: resp.status().as_u16(),
        body: resp.body_mut().read_to_string().unwrap_or_default(),
        challenge,
        retry_after,
        cache_control,
    }
}

fn credential(addr: SocketAddr, token: &str) -> Reply {
    request(addr, "GET", "/credential", Some(&format!("Bearer {token}")))
}

/// Asserts a 401 invalid_token whose description contains `why`.
fn assert_refused(reply: &Reply, why: &str) {
    assert_eq!(reply.status, 401, "{reply:?}");
    let challenge = reply.challenge.as_deref().expect("WWW-Authenticate");
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(&format!("error_description=\"{why}")),
        "expected {why:?} in {challenge}"
    );
    assert_eq!(reply.json()["error"], "invalid_token");
}

#[test]
fn issues_credentials_the_module_would_verify() {
    let h = Hearth::start(2, "");
    let before = now();
    for method in ["GET", "POST"] {
        let reply = request(
            h.addr,
            method,
            "/credential",
            Some(&format!("Bearer {}", hs(&claims("alice@example.com")))),
        );
        assert_eq!(reply.status, 200, "{method}: {}", reply.body);
        assert_eq!(reply.cache_control.as_deref(), Some("no-store"));
        let body = reply.json();
        let username = body["username"].as_str().unwrap();
        let password = body["password"].as_str().unwrap();
        assert_eq!(body["ttl"], 86_400);
        assert_eq!(
            body["uris"],
            json!([
                "sip:127.0.0.1;transport=udp",
                "sip:sip.example.com;transport=tcp"
            ])
        );
        let (expiry, user) = username.split_once(':').unwrap();
        assert_eq!(user, "alice@example.com");
        let expiry: u64 = expiry.parse().unwrap();
        assert!(
            (before + 86_400..=now() + 86_400).contains(&expiry),
            "{expiry}"
        );
        assert_eq!(body["expires"], expiry);
        // Signed with the first secret and SHA-256, as configured.
        assert_eq!(
            password,
            ephemeral::password(SIP_SECRET.as_bytes(), username, ShaVariant::Sha256).unwrap()
        );
        assert_eq!(
            ephemeral::verify(
                username,
                password,
                &[SIP_OLD_SECRET.as_bytes()],
                now(),
                UsernameFormat::ExpiryFirst,
                ShaVariant::Sha256
            ),
            Err(ephemeral::Reason::BadPassword),
            "the old secret does not sign"
        );
    }
    // RS256 and ES256 tokens from the JWKS, and the static lab token.
    let tokens = [
        sign(
            Algorithm::RS256,
            Some("rsa-2024"),
            &claims("bob"),
            &rsa(RSA1),
        ),
        sign(Algorithm::ES256, Some("ec-2024"), &claims("bob"), &ec(EC1)),
    ];
    for token in &tokens {
        let reply = credential(h.addr, token);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(reply.json()["username"].as_str().unwrap().ends_with(":bob"));
    }
    let reply = credential(h.addr, STATIC_TOKEN);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.json()["username"].as_str().unwrap().ends_with(":zoe"));
}

#[test]
fn bad_tokens_get_401() {
    let h = Hearth::start(1, "");
    // No token, or another scheme: a plain challenge.
    for auth in [None, Some("Basic YWxpY2U6c2VjcmV0")] {
        let reply = request(h.addr, "GET", "/credential", auth);
        assert_eq!(reply.status, 401);
        assert_eq!(
            reply.challenge.as_deref(),
            Some("Bearer realm=\"hearth\""),
            "{auth:?}"
        );
    }
    // Expired (beyond the 5 s leeway), and not yet valid.
    let expired = with(claims("alice"), "exp", json!(now() - 60));
    assert_refused(&credential(h.addr, &hs(&expired)), "token expired");
    let early = with(claims("alice"), "nbf", json!(now() + 600));
    assert_refused(&credential(h.addr, &hs(&early)), "token not valid yet");
    // Tampered: another subject spliced into a validly signed token.
    let token = hs(&claims("alice"));
    let parts: Vec<&str> = token.split('.').collect();
    let forged_claims = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims("mallory").to_string())
    };
    let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    assert_refused(
        &credential(h.addr, &forged),
        "signature verification failed",
    );
    // Wrongly signed: another HS256 secret; RS256 by a key not in the JWKS under a trusted kid.
    let wrong = sign(
        Algorithm::HS256,
        None,
        &claims("alice"),
        &EncodingKey::from_secret(b"not-the-secret"),
    );
    assert_refused(&credential(h.addr, &wrong), "signature verification failed");
    let wrong = sign(
        Algorithm::RS256,
        Some("rsa-2024"),
        &claims("alice"),
        &rsa(RSA2),
    );
    assert_refused(&credential(h.addr, &wrong), "signature verification failed");
    // Unknown kid, unsigned, wrong issuer and audience, junk.
    let unknown = sign(Algorithm::RS256, Some("rsa-2099"), &claims("a"), &rsa(RSA2));
    assert_refused(&credential(h.addr, &unknown), "unknown key id");
    let none = {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b.encode(r#"{"alg":"none","typ":"JWT"}"#),
            b.encode(claims("alice").to_string())
        )
    };
    assert_refused(&credential(h.addr, &none), "unsigned tokens");
    let other_iss = with(claims("alice"), "iss", json!("https://evil.example.com"));
    assert_refused(&credential(h.addr, &hs(&other_iss)), "wrong issuer");
    let other_aud = with(claims("alice"), "aud", json!("someone-else"));
    assert_refused(&credential(h.addr, &hs(&other_aud)), "wrong audience");
    assert_refused(&credential(h.addr, "not-a-known-token"), "unknown token");
    assert_refused(&credential(h.addr, &"x".repeat(9 * 1024)), "token too long");
    // Wrong method and path.
    let reply = request(h.addr, "PUT", "/credential", None);
    assert_eq!(reply.status, 405);
    let reply = request(h.addr, "GET", "/credentials", None);
    assert_eq!(reply.status, 404);
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base.as_object_mut().unwrap().insert(key.into(), value);
    base
}

#[test]
fn jwks_file_is_reloaded_when_it_changes() {
    let h = Hearth::start(2, "");
    let old = sign(
        Algorithm::RS256,
        Some("rsa-2024"),
        &claims("carol"),
        &rsa(RSA1),
    );
    let new = sign(
        Algorithm::RS256,
        Some("rsa-2025"),
        &claims("carol"),
        &rsa(RSA2),
    );
    assert_eq!(credential(h.addr, &old).status, 200);
    assert_refused(&credential(h.addr, &new), "unknown key id");

    // Rotate: publish the new key, withdraw the old one (written aside, then renamed in place).
    let path = h.jwks_file();
    let staging = path.with_extension("tmp");
    std::fs::write(
        &staging,
        jwks(&[("rsa-2025", &rsa(RSA2), Algorithm::RS256)]),
    )
    .unwrap();
    std::fs::rename(&staging, &path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = credential(h.addr, &new);
        if reply.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "new key not picked up: {reply:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_refused(&credential(h.addr, &old), "unknown key id");

    // A half-written (unparsable) file keeps the keys in place.
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"{\"keys\": [").unwrap();
    drop(f);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(credential(h.addr, &new).status, 200);
}

#[test]
fn rate_limit_is_per_subject_and_exact_across_shards() {
    // Three credentials at once, then one a minute: nothing refills during the test.
    let h = Hearth::start(2, "rate_limit_per_minute = 1\nrate_limit_burst = 3");
    let token = hs(&claims("dave"));
    let mut granted = 0;
    let mut refused = Vec::new();
    // Each request on its own connection: the kernel spreads them over both shards, and the
    // subject's owning shard keeps the one count.
    for _ in 0..10 {
        let reply = credential(h.addr, &token);
        match reply.status {
            200 => granted += 1,
            429 => refused.push(reply),
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert_eq!(granted, 3, "exactly the burst is granted");
    for reply in &refused {
        let secs: u64 = reply
            .retry_after
            .as_deref()
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=60).contains(&secs), "{secs}");
    }
    // Another subject has its own bucket.
    assert_eq!(credential(h.addr, &hs(&claims("erin"))).status, 200);
}

#[test]
fn credential_secrets_prints_the_kamailio_lines() {
    let h = Hearth::start(1, "");
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["credential-secrets", "--config", h.config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "modparam(\"auth_ephemeral\", \"secret\", \"{SIP_SECRET}\")\n\
             modparam(\"auth_ephemeral\", \"secret\", \"{SIP_OLD_SECRET}\")\n\
             modparam(\"auth_ephemeral\", \"sha_algorithm\", 1)\n\
             modparam(\"auth_ephemeral\", \"username_format\", 1)\n"
        )
    );
}

#[test]
fn bad_credential_configs_stop_start_up() {
    let dir = data_dir();
    let jwks_file = dir.path().join("missing.json");
    let config = write_config(dir.path(), &jwks_file, &[SIP_SECRET], "");
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--credential-addr", &free_tcp().to_string()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("JWKS"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Against Kamailio.

/// The kamailio binary: on PATH, or in /usr/sbin (not on every user's PATH).
fn kamailio_bin() -> PathBuf {
    let sbin = Path::new("/usr/sbin/kamailio");
    let on_path = Command::new("kamailio")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !on_path && sbin.is_file() {
        sbin.to_path_buf()
    } else {
        PathBuf::from("kamailio")
    }
}

/// Whether kamailio, its auth_ephemeral module and sipsak are installed; the module directory.
fn sip_tools() -> Option<PathBuf> {
    let has = |cmd: &Path, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if !has(&kamailio_bin(), "-v") || !has(Path::new("sipsak"), "-V") {
        return None;
    }
    let mut dirs = vec![PathBuf::from("/usr/lib/kamailio/modules")];
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        for e in entries.flatten() {
            dirs.push(e.path().join("kamailio/modules"));
        }
    }
    dirs.into_iter()
        .find(|d| d.join("auth_ephemeral.so").is_file())
}

/// The module directory, or None when the test must be skipped (never under CI).
fn require_sip_tools(test: &str) -> Option<PathBuf> {
    let found = sip_tools();
    if found.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        assert!(
            !ci,
            "{test}: kamailio, kamailio-autheph-modules and sipsak are required under CI (tests/run installs them)"
        );
        // Straight to stderr, past the test harness's output capture, so the skip is seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIP {test}: kamailio, kamailio-autheph-modules or sipsak not installed \
             (apt-get install kamailio kamailio-autheph-modules sipsak)"
        );
    }
    found
}

/// A Kamailio in the foreground on a free loopback UDP port.
struct Kamailio {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Kamailio {
    /// Starts Kamailio with tests/kamailio/autheph.cfg and `modparams` as its secrets file.
    fn start(modules: &Path, modparams: &str) -> Kamailio {
        let dir = tempfile::Builder::new()
            .prefix("hearth-kamailio-")
            .tempdir()
            .unwrap();
        let cfg = dir.path().join("autheph.cfg");
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kamailio/autheph.cfg"),
            &cfg,
        )
        .unwrap();
        std::fs::write(dir.path().join("hearth-secrets.cfg"), modparams).unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        let log = dir.path().join("kamailio.log");
        let port = free_udp_port();
        let child = {
            use std::os::unix::process::CommandExt as _;
            Command::new(kamailio_bin())
                .arg("-f")
                .arg(&cfg)
                .arg("-L")
                .arg(modules)
                .args(["-l", &format!("udp:127.0.0.1:{port}")])
                .args(["-DD", "-E", "-n", "1", "-m", "32", "-M", "4"])
                .arg("-Y")
                .arg(&run)
                .arg("-w")
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(dir.path().join("stdout.log")).unwrap())
                .stderr(std::fs::File::create(&log).unwrap())
                // Its own process group, so the workers it forks can be stopped with it.
                .process_group(0)
                .spawn()
                .expect("start kamailio")
        };
        let mut k = Kamailio {
            child: Some(child),
            port,
            log,
            _dir: dir,
        };
        k.wait_ready();
        k
    }

    /// Kamailio answers an OPTIONS (with 405, as configured) once it is serving.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "kamailio exited during start-up ({status}):\n{}",
                    self.log_text()
                );
            }
            let out = sipsak(&[
                "-s",
                &format!("sip:ping@127.0.0.1:{}", self.port),
                "-D",
                "1",
            ]);
            if out.status.code() == Some(1) || out.status.code() == Some(0) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "kamailio did not answer in time:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The autheph_check results logged for REGISTERs from `user`.
    fn verdicts(&self, user: &str) -> Vec<i64> {
        let marker = format!("autheph_check {user}: ");
        self.log_text()
            .lines()
            .filter_map(|l| {
                l.split_once(&marker)
                    .map(|(_, rest)| rest.trim().to_owned())
            })
            .filter_map(|v| v.parse().ok())
            .collect()
    }

    /// REGISTERs `user` with the digest credentials `username`/`password`.
    fn register(&self, user: &str, username: &str, password: &str) -> std::process::Output {
        sipsak(&[
            "-U",
            "-C",
            &format!("sip:{user}@127.0.0.1:{}", free_udp_port()),
            "-x",
            "60",
            "-a",
            password,
            "-u",
            username,
            "-s",
            &format!("sip:{user}@127.0.0.1:{}", self.port),
            "-vv",
        ])
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGTERM to the main process: it stops its workers and exits.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Still there: the whole group (the workers it forked) goes.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .status();
        let _ = child.wait();
    }
}

/// Runs sipsak, bounded in time (a lost reply must not hang the test).
fn sipsak(args: &[&str]) -> std::process::Output {
    let mut child = Command::new("sipsak")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sipsak");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The Kamailio side, configured from Hearth's own `credential-secrets` output.
fn kamailio_for(h: &Hearth, modules: &Path) -> Kamailio {
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["credential-secrets", "--config", h.config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Kamailio::start(modules, &String::from_utf8(out.stdout).unwrap())
}

fn get_credential(h: &Hearth, token: &str) -> (String, String, u64) {
    let reply = credential(h.addr, token);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    (
        body["username"].as_str().unwrap().to_owned(),
        body["password"].as_str().unwrap().to_owned(),
        body["expires"].as_u64().unwrap(),
    )
}

fn assert_registered(k: &Kamailio, user: &str, username: &str, password: &str) {
    let out = k.register(user, username, password);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "REGISTER refused:\n{shown}");
    assert!(
        k.verdicts(user).iter().any(|&v| v > 0),
        "no accepting verdict for {user}:\n{}",
        k.log_text()
    );
}

/// autheph_check's codes (Kamailio's auth API): -5 no credentials yet (the first, unauthenticated
/// REGISTER), -2 invalid password; other negative codes are refusals before the password is
/// looked at (with Kamailio 5.6: -1 for a username whose timestamp cannot be read, -7 for an
/// expired one).
const NO_CREDENTIALS: i64 = -5;
const INVALID_PASSWORD: i64 = -2;

/// Why Kamailio must refuse.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Refusal {
    /// The password does not match any secret.
    Password,
    /// The username itself (expiry, format), whatever the password.
    Username,
}

fn assert_rejected(k: &Kamailio, user: &str, username: &str, password: &str, why: Refusal) {
    let out = k.register(user, username, password);
    let shown = text(&out);
    assert_ne!(out.status.code(), Some(0), "REGISTER accepted:\n{shown}");
    assert!(shown.contains("401"), "no 401 from kamailio:\n{shown}");
    // The credentials reached the module and were refused for the expected reason.
    let verdicts = k.verdicts(user);
    let checked: Vec<i64> = verdicts
        .iter()
        .copied()
        .filter(|&v| v != NO_CREDENTIALS)
        .collect();
    let right_reason = match why {
        Refusal::Password => checked.iter().all(|&v| v == INVALID_PASSWORD),
        Refusal::Username => checked.iter().all(|&v| v < 0 && v != INVALID_PASSWORD),
    };
    assert!(
        !checked.is_empty() && right_reason,
        "{why:?} refusal expected for {user}, verdicts {verdicts:?}\n{shown}\n{}",
        k.log_text()
    );
}

#[test]
fn kamailio_accepts_hearth_credentials() {
    let Some(modules) = require_sip_tools("kamailio_accepts_hearth_credentials") else {
        return;
    };
    let h = Hearth::start(2, "");
    let k = kamailio_for(&h, &modules);

    // A JWT-authenticated user, an RS256 one, and the static lab token.
    let (username, password, _) = get_credential(&h, &hs(&claims("alice")));
    assert_registered(&k, "alice", &username, &password);
    let token = sign(Algorithm::ES256, Some("ec-2024"), &claims("bob"), &ec(EC1));
    let (username, password, _) = get_credential(&h, &token);
    assert_registered(&k, "bob", &username, &password);
    let (username, password, _) = get_credential(&h, STATIC_TOKEN);
    assert_registered(&k, "zoe", &username, &password);

    // Secret rotation: credentials still signed with the previous secret are accepted while
    // Kamailio lists both.
    let rotated = Hearth::start_signing(1, &[SIP_OLD_SECRET], "");
    let (username, password, _) = get_credential(&rotated, &hs(&claims("grace")));
    assert_registered(&k, "grace", &username, &password);
}

#[test]
fn kamailio_refuses_expired_wrong_secret_and_old_format() {
    let Some(modules) = require_sip_tools("kamailio_refuses_expired_wrong_secret_and_old_format")
    else {
        return;
    };
    let good = Hearth::start(1, "");
    let k = kamailio_for(&good, &modules);

    // Wrong secret: a Hearth whose secret Kamailio does not know.
    let wrong = Hearth::start_signing(1, &["a-secret-kamailio-never-saw"], "");
    let (username, password, _) = get_credential(&wrong, &hs(&claims("carol")));
    assert_rejected(&k, "carol", &username, &password, Refusal::Password);

    // The older "<user>:<expiry>" format against a server set for "<expiry>:<user>".
    let old_format = Hearth::start(1, "username_format = \"user-first\"");
    let (username, password, _) = get_credential(&old_format, &hs(&claims("dave")));
    assert!(username.starts_with("dave:"), "{username}");
    assert_rejected(&k, "dave", &username, &password, Refusal::Username);

    // Expired: one-second credentials, presented once their expiry has passed.
    let short = Hearth::start(1, "ttl_secs = 1");
    let (username, password, expires) = get_credential(&short, &hs(&claims("erin")));
    while now() <= expires {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_rejected(&k, "erin", &username, &password, Refusal::Username);

    // The same server accepts good credentials all along.
    let (username, password, _) = get_credential(&good, &hs(&claims("frank")));
    assert_registered(&k, "frank", &username, &password);
}
