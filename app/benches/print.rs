//! Print drawing time and memory: `cargo bench -p app --features ssr --bench print`.
//!
//! Draws 1,000 business cards (100 A4 sheets) and 1,000 A6 flyers, each piece with its own
//! name, code and link, the way `GET /api/v1/campaigns/{slug}/print.pdf` does once it has read
//! the rows: written sheet by sheet to a writer that only counts the bytes (the server hands
//! them to the client as they come). Reports the time per PDF (best and mean of a few runs),
//! its size, and the process's peak memory (`VmHWM`) after the 1,000 cards and again after a
//! 5,000-card PDF (the API's largest): a streamed PDF's peak should not grow with its length.
//! Then one business card as a 300 dpi PNG (`GET /api/v1/referrers/{id}/card.png`), best and
//! mean of 50. Targets: 1,000 cards in under 3 s with a peak under 200 MB; one card's PNG under
//! 20 ms.

use std::{
    io::Write,
    time::{Duration, Instant},
};

use app::{
    domain::color::Rgb,
    ssr::services::print::{
        PrintBranding, PrintPiece,
        layout::{Paper, Template, impose},
        pdf, png,
    },
};

/// The process's peak resident memory so far, in MB (Linux `VmHWM`).
fn peak_memory_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

const PIECES: usize = 1_000;
/// The most pieces one PDF may hold (the API's limit).
const MOST_PIECES: usize = 5_000;
const RUNS: u32 = 5;

/// A writer that keeps nothing and counts what it was given.
#[derive(Default)]
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `count` pieces, each its own referrer.
fn pieces(count: usize) -> Vec<PrintPiece> {
    (0..count)
        .map(|i| PrintPiece {
            name: Some(format!("Referrer Number {i}")),
            code: Some(format!("NWC{i:05}X")),
            link: format!("https://refer.northwind.example/r/referrer-number-{i}-k4q7"),
            qr_link: format!("https://refer.northwind.example/r/referrer-number-{i}-k4q7?ch=card"),
        })
        .collect()
}

fn main() {
    let brand = PrintBranding {
        name: "Northwind Coffee".to_owned(),
        brand_color: Rgb(0x1d, 0x4e, 0xd8),
        brand_text_color: Rgb::WHITE,
        headline: "Give a friend their first bag free".to_owned(),
        body: Some(
            "You get 10.00 USD for every friend who buys, they get their first bag free."
                .to_owned(),
        ),
        logo: None,
    };
    let pieces = pieces(PIECES);
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
            let mut counter = Counter::default();
            pdf::write(
                &mut counter,
                template.face(),
                &imposition,
                &brand,
                &pieces,
                "bench",
            )
            .expect("renders");
            let elapsed = start.elapsed();
            bytes = counter.0;
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
        if template == Template::BusinessCard {
            let peak = peak_memory_mb();
            let verdict = if peak < 200.0 {
                "< 200 MB".to_owned()
            } else {
                missed = true;
                "MISSED".to_owned()
            };
            println!("peak memory after 1,000 cards: {peak:.1} MB ({verdict})");
        }
    }

    let most = self::pieces(MOST_PIECES);
    let imposition = impose(Template::BusinessCard, Paper::A4, false);
    let start = Instant::now();
    let mut counter = Counter::default();
    pdf::write(
        &mut counter,
        Template::BusinessCard.face(),
        &imposition,
        &brand,
        &most,
        "bench",
    )
    .expect("renders");
    println!(
        "{MOST_PIECES} business cards: {:.3} s, {} bytes; peak memory since the start: {:.1} MB",
        start.elapsed().as_secs_f64(),
        counter.0,
        peak_memory_mb()
    );

    let card = &pieces[0];
    let template = Template::BusinessCard;
    let size = template.size_mm(Paper::A4);
    let mut best = Duration::MAX;
    let mut total = Duration::ZERO;
    let png_runs = 50;
    for _ in 0..png_runs {
        let start = Instant::now();
        let bytes =
            png::piece(template.face(), size, &brand, card, png::DEFAULT_DPI).expect("renders");
        let elapsed = start.elapsed();
        assert!(bytes.len() > 1_000);
        best = best.min(elapsed);
        total += elapsed;
    }
    let mean_ms = total.as_secs_f64() * 1000.0 / f64::from(png_runs);
    let verdict = if mean_ms < 20.0 {
        "< 20 ms".to_owned()
    } else {
        missed = true;
        "MISSED".to_owned()
    };
    println!(
        "one card, PNG at 300 dpi (1004 x 650): best {:.2} ms, mean {mean_ms:.2} ms ({verdict})",
        best.as_secs_f64() * 1000.0
    );
    if missed {
        std::process::exit(1);
    }
}
