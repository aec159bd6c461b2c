//! Scenarios: what requests a connection sends. A scenario is a small state machine over a
//! [`Flow`] (one or more dependent HTTP requests): it starts flows, writes the request of the
//! current step, and reads each answer to decide the next step. The runner owns timing, sockets and
//! statistics, so a new flow (GBA, XCAP, credentials) is one more implementation of [`Scenario`].

use std::collections::VecDeque;

use rand::RngExt;
use rand::rngs::SmallRng;

use crate::http::{RequestWriter, Response};
use crate::population::{KeyChooser, Naming};

/// One flow in progress on one lane of a connection. Reused from flow to flow (no allocation).
#[derive(Debug, Default, Clone)]
pub struct Flow {
    /// The step about to be sent or awaiting its answer (0 for the first).
    pub step: u32,
    /// The subscriber index.
    pub key: u64,
    /// Which kind of flow (for scenarios mixing several).
    pub kind: u32,
    /// Values captured from earlier answers (e.g. a Location).
    pub scratch: Vec<u8>,
    /// A second capture slot.
    pub scratch2: Vec<u8>,
}

impl Flow {
    /// Clears the flow for a new start.
    pub fn reset(&mut self) {
        self.step = 0;
        self.key = 0;
        self.kind = 0;
        self.scratch.clear();
        self.scratch2.clear();
    }
}

/// Per-connection state that scenarios may use.
pub struct FlowCtx {
    /// This connection's random generator (seeded from `--seed` and the connection number).
    pub rng: SmallRng,
    /// Subscribers this connection registered and has not deregistered (bounded; oldest dropped).
    pub registered: VecDeque<u64>,
}

/// Bound of [`FlowCtx::registered`].
pub const REGISTERED_MEMORY: usize = 4096;

/// What an answer means for the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The flow goes on: the scenario has moved it to its next step.
    Next,
    /// The flow is complete.
    Done,
    /// The answer is wrong (counted as a `check` error with this reason); the flow aborts.
    Fail(&'static str),
}

/// A load scenario. Shared by all threads; per-flow state lives in [`Flow`], per-connection state in
/// [`FlowCtx`].
pub trait Scenario: Send + Sync {
    /// A short name for reports.
    fn name(&self) -> String;
    /// How many flows the scenario will run in all, when it is bounded (for the progress bar).
    fn total_flows(&self) -> Option<u64> {
        None
    }
    /// Starts a new flow on `flow` (already reset). `false`: nothing is left to do, the lane stops.
    fn start(&self, flow: &mut Flow, ctx: &mut FlowCtx) -> bool;
    /// Writes the request of the flow's current step.
    fn write_request(&self, flow: &Flow, req: &mut RequestWriter<'_>);
    /// Whether a status is a success for this step (else it is an error by status and the flow
    /// aborts). Default: 2xx.
    fn accepts(&self, _flow: &Flow, status: u16) -> bool {
        (200..300).contains(&status)
    }
    /// Reads the answer to the current step (already accepted by [`Scenario::accepts`]).
    fn on_response(&self, flow: &mut Flow, resp: &Response<'_>, ctx: &mut FlowCtx) -> Outcome;
}

// ------------------------------------------------------------------------------------------ url

/// One URL over and over (wrk-like). A status under 400 is a success, as in wrk.
///
/// `{i}` in the URL is replaced by a subscriber index for each request, taken from the key
/// chooser (so `/impi/lg{i}%40example.com/av/digest?impu=sip%3Alg{i}%40example.com` spreads the
/// load over a population as the flows do).
pub struct UrlScenario {
    /// The encoded request, cut where `{i}` stood (one piece when it never does).
    pieces: Vec<Vec<u8>>,
    keys: Option<KeyChooser>,
    head: bool,
    label: String,
}

/// What a URL says where a subscriber index goes.
pub const KEY_PLACEHOLDER: &[u8] = b"{i}";

impl UrlScenario {
    /// `request` is the complete encoded request; `keys` gives the index for each `{i}` in it.
    pub fn new(request: Vec<u8>, keys: KeyChooser, head: bool, label: String) -> UrlScenario {
        let mut pieces = Vec::new();
        let mut rest = request.as_slice();
        while let Some(at) = rest
            .windows(KEY_PLACEHOLDER.len())
            .position(|w| w == KEY_PLACEHOLDER)
        {
            pieces.push(rest[..at].to_vec());
            rest = &rest[at + KEY_PLACEHOLDER.len()..];
        }
        pieces.push(rest.to_vec());
        let keys = (pieces.len() > 1).then_some(keys);
        UrlScenario {
            pieces,
            keys,
            head,
            label,
        }
    }
}

impl Scenario for UrlScenario {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn total_flows(&self) -> Option<u64> {
        self.keys.as_ref().and_then(KeyChooser::total)
    }
    fn start(&self, flow: &mut Flow, ctx: &mut FlowCtx) -> bool {
        match &self.keys {
            Some(keys) => match keys.next(&mut ctx.rng) {
                Some(key) => {
                    flow.key = key;
                    true
                }
                None => false,
            },
            None => true,
        }
    }
    fn write_request(&self, flow: &Flow, req: &mut RequestWriter<'_>) {
        for (n, piece) in self.pieces.iter().enumerate() {
            if n > 0 {
                crate::http::push_u64(req.buf(), flow.key);
            }
            req.raw(piece, self.head);
        }
    }
    fn accepts(&self, _flow: &Flow, status: u16) -> bool {
        (100..400).contains(&status)
    }
    fn on_response(&self, _flow: &mut Flow, _resp: &Response<'_>, _ctx: &mut FlowCtx) -> Outcome {
        Outcome::Done
    }
}

// ---------------------------------------------------------------------------- Homestead flows

/// The Homestead (Cx-over-HTTP) flows a SIP core runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowKind {
    /// Initial registration: registration-status (UAR) → av (MAR) → reg-data `reg` (SAR).
    Register,
    /// Re-registration: registration-status → reg-data `reg`.
    Reregister,
    /// Terminating call: location (LIR) → reg-data `call`.
    Call,
    /// Deregistration: registration-status `auth-type=DEREG` → reg-data `dereg-user`.
    Deregister,
}

impl FlowKind {
    /// All kinds.
    pub const ALL: [FlowKind; 4] = [
        FlowKind::Register,
        FlowKind::Reregister,
        FlowKind::Call,
        FlowKind::Deregister,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::Register => "register",
            FlowKind::Reregister => "reregister",
            FlowKind::Call => "call",
            FlowKind::Deregister => "deregister",
        }
    }

    fn from_index(i: u32) -> FlowKind {
        FlowKind::ALL[(i as usize).min(3)]
    }

    fn index(self) -> u32 {
        FlowKind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u32
    }

    fn steps(self) -> u32 {
        match self {
            FlowKind::Register => 3,
            _ => 2,
        }
    }
}

/// Parses `register=1,call=4,...` into weights.
pub fn parse_weights(s: &str) -> Result<Vec<(FlowKind, u32)>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, w) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}': expected flow=weight"))?;
        let kind = FlowKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == name.trim())
            .ok_or_else(|| {
                format!("unknown flow '{name}' (register, reregister, call, deregister)")
            })?;
        let w: u32 = w
            .trim()
            .parse()
            .map_err(|_| format!("'{part}': weight must be a whole number"))?;
        if w > 0 {
            out.push((kind, w));
        }
    }
    if out.is_empty() {
        return Err("no flow has a positive weight".into());
    }
    Ok(out)
}

/// Homestead flows over the subscriber population: one kind, or a weighted mix.
///
/// In a mix, `deregister` targets a subscriber this connection registered earlier (and runs
/// `register` when it has none), and `reregister` prefers one; so a mix on a fresh population
/// produces no 400 for deregistering an unregistered subscriber (except when two connections hit
/// the same subscriber at once). A single-kind `deregister` takes subscribers from the key choice.
pub struct HomesteadScenario {
    naming: Naming,
    keys: KeyChooser,
    weights: Vec<(FlowKind, u32)>,
    total_weight: u32,
    mix: bool,
    check: bool,
}

impl HomesteadScenario {
    /// One kind of flow (`weights` of one entry) or a mix.
    pub fn new(
        naming: Naming,
        keys: KeyChooser,
        weights: Vec<(FlowKind, u32)>,
        mix: bool,
        check: bool,
    ) -> HomesteadScenario {
        let total_weight = weights.iter().map(|(_, w)| *w).sum();
        HomesteadScenario {
            naming,
            keys,
            weights,
            total_weight,
            mix,
            check,
        }
    }

    fn pick_kind(&self, rng: &mut SmallRng) -> FlowKind {
        if self.weights.len() == 1 {
            return self.weights[0].0;
        }
        let mut r = rng.random_range(0..self.total_weight.max(1));
        for (k, w) in &self.weights {
            if r < *w {
                return *k;
            }
            r -= w;
        }
        self.weights[0].0
    }
}

const REG_BODY: &[u8] = br#"{"reqtype": "reg"}"#;
const CALL_BODY: &[u8] = br#"{"reqtype": "call"}"#;
const DEREG_BODY: &[u8] = br#"{"reqtype": "dereg-user"}"#;

fn check_json_result(body: &[u8]) -> Result<(), &'static str> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| "answer is not JSON")?;
    match v.get("result-code").and_then(|c| c.as_u64()) {
        Some(2001) => Ok(()),
        Some(_) => Err("result-code is not 2001"),
        None => Err("no result-code"),
    }
}

fn check_av(body: &[u8]) -> Result<(), &'static str> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| "av is not JSON")?;
    if v.get("digest").is_some() || v.get("aka").is_some() {
        Ok(())
    } else {
        Err("av has neither digest nor aka")
    }
}

fn check_reg_data(body: &[u8], kind: FlowKind) -> Result<(), &'static str> {
    use hearth_core::xml::reg_data::{RegistrationState, parse_clearwater_reg_data};
    let doc = parse_clearwater_reg_data(body).map_err(|_| "reg-data is not ClearwaterRegData")?;
    let ok = match kind {
        FlowKind::Register | FlowKind::Reregister => doc.state == RegistrationState::Registered,
        FlowKind::Call => matches!(
            doc.state,
            RegistrationState::Registered | RegistrationState::Unregistered
        ),
        FlowKind::Deregister => doc.state != RegistrationState::Registered,
    };
    if !ok {
        return Err("unexpected RegistrationState");
    }
    if doc.subscription.is_none() && kind != FlowKind::Deregister {
        return Err("reg-data has no IMSSubscription");
    }
    Ok(())
}

impl Scenario for HomesteadScenario {
    fn name(&self) -> String {
        if self.mix {
            let parts: Vec<String> = self
                .weights
                .iter()
                .map(|(k, w)| format!("{}={w}", k.name()))
                .collect();
            format!("mix({})", parts.join(","))
        } else {
            self.weights[0].0.name().to_string()
        }
    }

    fn total_flows(&self) -> Option<u64> {
        self.keys.total()
    }

    fn start(&self, flow: &mut Flow, ctx: &mut FlowCtx) -> bool {
        let mut kind = self.pick_kind(&mut ctx.rng);
        let key = if self.mix {
            match kind {
                FlowKind::Deregister => match ctx.registered.pop_front() {
                    Some(k) => Some(k),
                    None => {
                        kind = FlowKind::Register;
                        self.keys.next(&mut ctx.rng)
                    }
                },
                FlowKind::Reregister if !ctx.registered.is_empty() => {
                    let i = ctx.rng.random_range(0..ctx.registered.len());
                    ctx.registered.get(i).copied()
                }
                _ => self.keys.next(&mut ctx.rng),
            }
        } else {
            self.keys.next(&mut ctx.rng)
        };
        let Some(key) = key else {
            return false;
        };
        flow.key = key;
        flow.kind = kind.index();
        flow.step = 0;
        true
    }

    fn write_request(&self, flow: &Flow, req: &mut RequestWriter<'_>) {
        let kind = FlowKind::from_index(flow.kind);
        let n = &self.naming;
        let key = flow.key;
        match (kind, flow.step) {
            (FlowKind::Register | FlowKind::Reregister | FlowKind::Deregister, 0) => {
                req.begin("GET");
                req.push("/impi/");
                n.push_impi(req.buf(), key);
                req.push("/registration-status?impu=");
                n.push_impu(req.buf(), key);
                if kind == FlowKind::Deregister {
                    req.push("&auth-type=DEREG");
                }
                req.end(None, b"");
            }
            (FlowKind::Register, 1) => {
                req.begin("GET");
                req.push("/impi/");
                n.push_impi(req.buf(), key);
                req.push("/av?impu=");
                n.push_impu(req.buf(), key);
                req.end(None, b"");
            }
            (FlowKind::Call, 0) => {
                req.begin("GET");
                req.push("/impu/");
                n.push_impu(req.buf(), key);
                req.push("/location");
                req.end(None, b"");
            }
            _ => {
                req.begin("PUT");
                req.push("/impu/");
                n.push_impu(req.buf(), key);
                req.push("/reg-data?private_id=");
                n.push_impi(req.buf(), key);
                let body = match kind {
                    FlowKind::Call => CALL_BODY,
                    FlowKind::Deregister => DEREG_BODY,
                    _ => REG_BODY,
                };
                req.end(Some("application/json"), body);
            }
        }
    }

    fn on_response(&self, flow: &mut Flow, resp: &Response<'_>, ctx: &mut FlowCtx) -> Outcome {
        let kind = FlowKind::from_index(flow.kind);
        let last = flow.step + 1 >= kind.steps();
        if self.check {
            let verdict = match (kind, flow.step) {
                (FlowKind::Register, 1) => check_av(resp.body),
                (_, 0) => check_json_result(resp.body),
                _ => check_reg_data(resp.body, kind),
            };
            if let Err(reason) = verdict {
                return Outcome::Fail(reason);
            }
        }
        if !last {
            flow.step += 1;
            return Outcome::Next;
        }
        if self.mix && matches!(kind, FlowKind::Register) {
            if ctx.registered.len() >= REGISTERED_MEMORY {
                ctx.registered.pop_front();
            }
            ctx.registered.push_back(flow.key);
        }
        Outcome::Done
    }
}

// -------------------------------------------------------------------------------- provision

/// Bulk provisioning following Ellis's sequence for each subscriber:
/// `PUT /private/<impi>` {digest_ha1, realm}; `POST /irs/` (Location); `PUT
/// /private/<impi>/associated_implicit_registration_sets/<irs>`; `POST /irs/<irs>/service_profiles`
/// (Location); `PUT .../public_ids/<impu>` (PublicIdentity XML); `PUT .../filter_criteria`
/// (ServiceProfile XML with the iFCs).
pub struct ProvisionScenario {
    naming: Naming,
    keys: KeyChooser,
    password: String,
    ifc_xml: String,
}

/// The iFC document PUT to `filter_criteria` by default (one trigger on INVITE to an MMTel AS).
pub fn default_ifc(domain: &str) -> String {
    format!(
        "<ServiceProfile><InitialFilterCriteria><Priority>1</Priority><TriggerPoint>\
<ConditionTypeCNF>0</ConditionTypeCNF><SPT><ConditionNegated>0</ConditionNegated><Group>0</Group>\
<Method>INVITE</Method><Extension></Extension></SPT></TriggerPoint><ApplicationServer>\
<ServerName>sip:mmtel.{domain}</ServerName><DefaultHandling>0</DefaultHandling>\
</ApplicationServer></InitialFilterCriteria></ServiceProfile>"
    )
}

impl ProvisionScenario {
    /// Provisions the subscribers `keys` hands out (a sequential chooser).
    pub fn new(
        naming: Naming,
        keys: KeyChooser,
        password: String,
        ifc_xml: String,
    ) -> ProvisionScenario {
        ProvisionScenario {
            naming,
            keys,
            password,
            ifc_xml,
        }
    }

    fn ha1(&self, impi: &str) -> String {
        use hearth_core::crypto::digest::{DigestAlgorithm, ha1};
        ha1(
            DigestAlgorithm::Md5,
            impi,
            &self.naming.domain,
            self.password.as_bytes(),
            "",
            "",
        )
        .as_hex()
        .to_string()
    }
}

/// The last path segment of a Location value (`uuid`, `/irs/uuid` or an absolute URL).
fn last_segment(location: &[u8]) -> &[u8] {
    let trimmed = location.trim_ascii();
    let no_query = trimmed.split(|&b| b == b'?').next().unwrap_or(trimmed);
    let no_slash = no_query.strip_suffix(b"/").unwrap_or(no_query);
    no_slash.rsplit(|&b| b == b'/').next().unwrap_or(no_slash)
}

impl Scenario for ProvisionScenario {
    fn name(&self) -> String {
        "provision".into()
    }

    fn total_flows(&self) -> Option<u64> {
        self.keys.total()
    }

    fn start(&self, flow: &mut Flow, ctx: &mut FlowCtx) -> bool {
        match self.keys.next(&mut ctx.rng) {
            Some(k) => {
                flow.key = k;
                true
            }
            None => false,
        }
    }

    fn write_request(&self, flow: &Flow, req: &mut RequestWriter<'_>) {
        let n = &self.naming;
        let key = flow.key;
        // Captured uuids are the server's; encode them like any path segment.
        let irs = String::from_utf8_lossy(&flow.scratch);
        let sp = String::from_utf8_lossy(&flow.scratch2);
        let sp_path = |req: &mut RequestWriter<'_>| {
            req.push("/irs/");
            req.push_enc(&irs);
            req.push("/service_profiles/");
            req.push_enc(&sp);
        };
        match flow.step {
            0 => {
                req.begin("PUT");
                req.push("/private/");
                n.push_impi(req.buf(), key);
                let body = serde_json::json!({
                    "digest_ha1": self.ha1(&n.impi(key)),
                    "realm": n.domain,
                });
                req.end(Some("application/json"), body.to_string().as_bytes());
            }
            1 => {
                req.begin("POST");
                req.push("/irs/");
                req.end(None, b"");
            }
            2 => {
                req.begin("PUT");
                req.push("/private/");
                n.push_impi(req.buf(), key);
                req.push("/associated_implicit_registration_sets/");
                req.push_enc(&irs);
                req.end(None, b"");
            }
            3 => {
                req.begin("POST");
                req.push("/irs/");
                req.push_enc(&irs);
                req.push("/service_profiles");
                req.end(None, b"");
            }
            4 => {
                req.begin("PUT");
                sp_path(req);
                req.push("/public_ids/");
                n.push_impu(req.buf(), key);
                let body = format!(
                    "<PublicIdentity><Identity>{}</Identity></PublicIdentity>",
                    n.impu(key)
                );
                req.end(Some("application/xml"), body.as_bytes());
            }
            _ => {
                req.begin("PUT");
                sp_path(req);
                req.push("/filter_criteria");
                req.end(Some("application/xml"), self.ifc_xml.as_bytes());
            }
        }
    }

    fn on_response(&self, flow: &mut Flow, resp: &Response<'_>, _ctx: &mut FlowCtx) -> Outcome {
        match flow.step {
            1 | 3 => {
                let Some(loc) = resp.header("location") else {
                    return Outcome::Fail("no Location header");
                };
                let seg = last_segment(loc);
                if seg.is_empty() {
                    return Outcome::Fail("empty Location header");
                }
                let dest = if flow.step == 1 {
                    &mut flow.scratch
                } else {
                    &mut flow.scratch2
                };
                dest.clear();
                dest.extend_from_slice(seg);
            }
            5 => return Outcome::Done,
            _ => {}
        }
        flow.step += 1;
        Outcome::Next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::KeyDist;
    use rand::SeedableRng;

    fn ctx() -> FlowCtx {
        FlowCtx {
            rng: SmallRng::seed_from_u64(1),
            registered: VecDeque::new(),
        }
    }

    fn naming() -> Naming {
        Naming {
            prefix: "u".into(),
            domain: "example.com".into(),
        }
    }

    fn write(s: &dyn Scenario, f: &Flow) -> String {
        let mut out = Vec::new();
        let mut w = RequestWriter::new(&mut out, "h", "", b"");
        s.write_request(f, &mut w);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn url_puts_a_key_where_the_url_says_i() {
        let request = b"GET /impi/lg{i}%40x/av?impu=sip%3Alg{i}%40x HTTP/1.1\r\nHost: h\r\n\r\n";
        let s = UrlScenario::new(
            request.to_vec(),
            KeyChooser::new(KeyDist::Seq, 40, 2, 1.0),
            false,
            "u".into(),
        );
        assert_eq!(s.total_flows(), Some(2));
        let (mut c, mut f) = (ctx(), Flow::default());
        for key in [40, 41] {
            assert!(s.start(&mut f, &mut c));
            assert_eq!(
                write(&s, &f),
                format!(
                    "GET /impi/lg{key}%40x/av?impu=sip%3Alg{key}%40x HTTP/1.1\r\nHost: h\r\n\r\n"
                )
            );
        }
        assert!(!s.start(&mut f, &mut c), "a sequential population ends");
        // Without {i}, the request is sent as it is and the keys are not used.
        let plain = UrlScenario::new(
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            KeyChooser::new(KeyDist::Seq, 0, 0, 1.0),
            false,
            "p".into(),
        );
        assert_eq!(plain.total_flows(), None);
        assert!(plain.start(&mut f, &mut c));
        assert_eq!(write(&plain, &f), "GET / HTTP/1.1\r\n\r\n");
    }

    fn ok<'a>(head: &'a [u8], body: &'a [u8]) -> Response<'a> {
        Response {
            status: 200,
            head,
            body,
        }
    }

    #[test]
    fn register_flow_requests() {
        let s = HomesteadScenario::new(
            naming(),
            KeyChooser::new(KeyDist::Seq, 5, 10, 1.0),
            vec![(FlowKind::Register, 1)],
            false,
            false,
        );
        let mut c = ctx();
        let mut f = Flow::default();
        assert!(s.start(&mut f, &mut c));
        assert!(write(&s, &f).starts_with(
            "GET /impi/u5%40example.com/registration-status?impu=sip%3Au5%40example.com HTTP/1.1\r\n"
        ));
        assert_eq!(s.on_response(&mut f, &ok(b"", b""), &mut c), Outcome::Next);
        assert!(
            write(&s, &f).starts_with("GET /impi/u5%40example.com/av?impu=sip%3Au5%40example.com ")
        );
        assert_eq!(s.on_response(&mut f, &ok(b"", b""), &mut c), Outcome::Next);
        let put = write(&s, &f);
        assert!(
            put.starts_with(
                "PUT /impu/sip%3Au5%40example.com/reg-data?private_id=u5%40example.com "
            )
        );
        assert!(put.ends_with("\r\n\r\n{\"reqtype\": \"reg\"}"));
        assert_eq!(s.on_response(&mut f, &ok(b"", b""), &mut c), Outcome::Done);
    }

    #[test]
    fn mix_deregisters_only_what_it_registered() {
        let s = HomesteadScenario::new(
            naming(),
            KeyChooser::new(KeyDist::Uniform, 0, 1000, 1.0),
            vec![(FlowKind::Deregister, 1)],
            true,
            false,
        );
        let mut c = ctx();
        let mut f = Flow::default();
        // Nothing registered yet: a deregister becomes a register.
        assert!(s.start(&mut f, &mut c));
        assert_eq!(FlowKind::from_index(f.kind), FlowKind::Register);
        let key = f.key;
        for _ in 0..2 {
            assert_eq!(s.on_response(&mut f, &ok(b"", b""), &mut c), Outcome::Next);
        }
        assert_eq!(s.on_response(&mut f, &ok(b"", b""), &mut c), Outcome::Done);
        f.reset();
        assert!(s.start(&mut f, &mut c));
        assert_eq!(FlowKind::from_index(f.kind), FlowKind::Deregister);
        assert_eq!(f.key, key);
        assert!(write(&s, &f).contains("&auth-type=DEREG"));
    }

    #[test]
    fn checks_reg_data_state() {
        let body = hearth_core::xml::reg_data::write_clearwater_reg_data(
            hearth_core::xml::reg_data::RegistrationState::Registered,
            None,
            Some(&hearth_core::xml::ims_subscription::build_ims_subscription(
                Some("u1@example.com"),
                &[],
            )),
            &Default::default(),
        );
        assert_eq!(check_reg_data(body.as_bytes(), FlowKind::Register), Ok(()));
        assert!(check_reg_data(body.as_bytes(), FlowKind::Deregister).is_err());
        assert!(check_reg_data(b"<x/>", FlowKind::Call).is_err());
        assert_eq!(
            check_json_result(br#"{"result-code": 2001, "scscf": "s"}"#),
            Ok(())
        );
        assert!(check_av(br#"{"digest": {"ha1": "x"}}"#).is_ok());
    }

    #[test]
    fn provision_follows_ellis() {
        let s = ProvisionScenario::new(
            naming(),
            KeyChooser::new(KeyDist::Seq, 0, 1, 1.0),
            "pw".into(),
            default_ifc("example.com"),
        );
        let mut c = ctx();
        let mut f = Flow::default();
        assert!(s.start(&mut f, &mut c));
        let r0 = write(&s, &f);
        assert!(
            r0.starts_with("PUT /private/u0%40example.com HTTP/1.1\r\n"),
            "{r0}"
        );
        assert!(r0.contains("\"digest_ha1\":\""));
        assert_eq!(s.on_response(&mut f, &ok(b"", b""), &mut c), Outcome::Next);
        assert!(write(&s, &f).starts_with("POST /irs/ HTTP/1.1\r\n"));
        let head = b"HTTP/1.1 201 Created\r\nLocation: /irs/abc-1\r\n\r\n";
        assert_eq!(s.on_response(&mut f, &ok(head, b""), &mut c), Outcome::Next);
        assert!(write(&s, &f).starts_with(
            "PUT /private/u0%40example.com/associated_implicit_registration_sets/abc-1 "
        ));
        s.on_response(&mut f, &ok(b"", b""), &mut c);
        assert!(write(&s, &f).starts_with("POST /irs/abc-1/service_profiles "));
        let head = b"HTTP/1.1 201 Created\r\nLocation: /irs/abc-1/service_profiles/sp-9\r\n\r\n";
        s.on_response(&mut f, &ok(head, b""), &mut c);
        let r4 = write(&s, &f);
        assert!(r4.starts_with(
            "PUT /irs/abc-1/service_profiles/sp-9/public_ids/sip%3Au0%40example.com "
        ));
        assert!(
            r4.ends_with(
                "<PublicIdentity><Identity>sip:u0@example.com</Identity></PublicIdentity>"
            )
        );
        s.on_response(&mut f, &ok(b"", b""), &mut c);
        assert!(write(&s, &f).starts_with("PUT /irs/abc-1/service_profiles/sp-9/filter_criteria "));
        assert_eq!(s.on_response(&mut f, &ok(b"", b""), &mut c), Outcome::Done);
        f.reset();
        assert!(!s.start(&mut f, &mut c), "population of one is used up");
        // No Location: the flow fails.
        let mut g = Flow {
            step: 1,
            ..Flow::default()
        };
        assert_eq!(
            s.on_response(&mut g, &ok(b"HTTP/1.1 201 Created\r\n\r\n", b""), &mut c),
            Outcome::Fail("no Location header")
        );
        assert_eq!(last_segment(b"http://h/irs/x?y"), b"x");
        assert_eq!(last_segment(b"uuid"), b"uuid");
    }
}
