//! The effects of one scheduler run carried out at once: signconf files with their
//! signer notify (crates/engine/src/signconf.rs) and DS hooks (crates/engine/src/world.rs)
//! run on at most [`WORKERS`] threads, so one hung signer or hook does not hold up the
//! others. Work is handed out in groups: the items of one group run one after another,
//! in order, on one thread (the hooks of one zone, say, which a registrar may need in
//! order); groups run side by side. The caller gets one outcome per item, by its
//! index, and records them in the order it always did.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many effects of one run are carried out at once.
pub const WORKERS: usize = 4;

/// What became of one item.
#[derive(Debug)]
pub enum Outcome<R> {
    Done(R),
    /// Started, and no result came within the time limit (the thread is abandoned: it
    /// is blocked in the file system or a child it cannot kill).
    Stuck,
    /// Never started: the pool could not start, or gave up after an item got stuck.
    NotStarted,
}

/// Carries out `groups` of `(index, item)` with `work` on at most [`WORKERS`] threads
/// named `name`; one outcome per index below `count`. With `limit`, the pool gives up
/// when no item finishes for that long; without it, every item's own time limit (a
/// child process killed after its timeout) bounds the wait.
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
    let mut outcomes: Vec<Outcome<R>> = (0..count).map(|_| Outcome::NotStarted).collect();
    let threads = groups.len().min(WORKERS);
    if threads == 0 {
        return outcomes;
    }
    let queue = Arc::new(Mutex::new(groups.into_iter().collect::<VecDeque<_>>()));
    let started = Arc::new(Mutex::new(vec![false; count]));
    let work = Arc::new(work);
    let (tx, rx) = mpsc::channel();
    let mut running = 0;
    for _ in 0..threads {
        let (queue, started, work, tx) = (queue.clone(), started.clone(), work.clone(), tx.clone());
        let spawned = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                loop {
                    let group = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some(group) = group else { return };
                    for (i, item) in group {
                        if let Ok(mut s) = started.lock()
                            && let Some(slot) = s.get_mut(i)
                        {
                            *slot = true;
                        }
                        if tx.send((i, work(item))).is_err() {
                            return;
                        }
                    }
                }
            });
        if spawned.is_ok() {
            running += 1;
        }
    }
    drop(tx);
    if running == 0 {
        return outcomes;
    }
    loop {
        let next = match limit {
            Some(limit) => rx.recv_timeout(limit).ok(),
            None => rx.recv().ok(),
        };
        match next {
            Some((i, result)) => {
                if let Some(slot) = outcomes.get_mut(i) {
                    *slot = Outcome::Done(result);
                }
            }
            // Every item done (every sender gone), or none finished in time.
            None => break,
        }
    }
    // Nothing more is started; what runs still is abandoned.
    if let Ok(mut q) = queue.lock() {
        q.clear();
    }
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
    use std::time::Instant;

    #[test]
    fn groups_run_side_by_side_and_items_of_a_group_in_order() {
        let items: Vec<(char, u64)> = vec![('a', 1), ('b', 2), ('a', 3), ('c', 4), ('d', 5)];
        let groups = grouped(items, |(g, _)| *g);
        assert_eq!(groups.len(), 4);
        assert_eq!(groups[0], vec![(0, ('a', 1)), (2, ('a', 3))]);
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = log.clone();
        let start = Instant::now();
        let done = run("test", groups, 5, None, move |(g, n): (char, u64)| {
            std::thread::sleep(Duration::from_millis(200));
            seen.lock().unwrap().push((g, n));
            n * 10
        });
        // Four groups on four threads: two rounds of 200 ms (group a has two items),
        // not five.
        assert!(
            start.elapsed() < Duration::from_millis(900),
            "{:?}",
            start.elapsed()
        );
        let values: Vec<u64> = done
            .iter()
            .map(|o| match o {
                Outcome::Done(v) => *v,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(values, [10, 20, 30, 40, 50]);
        let log = log.lock().unwrap();
        let a: Vec<u64> = log
            .iter()
            .filter(|(g, _)| *g == 'a')
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(a, [1, 3]);
    }

    #[test]
    fn a_stuck_item_is_given_up_on() {
        let groups = grouped(vec![0u64, 1, 2], |n| *n);
        let done = run(
            "test",
            groups,
            3,
            Some(Duration::from_millis(300)),
            |n: u64| {
                if n == 0 {
                    std::thread::sleep(Duration::from_secs(5));
                }
                n
            },
        );
        assert!(matches!(done[0], Outcome::Stuck), "{:?}", done[0]);
        assert!(matches!(done[1], Outcome::Done(1)), "{:?}", done[1]);
        assert!(matches!(done[2], Outcome::Done(2)), "{:?}", done[2]);
    }
}
