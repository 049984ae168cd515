//! `portcullis scan-eval`: the scanner's figures on a labeled data set.

use std::path::Path;

use portcullis::trust::eval::{self, Outcome};
use portcullis::trust::Scanner;

pub(crate) fn run(dir: &Path, verbose: bool) -> anyhow::Result<()> {
    let r = eval::run(dir, &Scanner::default())?;
    println!(
        "{}: flagged = a finding of medium severity or above",
        dir.display()
    );
    println!("recall per category (subtle rewrites left out):");
    for (category, count) in &r.categories {
        println!("  {category:<26} {count}");
    }
    println!("  {:<26} {}", "overall", r.overall);
    println!(
        "  {:<26} held-out quarter {}, other three quarters {}",
        "", r.held_out, r.development
    );
    println!("subtle advertising rewrites: {}", r.subtle);
    println!("false flags on benign tools: {}", r.benign);
    println!("  real servers:              {}", r.real_servers);
    for (source, count) in &r.benign_by_source {
        if count.flagged > 0 {
            println!("  {source:<40} {count}");
        }
    }
    println!(
        "time per tool: {:.0} µs (one thread, catalogue check included)",
        r.micros_per_tool
    );
    if verbose {
        println!("\nmisses:");
        for o in r
            .misses
            .iter()
            .filter(|o| !o.technique.contains("(subtle)"))
        {
            print_outcome(o);
        }
        println!(
            "\nsubtle misses: {}",
            r.misses.len()
                - r.misses
                    .iter()
                    .filter(|o| !o.technique.contains("(subtle)"))
                    .count()
        );
        println!("\nfalse flags:");
        for o in &r.false_flags {
            print_outcome(o);
        }
    }
    Ok(())
}

fn print_outcome(o: &Outcome) {
    let held = if o.held_out { " [held out]" } else { "" };
    println!("  {} ({}, {}){held}", o.id, o.category, o.technique);
    for f in &o.findings {
        println!("    {} {}: {}", f.severity, f.rule, f.message);
        println!("      {}", f.excerpt);
    }
}
