//! The group-commit writer.
//!
//! redb has one writer at a time and a durable commit costs an fsync, which caps one commit
//! per request near 2,000/s on this class of machine (SPEC section 7). One thread owns all
//! writing: it takes every job that is queued, runs them all in one write transaction, and
//! commits it with `Durability::Immediate`; only then are the callers answered. No call
//! returns before its data is on disk, and concurrent callers share one commit and its fsync.
//!
//! A job that fails must not take the others down with it. redb's savepoints cannot help (they
//! need a transaction that has not written yet), so [`Tx`] keeps an undo log of the running
//! job's writes (redb hands back every overwritten or removed value for free) and the writer
//! replays it backwards when the job returns an error or panics. The first design, one
//! non-durable commit per job plus one durable flush per batch, measured 4,400-7,400 creates/s
//! at 64 threads against 11,000/s for a shared transaction, because every redb commit rewrites
//! the touched tree roots.
//!
//! A std channel (not a lock) feeds the thread. A synchronous caller (the CLI, a
//! `spawn_blocking` call) blocks on its own reply channel; an async caller (the appliance's
//! hot paths) awaits a [`Written`] future that the writer thread wakes, which saves a thread
//! hand-off per write: the HTTP create path spent 12% of its time in the scheduler when every
//! write went through `spawn_blocking` (perf, `benches/run.sh`).

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;

use redb::Database;

use super::Tx;
use crate::model::Timestamp;
use crate::{Error, Result};

type Output = Box<dyn Any + Send>;
type Run = Box<dyn FnOnce(&mut Tx<'_>) -> Result<Output> + Send>;

struct Job {
    run: Run,
    reply: Reply,
}

/// Where a job's answer goes: a blocked thread's channel, or the slot of a [`Written`] future.
enum Reply {
    Blocking(SyncSender<Result<Output>>),
    Future(FutureReply),
}

/// The writer's end of a [`Written`] future. Dropped unanswered (the writer thread died), it
/// answers with an error, so no future waits forever.
struct FutureReply(Option<Arc<Mutex<Slot>>>);

impl FutureReply {
    fn answer(&mut self, answer: Result<Output>) {
        let Some(slot) = self.0.take() else { return };
        let waker = {
            let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            slot.answer = Some(answer);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Drop for FutureReply {
    fn drop(&mut self) {
        self.answer(Err(Error::corrupt("the writer thread has stopped")));
    }
}

/// The state shared by a [`Written`] future and the writer thread.
#[derive(Default)]
struct Slot {
    answer: Option<Result<Output>>,
    waker: Option<Waker>,
}

impl Reply {
    /// Answers the caller. A caller that went away is not an error.
    fn send(self, answer: Result<Output>) {
        match self {
            Reply::Blocking(sender) => {
                let _ = sender.send(answer);
            }
            Reply::Future(mut reply) => reply.answer(answer),
        }
    }
}

/// A write submitted with [`crate::Crm::write_async`]: resolves once its transaction is durable
/// (or failed), with what [`crate::Crm::write`] would have returned. Dropping it does not cancel
/// the write.
#[must_use = "the write happens anyway; await it to learn whether it was committed"]
pub struct Written<R> {
    state: WrittenState,
    _value: PhantomData<fn() -> R>,
}

enum WrittenState {
    Waiting(Arc<Mutex<Slot>>),
    Failed(Option<Error>),
}

impl<R: 'static> Future for Written<R> {
    type Output = Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        let this = self.get_mut();
        let slot = match &mut this.state {
            WrittenState::Failed(error) => {
                return Poll::Ready(Err(error
                    .take()
                    .unwrap_or_else(|| Error::corrupt("the write was already answered"))));
            }
            WrittenState::Waiting(slot) => slot,
        };
        let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match slot.answer.take() {
            Some(answer) => Poll::Ready(unbox(answer)),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A job's boxed answer as the caller's type.
fn unbox<R: 'static>(answer: Result<Output>) -> Result<R> {
    answer?
        .downcast::<R>()
        .map(|value| *value)
        .map_err(|_| Error::corrupt("writer returned a value of the wrong type"))
}

/// The name of the writer thread. Password hashing refuses to run on it (`password.rs`): a
/// hash takes tens of milliseconds that every queued write would wait for.
pub(crate) const WRITER_THREAD: &str = "crm-writer";

/// How every batch commits: no write call returns before its transaction is on disk.
const DURABILITY: redb::Durability = redb::Durability::Immediate;

/// The most jobs that share one durable commit. Bounds the latency of the last job in a
/// batch; measured throughput flattens well below this.
const MAX_BATCH: usize = 512;

/// Handle to the writer thread. Dropping the last handle stops the thread after it finishes
/// the queued jobs.
pub(crate) struct Writer {
    sender: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    hooks: Hooks,
    /// Long reads running now, and commits that skipped quick repair's record for them.
    repair: Arc<QuickRepair>,
}

/// Held while a long read (a backup, a verification) keeps a snapshot open; see
/// [`Writer::long_read`].
pub(crate) struct LongRead {
    repair: Arc<QuickRepair>,
    skipped_before: usize,
}

impl LongRead {
    /// Ends the long read; returns whether a commit skipped quick repair's record meanwhile
    /// (the record is then missing from the file until the next commit).
    pub(crate) fn end(self) -> bool {
        self.repair.skipped.load(Ordering::Acquire) != self.skipped_before
    }
}

impl Drop for LongRead {
    fn drop(&mut self) {
        self.repair.long_reads.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Callbacks run on the writer thread after every durable commit (live updates in the web).
pub(crate) type Hooks = Arc<Mutex<Vec<Box<dyn Fn() + Send + Sync>>>>;

impl Writer {
    /// Starts the writer thread over `db`.
    pub(crate) fn start(
        db: Arc<Database>,
        clock: fn() -> Timestamp,
        quick_repair: bool,
    ) -> Result<Self> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let hooks: Hooks = Arc::default();
        let thread_hooks = hooks.clone();
        let repair = Arc::new(QuickRepair {
            enabled: quick_repair,
            long_reads: AtomicUsize::new(0),
            skipped: AtomicUsize::new(0),
        });
        let thread_repair = repair.clone();
        let thread = std::thread::Builder::new()
            .name(WRITER_THREAD.into())
            .spawn(move || run(&db, &receiver, clock, &thread_repair, &thread_hooks))
            .map_err(|error| Error::storage("cannot start the writer thread", error))?;
        Ok(Writer {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            hooks,
            repair,
        })
    }

    /// Marks a long read (a snapshot held for seconds: a backup, a verification) until the
    /// returned guard drops. Meanwhile commits skip quick repair's record of the allocator
    /// state. redb rewrites that record whole on every commit (about a MiB per commit on the
    /// full-scale store), and while a snapshot is held no page freed after it can be reused,
    /// so every record would take new pages: the file grew from 8 to 18 GiB during one
    /// 60-second backup under writes, and creates fell to 422/s. The price is that a crash
    /// during a long read is followed by redb's full repair at the next open (11 s on the
    /// full-scale store) instead of a quick one; the first commit after the read records the
    /// state again.
    pub(crate) fn long_read(&self) -> LongRead {
        self.repair.long_reads.fetch_add(1, Ordering::AcqRel);
        LongRead {
            repair: self.repair.clone(),
            skipped_before: self.repair.skipped.load(Ordering::Acquire),
        }
    }

    /// Registers `hook`, called on the writer thread after every durable commit that changed
    /// something. It must be quick and must not write.
    pub(crate) fn on_commit(&self, hook: Box<dyn Fn() + Send + Sync>) {
        if let Ok(mut hooks) = self.hooks.lock() {
            hooks.push(hook);
        }
    }

    /// Runs `f` in a write transaction and waits until its effects are durable.
    pub(crate) fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<R> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        self.submit(f, Reply::Blocking(reply))?;
        unbox(
            answer
                .recv()
                .map_err(|_| Error::corrupt("the writer thread has stopped"))?,
        )
    }

    /// Queues `f` like [`Writer::write`] without blocking; the returned future resolves when
    /// its effects are durable.
    pub(crate) fn write_async<R, F>(&self, f: F) -> Written<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<R> + Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let state = match self.submit(f, Reply::Future(FutureReply(Some(slot.clone())))) {
            Ok(()) => WrittenState::Waiting(slot),
            Err(error) => WrittenState::Failed(Some(error)),
        };
        Written {
            state,
            _value: PhantomData,
        }
    }

    fn submit<R, F>(&self, f: F, reply: Reply) -> Result<()>
    where
        R: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<R> + Send + 'static,
    {
        let run: Run = Box::new(move |tx| f(tx).map(|value| Box::new(value) as Output));
        let sender = self
            .sender
            .lock()
            .map_err(|_| Error::corrupt("writer lock poisoned"))?;
        let sender = sender
            .as_ref()
            .ok_or_else(|| Error::corrupt("the store is closed"))?;
        sender
            .send(Job { run, reply })
            .map_err(|_| Error::corrupt("the writer thread has stopped"))
    }

    /// Stops the thread after the queued jobs and waits for it.
    pub(crate) fn stop(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut thread| thread.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a commit records quick repair's allocator state: when the store was opened with
/// quick repair and no long read runs (see [`Writer::long_read`]).
struct QuickRepair {
    enabled: bool,
    long_reads: AtomicUsize,
    /// Commits that skipped the record because a long read ran (wrapping).
    skipped: AtomicUsize,
}

impl QuickRepair {
    /// Whether the next commit records the state; counts a skipped record.
    fn now(&self) -> bool {
        if !self.enabled {
            return false;
        }
        if self.long_reads.load(Ordering::Acquire) == 0 {
            return true;
        }
        self.skipped.fetch_add(1, Ordering::AcqRel);
        false
    }
}

fn run(
    db: &Database,
    receiver: &Receiver<Job>,
    clock: fn() -> Timestamp,
    repair: &QuickRepair,
    hooks: &Hooks,
) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if run_batch(db, batch, clock, repair.now())
            && let Ok(hooks) = hooks.lock()
        {
            for hook in hooks.iter() {
                hook();
            }
        }
    }
}

/// Runs the jobs of a batch in one write transaction and commits it durably. A job that fails
/// is rolled back alone through the transaction's undo log and answered at once; the others are
/// answered after the commit. Returns whether anything was committed.
fn run_batch(db: &Database, batch: Vec<Job>, clock: fn() -> Timestamp, quick_repair: bool) -> bool {
    let mut txn = match db.begin_write() {
        Ok(txn) => txn,
        Err(error) => {
            let message = error.to_string();
            for job in batch {
                job.reply.send(Err(Error::corrupt(format!(
                    "cannot begin a transaction: {message}"
                ))));
            }
            return false;
        }
    };
    txn.set_quick_repair(quick_repair);
    // redb's default, stated because the callers' promise rests on it: `commit` returns once
    // the batch is on disk.
    if let Err(error) = txn.set_durability(DURABILITY) {
        let message = error.to_string();
        for job in batch {
            job.reply.send(Err(Error::corrupt(format!(
                "cannot make the transaction durable: {message}"
            ))));
        }
        return false;
    }
    let mut committed = Vec::with_capacity(batch.len());
    let mut broken: Option<String> = None;
    {
        let mut tx = Tx::batch(&txn, clock());
        for job in batch {
            if let Some(reason) = &broken {
                job.reply.send(Err(Error::corrupt(reason.clone())));
                continue;
            }
            tx.begin_job(clock());
            let run = job.run;
            // A job must never panic, but if one does the writer thread has to survive it: the
            // job's writes are rolled back and its caller gets an error.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&mut tx)))
                .unwrap_or_else(|_| {
                    Err(Error::corrupt("a write job panicked; nothing was written"))
                });
            match result {
                Ok(output) => committed.push((job.reply, output)),
                Err(error) => {
                    if let Err(rollback) = tx.rollback_job() {
                        broken = Some(format!(
                            "the batch was abandoned after a failed rollback: {rollback}"
                        ));
                    }
                    job.reply.send(Err(error));
                }
            }
        }
    }
    if let Some(reason) = broken {
        let _ = txn.abort();
        for (reply, _) in committed {
            reply.send(Err(Error::corrupt(reason.clone())));
        }
        return false;
    }
    if committed.is_empty() {
        // Every job failed and was rolled back: nothing to make durable.
        let _ = txn.abort();
        return false;
    }
    match txn.commit() {
        Ok(()) => {
            for (reply, output) in committed {
                reply.send(Ok(output));
            }
            true
        }
        Err(error) => {
            let message = error.to_string();
            for (reply, _) in committed {
                reply.send(Err(Error::corrupt(format!(
                    "durable commit failed: {message}"
                ))));
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(quick_repair: bool) -> (tempfile::TempDir, Writer) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Arc::new(Database::create(dir.path().join("w.redb")).expect("create"));
        let writer = Writer::start(db, Timestamp::now, quick_repair).expect("writer");
        (dir, writer)
    }

    /// "Nothing panics on input ... and the writer survives a panicking job". Without the
    /// writer's `catch_unwind` (checked by removing it) the panic ends the writer thread and
    /// this test fails on the caller's error; without the undo of a failed job, `kept` would
    /// read `overwritten`.
    #[test]
    fn a_job_that_panics_is_rolled_back_and_the_writer_goes_on() {
        use crate::store::{View, tables};

        let (_dir, writer) = writer(true);
        let read = |writer: &Writer, key: &'static [u8]| {
            writer
                .write(move |tx| tx.get_raw(tables::META, key, |value| Ok(value.to_vec())))
                .expect("read")
        };
        writer
            .write(|tx| tx.put_raw(tables::META, b"kept", b"before"))
            .expect("write");
        let panicked = writer.write(|tx| -> Result<()> {
            tx.put_raw(tables::META, b"kept", b"overwritten")?;
            tx.put_raw(tables::META, b"new", b"value")?;
            panic!("a job that panics halfway")
        });
        let error = panicked.expect_err("the panic is the caller's error");
        assert_eq!(error.kind(), crate::ErrorKind::Storage);
        assert!(error.message().contains("panicked"), "{error}");
        // Its writes are undone, and the next jobs run and commit as before.
        assert_eq!(read(&writer, b"kept"), Some(b"before".to_vec()));
        assert_eq!(read(&writer, b"new"), None);
        writer
            .write(|tx| tx.put_raw(tables::META, b"new", b"after"))
            .expect("write after the panic");
        assert_eq!(read(&writer, b"new"), Some(b"after".to_vec()));
    }

    /// "No write call returns before its transaction is durable": a copy of the file taken
    /// the moment a write returns, as a crash would leave it (the database still open, nothing
    /// closed), holds the write. Checked with `DURABILITY` set to `Durability::None`: the copy
    /// then held nothing.
    #[test]
    fn a_write_is_in_the_file_the_moment_it_returns() {
        use crate::store::{View, tables};

        for quick_repair in [false, true] {
            let (dir, writer) = writer(quick_repair);
            for (number, value) in [b"one", b"two"].into_iter().enumerate() {
                writer
                    .write(move |tx| tx.put_raw(tables::META, b"key", value))
                    .expect("write");
                let copy = dir.path().join(format!("copy-{number}.redb"));
                std::fs::copy(dir.path().join("w.redb"), &copy).expect("copy");
                let db = Arc::new(Database::open(&copy).expect("open the copy"));
                let read = Writer::start(db, Timestamp::now, false).expect("writer");
                let found = read
                    .write(|tx| tx.get_raw(tables::META, b"key", |value| Ok(value.to_vec())))
                    .expect("read");
                assert_eq!(
                    found.as_deref(),
                    Some(&value[..]),
                    "quick repair {quick_repair}"
                );
            }
        }
    }

    #[test]
    fn a_long_read_says_whether_commits_skipped_the_quick_repair_record() {
        let (_dir, writer) = writer(true);
        let idle = writer.long_read();
        assert!(!idle.end(), "no commit ran during the read");

        let busy = writer.long_read();
        writer.write(|_| Ok(())).expect("write");
        assert!(busy.end(), "a commit ran during the read");

        // Once the read has ended, commits record the state again and count nothing.
        writer.write(|_| Ok(())).expect("write");
        let later = writer.long_read();
        assert!(!later.end());

        let (_dir, plain) = self::writer(false);
        let read = plain.long_read();
        plain.write(|_| Ok(())).expect("write");
        assert!(
            !read.end(),
            "without quick repair there is no record to restore"
        );
    }
}
