//! Print PDF drawing time: `cargo bench -p app --features ssr --bench print`.
//!
//! Draws 1,000 business cards (100 A4 sheets) and 1,000 A6 flyers, each piece with its own
//! name, code and link, the way `GET /api/v1/campaigns/{slug}/print.pdf` does once it has read
//! the rows, and reports the time per PDF (best and mean of a few runs) and its size. Target:
//! 1,000 cards in under 3 s.

use std::time::{Duration, Instant};

use app::{
    domain::color::Rgb,
    ssr::services::print::{
        PrintBranding, PrintPiece,
        layout::{Paper, Template, impose},
        pdf,
    },
};

const PIECES: usize = 1_000;
const RUNS: u32 = 5;

fn main() {
    let brand = PrintBranding {
        name: "Northwind Coffee".to_owned(),
        brand_color: Rgb(0x1d, 0x4e, 0xd8),
        brand_text_color: Rgb::WHITE,
        headline: "Give a friend their first bag free".to_owned(),
        reward_text: Some(
            "You get 10.00 USD for every friend who buys, they get their first bag free."
                .to_owned(),
        ),
        logo: None,
    };
    let pieces: Vec<PrintPiece> = (0..PIECES)
        .map(|i| PrintPiece {
            name: Some(format!("Referrer Number {i}")),
            code: Some(format!("NWC{i:05}X")),
            link: format!("https://refer.northwind.example/r/referrer-number-{i}-k4q7"),
        })
        .collect();
    println!("{PIECES} pieces per PDF, {RUNS} runs per case");
    println!(
        "{:<16} {:>10} {:>10} {:>8} {:>12} {:>8}",
        "case", "best s", "mean s", "pages", "bytes", "target"
    );
    let mut missed = false;
    for (name, template, target) in [
        ("business cards", Template::BusinessCard, Some(3.0)),
        ("flyers (A6)", Template::Flyer, None),
    ] {
        let imposition = impose(template, Paper::A4, false);
        let pages = PIECES.div_ceil(imposition.per_sheet());
        let mut best = Duration::MAX;
        let mut total = Duration::ZERO;
        let mut bytes = 0;
        for _ in 0..RUNS {
            let start = Instant::now();
            let pdf = pdf::render(template.face(), &imposition, &brand, &pieces, "bench")
                .expect("renders");
            let elapsed = start.elapsed();
            bytes = pdf.len();
            best = best.min(elapsed);
            total += elapsed;
        }
        let mean = total.as_secs_f64() / f64::from(RUNS);
        let verdict = match target {
            Some(limit) if mean < limit => format!("< {limit} s"),
            Some(_) => {
                missed = true;
                "MISSED".to_owned()
            }
            None => "-".to_owned(),
        };
        println!(
            "{name:<16} {:>10.3} {mean:>10.3} {pages:>8} {bytes:>12} {verdict:>8}",
            best.as_secs_f64()
        );
    }
    if missed {
        std::process::exit(1);
    }
}
