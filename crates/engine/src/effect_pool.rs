//! The effects of one scheduler run carried out so that one hung signer or hook does not
//! hold up the others: signconf files with their signer notify
//! (crates/engine/src/signconf.rs) and DS hooks (crates/engine/src/world.rs). Work comes
//! in groups: the items of one group run one after another, in order, on one thread (the
//! hooks of one zone, which a registrar may need in order). The groups start one after
//! another, each when the one before is done — so effects that finish promptly happen in
//! exactly the order they always did (the signer sees its notifies in zone order) — or
//! when nothing has finished for [`GRACE`]: then the next group starts beside the slow
//! one, up to [`WORKERS`] at once. The caller gets one outcome per item, by its index,
//! and records them in the order it always did.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many groups of effects of one run are carried out at once, at most.
pub const WORKERS: usize = 4;

/// How long a group that has not finished holds up the next one.
pub const GRACE: Duration = Duration::from_secs(1);

/// What became of one item.
#[derive(Debug)]
pub enum Outcome<R> {
    Done(R),
    /// Started, and no result came within the time limit (the thread is abandoned: it
    /// is blocked in the file system or a child it cannot kill).
    Stuck,
    /// Never started: no thread could be started for it, or the pool gave up after an
    /// item got stuck.
    NotStarted,
}

/// What a worker reports.
enum Report<R> {
    Done(usize, R),
    GroupDone,
}

/// Sends [`Report::GroupDone`] when a worker's group ends, by return or by panic.
struct GroupDone<R>(mpsc::Sender<Report<R>>);

impl<R> Drop for GroupDone<R> {
    fn drop(&mut self) {
        let _ = self.0.send(Report::GroupDone);
    }
}

/// Carries out `groups` of `(index, item)` with `work` on threads named `name` (see the
/// module's documentation for the order); one outcome per index below `count`. With
/// `limit`, the pool gives up when no item finishes for that long; without it, every
/// item's own time limit (a child process killed after its timeout) bounds the wait.
pub fn run<T, R, F>(
    name: &str,
    groups: Vec<Vec<(usize, T)>>,
    count: usize,
    limit: Option<Duration>,
    work: F,
) -> Vec<Outcome<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    run_with(name, groups, count, (GRACE, limit), work)
}

fn run_with<T, R, F>(
    name: &str,
    groups: Vec<Vec<(usize, T)>>,
    count: usize,
    (grace, limit): (Duration, Option<Duration>),
    work: F,
) -> Vec<Outcome<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    let mut outcomes: Vec<Outcome<R>> = (0..count).map(|_| Outcome::NotStarted).collect();
    let mut waiting: VecDeque<_> = groups.into_iter().collect();
    let started = Arc::new(Mutex::new(vec![false; count]));
    let work = Arc::new(work);
    let (tx, rx) = mpsc::channel::<Report<R>>();
    let mut busy = 0;
    let mut last_progress = Instant::now();
    let mut last_result = Instant::now();
    loop {
        // Start the next group when none runs, or when the running ones are slow.
        while !waiting.is_empty()
            && (busy == 0 || (busy < WORKERS && last_progress.elapsed() >= grace))
        {
            let Some(group) = waiting.pop_front() else {
                break;
            };
            let (started, work, tx) = (started.clone(), work.clone(), tx.clone());
            let spawned = std::thread::Builder::new()
                .name(name.to_string())
                .spawn(move || {
                    // Reports the group done however the thread ends (a panic included).
                    let _done = GroupDone(tx.clone());
                    for (i, item) in group {
                        if let Ok(mut s) = started.lock()
                            && let Some(slot) = s.get_mut(i)
                        {
                            *slot = true;
                        }
                        if tx.send(Report::Done(i, work(item))).is_err() {
                            return;
                        }
                    }
                });
            if spawned.is_ok() {
                busy += 1;
                last_progress = Instant::now();
            }
        }
        if busy == 0 {
            break;
        }
        let mut wait = Duration::MAX;
        if !waiting.is_empty() && busy < WORKERS {
            wait = wait.min(grace.saturating_sub(last_progress.elapsed()));
        }
        if let Some(limit) = limit {
            let left = limit.saturating_sub(last_result.elapsed());
            if left.is_zero() {
                break;
            }
            wait = wait.min(left);
        }
        let report = if wait == Duration::MAX {
            rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(wait)
        };
        match report {
            Ok(Report::Done(i, result)) => {
                if let Some(slot) = outcomes.get_mut(i) {
                    *slot = Outcome::Done(result);
                }
                last_progress = Instant::now();
                last_result = last_progress;
            }
            Ok(Report::GroupDone) => {
                busy -= 1;
                last_progress = Instant::now();
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Cannot happen (this thread holds a sender); nothing more would come.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // What runs still is abandoned; what never started stays so.
    let started = started.lock().map(|s| s.clone()).unwrap_or_default();
    for (i, slot) in outcomes.iter_mut().enumerate() {
        if matches!(slot, Outcome::NotStarted) && started.get(i).copied().unwrap_or(false) {
            *slot = Outcome::Stuck;
        }
    }
    outcomes
}

/// Groups `items` by `key`, keeping their order within a group and the groups in the
/// order of their first item; each item with its index.
pub fn grouped<T, K: PartialEq>(items: Vec<T>, key: impl Fn(&T) -> K) -> Vec<Vec<(usize, T)>> {
    let mut groups: Vec<(K, Vec<(usize, T)>)> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let k = key(&item);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, group)) => group.push((i, item)),
            None => groups.push((k, vec![(i, item)])),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(done: &[Outcome<u64>]) -> Vec<u64> {
        done.iter()
            .map(|o| match o {
                Outcome::Done(v) => *v,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn prompt_effects_run_in_order_one_at_a_time() {
        let items: Vec<(char, u64)> = vec![('a', 1), ('b', 2), ('a', 3), ('c', 4), ('d', 5)];
        let groups = grouped(items, |(g, _)| *g);
        assert_eq!(groups.len(), 4);
        assert_eq!(groups[0], vec![(0, ('a', 1)), (2, ('a', 3))]);
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = log.clone();
        let done = run("test", groups, 5, None, move |(_, n): (char, u64)| {
            seen.lock().unwrap().push(n);
            n * 10
        });
        assert_eq!(values(&done), [10, 20, 30, 40, 50]);
        // Group by group: a's two items, then b, c, d.
        assert_eq!(*log.lock().unwrap(), [1, 3, 2, 4, 5]);
    }

    #[test]
    fn slow_groups_run_side_by_side_up_to_the_bound() {
        let groups = grouped((0..6u64).collect(), |n| *n);
        let running = Arc::new(Mutex::new((0usize, 0usize)));
        let seen = running.clone();
        let start = Instant::now();
        let grace = Duration::from_millis(50);
        let done = run_with("test", groups, 6, (grace, None), move |n: u64| {
            {
                let mut r = seen.lock().unwrap();
                r.0 += 1;
                r.1 = r.1.max(r.0);
            }
            std::thread::sleep(Duration::from_millis(600));
            seen.lock().unwrap().0 -= 1;
            n
        });
        assert_eq!(values(&done), [0, 1, 2, 3, 4, 5]);
        // Six slow items: not one after another (3.6 s), never more than WORKERS at once.
        assert!(
            start.elapsed() < Duration::from_millis(2500),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(running.lock().unwrap().1, WORKERS);
    }

    #[test]
    fn a_panicking_item_ends_its_group_only() {
        let groups = grouped(vec![(0, 0u64), (0, 1), (1, 2)], |(g, _)| *g);
        let done = run("test", groups, 3, None, |(_, n): (u8, u64)| {
            assert_ne!(n, 0, "a bug in an effect");
            n
        });
        assert!(matches!(done[0], Outcome::Stuck), "{:?}", done[0]);
        assert!(matches!(done[1], Outcome::NotStarted), "{:?}", done[1]);
        assert!(matches!(done[2], Outcome::Done(2)), "{:?}", done[2]);
    }

    #[test]
    fn a_stuck_item_is_given_up_on() {
        let groups = grouped(vec![0u64, 1, 2], |n| *n);
        let limits = (Duration::from_millis(50), Some(Duration::from_millis(500)));
        let done = run_with("test", groups, 3, limits, |n: u64| {
            if n == 0 {
                std::thread::sleep(Duration::from_secs(5));
            }
            n
        });
        assert!(matches!(done[0], Outcome::Stuck), "{:?}", done[0]);
        assert!(matches!(done[1], Outcome::Done(1)), "{:?}", done[1]);
        assert!(matches!(done[2], Outcome::Done(2)), "{:?}", done[2]);
    }
}
