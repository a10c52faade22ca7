//! One HTTP exchange, over `http://` and `https://` alike: a service that answers out of turn,
//! early, or with framing HTTP/1.1 does not allow gets the same strict treatment on both, and a
//! verdict is always about the response to its own request.

use super::server::{Hostile, Options, Reply};
use super::{find, plan_file, read_report, run_plan, scenario};
use crate::support;
use serde_json::json;
use std::time::Duration;

/// Both ways to reach a service.
const SCHEMES: [bool; 2] = [false, true];

fn scheme(tls: bool) -> &'static str {
    if tls { "https" } else { "http" }
}

fn raw(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

/// A JSON response with a Content-Length.
fn response(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} Hostile\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn a_stray_response_never_passes_as_the_answer_to_a_later_request() {
    for tls in SCHEMES {
        // The first answer is followed, 50 ms later, by one nobody asked for,
        // written in one piece with the answer to the request that was waiting meanwhile. The
        // waiting request reads the stray as its answer: HTTP/1.1 cannot tell them apart then.
        // The answer behind it shows the connection out of step, so the connection is dropped,
        // and the verdict that rode on the stray is failed, never passed.
        let strayed = std::sync::atomic::AtomicBool::new(false);
        let target = Hostile::start_tls(tls, move |seen| {
            let answer = response(200, &json!({"path": seen.target}).to_string());
            match seen.nth_on_connection == 1 && !strayed.swap(true, std::sync::atomic::Ordering::SeqCst) {
                true => Reply::Twice {
                    first: answer,
                    after: Duration::from_millis(50),
                    then: response(200, r#"{"path":"stray"}"#),
                },
                false => Reply::Raw { bytes: answer, close: false },
            }
        });
        let dir = tempfile::tempdir().unwrap();
        // Each checks only its status: an answer meant for another request would pass it.
        let scenarios = (0..6)
            .map(|i| {
                let mut s = scenario(&format!("s{i}"), "GET", &format!("/s{i}"), 200);
                if i > 0 {
                    s["depends_on"] = json!([format!("s{}", i - 1)]);
                }
                s
            })
            .collect();
        let plan = plan_file(dir.path(), vec![], scenarios);
        let mut extra = vec!["--jobs".to_string(), "1".to_string(), "--exchanges".into(), "all".into()];
        extra.extend(target.trust(dir.path()));
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let mut c = run_plan(dir.path(), &plan, &target.url, &extra);
        // A proxy the environment names for other hosts changes nothing (`NO_PROXY` names this one).
        if tls {
            c.env("https_proxy", "http://127.0.0.1:9")
                .env("http_proxy", "http://127.0.0.1:9")
                .env("no_proxy", "127.0.0.1");
        }
        let r = support::run(c);
        assert_eq!(r.code, 1, "{}: a verdict rode on a stray answer: {r}", scheme(tls));
        assert!(r.stderr.contains("answers nobody asked for"), "{}: {r}", scheme(tls));
        let report = read_report(dir.path());
        let mut passed = 0;
        for i in 0..6 {
            let s = find(&report, &format!("s{i}"));
            let step = &s["steps"][0];
            let answered: serde_json::Value =
                serde_json::from_str(step["response"]["body"].as_str().unwrap_or("null")).unwrap_or_default();
            if s["outcome"] == "passed" {
                passed += 1;
                assert_eq!(
                    answered["path"],
                    format!("/s{i}"),
                    "{}: s{i} passed on another's answer: {s}",
                    scheme(tls)
                );
            } else {
                // The one that got the stray, and every other verdict that rode on that connection.
                assert!(s["reason"].as_str().unwrap().contains("out of step"), "{s}");
            }
        }
        assert!(passed >= 3, "{}: after each stray the run goes on over a fresh connection", scheme(tls));
    }
}

#[test]
fn an_answer_before_the_upload_is_read_is_judged_and_the_request_is_not_sent_again() {
    for tls in SCHEMES {
        // The service reads a request's head, refuses it at once (413) and closes, never reading
        // the 8 MiB body: smoke must see the 413, stop sending, and send nothing twice.
        let options = Options { tls, before_body: true, ..Options::default() };
        let target = Hostile::start_with(options, |_| Reply::Raw {
            bytes: response(413, r#"{"error":"too large"}"#),
            close: true,
        });
        let dir = tempfile::tempdir().unwrap();
        let upload = |id: &str, method: &str| {
            json!({
                "id": id, "endpoint": format!("{method} /upload"), "kind": "validation-error",
                "steps": [{"request": {"method": method, "path": "/upload",
                                       "body": {"type": "text", "value": "x".repeat(8 << 20)}},
                           "expect": {"status": [413]}}]
            })
        };
        let plan = plan_file(dir.path(), vec![], vec![upload("put", "PUT"), upload("post", "POST")]);
        let mut extra = vec!["--jobs".to_string(), "1".to_string(), "--request-timeout".into(), "20s".into()];
        extra.extend(target.trust(dir.path()));
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let started = std::time::Instant::now();
        let r = support::run(run_plan(dir.path(), &plan, &target.url, &extra));
        assert_eq!(r.code, 0, "{}: {r}", scheme(tls));
        assert!(started.elapsed() < Duration::from_secs(15), "{}: no wait for a timeout", scheme(tls));
        let seen = target.seen();
        for method in ["PUT", "POST"] {
            let sent = seen.iter().filter(|s| s.method == method).count();
            assert_eq!(sent, 1, "{}: the {method} was sent once: {seen:?}", scheme(tls));
        }
    }
}

#[test]
fn framing_http_1_1_does_not_allow_and_bytes_that_are_not_text_fail_their_step() {
    for tls in SCHEMES {
        let target = Hostile::start_tls(tls, |seen| {
            let close = |text: &str| Reply::Raw { bytes: raw(text), close: true };
            match seen.target.as_str() {
                "/plus" => close(
                    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n+e\r\n{\"id\": \"plus1\"}\r\n0\r\n\r\n",
                ),
                "/spaced" => close(
                    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n e \r\n{\"id\": \"spac1\"}\r\n0\r\n\r\n",
                ),
                "/http10" => close(
                    "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ntransfer-encoding: chunked\r\ncontent-length: 14\r\n\r\n\
                     e\r\n{\"id\": \"te10\"}\r\n0\r\n\r\n",
                ),
                "/bare-lf" => close(
                    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\ne\n{\"id\": \"lf01\"}\r\n0\r\n\r\n",
                ),
                "/latin1" => Reply::Raw {
                    bytes: [&b"HTTP/1.1 200 OK\r\nx-name: caf\xe9\r\ncontent-length: 2\r\n\r\n{}"[..]]
                        .concat(),
                    close: false,
                },
                _ => Reply::json(200, "{}"),
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let mut latin1 = scenario("latin1", "GET", "/latin1", 200);
        latin1["steps"][0]["expect"]["headers"] = json!([{"name": "X-Name", "value": "caf\u{fffd}"}]);
        let mut capture = scenario("latin1-capture", "GET", "/latin1", 200);
        capture["steps"][0]["captures"] =
            json!([{"name": "who", "source": {"from": "header", "path": "x-name"}}]);
        let plan = plan_file(
            dir.path(),
            vec![],
            vec![
                scenario("plus", "GET", "/plus", 200),
                scenario("spaced", "GET", "/spaced", 200),
                scenario("http10", "GET", "/http10", 200),
                scenario("bare-lf", "GET", "/bare-lf", 200),
                latin1,
                capture,
            ],
        );
        let mut extra = vec!["--jobs".to_string(), "1".to_string()];
        extra.extend(target.trust(dir.path()));
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let r = support::run(run_plan(dir.path(), &plan, &target.url, &extra));
        assert_eq!(r.code, 1, "{r}");
        let report = read_report(dir.path());
        for (id, kind, says) in [
            ("plus", "http", "invalid chunk size"),
            ("spaced", "http", "invalid chunk size"),
            ("http10", "http", "HTTP/1.0 response with Transfer-Encoding"),
            ("bare-lf", "http", "bare LF"),
            ("latin1", "header", "is not UTF-8"),
            ("latin1-capture", "capture", "is not UTF-8"),
        ] {
            let s = find(&report, id);
            assert_eq!(
                (s["outcome"].as_str(), s["failure"]["kind"].as_str()),
                (Some("failed"), Some(kind)),
                "{}: {id}: {s}",
                scheme(tls)
            );
            assert!(s["reason"].as_str().unwrap().contains(says), "{}: {id}: {s}", scheme(tls));
        }
    }
}

#[test]
fn empty_post_put_and_patch_bodies_say_content_length_zero() {
    for tls in SCHEMES {
        let target = Hostile::start_tls(tls, |_| Reply::json(200, "{}"));
        let dir = tempfile::tempdir().unwrap();
        let plan = plan_file(
            dir.path(),
            vec![],
            ["POST", "PUT", "PATCH", "GET", "DELETE"]
                .iter()
                .map(|m| scenario(&m.to_lowercase(), m, "/x", 200))
                .collect(),
        );
        let extra = target.trust(dir.path());
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let r = support::run(run_plan(dir.path(), &plan, &target.url, &extra));
        assert_eq!(r.code, 0, "{r}");
        for s in target.seen() {
            let length = s.header("content-length");
            match s.method.as_str() {
                "POST" | "PUT" | "PATCH" => assert_eq!(length, Some("0"), "{}: {s:?}", scheme(tls)),
                _ => assert_eq!(length, None, "{}: {s:?}", scheme(tls)),
            }
        }
    }
}

#[test]
fn https_trusts_what_it_is_told_to_and_says_how_when_it_does_not() {
    let target = Hostile::start_tls(true, |_| Reply::json(200, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_file(dir.path(), vec![], vec![scenario("a", "GET", "/a", 200)]);
    // A certificate no trusted CA signed: the step fails to connect, and says what to do.
    let r = support::run(run_plan(dir.path(), &plan, &target.url, &[]));
    assert_eq!(r.code, 1, "{r}");
    let report = read_report(dir.path());
    let a = find(&report, "a");
    assert_eq!(a["failure"]["kind"], "connect", "{a}");
    let reason = a["reason"].as_str().unwrap();
    assert!(reason.contains("TLS") && reason.contains("--cacert"), "{reason}");
    // Its CA given, or every certificate accepted for a test service: it passes.
    let trust = target.trust(dir.path());
    let trust: Vec<&str> = trust.iter().map(String::as_str).collect();
    assert_eq!(support::run(run_plan(dir.path(), &plan, &target.url, &trust)).code, 0);
    assert_eq!(support::run(run_plan(dir.path(), &plan, &target.url, &["--insecure-target"])).code, 0);
    // A CA file that is not PEM is a usage error naming it.
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let r = support::run(run_plan(dir.path(), &plan, &target.url, &["--cacert", bad.to_str().unwrap()]));
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("bad.pem") && r.stderr.contains("no certificate"), "{r}");
}

#[test]
fn a_service_asking_for_a_client_certificate_gets_the_one_given() {
    let options = Options { tls: true, client_certificates: true, ..Options::default() };
    let target = Hostile::start_with(options, |_| Reply::json(200, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_file(dir.path(), vec![], vec![scenario("a", "GET", "/a", 200)]);
    let mut trust = target.trust(dir.path());
    // Without one, the handshake fails: the step cannot connect, and says TLS.
    let args: Vec<&str> = trust.iter().map(String::as_str).collect();
    let r = support::run(run_plan(dir.path(), &plan, &target.url, &args));
    assert_eq!(r.code, 1, "{r}");
    let report = read_report(dir.path());
    assert_eq!(find(&report, "a")["failure"]["kind"], "connect", "{report}");
    // With the certificate its CA signed, it passes.
    let (cert, key) = target.client.clone().unwrap();
    let (cert_file, key_file) = (dir.path().join("client.pem"), dir.path().join("client.key"));
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    trust.extend([
        "--cert".to_string(),
        cert_file.display().to_string(),
        "--key".into(),
        key_file.display().to_string(),
    ]);
    let args: Vec<&str> = trust.iter().map(String::as_str).collect();
    let r = support::run(run_plan(dir.path(), &plan, &target.url, &args));
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(target.seen().len(), 1, "only the run with the certificate got through");
}

#[test]
fn a_stray_answer_during_an_upload_never_passes_for_its_answer() {
    for tls in SCHEMES {
        // The GET's answer is followed, 50 ms later, by one nobody asked for; the 8 MiB PUT that
        // comes next is never answered.
        let target = Hostile::start_tls(tls, |seen| match seen.method.as_str() {
            "GET" => Reply::Twice {
                first: response(200, r#"{"path":"/thing"}"#),
                after: Duration::from_millis(50),
                then: response(201, r#"{"path":"stray"}"#),
            },
            _ => {
                std::thread::sleep(Duration::from_millis(300));
                Reply::Close
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let put = json!({
            "id": "upload", "endpoint": "PUT /thing", "kind": "happy-path", "depends_on": ["get"],
            "steps": [{"request": {"method": "PUT", "path": "/thing", "body": {"type": "text", "value": "x".repeat(8 << 20)}},
                       "expect": {"status": [201]}}]
        });
        let plan = plan_file(dir.path(), vec![], vec![scenario("get", "GET", "/thing", 200), put]);
        let mut extra = vec!["--jobs".to_string(), "1".to_string(), "--request-timeout".into(), "10s".into()];
        extra.extend(target.trust(dir.path()));
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let r = support::run(run_plan(dir.path(), &plan, &target.url, &extra));
        assert_eq!(r.code, 1, "{}: {r}", scheme(tls));
        let report = read_report(dir.path());
        assert_eq!(
            find(&report, "upload")["outcome"],
            "failed",
            "{}: the upload never passes on the stray",
            scheme(tls)
        );
    }
}

#[test]
fn an_answer_sent_before_the_request_never_passes_for_it() {
    for tls in SCHEMES {
        // Two answers the moment a connection opens, before any request: a 200 and a 500.
        let greeting = [response(200, r#"{"ok":true}"#), response(500, r#"{"ok":false}"#)].concat();
        let options = Options { tls, greeting: Some(greeting), ..Options::default() };
        let target = Hostile::start_with(options, |_| Reply::Raw {
            bytes: response(500, r#"{"ok":false}"#),
            close: false,
        });
        let dir = tempfile::tempdir().unwrap();
        let plan = plan_file(dir.path(), vec![], vec![scenario("a", "GET", "/a", 200)]);
        let extra = target.trust(dir.path());
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let r = support::run(run_plan(dir.path(), &plan, &target.url, &extra));
        assert_eq!(r.code, 1, "{}: {r}", scheme(tls));
        let report = read_report(dir.path());
        let a = find(&report, "a");
        assert!(a["reason"].as_str().unwrap().contains("out of step"), "{}: {a}", scheme(tls));
    }
}

#[test]
fn a_field_sent_twice_is_judged_whole() {
    for tls in SCHEMES {
        let target = Hostile::start_tls(tls, |_| Reply::Raw {
            bytes: raw(
                "HTTP/1.1 200 OK\r\nx-frame-options: DENY\r\nx-frame-options: ALLOWALL\r\ncontent-length: 2\r\n\r\n{}",
            ),
            close: false,
        });
        let dir = tempfile::tempdir().unwrap();
        let mut s = scenario("framed", "GET", "/a", 200);
        s["steps"][0]["expect"]["headers"] = json!([{"name": "X-Frame-Options", "value": "DENY"}]);
        let plan = plan_file(dir.path(), vec![], vec![s]);
        let extra = target.trust(dir.path());
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let r = support::run(run_plan(dir.path(), &plan, &target.url, &extra));
        assert_eq!(r.code, 1, "{}: {r}", scheme(tls));
        let report = read_report(dir.path());
        assert!(find(&report, "framed")["reason"].as_str().unwrap().contains("DENY, ALLOWALL"), "{report}");
    }
}

#[test]
fn a_poll_never_runs_past_its_time() {
    // Each try takes 8 s; the poll has 1 s.
    let target = Hostile::start(|_| {
        std::thread::sleep(Duration::from_secs(8));
        Reply::json(200, "{}")
    });
    let dir = tempfile::tempdir().unwrap();
    let mut s = scenario("poll", "GET", "/a", 200);
    s["steps"][0]["mode"] = json!({"mode": "poll", "interval_ms": 200, "timeout_ms": 1000});
    let plan = plan_file(dir.path(), vec![], vec![s]);
    let started = std::time::Instant::now();
    let r = support::run(run_plan(dir.path(), &plan, &target.url, &["--request-timeout", "30s"]));
    assert_eq!(r.code, 1, "{r}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "the poll ended at its time: {:?}",
        started.elapsed()
    );
    let report = read_report(dir.path());
    assert_eq!(find(&report, "poll")["failure"]["kind"], "timeout", "{report}");
}
