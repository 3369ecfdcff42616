//! QR code rendering time: `cargo bench -p app --features ssr --bench qr`.
//!
//! A plain timing loop (criterion's dependency tree is not worth it for two numbers): warm up,
//! then time batches and report the mean and the best batch's mean per image, in microseconds.
//! Targets: SVG under 1 ms, PNG under 5 ms, for a typical link at the default 256 px.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use app::ssr::services::qr::{self, QrOptions};

const LINK: &str = "http://127.0.0.1:3000/r/jane-7k4q";
const BATCH: u32 = 200;
const BATCHES: u32 = 25;

/// Mean and best-batch mean of `f`, in microseconds per call.
fn measure(mut f: impl FnMut() -> usize) -> (f64, f64) {
    let warm_up = Instant::now();
    while warm_up.elapsed() < Duration::from_millis(300) {
        black_box(f());
    }
    let mut total = Duration::ZERO;
    let mut best = Duration::MAX;
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..BATCH {
            black_box(f());
        }
        let elapsed = start.elapsed();
        total += elapsed;
        best = best.min(elapsed);
    }
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(BATCH);
    (per_call(total) / f64::from(BATCHES), per_call(best))
}

fn main() {
    let default = QrOptions::default();
    let large = QrOptions {
        size: 1024,
        ..default
    };
    let cases: [(&str, &QrOptions, bool, f64); 4] = [
        ("svg 256 px", &default, true, 1000.0),
        ("png 256 px", &default, false, 5000.0),
        ("svg 1024 px", &large, true, 1000.0),
        ("png 1024 px", &large, false, 5000.0),
    ];
    println!(
        "QR code of {LINK}, {} calls per case ({BATCHES} batches of {BATCH})",
        BATCH * BATCHES
    );
    println!(
        "{:<12} {:>10} {:>14} {:>10} {:>8}",
        "case", "mean µs", "best batch µs", "bytes", "target"
    );
    let mut missed = false;
    for (name, options, is_svg, target_us) in cases {
        let render = || {
            if is_svg {
                qr::svg(LINK, options).map(|s| s.len())
            } else {
                qr::png(LINK, options).map(|p| p.len())
            }
            .expect("renders")
        };
        let bytes = render();
        let (mean, best) = measure(render);
        let met = mean < target_us;
        missed |= !met;
        println!(
            "{name:<12} {mean:>10.1} {best:>14.1} {bytes:>10} {:>8}",
            if met {
                format!("< {} ms", target_us / 1000.0)
            } else {
                "MISSED".to_owned()
            }
        );
    }
    // Where the time goes: choosing the version, error correction and the best of 8 masks,
    // which both formats pay before drawing anything.
    let (mean, best) = measure(|| {
        qrcode::QrCode::with_error_correction_level(LINK, qrcode::EcLevel::M)
            .map(|code| code.width())
            .expect("encodes")
    });
    println!("{:<12} {mean:>10.1} {best:>14.1}", "encode only");
    if missed {
        std::process::exit(1);
    }
}
