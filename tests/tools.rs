//! The key tools, run as a user runs them: the real `hearth` binary with `tools <name> ...`.

use std::process::{Command, Output};

fn hearth_tools(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("tools")
        .args(args)
        .output()
        .expect("run hearth")
}

fn last_line(out: &Output) -> String {
    assert!(
        out.status.success(),
        "tool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// Asserts a usage failure: status 2, nothing on stdout, one line on stderr containing `reason`.
fn assert_usage_error(args: &[&str], reason: &str) {
    let out = hearth_tools(args);
    assert_eq!(out.status.code(), Some(2), "args {args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line expected, got {err:?}");
    assert!(err.contains(reason), "{err:?} should mention {reason:?}");
}

const SEED_NAF_KEY: &[&str] = &[
    "naf-key",
    "-ciphersuite",
    "TLS_RSA_PSK_WITH_AES_256_CBC_SHA",
    "-algorithm",
    "milenage",
    "-k",
    "01230123012301230123012301230123",
    "-op",
    "01230123012301230123012301230123",
    "-nonce",
    "d34d35d36d37d38d39d3ad3bd3cd3dd1",
    "-impi",
    "foo",
    "-naf",
    "localhost",
];

#[test]
fn naf_key_reproduces_the_seed_example() {
    let expected = "fd6843b2e9b2580141821dfbe37cd16cb099f0d897fb4be68f80948d2d8ce1d3";
    assert_eq!(last_line(&hearth_tools(SEED_NAF_KEY)), expected);
    // With -d the intermediate values come first and the result stays on the last line.
    let mut with_debug = SEED_NAF_KEY.to_vec();
    with_debug.push("-d");
    let out = hearth_tools(&with_debug);
    assert_eq!(last_line(&out), expected);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("CK[5f12bf48d85e711bec89ebe7d2ce23be]"),
        "{text}"
    );
    assert!(
        text.contains("IK[142c4a118862568e3e58488ae96fc5e9]"),
        "{text}"
    );
    // Base64 on request.
    let mut b64 = SEED_NAF_KEY.to_vec();
    b64.extend(["-o", "base64"]);
    assert_eq!(
        last_line(&hearth_tools(&b64)),
        "/WhDsumyWAFBgh3743zRbLCZ8NiX+0vmj4CUjS2M4dM="
    );
}

#[test]
fn naf_key_changes_with_every_input() {
    let base = last_line(&hearth_tools(SEED_NAF_KEY));
    for (flag, other) in [
        ("-impi", "bar"),
        ("-naf", "localhost2"),
        ("-ciphersuite", "TLS_PSK_WITH_AES_128_CBC_SHA"),
        ("-nonce", "d34d35d36d37d38d39d3ad3bd3cd3dd2"),
    ] {
        let mut args = SEED_NAF_KEY.to_vec();
        let i = args.iter().position(|a| *a == flag).unwrap();
        args[i + 1] = other;
        assert_ne!(last_line(&hearth_tools(&args)), base, "{flag}");
    }
}

#[test]
fn naf_digest_reproduces_the_seed_example() {
    let args = [
        "naf-digest",
        "-method",
        "GET",
        "-body",
        "bodyOfMessage",
        "-realm",
        "foo",
        "-qop",
        "auth-int",
        "-username",
        "btid",
        "-uri",
        "/",
        "-password",
        "kSny510OWEdJfE64NaObkys/wh2cJ4+M+qSjTsJ2GjI=",
        "-nc",
        "1",
        "-cnonce",
        "foo",
        "-nonce",
        "bar",
    ];
    assert_eq!(
        last_line(&hearth_tools(&args)),
        "4a5ca659f406b6625d143adbd4124f3c"
    );
    let mut debug = args.to_vec();
    debug.push("-d");
    let out = hearth_tools(&debug);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("HA1: [cc6a87adf243559f903fc0007be77083]"),
        "{text}"
    );
    assert!(
        text.contains("HA2: [27bf6af15f6e290f34330a07b896e363]"),
        "{text}"
    );
    assert!(
        !text.contains("kSny510"),
        "the password must not be printed"
    );
    assert_eq!(last_line(&out), "4a5ca659f406b6625d143adbd4124f3c");
}

#[test]
fn rfc_2617_example_through_naf_digest() {
    // RFC 2617 §3.5: Mufasa / "Circle Of Life" / testrealm@host.com, qop=auth.
    let out = hearth_tools(&[
        "naf-digest",
        "-method",
        "GET",
        "-realm",
        "testrealm@host.com",
        "-qop",
        "auth",
        "-username",
        "Mufasa",
        "-uri",
        "/dir/index.html",
        "-password",
        "Circle Of Life",
        "-nc",
        "00000001",
        "-cnonce",
        "0a4f113b",
        "-nonce",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    ]);
    assert_eq!(last_line(&out), "6629fae49393a05397450978507c4ef1");
}

#[test]
fn gbad_tools_print_base64_and_hex_of_the_same_key() {
    let out = hearth_tools(&[
        "gbad-passwd",
        "-username",
        "testIMPI",
        "-realm",
        "test.realm",
        "-password",
        "65666768696a",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let b64 = lines[0].strip_prefix("Base64: ").expect("Base64 line");
    let hex_line = lines[1].strip_prefix("Hex: ").expect("Hex line");
    assert_eq!(hex_line.len(), 64);
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(hex::encode(decoded), hex_line);

    let ks = hearth_tools(&[
        "gbad-ks",
        "-username",
        "testIMPI",
        "-realm",
        "test.realm",
        "-passwd",
        hex_line,
        "-resp",
        "8995645af39863494658aa3204b5fce309037621e1188d460b8cc846410ade89",
    ]);
    assert!(last_line(&ks).starts_with("Hex: "));
    // A different TLS_MK_Extr gives a different key.
    let with_mk = hearth_tools(&[
        "gbad-passwd",
        "-username",
        "testIMPI",
        "-realm",
        "test.realm",
        "-password",
        "65666768696a",
        "-tlsmkextr",
        "00",
    ]);
    assert_ne!(last_line(&with_mk), format!("Hex: {hex_line}"));
}

/// TS 35.207/35.208 test set 1.
const SET1: &[&str] = &[
    "-k",
    "465b5ce8b199b49faa5f0a2ee238a6bc",
    "-op",
    "cdc202d5123e20f62b6d676ac72cb318",
    "-rand",
    "23553cbe9637a89d218ae64dae47bf35",
];

#[test]
fn milenage_tool_prints_every_output_of_test_set_1() {
    let mut args = vec!["milenage"];
    args.extend_from_slice(SET1);
    args.extend(["-sqn", "ff9bb4d0b607", "-amf", "b9b9"]);
    let out = hearth_tools(&args);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let expected = "OPc=cd63cb71954a9f4e48a5994e37a02baf\n\
                    MAC-A=4a9ffac354dfafb3\n\
                    MAC-S=01cfaf9ec4e871e9\n\
                    RES=a54211d5e3ba50bf\n\
                    CK=b40ba9a3c58b2a05bbf0d987b21bf8cb\n\
                    IK=f769bcd751044604127672711c6d3441\n\
                    AK=aa689c648370\n\
                    AK-S=451e8beca43b\n\
                    AUTN=55f328b43577b9b94a9ffac354dfafb3\n";
    assert_eq!(text, expected);
    // -opc gives the same outputs as -op.
    let mut with_opc = vec![
        "milenage",
        "-k",
        "465b5ce8b199b49faa5f0a2ee238a6bc",
        "-opc",
        "cd63cb71954a9f4e48a5994e37a02baf",
        "-rand",
        "23553cbe9637a89d218ae64dae47bf35",
    ];
    with_opc.extend(["-sqn", "ff9bb4d0b607", "-amf", "b9b9"]);
    assert_eq!(
        String::from_utf8_lossy(&hearth_tools(&with_opc).stdout),
        expected
    );
}

#[test]
fn auts_round_trip_and_bad_mac() {
    let mut build = vec!["auts"];
    build.extend_from_slice(SET1);
    build.extend(["-sqn-ms", "000000000123"]);
    let line = last_line(&hearth_tools(&build));
    let auts = line.strip_prefix("AUTS=").expect("AUTS= line").to_string();
    assert_eq!(auts.len(), 28);

    let mut check = vec!["auts"];
    check.extend_from_slice(SET1);
    check.extend(["-auts", &auts]);
    assert_eq!(last_line(&hearth_tools(&check)), "SQN-MS=000000000123");

    // Flip one bit of MAC-S: refused with a reason and status 1.
    let mut bytes = hex::decode(&auts).unwrap();
    bytes[13] ^= 1;
    let bad = hex::encode(bytes);
    let mut check_bad = vec!["auts"];
    check_bad.extend_from_slice(SET1);
    check_bad.extend(["-auts", &bad]);
    let out = hearth_tools(&check_bad);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AUTS rejected"));
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_arguments_get_one_line_and_status_2() {
    assert_usage_error(
        &["naf-key", "-impi", "foo", "-naf", "x"],
        "'-nonce' is required",
    );
    assert_usage_error(&["naf-key", "-bogus", "1"], "unknown option '-bogus'");
    assert_usage_error(
        &[
            "naf-key",
            "-impi",
            "foo",
            "-naf",
            "localhost",
            "-nonce",
            "zz",
            "-k",
            "01230123012301230123012301230123",
            "-op",
            "01230123012301230123012301230123",
        ],
        "-nonce",
    );
    assert_usage_error(
        &[
            "naf-key",
            "-impi",
            "foo",
            "-naf",
            "localhost",
            "-nonce",
            "d34d35d36d37d38d39d3ad3bd3cd3dd1",
            "-k",
            "0123",
            "-op",
            "01230123012301230123012301230123",
        ],
        "-k: expected 16 bytes",
    );
    assert_usage_error(
        &[
            "naf-key",
            "-impi",
            "foo",
            "-naf",
            "localhost",
            "-nonce",
            "d34d35d36d37d38d39d3ad3bd3cd3dd1",
            "-k",
            "01230123012301230123012301230123",
            "-op",
            "01230123012301230123012301230123",
            "-ciphersuite",
            "TLS_NOPE",
        ],
        "unknown cipher suite",
    );
    assert_usage_error(
        &[
            "naf-digest",
            "-method",
            "GET",
            "-realm",
            "r",
            "-username",
            "u",
            "-uri",
            "/",
            "-nc",
            "1",
            "-cnonce",
            "c",
            "-nonce",
            "n",
            "-password",
            "p",
            "-hexpassword",
            "00",
        ],
        "cannot be used together",
    );
    assert_usage_error(&["milenage", "-k"], "needs a value");
    assert_usage_error(&["no-such-tool"], "unknown tool");
}

#[test]
fn help_lists_the_flags() {
    for (tool, flags) in [
        (
            "naf-key",
            &[
                "-ciphersuite",
                "-k2",
                "-list-ciphersuites",
                "-gbadigest",
                "-o",
            ][..],
        ),
        ("naf-digest", &["-hexpassword", "-body", "-qop", "-nc"][..]),
        ("gbad-passwd", &["-username", "-realm", "-password"][..]),
        ("gbad-ks", &["-passwd", "-resp"][..]),
    ] {
        for help in ["-h", "-help"] {
            let out = hearth_tools(&[tool, help]);
            assert!(out.status.success());
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.starts_with(&format!("Usage: {tool} [options]")),
                "{text}"
            );
            for f in flags {
                assert!(text.contains(f), "{tool} help lacks {f}");
            }
        }
    }
    let list = hearth_tools(&["naf-key", "-list-ciphersuites"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("TLS_RSA_PSK_WITH_AES_256_CBC_SHA\n"));
}
