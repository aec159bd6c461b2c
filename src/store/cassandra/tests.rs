//! The Cassandra backend's store contract, through a [`StoreHandle`], against a real Cassandra
//! at HEARTH_TEST_CASSANDRA (default 127.0.0.1:9042; tests/cassandra/cassandra.sh start). Each
//! test has keyspaces of its own, dropped at its end. Without a Cassandra the tests skip with a
//! message, except under CI=true, where they fail.
//!
//! The API suites (tests/provisioning.rs, tests/signalling.rs with HEARTH_TEST_STORE=cassandra)
//! cover what the HTTP API reaches; these cover the rest: cascades, moves, paging, concurrent SQN
//! reservations, the HSS-mode cache.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use futures_lite::future::block_on;
use hearth_core::model::{AkaCredentials, HssIrsRecord, RegState, RegistrationRecord};

use super::CassandraClient;
use crate::config::CassandraConfig;
use crate::store::{AkaUpdate, Missing, Outcome, PrivateUpdate, StoreHandle};

/// A handle on fresh keyspaces, dropped with it.
struct Fixture {
    store: StoreHandle,
    config: CassandraConfig,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.store.shutdown();
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            let _ = runtime.block_on(super::drop_keyspaces(&self.config));
        }
    }
}

fn fixture(test: &str) -> Option<Fixture> {
    let contact =
        std::env::var("HEARTH_TEST_CASSANDRA").unwrap_or_else(|_| "127.0.0.1:9042".to_owned());
    let reachable = contact
        .parse::<SocketAddr>()
        .ok()
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok())
        .is_some();
    if !reachable {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "{test}: no Cassandra at {contact}"
        );
        eprintln!(
            "skipping {test}: no Cassandra at {contact} (tests/cassandra/cassandra.sh start)"
        );
        return None;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let config = CassandraConfig {
        contact_points: vec![contact],
        keyspace_prefix: Some(format!(
            "u{:012x}",
            (nanos ^ (u128::from(std::process::id()) << 36)) & 0xffff_ffff_ffff
        )),
        ..CassandraConfig::default()
    };
    let client = CassandraClient::start(&config, 2).expect("connect to Cassandra");
    Some(Fixture {
        store: StoreHandle::cassandra(client),
        config,
    })
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn digest(ha1: &str) -> PrivateUpdate {
    PrivateUpdate {
        digest_ha1: ha1.into(),
        realm: "example.com".into(),
        plaintext_password: None,
        aka: AkaUpdate::Keep,
    }
}

fn xml(impu: &str) -> String {
    format!("<PublicIdentity><Identity>{impu}</Identity></PublicIdentity>")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn outcome(s: &StoreHandle, reply: crate::store::StoreReply<crate::store::Written>) -> Outcome {
    let _ = s;
    block_on(reply).expect("write").outcome
}

/// Private identity, IRS, association, profile and public identities; returns (irs, sp).
fn provision(s: &StoreHandle, impi: &str, impus: &[&str]) -> (String, String) {
    let (irs, sp) = (uuid(), uuid());
    assert_eq!(
        outcome(s, s.put_private(impi, digest("ha1"))),
        Outcome::Created
    );
    assert_eq!(outcome(s, s.create_irs(&irs)), Outcome::Created);
    assert_eq!(outcome(s, s.associate(impi, &irs)), Outcome::Updated);
    assert_eq!(
        outcome(s, s.create_service_profile(&irs, &sp)),
        Outcome::Created
    );
    for impu in impus {
        assert_eq!(
            outcome(s, s.put_public(&irs, &sp, impu, xml(impu))),
            Outcome::Created
        );
    }
    (irs, sp)
}

#[test]
fn cassandra_cascades_moves_and_order() {
    let Some(f) = fixture("cassandra_cascades_moves_and_order") else {
        return;
    };
    let s = &f.store;
    let (irs, sp) = provision(s, "a@x", &["sip:a1@x", "sip:a2@x", "sip:a0@x"]);
    // Lists come back in the order they were built, not sorted.
    let profile = block_on(s.get_service_profile(&sp)).unwrap().unwrap();
    assert_eq!(
        profile.public_ids,
        strings(&["sip:a1@x", "sip:a2@x", "sip:a0@x"])
    );
    assert_eq!(
        block_on(s.irs_public_ids(&irs)).unwrap().unwrap(),
        strings(&["sip:a1@x", "sip:a2@x", "sip:a0@x"])
    );
    let view = block_on(s.auth_view("a@x")).unwrap().unwrap();
    assert_eq!(view.impus, strings(&["sip:a1@x", "sip:a2@x", "sip:a0@x"]));

    // Idempotent associations and the outcomes of missing records.
    assert_eq!(outcome(s, s.associate("a@x", &irs)), Outcome::Unchanged);
    assert_eq!(
        outcome(s, s.associate("nobody@x", &uuid())),
        Outcome::NotFound(Missing::PrivateAndIrs)
    );
    let other_irs = uuid();
    assert_eq!(outcome(s, s.create_irs(&other_irs)), Outcome::Created);
    assert_eq!(outcome(s, s.create_irs(&other_irs)), Outcome::Unchanged);
    assert_eq!(
        outcome(s, s.create_service_profile(&other_irs, &sp)),
        Outcome::Conflict
    );
    assert!(block_on(s.create_irs("not-a-uuid")).is_err());

    // A public identity moves to another IRS's profile: it leaves the old one, and both IRSs'
    // identities are affected.
    let other_sp = uuid();
    assert_eq!(
        outcome(s, s.create_service_profile(&other_irs, &other_sp)),
        Outcome::Created
    );
    let moved = block_on(s.put_public(&other_irs, &other_sp, "sip:a2@x", xml("sip:a2@x"))).unwrap();
    assert_eq!(moved.outcome, Outcome::Updated);
    assert!(moved.affected.impus.contains(&"sip:a1@x".to_owned()));
    assert!(moved.affected.impis.contains(&"a@x".to_owned()));
    let public = block_on(s.get_public("sip:a2@x")).unwrap().unwrap();
    assert_eq!(
        (public.irs.as_str(), public.service_profile.as_str()),
        (other_irs.as_str(), other_sp.as_str())
    );
    assert_eq!(
        block_on(s.irs_public_ids(&irs)).unwrap().unwrap(),
        strings(&["sip:a1@x", "sip:a0@x"])
    );

    // Registration and iFCs show in the public view.
    let ifc = "<ServiceProfile><InitialFilterCriteria><Priority>1</Priority><ApplicationServer>\
               <ServerName>sip:as@x</ServerName></ApplicationServer></InitialFilterCriteria>\
               </ServiceProfile>";
    assert_eq!(
        outcome(
            s,
            s.put_filter_criteria(&irs, &sp, ifc.to_owned(), Vec::new())
        ),
        Outcome::Updated
    );
    let record = RegistrationRecord {
        state: RegState::Registered,
        assigned_at: 42,
        private_id: Some("a@x".into()),
        server_name: Some("sip:scscf@x".into()),
    };
    assert_eq!(
        outcome(s, s.put_registration(&irs, record.clone())),
        Outcome::Created
    );
    assert_eq!(
        outcome(s, s.put_registration(&irs, record.clone())),
        Outcome::Updated
    );
    let view = block_on(s.public_view("sip:a0@x")).unwrap().unwrap();
    assert_eq!(view.registration, Some(record));
    assert_eq!(view.service_profiles.len(), 1);
    assert_eq!(view.service_profiles[0].record.filter_parts.len(), 1);
    assert!(view.service_profiles[0].record.filter_parts[0].contains("sip:as@x"));
    assert_eq!(view.service_profiles[0].public_identities.len(), 2);

    // Deleting the IRS removes its profiles, their public identities, its registration and its
    // place in the private identity.
    let deleted = block_on(s.delete_irs(&irs)).unwrap();
    assert_eq!(deleted.outcome, Outcome::Removed);
    assert_eq!(deleted.affected.impis, strings(&["a@x"]));
    assert!(block_on(s.get_public("sip:a1@x")).unwrap().is_none());
    assert!(block_on(s.get_service_profile(&sp)).unwrap().is_none());
    assert!(block_on(s.get_irs(&irs)).unwrap().is_none());
    assert!(
        block_on(s.get_private("a@x"))
            .unwrap()
            .unwrap()
            .irs
            .is_empty()
    );
    assert!(
        block_on(s.get_public("sip:a2@x")).unwrap().is_some(),
        "moved away first"
    );

    // Deleting the private identity removes it from its IRSs.
    assert_eq!(outcome(s, s.associate("a@x", &other_irs)), Outcome::Updated);
    assert_eq!(outcome(s, s.delete_private("a@x")), Outcome::Removed);
    assert!(
        block_on(s.get_irs(&other_irs))
            .unwrap()
            .unwrap()
            .private_ids
            .is_empty()
    );
    assert_eq!(
        outcome(s, s.delete_private("a@x")),
        Outcome::NotFound(Missing::Private)
    );
}

#[test]
fn cassandra_listing_pages_through_every_identity_once() {
    let Some(f) = fixture("cassandra_listing_pages_through_every_identity_once") else {
        return;
    };
    let s = &f.store;
    let impus: Vec<String> = (0..57).map(|i| format!("sip:l{i}@x")).collect();
    let refs: Vec<&str> = impus.iter().map(String::as_str).collect();
    let (irs, sp) = provision(s, "l@x", &refs);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = block_on(s.list_public(after.clone(), 10)).unwrap();
        for (impu, record) in &page {
            assert_eq!(
                (record.irs.as_str(), record.service_profile.as_str()),
                (irs.as_str(), sp.as_str())
            );
            seen.push(impu.clone());
        }
        if page.len() < 10 {
            break;
        }
        after = page.last().map(|(impu, _)| impu.clone());
    }
    assert_eq!(seen.len(), impus.len(), "each identity once");
    assert_eq!(
        seen.iter().collect::<BTreeSet<_>>(),
        impus.iter().collect::<BTreeSet<_>>()
    );
}

#[test]
fn cassandra_concurrent_sqn_reservations_are_disjoint() {
    let Some(f) = fixture("cassandra_concurrent_sqn_reservations_are_disjoint") else {
        return;
    };
    let s = &f.store;
    let mut update = digest("ha1");
    update.aka = AkaUpdate::Set(AkaCredentials {
        k: "465b5ce8b199b49faa5f0a2ee238a6bc".into(),
        opc: "cd63cb71954a9f4e48a5994e37a02baf".into(),
        amf: "b9b9".into(),
        sqn: 100,
    });
    assert_eq!(
        outcome(s, s.put_private("q@x", update.clone())),
        Outcome::Created
    );
    // Many reservations in flight at once, as two nodes would send them: every block is
    // disjoint and together they cover the range exactly.
    let replies: Vec<_> = (0..24).map(|_| s.reserve_sqn("q@x", 8)).collect();
    let mut blocks: Vec<(u64, u64)> = replies
        .into_iter()
        .map(|r| {
            let block = block_on(r).expect("reserve").outcome.expect("credentials");
            (block.first_sqn, block.aka.sqn)
        })
        .collect();
    blocks.sort();
    let mut next = 101;
    for (first, last) in blocks {
        assert_eq!((first, last), (next, next + 7));
        next = last + 1;
    }
    // Re-provisioning the same K never moves the SQN back; a resync sets it.
    assert_eq!(outcome(s, s.put_private("q@x", update)), Outcome::Updated);
    let stored = block_on(s.get_private("q@x"))
        .unwrap()
        .unwrap()
        .aka
        .unwrap();
    assert_eq!(stored.sqn, next - 1);
    assert_eq!(outcome(s, s.set_aka_sqn("q@x", 5)), Outcome::Updated);
    assert_eq!(
        block_on(s.get_private("q@x"))
            .unwrap()
            .unwrap()
            .aka
            .unwrap()
            .sqn,
        5
    );
    assert_eq!(
        outcome(s, s.set_aka_sqn("nobody@x", 5)),
        Outcome::NotFound(Missing::Private)
    );
    let mut removal = digest("ha1");
    removal.aka = AkaUpdate::Remove;
    block_on(s.put_private("q@x", removal)).unwrap();
    assert!(block_on(s.reserve_sqn("q@x", 1)).unwrap().outcome.is_none());
}

fn hss_irs(impus: &[&str], impis: &[&str], expires_at: u64) -> HssIrsRecord {
    HssIrsRecord {
        impus: strings(impus),
        ims_subscription_xml: format!("<IMSSubscription>{impus:?}</IMSSubscription>"),
        ccfs: strings(&["ccf1", "ccf2", "ccf3"]),
        ecfs: Vec::new(),
        registration: RegistrationRecord {
            state: RegState::Registered,
            assigned_at: 10,
            private_id: impis.first().map(|s| s.to_string()),
            server_name: Some("sip:scscf".into()),
        },
        private_ids: strings(impis),
        wildcard: None,
        expires_at,
    }
}

#[test]
fn cassandra_hss_cache() {
    let Some(f) = fixture("cassandra_hss_cache") else {
        return;
    };
    let s = &f.store;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let later = now + 3600;
    let record = hss_irs(&["sip:a@x", "tel:+1"], &["a@x"], later);
    assert_eq!(outcome(s, s.put_hss_irs(record.clone())), Outcome::Created);
    assert_eq!(
        block_on(s.get_hss_irs("tel:+1", now)).unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        block_on(s.get_hss_irs("tel:+1", later)).unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        block_on(s.hss_irs_of_impi("a@x", now)).unwrap(),
        vec![record.clone()]
    );
    // The same IRS again (a re-registration): still found from its IMPI.
    assert_eq!(outcome(s, s.put_hss_irs(record.clone())), Outcome::Updated);
    assert_eq!(
        block_on(s.hss_irs_of_impi("a@x", now)).unwrap(),
        vec![record]
    );

    // sip:... moves to a new IRS keyed by sip:c@x: the old IRS goes with its index.
    let moved = hss_irs(&["sip:c@x", "tel:+1"], &["c@x"], later);
    block_on(s.put_hss_irs(moved.clone())).unwrap();
    assert_eq!(
        block_on(s.get_hss_irs("tel:+1", now)).unwrap(),
        Some(moved.clone())
    );
    assert_eq!(block_on(s.get_hss_irs("sip:a@x", now)).unwrap(), None);
    assert!(block_on(s.hss_irs_of_impi("a@x", now)).unwrap().is_empty());
    let deleted = block_on(s.delete_hss_irs("tel:+1")).unwrap().outcome;
    assert_eq!(deleted, Some(moved));
    for impu in ["sip:c@x", "tel:+1"] {
        assert_eq!(block_on(s.get_hss_irs(impu, now)).unwrap(), None);
    }
    assert!(block_on(s.hss_irs_of_impi("c@x", now)).unwrap().is_empty());
    assert_eq!(block_on(s.delete_hss_irs("tel:+1")).unwrap().outcome, None);

    // A record whose lifetime is over when written expires by TTL at once.
    block_on(s.put_hss_irs(hss_irs(&["sip:old@x"], &["old@x"], now.saturating_sub(5)))).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(block_on(s.get_hss_irs("sip:old@x", 0)).unwrap(), None);
}
