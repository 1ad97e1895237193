//! The Markdown tables.

use super::*;

pub(crate) fn ms(d: Duration) -> String {
    let x = d.as_secs_f64() * 1e3;
    if x < 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.1}")
    }
}

pub(crate) fn print_tables(results: &[AlgorithmResult]) {
    println!(
        "| algorithm | keys per side | raw keys/s | project keys/s | raw ms/key median (mean) \
         | project ms/key median (mean) | extra ms/key | overhead (mean) | overhead (median) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let (raw, p) = (r.side(Side::Raw), r.side(Side::Project));
        println!(
            "| {} | {} | {:.1} | {:.1} | {} ({}) | {} ({}) | {:.2} | {:+.1} % | {:+.1} % |",
            r.case.name(),
            r.case.keys,
            raw.rate(),
            p.rate(),
            ms(raw.median()),
            ms(raw.mean()),
            ms(p.median()),
            ms(p.mean()),
            r.extra_ms(Side::Project),
            r.overhead(Side::Project),
            r.overhead_median(Side::Project),
        );
    }
    println!();
    println!(
        "| algorithm | keys per round | project: 1 transaction per event | intents batched \
         (keygen.rs per need) | intents and outcomes batched |"
    );
    println!("|---|---:|---:|---:|---:|");
    for r in results {
        let cell = |s: Side| {
            format!(
                "{:.1} keys/s, {:+.2} ms/key, {:+.1} %",
                r.side(s).rate(),
                r.extra_ms(s),
                r.overhead(s)
            )
        };
        println!(
            "| {} | {} | {} | {} | {} |",
            r.case.name(),
            r.case.batch,
            cell(Side::Project),
            cell(Side::IntentsBatched),
            cell(Side::AllBatched),
        );
    }
    println!();
    println!(
        "| algorithm | raw C_GenerateKeyPair | project: random_locator | intent append \
         | HsmThread::generate | outcome append | exists search, mean (at N objects) \
         | public key read | hand-off + noise | sum of the parts | estimate: no exists search \
         | estimate: no exists search, all batched |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let (raw, p) = (r.side(Side::Raw), r.side(Side::Project));
        let n = p.per_key.len() as u32;
        let nr = raw.per_key.len() as u32;
        let f = |d: Duration| d.as_secs_f64() * 1e3;
        let rest = f(p.generate / n) - f(raw.mean()) - f(r.find / nr) - f(r.read / nr);
        let parts =
            f(p.random / n) + f(p.intent / n) + f(p.outcome / n) + f(r.find / nr) + f(r.read / nr);
        let pct = |x: f64| x / f(raw.mean()) * 100.0;
        // Without the search, and with a round's intents in one transaction and its
        // outcomes in another (each costs about what a one-event transaction costs).
        let lean = parts - f(r.find / nr);
        let batched = f(p.random / n)
            + f(r.read / nr)
            + (f(p.intent / n) + f(p.outcome / n)) / r.case.batch as f64;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} ({} at {}) | {} | {:+.2} | {:.2} ({:.1} %) \
             | {:.2} ({:.1} %) | {:.2} ({:.1} %) |",
            r.case.name(),
            ms(raw.mean()),
            ms(p.random / n),
            ms(p.intent / n),
            ms(p.generate / n),
            ms(p.outcome / n),
            ms(r.find / nr),
            ms(r.find_at_end),
            r.objects,
            ms(r.read / nr),
            rest,
            parts,
            pct(parts),
            lean,
            pct(lean),
            batched,
            pct(batched),
        );
    }
}
