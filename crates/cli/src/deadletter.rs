//! `weave deadletter list|show ID|replay ID`: what the feeds sent that could not be applied.
//! `list` and `show` read the store directly; `replay` re-runs the record's pipeline on its stored
//! bytes through the same code as `POST /$deadletter/{id}/$replay`.

use crate::config::{runtime, StoreArgs};
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use weave_server::{AppState, ServerConfig};
use weave_store::{format_instant, Store};

/// `weave deadletter`.
#[derive(Args, Clone, Debug)]
pub struct DeadLetterArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: DeadLetterCommand,
}

#[derive(Subcommand, Clone, Debug)]
pub enum DeadLetterCommand {
    /// List dead letters, oldest first.
    List {
        /// Only those with an id above this.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        count: usize,
    },
    /// Show one dead letter with its raw content (JSON).
    Show { id: i64 },
    /// Re-run one dead letter through its pipeline; marks it replayed when it is then applied.
    Replay { id: i64 },
}

pub fn run(args: &DeadLetterArgs) -> Result<()> {
    let store = args.store.open()?;
    let result = match args.command {
        DeadLetterCommand::List { after, count } => list(&*store, after, count),
        DeadLetterCommand::Show { id } => show(&*store, id),
        DeadLetterCommand::Replay { id } => replay(store.clone(), id),
    };
    store.close();
    result
}

fn list(store: &dyn Store, after: i64, count: usize) -> Result<()> {
    let page = store.dead_letters(after, count.max(1))?;
    if page.is_empty() {
        println!("no dead letters");
    }
    for d in &page {
        let state = if d.replayed { "replayed" } else { "pending" };
        let line = d.line.map(|l| format!(" line {l}")).unwrap_or_default();
        let control = d.control_id.as_deref().map(|c| format!(" control id {c}")).unwrap_or_default();
        let reason = d.reason.as_deref().unwrap_or("");
        println!("{}\t{}\t{}\t{state}{line}{control}\t{reason}", d.id, format_instant(d.received), d.source.as_str());
    }
    Ok(())
}

fn show(store: &dyn Store, id: i64) -> Result<()> {
    match store.inbound(id)?.filter(|d| !d.accepted) {
        Some(d) => {
            println!("{}", serde_json::to_string_pretty(&weave_server::deadletter::to_json(&d, true))?);
            Ok(())
        }
        None => bail!("no dead letter {id}"),
    }
}

fn replay(store: std::sync::Arc<weave_store::sqlite::SqliteStore>, id: i64) -> Result<()> {
    let state = AppState::new(store, ServerConfig::default());
    match runtime()?.block_on(weave_server::deadletter::replay(&state, id)) {
        Ok(out) => {
            println!("{out}");
            Ok(())
        }
        Err(e) => {
            let why: Vec<String> = e.issues().into_iter().map(|i| i.diagnostics).collect();
            bail!("dead letter {id} was not replayed: {}", why.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{run, DeadLetterArgs, DeadLetterCommand};
    use crate::config::{DurabilityArg, StoreArgs};
    use weave_store::{InboundSource, NewInbound, Store};

    const ADT: &str = "MSH|^~\\&|PAS|R9W|WEAVE|HUB|20250401090000||ADT^A01^ADT_A01|C1|P|2.5.1\r\
EVN|A01|20250401090000\rPID|1||123456^^^R9W^MR||Smith^Jane||19800101|F\r\
PV1|1|I|WARD1^^^R9W||||||||||||||||V123^^^R9W^VN\r";

    fn args(db: &std::path::Path, command: DeadLetterCommand) -> DeadLetterArgs {
        DeadLetterArgs { store: StoreArgs { db: db.to_path_buf(), durability: DurabilityArg::Normal }, command }
    }

    #[test]
    fn list_show_and_replay_a_dead_letter() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("w.db");
        let id = {
            let store = StoreArgs { db: db.clone(), durability: DurabilityArg::Normal }.open().unwrap();
            let rec = NewInbound {
                source: InboundSource::Hl7v2,
                control_id: Some("C1".into()),
                accepted: false,
                reason: Some("the store was unavailable".into()),
                line: None,
                raw: ADT.as_bytes().to_vec(),
            };
            let id = store.record_inbound(&rec).unwrap();
            store.close();
            id
        };
        run(&args(&db, DeadLetterCommand::List { after: 0, count: 10 })).unwrap();
        run(&args(&db, DeadLetterCommand::Show { id })).unwrap();
        assert!(run(&args(&db, DeadLetterCommand::Show { id: id + 100 })).is_err());
        run(&args(&db, DeadLetterCommand::Replay { id })).unwrap();
        let again = run(&args(&db, DeadLetterCommand::Replay { id })).unwrap_err();
        assert!(again.to_string().contains("already replayed"), "{again}");
        let store = StoreArgs { db, durability: DurabilityArg::Normal }.open().unwrap();
        assert!(store.inbound(id).unwrap().is_some_and(|d| d.replayed));
        assert!(store.inbound_accepted(InboundSource::Hl7v2, "C1").unwrap());
        assert_eq!(store.counts().unwrap().iter().find(|(t, _)| t == "Patient").map(|c| c.1), Some(1));
    }
}
