use chrono::TimeZone;

use super::*;

fn alert(kind: AlertType, data: Value) -> Alert {
    Alert {
        id: "0f8e5c2a-alert".into(),
        kind,
        subject: "github:acme/payments#108".into(),
        time: Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap(),
        data,
    }
}

#[test]
fn an_alert_is_a_structured_cloud_event() {
    let a = alert(
        AlertType::ChangeBlocked,
        json!({ "title": "Agent out of scope" }),
    );
    let event = a.cloud_event("https://warrant.example.com");
    assert_eq!(
        event,
        json!({
            "specversion": "1.0",
            "id": "0f8e5c2a-alert",
            "source": "https://warrant.example.com",
            "type": "dev.warrant.change.blocked",
            "time": "2026-12-07T12:00:00.000Z",
            "subject": "github:acme/payments#108",
            "datacontenttype": "application/json",
            "data": { "title": "Agent out of scope" },
        })
    );
}

#[test]
fn every_type_reads_back_from_its_name() {
    for kind in AlertType::ALL {
        assert_eq!(AlertType::parse(kind.as_str()), Some(kind));
        assert!(kind.as_str().starts_with("dev.warrant."));
    }
    assert_eq!(AlertType::parse("dev.warrant.other"), None);
}

#[test]
fn the_filter_takes_types_and_prefixes_and_refuses_typos() {
    let all = EventFilter::parse("").unwrap();
    assert!(AlertType::ALL.iter().all(|t| all.sends(*t)));
    let some = EventFilter::parse("dev.warrant.agent., dev.warrant.change.blocked").unwrap();
    assert!(some.sends(AlertType::AgentLapsing));
    assert!(some.sends(AlertType::AgentUnregistered));
    assert!(some.sends(AlertType::ChangeBlocked));
    assert!(!some.sends(AlertType::PolicyRelaxed));
    let typo = EventFilter::parse("dev.warrant.change.blockd").unwrap_err();
    assert!(typo.contains("dev.warrant.change.blockd"), "{typo}");
    assert!(
        EventFilter::parse("dev.warrant.agent").is_err(),
        "a prefix ends in a dot"
    );
}

#[test]
fn the_signature_is_the_hmac_of_the_raw_body() {
    // RFC 4231, test case 2.
    let expected = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    assert_eq!(signature("Jefe", b"what do ya want for nothing?"), expected);
}

#[test]
fn receivers_are_https_or_loopback() {
    for ok in [
        "https://hooks.example.com/warrant",
        "http://127.0.0.1:9000/alerts",
        "http://localhost/alerts",
        "http://[::1]:8080/",
    ] {
        assert!(receiver_url(ok).is_ok(), "{ok}");
    }
    for refused in ["http://hooks.example.com/", "ftp://x/", "not a url"] {
        assert!(receiver_url(refused).is_err(), "{refused}");
    }
}

#[test]
fn a_slack_message_says_what_and_where_with_links() {
    let a = alert(
        AlertType::PolicyRelaxed,
        json!({ "relaxations": ["sensitive[ledger].approvers: `acme/payments-team` added"] }),
    );
    let message = slack_message(
        &a,
        Some("https://warrant.example.com/audit/github/acme/payments/changes/108"),
        Some("https://github.com/acme/payments/pull/108"),
    );
    assert_eq!(
        message["text"],
        "*Policy relaxed* in `github:acme/payments#108`: sensitive[ledger].approvers: \
         `acme/payments-team` added\n\
         <https://warrant.example.com/audit/github/acme/payments/changes/108|Warrant> · \
         <https://github.com/acme/payments/pull/108|the change>"
    );
    assert_eq!(message["blocks"][0]["text"]["text"], message["text"]);

    let blocked = alert(AlertType::ChangeBlocked, json!({ "title": "a <b> & c" }));
    let text = slack_message(&blocked, None, None)["text"].clone();
    assert_eq!(
        text,
        "*Change blocked* in `github:acme/payments#108`: a &lt;b&gt; &amp; c"
    );
}
