//! Group commit: attempts hand their fenced writes (the intent before `publish`, the
//! outcome after) to one writer task, which applies every write that queued while it was
//! busy as one batch, then answers each attempt. Under load the database commits once for
//! many deliveries instead of once per write (SQLite has one writer at a time, so separate
//! commits would queue behind each other); when idle a write goes through alone, at once.
//! Each write is still fenced by its own lease and answered on its own, and an attempt
//! waits for its intent to be stored before it publishes, so a batch's intents are
//! written and answered before its completions. (Writing several batches at once on
//! PostgreSQL was tried: slower on two cores, where the server shares the CPU.)

use crate::StoreError;
use crate::store::{Claim, Store, Write};
use tokio::sync::{mpsc, oneshot};

/// Most writes in one transaction.
const MAX_BATCH: usize = 256;

type Request = (Claim, Write, oneshot::Sender<Result<(), StoreError>>);

/// The handle attempts write through; the task ends when every handle is dropped.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::UnboundedSender<Request>,
}

impl Writer {
    /// Starts the writer task on `store`.
    pub fn start(store: Store) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, tokio::spawn(run(store, rx)))
    }

    /// Applies `w` for `claim` (in some transaction with others) and says how it went.
    pub async fn write(&self, claim: &Claim, w: Write) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        self.tx.send((claim.clone(), w, done)).map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> StoreError {
    StoreError::Database(sea_orm::DbErr::Custom("the delivery writer stopped".into()))
}

async fn run(store: Store, mut rx: mpsc::UnboundedReceiver<Request>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        // Intents first, answered as soon as they are stored: an attempt waits for its intent
        // before it publishes, while nothing waits on a completion but the next claim.
        // Mixed with other writes, everything goes in one transaction.
        let (starts, rest): (Vec<_>, Vec<_>) = batch.into_iter().partition(|(_, w, _)| matches!(w, Write::Start));
        if rest.iter().all(|(_, w, _)| matches!(w, Write::Complete(_))) {
            apply(&store, starts).await;
            apply(&store, rest).await;
        } else {
            apply(&store, starts.into_iter().chain(rest).collect()).await;
        }
    }
}

/// Writes `batch` with [`crate::store::Queue::write_all`] and answers each request.
async fn apply(store: &Store, batch: Vec<Request>) {
    if batch.is_empty() {
        return;
    }
    let (writes, answers): (Vec<_>, Vec<_>) = batch.into_iter().map(|(c, w, a)| ((c, w), a)).unzip();
    match store.queue().write_all(writes).await {
        Ok(results) => {
            for (answer, r) in answers.into_iter().zip(results) {
                let _ = answer.send(r);
            }
        }
        Err(e) => {
            // The transaction failed as a whole: every attempt in it learns so; their
            // leases expire and the rescuer frees them, as after any lost write.
            let message = e.to_string();
            for answer in answers {
                let _ = answer.send(Err(StoreError::Database(sea_orm::DbErr::Custom(message.clone()))));
            }
        }
    }
}
