//! Dead letters: the admin API (`GET /$deadletter`, `GET /$deadletter/{id}`,
//! `POST /$deadletter/{id}/$replay`) and the CLD import that keeps invalid rows as dead letters
//! while applying the valid ones, idempotently.

use crate::check::Server;
use crate::mllp::{msa, send, start, ADT};
use axum::http::StatusCode;
use serde_json::Value;
use weave_server::deadletter::import_cld;
use weave_store::{InboundSource, NewInbound};

pub const HEAD: &str = "LA_Code,LA_Name,Reporting_Period_Start_Date,Reporting_Period_End_Date,LA_Person_Unique_Identifier,NHS_Number,GP_Practice_Code,Gender,Ethnicity,Date_of_Birth,Date_of_Death,Postcode,Client_Type,Event_Type,Event_Start_Date,Event_End_Date,Event_Outcome,Service_Type,Service_Component,Delivery_Mechanism,Primary_Support_Reason,Unit_Cost,Cost_Frequency_(Unit_Type),Planned_units_per_week,Review_Reason,Review_Outcomes_Achieved";
pub const GOOD: &str = "E08000999,Loomford,01/01/2024,31/03/2024,LA1,9434765919,Y90001,2,A,14/10/1935,,XW1 4ZN,Service User,Service,31/01/2023,,,Long Term Support: Community,Home Support,CASSR Commissioned Support,Physical Support: Personal care support,23.20,Hourly,10.5,,";

/// A three-row extract: line 3 (person LA9, gender `7`) is invalid.
fn extract() -> String {
    let bad = GOOD.replace("LA1", "LA9").replace(",2,A,", ",7,A,");
    let other = GOOD.replace("LA1", "LA2").replace("9434765919", "");
    format!("{HEAD}\n{GOOD}\n{bad}\n{other}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_shown_and_replayed() {
    let server = Server::new();
    let addr = start(&server).await;
    let no_pid = "MSH|^~\\&|PAS|R9W|WEAVE|HUB|20250401090000||ADT^A01^ADT_A01|C9|P|2.5.1\rEVN|A01|20250401090000\r";
    assert_ne!(msa(&send(addr, no_pid.as_bytes()).await), "AA");
    // A good message kept as a dead letter (as after a transient failure).
    let good = server
        .state
        .store
        .record_inbound(&NewInbound {
            source: InboundSource::Hl7v2,
            control_id: Some("C1".into()),
            accepted: false,
            reason: Some("the store was unavailable".into()),
            line: None,
            raw: ADT.as_bytes().to_vec(),
        })
        .unwrap();

    let list = server.get("/$deadletter").send().await.expect(StatusCode::OK).json();
    let items = list["deadLetters"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["source"], "hl7v2");
    assert_eq!(items[0]["controlId"], "C9");
    assert_eq!(items[0]["replayed"], false);
    assert!(items[0].get("raw").is_none(), "lists carry no content");
    let bad = items[0]["id"].as_i64().unwrap();
    let page = server.get("/$deadletter?_count=1").send().await.expect(StatusCode::OK).json();
    assert_eq!(page["deadLetters"].as_array().map(Vec::len), Some(1));
    assert!(page["next"].as_str().is_some_and(|n| n.ends_with(&format!("_after={bad}&_count=1"))));

    let shown = server.get(&format!("/$deadletter/{bad}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(shown["raw"], no_pid);
    assert!(shown["reason"].as_str().is_some_and(|r| r.contains("PID")), "{shown}");

    // Replaying a message that still cannot be mapped: 422, nothing changes.
    server.post(&format!("/$deadletter/{bad}/$replay")).send().await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(server.state.store.inbound(bad).unwrap().map(|d| d.replayed), Some(false));

    let replayed = server.post(&format!("/$deadletter/{good}/$replay")).send().await.expect(StatusCode::OK).json();
    assert_eq!(replayed["outcome"], "accepted");
    assert_eq!(msa(replayed["ack"].as_str().unwrap()), "AA");
    assert_eq!(server.count("Patient").await, 1);
    assert!(server.state.store.inbound_accepted(InboundSource::Hl7v2, "C1").unwrap());
    let shown = server.get(&format!("/$deadletter/{good}")).send().await.expect(StatusCode::OK).json();
    assert_eq!(shown["replayed"], true);
    server.post(&format!("/$deadletter/{good}/$replay")).send().await.expect(StatusCode::CONFLICT);
    // The resent message is now a duplicate: AA, nothing applied.
    let before = server.snapshot();
    assert_eq!(msa(&send(addr, ADT.as_bytes()).await), "AA");
    assert_eq!(server.snapshot(), before);

    server.get("/$deadletter/999999").send().await.expect(StatusCode::NOT_FOUND);
    server.get("/$deadletter/abc").send().await.expect(StatusCode::NOT_FOUND);
    server.delete("/$deadletter").send().await.expect(StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cld_extract_applies_valid_rows_and_keeps_invalid_ones() {
    let server = Server::new();
    let csv = extract();
    let first = import_cld(&server.state, csv.as_bytes()).await.unwrap();
    assert_eq!((first.report.rows, first.report.valid), (3, 2));
    assert_eq!(first.report.invalid_lines(), vec![3]);
    assert_eq!((first.bundles, first.applied), (2, 2));
    assert!(first.failed.is_empty());
    assert_eq!(first.dead_letters.len(), 1);
    assert_eq!(server.count("Patient").await, 2);
    let dead = server.state.store.inbound(first.dead_letters[0]).unwrap().unwrap();
    assert_eq!((dead.source, dead.line), (InboundSource::Cld, Some(3)));
    let raw = String::from_utf8(dead.raw.clone()).unwrap();
    assert!(raw.starts_with("LA_Code,") && raw.contains(",LA9,"), "{raw}");
    assert!(dead.reason.as_deref().is_some_and(|r| r.contains("Gender")));

    // Re-importing the same file: no duplicates.
    let counts = server.snapshot().counts;
    let again = import_cld(&server.state, csv.as_bytes()).await.unwrap();
    assert_eq!(again.applied, 2);
    assert_eq!(server.snapshot().counts, counts);

    // The invalid row replayed is still invalid.
    let r = server.post(&format!("/$deadletter/{}/$replay", dead.id)).send().await;
    let body: Value = r.expect(StatusCode::UNPROCESSABLE_ENTITY).json();
    assert!(body.to_string().contains("Gender"), "{body}");
}
