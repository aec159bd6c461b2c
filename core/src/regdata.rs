//! Homestead's reg-data state machine (`PUT /impu/<id>/reg-data`), as a pure function.
//!
//! Input: the stored registration of the IRS, the request type and the time; output: the new
//! registration, what the answer must say, and which Server-Assignment-Type an HSS would be sent
//! (so HSS mode can reuse the same decisions).

use crate::model::{RegState, RegistrationRecord};

/// The `reqtype` of a reg-data PUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    /// A REGISTER.
    Reg,
    /// A non-REGISTER initial request.
    Call,
    /// REGISTER with Expires: 0.
    DeregUser,
    /// Administrative deregistration.
    DeregAdmin,
    /// All bindings expired.
    DeregTimeout,
    /// Authentication of a new binding failed.
    DeregAuthFailed,
    /// Authentication of a new binding timed out.
    DeregAuthTimeout,
}

impl RequestType {
    /// Parses the wire name. Both `dereg-auth-failed` (Homestead's code, what Sprout sends) and
    /// `dereg-auth-failure` (Homestead's API document) are accepted.
    pub fn from_wire(name: &str) -> Option<RequestType> {
        Some(match name {
            "reg" => RequestType::Reg,
            "call" => RequestType::Call,
            "dereg-user" => RequestType::DeregUser,
            "dereg-admin" => RequestType::DeregAdmin,
            "dereg-timeout" => RequestType::DeregTimeout,
            "dereg-auth-failed" | "dereg-auth-failure" => RequestType::DeregAuthFailed,
            "dereg-auth-timeout" => RequestType::DeregAuthTimeout,
            _ => return None,
        })
    }

    /// Whether the answer carries `PreviousRegistrationState`.
    pub fn reports_previous_state(self) -> bool {
        matches!(self, RequestType::Reg | RequestType::Call)
    }
}

/// Server-Assignment-Type values (TS 29.229 §6.3.15) the machine can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerAssignmentType {
    /// REGISTRATION (1).
    Registration = 1,
    /// RE_REGISTRATION (2).
    ReRegistration = 2,
    /// UNREGISTERED_USER (3).
    UnregisteredUser = 3,
    /// TIMEOUT_DEREGISTRATION (4).
    TimeoutDeregistration = 4,
    /// USER_DEREGISTRATION (5).
    UserDeregistration = 5,
    /// ADMINISTRATIVE_DEREGISTRATION (8).
    AdministrativeDeregistration = 8,
    /// AUTHENTICATION_FAILURE (9).
    AuthenticationFailure = 9,
    /// AUTHENTICATION_TIMEOUT (10).
    AuthenticationTimeout = 10,
}

/// Whether an HSS is behind Homestead: deregistration ends in different states (seed 003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// No HSS: a deregistered subscriber stays assigned, UNREGISTERED.
    #[default]
    Local,
    /// An HSS: a deregistered subscriber's data is dropped, NOT_REGISTERED.
    Hss,
}

/// The parameters of one reg-data PUT besides its type.
#[derive(Debug, Clone, Default)]
pub struct RegDataRequest<'a> {
    /// `?private_id=`.
    pub private_id: Option<&'a str>,
    /// `server_name` from the body; the configured S-CSCF otherwise.
    pub server_name: Option<&'a str>,
    /// `Cache-Control: no-cache` forces a re-registration assignment.
    pub force_reassignment: bool,
    /// With or without an HSS.
    pub mode: Mode,
}

/// What the machine decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The state the answer reports as `PreviousRegistrationState`.
    pub previous: RegState,
    /// The registration to store (equal to the input when nothing changed).
    pub next: RegistrationRecord,
    /// Whether `next` differs from the stored record and must be written.
    pub changed: bool,
    /// The Server-Assignment-Request an HSS would get, if any.
    pub assignment: Option<ServerAssignmentType>,
}

/// Why a reg-data PUT is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegDataError {
    /// Deregistering a subscriber that is not registered (Homestead answers 400).
    NotRegistered,
}

impl std::fmt::Display for RegDataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegDataError::NotRegistered => {
                f.write_str("cannot deregister a subscriber that is not registered")
            }
        }
    }
}

impl std::error::Error for RegDataError {}

/// Applies one reg-data PUT to the stored registration of an IRS.
///
/// `reregistration_after` is `hss_reregistration_time`: a `reg` for an already registered subscriber
/// refreshes the assignment (RE_REGISTRATION) once that many seconds have passed since the last one.
pub fn apply(
    current: &RegistrationRecord,
    kind: RequestType,
    req: &RegDataRequest<'_>,
    now: u64,
    reregistration_after: u64,
) -> Result<Transition, RegDataError> {
    let previous = current.state;
    let mut next = current.clone();
    let assignment = match kind {
        RequestType::Reg => {
            let new_impi = match (req.private_id, current.private_id.as_deref()) {
                (Some(asked), Some(known)) => asked != known,
                (Some(_), None) => true,
                (None, _) => false,
            };
            let assignment = if previous != RegState::Registered || new_impi {
                Some(ServerAssignmentType::Registration)
            } else if req.force_reassignment
                || now.saturating_sub(current.assigned_at) >= reregistration_after
            {
                Some(ServerAssignmentType::ReRegistration)
            } else {
                None
            };
            next.state = RegState::Registered;
            if assignment.is_some() {
                next.assigned_at = now;
            }
            if let Some(impi) = req.private_id {
                next.private_id = Some(impi.to_string());
            }
            if let Some(name) = req.server_name {
                next.server_name = Some(name.to_string());
            }
            assignment
        }
        RequestType::Call => {
            if previous == RegState::NotRegistered {
                next.state = RegState::Unregistered;
                next.assigned_at = now;
                if let Some(name) = req.server_name {
                    next.server_name = Some(name.to_string());
                }
                Some(ServerAssignmentType::UnregisteredUser)
            } else {
                None
            }
        }
        RequestType::DeregUser | RequestType::DeregAdmin | RequestType::DeregTimeout => {
            // Seed 003: deregistering a user who is not REGISTERED is refused (400). With an HSS
            // the cached data goes (NOT_REGISTERED); without one the user stays UNREGISTERED.
            // Homestead's code with an HSS also lets an UNREGISTERED user be deregistered.
            let refused = match req.mode {
                Mode::Local => previous != RegState::Registered,
                Mode::Hss => previous == RegState::NotRegistered,
            };
            if refused {
                return Err(RegDataError::NotRegistered);
            }
            match req.mode {
                Mode::Local => {
                    next.state = RegState::Unregistered;
                    next.assigned_at = now;
                }
                Mode::Hss => next = RegistrationRecord::default(),
            }
            Some(match kind {
                RequestType::DeregUser => ServerAssignmentType::UserDeregistration,
                RequestType::DeregAdmin => ServerAssignmentType::AdministrativeDeregistration,
                _ => ServerAssignmentType::TimeoutDeregistration,
            })
        }
        RequestType::DeregAuthFailed => Some(ServerAssignmentType::AuthenticationFailure),
        RequestType::DeregAuthTimeout => Some(ServerAssignmentType::AuthenticationTimeout),
    };
    let changed = next != *current;
    Ok(Transition {
        previous,
        next,
        changed,
        assignment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(state: RegState, at: u64, impi: Option<&str>) -> RegistrationRecord {
        RegistrationRecord {
            state,
            assigned_at: at,
            private_id: impi.map(str::to_string),
            server_name: None,
        }
    }

    const REREG: u64 = 1800;

    #[test]
    fn first_registration_assigns() {
        let req = RegDataRequest {
            private_id: Some("alice@example.com"),
            ..Default::default()
        };
        let t = apply(
            &RegistrationRecord::default(),
            RequestType::Reg,
            &req,
            100,
            REREG,
        )
        .unwrap();
        assert_eq!(t.previous, RegState::NotRegistered);
        assert_eq!(t.next.state, RegState::Registered);
        assert_eq!(t.next.assigned_at, 100);
        assert_eq!(t.assignment, Some(ServerAssignmentType::Registration));
        assert!(t.changed);
    }

    #[test]
    fn reregistration_only_after_the_interval() {
        let cur = reg(RegState::Registered, 100, Some("a"));
        let req = RegDataRequest {
            private_id: Some("a"),
            ..Default::default()
        };
        let early = apply(&cur, RequestType::Reg, &req, 100 + REREG - 1, REREG).unwrap();
        assert_eq!(early.assignment, None);
        assert!(!early.changed);
        assert_eq!(early.previous, RegState::Registered);
        let due = apply(&cur, RequestType::Reg, &req, 100 + REREG, REREG).unwrap();
        assert_eq!(due.assignment, Some(ServerAssignmentType::ReRegistration));
        assert_eq!(due.next.assigned_at, 100 + REREG);
        let forced = RegDataRequest {
            private_id: Some("a"),
            force_reassignment: true,
            ..Default::default()
        };
        let f = apply(&cur, RequestType::Reg, &forced, 101, REREG).unwrap();
        assert_eq!(f.assignment, Some(ServerAssignmentType::ReRegistration));
    }

    #[test]
    fn new_private_id_is_a_new_registration() {
        let cur = reg(RegState::Registered, 100, Some("a"));
        let req = RegDataRequest {
            private_id: Some("b"),
            ..Default::default()
        };
        let t = apply(&cur, RequestType::Reg, &req, 101, REREG).unwrap();
        assert_eq!(t.assignment, Some(ServerAssignmentType::Registration));
        assert_eq!(t.next.private_id.as_deref(), Some("b"));
    }

    #[test]
    fn call_to_unregistered_user_assigns_unregistered_service() {
        let t = apply(
            &RegistrationRecord::default(),
            RequestType::Call,
            &RegDataRequest::default(),
            5,
            REREG,
        )
        .unwrap();
        assert_eq!(t.next.state, RegState::Unregistered);
        assert_eq!(t.assignment, Some(ServerAssignmentType::UnregisteredUser));
        let again = apply(
            &t.next,
            RequestType::Call,
            &RegDataRequest::default(),
            6,
            REREG,
        )
        .unwrap();
        assert_eq!(again.assignment, None);
        assert_eq!(again.previous, RegState::Unregistered);
        let registered = reg(RegState::Registered, 1, None);
        let call = apply(
            &registered,
            RequestType::Call,
            &RegDataRequest::default(),
            6,
            REREG,
        )
        .unwrap();
        assert_eq!(call.next.state, RegState::Registered);
        assert!(!call.changed);
    }

    #[test]
    fn deregistration() {
        let cur = reg(RegState::Registered, 1, Some("a"));
        let hss = RegDataRequest {
            mode: Mode::Hss,
            ..Default::default()
        };
        let local = RegDataRequest::default();
        for (kind, sat) in [
            (
                RequestType::DeregUser,
                ServerAssignmentType::UserDeregistration,
            ),
            (
                RequestType::DeregAdmin,
                ServerAssignmentType::AdministrativeDeregistration,
            ),
            (
                RequestType::DeregTimeout,
                ServerAssignmentType::TimeoutDeregistration,
            ),
        ] {
            let t = apply(&cur, kind, &hss, 9, REREG).unwrap();
            assert_eq!(t.next, RegistrationRecord::default());
            assert_eq!(t.assignment, Some(sat));
            // Without an HSS the user stays assigned, UNREGISTERED.
            let t = apply(&cur, kind, &local, 9, REREG).unwrap();
            assert_eq!(t.next.state, RegState::Unregistered);
            assert_eq!(t.next.private_id.as_deref(), Some("a"));
            assert_eq!(t.assignment, Some(sat));
        }
        let unreg = reg(RegState::Unregistered, 1, None);
        assert!(apply(&unreg, RequestType::DeregUser, &hss, 9, REREG).is_ok());
        assert_eq!(
            apply(&unreg, RequestType::DeregUser, &local, 9, REREG),
            Err(RegDataError::NotRegistered)
        );
        for mode in [&hss, &local] {
            assert_eq!(
                apply(
                    &RegistrationRecord::default(),
                    RequestType::DeregTimeout,
                    mode,
                    9,
                    REREG
                ),
                Err(RegDataError::NotRegistered)
            );
        }
    }

    #[test]
    fn auth_failures_change_nothing() {
        let cur = reg(RegState::Registered, 1, Some("a"));
        for (kind, sat) in [
            (
                RequestType::DeregAuthFailed,
                ServerAssignmentType::AuthenticationFailure,
            ),
            (
                RequestType::DeregAuthTimeout,
                ServerAssignmentType::AuthenticationTimeout,
            ),
        ] {
            let t = apply(&cur, kind, &RegDataRequest::default(), 9, REREG).unwrap();
            assert_eq!(t.next, cur);
            assert!(!t.changed);
            assert_eq!(t.assignment, Some(sat));
        }
    }

    #[test]
    fn wire_names() {
        assert_eq!(
            RequestType::from_wire("dereg-auth-failure"),
            Some(RequestType::DeregAuthFailed)
        );
        assert_eq!(
            RequestType::from_wire("dereg-auth-failed"),
            Some(RequestType::DeregAuthFailed)
        );
        assert_eq!(RequestType::from_wire("REG"), None);
        assert!(RequestType::Reg.reports_previous_state());
        assert!(!RequestType::DeregUser.reports_previous_state());
    }
}
